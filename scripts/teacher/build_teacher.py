#!/usr/bin/python3
"""Builds the OLID teacher scores files (docs/distillation.md): a char n-gram TF-IDF + logistic
regression teacher, the strongest quick peer of issue 17's benchmark (bench/peers/peers.py), and,
with --use-lite, an ensemble of it with a logistic regression head on Universal Sentence Encoder
lite embeddings (bench/peers/use_lite).

    nice -n 10 /usr/bin/python3 scripts/teacher/build_teacher.py \\
        [--out data/teacher/olid_charngram_lr.tsv.gz] [--no-pool] \\
        [--use-lite [--ensemble-out data/teacher/olid_ensemble.tsv.gz] [--pool-first 10000]]

Needs Debian's python3-sklearn and python3-numpy (scripts/install-deps.sh). Deterministic
(liblinear with random_state 0, lbfgs on a convex problem, fixed folds): a rerun writes the same
files. The test set is never read (its texts only, to keep them out of the pool).

The char n-gram teacher (--out; always built, the same bytes with or without --use-lite):
- Features and model as the peer benchmark's: char_wb 2-5-grams, lower-cased, sublinear TF,
  min_df 2; liblinear logistic regression. C is chosen among 1, 3, 10, 30, 100 by validation
  macro-F1 (decision threshold chosen on validation, bytelite's rule); the script prints the
  chosen C and its validation macro-F1 and ROC AUC (a score of the selection itself, so slightly
  optimistic).
- Training texts (data/olid/train.tsv) get out-of-fold probabilities: 5 folds (stratified, fixed
  shuffle), each scored by a model fit on the other 4 with the chosen C, so a training text's
  soft target is not the model's memory of its own label. A text listed several times gets the
  mean of its rows' probabilities.
- The unlabelled pool (data/pretrain/tweets.txt.gz, unless --no-pool) is scored by the model fit
  on all training texts. Pool texts equal to a training text are left out (the training row
  holds that text), and so is every text equal to a validation or test text of OLID (none is
  expected: data/pretrain/SOURCE.md removed them; the script counts and drops any).

The ensemble (--use-lite only; without it node and the npm packages are not needed and the
script says that it builds the char n-gram teacher only):
- Embeddings: Universal Sentence Encoder lite (512 float32 per text, bench/peers/use_lite/
  embed.js) of OLID's training and validation texts and of the first --pool-first pool lines,
  read from the cache $USE_CACHE (default ~/.cache/bytelite/use_lite, the cache of
  bench/peers/use_lite/run.sh): olid_train, olid_valid and pool_first<N>, each a .txt (the
  texts, one per line) and a .f32. A missing .f32 is embedded there first with
  `nice -n 19 node bench/peers/use_lite/embed.js` (resumable; about 56 ms per text on an idle
  core: the 10,000 pool tweets take 10 to 30 minutes) when node and the npm packages are
  installed (`npm ci` in bench/peers/use_lite); otherwise the script stops with a one-line
  error, as it does for a cached .txt that differs from the texts it stands for or a .f32 of
  the wrong size. This happens before any fitting.
- Candidates, each chosen and scored on validation macro-F1 (decision threshold chosen on
  validation; every score printed is the selection's own, so slightly optimistic): the char
  n-gram LR above, the USE lite LR head (lbfgs, C among 0.1, 1, 10, 100, as fit_head.py), and
  their probability average w * p_char + (1 - w) * p_use with w among 0, 0.1, ..., 1 (the first
  best w in that order; w = 1 or 0 is a member alone, and the printout says so). Every
  candidate's validation macro-F1 and ROC AUC is printed.
- The ensemble file (--ensemble-out) holds the chosen average: training texts scored out of fold
  for every member (the same 5 folds), and the first --pool-first pool lines (the embedded
  subset; none with --no-pool) by the members fit on all training texts, with the same
  exclusions as above.

Output: the teacher scores format of src/train/teacher_scores.h (header "text", then the classes
as data/olid names them; one row per distinct text; \\ tab LF CR escaped), written to a temporary
file and renamed (gzip when the name ends in .gz, with mtime 0 so the bytes are reproducible).
"""
import argparse
import csv
import gzip
import io
import os
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
from peers import best_threshold, choose_rule, metrics, y_index  # noqa: E402

LR_CS = [1.0, 3.0, 10.0, 30.0, 100.0]
USE_CS = [0.1, 1.0, 10.0, 100.0]
WEIGHTS = [i / 10 for i in range(11)]  # weight of the char n-gram member in the average
FOLDS = 5
USE_DIR = os.path.join(ROOT, "bench", "peers", "use_lite")


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


