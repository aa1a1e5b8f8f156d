#!/usr/bin/env bash
# Trains and exports the golden model files of the current format version, tests/data/models/v2
# (tests/data/models/README.md, docs/model_file.md "Golden model files"), and writes their
# expected outputs. The files of tests/data/models/v1 (format version 1) were made the same way
# by the bytelite of their time and stay as they are: this script never writes them.
#
# Usage: scripts/make_golden_models.sh [BUILD_DIR, default build] [NAME...]
#   (NAME...: only these models, e.g. pqrnn; default all)
# Needs the full build (BUILD_DIR/bytelite, with libtorch) and BUILD_DIR/golden_model_dump.
#
# For each tiny config tests/data/models/v2/NAME.json (the same as v1/NAME.json; pqrnn, the
# projection-input encoder, and byteqrnn_proj, ByteQRNN with word projection, have no v1 file)
# (five classifiers, three seq2seq models):
#   bytelite train --config NAME.json (1 thread, seed 1: the config's) on a fixed slice of the
#   bundled data, into /tmp/bytelite_golden_models/NAME (a fixed absolute path, because the
#   model file stores the path of its checkpoint: the files do not depend on where the
#   repository is);
#   the int8 file that train exports is copied to tests/data/models/v2/NAME.blt;
#   golden_model_dump NAME.blt writes tests/data/models/v2/NAME.expected (model info, and for
#   the fixed inputs the int8 logits, probabilities and labels, or the n-best hypotheses with
#   their scores).
# Data: classifiers: rows 1-2,000 of data/olid/train.tsv (train) and rows 1-300 of
# data/olid/valid.tsv (valid); seq2seq: every 25th row of data/cmudict/g2p_train.tsv (4,425
# words, all initial letters) and rows 1-200 of data/cmudict/g2p_valid.tsv.
# Rerunning gives byte-identical files (same thread count and seed): the script's last lines
# print their sha256 sums. About 2 minutes on one idle core.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
NAMES=("$@")
if [[ ${#NAMES[@]} -eq 0 ]]; then
  NAMES=(byteqrnn bytetransformer bytefunnel pqrnn byteqrnn_proj seq2seq_transformer seq2seq_qrnn
    seq2seq_funnel)
fi
V2=tests/data/models/v2
OUT=/tmp/bytelite_golden_models
for tool in "$BUILD/bytelite" "$BUILD/golden_model_dump"; do
  if [[ ! -x $tool ]]; then
    echo "make_golden_models.sh: expected the built tool $tool (cmake --build $BUILD --target bytelite golden_model_dump), found none" >&2
    exit 1
  fi
done
mkdir -p "$OUT/data"
head -n 2001 data/olid/train.tsv > "$OUT/data/olid_train.tsv"
head -n 301 data/olid/valid.tsv > "$OUT/data/olid_valid.tsv"
awk 'NR == 1 || NR % 25 == 2' data/cmudict/g2p_train.tsv > "$OUT/data/g2p_train.tsv"
head -n 201 data/cmudict/g2p_valid.tsv > "$OUT/data/g2p_valid.tsv"

for name in "${NAMES[@]}"; do
  case $name in
    seq2seq_*) train=$OUT/data/g2p_train.tsv valid=$OUT/data/g2p_valid.tsv ;;
    *) train=$OUT/data/olid_train.tsv valid=$OUT/data/olid_valid.tsv ;;
  esac
  rm -rf "${OUT:?}/$name"
  echo "== $name: bytelite train --config $V2/$name.json --train $train --valid $valid --out $OUT/$name"
  "$BUILD/bytelite" train --config "$V2/$name.json" --train "$train" --valid "$valid" \
    --out "$OUT/$name" --quiet
  cp "$OUT/$name/model.blt" "$V2/$name.blt.tmp"
  mv "$V2/$name.blt.tmp" "$V2/$name.blt"
  "$BUILD/golden_model_dump" "$V2/$name.blt" > "$V2/$name.expected.tmp"
  mv "$V2/$name.expected.tmp" "$V2/$name.expected"
done
ls -l $V2/*.blt
sha256sum $V2/*.blt $V2/*.expected
