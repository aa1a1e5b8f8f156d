#!/usr/bin/env bash
# ByteQRNN with word projection (model.encoder "qrnn_proj", configs/byteqrnn_proj_olid.json) at
# the main job's width (64) and at width 32 (bottleneck 32, QRNN state 32) against ByteQRNN
# (configs/byteqrnn_olid.json) on OLID, validation only (docs/distillation.md "Projection
# beside the bytes"): the protocol of scripts/experiments/pqrnn_valid.sh (1,200 steps of 32,
# evaluation every 200 steps, no early stopping, 1 thread, seeds 1-3, the int8 model of each
# run evaluated on the validation set), then int8 throughput of the seed-1 models interleaved in
# one run (bench --compare, 3 runs). The test set is not read.
# Usage: scripts/experiments/qrnn_proj_valid.sh [OUT, default runs/qrnn_proj_valid] [NAME...]
#   NAME...: only these arms (byteqrnn, qrnn_proj, qrnn_proj_w32; default all three).
#   Runs already trained (OUT/<name>_s<seed>/model.blt) are not retrained.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/qrnn_proj_valid}
shift || true
bin=${BYTELITE:-build/bytelite}
mkdir -p "$out"
# name:config:settings (space-separated --set values)
runs=("byteqrnn:byteqrnn:" "qrnn_proj:byteqrnn_proj:"
  "qrnn_proj_w32:byteqrnn_proj:model.bottleneck_size=32 model.qrnn_state_size=32")
names=("$@")
if [ ${#names[@]} -eq 0 ]; then names=(byteqrnn qrnn_proj qrnn_proj_w32); fi
for r in "${runs[@]}"; do
  IFS=: read -r name cfg extra <<< "$r"
  [[ " ${names[*]} " == *" $name "* ]] || continue
  sets=()
  for s in $extra; do sets+=(--set "$s"); done
  for seed in 1 2 3; do
    dir=$out/${name}_s$seed
    if [ ! -f "$dir/model.blt" ]; then
      rm -rf "$dir"
      "$bin" train --config "configs/${cfg}_olid.json" --train data/olid/train.tsv \
        --valid data/olid/valid.tsv --out "$dir" --threads 1 --quiet \
        --set train.max_steps=1200 --set train.eval_every_steps=200 \
        --set train.early_stopping_patience=0 --set train.seed=$seed ${sets[@]+"${sets[@]}"} \
        > /dev/null
    fi
  done
done
for name in "${names[@]}"; do
  /usr/bin/python3 - "$bin" "$out" "$name" <<'PY'
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
          f"{j['roc_auc']:.4f}; file {s['model_bytes']} bytes, {s['parameters']} parameters, "
          f"training {s['train_seconds']:.0f} s")
for label, v in (("macro-F1", f1), ("ROC AUC", auc)):
    print(f"{name} {label}: {statistics.mean(v):.4f} [{min(v):.4f}, {max(v):.4f}]")
PY
done
compare=()
for name in qrnn_proj qrnn_proj_w32; do
  if [ -f "$out/${name}_s1/model.blt" ]; then compare+=("$out/${name}_s1/model.blt"); fi
done
if [ -f "$out/byteqrnn_s1/model.blt" ] && [ ${#compare[@]} -gt 0 ]; then
  for run in 1 2 3; do
    "$bin" bench --model "$out/byteqrnn_s1/model.blt" --compare "${compare[@]}" \
      --no-float --data data/olid/valid.tsv --threads 1 --quiet | grep -E "^int8( runtime|, --compare)"
  done
fi
