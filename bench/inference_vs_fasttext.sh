#!/usr/bin/env bash
# Whole-process inference comparison: bytelite `predict --model` (the runtime-only executable)
# against Debian's `fasttext predict-prob` with a quantized fastText model, on the same input
# file (issue 16 item 4). Prints lines/s and peak RSS (/usr/bin/time -v) of both, on one core
# (taskset -c 0) and on two cores (taskset -c 0,1; bytelite --threads 2; fastText's predict is
# single-threaded), as medians over RUNS paired rounds (each round runs every configuration once,
# interleaved, so machine noise hits all alike), with the ratios of the medians of the per-round
# ratios; then the p50 / p99 latency of one 280-byte text (`bytelite bench --no-float`, one
# core); everything for the auto-selected kernel path and for BYTELITE_ISA=avx2.
#
# Usage: bench/inference_vs_fasttext.sh [MODEL.blt] [FASTTEXT.ftz]
#   MODEL.blt     default runs/main_job/qat/model.blt (scripts/main_job.sh writes it)
#   FASTTEXT.ftz  default: trained here on data/olid/train.tsv (lowercased; -minn 2 -maxn 5
#                 -wordNgrams 2 -dim 50 -epoch 10, then quantize -qnorm -retrain -cutoff 50000)
# Environment: RUNS (paired rounds, default 3), REPEAT (copies of the 860 OLID test texts,
#   default 100 = 86,000 lines), BUILD (build directory, default build), WORK (scratch
#   directory, default a fresh mktemp -d), ISAS (kernel paths, default "auto avx2").
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-runs/main_job/qat/model.blt}
FTZ=${2:-}
RUNS=${RUNS:-3}
REPEAT=${REPEAT:-100}
BUILD=${BUILD:-build}
ISAS=${ISAS:-auto avx2}
WORK=${WORK:-$(mktemp -d)}
BT="$BUILD/bytelite"
PY=/usr/bin/python3

die() { echo "inference_vs_fasttext: error: $*" >&2; exit 1; }
[ -f "$MODEL" ] || die "expected the model file $MODEL, found none (pass MODEL.blt)"
[ -x "$BT" ] || die "expected the executable $BT, found none (cmake --build $BUILD --target bytelite)"
command -v fasttext >/dev/null || die "expected Debian's fasttext, found none (scripts/install-deps.sh)"
[ -x /usr/bin/time ] || die "expected /usr/bin/time (Debian package time), found none"
mkdir -p "$WORK"

# ---- inputs: OLID test texts repeated; 280-byte texts for the latency ----
"$PY" - "$REPEAT" "$WORK" <<'PYEOF'
import sys
repeat, work = int(sys.argv[1]), sys.argv[2]
rows = open("data/olid/test.tsv", encoding="utf-8").read().split("\n")[1:]
texts = [r.split("\t")[0] for r in rows if r]
with open(f"{work}/input.txt", "w", encoding="utf-8") as f:
    for _ in range(repeat):
        for t in texts:
            f.write(t + "\n")
