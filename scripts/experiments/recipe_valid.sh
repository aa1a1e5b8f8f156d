#!/usr/bin/env bash
# The OLID recipe choice of docs/experiments.md, redone on validation data only: ByteQRNN QAT
# with and without ASCII lowercasing and max pooling (the four combinations), seeds 1-3, 1
# thread, one training at a time; prints the validation macro-F1 and ROC AUC of each run's best
# checkpoint (the one `train` keeps) as mean [min, max]. The test set is not read.
# Usage: scripts/experiments/recipe_valid.sh [OUT_DIR, default runs/recipe_valid] [PEERS_RUN_DIR]
#   PEERS_RUN_DIR: scripts/peers.sh's run dir; its bytelite/olid/s<seed> runs are the shipped
#   recipe (lowercase + max pooling) trained by the same command, so they are reused.
#   Runs with OUT/summary.json are not retrained. About 12 trainings of 10 min on an idle core.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/recipe_valid}
peers=${2:-}
bin=${BYTELITE:-build/bytelite}
mkdir -p "$out"
variants=("base:false:attention" "lowercase:true:attention" "maxpool:false:attention_max"
  "lowercase_maxpool:true:attention_max")
for v in "${variants[@]}"; do
  IFS=: read -r name lower pooling <<< "$v"
  cfg=configs/byteqrnn_olid.json
  if [ "$name" != lowercase_maxpool ]; then
    cfg=$out/$name.json
    /usr/bin/python3 - "$lower" "$pooling" "$cfg" <<'PY'
import json, sys
c = json.load(open("configs/byteqrnn_olid.json"))
c["tokenizer"]["lowercase_ascii"] = sys.argv[1] == "true"
c["model"]["pooling"] = sys.argv[2]
json.dump(c, open(sys.argv[3], "w"), indent=2)
PY
  fi
  for seed in 1 2 3; do
    dir=$out/$name/s$seed
    if [ "$name" = lowercase_maxpool ] && [ -n "$peers" ] && [ ! -e "$dir" ] &&
       [ -f "$peers/bytelite/olid/s$seed/summary.json" ]; then
      mkdir -p "$out/$name"
      ln -s "$(cd "$peers/bytelite/olid/s$seed" && pwd -P)" "$dir"
    fi
    if [ ! -f "$dir/summary.json" ]; then
      echo "== $name seed $seed: training, $(date -u +%H:%M) UTC =="
      nice -n 10 "$bin" train --config "$cfg" --train data/olid/train.tsv \
        --valid data/olid/valid.tsv --out "$dir" --threads 1 --seed "$seed" --quiet
    fi
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
print("| recipe (ByteQRNN QAT, OLID) | seeds | valid macro-F1 | valid ROC AUC |")
print("|---|---|---|---|")
for name in ("base", "lowercase", "maxpool", "lowercase_maxpool"):
    f1s, aucs = [], []
    for seed in (1, 2, 3):
        d = f"{out}/{name}/s{seed}"
        if not os.path.exists(f"{d}/summary.json"):
            continue
        s = json.load(open(f"{d}/summary.json"))
        for line in open(f"{d}/train_log.jsonl"):
            j = json.loads(line)
            if j.get("step") == s["best_step"] and "valid" in j:
                f1s.append(j["valid"]["macro_f1"]); aucs.append(j["valid"]["roc_auc"])
    if f1s:
        fmt = lambda v: f"{sum(v) / len(v):.3f} [{min(v):.3f}, {max(v):.3f}]"
        print(f"| {name} | {len(f1s)} | {fmt(f1s)} | {fmt(aucs)} |")
PY
