#!/usr/bin/env bash
# Trains and evaluates the encoder comparison of the README (ByteQRNN, ByteTransformer,
# ByteFunnelTransformer on OLID and Davidson et al.): QAT training, int8 export, test metrics of
# the int8 model, then int8 throughput at 1 thread of the three encoders of each dataset, timed in
# one run with interleaved passes (bench --compare), and a table (scripts/compare_table.py).
# Usage: scripts/experiments/compare_encoders.sh [OUT] [THREADS] [JOB...]
#   JOB = dataset:encoder (default: all six); OUT default runs/compare; THREADS for training.
#   Jobs already trained (OUT/<dataset>_<encoder>/model.blt) are not retrained.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/compare}
threads=${2:-2}
shift $(( $# > 2 ? 2 : $# ))
jobs=("$@")
[ ${#jobs[@]} -eq 0 ] && jobs=(olid:qrnn olid:transformer olid:funnel davidson:qrnn \
  davidson:transformer davidson:funnel)
bin=${BYTELITE:-build/bytelite}
mkdir -p "$out"
for job in "${jobs[@]}"; do
  ds=${job%%:*}
  enc=${job#*:}
  case $enc in qrnn) arch=byteqrnn ;; transformer) arch=bytetransformer ;; funnel) arch=bytefunnel ;; esac
  case $ds in
    olid) train=data/olid/train.tsv valid=data/olid/valid.tsv test=data/olid/test.tsv ;;
    davidson) train=data/davidson/train_fit.tsv valid=data/davidson/valid.tsv
      test=data/davidson/test.tsv ;;
  esac
  dir=$out/${ds}_$enc
  if [ ! -f "$dir/model.blt" ]; then
    echo "== $ds $enc: training (QAT) =="
    "$bin" train --config "configs/${arch}_$ds.json" --train "$train" --valid "$valid" \
      --out "$dir" --threads "$threads"
  fi
  "$bin" eval --model "$dir/model.blt" --data "$test" --json > "$dir/test_metrics_int8.json"
  "$bin" eval --checkpoint "$dir" --data "$test" --json --threads "$threads" \
    > "$dir/test_metrics.json"
done
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  # per dataset: the three encoders timed in one run, passes interleaved (bench --compare)
  for ds in olid davidson; do
    [ -f "$out/${ds}_transformer/model.blt" ] || continue
    others=()
    for enc in funnel qrnn; do
      [ -f "$out/${ds}_$enc/model.blt" ] && others+=("$out/${ds}_$enc/model.blt")
    done
    "$bin" bench --model "$out/${ds}_transformer/model.blt" --compare "${others[@]}" \
      --data "data/$ds/test.tsv" --threads 1 --repeat 5 --no-float --json > "$out/bench_$ds.json"
  done
fi
/usr/bin/python3 scripts/compare_table.py "$out"