with open(f"{work}/t280.tsv", "wb") as f:
    f.write(b"text\n")
    for t in texts:
        b = t.encode("utf-8")
        b = (b + b" ") * (280 // (len(b) + 1) + 1)
        f.write(b[:280].replace(b"\t", b" ") + b"\n")
PYEOF
LINES=$(wc -l < "$WORK/input.txt")

# ---- the fastText model ----
if [ -z "$FTZ" ]; then
  FTZ="$WORK/ft.ftz"
  "$PY" - "$WORK/ft_train.txt" <<'PYEOF'
import sys
rows = open("data/olid/train.tsv", encoding="utf-8").read().split("\n")[1:]
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for r in rows:
        if not r:
            continue
        text, label = r.split("\t")[:2]
        f.write(f"__label__{label.strip()} {text.lower()}\n")
PYEOF
  fasttext supervised -input "$WORK/ft_train.txt" -output "$WORK/ft" -minn 2 -maxn 5 \
    -wordNgrams 2 -dim 50 -epoch 10 -thread 2 -seed 1 -verbose 0 >/dev/null
  fasttext quantize -input "$WORK/ft_train.txt" -output "$WORK/ft" -qnorm -retrain \
    -cutoff 50000 -thread 2 -verbose 0 >/dev/null
  rm -f "$WORK/ft.bin" "$WORK/ft.vec"  # 400 MB; only the .ftz is used
fi
[ -f "$FTZ" ] || die "expected the fastText model $FTZ, found none"

# ---- paired whole-process runs ----
# one measurement: NAME CORES CMD... -> appends "NAME wall_seconds maxrss_kb cpu_seconds" to
# results.txt (cpu = user + system time: on a machine shared with other jobs, wall time measures
# the share of the cores the process got, CPU time the work it did)
measure() {
  local name=$1 cores=$2
  shift 2
  /usr/bin/time -v -o "$WORK/time.txt" taskset -c "$cores" "$@" > "$WORK/out.txt"
  local secs kb cpu
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$WORK/time.txt")
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
  cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$WORK/time.txt")
  echo "$name $secs $kb $cpu" >> "$WORK/results.txt"
}
: > "$WORK/results.txt"
for r in $(seq 1 "$RUNS"); do
  for isa in $ISAS; do
    envisa=(); [ "$isa" = auto ] || envisa=(env BYTELITE_ISA="$isa")
    measure "bytelite_${isa}_1" 0 "${envisa[@]}" "$BT" predict --model "$MODEL" \
      --input "$WORK/input.txt" --threads 1
  done
  measure fasttext_1 0 fasttext predict-prob "$FTZ" "$WORK/input.txt" 2
  for isa in $ISAS; do
    envisa=(); [ "$isa" = auto ] || envisa=(env BYTELITE_ISA="$isa")
    measure "bytelite_${isa}_2" 0,1 "${envisa[@]}" "$BT" predict --model "$MODEL" \
      --input "$WORK/input.txt" --threads 2
  done
  measure fasttext_2 0,1 fasttext predict-prob "$FTZ" "$WORK/input.txt" 2
done
out_lines=$(wc -l < "$WORK/out.txt")
[ "$out_lines" -eq "$LINES" ] || die "expected $LINES output lines from fastText, found $out_lines"

# ---- latency of one 280-byte text ----
: > "$WORK/latency.txt"
for isa in $ISAS; do
  envisa=(); [ "$isa" = auto ] || envisa=(env BYTELITE_ISA="$isa")
  echo "$isa $(taskset -c 0 "${envisa[@]}" "$BT" bench --model "$MODEL" --data "$WORK/t280.tsv" \
    --no-float --repeat 5 --json)" >> "$WORK/latency.txt"
done

"$PY" - "$WORK" "$LINES" "$RUNS" "$MODEL" "$FTZ" "$ISAS" <<'PYEOF'
import json, os, statistics as st, sys
work, lines, runs, model, ftz, isas = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6].split()
res = {}
for row in open(f"{work}/results.txt"):
    name, secs, kb, cpu = row.split()
    res.setdefault(name, []).append((float(secs), int(kb), float(cpu)))
def med_rate(n): return st.median(lines / r[0] for r in res[n])
def med_cpu_rate(n): return st.median(lines / r[2] for r in res[n])
def med_mb(n): return st.median(r[1] / 1024 for r in res[n])
def med_ratio(a, b, i=0):  # median over rounds of (a's lines/s / b's lines/s); i=2: per CPU-second
    return st.median(rb[i] / ra[i] for ra, rb in zip(res[a], res[b]))
print(f"input: {lines} lines ({work}/input.txt); model {model} ({os.path.getsize(model)} bytes); "
      f"fastText {ftz} ({os.path.getsize(ftz)} bytes); medians of {runs} paired rounds")
print(f"{'engine':<20} {'cores':>5} {'lines/s':>9} {'vs fastText':>12} {'lines/CPU-s':>12} {'vs fastText':>12} {'peak RSS MB':>12}")
for cores in ("1", "2"):
    ft = f"fasttext_{cores}"
    for isa in isas:
        n = f"bytelite_{isa}_{cores}"
        print(f"{'bytelite ' + isa:<20} {cores:>5} {med_rate(n):>9.0f} {med_ratio(n, ft):>11.2f}x "
              f"{med_cpu_rate(n):>12.0f} {med_ratio(n, ft, 2):>11.2f}x {med_mb(n):>12.1f}")
    print(f"{'fastText .ftz':<20} {cores:>5} {med_rate(ft):>9.0f} {1:>11.2f}x "
          f"{med_cpu_rate(ft):>12.0f} {1:>11.2f}x {med_mb(ft):>12.1f}")
for isa in isas:
    print(f"bytelite {isa}: 2 threads / 1 thread = {med_ratio(f'bytelite_{isa}_2', f'bytelite_{isa}_1'):.2f}x; "
          f"peak RSS - fastText's = {med_mb(f'bytelite_{isa}_1') - med_mb('fasttext_1'):+.1f} MB (one core)")
if "avx2" in isas and "auto" in isas:
    print(f"avx2 / auto lines/s (one core): {med_ratio('bytelite_avx2_1', 'bytelite_auto_1'):.2f}x")
for row in open(f"{work}/latency.txt"):
    isa, js = row.split(" ", 1)
    j = json.loads(js)
    print(f"latency of one 280-byte text, bytelite {isa} ({j['isa']}), one core: "
          f"p50 {j['p50_ms']:.3f} ms, p99 {j['p99_ms']:.3f} ms ({j['examples']} texts x 5)")
PYEOF
