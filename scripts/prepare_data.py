#!/usr/bin/env python3
"""Builds data/olid and data/davidson (TSV, columns "text<TAB>label") from shared/data.

Usage: python3 scripts/prepare_data.py [SHARED_DATA_DIR] [--out DATA_DIR]

SHARED_DATA_DIR defaults to ../shared/data relative to the repository root; DATA_DIR defaults to
data/ in the repository. Python 3 standard library only. The output is deterministic: rerunning
the script rewrites byte-identical files (including each folder's SOURCE.md, which records the
counts and SHA-256 of the files).

 - data/olid/{train,valid,test}.tsv from tweeteval_offensive/{train,val,test}_{text,labels}.txt;
   labels are the names in mapping.txt ("not-offensive", "offensive").
 - data/davidson/{train,test}.tsv from davidson_hate_offensive/labeled_data.csv, split by
   split_davidson2017_rs42.tsv (the authors' notebook holdout); labels "hate", "offensive",
   "neither". The upstream MIT LICENSE is copied to data/davidson/LICENSE.

TSV has no quoting, so a tab, CR or LF inside a text is replaced by one space (counted and
recorded in SOURCE.md). Row and class counts are checked against the numbers published in the
shared SOURCE.md files; any mismatch stops the script with an error.
"""

import argparse
import collections
import csv
import hashlib
import os
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Counts stated in shared/data/tweeteval_offensive/SOURCE.md.
OLID_EXPECTED = {
    "train": {"not-offensive": 7975, "offensive": 3941},
    "valid": {"not-offensive": 865, "offensive": 459},
    "test": {"not-offensive": 620, "offensive": 240},
}
# Counts stated in shared/data/davidson_hate_offensive/SOURCE.md: 24,783 rows, classes
# 1,430 / 19,190 / 4,163; split train 22,304 / test 2,479 with test classes 164 / 1,905 / 410.
DAVIDSON_EXPECTED = {
    "train": {"hate": 1430 - 164, "offensive": 19190 - 1905, "neither": 4163 - 410},
    "test": {"hate": 164, "offensive": 1905, "neither": 410},
}
DAVIDSON_CLASSES = {"0": "hate", "1": "offensive", "2": "neither"}
DAVIDSON_EMBEDDED_NEWLINES = 917  # shared SOURCE.md: tweets with newlines inside quoted fields

# Texts are handled as str decoded with surrogateescape, so any byte survives unchanged.
ENC = {"encoding": "utf-8", "errors": "surrogateescape"}


def fail(msg):
    sys.exit("prepare_data: error: " + msg)


def read_lines(path):
    """Lines of a text file split on LF only (str.splitlines would also split on U+2028 etc.)."""
    with open(path, "rb") as f:
        data = f.read()
    if data.endswith(b"\n"):
        data = data[:-1]
    return [line.decode(**ENC) for line in data.split(b"\n")]


def clean(text, stats):
    """Replaces tab, CR and LF (a CRLF pair counts as one) with a space; counts changed texts."""
    if "\n" in text or "\r" in text:
        stats["newline"] += 1
    out = text.replace("\r\n", " ")
    for ch, name in (("\t", "tab"), ("\r", "cr"), ("\n", "lf")):
        if ch in out:
            stats[name] += 1
        out = out.replace(ch, " ")
    if "\r\n" in text:
        stats["crlf"] += 1
    if out != text:
        stats["changed"] += 1
    return out


def write_tsv(path, rows):
    with open(path, "w", newline="", **ENC) as f:
        f.write("text\tlabel\n")
        for text, label in rows:
            f.write(text + "\t" + label + "\n")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check_counts(dataset, split, rows, expected):
    counts = collections.Counter(label for _, label in rows)
    got = {k: counts.get(k, 0) for k in expected}
    if dict(counts) != got or got != expected:
        fail(f"{dataset}/{split}: expected class counts {expected}, found {dict(counts)}")
    print(f"{dataset}/{split}.tsv: {len(rows)} rows, " +
          ", ".join(f"{k} {v}" for k, v in expected.items()))
    return counts


