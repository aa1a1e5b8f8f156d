#!/usr/bin/env bash
# Measures the original's Transformer quirks (spec §9) one at a time against our default
# (scaled attention, per-channel layer norm, post-norm) on OLID: float training, validation
# metrics of the best checkpoint. Usage: scripts/experiments/transformer_quirks.sh [OUT_DIR]
# [EPOCHS] [THREADS]. Results: OUT_DIR/<variant>/train.log; a summary table on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/transformer_quirks}
epochs=${2:-4}
threads=${3:-1}
mkdir -p "$out"
variants=("default:{}" "unscaled:{\"attention_scale\":\"none\"}" \
  "scalar_norm:{\"layer_norm\":\"scalar\"}" "pre_norm:{\"norm_position\":\"pre\"}")
for v in "${variants[@]}"; do
  name=${v%%:*}
  patch=${v#*:}
  /usr/bin/python3 - "$patch" "$out/$name.json" <<'PY'
import json, sys
c = json.load(open("configs/bytetransformer_olid.json"))
c["model"].update(json.loads(sys.argv[1]))
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
  if [ ! -f "$out/$name/best.ckpt" ]; then
    ./build/bytelite train --config "$out/$name.json" --train data/olid/train.tsv \
      --valid data/olid/valid.tsv --out "$out/$name" --qat off --epochs "$epochs" \
      --threads "$threads" --quiet > "$out/$name.log" 2>&1 || true
  fi
  echo "$name: $(./build/bytelite eval --checkpoint "$out/$name" --data data/olid/valid.tsv \
    --threads "$threads" --json 2>/dev/null | /usr/bin/python3 -c \
    'import json,sys; m=json.load(sys.stdin); print("valid macro_f1 %.4f roc_auc %.4f" % (m["macro_f1"], m["roc_auc"]))')"
done
