#!/usr/bin/python3
"""Writes tests/golden/curves_golden.json: scikit-learn's ROC and precision-recall curves for the
score columns of tests/golden/metrics_golden.json (the inputs made by
scripts/make_metrics_golden.py).

tests/test_metrics.cc (MetricsCurves.*) checks bytelite::roc_curve and
bytelite::precision_recall_curve (src/core/metrics.h) against it. Run with Debian's python3
(python3-numpy, python3-sklearn):

    /usr/bin/python3 scripts/golden/make_curves_golden.py

For each case and label with both classes present: y = (label == c) for single-label cases and
(target >= target_threshold) for multi-label ones; roc = sklearn.metrics.roc_curve(y, s,
drop_intermediate=False) as [fpr, tpr, threshold] rows; pr = precision_recall_curve(y, s) as
[recall, precision, threshold] rows (sklearn gives no threshold for its last point; it is
written as null, as is roc_curve's first threshold, which is above every score).
"""

import argparse
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import precision_recall_curve, roc_curve

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", default=os.path.join(ROOT, "tests/golden/metrics_golden.json"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/golden/curves_golden.json"))
    args = ap.parse_args()
    with open(args.inputs) as f:
        golden = json.load(f)
    out = []
    for case in golden["cases"]:
        num = case["num_labels"]
        scores = np.asarray(case["scores"], dtype=np.float64).astype(np.float32).reshape(-1, num)
        for c in range(num):
            if case["multilabel"]:
                t = np.asarray(case["targets"], dtype=np.float64).astype(np.float32).reshape(-1, num)
                y = (t[:, c] >= np.float32(case["target_threshold"])).astype(np.int64)
            else:
                y = (np.asarray(case["labels"]) == c).astype(np.int64)
            if y.min() == y.max():
                continue
            s = scores[:, c].astype(np.float64)
            fpr, tpr, rthr = roc_curve(y, s, drop_intermediate=False)
            prec, rec, pthr = precision_recall_curve(y, s)
            roc = [[float(a), float(b), None if k == 0 else float(th)]
                   for k, (a, b, th) in enumerate(zip(fpr, tpr, rthr))]
            pr = [[float(r), float(p), float(pthr[k]) if k < len(pthr) else None]
                  for k, (r, p) in enumerate(zip(rec, prec))]
            out.append({"case": case["name"], "label": c, "roc": roc, "pr": pr})
    doc = {"generator": "scripts/golden/make_curves_golden.py",
           "sklearn_version": sklearn.__version__, "numpy_version": np.__version__,
           "curves": out}
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: {len(out)} curves (sklearn {sklearn.__version__})")


if __name__ == "__main__":
    main()