def table(out_dir, splits, class_order, counts):
    lines = ["| file | rows | " + " | ".join(class_order) + " | SHA-256 |",
             "|---|---|" + "---|" * len(class_order) + "---|"]
    for split in splits:
        path = os.path.join(out_dir, split + ".tsv")
        c = counts[split]
        lines.append(f"| {split}.tsv | {sum(c.values()):,} | " +
                     " | ".join(f"{c[k]:,}" for k in class_order) +
                     f" | `{sha256(path)[:16]}` |")
    return "\n".join(lines)


def build_olid(src, out):
    src = os.path.join(src, "tweeteval_offensive")
    os.makedirs(out, exist_ok=True)
    mapping = {}
    for line in read_lines(os.path.join(src, "mapping.txt")):
        key, name = line.split("\t")
        mapping[key.strip()] = name.strip()
    if mapping != {"0": "not-offensive", "1": "offensive"}:
        fail("tweeteval_offensive/mapping.txt: expected 0 not-offensive, 1 offensive, "
             f"found {mapping}")
    stats = collections.Counter()
    counts = {}
    for split, upstream in (("train", "train"), ("valid", "val"), ("test", "test")):
        texts = read_lines(os.path.join(src, upstream + "_text.txt"))
        labels = read_lines(os.path.join(src, upstream + "_labels.txt"))
        if len(texts) != len(labels):
            fail(f"{upstream}: {len(texts)} texts but {len(labels)} labels")
        rows = []
        for i, (text, label) in enumerate(zip(texts, labels)):
            if label.strip() not in mapping:
                fail(f"{upstream}_labels.txt:{i + 1}: expected 0 or 1, found {label!r}")
            rows.append((clean(text, stats), mapping[label.strip()]))
        write_tsv(os.path.join(out, split + ".tsv"), rows)
        counts[split] = check_counts("olid", split, rows, OLID_EXPECTED[split])
    print(f"olid: texts changed by tab/CR/LF replacement: {stats['changed']}")
    write_olid_source(out, counts, stats)


def build_davidson(src, out):
    src = os.path.join(src, "davidson_hate_offensive")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(src, "labeled_data.csv"), newline="", **ENC) as f:
        reader = csv.reader(f)
        header = next(reader)
        data = list(reader)
    want = ["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"]
    if header != want:
        fail(f"labeled_data.csv: expected header {want}, found {header}")
    if len(data) != 24783:
        fail(f"labeled_data.csv: expected 24783 rows, found {len(data)}")
    with open(os.path.join(src, "split_davidson2017_rs42.tsv"), newline="", **ENC) as f:
        split_rows = list(csv.reader(f, delimiter="\t"))
    if split_rows[0] != ["row", "unnamed_id", "split"] or len(split_rows) - 1 != len(data):
        fail("split_davidson2017_rs42.tsv: expected header row/unnamed_id/split and one line "
             "per CSV row")
    split_of = {}
    for row, unnamed_id, split in split_rows[1:]:
        r = int(row)
        if data[r][0] != unnamed_id:
            fail(f"split row {row}: expected unnamed_id {data[r][0]}, found {unnamed_id}")
        split_of[r] = split
    stats = collections.Counter()
    out_rows = {"train": [], "test": []}
    for r, fields in enumerate(data):
        label = DAVIDSON_CLASSES.get(fields[5])
        if label is None:
            fail(f"labeled_data.csv row {r}: expected class 0, 1 or 2, found {fields[5]!r}")
        out_rows[split_of[r]].append((clean(fields[6], stats), label))
    if stats["newline"] != DAVIDSON_EMBEDDED_NEWLINES:
        fail(f"davidson: expected {DAVIDSON_EMBEDDED_NEWLINES} tweets with embedded newlines, "
             f"found {stats['newline']}")
    counts = {}
    for split in ("train", "test"):
        write_tsv(os.path.join(out, split + ".tsv"), out_rows[split])
        counts[split] = check_counts("davidson", split, out_rows[split], DAVIDSON_EXPECTED[split])
    print(f"davidson: texts changed by tab/CR/LF replacement: {stats['changed']} "
          f"(LF {stats['lf']}, CR {stats['cr']}, tab {stats['tab']})")
    shutil.copyfile(os.path.join(src, "LICENSE_upstream"), os.path.join(out, "LICENSE"))
    write_davidson_source(out, counts, stats)