def make_use_head(C):
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(C=C, max_iter=2000)


def blend(p_char, p_use, w):
    """The ensemble's probabilities: w * p_char + (1 - w) * p_use, row by row ([N, classes]
    each, rows summing to 1, so the blend's rows sum to 1 too); w in [0, 1]."""
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"blend: expected a weight in [0, 1], found {w}")
    return w * np.asarray(p_char, dtype=np.float64) + (1.0 - w) * np.asarray(p_use, np.float64)


def choose_weight(p_char, p_use, y, classes, weights=WEIGHTS):
    """Validation choice of the ensemble weight: for each w of `weights` (in order) the blend's
    macro-F1 at its own validation-chosen decision rule (peers.choose_rule) and ROC AUC.
    Returns (best w, [(w, metrics dict), ...]); the first w with the highest macro-F1 wins."""
    grid = []
    best = None
    for w in weights:
        pv = blend(p_char, p_use, w)
        m = metrics(pv, y, classes, choose_rule(pv, y))
        grid.append((w, m))
        if best is None or m["macro_f1"] > best[1]["macro_f1"]:
            best = (w, m)
    return best[0], grid


def choose_c(make, cs, x_train, y_train, x_valid, yv, classes, name):
    """C of a member by validation macro-F1 (first best in `cs` order); prints each C's scores.
    Returns (C, its validation metrics, the model fit on all training rows)."""
    best = None
    for C in cs:
        model = make(C).fit(x_train, y_train)
        pv = model.predict_proba(x_valid)
        m = metrics(pv, yv, classes, choose_rule(pv, yv))
        log(f"{name} C={C}: valid macro-F1 {m['macro_f1']:.4f} ROC AUC {m['roc_auc']:.4f}")
        if best is None or m["macro_f1"] > best[1]["macro_f1"]:
            best = (C, m, model)
    return best


def out_of_fold(make, C, x, y, n_classes, folds, name):
    """Probabilities of every training row from a model fit on the other folds. `x` is a list
    (texts) or an array (embeddings); `y` the labels the model fits."""
    oof = np.zeros((len(y), n_classes))
    for k, (fit_i, score_i) in enumerate(folds):
        if isinstance(x, np.ndarray):
            xf, xs = x[fit_i], x[score_i]
        else:
            xf, xs = [x[i] for i in fit_i], [x[i] for i in score_i]
        model = make(C).fit(xf, [y[i] for i in fit_i] if isinstance(y, list) else y[fit_i])
        oof[score_i] = model.predict_proba(xs)
        log(f"{name} fold {k + 1}/{len(folds)} scored")
    return oof


def report_oof(oof, ytr, classes, name):
    from sklearn.metrics import roc_auc_score
    pos = classes.index("offensive") if "offensive" in classes else len(classes) - 1
    auc = roc_auc_score(ytr == pos, oof[:, pos])
    thr = best_threshold(oof[:, pos], (ytr == pos).astype(int))
    f1 = metrics(oof, ytr, classes, thr)["macro_f1"]
    log(f"{name}: out-of-fold training scores: ROC AUC {auc:.4f}, macro-F1 {f1:.4f} "
        f"(threshold chosen on them)")


def per_text(texts, probs):
    """{text: probabilities}, the mean over a text's rows when it is listed several times."""
    rows = {}
    for t, p in zip(texts, probs):
        s, n = rows.get(t, (0.0, 0))
        rows[t] = (s + p, n + 1)
    return {t: s / n for t, (s, n) in rows.items()}


def write_scores(path, classes, scores):
    buf = io.StringIO(newline="")
    buf.write("text\t" + "\t".join(classes) + "\n")
    for t, p in scores.items():
        p = np.asarray(p, dtype=np.float64)
        vals = ["%.4f" % v for v in p[:-1]]
        vals.append("%.4f" % max(0.0, 1.0 - sum(float(v) for v in vals)))  # sums to 1
        buf.write(escape(t) + "\t" + "\t".join(vals) + "\n")
    data = buf.getvalue().encode("utf-8", "surrogateescape")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        if path.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as g:
                g.write(data)
        else:
            f.write(data)
    os.replace(tmp, path)


