#!/bin/bash
# Paired whole-process comparison of two `bytelite` executables (e.g. main's build and a branch's)
# on the same model and input: `predict --model` on one core (taskset -c 0, --threads 1), both
# executables alternating in RUNS rounds, under /usr/bin/time; prints per round and as medians
# the lines per CPU-second (user + system time: meaningful on a shared machine) and peak RSS, and
# the median of the per-round ratios B / A. Extra predict flags for B only: FLAGS_B.
#   bench/paired_predict.sh OLD/bytelite NEW/bytelite MODEL.blt INPUT [RUNS]   (INPUT: one text a line)
# Environment: BYTELITE_ISA applies to both (e.g. avx2); FLAGS_B (e.g. "--batch-size 8").
set -euo pipefail
A=$1 B=$2 MODEL=$3 INPUT=$4 RUNS=${5:-3}
LINES=$(wc -l < "$INPUT")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
: > "$TMP/res.txt"
for r in $(seq 1 "$RUNS"); do
  for side in A B; do
    exe=$A; extra=()
    if [ "$side" = B ]; then exe=$B; read -r -a extra <<< "${FLAGS_B:-}"; fi
    /usr/bin/time -f "%U %S %M %e" -o "$TMP/t.txt" taskset -c 0 "$exe" predict --model "$MODEL" \
      --input "$INPUT" --threads 1 "${extra[@]}" > "$TMP/out_$side.txt"
    echo "$r $side $(cat "$TMP/t.txt")" >> "$TMP/res.txt"
  done
  cmp -s "$TMP/out_A.txt" "$TMP/out_B.txt" || echo "round $r: the outputs differ"
done
/usr/bin/python3 - "$TMP/res.txt" "$LINES" <<'PYEOF'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
lines = int(sys.argv[2])
rate = {}
for r, side, u, s, kb, wall in rows:
    rate.setdefault(side, {})[r] = (lines / (float(u) + float(s)), int(kb) / 1024, lines / float(wall))
for side in "AB":
    v = list(rate[side].values())
    print(f"{side}: lines/CPU-s median {statistics.median(x[0] for x in v):,.0f} "
          f"(rounds: {', '.join(f'{x[0]:,.0f}' for x in v)}), lines/s median "
          f"{statistics.median(x[2] for x in v):,.0f}, peak RSS median {statistics.median(x[1] for x in v):.1f} MB")
ratios = [rate["B"][r][0] / rate["A"][r][0] for r in rate["A"]]
print(f"B / A lines per CPU-second: median {statistics.median(ratios):.2f}x "
      f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
PYEOF
