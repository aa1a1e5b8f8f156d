#!/usr/bin/env bash
# Trains bytelite's shipped recipes for the peer benchmark (bench/peers/recipes.tsv: one config per dataset),
# QAT, seeds 1-3, 1 thread, one run at a time; each run then scores its int8 model on its test
# set (bytelite eval --json). A run whose OUT/summary.json and OUT/model.blt exist is not
# retrained. Usage: bench/peers/train_bytelite.sh RUN_DIR
#   BYTELITE: the binary (default build/bytelite); SEEDS: default "1 2 3".
set -euo pipefail
# (the body is one function, so bash has read all of it before the first run starts)
main() {
  cd "$(dirname "$0")/../.."
  run_dir=${1:?usage: train_bytelite.sh RUN_DIR}
  bin=${BYTELITE:-build/bytelite}
  seeds=${SEEDS:-"1 2 3"}
  jobs=()
  for s in $seeds; do for ds in olid davidson; do jobs+=("$ds:$s"); done; done
  n=${#jobs[@]}
  i=0
  t0=$(date +%s)
  trained=0
  for job in "${jobs[@]}"; do
    i=$((i + 1))
    ds=${job%%:*}
    s=${job#*:}
    case $ds in
      olid) train=data/olid/train.tsv valid=data/olid/valid.tsv test=data/olid/test.tsv ;;
      davidson) train=data/davidson/train_fit.tsv valid=data/davidson/valid.tsv
        test=data/davidson/test.tsv ;;
    esac
    out=$run_dir/bytelite/$ds/s$s
    if [ -f "$out/summary.json" ] && [ -f "$out/model.blt" ]; then
      echo "[bytelite $i/$n] $ds seed $s: trained already ($out)"
    else
      echo "[bytelite $i/$n] $ds seed $s: training, started $(date -u +%H:%M:%S) UTC"
      mkdir -p "$(dirname "$out")"
      config=$(awk -F'\t' -v d="$ds" '$1 == d {print $2}' bench/peers/recipes.tsv)
      [ -f "$config" ] || {
        echo "train_bytelite.sh: expected the $ds recipe in bench/peers/recipes.tsv, found '$config'" >&2
        exit 1
      }
      nice -n 10 "$bin" train --config "$config" --train "$train" \
        --valid "$valid" --out "$out" --threads 1 --seed "$s" --quiet
      trained=$((trained + 1))
      el=$(( $(date +%s) - t0 ))
      left=0
      for j in "${jobs[@]:$i}"; do
        d=${j%%:*}; k=${j#*:}
        [ -f "$run_dir/bytelite/$d/s$k/summary.json" ] || left=$((left + 1))
      done
      min=$(/usr/bin/python3 -c "import json, sys
print(round(json.load(open(sys.argv[1]))['train_seconds'] / 60, 1))" "$out/summary.json")
      eta=$(date -u -d "@$(( $(date +%s) + left * el / trained ))" +%H:%M)
      echo "[bytelite $i/$n] done in $min min; $(( el / trained / 60 )) min per run so far;" \
        "$left runs left, ETA $eta UTC"
    fi
    if [ ! -f "$out/test_metrics_int8.json" ]; then
      "$bin" eval --model "$out/model.blt" --data "$test" --json > "$out/test_metrics_int8.json.tmp"
      mv "$out/test_metrics_int8.json.tmp" "$out/test_metrics_int8.json"
    fi
  done
}
main "$@"
