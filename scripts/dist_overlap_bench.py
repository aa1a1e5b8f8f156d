#!/usr/bin/python3
"""Time per step with and without overlapping the gradient allreduce with the backward pass
(docs/distributed.md, "Overlap"): 2 ranks on loopback (`--nproc 2`, 1 thread each), the arms
run alternately (A B C A B C ...), each a whole training run, and every rank prints its
BYTELITE_DIST_TIMING line.

    nice -n 10 /usr/bin/python3 scripts/dist_overlap_bench.py RECIPE [--rounds 2] \\
        [--exe build/bytelite-train] [--olid DIR] [--steps N] [--arms A:0:25600,B:1:256,...]

RECIPE: classify (configs/byteqrnn_olid.json on OLID's training file, per-rank batch 16, the
main-job recipe of the scaling table) or pretrain (configs/pretrain_byteqrnn.json on
data/pretrain/tweets.txt.gz, per-rank batch 32). Arms (BYTELITE_DIST_OVERLAP,
BYTELITE_DIST_BUCKET_KB):
    A  off, 25600 KiB  the default buckets (one for these models) after the backward pass, as
                       before overlap existed (then in registration order, with the buffers)
    B  on,  256 KiB    several buckets, overlapped
    C  off, 256 KiB    B's buckets, after the backward pass
(the default itself, overlap on with 25600 KiB, is --arms A:0:25600,D:1:25600)
(--arms NAME:OVERLAP:KIB,... replaces them; the ratios are against the first arm, and "hidden"
is printed when arms B and C are both there.)
Per run: whole-process wall seconds, rank 0's median step period (ms), and the ms per step
reduce_step spent after the backward pass (rank 0). Then the ratios of each arm to A, from the
medians over rounds. "Hidden" = 1 - (B's after-backward ms) / (C's): the share of the
post-backward reduction time that overlap removes with the same buckets.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARMS = (("A", "0", "25600"), ("B", "1", "256"), ("C", "0", "256"))
TIMING = re.compile(r"distributed timing: rank 0: (\d+) steps, overlap (\w+), (\d+) buckets "
                    r"\(([\d.]+) per step started during the backward pass\), median step "
                    r"period ([\d.]+) ms, after the backward pass ([\d.]+) ms/step \(waiting "
                    r"for the gradient buckets ([\d.]+) ms/step\)")


def command(a, out):
    if a.recipe == "classify":
        olid = a.olid or os.path.join(SRC, "data", "olid")
        return [a.exe, "train", "--config", os.path.join(SRC, "configs", "byteqrnn_olid.json"),
                "--train", os.path.join(olid, "train.tsv"),
                "--valid", os.path.join(olid, "valid.tsv"), "--out", out,
                "--max-steps", str(a.steps or 150), "--set",
                f"train.eval_every_steps={a.steps or 150}", "--set", "train.batch_size=16",
                "--threads", "1", "--quiet", "--nproc", "2"]
    return [a.exe, "pretrain", "--config", os.path.join(SRC, "configs", "pretrain_byteqrnn.json"),
            "--corpus", os.path.join(SRC, "data", "pretrain", "tweets.txt.gz"), "--out", out,
            "--steps", str(a.steps or 20), "--heldout", "none", "--set",
            "pretrain.eval_every_steps=1000", "--threads", "1", "--quiet", "--nproc", "2"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("recipe", choices=("classify", "pretrain"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--exe", default=os.path.join(SRC, "build", "bytelite-train"))
    ap.add_argument("--olid", default="")
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--arms", default="")
    a = ap.parse_args()
    arms = [tuple(x.split(":")) for x in a.arms.split(",")] if a.arms else list(ARMS)
    res = {name: [] for name, _, _ in arms}
    with tempfile.TemporaryDirectory(prefix="bytelite_overlap_") as d:
        for r in range(a.rounds):
            for name, overlap, kb in arms:
                env = dict(os.environ, BYTELITE_DIST_OVERLAP=overlap, BYTELITE_DIST_BUCKET_KB=kb,
                           BYTELITE_DIST_TIMING="1")
                env.pop("WORLD_SIZE", None)
                out = os.path.join(d, f"{name}{r}")
                load = os.getloadavg()[0]
                t0 = time.time()
                p = subprocess.run(command(a, out), env=env, capture_output=True, text=True)
                wall = time.time() - t0
                m = TIMING.search(p.stderr)
                if p.returncode != 0 or not m:
                    sys.exit(f"arm {name}: expected a run with a timing line, found exit "
                             f"{p.returncode}: {p.stderr[-2000:]}")
                steps, ov, buckets = int(m[1]), m[2], int(m[3])
                early = float(m[4])
                period, after, wait = float(m[5]), float(m[6]), float(m[7])
                res[name].append((wall, period, after))
                print(f"round {r} arm {name} (overlap {ov}, {buckets} buckets, {early:.2f} "
                      f"started during backward): {wall:.1f} s wall, {steps} steps, median step period {period:.1f} ms, after backward "
                      f"{after:.2f} ms/step (waiting {wait:.2f}), load {load:.1f}", flush=True)
    med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in res.items()}
    ref = arms[0][0]
    for k, _, _ in arms[1:]:
        print(f"{a.recipe}: {k}/{ref}: wall {med[k][0] / med[ref][0]:.3f}, step period "
              f"{med[k][1] / med[ref][1]:.3f}, after-backward ms {med[k][2] / med[ref][2]:.3f}")
    if "B" in med and "C" in med:
        print(f"{a.recipe}: B/C step period {med['B'][1] / med['C'][1]:.3f}; hidden by overlap "
              f"(1 - B/C after-backward ms): {1 - med['B'][2] / med['C'][2]:.2f}")


if __name__ == "__main__":
    main()
