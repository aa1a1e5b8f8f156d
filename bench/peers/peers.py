#!/usr/bin/env python3
"""Peer benchmark driver (scripts/peers.sh runs it): fastText (.bin and quantized .ftz), char
n-gram TF-IDF + logistic regression and bytelite's shipped ByteQRNN recipes on OLID and Davidson
et al., with every choice made on validation data and the test set read once per reported number.

Usage: /usr/bin/python3 bench/peers/peers.py RUN_DIR [--bytelite BIN]

- fastText: hyperparameters chosen on validation (macro-F1 at the validation-chosen decision
  rule) from a small grid with seed 1; then the chosen setting is trained with seeds 1, 2, 3
  (1 thread: fastText is reproducible only then) and each model quantized
  (-qnorm -retrain -cutoff 50000).
- TF-IDF + LR: scikit-learn char_wb 2-5-grams, liblinear; C chosen on validation. One run: the
  fit is deterministic (convex problem, fixed random_state), so it has no seed spread.
- bytelite: RUN_DIR/bytelite/<data>/s<seed> trained by bench/peers/train_bytelite.sh; its int8
  model's test metrics come from `bytelite eval --model ... --json` (decision threshold stored in
  the model, chosen on validation during training); cross-dataset scores from `bytelite predict`.
- Decision rule, as bytelite's: binary (OLID) p(offensive) >= t with t maximising validation
  macro-F1 (midpoints between distinct scores, ties to the one nearest 0.5); three classes
  (Davidson) argmax.
- Cross-dataset check (ROC AUC, no threshold involved): OLID models on Davidson's test set,
  p(offensive) against offensive-or-hate vs neither; Davidson models on OLID's test set,
  p(hate) + p(offensive) against OLID's offensive label.

Every step caches its result under RUN_DIR, so a rerun skips what is done. Writes
RUN_DIR/peers.md and RUN_DIR/peers.json and prints the Markdown table.
"""
import argparse
import csv
import json
import os
import pickle
import platform
import subprocess
import sys
import time

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPLITS = {
    "olid": {"train": "data/olid/train.tsv", "valid": "data/olid/valid.tsv",
             "test": "data/olid/test.tsv"},
    "davidson": {"train": "data/davidson/train_fit.tsv", "valid": "data/davidson/valid.tsv",
                 "test": "data/davidson/test.tsv"},
}
OTHER = {"olid": "davidson", "davidson": "olid"}
SEEDS = (1, 2, 3)
# fastText: fixed settings (dim 50 and 200,000 hash buckets keep the .bin at about 45 MB; the
# fastText defaults are dim 100 and 2,000,000 buckets) and the grid searched on validation.
FT_FIXED = ["-dim", "50", "-bucket", "200000", "-thread", "1", "-verbose", "0"]
# 16 settings: lowercasing x char n-grams (none or 2-5) x word n-grams (1 or 2) x two
# (epochs, learning rate) pairs; a small grid because the machine is shared.
FT_GRID = [
    {"lower": lower, "chars": chars, "wordNgrams": wn, "epoch": ep, "lr": lr}
    for lower in (False, True) for chars in (None, [2, 5]) for wn in (1, 2)
    for ep, lr in ((5, 0.5), (25, 0.1))
]
FT_QUANT = ["-qnorm", "-retrain", "-cutoff", "50000"]
LR_CS = [1.0, 3.0, 10.0, 30.0, 100.0]


def log(msg):
    print(f"[peers {time.strftime('%H:%M:%S', time.gmtime())}] {msg}", flush=True)