OLID_SOURCE = """\
# data/olid — OLID / OffensEval-2019 subtask A (as packaged by TweetEval)

Binary offensive-language classification of English tweets. Copied from the project's
`shared/data/tweeteval_offensive` (see "How these files were built"); no row was added, dropped or
reordered.

- Origin: GitHub `cardiffnlp/tweeteval`, path `datasets/offensive/`, commit
  `4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66`.
- Underlying dataset: OLID (Zampieri et al., NAACL 2019, "Predicting the Type and Target of
  Offensive Posts in Social Media"), used in SemEval-2019 Task 6 (OffensEval) subtask A. TweetEval
  carved a validation split out of the OLID train set.
- License: TweetEval "is released without any restrictions but restrictions may apply to
  individual tasks ... We refer users to the original licenses accompanying each dataset and
  Twitter regulations" (repo README). The OLID license itself is not stated there (check the
  OLID/OffensEval release before any redistribution). Tweets are user-generated Twitter content;
  user mentions are already anonymised as `@user`. Treat as research-use data.
- Content warning: offensive language.

## Files and columns

TSV, UTF-8, LF line ends, header `text<TAB>label`, one tweet per row. No quoting: a `"` is an
ordinary character (read with quoting off, e.g. Python `csv.QUOTE_NONE`).
- `text`: the tweet exactly as in TweetEval (raw, no preprocessing, emoji present; trailing spaces
  kept).
- `label`: `not-offensive` or `offensive` (names from TweetEval's `mapping.txt`: 0 and 1). Inferred
  class order is lexicographic, so `not-offensive` = index 0 and `offensive` = index 1 (the
  positive class for binary metrics).

{table}

`valid.tsv` is TweetEval's `val` split; `test.tsv` is the official OffensEval-2019 test set.
Texts containing a tab, CR or LF (replaced by a space, see below): {changed}.

## Official metric and published baselines (test set, macro-F1 x100)

From the TweetEval README leaderboard at the commit above (Barbieri et al., Findings of EMNLP
2020, arXiv:2010.12421):

| model | offensive macro-F1 |
|---|---|
| TimeLMs-2021 (Loureiro et al. 2022) | 82.2 |
| RoBERTa-Retrained on Twitter (TweetEval paper) | 80.5 |
| RoBERTa-Base | 79.5 |
| BERTweet (Nguyen et al. 2020) | 79.5 |
| RoBERTa-Twitter (from scratch) | 77.1 |
| **FastText** | **73.4** |
| **LSTM** | **71.7** |
| **SVM** | **52.3** |

Macro-average F1 over both classes (TweetEval's `evaluation_script.py`). ROC AUC can also be
computed (no published AUC baseline).

## How these files were built

`python3 scripts/prepare_data.py` (Python standard library only) from
`shared/data/tweeteval_offensive/{{train,val,test}}_text.txt` and `..._labels.txt`: line i of the
text file and line i of the label file make row i (files split on LF only); the label digit is
mapped through `mapping.txt`; a tab, CR or LF inside a tweet would be replaced by one space (TSV
has no quoting) — {changed} tweets needed it. The script checks that the row and class counts
equal those in the shared SOURCE.md (train 7,975 / 3,941; val 865 / 459; test 620 / 240) and stops
otherwise. Rerunning it rewrites byte-identical files (SHA-256 prefixes above).
"""

