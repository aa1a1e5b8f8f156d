#!/usr/bin/env bash
# pQRNN (projection input, configs/pqrnn_olid.json, and 128 / 256 projection values per word)
# against ByteQRNN (configs/byteqrnn_olid.json) on OLID, validation only (docs/distillation.md
# "pQRNN against ByteQRNN"): short runs of 1,200 steps (no early stopping, evaluation every 200
# steps), seeds 1-3, 1 thread; the int8 model of
# each run evaluated on the validation set; int8 throughput of the seed-1 models interleaved in
# one run (bench --compare, 3 runs); training speed of the two recipes alternated A B A B at 150
# steps. The test set is not read.
# Usage: scripts/experiments/pqrnn_valid.sh [OUT, default runs/pqrnn_valid]
#   Runs already trained (OUT/<name>_s<seed>/model.blt) are not retrained.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/pqrnn_valid}
bin=${BYTELITE:-build/bytelite}
mkdir -p "$out"
# name:config:extra setting; pqrnn_f512 is configs/pqrnn_olid.json as shipped (the feature size
# chosen on validation), f128 and f256 the other sizes tried
runs=("byteqrnn:byteqrnn:" "pqrnn_f128:pqrnn:model.projection_feature_size=128"
  "pqrnn_f256:pqrnn:model.projection_feature_size=256"
  "pqrnn_f512:pqrnn:model.projection_feature_size=512")
for r in "${runs[@]}"; do
  IFS=: read -r name cfg extra <<< "$r"
  for seed in 1 2 3; do
    dir=$out/${name}_s$seed
    if [ ! -f "$dir/model.blt" ]; then
      rm -rf "$dir"
      "$bin" train --config "configs/${cfg}_olid.json" --train data/olid/train.tsv \
        --valid data/olid/valid.tsv --out "$dir" --threads 1 --quiet \
        --set train.max_steps=1200 --set train.eval_every_steps=200 \
        --set train.early_stopping_patience=0 --set train.seed=$seed \
        ${extra:+--set $extra} > /dev/null
    fi
  done
done
for name in byteqrnn pqrnn_f128 pqrnn_f256 pqrnn_f512; do
  /usr/bin/python3 - "$bin" "$out" "$name" <<'EOF'
import json, statistics, subprocess, sys
bin_, out, name = sys.argv[1:]
f1, auc = [], []
for seed in (1, 2, 3):
    d = f"{out}/{name}_s{seed}"
    j = json.loads(subprocess.run([bin_, "eval", "--model", d + "/model.blt", "--data",
                                   "data/olid/valid.tsv", "--threads", "1", "--json"],
                                  capture_output=True, text=True, check=True).stdout)
    s = json.load(open(d + "/summary.json"))
    f1.append(j["macro_f1"])
    auc.append(j["roc_auc"])
    print(f"{name} seed {seed}: int8 valid macro-F1 {j['macro_f1']:.4f}, ROC AUC "
          f"{j['roc_auc']:.4f}; file {s['model_bytes']} bytes, {s['parameters']} parameters")
for label, v in (("macro-F1", f1), ("ROC AUC", auc)):
    print(f"{name} {label}: {statistics.mean(v):.4f} [{min(v):.4f}, {max(v):.4f}]")
EOF
done
for run in 1 2 3; do
  "$bin" bench --model "$out/byteqrnn_s1/model.blt" --compare "$out/pqrnn_f512_s1/model.blt" \
    "$out/pqrnn_f128_s1/model.blt" \
    --no-float --data data/olid/valid.tsv --threads 1 --quiet | grep -E "^int8( runtime|, --compare)"
done
for rep in 1 2; do
  for name in byteqrnn pqrnn; do
    dir=$out/speed_${name}_$rep
    rm -rf "$dir"
    "$bin" train --config "configs/${name}_olid.json" --train data/olid/train.tsv \
      --valid data/olid/valid.tsv --out "$dir" --threads 1 --quiet --set train.max_steps=150 \
      --set train.eval_every_steps=150 --set train.early_stopping_patience=0 > /dev/null
    /usr/bin/python3 -c "import json, sys; s = json.load(open(sys.argv[1])); \
print(f'{sys.argv[2]} training, 150 steps of 32: {s[\"train_seconds\"]:.1f} s, \
{150 * 32 / s[\"train_seconds\"]:.0f} examples/s')" "$dir/summary.json" "$name"
  done
done
