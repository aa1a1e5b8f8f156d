#!/usr/bin/env python3
"""Whole-process prediction with the peer benchmark's char n-gram TF-IDF + logistic regression
(bench/peers/peers.py writes RUN_DIR/tfidf_lr/olid/model.pkl as (vectorizer, classifier,
threshold)): one text a line in, one probability of the positive class and the 0/1 decision a
line out, so scripts/pareto.sh can time it beside `bytelite predict` and fastText.

Usage: /usr/bin/python3 scripts/pareto_lr_predict.py MODEL_PKL TEXT_FILE > OUTPUT
The pickle is trusted input (the peer benchmark's own output): never load one from elsewhere.
"""
import pickle
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: pareto_lr_predict.py MODEL_PKL TEXT_FILE (expected 2 arguments)")
    with open(sys.argv[1], "rb") as f:
        vec, clf, thr = pickle.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        texts = f.read().split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    p = clf.predict_proba(vec.transform(texts))[:, 1]
    sys.stdout.write("".join(f"{x:.6f} {int(x >= thr)}\n" for x in p))


if __name__ == "__main__":
    main()
