#!/usr/bin/python3
"""Fails when a doc or a comment cites a repository path that does not exist.

Usage: /usr/bin/python3 scripts/check_paths.py [--root DIR] [FILE...]
Without FILE arguments it scans the repository (ctest runs it so: test `check_paths`); with
them, only those files (tests/test_check_paths.py feeds it made-up files). Paths are checked
against the repository root (--root, default: the parent of this script's directory). Exit 0
when every citation exists, 1 with one line per missing path
("FILE:LINE: cites PATH, which does not exist in the repository") otherwise.

What is scanned:
  * Markdown: README.md, docs/*.md and every other *.md of the repository (whole text);
  * comments: // and /* */ in C/C++ sources and headers (src/ include/ tests/ bench/
    examples/ fuzz/), # comments in shell, Python, CMake and YAML files (scripts/ .ci/, the
    CMake files), and the "comment" strings of JSON configs (configs/, tests/data/);
  * never build outputs or runs: directories named build*, runs, .git, node_modules and
    __pycache__ are skipped, and so is data/ apart from its *.md files.

What is a citation:
  * a path that starts with one of the repository's top-level directories src/ include/ docs/
    tests/ scripts/ configs/ data/ bench/ examples/ fuzz/ schema/ .ci/, not preceded by a
    letter, digit, '.', '-', '/' or '$' (so runs/x/data/y, $OUT/data/y, build/tests/... and
    URLs are not citations: they are outputs or other repositories);
  * a bare upper-case Markdown or text name such as README.md (not after a '/'): it must exist
    somewhere in the repository (SOURCE.md names the data sets' files, which exist in
    data/*/); placeholders do not apply to these names;
  * in docs/*.md, a bare lower-case name.md (another doc): it must exist in docs/ or at the top.

How a citation is read:
  * trailing punctuation (. , : ; ) ] ' " `) is not part of it; "{h,cc}" expands to one path per
    alternative; '*' and '?' are globs that must match at least one path;
  * placeholders are not repository paths, so a citation containing one is only checked up to
    the placeholder: a segment with '<', '>', '$', '...', or an upper-case stem that is the
    stem of no file in the repository (DIR/, NAME.blt, OUT/ are placeholders; SOURCE.md,
    README.md are not);
  * a path without an extension may name the program built from the source of that stem
    (examples/seq2seq_g2p is built from examples/seq2seq_g2p.cc);
  * "examples/s" is the unit examples per second, not a path;
  * a line that mentions GitHub or says "outside this repository" is about another repository
    and is not checked; EXTERNAL lists the names of documents kept outside the repository
    (seqflowlite_spec.md, the design notes of the original system).
"""

import argparse
import fnmatch
import glob
import os
import re
import sys

TOP_DIRS = ["src", "include", "docs", "tests", "scripts", "configs", "data", "bench",
            "examples", "fuzz", "schema", ".ci"]
EXTERNAL = {"seqflowlite_spec.md"}
SKIP_DIRS = {".git", "runs", "node_modules", "__pycache__"}
CXX_EXT = (".cc", ".cpp", ".c", ".h", ".hpp", ".fbs")
HASH_EXT = (".sh", ".py", ".cmake", ".txt", ".yml", ".yaml")

PATH_RE = re.compile(
    r"(?<![A-Za-z0-9_./$-])((?:" + "|".join(re.escape(d) for d in TOP_DIRS) +
    r")/[A-Za-z0-9_./*?{},<>$-]*)")
BARE_UPPER_RE = re.compile(r"(?<![A-Za-z0-9_./$-])([A-Z][A-Z0-9_]*\.(?:md|txt))(?![A-Za-z0-9_])")
BARE_DOC_RE = re.compile(r"(?<![A-Za-z0-9_./$<-])([a-z][a-z0-9_]*\.md)(?![A-Za-z0-9_])")


def repo_files(root):
    """Every file and directory of the repository (relative paths), build outputs skipped."""
    out = []
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        dirs[:] = sorted(x for x in dirs
                         if x not in SKIP_DIRS and not (rel == "." and x.startswith("build")))
        for name in dirs + files:
            out.append(os.path.normpath(os.path.join(rel, name)))
    return out


def files_to_scan(root):
    """(relative path, kind) of the files whose docs or comments are scanned."""
    out = []
    for rel in repo_files(root):
        full = os.path.join(root, rel)
        if not os.path.isfile(full):
            continue
        top = rel.split(os.sep)[0]
        if rel.endswith(".md"):
            out.append(rel)
        elif top == "data":
            continue  # data files are data, not docs
        elif rel.endswith(CXX_EXT + HASH_EXT) or os.path.basename(rel) == "CMakeLists.txt":
            out.append(rel)
        elif rel.endswith(".json") and top in ("configs", "tests"):
            out.append(rel)
        elif top in ("scripts", ".ci") and "." not in os.path.basename(rel):
            out.append(rel)  # scripts without an extension (shell)
    return out