def read_tsv(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if rows[0] != ["text", "label"]:
        sys.exit(f"peers: {path}: expected header text<TAB>label, found {rows[0]}")
    texts = [r[0] for r in rows[1:]]
    labels = [r[1] for r in rows[1:]]
    for t in texts:
        # one text per line for fastText and `bytelite predict`: a newline would shift every
        # later line (SOURCE.md: tabs, CRs and LFs were replaced by spaces; check it)
        if "\n" in t or "\r" in t:
            sys.exit(f"peers: {path}: a text contains a newline: {t[:60]!r}")
    return texts, labels


def load_data():
    data = {}
    for ds, sp in SPLITS.items():
        data[ds] = {k: read_tsv(p) for k, p in sp.items()}
        data[ds]["classes"] = sorted(set(data[ds]["train"][1]))
    return data


def y_index(labels, classes):
    m = {c: i for i, c in enumerate(classes)}
    return np.array([m[l] for l in labels])


def best_threshold(scores, y):
    """bytelite's core/metrics.cc rule: the midpoint between distinct sorted scores that
    maximises macro-F1 (ties: nearest 0.5); predicted positive iff score >= t."""
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], np.asarray(y)[order]
    pos = int(y.sum())
    neg = len(y) - pos
    tp = np.cumsum(y)
    fp = np.cumsum(1 - y)
    last = np.r_[s[1:] != s[:-1], False]  # last index of each run of equal scores, not the end
    idx = np.nonzero(last)[0]
    best, best_t = -1.0, 0.5
    for i in idx:
        t = 0.5 * (s[i] + s[i + 1])
        a, b = tp[i], fp[i]
        fn, tn = pos - a, neg - b
        f1p = 2 * a / (2 * a + b + fn) if a + b + fn else 0.0
        f1n = 2 * tn / (2 * tn + fn + b) if tn + fn + b else 0.0
        obj = 0.5 * (f1p + f1n)
        if obj > best + 1e-12 or (obj >= best - 1e-12 and abs(t - 0.5) < abs(best_t - 0.5)):
            best, best_t = max(obj, best), t
    return float(best_t)


def decide(probs, threshold):
    if probs.shape[1] == 2:
        return (probs[:, 1] >= threshold).astype(int)
    return probs.argmax(1)


def choose_rule(probs, y):
    """Decision threshold on validation (binary) or None (argmax)."""
    return best_threshold(probs[:, 1], y) if probs.shape[1] == 2 else None


def metrics(probs, y, classes, threshold):
    pred = decide(probs, threshold)
    out = {"macro_f1": float(f1_score(y, pred, average="macro", labels=range(len(classes))))}
    if probs.shape[1] == 2:
        out["roc_auc"] = float(roc_auc_score(y, probs[:, 1]))
    else:
        out["roc_auc"] = float(roc_auc_score(y, probs, multi_class="ovr", average="macro"))
        per = f1_score(y, pred, average=None, labels=range(len(classes)))
        out["hate_f1"] = float(per[classes.index("hate")])
    return out


def cross_scores(ds, probs, classes):
    """Score for the other dataset's binary question: OLID models p(offensive); Davidson
    models p(hate) + p(offensive)."""
    if ds == "olid":
        return probs[:, classes.index("offensive")]
    return probs[:, classes.index("hate")] + probs[:, classes.index("offensive")]


def cross_truth(other, data):
    labels = data[other]["test"][1]
    if other == "davidson":
        return np.array([l != "neither" for l in labels], dtype=int)
    return np.array([l == "offensive" for l in labels], dtype=int)


def save_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


# ---------------------------------------------------------------- fastText

def ft_text(t, lower):
    return t.lower() if lower else t


def ft_write(path, texts, labels, lower):
    with open(path, "w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write((f"__label__{labels[i]} " if labels is not None else "") + ft_text(t, lower)
                    + "\n")


def ft_args(cfg):
    a = ["-wordNgrams", str(cfg["wordNgrams"]), "-epoch", str(cfg["epoch"]), "-lr", str(cfg["lr"])]
    if cfg["chars"]:
        a += ["-minn", str(cfg["chars"][0]), "-maxn", str(cfg["chars"][1])]
    else:
        a += ["-minn", "0", "-maxn", "0"]
    return a


def ft_predict(model, text_file, classes, prior):
    out = subprocess.run(["fasttext", "predict-prob", model, text_file, "-1"], check=True,
                         capture_output=True, text=True).stdout.split("\n")
    n = sum(1 for _ in open(text_file, encoding="utf-8"))
    probs = np.zeros((n, len(classes)))
    empty = 0
    for i in range(n):
        toks = out[i].split()
        if not toks:  # fastText outputs an empty line for a text with no known token
            probs[i] = prior
            empty += 1
            continue
        for lab, p in zip(toks[0::2], toks[1::2]):
            probs[i, classes.index(lab[len("__label__"):])] = float(p)
    # printed with 6 significant digits (and a label under 1e-5 may be left out): renormalise
    probs /= probs.sum(1, keepdims=True)
    return probs, empty


