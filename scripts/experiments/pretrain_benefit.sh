#!/usr/bin/env bash
# Issue 6 measurement: a classifier fine-tuned from a pretrained encoder vs trained from scratch,
# same fine-tuning recipe (configs/<MODEL>_<data>.json), on OLID and Davidson et al., for several
# seeds and fractions of the training labels. Each run trains with QAT, then `bytelite eval`
# scores its int8 model on the test set. Resumable: finished runs (test.json present) are skipped.
#
# Usage: scripts/experiments/pretrain_benefit.sh PRETRAINED [OUT] [SEEDS] [FRACTIONS] [DATASETS]
#   PRETRAINED  a `bytelite pretrain` output directory (scripts/pretrain.sh)
#   OUT         default runs/pretrain_benefit
#   SEEDS       default "1 2 3"; FRACTIONS (percent of training rows) default "10 30 100";
#   DATASETS    default "olid davidson"
# Then: /usr/bin/python3 scripts/pretrain_benefit_table.py OUT  (table + docs/ plot)
# Threads: THREADS (default 1) per run; run two copies with disjoint SEEDS to use 2 cores.
# MODEL (default byteqrnn) picks the recipe configs/<MODEL>_<data>.json, whose tokenizer and model
# sections must match the pretraining config (e.g. MODEL=bytetransformer_large with
# configs/pretrain_bytetransformer.json; OLID only, there is no Davidson recipe for it).
# ARMS (default "scratch pretrained") picks the arms, e.g. ARMS=scratch before PRETRAINED is done
# (PRETRAINED must still name a directory).
# Budget: each run is the dataset config's recipe (epochs, early stopping). On a fraction of the
# labels the epochs stay and the step-based warmups (quantization.warmup_steps,
# train.lr_warmup_steps, train.freeze_encoder_steps) shrink by the same fraction, so QAT covers
# the same share of training (a 10% OLID run has 300 steps, fewer than the 400 float steps the
# full recipe starts with).
set -euo pipefail
cd "$(dirname "$0")/../.."
PRE=${1:?usage: pretrain_benefit.sh PRETRAINED [OUT] [SEEDS] [FRACTIONS] [DATASETS]}
OUT=${2:-runs/pretrain_benefit}
SEEDS=${3:-1 2 3}
FRACTIONS=${4:-10 30 100}
DATASETS=${5:-olid davidson}
THREADS=${THREADS:-1}
ARMS=${ARMS:-scratch pretrained}
MODEL=${MODEL:-byteqrnn}
B=build/bytelite
[ -x "$B" ] || { echo "build bytelite first (scripts/test.sh or cmake --build build)" >&2; exit 1; }
[ -d "$PRE" ] || { echo "$PRE: expected a pretraining output directory" >&2; exit 1; }
mkdir -p "$OUT"
for ds in $DATASETS; do
  case $ds in
    olid) train=data/olid/train.tsv valid=data/olid/valid.tsv test=data/olid/test.tsv ;;
    davidson) train=data/davidson/train_fit.tsv valid=data/davidson/valid.tsv test=data/davidson/test.tsv ;;
    *) echo "unknown dataset $ds (expected olid or davidson)" >&2; exit 1 ;;
  esac
  for frac in $FRACTIONS; do
    sub=$OUT/data/${ds}_train_${frac}.tsv
    if [ ! -f "$sub" ]; then
      mkdir -p "$OUT/data"
      # a fixed random subset (seed 1) of the training rows, the header kept
      /usr/bin/python3 - "$train" "$sub" "$frac" <<'PY'
import random, sys
src, dst, frac = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(src, "rb") as f:
    lines = f.read().split(b"\n")
header, rows = lines[0], [l for l in lines[1:] if l]
keep = sorted(random.Random(1).sample(range(len(rows)), round(len(rows) * frac / 100)))
with open(dst, "wb") as f:
    f.write(header + b"\n" + b"".join(rows[i] + b"\n" for i in keep))
PY
    fi
    cfg=$OUT/configs/${MODEL}_${ds}_frac${frac}.json
    [ -f "configs/${MODEL}_${ds}.json" ] || { echo "configs/${MODEL}_${ds}.json: no such recipe" >&2; exit 1; }
    if [ ! -f "$cfg" ]; then
      mkdir -p "$OUT/configs"
      /usr/bin/python3 - "configs/${MODEL}_${ds}.json" "$cfg" "$frac" <<'PY'
import json, sys
src, dst, frac = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = json.load(open(src))
c["quantization"]["warmup_steps"] = round(c["quantization"]["warmup_steps"] * frac / 100)
c["train"]["lr_warmup_steps"] = round(c["train"]["lr_warmup_steps"] * frac / 100)
if "freeze_encoder_steps" in c["train"]:
    c["train"]["freeze_encoder_steps"] = round(c["train"]["freeze_encoder_steps"] * frac / 100)
c["comment"] = f"{src} on {frac}% of the training labels (warmups scaled), pretrain_benefit.sh"
json.dump(c, open(dst, "w"), indent=2)
PY
    fi
    for seed in $SEEDS; do
      for arm in $ARMS; do
        run=$OUT/$ds/$arm/frac${frac}_seed${seed}
        [ -f "$run/test.json" ] && continue
        init=()
        [ "$arm" = pretrained ] && init=(--init-from "$PRE")
        echo "== $ds $arm ${frac}% seed $seed -> $run" >&2
        "$B" train --config "$cfg" --train "$sub" --valid "$valid" \
          --out "$run" --seed "$seed" --threads "$THREADS" --quiet "${init[@]}"
        "$B" eval --model "$run/model.blt" --data "$test" --json \
          > "$run/test.json.tmp" && mv "$run/test.json.tmp" "$run/test.json"
      done
    done
  done
done
echo "done: /usr/bin/python3 scripts/pretrain_benefit_table.py $OUT" >&2
