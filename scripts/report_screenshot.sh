#!/usr/bin/env bash
# Screenshots the top of a report page (bytelite report) with headless Chromium, as the README's
# docs/images/main_job_report.png was made:
#   build/bytelite report runs/main_job/qat --data data/olid/test.tsv \
#     --peers bench/peers/results/peers.json --threads 2
#   scripts/report_screenshot.sh runs/main_job/qat/report.html docs/images/main_job_report.png
# Usage: scripts/report_screenshot.sh REPORT_HTML OUT_PNG [HEIGHT_PX, default 1560]
# Needs chromium and python3-pil (scripts/install-deps.sh). The page is rendered 1500 px wide,
# then scaled to 1200 px and stored with a 256-color palette.
set -euo pipefail
html=$1 out=$2 height=${3:-1560}
[[ -f $html ]] || { echo "report_screenshot.sh: expected a report page, found no file $html" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --user-data-dir="$tmp/profile" --window-size=1500,"$height" --screenshot="$tmp/shot.png" \
  "file://$(realpath "$html")" 2>/dev/null
/usr/bin/python3 - "$tmp/shot.png" "$out" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
im = im.resize((1200, im.height * 1200 // im.width), Image.LANCZOS)
im.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(sys.argv[2], optimize=True)
PY
echo "wrote $out"