def ft_files(work, ds, data, lower):
    """Training file and text-only files (valid, test, the other dataset's test)."""
    tag = "lower" if lower else "cased"
    files = {}
    d = data[ds]
    files["train"] = os.path.join(work, f"train_{tag}.txt")
    if not os.path.exists(files["train"]):
        ft_write(files["train"], *d["train"], lower)
    for name, texts in (("valid", d["valid"][0]), ("test", d["test"][0]),
                        ("cross", data[OTHER[ds]]["test"][0])):
        files[name] = os.path.join(work, f"{name}_{tag}.txt")
        if not os.path.exists(files[name]):
            ft_write(files[name], texts, None, lower)
    return files


def run_fasttext(run_dir, data):
    results = {}
    for ds in SPLITS:
        work = os.path.join(run_dir, "fasttext", ds)
        os.makedirs(work, exist_ok=True)
        d = data[ds]
        classes = d["classes"]
        yv = y_index(d["valid"][1], classes)
        ytr = y_index(d["train"][1], classes)
        prior = np.bincount(ytr, minlength=len(classes)) / len(ytr)
        grid_path = os.path.join(work, "grid.json")
        grid = json.load(open(grid_path)) if os.path.exists(grid_path) else []
        cfgs = FT_GRID
        t0 = time.time()
        done_before = len(grid)
        for i, cfg in enumerate(cfgs):
            if any(g["cfg"] == cfg for g in grid):
                continue
            files = ft_files(work, ds, data, cfg["lower"])
            out = os.path.join(work, "grid_model")
            subprocess.run(["nice", "-n", "10", "fasttext", "supervised", "-input", files["train"],
                            "-output", out, "-seed", "1"] + FT_FIXED + ft_args(cfg), check=True)
            pv, _ = ft_predict(out + ".bin", files["valid"], classes, prior)
            t = choose_rule(pv, yv)
            m = metrics(pv, yv, classes, t)
            grid.append({"cfg": cfg, "valid": m})
            save_json(grid_path, grid)
            os.remove(out + ".bin")
            done = len(grid) - done_before
            rate = (time.time() - t0) / done
            log(f"fastText {ds} grid {len(grid)}/{len(cfgs)} {cfg}: valid macro-F1 "
                f"{m['macro_f1']:.4f}; {rate:.1f} s/config, ETA "
                f"{(len(cfgs) - len(grid)) * rate / 60:.1f} min")
        grid = [g for c in cfgs for g in grid if g["cfg"] == c]  # grid order, this grid only
        best = max(grid, key=lambda g: g["valid"]["macro_f1"])  # first of equals: grid order
        cfg = best["cfg"]
        log(f"fastText {ds}: chosen on validation {cfg} (valid macro-F1 "
            f"{best['valid']['macro_f1']:.4f})")
        files = ft_files(work, ds, data, cfg["lower"])
        runs = {"bin": [], "ftz": []}
        for seed in SEEDS:
            sd = os.path.join(work, f"s{seed}")
            res_path = os.path.join(sd, "result.json")
            if os.path.exists(res_path) and json.load(open(res_path))["cfg"] == cfg:
                res = json.load(open(res_path))
            else:
                os.makedirs(sd, exist_ok=True)
                model = os.path.join(sd, "model")
                t1 = time.time()
                subprocess.run(["nice", "-n", "10", "fasttext", "supervised", "-input",
                                files["train"], "-output", model, "-seed", str(seed)] + FT_FIXED
                               + ft_args(cfg), check=True)
                t_train = time.time() - t1
                t1 = time.time()
                subprocess.run(["nice", "-n", "10", "fasttext", "quantize", "-input",
                                files["train"], "-output", model, "-seed", str(seed),
                                "-epoch", str(cfg["epoch"]), "-lr", str(cfg["lr"]),
                                "-thread", "1", "-verbose", "0"] + FT_QUANT, check=True)
                t_quant = time.time() - t1
                res = {"cfg": cfg, "seed": seed, "bin": None, "ftz": None}
                for kind in ("bin", "ftz"):
                    f = f"{model}.{kind}"
                    pv, _ = ft_predict(f, files["valid"], classes, prior)
                    thr = choose_rule(pv, yv)
                    pt, empty = ft_predict(f, files["test"], classes, prior)  # the one test read
                    pc, _ = ft_predict(f, files["cross"], classes, prior)
                    yt = y_index(d["test"][1], classes)
                    m = metrics(pt, yt, classes, thr)
                    m["threshold"] = thr
                    m["valid"] = metrics(pv, yv, classes, thr)["macro_f1"]
                    m["cross_roc_auc"] = float(roc_auc_score(cross_truth(OTHER[ds], data),
                                                             cross_scores(ds, pc, classes)))
                    m["bytes"] = os.path.getsize(f)
                    m["train_seconds"] = t_train if kind == "bin" else t_train + t_quant
                    m["test_texts_without_known_token"] = empty
                    m["seed"] = seed
                    res[kind] = m
                    np.save(os.path.join(sd, f"test_probs_{kind}.npy"), pt)
                save_json(res_path, res)
                log(f"fastText {ds} seed {seed}: test macro-F1 .bin {res['bin']['macro_f1']:.4f}"
                    f", .ftz {res['ftz']['macro_f1']:.4f} (train {t_train:.0f} s, quantize "
                    f"{t_quant:.0f} s)")
            runs["bin"].append(res["bin"])
            runs["ftz"].append(res["ftz"])
        results[ds] = {"fasttext": {"cfg": cfg, "grid_size": len(cfgs), "runs": runs["bin"]},
                       "fasttext_ftz": {"cfg": cfg, "runs": runs["ftz"]}}
    return results