def use_embeddings(cache, name, texts):
    """The USE lite embeddings [len(texts), 512] of `texts` from cache/<name>.f32, embedded there
    first (node embed.js) when missing. Errors (one line, exit 1): a cached .txt or .f32 that
    does not match `texts`, no node or npm packages to embed with, a failed embedding."""
    txt, f32 = os.path.join(cache, name + ".txt"), os.path.join(cache, name + ".f32")
    if os.path.exists(cache) and not os.path.isdir(cache):
        sys.exit(f"build_teacher: USE_CACHE {cache}: expected a directory of cached embeddings, "
                 f"found a file")
    for p in (txt, f32):
        if os.path.isdir(p):
            sys.exit(f"build_teacher: {p}: expected a cached file, found a directory")
    want = b"".join(t.encode("utf-8", "surrogateescape") + b"\n" for t in texts)
    for t in texts:
        if "\n" in t or "\r" in t or t == "":
            sys.exit(f"build_teacher: {name}: expected texts without CR or LF and not empty (one "
                     f"per line for embed.js), found {t[:60]!r}")
    if os.path.exists(txt):
        with open(txt, "rb") as f:
            have = f.read()
        if have != want:
            lines = have.count(b"\n")
            sys.exit(f"build_teacher: {txt}: expected the {len(texts)} texts of {name}, one per "
                     f"line, found other content ({lines} lines); delete it and its "
                     f".f32 to embed again")
    if not os.path.exists(f32):
        node_model = os.path.join(USE_DIR, "node_modules", "@energetic-ai", "model-embeddings-en")
        if shutil.which("node") is None or not os.path.isdir(node_model):
            sys.exit(f"build_teacher: --use-lite: expected {f32} or node and the npm packages to "
                     f"embed it (apt-get install nodejs npm; cd bench/peers/use_lite && npm ci), "
                     f"found neither")
        os.makedirs(cache, exist_ok=True)
        if not os.path.exists(txt):
            with open(txt + ".tmp", "wb") as f:
                f.write(want)
            os.replace(txt + ".tmp", txt)
        log(f"embedding {len(texts)} texts of {name} into {f32} (nice 19, resumable)")
        r = subprocess.run(["nice", "-n", "19", "node", os.path.join(USE_DIR, "embed.js"), txt,
                            f32, "32"])
        if r.returncode != 0:
            sys.exit(f"build_teacher: embedding {txt}: expected node embed.js to succeed, found "
                     f"exit status {r.returncode}")
    if not os.path.exists(txt):
        sys.exit(f"build_teacher: {f32}: expected its texts in {txt} beside it, found no file")
    x = np.fromfile(f32, dtype="<f4")
    if x.size != 512 * len(texts):
        sys.exit(f"build_teacher: {f32}: expected {len(texts)} x 512 float32 ({2048 * len(texts)} "
                 f"bytes), found {4 * x.size} bytes")
    x = x.reshape(-1, 512).astype(np.float64)
    if not np.isfinite(x).all():
        sys.exit(f"build_teacher: {f32}: expected finite values, found a NaN or infinity")
    return x


