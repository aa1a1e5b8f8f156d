#!/usr/bin/env bash
# Reproduces the pretrained ByteQRNN encoder with one command: builds bytelite, pretrains the
# encoder of configs/byteqrnn_olid.json on the bundled corpus (data/pretrain/) with masked byte
# spans (configs/pretrain_byteqrnn.json), then, with --finetune, fine-tunes it on OLID and
# evaluates on the test set. Resumable: rerunning continues from OUT/last.ckpt.
# Usage: scripts/pretrain.sh [--finetune] [output dir, default runs/pretrain_byteqrnn]
# PRETRAIN_CONFIG (default configs/pretrain_byteqrnn.json) and FINETUNE_CONFIG (default
# configs/byteqrnn_olid_finetune.json) pick the encoder, e.g. the larger ByteTransformer:
#   PRETRAIN_CONFIG=configs/pretrain_bytetransformer.json \
#   FINETUNE_CONFIG=configs/bytetransformer_large_olid.json scripts/pretrain.sh runs/pretrain_bytetransformer
# Time and exact reproduction: docs/pretraining.md ("Recipes and cost"); the full 20,000 ByteQRNN
# steps take about 1.5-2 h on one thread.
# Extra flags for `bytelite pretrain` can be passed in PRETRAIN_ARGS (e.g. "--max-steps 2000").
set -euo pipefail
cd "$(dirname "$0")/.."
FINETUNE=0
if [ "${1:-}" = --finetune ]; then FINETUNE=1; shift; fi
OUT=${1:-runs/pretrain_byteqrnn}
PRETRAIN_CONFIG=${PRETRAIN_CONFIG:-configs/pretrain_byteqrnn.json}
FINETUNE_CONFIG=${FINETUNE_CONFIG:-configs/byteqrnn_olid_finetune.json}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target bytelite bytelite-train
resume=()
[ -f "$OUT/last.ckpt" ] && resume=(--resume)
# shellcheck disable=SC2086
build/bytelite pretrain --config "$PRETRAIN_CONFIG" \
  --corpus data/pretrain/tweets.txt.gz data/pretrain/multilingual.jsonl.gz \
  --out "$OUT" "${resume[@]}" ${PRETRAIN_ARGS:-}
if [ "$FINETUNE" = 1 ]; then
  build/bytelite train --config "$FINETUNE_CONFIG" --init-from "$OUT" \
    --train data/olid/train.tsv --valid data/olid/valid.tsv --out "$OUT/olid"
  build/bytelite eval --checkpoint "$OUT/olid" --data data/olid/test.tsv --json \
    > "$OUT/olid/test_metrics.json"
  cat "$OUT/olid/test_metrics.json"
fi