# ---------------------------------------------------------------- TF-IDF + LR

def run_lr(run_dir, data):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    results = {}
    for ds in SPLITS:
        work = os.path.join(run_dir, "tfidf_lr", ds)
        os.makedirs(work, exist_ok=True)
        res_path = os.path.join(work, "result.json")
        if os.path.exists(res_path):
            res = json.load(open(res_path))
            if [g["C"] for g in res["grid"]] == LR_CS:
                results[ds] = {"tfidf_lr": res}
                continue
        d = data[ds]
        classes = d["classes"]
        yv = y_index(d["valid"][1], classes)
        t0 = time.time()
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=True,
                              sublinear_tf=True, min_df=2, dtype=np.float32)
        X = vec.fit_transform(d["train"][0])
        t_vec = time.time() - t0
        Xv = vec.transform(d["valid"][0])
        grid = []
        best = None
        for C in LR_CS:
            t1 = time.time()
            clf = LogisticRegression(C=C, solver="liblinear", max_iter=1000, random_state=0)
            clf.fit(X, d["train"][1])
            t_fit = time.time() - t1
            assert list(clf.classes_) == classes
            pv = clf.predict_proba(Xv)
            thr = choose_rule(pv, yv)
            m = metrics(pv, yv, classes, thr)
            grid.append({"C": C, "valid": m, "fit_seconds": t_fit})
            log(f"TF-IDF+LR {ds} C={C}: valid macro-F1 {m['macro_f1']:.4f} (fit {t_fit:.0f} s)")
            if best is None or m["macro_f1"] > best[0]:
                best = (m["macro_f1"], C, clf, thr, t_fit)
        _, C, clf, thr, t_fit = best
        pt = clf.predict_proba(vec.transform(d["test"][0]))  # the one test read
        pc = clf.predict_proba(vec.transform(data[OTHER[ds]]["test"][0]))
        yt = y_index(d["test"][1], classes)
        m = metrics(pt, yt, classes, thr)
        m["threshold"] = thr
        m["valid"] = best[0]
        m["cross_roc_auc"] = float(roc_auc_score(cross_truth(OTHER[ds], data),
                                                 cross_scores(ds, pc, classes)))
        vec.stop_words_ = None  # the pruned n-grams: not needed to predict
        path = os.path.join(work, "model.pkl")
        with open(path, "wb") as f:
            pickle.dump((vec, clf, thr), f, protocol=pickle.HIGHEST_PROTOCOL)
        m["bytes"] = os.path.getsize(path)
        m["train_seconds"] = t_vec + t_fit
        np.save(os.path.join(work, "test_probs.npy"), pt)
        res = {"C": C, "grid": grid, "features": X.shape[1], "runs": [m],
               "note": "deterministic: liblinear on a convex problem with random_state=0; one run"}
        save_json(res_path, res)
        log(f"TF-IDF+LR {ds}: chosen C={C}; test macro-F1 {m['macro_f1']:.4f}")
        results[ds] = {"tfidf_lr": res}
    return results


# ---------------------------------------------------------------- bytelite

