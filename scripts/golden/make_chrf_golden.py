#!/usr/bin/python3
"""Writes tests/golden/chrf_golden.json: fixed (hypothesis, references) cases with their chrF
values, and corpus scores (chrF, G2P WER, PER, exact match) of a few subsets of the cases.

tests/test_seq2seq_metrics.cc reads the file and checks src/core/seq2seq_metrics.cc against it
(within 1e-9). Standard library only; run with Debian's python3:

    /usr/bin/python3 scripts/golden/make_chrf_golden.py [--out tests/golden/chrf_golden.json]

This is an independent implementation written from the definitions (not sacrebleu's code), in
exact rational arithmetic (fractions.Fraction), converted to float only at the end:

chrF (Popovic 2015), as sacrebleu 2.x CHRF() with its defaults (char_order=6, word_order=0,
beta=2, case-sensitive, whitespace removed, no eps smoothing):
  - characters: the UTF-8 bytes decoded with errors="surrogateescape" (an invalid byte is one
    character U+DC00+byte), whitespace removed with "".join(s.split());
  - for n = 1..6: hyp_n = number of hypothesis n-grams, ref_n = number of reference n-grams,
    match_n = sum over n-grams g of min(count_hyp(g), count_ref(g)); hyp_n is recorded as 0 when
    the reference has no n-grams of order n (sacrebleu does not count hypothesis n-grams there);
  - "effective order": only orders with hyp_n > 0 and ref_n > 0 take part; P and R are the
    means of match_n / hyp_n and match_n / ref_n over them; F = (1 + b^2) P R / (b^2 P + R) with
    b = 2, times 100; 0 when no order takes part or P + R = 0;
  - sentence chrF: F of one pair's statistics; several references: the reference with the
    highest sentence chrF (the first one on equal scores) supplies the source's statistics;
  - corpus chrF: F of the statistics summed over sources.
G2P WER: fraction of sources whose hypothesis tokens (split on ASCII whitespace) equal no
reference's tokens. PER: sum of token edit distances to the closest reference (ties: the
reference with fewer tokens) / sum of those references' token counts. Exact match: fraction of
sources whose hypothesis equals a reference byte for byte.

Two cases are the examples of the Hugging Face "chrf" metric card, which reports sacrebleu's own
values: 61.576379378113785 (sentence) and 84.64214891738334 (the two-sentence corpus); they are
stored as "sacrebleu_reported" so the test checks against them too.
"""

import argparse
import json
import os
import re
from collections import Counter
from fractions import Fraction

ORDER = 6
BETA = 2

# (name, hypothesis bytes, [reference bytes]) -- bytes so that invalid UTF-8 can be included.
CASES = [
    ("identical", b"the cat sat", [b"the cat sat"]),
    ("hf_card_sentence",
     "The relationship between Obama and Netanyahu is not exactly friendly.".encode(),
     ["The ties between Obama and Netanyahu are not particularly friendly.".encode()]),
    ("hf_card_corpus_1",
     b"The relationship between cats and dogs is not exactly friendly.",
     [b"The relationship between dogs and cats is not exactly friendly."]),
    ("hf_card_corpus_2",
     b"a good bookshop is just a genteel black hole that knows how to read.",
     [b"A good bookshop is just a genteel Black Hole that knows how to read."]),
    ("g2p_two_references", b"K AE T", [b"K AE1 T", b"K AH T"]),
    ("g2p_second_reference_best", b"T AH M EY T OW", [b"T AH M AA T OW", b"T AH M EY T OW"]),
    ("empty_hypothesis", b"", [b"abc"]),
    ("reference_shorter_than_order", b"abcdefgh", [b"abc"]),
    ("clipped_repeats", b"aaaa", [b"aa"]),
    ("utf8_accents", "naïve café".encode(), ["naive cafe".encode(), "naïve café!".encode()]),
    ("utf8_cjk", "東京都 に".encode(), ["京都に".encode()]),
    ("unicode_whitespace_removed", "a\u00a0b\u3000c\x1cd\u2028e".encode(), [b"ab cde"]),
    ("invalid_utf8_bytes", b"ab\xffc\xe2\x82 x\xed\xa0\x80",
     [b"ab\xffc", b"\xe2\x82\xac abc x"]),
    ("tie_at_zero_first_wins", b"xy", [b"abc", b"defgh"]),
    ("empty_reference", b"abc", [b""]),
]

CORPORA = [
    ("all", list(range(len(CASES)))),
    ("hf_card_corpus", [2, 3]),
    ("g2p", [4, 5, 6, 13]),
    ("utf8_and_edge", [7, 8, 9, 10, 11, 12, 14]),
]

SACREBLEU_REPORTED = {  # Hugging Face datasets metrics/chrf/README.md (sacrebleu's output)
    "sentence:hf_card_sentence": 61.576379378113785,
    "corpus:hf_card_corpus": 84.64214891738334,
}


