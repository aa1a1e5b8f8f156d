#!/usr/bin/env bash
# Peer benchmark in one command: bytelite's shipped ByteQRNN recipes against fastText (.bin and
# quantized .ftz) and char n-gram TF-IDF + logistic regression on OLID and Davidson et al., with
# a cross-dataset check; every choice on validation data, the test set read once per reported
# number, mean [min, max] over seeds 1-3. Prints a Markdown table, also saved as RUN_DIR/peers.md
# and RUN_DIR/peers.json.
# Usage: scripts/peers.sh [RUN_DIR, default runs/peers]
#   Steps already done under RUN_DIR are reused (bytelite runs with OUT/summary.json and
#   OUT/model.blt, fastText and LR results): rerunning after an interruption goes on from there.
#   USE_LITE=1 also embeds the texts with Universal Sentence Encoder lite (node; about an hour
#   of one core) and fits its LR head (bench/peers/use_lite/run.sh); without it the table shows
#   the USE-lite row only when bench/peers/use_lite/probs/ holds its committed results.
# Cost (measured on 2 cores shared with other jobs): six bytelite trainings of 8-58 min each
# (one at a time, 1 thread), fastText about 40 min (grid plus 3 seeds with quantization, both
# datasets), TF-IDF + LR about 5 min.
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir=${1:-runs/peers}
scripts/install-deps.sh
if [ ! -x build/bytelite ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j"$(nproc)" --target bytelite
fi
mkdir -p "$run_dir"
bench/peers/train_bytelite.sh "$run_dir"
if [ "${USE_LITE:-0}" = 1 ]; then
  bench/peers/use_lite/run.sh
fi
/usr/bin/python3 bench/peers/peers.py "$run_dir" --bytelite build/bytelite