# the shipped recipe per dataset (the same file tells train_bytelite.sh what to train)
RECIPES = dict(l.rstrip("\n").split("\t") for l in open(os.path.join(ROOT, "bench", "peers", "recipes.tsv"))
               if l.strip() and not l.startswith("#"))

def run_bytelite(run_dir, data, binary):
    results = {}
    tdir = os.path.join(run_dir, "texts")
    os.makedirs(tdir, exist_ok=True)
    for ds in SPLITS:
        p = os.path.join(tdir, f"{ds}_test.txt")
        if not os.path.exists(p):
            with open(p, "w", encoding="utf-8", newline="\n") as f:
                for t in data[ds]["test"][0]:
                    f.write(t + "\n")
    for ds in SPLITS:
        runs = []
        classes = data[ds]["classes"]
        for seed in SEEDS:
            rd = os.path.join(run_dir, "bytelite", ds, f"s{seed}")
            need = [os.path.join(rd, f) for f in ("summary.json", "model.blt",
                                                   "test_metrics_int8.json")]
            if not all(os.path.exists(f) for f in need):
                log(f"bytelite {ds} seed {seed}: not trained yet ({rd}); left out")
                continue
            s = json.load(open(need[0]))
            t = json.load(open(need[2]))
            if t["examples"] != len(data[ds]["test"][0]):
                sys.exit(f"peers: {need[2]}: {t['examples']} examples, expected test set")
            m = {"macro_f1": t["macro_f1"], "roc_auc": t["roc_auc"],
                 "threshold": t.get("thresholds"), "valid": s["best_valid_metric"],
                 "bytes": os.path.getsize(need[1]), "train_seconds": s["train_seconds"],
                 "threads": s["threads"], "seed": seed}
            if ds == "davidson":
                m["hate_f1"] = next(x["f1"] for x in t["per_label"] if x["name"] == "hate")
            cross_path = os.path.join(rd, f"predict_{OTHER[ds]}_test.jsonl")
            if not os.path.exists(cross_path):
                subprocess.run([binary, "predict", "--model", need[1], "--input",
                                os.path.join(tdir, f"{OTHER[ds]}_test.txt"), "--threads", "1",
                                "--output", cross_path + ".tmp"], check=True)
                os.replace(cross_path + ".tmp", cross_path)
            lines = [json.loads(l) for l in open(cross_path)]
            if len(lines) != len(data[OTHER[ds]]["test"][0]):
                sys.exit(f"peers: {cross_path}: {len(lines)} lines, expected "
                         f"{len(data[OTHER[ds]]['test'][0])}")
            pc = np.array([[l["scores"][c] for c in classes] for l in lines])
            m["cross_roc_auc"] = float(roc_auc_score(cross_truth(OTHER[ds], data),
                                                     cross_scores(ds, pc, classes)))
            runs.append(m)
        results[ds] = {"bytelite": {"config": RECIPES[ds], "runs": runs}}
    return results


# ---------------------------------------------------------------- USE lite (optional)

def use_lite(run_dir, data):
    """Reads bench/peers/use_lite/probs (made by bench/peers/use_lite/run.sh) when present."""
    results = {}
    for ds in SPLITS:
        p = os.path.join(ROOT, "bench", "peers", "use_lite", "probs", f"{ds}_result.json")
        if os.path.exists(p):
            results[ds] = {"use_lite_lr": json.load(open(p))}
    return results


# ---------------------------------------------------------------- table

NAMES = {
    "bytelite": "bytelite ByteQRNN QAT, int8 (`{recipe}`)",
    "fasttext": "fastText `.bin`",
    "fasttext_ftz": "fastText `.ftz` (quantized)",
    "tfidf_lr": "char 2-5-gram TF-IDF + LR",
    "use_lite_lr": "USE lite embeddings + LR (pretrained anchor; time: the LR head only)",
}


def spread(vals, fmt="{:.3f}"):
    if not vals:
        return "-"
    if len(vals) == 1:
        return fmt.format(vals[0]) + " (1 run)"
    return f"{fmt.format(np.mean(vals))} [{fmt.format(min(vals))}, {fmt.format(max(vals))}]"


def size_str(b):
    return f"{b / 1e6:.2f} MB" if b >= 1e6 else f"{b / 1e3:.0f} kB"