DAVIDSON_SOURCE = """\
# data/davidson — "Automated Hate Speech Detection and the Problem of Offensive Language"

Three-class tweet classification (hate speech / offensive / neither), Davidson et al., ICWSM
2017. Copied from the project's `shared/data/davidson_hate_offensive` (see "How these files were
built"), split into the authors' train/test holdout.

- Origin: GitHub `t-davidson/hate-speech-and-offensive-language`, path `data/labeled_data.csv`,
  commit `cb50f7e9eb855a99abc51423bf40df0e26d6fe30`.
- License: the repository is MIT ("Copyright (c) 2017 Tom Davidson"), copied here as `LICENSE`;
  tweets are Twitter user content. The authors ask users to cite the paper.
- Content warning: racist, sexist, homophobic and otherwise offensive content (per the upstream
  README).

## Files and columns

TSV, UTF-8, LF line ends, header `text<TAB>label`, rows in the upstream order. No quoting: many
tweets start with `"`, an ordinary character here (read with quoting off, e.g. Python
`csv.QUOTE_NONE`).
- `text`: the `tweet` column of `labeled_data.csv` (HTML entities such as `&amp;` kept as they
  are), with each tab, CR or LF replaced by one space.
- `label`: the majority class `class` as a name: `0` -> `hate`, `1` -> `offensive`, `2` ->
  `neither`. Note: classes inferred from the file are sorted lexicographically, which gives
  index 0 `hate`, 1 `neither`, 2 `offensive` (not the upstream 0/1/2 order); pass the label names
  explicitly to get another order. The annotator vote counts are not copied.

{table}

All: 24,783 rows; hate 1,430 (5.8%), offensive 19,190 (77.4%), neither 4,163 (16.8%).
Tweets with embedded newlines (replaced by spaces): {newline} (shared SOURCE.md: 917); of these
with a CR: {cr}; tweets with tabs: {tab}.

## Split

No official split exists. The shared `split_davidson2017_rs42.tsv` reproduces the authors' notebook
holdout: `sklearn.train_test_split(X, y, random_state=42, test_size=0.1)`, i.e. the first
ceil(0.1 N) = 2,479 indices of `numpy.random.RandomState(42).permutation(24783)` are the test set.
Its test class counts 164 / 1,905 / 410 match the support printed in the authors' notebook.

## Published baseline (from the notebook output in the upstream repository)

Logistic regression (L1 feature selection + L2 LR, class_weight=balanced; TF-IDF word 1-3-grams +
POS + readability/sentiment features), on the 10% holdout above (= `test.tsv`):

| class | precision | recall | F1 | support |
|---|---|---|---|---|
| hate | 0.44 | 0.59 | 0.51 | 164 |
| offensive | 0.96 | 0.91 | 0.93 | 1905 |
| neither | 0.83 | 0.94 | 0.88 | 410 |
| weighted avg | 0.91 | 0.89 | 0.90 | 2479 |

## How these files were built

`python3 scripts/prepare_data.py` (Python standard library only) from
`shared/data/davidson_hate_offensive/labeled_data.csv` (read with Python's `csv` module, so quoted
fields with embedded newlines are parsed correctly) and `split_davidson2017_rs42.tsv` (each row's
`unnamed_id` is checked against the CSV's first column). Each tweet's tabs, CRs and LFs become one
space each (a CRLF pair one space); {changed} tweets changed. The script checks the row and class
counts against the shared SOURCE.md (train 22,304 = 1,266 / 17,285 / 3,753; test 2,479 = 164 /
1,905 / 410) and stops otherwise, and copies `LICENSE_upstream` to `LICENSE`. Rerunning it
rewrites byte-identical files (SHA-256 prefixes above).
"""


def write_olid_source(out, counts, stats):
    text = OLID_SOURCE.format(
        table=table(out, ["train", "valid", "test"], ["not-offensive", "offensive"], counts),
        changed=stats["changed"])
    with open(os.path.join(out, "SOURCE.md"), "w", encoding="utf-8", newline="") as f:
        f.write(text)


def write_davidson_source(out, counts, stats):
    text = DAVIDSON_SOURCE.format(
        table=table(out, ["train", "test"], ["hate", "offensive", "neither"], counts),
        changed=stats["changed"], newline=stats["newline"], cr=stats["cr"], tab=stats["tab"])
    with open(os.path.join(out, "SOURCE.md"), "w", encoding="utf-8", newline="") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description="Builds data/olid and data/davidson from shared/data.")
    ap.add_argument("shared", nargs="?", default=os.path.join(REPO, "..", "shared", "data"),
                    help="shared data directory (default: ../shared/data next to the repository)")
    ap.add_argument("--out", default=os.path.join(REPO, "data"), help="output data directory")
    args = ap.parse_args()
    if not os.path.isdir(args.shared):
        fail(f"expected the shared data directory at {args.shared}, found nothing")
    build_olid(args.shared, os.path.join(args.out, "olid"))
    build_davidson(args.shared, os.path.join(args.out, "davidson"))


if __name__ == "__main__":
    main()
