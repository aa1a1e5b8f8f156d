#!/usr/bin/env python3
"""Deterministic validation split of a labelled TSV (header + rows): every 10th data row
(rows 10, 20, ... counting from 1) goes to the validation file, the others to the fit file.
Used for Davidson et al., which has no official validation split:
  python3 scripts/split_valid.py data/davidson/train.tsv data/davidson/train_fit.tsv \
      data/davidson/valid.tsv
"""
import sys


def main(src, fit_path, valid_path):
    with open(src, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header, rows = lines[0], lines[1:]
    fit = [r for i, r in enumerate(rows, 1) if i % 10 != 0]
    valid = [r for i, r in enumerate(rows, 1) if i % 10 == 0]
    for path, part in ((fit_path, fit), (valid_path, valid)):
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write("\n".join([header] + part) + "\n")
    print(f"{src}: {len(fit)} fit rows -> {fit_path}, {len(valid)} validation rows -> {valid_path}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: split_valid.py SRC.tsv FIT.tsv VALID.tsv")
    main(*sys.argv[1:])
