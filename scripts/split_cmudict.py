#!/usr/bin/env python3
"""Derived G2P files for `bytelite train` / `eval` from data/cmudict/{train,test}.tsv.

The raw files have no header; the derived ones start with the header "word<TAB>pronunciation".
  g2p_train.tsv: train.tsv minus the dev words, all pronunciations of each remaining word
  g2p_valid.tsv: the dev words: every 40th distinct word of train.tsv in byte order (2,671
                 words; the split examples/seq2seq_g2p uses)
  g2p_test.tsv:  test.tsv unchanged (12,000 words, 12,753 pronunciations)
Rows are grouped by word in byte order with each word's pronunciations in file order (the
order of examples/seq2seq_g2p's training pairs, so both sample the same batches).

Usage: scripts/split_cmudict.py [data/cmudict]
"""
import sys
from collections import OrderedDict

HEADER = b"word\tpronunciation\n"


def read(path):
    d = OrderedDict()
    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if b"\t" not in line:
                continue
            w, p = line.split(b"\t", 1)
            d.setdefault(w, []).append(p)
    return d


def write(path, rows):
    with open(path, "wb") as f:
        f.write(HEADER)
        for w, p in rows:
            f.write(w + b"\t" + p + b"\n")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "data/cmudict"
    train = read(root + "/train.tsv")
    fit, dev = [], []
    for i, w in enumerate(sorted(train)):
        (dev if i % 40 == 0 else fit).extend((w, p) for p in train[w])
    test = read(root + "/test.tsv")
    write(root + "/g2p_train.tsv", fit)
    write(root + "/g2p_valid.tsv", dev)
    write(root + "/g2p_test.tsv", [(w, p) for w in sorted(test) for p in test[w]])
    print("g2p_train.tsv %d pairs, g2p_valid.tsv %d pairs (%d words), g2p_test.tsv %d pairs"
          % (len(fit), len(dev), len({w for w, _ in dev}), sum(len(v) for v in test.values())))


if __name__ == "__main__":
    main()
