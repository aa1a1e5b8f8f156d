#!/usr/bin/python3
"""Builds the OLID teacher scores file (docs/distillation.md) from a char n-gram TF-IDF + logistic
regression teacher, the strongest quick peer of issue 17's benchmark (bench/peers/peers.py).

    nice -n 10 /usr/bin/python3 scripts/teacher/build_teacher.py \\
        [--out data/teacher/olid_charngram_lr.tsv.gz] [--no-pool]

Needs Debian's python3-sklearn and python3-numpy (scripts/install-deps.sh). Deterministic
(liblinear with random_state 0, fixed folds): a rerun writes the same file.

- Features and model as the peer benchmark's: char_wb 2-5-grams, lower-cased, sublinear TF,
  min_df 2; liblinear logistic regression. C is chosen among 1, 3, 10, 30, 100 by validation
  macro-F1 (decision threshold chosen on validation, bytelite's rule); the script prints the
  chosen C and its validation macro-F1 and ROC AUC (a score of the selection itself, so slightly
  optimistic). The test set is never read.
- Training texts (data/olid/train.tsv) get out-of-fold probabilities: 5 folds (stratified, fixed
  shuffle), each scored by a model fit on the other 4 with the chosen C, so a training text's
  soft target is not the model's memory of its own label. A text listed several times gets the
  mean of its rows' probabilities.
- The unlabelled pool (data/pretrain/tweets.txt.gz, unless --no-pool) is scored by the model fit
  on all training texts. Pool texts equal to a training text are left out (the training row
  holds that text), and so is every text equal to a validation or test text of OLID (none is
  expected: data/pretrain/SOURCE.md removed them; the script counts and drops any).
- Output: the teacher scores format of src/train/teacher_scores.h (header "text", then the
  classes as data/olid names them; one row per distinct text; \\ tab LF CR escaped), written
  to a temporary file and renamed (gzip when the name ends in .gz, with mtime 0 so the bytes
  are reproducible).
"""
import argparse
import csv
import gzip
import io
import os
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
from peers import best_threshold, choose_rule, metrics, y_index  # noqa: E402

LR_CS = [1.0, 3.0, 10.0, 30.0, 100.0]
FOLDS = 5


def log(msg):
    print(f"[teacher {time.strftime('%H:%M:%S', time.gmtime())}] {msg}", flush=True)


def read_tsv(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if rows[0] != ["text", "label"]:
        sys.exit(f"build_teacher: {rel}: expected header text<TAB>label, found {rows[0]}")
    return [r[0] for r in rows[1:]], [r[1] for r in rows[1:]]


def read_pool(rel):
    with gzip.open(os.path.join(ROOT, rel), "rb") as f:
        return [line.rstrip(b"\n").decode("utf-8", "surrogateescape") for line in f]


def escape(text):
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def make_model(C):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=True,
                          sublinear_tf=True, min_df=2, dtype=np.float32)
    clf = LogisticRegression(C=C, solver="liblinear", max_iter=1000, random_state=0)
    return make_pipeline(vec, clf)


def main():
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "teacher",
                                                  "olid_charngram_lr.tsv.gz"))
    ap.add_argument("--no-pool", action="store_true",
                    help="score only the training texts, not data/pretrain/tweets.txt.gz")
    args = ap.parse_args()

    train_x, train_y = read_tsv("data/olid/train.tsv")
    valid_x, valid_y = read_tsv("data/olid/valid.tsv")
    test_x, _ = read_tsv("data/olid/test.tsv")  # texts only: to keep them out of the pool
    classes = sorted(set(train_y))
    yv = y_index(valid_y, classes)

    best = None
    for C in LR_CS:
        model = make_model(C).fit(train_x, train_y)
        assert list(model.classes_) == classes
        pv = model.predict_proba(valid_x)
        thr = choose_rule(pv, yv)
        m = metrics(pv, yv, classes, thr)
        log(f"C={C}: valid macro-F1 {m['macro_f1']:.4f} ROC AUC {m.get('roc_auc', float('nan')):.4f}")
        if best is None or m["macro_f1"] > best[0]["macro_f1"]:
            best = (m, C, model)
    m, C, full = best
    log(f"chosen C={C}: valid macro-F1 {m['macro_f1']:.4f}, ROC AUC {m['roc_auc']:.4f} "
        f"(the selection's own score)")

    # out-of-fold probabilities of the training texts
    oof = np.zeros((len(train_x), len(classes)))
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    ytr = y_index(train_y, classes)
    for k, (fit_i, score_i) in enumerate(folds.split(train_x, ytr)):
        model = make_model(C).fit([train_x[i] for i in fit_i], [train_y[i] for i in fit_i])
        oof[score_i] = model.predict_proba([train_x[i] for i in score_i])
        log(f"fold {k + 1}/{FOLDS} scored")
    pos = classes.index("offensive") if "offensive" in classes else len(classes) - 1
    oof_auc = roc_auc_score(ytr == pos, oof[:, pos])
    oof_thr = best_threshold(oof[:, pos], (ytr == pos).astype(int))
    oof_f1 = metrics(oof, ytr, classes, oof_thr)["macro_f1"]
    log(f"out-of-fold training scores: ROC AUC {oof_auc:.4f}, macro-F1 {oof_f1:.4f} "
        f"(threshold chosen on them)")

    rows = {}  # text -> (sum of probabilities, count)
    for t, p in zip(train_x, oof):
        s, n = rows.get(t, (0.0, 0))
        rows[t] = (s + p, n + 1)
    scores = {t: s / n for t, (s, n) in rows.items()}
    n_train = len(scores)

    held_out = set(valid_x) | set(test_x)
    in_train = sum(1 for t in scores if t in held_out)
    if in_train:
        log(f"note: {in_train} distinct training texts equal a validation or test text (kept: "
            f"they are OLID's own training rows)")
    if not args.no_pool:
        pool = read_pool("data/pretrain/tweets.txt.gz")
        distinct = list(dict.fromkeys(pool))
        keep = [t for t in distinct if t not in scores and t not in held_out]
        dropped = sum(1 for t in distinct if t in held_out)
        log(f"pool: {len(pool)} tweets, {len(distinct)} distinct, {dropped} equal to a "
            f"validation or test text (dropped), {len(keep)} scored")
        for t, p in zip(keep, full.predict_proba(keep)):
            scores[t] = p

    buf = io.StringIO(newline="")
    buf.write("text\t" + "\t".join(classes) + "\n")
    for t, p in scores.items():
        p = np.asarray(p, dtype=np.float64)
        vals = ["%.4f" % v for v in p[:-1]]
        vals.append("%.4f" % max(0.0, 1.0 - sum(float(v) for v in vals)))  # sums to 1
        buf.write(escape(t) + "\t" + "\t".join(vals) + "\n")
    data = buf.getvalue().encode("utf-8", "surrogateescape")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        if args.out.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as g:
                g.write(data)
        else:
            f.write(data)
    os.replace(tmp, args.out)
    log(f"wrote {args.out}: {len(scores)} texts ({n_train} training, "
        f"{len(scores) - n_train} pool), {os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
