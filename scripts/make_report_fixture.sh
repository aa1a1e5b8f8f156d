#!/usr/bin/env bash
# Trains the two tiny runs whose output directories tests/data/report/ holds for the report tests
# (tests/test_report.cc, tests/test_report_render.py): the golden ByteQRNN classifier config and
# the golden seq2seq (Transformer encoder) config of tests/data/models/v1, on the same data
# slices as scripts/make_golden_models.sh, with an evaluation every 50 / 100 steps so that the
# training curves have several points. Copies each run's summary.json, config.json,
# train_log.jsonl and model.blt (the runs are trained in /tmp/bytelite_report_fixture, a fixed
# path, because model files store their checkpoint's path).
# Usage: scripts/make_report_fixture.sh [BUILD_DIR, default build]   (about 1 minute, 1 thread)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
OUT=/tmp/bytelite_report_fixture
DEST=tests/data/report
if [[ ! -x $BUILD/bytelite-train ]]; then
  echo "make_report_fixture.sh: expected the built tool $BUILD/bytelite-train, found none" >&2
  exit 1
fi
mkdir -p "$OUT/data" "$DEST"
head -n 2001 data/olid/train.tsv > "$OUT/data/olid_train.tsv"
head -n 301 data/olid/valid.tsv > "$OUT/data/olid_valid.tsv"
awk 'NR == 1 || NR % 25 == 2' data/cmudict/g2p_train.tsv > "$OUT/data/g2p_train.tsv"
head -n 201 data/cmudict/g2p_valid.tsv > "$OUT/data/g2p_valid.tsv"
run() {  # name config train valid extra-flags...
  local name=$1 config=$2 train=$3 valid=$4
  shift 4
  rm -rf "${OUT:?}/$name"
  echo "== $name: bytelite train --config $config $* --out $OUT/$name"
  "$BUILD/bytelite-train" train --config "$config" --train "$train" --valid "$valid" \
    --out "$OUT/$name" --quiet "$@"
  mkdir -p "$DEST/$name"
  for f in summary.json config.json train_log.jsonl model.blt; do
    cp "$OUT/$name/$f" "$DEST/$name/$f"
  done
}
run byteqrnn_run tests/data/models/v1/byteqrnn.json "$OUT/data/olid_train.tsv" \
  "$OUT/data/olid_valid.tsv" --set train.eval_every_steps=50
run seq2seq_run tests/data/models/v1/seq2seq_transformer.json "$OUT/data/g2p_train.tsv" \
  "$OUT/data/g2p_valid.tsv" --set train.eval_every_steps=100 --set train.max_steps=400
ls -l "$DEST"/*/
