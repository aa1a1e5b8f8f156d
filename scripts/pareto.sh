#!/usr/bin/env bash
# The Pareto table of issue 16 item 5: bytelite configurations (encoder, width, depth, GBST
# downsampling rate, projection input) against the peers on OLID: test macro-F1 (mean [min, max]
# of seeds 1-3), lines/s on one core (whole-process `predict`, paired with fastText `.ftz`),
# model file size, peak RSS; marks the Pareto fronts. Writes RUN_DIR/pareto.md and pareto.json.
#
# Usage: scripts/pareto.sh [RUN_DIR] [REUSE_DIR] [PEERS_DIR]
#   (relative paths are taken from the repository root: the script runs there)
#   RUN_DIR    default runs/pareto; a run RUN_DIR/<name>_s<seed>/ with model.blt and summary.json
#              is not retrained.
#   REUSE_DIR  optional: runs trained before with the same settings (the 1,200-step runs of
#              scripts/experiments/pqrnn_valid.sh, or a directory laid out like it); a run found
#              there as <name>_s<seed> or <alias>_s<seed> (see runs=( ) below) is copied after its
#              config.json is checked against this script's settings, not trained.
#   PEERS_DIR  default runs/peers: scripts/peers.sh's run directory. The shipped main-job recipe
#              (configs/byteqrnn_olid.json, full recipe with early stopping) is read from
#              PEERS_DIR/bytelite/olid/s{1,2,3}, fastText (.ftz) and TF-IDF + LR from
#              PEERS_DIR/peers.json and PEERS_DIR/fasttext/olid/s1/model.ftz (run
#              scripts/peers.sh first).
# Environment: BYTELITE (default build/bytelite), BYTELITE_TRAIN (default build/bytelite-train),
#   RUNS (paired speed rounds, default 3), REPEAT (copies of OLID's 860 test texts as speed
#   input, default 30), STEPS (training steps of the short runs, default 1200), ONLY_TRAIN=1
#   (stop after training), SKIP_TRAIN=1 (table from the runs there are; rows with fewer seeds
#   say so).
#
# Protocol (issue 17 item 2): QAT on, 1 thread, seeds 1-3, one training at a time. Budget
# "short" (most rows): STEPS optimizer steps of batch 32, evaluation every 200 steps, no early
# stopping; budget "full": the config's recipe as the main job (8 epochs, early stopping). Either
# way the checkpoint and the decision threshold are the best on validation; the int8 model is
# scored once on the test set with `bytelite eval --json` (threshold stored in the model;
# RUN_DIR/<run>/test_metrics_int8.json caches it, so a rerun does not read the test set again).
# Speed: the seed-1 int8 model of each row, `bytelite predict --model ... --threads 1` as a whole
# process on core 0 (taskset -c 0, /usr/bin/time), interleaved with fastText `predict-prob`
# (.ftz and .bin of the peer benchmark's seed 1) and the TF-IDF + LR peer
# (scripts/pareto_lr_predict.py) in RUNS rounds on the same input. Table: scripts/pareto_table.py.
set -euo pipefail
main() {
  cd "$(dirname "$0")/.."
  out=${1:-runs/pareto}
  reuse=${2:-}
  peers=${3:-runs/peers}
  train_bin=${BYTELITE_TRAIN:-build/bytelite-train}
  # what the later steps need, checked before hours of training
  [ -z "$reuse" ] || [ -d "$reuse" ] || die "expected the directory of earlier runs $reuse, found none"
  [ -f "$peers/peers.json" ] ||
    die "expected the peer benchmark's $peers/peers.json (scripts/peers.sh $peers), found none"
  [ -f "$peers/fasttext/olid/s1/model.ftz" ] ||
    die "expected fastText's quantized model $peers/fasttext/olid/s1/model.ftz (scripts/peers.sh), found none"
  command -v fasttext > /dev/null || die "expected Debian's fasttext, found none (scripts/install-deps.sh)"
  [ -x /usr/bin/time ] || die "expected /usr/bin/time (Debian package time), found none"
  [ -s "$peers/fasttext/olid/s1/model.ftz" ] ||
    die "expected a non-empty fastText model $peers/fasttext/olid/s1/model.ftz, found an empty file"
  for seed in 1 2 3; do
    [ -f "$out/main_job_s$seed/test_metrics_int8.json" ] ||
      [ -f "$peers/bytelite/olid/s$seed/test_metrics_int8.json" ] ||
      die "expected the peer benchmark's run $peers/bytelite/olid/s$seed/test_metrics_int8.json (scripts/peers.sh), found none"
  done
  [ $# -le 3 ] || die "expected at most 3 arguments (RUN_DIR REUSE_DIR PEERS_DIR), found $#"
  steps=${STEPS:-1200}
  for v in "STEPS:$steps" "RUNS:${RUNS:-3}" "REPEAT:${REPEAT:-30}"; do
    [[ "${v#*:}" =~ ^[1-9][0-9]*$ ]] || die "expected ${v%%:*} to be a whole number >= 1, found '${v#*:}'"
  done
  [ -x "$train_bin" ] || [ "${SKIP_TRAIN:-0}" = 1 ] ||
    die "expected the training binary $train_bin (BYTELITE_TRAIN; cmake --build build), found none"
  mkdir -p "$out"
  # name:config:alias in REUSE_DIR:budget:settings (space-separated section.key=value).
  # budget "short": STEPS steps, evaluation every 200; "full": the config's own recipe (8 epochs,
  # evaluation each epoch, early stopping), as the main job.
  runs=(
    "byteqrnn:byteqrnn::short:"
    "byteqrnn_ds4:byteqrnn::short:model.gbst_downsample_rate=4"
    "byteqrnn_w32:byteqrnn::short:model.embedding_size=32 model.bottleneck_size=32 model.qrnn_state_size=32"
    "byteqrnn_l1:byteqrnn::short:model.qrnn_layers=1"
    "byteqrnn_w32_ds4:byteqrnn::short:model.embedding_size=32 model.bottleneck_size=32 model.qrnn_state_size=32 model.gbst_downsample_rate=4"
    "pqrnn_f128:pqrnn:pqrnn:short:model.projection_feature_size=128"
    "pqrnn_f256:pqrnn:pqrnn256:short:model.projection_feature_size=256"
    "pqrnn_f512:pqrnn:pqrnn512:short:model.projection_feature_size=512"
    "pqrnn_f512_s32:pqrnn::short:model.qrnn_state_size=32"
    "pqrnn_f512_l1:pqrnn::short:model.qrnn_layers=1"
    "pqrnn_full:pqrnn::full:"
    "pqrnn_s32_full:pqrnn::full:model.qrnn_state_size=32"
    "byteqrnn_full:byteqrnn::full:"
    "byteqrnn_w32_full:byteqrnn::full:model.embedding_size=32 model.bottleneck_size=32 model.qrnn_state_size=32"
  )
  # cheap runs first (pQRNN trains about 4x faster than ByteQRNN)
  order=(pqrnn_f128 pqrnn_f256 pqrnn_f512 pqrnn_f512_s32 pqrnn_f512_l1 pqrnn_full pqrnn_s32_full
    byteqrnn_w32_full byteqrnn_full byteqrnn byteqrnn_ds4 byteqrnn_w32 byteqrnn_l1
    byteqrnn_w32_ds4)
  [ "${SKIP_TRAIN:-0}" = 1 ] && order=()
  for want in "${order[@]}"; do
    for r in "${runs[@]}"; do
      IFS=: read -r name cfg alias budget sets <<< "$r"
      [ "$name" = "$want" ] || continue
      for seed in 1 2 3; do
        dir=$out/${name}_s$seed
        [ -f "$dir/model.blt" ] && [ -f "$dir/summary.json" ] && continue
        src=
        if [ -n "$reuse" ]; then
          for cand in "$reuse/${name}_s$seed" ${alias:+"$reuse/${alias}_s$seed"}; do
            [ -f "$cand/model.blt" ] && [ -f "$cand/summary.json" ] && { src=$cand; break; }
          done
        fi
        rm -rf "$dir"
        if [ -n "$src" ]; then
          check_reuse "$src" "$cfg" "$sets" "$budget" "$steps"
          mkdir -p "$dir.tmp"
          cp "$src/model.blt" "$src/summary.json" "$src/config.json" "$dir.tmp/"
          echo "reused from $src" > "$dir.tmp/REUSED"
          mv "$dir.tmp" "$dir"
          echo "[pareto] $name seed $seed: copied from $src"
          continue
        fi
        setargs=()
        if [ "$budget" = short ]; then
          setargs=(--set train.max_steps="$steps" --set train.eval_every_steps=200
            --set train.early_stopping_patience=0)
        fi
        for s in $sets; do setargs+=(--set "$s"); done
        echo "[pareto] $name seed $seed: training ($cfg, $budget, $sets), started" \
          "$(date -u +%H:%M:%S) UTC"
        rm -rf "$dir.tmp"
        nice -n 10 "$train_bin" train --config "configs/${cfg}_olid.json" \
          --train data/olid/train.tsv --valid data/olid/valid.tsv --out "$dir.tmp" --threads 1 \
          --quiet --set train.seed="$seed" "${setargs[@]}" > /dev/null
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
      done
    done
  done
  [ "${ONLY_TRAIN:-0}" = 1 ] && return 0
  echo "[pareto] training done"

  # the shipped main-job recipe: the peer benchmark's runs (its test read is reused, not redone)
  for seed in 1 2 3; do
    src=$peers/bytelite/olid/s$seed
    dir=$out/main_job_s$seed
    [ -f "$dir/test_metrics_int8.json" ] && continue
    [ -f "$src/test_metrics_int8.json" ] ||
      die "expected the peer benchmark's run $src/test_metrics_int8.json (scripts/peers.sh), found none"
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    cp "$src/model.blt" "$src/summary.json" "$src/config.json" "$src/test_metrics_int8.json" \
      "$dir.tmp/"
    echo "copied from $src" > "$dir.tmp/REUSED"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
  done

  # ---- quality: int8 models on validation, then the one test read (cached per run) ----
  bin=${BYTELITE:-build/bytelite}
  for name in $(for r in "${runs[@]}"; do echo "${r%%:*}"; done) main_job; do
    for seed in 1 2 3; do
      dir=$out/${name}_s$seed
      for split in valid test; do
        f=$dir/${split}_metrics_int8.json
        [ -f "$f" ] || [ ! -f "$dir/model.blt" ] && continue
        "$bin" eval --model "$dir/model.blt" --data "data/olid/$split.tsv" --threads 1 --json \
          > "$f.tmp"
        mv "$f.tmp" "$f"
      done
    done
  done

  # ---- speed: whole-process predict on one core, interleaved rounds ----
  rounds=${RUNS:-3}
  repeat=${REPEAT:-30}
  ftz=$peers/fasttext/olid/s1/model.ftz
  lr=$peers/tfidf_lr/olid/model.pkl
  [ -f "$ftz" ] || die "expected fastText's quantized model $ftz (scripts/peers.sh), found none"
  work=$out/speed
  rm -rf "$work"
  mkdir -p "$work"
  /usr/bin/python3 - "$repeat" "$work/input.txt" <<'PYEOF'
import csv, sys
with open("data/olid/test.tsv", encoding="utf-8", newline="") as f:
    texts = [r[0] for r in list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for _ in range(int(sys.argv[1])):
        f.writelines(t + "\n" for t in texts)
PYEOF
  lines=$(wc -l < "$work/input.txt")
  speed_models=()
  for name in $(for r in "${runs[@]}"; do echo "${r%%:*}"; done) main_job; do
    [ -f "$out/${name}_s1/model.blt" ] && speed_models+=("$name:$out/${name}_s1/model.blt")
  done
  : > "$work/results.txt"
  uptime > "$work/load_before.txt"
  for round in $(seq 1 "$rounds"); do
    for m in "${speed_models[@]}"; do
      measure "$round" "${m%%:*}" "$bin" predict --model "${m#*:}" --input "$work/input.txt" \
        --threads 1
    done
    measure "$round" fasttext_ftz fasttext predict-prob "$ftz" "$work/input.txt" 2
    measure "$round" fasttext_bin fasttext predict-prob "${ftz%.ftz}.bin" "$work/input.txt" 2
    if [ -f "$lr" ]; then
      measure "$round" tfidf_lr /usr/bin/python3 scripts/pareto_lr_predict.py "$lr" \
        "$work/input.txt"
    fi
  done
  uptime > "$work/load_after.txt"
  /usr/bin/python3 scripts/pareto_table.py "$out" "$peers" "$lines"
}
die() { echo "pareto: error: $*" >&2; exit 1; }
# measure ROUND NAME CMD...: one whole process on core 0 under /usr/bin/time; appends
# "ROUND NAME wall_s user_s sys_s maxrss_kB" to $work/results.txt
measure() {
  local round=$1 name=$2
  shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" taskset -c 0 "$@" > "$work/out.txt"
  read -r wall user sys kb < "$work/time.txt"
  n=$(wc -l < "$work/out.txt")
  [ "$n" -eq "$lines" ] || die "$name: expected $lines output lines, found $n"
  echo "$round $name $wall $user $sys $kb" >> "$work/results.txt"
}
# a reused run must have been trained with the settings this script would use
check_reuse() {
  /usr/bin/python3 - "$@" <<'PYEOF'
import json, sys
src, cfg, sets, budget, steps = sys.argv[1:]
c = json.load(open(f"{src}/config.json"))["config"]
ref = json.load(open(f"configs/{cfg}_olid.json"))
want = {f"model.{k}": v for k, v in ref["model"].items()}
want.update({f"train.{k}": v for k, v in ref["train"].items() if k not in ("seed", "threads")})
want["quantization.enabled"] = True
if budget == "short":
    want.update({"train.max_steps": int(steps), "train.eval_every_steps": 200,
                 "train.early_stopping_patience": 0})
for s in sets.split():
    k, v = s.split("=", 1)
    want[k] = json.loads(v) if v[0].isdigit() or v[0] == "-" else v
for k, v in want.items():
    sec, key = k.split(".", 1)
    got = c.get(sec, {}).get(key)
    if got != v:
        sys.exit(f"pareto: {src}: expected {k} = {v!r} for this configuration, found {got!r}")
PYEOF
}
main "$@"