def table(results):
    lines = []
    for ds in SPLITS:
        other = OTHER[ds]
        cross = ("Davidson test: offensive-or-hate vs neither, p(offensive)" if ds == "olid" else
                 "OLID test: offensive, p(hate)+p(offensive)")
        hate = " hate F1 |" if ds == "davidson" else ""
        lines.append(f"**{'OLID' if ds == 'olid' else 'Davidson et al.'}** "
                     f"(test: {len(DATA[ds]['test'][0]):,} tweets)\n")
        lines.append(f"| model | runs | test macro-F1 | test ROC AUC |{hate} cross-dataset ROC AUC "
                     f"({cross}) | model file | training time |")
        lines.append("|---|---|---|---|" + ("---|" if hate else "") + "---|---|---|")
        for key in ("bytelite", "fasttext", "fasttext_ftz", "tfidf_lr", "use_lite_lr"):
            if key not in results[ds]:
                continue
            runs = results[ds][key]["runs"]
            if not runs:
                lines.append(f"| {NAMES[key].format(recipe=RECIPES[ds])} | 0 (not trained yet) |" +
                             " - |" * (6 if hate else 5))
                continue
            n = len(runs)
            if key in ("tfidf_lr", "use_lite_lr"):
                nr = "1 (deterministic)"
            elif n == len(SEEDS):
                nr = f"{n} seeds"
            else:
                seeds = [r.get("seed", i + 1) for i, r in enumerate(runs)]
                nr = (f"{n} of {len(SEEDS)} seeds (seed{'s' if n > 1 else ''} "
                      f"{', '.join(map(str, seeds))}; the others not trained yet)")
            row = [NAMES[key].format(recipe=RECIPES[ds]), nr,
                   spread([r["macro_f1"] for r in runs]), spread([r["roc_auc"] for r in runs])]
            if hate:
                row.append(spread([r["hate_f1"] for r in runs]))
            row.append(spread([r["cross_roc_auc"] for r in runs]))
            sizes = sorted({r["bytes"] for r in runs})
            row.append(size_str(np.mean(sizes)) if sizes else "-")
            ts = [r["train_seconds"] for r in runs if r.get("train_seconds") is not None]
            row.append(f"{np.mean(ts) / 60:.1f} min" if ts and np.mean(ts) >= 60 else
                       (f"{np.mean(ts):.0f} s" if ts else "-"))
            lines.append("| " + " | ".join(row).replace(" (1 run)", "") + " |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


DATA = None


def main():
    global DATA
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--bytelite", default=os.path.join(ROOT, "build", "bytelite"))
    ap.add_argument("--skip", default="", help="comma list of fasttext,lr,bytelite to skip")
    args = ap.parse_args()
    run_dir = os.path.abspath(args.run_dir)
    os.makedirs(run_dir, exist_ok=True)
    skip = set(filter(None, args.skip.split(",")))
    DATA = load_data()
    results = {ds: {} for ds in SPLITS}
    parts = []
    if "bytelite" not in skip:
        parts.append(lambda: run_bytelite(run_dir, DATA, args.bytelite))
    if "lr" not in skip:
        parts.append(lambda: run_lr(run_dir, DATA))
    if "fasttext" not in skip:
        parts.append(lambda: run_fasttext(run_dir, DATA))
    parts.append(lambda: use_lite(run_dir, DATA))
    for part in parts:
        for ds, r in part().items():
            results[ds].update(r)
    md = table(results)
    cpu = platform.processor() or platform.machine()
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                cpu = l.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    foot = (f"Machine: {cpu}, {os.cpu_count()} cores shared with other jobs; every training on "
            "1 thread (wall-clock times, so only roughly comparable). Mean [min, max] over seeds "
            "1-3; every choice (hyperparameters, checkpoint, decision threshold) made on "
            "validation data; each test set read once per model. fastText `.ftz` time: training "
            "plus quantization with retraining. USE lite: 28 MB of pretrained weights (not "
            "trained here) plus the LR head; its embeddings cost about 55-230 ms per tweet on one "
            "shared core (bench/peers/use_lite/run.sh).\n")
    md = md + "\n" + foot
    with open(os.path.join(run_dir, "peers.md"), "w") as f:
        f.write(md)
    save_json(os.path.join(run_dir, "peers.json"), {"results": results, "machine": cpu})
    print(md)


if __name__ == "__main__":
    main()