def cxx_comments(text):
    """(line number, comment text) of // and /* */ comments; string literals are skipped."""
    out = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append((line, text[i + 2:j]))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j
            for k, part in enumerate(text[i + 2:j].split("\n")):
                out.append((line + k, part))
            line += text.count("\n", i, j)
            i = j + 2
        elif c == '"' or c == "'":
            if c == '"' and text[max(0, i - 1)] == "R" and text.startswith('"(', i):
                j = text.find(')"', i)  # raw string literal R"(...)"
                j = n if j < 0 else j + 1
            else:
                j = i + 1
                while j < n and text[j] != c and text[j] != "\n":
                    j += 2 if text[j] == "\\" else 1
            line += text.count("\n", i, min(j + 1, n))
            i = j + 1
        else:
            i += 1
    return out


def hash_comments(text):
    """(line number, text) of # comments (shell, Python, CMake, YAML); a '#' inside quotes or
    in ${#...} / $# is not a comment. Python docstrings count as comments."""
    out = []
    in_doc = False
    for no, line in enumerate(text.split("\n"), 1):
        if no == 1 and line.startswith("#!"):
            continue
        stripped = line.strip()
        if in_doc or stripped.startswith('"""'):
            out.append((no, line))
            if stripped.count('"""') == 1:
                in_doc = not in_doc
            continue
        quote = None
        for k, ch in enumerate(line):
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "'\"":
                quote = ch
            elif ch == "#" and (k == 0 or line[k - 1] in " \t;(") and \
                    not line[max(0, k - 2):k].endswith("$"):
                out.append((no, line[k + 1:]))
                break
    return out


def json_comments(text):
    """(line number, text) of the lines holding a "comment" key."""
    return [(no, line) for no, line in enumerate(text.split("\n"), 1) if '"comment"' in line]


def expand_braces(p):
    m = re.search(r"\{([^{}]*)\}", p)
    if not m:
        return [p]
    out = []
    for alt in m.group(1).split(","):
        out.extend(expand_braces(p[:m.start()] + alt + p[m.end():]))
    return out


class Repo:
    def __init__(self, root):
        self.root = root
        self.paths = set(repo_files(root))
        self.stems = {os.path.basename(p).split(".")[0] for p in self.paths}
        self.names = {os.path.basename(p) for p in self.paths}

    def exists(self, rel):
        rel = rel.rstrip("/")
        if any(ch in rel for ch in "*?["):
            return any(fnmatch.fnmatchcase(p, os.path.normpath(rel)) for p in self.paths) or \
                bool(glob.glob(os.path.join(self.root, rel)))
        return os.path.exists(os.path.join(self.root, rel))

    def is_program(self, rel):
        """A path without extension naming the program built from REL.cc (or .c, .cpp)."""
        base = os.path.basename(rel)
        return "." not in base and any(self.exists(rel + e) for e in (".cc", ".c", ".cpp"))

    def is_placeholder(self, segment):
        if any(s in segment for s in ("<", ">", "$", "...")) or segment in ("..", "…"):
            return True
        stem = segment.split(".")[0]
        return bool(re.fullmatch(r"[A-Z][A-Z0-9_]*", stem)) and stem not in self.stems

    def check_path(self, cited):
        """None if the citation is fine, else the path (up to any placeholder) that is missing."""
        cited = cited.rstrip(".,:;)]'\"`")
        if cited == "examples/s":
            return None  # examples per second
        for p in expand_braces(cited):
            if "{" in p or "}" in p:
                continue  # unbalanced braces: not a path we can read
            parts = p.split("/")
            kept = []
            for seg in parts:
                if self.is_placeholder(seg):
                    break
                kept.append(seg)
            path = "/".join(kept)  # up to the placeholder, if any (then a directory)
            if path and not self.exists(path) and not self.is_program(path):
                return p
        return None


def citations(rel, text, repo):
    """(line, path) of every citation in the file that does not exist."""
    if rel.endswith(".md"):
        chunks = list(enumerate(text.split("\n"), 1))
    elif rel.endswith(".json"):
        chunks = json_comments(text)
    elif rel.endswith(CXX_EXT):
        chunks = cxx_comments(text)
    else:
        chunks = hash_comments(text)
    is_doc = rel.endswith(".md") and rel.split(os.sep)[0] == "docs"
    missing = []
    for no, chunk in chunks:
        low = chunk.lower()
        if "github" in low or "outside this repository" in low:
            continue
        for m in PATH_RE.finditer(chunk):
            bad = repo.check_path(m.group(1))
            if bad:
                missing.append((no, bad))
        for m in BARE_UPPER_RE.finditer(chunk):
            if m.group(1) not in repo.names:
                missing.append((no, m.group(1)))
        if is_doc:
            for m in BARE_DOC_RE.finditer(chunk):
                name = m.group(1)
                if name not in EXTERNAL and not (repo.exists("docs/" + name) or repo.exists(name)):
                    missing.append((no, name))
    return missing


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(here))
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    repo = Repo(a.root)
    files = a.files or files_to_scan(a.root)
    bad = 0
    for f in files:
        full = f if os.path.isabs(f) or a.files else os.path.join(a.root, f)
        try:
            with open(full, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError as e:
            print(f"check_paths: expected a readable file, found {f}: {e.strerror}")
            return 1
        for no, path in citations(f, text, repo):
            print(f"{f}:{no}: cites {path}, which does not exist in the repository")
            bad += 1
    if bad:
        print(f"check_paths: {bad} citation(s) of missing paths in {len(files)} files")
        return 1
    print(f"check_paths: every cited path exists ({len(files)} files scanned)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
