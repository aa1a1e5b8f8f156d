#!/usr/bin/env bash
# What distillation gives on OLID, validation only (docs/distillation.md "Measured: the
# unlabelled pool"): for each recipe (configs/<name>_olid.json), seeds 1-3, short runs of 1,200
# steps (evaluation every 200 steps, best checkpoint on validation macro-F1, no early stopping),
# 1 thread:
#   none      no teacher;
#   teacher   the char n-gram teacher (data/teacher/olid_charngram_lr.tsv.gz) on the labelled
#             texts, alpha 0.5, T 1;
#   pool      the same plus the unlabelled pool data/pretrain/tweets.txt.gz (train.batch_size
#             pool rows added to each batch, soft term only);
# then the int8 model of each run evaluated on the validation set (`bytelite eval --json`),
# printed per seed and as mean [min, max]. The test set is not read.
# Usage: scripts/experiments/distill_pool_valid.sh [OUT, default runs/distill_pool] [recipes...]
#   recipes default: pqrnn (also: byteqrnn). Runs already trained (OUT/<recipe>_<arm>_s<seed>/
#   model.blt) are not retrained, so an interrupted run continues.
# Environment (defaults give the runs above):
#   TEACHER     teacher scores file of the teacher and pool arms (default
#               data/teacher/olid_charngram_lr.tsv.gz; e.g. data/teacher/olid_ensemble.tsv.gz)
#   POOL_FIRST  N: the pool arm uses the first N lines of the pool only (written to
#               OUT/pool_first<N>.txt; the ensemble teacher scores the first 10,000)
#   ARMS        the arms to run, of "none teacher pool" (default: all three)
#   SEEDS       the seeds to train and report (default "1 2 3")
# Relative paths (OUT, TEACHER, BYTELITE) are from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/distill_pool}
shift || true
recipes=("${@:-pqrnn}")
[ ${#recipes[@]} -eq 0 ] && recipes=(pqrnn)
bin=${BYTELITE:-build/bytelite}
teacher=${TEACHER:-data/teacher/olid_charngram_lr.tsv.gz}
pool=data/pretrain/tweets.txt.gz
read -r -a arms <<< "${ARMS-none teacher pool}"
read -r -a seeds <<< "${SEEDS-1 2 3}"
if [ ${#arms[@]} -eq 0 ] || [ ${#seeds[@]} -eq 0 ]; then
  echo "distill_pool_valid.sh: ARMS and SEEDS: expected at least one arm and one seed, found" \
    "ARMS=\"${ARMS-}\" SEEDS=\"${SEEDS-}\"" >&2
  exit 1
fi
for seed in "${seeds[@]}"; do
  if ! [[ $seed =~ ^[0-9]+$ ]]; then
    echo "distill_pool_valid.sh: SEEDS: expected whole numbers, found \"$seed\"" >&2
    exit 1
  fi
done
for arm in "${arms[@]}"; do
  case $arm in none | teacher | pool) ;; *)
    echo "distill_pool_valid.sh: ARMS: expected arms of \"none teacher pool\", found \"$arm\"" >&2
    exit 1 ;;
  esac
done
[ -f "$teacher" ] || { echo "distill_pool_valid.sh: TEACHER: expected a teacher scores file (relative to the repository root), found no file \"$teacher\"" >&2; exit 1; }
if [ -n "${POOL_FIRST:-}" ] && ! [[ $POOL_FIRST =~ ^[1-9][0-9]*$ ]]; then
  echo "distill_pool_valid.sh: POOL_FIRST: expected a positive line count, found \"$POOL_FIRST\"" >&2
  exit 1
fi
mkdir -p "$out"  # only once the arguments are known to be good
if [ -n "${POOL_FIRST:-}" ]; then
  zcat "$pool" | awk -v n="$POOL_FIRST" 'NR <= n' > "$out/pool_first$POOL_FIRST.txt.tmp"
  mv "$out/pool_first$POOL_FIRST.txt.tmp" "$out/pool_first$POOL_FIRST.txt"
  pool=$out/pool_first$POOL_FIRST.txt
fi
for recipe in "${recipes[@]}"; do
  for arm in "${arms[@]}"; do
    case $arm in
      none) extra=() ;;
      teacher) extra=(--set "train.distill_scores=$teacher" --set train.distill_alpha=0.5) ;;
      pool) extra=(--set "train.distill_scores=$teacher" --set train.distill_alpha=0.5
        --set "train.distill_unlabelled=$pool") ;;
    esac
    for seed in "${seeds[@]}"; do
      dir=$out/${recipe}_${arm}_s$seed
      if [ ! -f "$dir/model.blt" ]; then
        rm -rf "$dir"
        echo "[$(date -u +%H:%M:%S)] training $dir" >&2
        "$bin" train --config "configs/${recipe}_olid.json" --train data/olid/train.tsv \
          --valid data/olid/valid.tsv --out "$dir" --threads 1 --quiet \
          --set train.max_steps=1200 --set train.eval_every_steps=200 \
          --set train.early_stopping_patience=0 --set train.seed=$seed "${extra[@]}" > /dev/null
      fi
    done
  done
  for arm in "${arms[@]}"; do
    /usr/bin/python3 - "$bin" "$out" "${recipe}_$arm" "${seeds[@]}" <<'EOF'
import json, statistics, subprocess, sys
bin_, out, name = sys.argv[1:4]
f1, auc = [], []
for seed in sys.argv[4:]:
    d = f"{out}/{name}_s{seed}"
    j = json.loads(subprocess.run([bin_, "eval", "--model", d + "/model.blt", "--data",
                                   "data/olid/valid.tsv", "--threads", "1", "--json"],
                                  capture_output=True, text=True, check=True).stdout)
    s = json.load(open(d + "/summary.json"))
    f1.append(j["macro_f1"])
    auc.append(j["roc_auc"])
    print(f"{name} seed {seed}: int8 valid macro-F1 {j['macro_f1']:.4f}, ROC AUC "
          f"{j['roc_auc']:.4f}; best step {s['best_step']}, training {s['train_seconds']:.0f} s")
for label, v in (("macro-F1", f1), ("ROC AUC", auc)):
    print(f"{name} {label}: {statistics.mean(v):.4f} [{min(v):.4f}, {max(v):.4f}]")
EOF
  done
done
