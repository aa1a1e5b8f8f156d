#!/usr/bin/python3
"""Writes tests/golden/projection_golden.json: MurmurHash3 values and ternary projections of
fixed texts, computed independently of the C++ code, for tests/test_projection.cc.

    /usr/bin/python3 scripts/golden/make_projection_golden.py [--out tests/golden/projection_golden.json]

Needs Debian's python3-sklearn (scripts/install-deps.sh). The hash is scikit-learn's
`sklearn.utils.murmurhash3_32(bytes, seed, positive=True)` (MurmurHash3 x86 32-bit), a library
implementation, not ours. The projection follows the definition in src/runtime/ops/projection.h,
written here from that text with Python's own tools:
  - lower-casing: bytes A-Z -> a-z (bytes.translate);
  - split_on_space: bytes.split() (splits on ASCII whitespace: space, \\t \\n \\v \\f \\r);
    otherwise characters: bytes.decode("utf-8", "surrogateescape") (Python's strict decoder: no
    overlong forms, surrogates or code points above U+10FFFF; every byte it cannot decode becomes
    one lone surrogate, i.e. its own character), each character encoded back to its bytes;
  - at most max_tokens tokens with the literal b"<BOS>" first / b"<EOS>" last when asked for;
  - token x, feature k: h = murmur3_32(x, seed=k // 16), v = (h >> 2 * (k % 16)) & 3 mapped
    0 -> 0, 1 -> +1, 2 -> -1, 3 -> 0.
Texts and tokens are stored as hex (any bytes); a token's values as a string over "+", "-", "0".
"""

import argparse
import json
import os

from sklearn.utils import murmurhash3_32

WHITESPACE_TEXT = b"  Hello,\tWORLD!\n\nnew\x0bline\x0cfeed\rend  "

TEXTS = [
    b"",
    b"   \t\n ",
    b"a",
    b"hello",
    b"Hello hello HELLO",
    WHITESPACE_TEXT,
    b"@USER you are SO right!!! #MAGA http://t.co/xyz",
    "na\u00efve caf\u00e9 \u00dcber stra\u00dfe".encode(),
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \u0442\u0435\u043a\u0441\u0442".encode(),
    "emoji \U0001F600\U0001F44D ok".encode(),
    b"bad \xff byte \xe2\x82 cut \xc0\xaf overlong \xed\xa0\x80 surrogate \xf4\x90\x80\x80 big",
    b" ".join(b"w%d" % i for i in range(40)),
]

CONFIGS = [
    # feature_size, max_tokens, split_on_space, lowercase, add_bos, add_eos
    (16, 64, True, True, False, False),
    (17, 64, True, True, False, False),
    (64, 8, True, True, True, True),
    (1, 64, True, False, False, True),
    (100, 64, True, True, True, False),
    (33, 12, False, True, False, False),
    (48, 200, False, False, True, True),
]

HASH_KEYS = [b"", b"a", b"ab", b"abc", b"abcd", b"abcde", b"abcdef", b"abcdefg", b"abcdefgh",
             b"hello", b"<BOS>", b"<EOS>", "caf\u00e9".encode(), b"\x00", b"\xff\xfe\xfd",
             b"\x80\x81\x82\x83\x84", b"The quick brown fox jumps over the lazy dog"]
HASH_SEEDS = [0, 1, 2, 7, 255, 2**31 - 1, 2**32 - 1]

TERNARY = {0: "0", 1: "+", 2: "-", 3: "0"}


def tokens(text, max_tokens, split_on_space, lowercase, add_bos, add_eos):
    if lowercase:
        text = text.translate(bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                              b"abcdefghijklmnopqrstuvwxyz"))
    if split_on_space:
        words = text.split()
    else:
        words = [c.encode("utf-8", "surrogateescape")
                 for c in text.decode("utf-8", "surrogateescape")]
    room = max_tokens - int(add_bos) - int(add_eos)
    out = [b"<BOS>"] if add_bos else []
    out += words[:room]
    if add_eos:
        out.append(b"<EOS>")
    return out


def project(token, feature_size):
    values = []
    for k in range(feature_size):
        h = murmurhash3_32(token, seed=k // 16, positive=True)
        values.append(TERNARY[(h >> (2 * (k % 16))) & 3])
    return "".join(values)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--out", default=os.path.join(root, "tests", "golden",
                                                  "projection_golden.json"))
    args = ap.parse_args()
    hashes = [{"key_hex": k.hex(), "seed": s, "hash": int(murmurhash3_32(k, seed=s,
                                                                           positive=True))}
              for k in HASH_KEYS for s in HASH_SEEDS]
    projections = []
    for (f, m, split, lower, bos, eos) in CONFIGS:
        for text in TEXTS:
            toks = tokens(text, m, split, lower, bos, eos)
            projections.append({
                "feature_size": f, "max_tokens": m, "split_on_space": split,
                "lowercase": lower, "add_bos": bos, "add_eos": eos, "text_hex": text.hex(),
                "tokens_hex": [t.hex() for t in toks],
                "values": [project(t, f) for t in toks]})
    doc = {"comment": "written by scripts/golden/make_projection_golden.py; do not edit",
           "hash": hashes, "projection": projections}
    tmp = args.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, args.out)
    print("wrote %s: %d hashes, %d projections" % (args.out, len(hashes), len(projections)))


if __name__ == "__main__":
    main()