def main():
    from sklearn.model_selection import StratifiedKFold
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "teacher",
                                                  "olid_charngram_lr.tsv.gz"))
    ap.add_argument("--no-pool", action="store_true",
                    help="score only the training texts, not data/pretrain/tweets.txt.gz (the "
                         "ensemble too: then no pool embedding is needed)")
    ap.add_argument("--use-lite", action="store_true",
                    help="also build the char n-gram + USE lite ensemble (needs the embeddings "
                         "in $USE_CACHE or node and the npm packages of bench/peers/use_lite)")
    ap.add_argument("--ensemble-out", default=os.path.join(ROOT, "data", "teacher",
                                                           "olid_ensemble.tsv.gz"))
    ap.add_argument("--pool-first", type=int, default=10000,
                    help="the ensemble scores the first N pool lines (default 10000)")
    args = ap.parse_args()
    if args.pool_first < 1:
        sys.exit(f"build_teacher: --pool-first: expected a positive line count, found "
                 f"{args.pool_first}")
    if not args.use_lite:
        log("building the char n-gram teacher only (--use-lite adds the USE lite ensemble)")

    train_x, train_y = read_tsv("data/olid/train.tsv")
    valid_x, valid_y = read_tsv("data/olid/valid.tsv")
    test_x, _ = read_tsv("data/olid/test.tsv")  # texts only: to keep them out of the pool
    classes = sorted(set(train_y))
    yv = y_index(valid_y, classes)
    ytr = y_index(train_y, classes)
    held_out = set(valid_x) | set(test_x)

    # the embeddings first: a missing cache or node stops the script before any fitting
    pool = read_pool("data/pretrain/tweets.txt.gz")
    if args.use_lite:
        cache = os.environ.get("USE_CACHE") or os.path.expanduser("~/.cache/bytelite/use_lite")
        sub = pool[:args.pool_first]
        if len(sub) < args.pool_first and not args.no_pool:
            sys.exit(f"build_teacher: --pool-first: expected at most the pool's {len(pool)} "
                     f"lines, found {args.pool_first}")
        e_train = use_embeddings(cache, "olid_train", train_x)
        e_valid = use_embeddings(cache, "olid_valid", valid_x)
        if not args.no_pool:
            e_pool = use_embeddings(cache, f"pool_first{args.pool_first}", sub)

    C, m, full = choose_c(make_model, LR_CS, train_x, train_y, valid_x, yv, classes, "char LR")
    log(f"chosen C={C}: valid macro-F1 {m['macro_f1']:.4f}, ROC AUC {m['roc_auc']:.4f} "
        f"(the selection's own score)")

    # out-of-fold probabilities of the training texts (the same folds for every member)
    folds = list(StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
                 .split(train_x, ytr))
    oof = out_of_fold(make_model, C, train_x, train_y, len(classes), folds, "char LR")
    report_oof(oof, ytr, classes, "char LR")

    scores = per_text(train_x, oof)
    n_train = len(scores)
    in_train = sum(1 for t in scores if t in held_out)
    if in_train:
        log(f"note: {in_train} distinct training texts equal a validation or test text (kept: "
            f"they are OLID's own training rows)")
    if not args.no_pool:
        distinct = list(dict.fromkeys(pool))
        keep = [t for t in distinct if t not in scores and t not in held_out]
        dropped = sum(1 for t in distinct if t in held_out)
        log(f"pool: {len(pool)} tweets, {len(distinct)} distinct, {dropped} equal to a "
            f"validation or test text (dropped), {len(keep)} scored")
        for t, p in zip(keep, full.predict_proba(keep)):
            scores[t] = p
    write_scores(args.out, classes, scores)
    log(f"wrote {args.out}: {len(scores)} texts ({n_train} training, "
        f"{len(scores) - n_train} pool), {os.path.getsize(args.out)} bytes")
    if not args.use_lite:
        return

    # the USE lite member: an LR head on the embeddings, C on validation
    C_use, m_use, full_use = choose_c(make_use_head, USE_CS, e_train, ytr, e_valid, yv, classes,
                                      "USE lite LR")
    p_char_v = full.predict_proba(valid_x)
    p_use_v = full_use.predict_proba(e_valid)
    w, grid = choose_weight(p_char_v, p_use_v, yv, classes)
    for wi, mi in grid:
        log(f"average w={wi:.1f} (char LR weight): valid macro-F1 {mi['macro_f1']:.4f} "
            f"ROC AUC {mi['roc_auc']:.4f}")
    m_ens = dict(grid)[w]
    kind = {1.0: "the char LR alone", 0.0: "the USE lite LR alone"}.get(w, "an average")
    log(f"candidates (valid macro-F1 / ROC AUC, each the selection's own score): char LR C={C} "
        f"{m['macro_f1']:.4f} / {m['roc_auc']:.4f}; USE lite LR C={C_use} "
        f"{m_use['macro_f1']:.4f} / {m_use['roc_auc']:.4f}; average w={w:.1f} "
        f"{m_ens['macro_f1']:.4f} / {m_ens['roc_auc']:.4f}")
    log(f"chosen teacher: w={w:.1f} ({kind}), valid macro-F1 {m_ens['macro_f1']:.4f}, "
        f"ROC AUC {m_ens['roc_auc']:.4f}")

    oof_use = out_of_fold(make_use_head, C_use, e_train, ytr, len(classes), folds,
                          "USE lite LR")
    report_oof(oof_use, ytr, classes, "USE lite LR")
    oof_ens = blend(oof, oof_use, w)
    report_oof(oof_ens, ytr, classes, f"average w={w:.1f}")
    ens = per_text(train_x, oof_ens)
    n_train = len(ens)
    first = {}  # pool text -> its first line in the subset (its embedding row)
    for i, t in enumerate([] if args.no_pool else sub):
        first.setdefault(t, i)
    keep = [t for t in first if t not in ens and t not in held_out]
    dropped = sum(1 for t in first if t in held_out)
    if not args.no_pool:
        log(f"ensemble pool: the first {len(sub)} tweets, {len(first)} distinct, {dropped} equal "
            f"to a validation or test text (dropped), {len(keep)} scored")
    if keep:
        p_pool = blend(full.predict_proba(keep),
                       full_use.predict_proba(e_pool[[first[t] for t in keep]]), w)
        for t, p in zip(keep, p_pool):
            ens[t] = p
    write_scores(args.ensemble_out, classes, ens)
    log(f"wrote {args.ensemble_out}: {len(ens)} texts ({n_train} training, "
        f"{len(ens) - n_train} pool), {os.path.getsize(args.ensemble_out)} bytes")


if __name__ == "__main__":
    main()
