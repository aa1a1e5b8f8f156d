#!/usr/bin/env bash
# The main job: installs missing dependencies, builds, trains ByteQRNN on OLID (OffensEval-2019)
# twice with the shipped recipe (configs/byteqrnn_w32_distill_olid.json: width 32, distilled from
# the bundled char n-gram teacher on the labelled texts and the unlabelled in-domain tweets), as a
# float model and with quantization-aware training, evaluates both on the official test set,
# prints them beside the published baselines and writes the report page OUT/qat/report.html
# (bytelite report). About 30 minutes on 2 cores.
# Usage: scripts/main_job.sh [output dir, default runs/main_job]   (SEED: training seed, default 1)
# The table's QAT number is one seed; the spread over seeds 1-3 (scripts/peers.sh, committed in
# bench/peers/results/) is printed beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/main_job}
SEED=${SEED:-1}
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target bytelite bytelite-train
mkdir -p "$OUT"
echo "$SEED" > "$OUT/seed"
echo "== seed $SEED =="
for variant in qat float; do
  qat=on; [ "$variant" = float ] && qat=off
  echo "== training ByteQRNN on OLID ($variant) =="
  build/bytelite train --config configs/byteqrnn_w32_distill_olid.json --qat "$qat" \
    --train data/olid/train.tsv --valid data/olid/valid.tsv --out "$OUT/$variant" \
    --seed "$SEED"
  build/bytelite eval --checkpoint "$OUT/$variant" --data data/olid/test.tsv --json \
    > "$OUT/$variant/test_metrics.json"
done
/usr/bin/python3 scripts/results_table.py "$OUT"
echo "== report: $OUT/qat/report.html =="
build/bytelite report "$OUT/qat" --data data/olid/test.tsv \
  --peers bench/peers/results/peers.json --threads "$(nproc)"
