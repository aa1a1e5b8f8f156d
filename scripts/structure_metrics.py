#!/usr/bin/python3
"""Prints the structure measures of issue 13 for a checkout, so that before/after figures come
from one rerunnable command:

    /usr/bin/python3 scripts/structure_metrics.py [REPO_DIR, default .]
    git worktree add /tmp/before <commit> && /usr/bin/python3 scripts/structure_metrics.py /tmp/before

- encoder-name comparisons: lines in src/, include/, python/ (not tests), examples/ that compare
  a string with an encoder or architecture name ("qrnn", "transformer", "funnel", "byteqrnn",
  "bytetransformer", "bytefunnel", "byteseq2seq") using == or !=;
- files per encoder: non-test source files (src/, include/, schema/, python/) naming each
  encoder kind (case-insensitive "qrnn", "funnel", "transformer") or "gbst";
- training loops: functions in src/ and examples/ that call an optimizer's step() (".step()" on
  a name containing "opt");
- places per config key: occurrences of a few keys as whole words in src/train/config.{h,cc},
  src/cli/ and README.md;
- the longest functions: C++ function bodies in src/ (a line ending in "{" at column 0 that
  starts a definition, up to the next "}" at column 0), longest first.
"""

import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
NAMES = ["qrnn", "transformer", "funnel", "byteqrnn", "bytetransformer", "bytefunnel",
         "byteseq2seq"]
KEYS = ["embedding_size", "warmup_steps", "lr_schedule", "attention_scale"]


def files(dirs, exts):
    for d in dirs:
        base = os.path.join(ROOT, d)
        for dp, _, fs in os.walk(base):
            for f in sorted(fs):
                if f.endswith(exts):
                    yield os.path.join(dp, f)


def read(p):
    with open(p, encoding="utf-8", errors="replace") as f:
        return f.read()


def rel(p):
    return os.path.relpath(p, ROOT)


def main():
    src_exts = (".cc", ".h", ".hpp", ".py", ".fbs")
    cmp_re = re.compile(r'(==|!=)\s*"(%s)"|"(%s)"\s*(==|!=)' % ("|".join(NAMES), "|".join(NAMES)))
    cmp_lines = []
    for p in files(["src", "include", "python", "examples"], src_exts):
        if "/tests/" in p:
            continue
        for n, line in enumerate(read(p).splitlines(), 1):
            if cmp_re.search(line):
                cmp_lines.append(f"{rel(p)}:{n}")
    print(f"encoder-name string comparisons: {len(cmp_lines)} lines in "
          f"{len(set(l.split(':')[0] for l in cmp_lines))} files")

    for kind in ("qrnn", "transformer", "funnel", "gbst"):
        hits = [rel(p) for p in files(["src", "include", "schema", "python"], src_exts)
                if "/tests/" not in p and kind in read(p).lower()]
        print(f"non-test files naming {kind}: {len(hits)}")

    loops = []
    start_re = re.compile(r"^[A-Za-z][\w:<>,*& ]*[\w>&*]\s+[\w:~]+\(")
    longest = []
    for p in files(["src", "examples"], (".cc",)):
        lines = read(p).splitlines()
        i = 0
        while i < len(lines):
            # A definition: "type name(" at column 0, its signature ending in "{" within 5 lines.
            k = i
            while (k < len(lines) and k < i + 5 and not lines[k].rstrip().endswith("{")
                   and not lines[k].rstrip().endswith(";")):
                k += 1
            is_def = (start_re.match(lines[i]) and k < len(lines) and
                      lines[k].rstrip().endswith("{") and not lines[i].startswith(
                          ("namespace", "struct", "class", "enum", "return", "using")))
            if is_def:
                j = k + 1
                while j < len(lines) and lines[j] != "}":
                    j += 1
                body = "\n".join(lines[i:j + 1])
                name = lines[i].split("(")[0].split()[-1] if "(" in lines[i] else lines[i]
                longest.append((j - i + 1, f"{rel(p)}:{i + 1} {name}"))
                if re.search(r"\w*opt\w*(\.|->)step\(\)", body):
                    loops.append(f"{rel(p)}:{i + 1} {name}")
                i = j
            i += 1
    print(f"training loops (functions calling an optimizer's step()): {len(loops)}")
    for l in loops:
        print(f"  {l}")

    targets = [os.path.join(ROOT, "src/train/config.h"), os.path.join(ROOT, "src/train/config.cc"),
               os.path.join(ROOT, "README.md")] + list(files(["src/cli"], (".cc", ".h")))
    for key in KEYS:
        n = sum(len(re.findall(r"\b%s\b" % key, read(p))) for p in targets if os.path.exists(p))
        print(f"occurrences of {key} in config.{{h,cc}}, src/cli, README: {n}")

    longest.sort(reverse=True)
    print("longest functions (lines):")
    for n, where in longest[:8]:
        print(f"  {n:4d}  {where}")


if __name__ == "__main__":
    main()
