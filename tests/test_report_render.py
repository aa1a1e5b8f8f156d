#!/usr/bin/python3
"""Renders `bytelite report` pages in headless Chromium (Debian `chromium`) and checks the
screenshots: every figure drew its series in its own color, and the page is not blank.

    /usr/bin/python3 tests/test_report_render.py BYTELITE_EXECUTABLE [SOURCE_DIR]

For the classifier fixture run (tests/data/report/byteqrnn_run) with --data data/olid/test.tsv
and --peers bench/peers/results/peers.json, and the seq2seq fixture (tests/data/report/
seq2seq_run) on 120 CMUdict words, the page is screenshotted and, for each figure, the pixels of
that figure's series color (core/report.cc gives each figure's first series a color no other
figure uses) are counted; each must cover at least MIN_PIXELS pixels. As a control, the same
page with its <svg> elements removed must fail that check, so the check can fail.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

MIN_PIXELS = 40
TOLERANCE = 10  # per channel: antialiasing leaves the centre of 2.5-px lines at the exact color

CLASSIFIER_FIGURES = {
    "training loss": (0x1F, 0x77, 0xB4),
    "learning rate": (0xFF, 0x7F, 0x0E),
    "validation metric": (0x2C, 0xA0, 0x2C),
    "ROC curve": (0xD6, 0x27, 0x28),
    "precision-recall curve": (0x94, 0x67, 0xBD),
    "confusion matrix": (0x17, 0xBE, 0xCF),
    "peer benchmark": (0xE3, 0x77, 0xC2),
}
SEQ2SEQ_FIGURES = {
    "training loss": (0x1F, 0x77, 0xB4),
    "validation WER": (0x2C, 0xA0, 0x2C),
    "error rates by length": (0x8C, 0x56, 0x4B),
}


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    fail("expected headless Chromium (Debian package chromium, installed by "
         "scripts/install-deps.sh), found none on PATH")


def screenshot(html_path, png_path):
    cmd = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--window-size=1500,2600", "--screenshot=" + png_path,
           "file://" + os.path.abspath(html_path)]
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run(cmd + ["--user-data-dir=" + profile], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0 or not os.path.exists(png_path):
        fail("chromium exited %d without a screenshot: %s" % (r.returncode,
                                                             r.stderr.decode()[-400:]))


def color_counts(png_path, colors):
    img = np.asarray(Image.open(png_path).convert("RGB"), dtype=np.int16)
    counts = {}
    for name, c in colors.items():
        counts[name] = int(np.all(np.abs(img - np.array(c, dtype=np.int16)) <= TOLERANCE,
                                  axis=2).sum())
    non_white = float(np.any(img < 245, axis=2).mean())
    return counts, non_white


def missing_figures(html_path, colors, work):
    png = os.path.join(work, os.path.basename(html_path) + ".png")
    screenshot(html_path, png)
    counts, non_white = color_counts(png, colors)
    missing = [f"{n} ({c} px)" for n, c in counts.items() if c < MIN_PIXELS]
    return missing, non_white, counts


def run_report(bytelite, args):
    r = subprocess.run([bytelite, "report"] + args + ["--quiet"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    if r.returncode != 0:
        fail("bytelite report %s exited %d: %s" % (" ".join(args), r.returncode,
                                                   r.stderr.decode()))


def main():
    if len(sys.argv) < 2:
        fail("usage: test_report_render.py BYTELITE_EXECUTABLE [SOURCE_DIR]")
    bytelite = os.path.abspath(sys.argv[1])
    src = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else
                          os.path.join(os.path.dirname(__file__), ".."))
    with tempfile.TemporaryDirectory(prefix="bytelite_render_") as work:
        cls_run = os.path.join(work, "byteqrnn_run")
        shutil.copytree(os.path.join(src, "tests/data/report/byteqrnn_run"), cls_run)
        cls_html = os.path.join(work, "classifier.html")
        run_report(bytelite, [cls_run, "--data", os.path.join(src, "data/olid/test.tsv"),
                              "--peers", os.path.join(src, "bench/peers/results/peers.json"),
                              "--no-agreement", "--out", cls_html])
        s2s_run = os.path.join(work, "seq2seq_run")
        shutil.copytree(os.path.join(src, "tests/data/report/seq2seq_run"), s2s_run)
        words = os.path.join(work, "g2p.tsv")
        with open(os.path.join(src, "data/cmudict/g2p_valid.tsv")) as f, open(words, "w") as o:
            o.writelines(line for _, line in zip(range(121), f))
        s2s_html = os.path.join(work, "seq2seq.html")
        run_report(bytelite, [s2s_run, "--data", words, "--out", s2s_html])

        for html, colors in ((cls_html, CLASSIFIER_FIGURES), (s2s_html, SEQ2SEQ_FIGURES)):
            missing, non_white, counts = missing_figures(html, colors, work)
            print(f"{os.path.basename(html)}: non-white {non_white:.1%}, pixels per figure "
                  f"color {counts}")
            if missing:
                fail(f"{html}: expected every figure rendered, found too few pixels for: "
                     + ", ".join(missing))
            if non_white < 0.03:
                fail(f"{html}: expected a rendered page, found {non_white:.1%} non-white pixels")
        # Control: without its SVG figures the same page must fail the check.
        with open(cls_html) as f:
            stripped = re.sub(r"<svg.*?</svg>", "", f.read(), flags=re.S)
        control = os.path.join(work, "control.html")
        with open(control, "w") as f:
            f.write(stripped)
        missing, _, _ = missing_figures(control, CLASSIFIER_FIGURES, work)
        if len(missing) != len(CLASSIFIER_FIGURES):
            fail("control: expected every figure missing from the page without SVG, found "
                 f"only {missing} missing")
    print("report pages rendered with every figure")


if __name__ == "__main__":
    main()
