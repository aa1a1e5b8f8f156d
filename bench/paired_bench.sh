#!/bin/bash
# Paired in-process comparison of two `bytelite` executables on one int8 model: `bytelite bench
# --no-float` (the forward only: no reading, tokenizing or output formatting) on one core
# (taskset -c 0), the two executables alternating in ROUNDS rounds; prints each side's examples/s
# per round, their maximum and median, and the median of the per-round ratios B / A. On a shared
# machine rounds differ by up to 20%; alternation exposes both sides to the same noise, and the
# maximum is the least disturbed round.
#   bench/paired_bench.sh OLD/bytelite NEW/bytelite MODEL.blt [ROUNDS] [ISA]
# ROUNDS: default 8; ISA: auto (default), avx512vnni, avx2 or reference. DATA (default
# data/olid/test.tsv): the texts; REPEAT (default 3): passes over them per round.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: bench/paired_bench.sh OLD/bytelite NEW/bytelite MODEL.blt [ROUNDS] [ISA]" >&2; exit 1; }
A=$1 B=$2 MODEL=$3 ROUNDS=${4:-8} ISA=${5:-auto}
DATA=${DATA:-data/olid/test.tsv}
REPEAT=${REPEAT:-3}
for f in "$A" "$B"; do
  [ -x "$f" ] || { echo "paired_bench: expected an executable $f, found none" >&2; exit 1; }
done
[ -f "$MODEL" ] || { echo "paired_bench: expected the model file $MODEL, found none" >&2; exit 1; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "paired_bench: expected ROUNDS >= 1, found '$ROUNDS'" >&2; exit 1; }
TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    exe=$A
    [ "$side" = B ] && exe=$B
    v=$(taskset -c 0 "$exe" bench --model "$MODEL" --data "$DATA" --no-float --repeat "$REPEAT" \
      --isa "$ISA" --quiet | awk '/^int8 runtime/ {print $(NF - 2)}')
    [ -n "$v" ] || { echo "paired_bench: $exe bench printed no int8 rate" >&2; exit 1; }
    echo "$r $side $v" | tee -a "$TMP"
  done
done
/usr/bin/python3 - "$TMP" <<'PYEOF'
import statistics, sys
rate = {}
for line in open(sys.argv[1]):
    r, side, v = line.split()
    rate.setdefault(side, {})[int(r)] = float(v)
for side in "AB":
    v = list(rate[side].values())
    print(f"{side}: examples/s max {max(v):,.0f} median {statistics.median(v):,.0f}")
ratios = [rate["B"][r] / rate["A"][r] for r in rate["A"]]
print(f"B / A: median of the per-round ratios {statistics.median(ratios):.2f}x "
      f"(rounds {min(ratios):.2f}-{max(ratios):.2f}); ratio of the maxima "
      f"{max(rate['B'].values()) / max(rate['A'].values()):.2f}x")
PYEOF