def chars(b):
    return "".join(b.decode("utf-8", errors="surrogateescape").split())


def ngrams(s, n):
    return Counter(s[i:i + n] for i in range(len(s) - n + 1))


def stats(hyp, ref):
    """[hyp_n], [ref_n], [match_n] for n = 1..ORDER of two character strings."""
    h_tot, r_tot, m_tot = [], [], []
    for n in range(1, ORDER + 1):
        h, r = ngrams(hyp, n), ngrams(ref, n)
        r_n = sum(r.values())
        h_tot.append(sum(h.values()) if r_n > 0 else 0)
        r_tot.append(r_n)
        m_tot.append(sum(min(c, r[g]) for g, c in h.items() if g in r))
    return h_tot, r_tot, m_tot


def f_score(st):
    h_tot, r_tot, m_tot = st
    precisions, recalls = [], []
    for h, r, m in zip(h_tot, r_tot, m_tot):
        if h > 0 and r > 0:
            precisions.append(Fraction(m, h))
            recalls.append(Fraction(m, r))
    if not precisions:
        return Fraction(0)
    p = sum(precisions) / len(precisions)
    r = sum(recalls) / len(recalls)
    if p + r == 0:
        return Fraction(0)
    b2 = BETA * BETA
    return 100 * (1 + b2) * p * r / (b2 * p + r)


def tokens(b):
    return [t for t in re.split(rb"[ \t\n\v\f\r]+", b) if t]


def levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
        prev = cur
    return prev[len(b)]


def best_reference(hyp, refs):
    best, best_f = None, Fraction(-1)
    for k, ref in enumerate(refs):
        f = f_score(stats(chars(hyp), chars(ref)))
        if f > best_f:
            best, best_f = k, f
    return best


def text(b):
    return b.decode("utf-8", errors="backslashreplace")


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(root, "tests", "golden", "chrf_golden.json"))
    args = ap.parse_args()

    cases = []
    for name, hyp, refs in CASES:
        per_ref = [stats(chars(hyp), chars(r)) for r in refs]
        best = best_reference(hyp, refs)
        h, r, m = per_ref[best]
        case = {
            "name": name,
            "hypothesis_hex": hyp.hex(),
            "references_hex": [x.hex() for x in refs],
            "hypothesis_text": text(hyp),
            "references_text": [text(x) for x in refs],
            "sentence_chrf": [float(f_score(s)) for s in per_ref],
            "best_reference": best,
            "statistics": {"hyp": h, "ref": r, "match": m},
        }
        key = "sentence:" + name
        if key in SACREBLEU_REPORTED:
            case["sacrebleu_reported"] = SACREBLEU_REPORTED[key]
        cases.append(case)

    corpora = []
    for name, idx in CORPORA:
        total = [[0] * ORDER for _ in range(3)]
        wrong = exact = errors = ref_tokens = 0
        for i in idx:
            _, hyp, refs = CASES[i]
            best_stats = stats(chars(hyp), chars(refs[best_reference(hyp, refs)]))
            for k in range(3):
                total[k] = [a + b for a, b in zip(total[k], best_stats[k])]
            ht = tokens(hyp)
            wrong += all(ht != tokens(r) for r in refs)
            exact += any(hyp == r for r in refs)
            d, n = min((levenshtein(ht, tokens(r)), len(tokens(r))) for r in refs)
            errors += d
            ref_tokens += n
        corpus = {
            "name": name,
            "cases": idx,
            "chrf": float(f_score(total)),
            "wer": float(Fraction(wrong, len(idx))),
            "exact_match": float(Fraction(exact, len(idx))),
            "token_errors": errors,
            "reference_tokens": ref_tokens,
            "per": float(Fraction(errors, ref_tokens)),
        }
        key = "corpus:" + name
        if key in SACREBLEU_REPORTED:
            corpus["sacrebleu_reported"] = SACREBLEU_REPORTED[key]
        corpora.append(corpus)

    out = {
        "generator": "scripts/golden/make_chrf_golden.py",
        "definition": "chrF as sacrebleu 2.x CHRF() defaults (char_order 6, beta 2, whitespace "
                      "removed, effective order); strings are stored as hex UTF-8 bytes, *_text "
                      "is for reading only",
        "cases": cases,
        "corpora": corpora,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %s (%d cases, %d corpora)" % (args.out, len(cases), len(corpora)))
    for c in cases:
        print("  %-32s chrF %s best %d" % (c["name"], c["sentence_chrf"], c["best_reference"]))
    for c in corpora:
        print("  corpus %-20s chrF %.12f WER %.4f PER %.4f EM %.4f" %
              (c["name"], c["chrf"], c["wer"], c["per"], c["exact_match"]))


if __name__ == "__main__":
    main()
