#!/usr/bin/python3
"""Loopback tests of the data-parallel groundwork (src/train/distributed.h): ranks are separate
processes of tests/dist_worker.cc started with torchrun's environment variables on 127.0.0.1.

    /usr/bin/python3 tests/test_distributed.py build/tests/dist_worker build/bytelite-train

Cases (each must finish within its stated bound, never hang):
  1. allreduce_mean over 2 and 3 ranks: every rank gets the exact means, byte-identical
     everywhere (the worker checks the values; the hashes printed by the ranks are compared);
  2. check_same with a differing value on rank 1: every rank exits 1 with the same one-line
     error naming rank 1 and the differing line;
  3. rank 1 killed after the first allreduce: rank 0 exits non-zero with a one-line error within
     the timeout (BYTELITE_DIST_TIMEOUT_S=10) plus 20 s;
  4. MASTER_ADDR:MASTER_PORT with nobody listening: rank 1 exits 1 with a one-line error within
     the timeout (3 s) plus 20 s;
  5. WORLD_SIZE differing between ranks: the rank that differs exits 1 naming WORLD_SIZE, rank 0
     exits non-zero within the timeout plus 20 s;
  6. a malformed RANK: exit 1 with the one-line ConfigError.
Data-parallel training (train/loop.h with train/distributed.h's DataParallel; a small ByteQRNN
classifier with QAT on synthetic data, 1 thread per rank):
  7. synchronized statistics: batch norm and an activation range over 2 ranks' halves of a batch
     give the outputs, summed gradients and statistics of one process on the whole batch;
  8. check_same_model: equal modules pass, a weight changed on rank 1 is one line naming rank 1;
 8b. reduce_step's buckets (1 KiB: about one parameter each), with and without overlap: a
     parameter never used keeps no gradient, one unused on rank 1 and a rank without a backward
     pass count as zeros, every other gradient is byte for byte the mean of the ranks' own
     (computed by a separate allreduce); with overlap, buckets start during the backward pass,
     and two backward passes in one step are a one-line error on both ranks;
  9. equivalence: `--nproc 2` with batch 8 against 1 process with batch 16, 8 steps (QAT
     observing ranges): every rank held the same model at each evaluation (checked by the run),
     the logged losses agree within 1e-6 and the weights within 1e-3 (float reduction order
     only: the batch statistics and activation ranges are those of the global batch; the reason
     for each tolerance is at the check);
 9b. the same with BYTELITE_DIST_SYNC_STATS=0 (per-rank batch statistics): the ranks still hold
     the same model at every evaluation, and the losses differ from one process's by > 1e-5;
 9c. the same as 9 with distillation on an unlabelled pool (train.distill_unlabelled, 8 pool
     rows per rank against 16 in one process; docs/distillation.md): the pool is sharded as the
     labelled batch, so the losses agree within 1e-6 and the weights within 1e-3;
 10. a rank killed mid-run (torchrun-style ranks): rank 0 exits non-zero with a one-line error
     within the timeout; its last.ckpt resumes in 1 process with the same global batch (16 = 2 x
     8), and --resume with another global batch is refused naming it;
 11. an unreachable master for `bytelite-train train`: one-line error within the timeout;
 12. a data file differing on rank 1, and a config differing on rank 1: every rank exits 1 with
     a one-line error naming what differs;
 13. the launcher: a rank of `--nproc 2` killed makes the launcher stop the other and exit
     non-zero with one line naming the rank; (13b) a bad `--set` value or a missing teacher
     file under `--nproc 2` is one error line from the launcher, before any rank starts, and
     so is an absurd --nproc; (13c) the launcher killed with SIGKILL: its ranks stop too;
 14. overlap: `--nproc 2` with the gradient allreduces started during the backward pass
     (BYTELITE_DIST_OVERLAP=1, the default) against after it (0), 4 KiB buckets (several per
     model), for classify (QAT quantizing from step 5, LP-FT freezing the encoder for 3 steps)
     and pretrain: last.ckpt (weights, buffers, AdamW moments) identical byte for byte, and the
     logged losses equal; the checker itself tells case 9's 1-process run apart.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SLACK_S = 20


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(worker, args, rank, world, port, timeout_s, extra=None):
    env = dict(os.environ, WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank),
               MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
               BYTELITE_DIST_TIMEOUT_S=str(timeout_s), OMP_NUM_THREADS="1")
    env.update(extra or {})
    return subprocess.Popen([worker] + args, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(procs, bound_s):
    t0 = time.time()
    out = []
    for p in procs:
        try:
            o, e = p.communicate(timeout=max(1.0, bound_s - (time.time() - t0)))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            fail(f"expected every rank to finish within {bound_s} s, found a rank still running")
        out.append((p.returncode, o, e))
    return out, time.time() - t0


def one_line_error(stderr, what):
    lines = [l for l in stderr.splitlines() if l.strip()]
    if len(lines) != 1 or not lines[0].startswith("error: "):
        fail(f"{what}: expected one 'error: ...' line on stderr, found {stderr!r}")
    return lines[0]


def main():
    worker = os.path.abspath(sys.argv[1])
    # 1. allreduce over 2 and 3 ranks
    for world in (2, 3):
        port = free_port()
        res, secs = finish([start(worker, ["allreduce"], r, world, port, 60)
                            for r in range(world)], 60 + SLACK_S)
        hashes = set()
        for rc, o, e in res:
            if rc != 0:
                fail(f"allreduce world {world}: expected exit 0, found {rc}: {e.strip()}")
            hashes.add(o.split("hash")[1].strip())
        if len(hashes) != 1:
            fail(f"allreduce world {world}: expected identical results, found hashes {hashes}")
        print(f"1. allreduce_mean over {world} ranks: exact means, identical bytes ({secs:.1f} s)")

    # 2. check_same with a differing value
    port = free_port()
    a = '{\n  "batch_size": 32,\n  "seed": 1\n}'
    b = '{\n  "batch_size": 16,\n  "seed": 1\n}'
    res, secs = finish([start(worker, ["check", v], r, 2, port, 60)
                        for r, v in enumerate((a, b))], 60 + SLACK_S)
    msgs = set()
    for rc, o, e in res:
        if rc != 1:
            fail(f"check_same: expected exit 1 on every rank, found {rc}")
        msgs.add(one_line_error(e, "check_same"))
    want = ("error: distributed: expected every rank to have rank 0's config, found rank 1's "
            "different at line 2: '  \"batch_size\": 16,' vs '  \"batch_size\": 32,'")
    if msgs != {want + " (rank 1's vs rank 0's)"}:
        fail(f"check_same: expected the message {want!r} on both ranks, found {msgs}")
    port = free_port()
    res, _ = finish([start(worker, ["check", a], r, 2, port, 60) for r in range(2)], 60 + SLACK_S)
    if any(rc != 0 for rc, _, _ in res):
        fail("check_same: expected exit 0 when the values agree")
    print(f"2. check_same: a differing config is the same one-line error on both ranks ({secs:.1f} s)")

    # 3. a rank dies mid-run
    port = free_port()
    timeout = 10
    res, secs = finish([start(worker, ["die"], r, 2, port, timeout) for r in range(2)],
                       timeout + SLACK_S)
    (rc0, _, e0), (rc1, _, _) = res
    if rc1 != 3:
        fail(f"die: expected rank 1 to exit 3, found {rc1}")
    if rc0 == 0:
        fail("die: expected rank 0 to fail after rank 1 died, found exit 0")
    line = one_line_error(e0, "die")
    if "distributed: rank 0" not in line:
        fail(f"die: expected the error to name rank 0's failed collective, found {line!r}")
    print(f"3. rank 1 killed: rank 0 exits {rc0} after {secs:.1f} s with: {line}")

    # 4. nobody at MASTER_ADDR:MASTER_PORT
    port = free_port()
    timeout = 3
    res, secs = finish([start(worker, ["join"], 1, 2, port, timeout)], timeout + SLACK_S)
    rc, _, e = res[0]
    line = one_line_error(e, "unreachable master")
    if rc != 1 or "rendezvous store of rank 0 at 127.0.0.1:%d" % port not in line:
        fail(f"unreachable master: expected exit 1 naming the store address, found {rc}: {line}")
    print(f"4. unreachable MASTER_PORT: exit 1 after {secs:.1f} s with: {line}")

    # 5. WORLD_SIZE mismatch
    port = free_port()
    timeout = 5
    p0 = start(worker, ["join"], 0, 2, port, timeout)
    p1 = start(worker, ["join"], 1, 3, port, timeout)
    res, secs = finish([p0, p1], timeout + SLACK_S)
    (rc0, _, e0), (rc1, _, e1) = res
    line = one_line_error(e1, "world size mismatch")
    if rc1 != 1 or "WORLD_SIZE: expected 2 (rank 0's), found 3 on rank 1" not in line:
        fail(f"world size mismatch: expected rank 1 to name WORLD_SIZE, found {rc1}: {line}")
    if rc0 == 0:
        fail("world size mismatch: expected rank 0 to fail, found exit 0")
    print(f"5. WORLD_SIZE 2 vs 3: rank 1: {line}; rank 0 exits {rc0} after {secs:.1f} s")

    # 6. malformed RANK
    res, _ = finish([start(worker, ["join"], 5, 2, free_port(), 3)], SLACK_S)
    rc, _, e = res[0]
    line = one_line_error(e, "bad RANK")
    if rc != 1 or line != "error: RANK: expected an integer in [0, 2) (WORLD_SIZE 2), found '5'":
        fail(f"bad RANK: expected the one-line ConfigError, found {rc}: {line}")
    print(f"6. RANK=5 with WORLD_SIZE=2: {line}")
    # ... and a knob with a leading blank or sign is refused, not read as a number
    res, _ = finish([start(worker, ["join"], 0, 2, free_port(), 3,
                           {"BYTELITE_DIST_BUCKET_KB": " 4"})], SLACK_S)
    rc, _, e = res[0]
    line = one_line_error(e, "bad BYTELITE_DIST_BUCKET_KB")
    if rc != 1 or "BYTELITE_DIST_BUCKET_KB: expected an integer" not in line or "' 4'" not in line:
        fail(f"BYTELITE_DIST_BUCKET_KB=' 4': expected the one-line ConfigError, found {rc}: {e}")
    print(f"6. BYTELITE_DIST_BUCKET_KB=' 4': {line}")

    # 7. synchronized batch-norm statistics and activation ranges
    port = free_port()
    res, secs = finish([start(worker, ["syncbn"], r, 2, port, 60) for r in range(2)],
                       60 + SLACK_S)
    for rc, o, e in res:
        if rc != 0:
            fail(f"syncbn: expected exit 0 (the global batch's values), found {rc}: {o}{e}")
    print(f"7. synchronized statistics: {'; '.join(o.strip() for _, o, _ in res)} ({secs:.1f} s)")

    # 8. check_same_model
    port = free_port()
    res, _ = finish([start(worker, ["drift", "0"], r, 2, port, 60) for r in range(2)],
                    60 + SLACK_S)
    if any(rc != 0 for rc, _, _ in res):
        fail(f"drift 0: expected exit 0, found {[(rc, e) for rc, _, e in res]}")
    port = free_port()
    res, _ = finish([start(worker, ["drift", "0.5"], r, 2, port, 60) for r in range(2)],
                    60 + SLACK_S)
    for rc, _, e in res:
        line = one_line_error(e, "drift")
        if rc != 1 or "model (parameters and buffers) after step 5, found rank 1's" not in line:
            fail(f"drift: expected exit 1 naming rank 1's model, found {rc}: {line}")
    print(f"8. a weight changed on rank 1: {line}")

    # 8b. the gradient buckets of reduce_step, overlapped and not
    for overlap in ("1", "0"):
        extra = {"BYTELITE_DIST_OVERLAP": overlap, "BYTELITE_DIST_BUCKET_KB": "1",
                 "BYTELITE_DIST_TIMING": "1"}
        port = free_port()
        res, secs = finish([start(worker, ["reduce"], r, 2, port, 60, extra) for r in range(2)],
                           60 + SLACK_S)
        early = []
        for r, (rc, o, e) in enumerate(res):
            m = re.search(r"overlap (\w+), (\d+) buckets \(([\d.]+) per step started", e)
            if rc != 0 or "4 steps, gradients exact" not in o or not m:
                fail(f"reduce overlap {overlap}: expected exact mean gradients, found {rc}: {o}{e}")
            if int(m[2]) < 4 or (float(m[3]) > 0) != (overlap == "1"):
                fail(f"reduce overlap {overlap}: expected several buckets, started during the "
                     f"backward pass only with overlap, found {e.strip()}")
            early.append(m[3])
        print(f"8b. reduce_step, overlap {overlap}, {m[2]} buckets ({' / '.join(early)} per step "
              f"started during the backward pass on rank 0 / 1): gradients exact ({secs:.1f} s)")
    port = free_port()
    res, _ = finish([start(worker, ["reduce", "twice"], r, 2, port, 60,
                           {"BYTELITE_DIST_BUCKET_KB": "1"}) for r in range(2)], 60 + SLACK_S)
    for rc, _, e in res:
        line = one_line_error(e, "two backward passes")
        if rc != 1 or "found one arriving later (a second backward pass in one step)" not in line:
            fail(f"two backward passes: expected exit 1 with the one-line error, found {rc}: {line}")
    print(f"    two backward passes in one step with overlap: {line}")

    if len(sys.argv) > 2:
        training_tests(worker, os.path.abspath(sys.argv[2]))
    print("distributed loopback tests passed")


SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = ["--set", "model.embedding_size=16", "--set", "model.bottleneck_size=16",
         "--set", "model.qrnn_state_size=16", "--set", "model.qrnn_layers=1",
         "--set", "tokenizer.max_length=64", "--set", "model.dropout=0",
         "--set", "model.qrnn_zoneout=0", "--set", "quantization.warmup_steps=4",
         "--set", "train.lr_warmup_steps=2", "--set", "train.eval_every_steps=2",
         "--threads", "1", "--quiet"]


def write_data(d):
    rng = random.Random(0)
    words = "the a good bad day night cat dog very not so really ok fine".split()
    for name, n in (("train.tsv", 96), ("valid.tsv", 32)):
        with open(os.path.join(d, name), "w") as f:
            f.write("text\tlabel\n")
            for _ in range(n):
                t = [rng.choice(words) for _ in range(rng.randint(3, 9))]
                f.write(" ".join(t) + "\t" + ("OFF" if "bad" in t else "NOT") + "\n")


def write_pool(d):
    """A teacher scores file for the training texts and 60 pool texts, and the pool file (one
    text per line); returns their paths."""
    rng = random.Random(1)
    words = "the a good bad day night cat dog very not so really ok fine".split()
    with open(os.path.join(d, "train.tsv")) as f:
        texts = [line.rsplit("\t", 1)[0] for line in f.read().splitlines()[1:]]
    pool = []
    while len(pool) < 60:
        t = " ".join(rng.choice(words) for _ in range(rng.randint(3, 9)))
        if t not in texts and t not in pool:
            pool.append(t)
    teacher, pool_path = os.path.join(d, "teacher.tsv"), os.path.join(d, "pool.txt")
    with open(teacher, "w") as f:
        f.write("text\tNOT\tOFF\n")
        for t in dict.fromkeys(texts + pool):
            off = 0.1 + 0.2 * t.count("bad") + 0.05 * t.count("not")
            off = min(off, 0.95)
            f.write(f"{t}\t{1 - off:.4f}\t{off:.4f}\n")
    with open(pool_path, "w") as f:
        f.write("\n".join(pool) + "\n")
    return teacher, pool_path


def train_cmd(exe, d, out, batch, steps, extra=()):
    return ([exe, "train", "--config", os.path.join(SRC, "configs", "byteqrnn_olid.json"),
             "--train", os.path.join(d, "train.tsv"), "--valid", os.path.join(d, "valid.tsv"),
             "--out", out, "--max-steps", str(steps), "--set", f"train.batch_size={batch}"]
            + SMALL + list(extra))


def run(cmd, bound_s, env=None):
    t0 = time.time()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=bound_s)
    except subprocess.TimeoutExpired:
        fail(f"expected {' '.join(cmd[:2])} to finish within {bound_s} s, found it running")
    return p, time.time() - t0


def rank_env(rank, world, port, timeout_s):
    return dict(os.environ, WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank),
                MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                BYTELITE_DIST_TIMEOUT_S=str(timeout_s))


def train_losses(out):
    with open(os.path.join(out, "train_log.jsonl")) as f:
        return [json.loads(l)["train_loss"] for l in f if l.strip()]


def training_tests(worker, exe):
    d = tempfile.mkdtemp(prefix="bytelite_dist_")
    try:
        write_data(d)
        # 9. equivalence: 2 ranks x 8 vs 1 process x 16
        one, two = os.path.join(d, "one"), os.path.join(d, "two")
        # QAT observes (and synchronizes) activation ranges but does not quantize yet: a
        # fake-quantization rounding flip would turn a last-bit difference into a step.
        observe = ["--set", "quantization.warmup_steps=100"]
        p, _ = run(train_cmd(exe, d, one, 16, 8, observe), 120)
        if p.returncode != 0:
            fail(f"1 process: expected exit 0, found {p.returncode}: {p.stderr}")
        env = dict(os.environ, BYTELITE_DIST_TIMEOUT_S="60")
        env.pop("WORLD_SIZE", None)
        p, secs = run(train_cmd(exe, d, two, 8, 8, observe + ["--nproc", "2"]), 120, env)
        if p.returncode != 0:
            fail(f"--nproc 2: expected exit 0, found {p.returncode}: {p.stderr}")
        if sorted(os.listdir(one)) != sorted(os.listdir(two)):
            fail(f"--nproc 2: expected the files of 1 process, found {sorted(os.listdir(two))}")
        o = subprocess.run([worker, "compare", os.path.join(one, "last.ckpt"),
                            os.path.join(two, "last.ckpt")], capture_output=True, text=True)
        diff, mx, worst = float(o.stdout.split()[1]), float(o.stdout.split()[3]), o.stdout.split()[5]
        la, lb = train_losses(one), train_losses(two)
        loss_diff = max(abs(a - b) / abs(a) for a, b in zip(la, lb))
        # Not bit-identical: the two half-batch gradients are averaged, and the batch statistics
        # summed over ranks, in another order than one process sums them (float rounding). The
        # losses stay within 1e-6; a weight whose true gradient is 0 (gbst.score.bias: a softmax
        # ignores a shared bias) gets rounding noise that Adam normalizes into steps of up to the
        # learning rate (2e-3 here), so the weights are checked to 1e-3 after 8 steps.
        if len(la) != len(lb) or diff > 1e-3 or loss_diff > 1e-6:
            fail(f"equivalence: expected weights within 1e-3 and losses within 1e-6, found "
                 f"{diff:.3g} ({worst}) and {loss_diff:.3g}")
        print(f"9. 2 ranks x 8 vs 1 x 16, 8 steps: largest weight difference {diff:.3g} in "
              f"{worst} (largest weight {mx:.3g}), largest relative loss difference "
              f"{loss_diff:.3g}; every rank the same model at each evaluation ({secs:.1f} s)")

        # 9b. per-rank statistics (BYTELITE_DIST_SYNC_STATS=0): the ranks still end every step
        # with the same model (the run checks it at each evaluation), but batch norm now
        # normalizes each rank's half batch, so the losses move away from one process's
        own = os.path.join(d, "own")
        p, _ = run(train_cmd(exe, d, own, 8, 8, observe + ["--nproc", "2"]), 120,
                   dict(env, BYTELITE_DIST_SYNC_STATS="0"))
        if p.returncode != 0:
            fail(f"BYTELITE_DIST_SYNC_STATS=0: expected exit 0, found {p.returncode}: {p.stderr}")
        own_diff = max(abs(a - b) / abs(a) for a, b in zip(la, train_losses(own)))
        if own_diff <= 1e-5:
            fail(f"BYTELITE_DIST_SYNC_STATS=0: expected per-rank batch statistics to change the "
                 f"losses by more than 1e-5, found {own_diff:.3g}")
        print(f"    BYTELITE_DIST_SYNC_STATS=0: same model on every rank, losses {own_diff:.3g} "
              f"from one process's")

        # 9c. distillation with an unlabelled pool: the global pool rows of a step are sharded
        # p % WORLD_SIZE as the labelled rows (8 per rank, 16 in one process), and each term is
        # weighted by the rank's share, so 2 ranks compute one process's loss
        teacher, pool = write_pool(d)
        distill = observe + ["--set", f"train.distill_scores={teacher}", "--set",
                             f"train.distill_unlabelled={pool}"]
        pone, ptwo = os.path.join(d, "pool_one"), os.path.join(d, "pool_two")
        p, _ = run(train_cmd(exe, d, pone, 16, 8, distill), 120)
        if p.returncode != 0:
            fail(f"pool, 1 process: expected exit 0, found {p.returncode}: {p.stderr}")
        p, secs = run(train_cmd(exe, d, ptwo, 8, 8, distill + ["--nproc", "2"]), 120, env)
        if p.returncode != 0:
            fail(f"pool, --nproc 2: expected exit 0, found {p.returncode}: {p.stderr}")
        o = subprocess.run([worker, "compare", os.path.join(pone, "last.ckpt"),
                            os.path.join(ptwo, "last.ckpt")], capture_output=True, text=True)
        pdiff, worst = float(o.stdout.split()[1]), o.stdout.split()[5]
        pa, pb = train_losses(pone), train_losses(ptwo)
        ploss = max(abs(a - b) / abs(a) for a, b in zip(pa, pb))
        if len(pa) != len(pb) or pdiff > 1e-3 or ploss > 1e-6 or pa == la:
            fail(f"pool: expected weights within 1e-3 and losses within 1e-6 (and other losses "
                 f"than without the pool), found {pdiff:.3g} ({worst}) and {ploss:.3g}")
        print(f"9c. with an unlabelled pool, 2 ranks x (8 + 8) vs 1 x (16 + 16), 8 steps: largest "
              f"weight difference {pdiff:.3g} in {worst}, largest relative loss difference "
              f"{ploss:.3g} ({secs:.1f} s)")

        # 10. a rank killed mid-run
        kill = os.path.join(d, "kill")
        port, timeout = free_port(), 10
        procs = [subprocess.Popen(train_cmd(exe, d, kill, 8, 100000),
                                  env=rank_env(r, 2, port, timeout), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for r in range(2)]
        log = os.path.join(kill, "train_log.jsonl")
        t0 = time.time()
        while not os.path.exists(log) and time.time() - t0 < 120:
            time.sleep(0.1)
        procs[1].kill()
        res, secs = finish(procs, timeout + SLACK_S)
        rc0, _, e0 = res[0]
        line = one_line_error(e0.replace("bytelite: error: ", "error: "), "killed rank")
        if rc0 == 0 or "distributed: rank 0" not in line:
            fail(f"killed rank: expected rank 0 to fail with the one-line error, found {rc0}: {line}")
        print(f"10. rank 1 killed: rank 0 exits {rc0} after {secs:.1f} s with: {line}")
        p, _ = run(train_cmd(exe, d, kill, 16, 4, ["--resume", "--set",
                                                   "train.eval_every_steps=1000"]) , 120)
        if p.returncode != 0 or "trained" not in p.stdout:
            fail(f"resume in 1 process: expected exit 0, found {p.returncode}: {p.stderr}")
        p, _ = run(train_cmd(exe, d, kill, 8, 4, ["--resume"]), 120)
        want = "--resume needs the checkpoint's global batch of 16 (batch size x WORLD_SIZE), found 8"
        if p.returncode != 1 or want not in p.stderr:
            fail(f"resume with batch 8: expected exit 1 naming the global batch, found "
                 f"{p.returncode}: {p.stderr}")
        print("    its last.ckpt resumes in 1 process x 16; 1 x 8 is refused: "
              + p.stderr.strip())

        # 11. unreachable master
        port = free_port()
        p, secs = run(train_cmd(exe, d, os.path.join(d, "x"), 8, 4), 3 + SLACK_S,
                      rank_env(1, 2, port, 3))
        line = one_line_error(p.stderr.replace("bytelite: error: ", "error: "), "no master")
        if p.returncode != 1 or f"rendezvous store of rank 0 at 127.0.0.1:{port}" not in line:
            fail(f"no master: expected exit 1 naming the address, found {p.returncode}: {line}")
        print(f"11. train with nobody at MASTER_PORT: exit 1 after {secs:.1f} s: {line}")

        # 12. data / config differing on rank 1
        other = os.path.join(d, "other")
        os.makedirs(other)
        shutil.copy(os.path.join(d, "valid.tsv"), other)
        with open(os.path.join(d, "train.tsv")) as f:
            rows = f.read().splitlines()
        rows[5] = "a changed row\tNOT"
        with open(os.path.join(other, "train.tsv"), "w") as f:
            f.write("\n".join(rows) + "\n")
        for what, cmds, want in (
                ("data", [train_cmd(exe, d, os.path.join(d, "y"), 8, 4),
                          train_cmd(exe, other, os.path.join(d, "y"), 8, 4)],
                 "rank 0's data files, found rank 1's different at line 1"),
                ("config", [train_cmd(exe, d, os.path.join(d, "z"), 8, 4),
                            train_cmd(exe, d, os.path.join(d, "z"), 8, 4,
                                      ["--set", "train.seed=2"])],
                 "rank 0's config, found rank 1's different at line")):
            port = free_port()
            procs = [subprocess.Popen(c, env=rank_env(r, 2, port, 30), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
                     for r, c in enumerate(cmds)]
            res, _ = finish(procs, 30 + SLACK_S)
            for rc, _, e in res:
                line = one_line_error(e.replace("bytelite: error: ", "error: "), what)
                if rc != 1 or want not in line:
                    fail(f"differing {what}: expected exit 1 with '{want}', found {rc}: {line}")
            print(f"12. differing {what} on rank 1: {line}")

        # 13. the launcher stops the others when a rank dies
        env = dict(os.environ, BYTELITE_DIST_TIMEOUT_S="30")
        lau = subprocess.Popen(train_cmd(exe, d, os.path.join(d, "l"), 8, 100000,
                                         ["--nproc", "2"]), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        log = os.path.join(d, "l", "train_log.jsonl")
        t0 = time.time()
        while not os.path.exists(log) and time.time() - t0 < 120:
            time.sleep(0.1)
        with open(f"/proc/{lau.pid}/task/{lau.pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
        victim = None
        for k in kids:
            with open(f"/proc/{k}/environ", "rb") as f:
                if b"RANK=1" in f.read().split(b"\0"):
                    victim = k
        if victim is None:
            fail(f"launcher: expected a child with RANK=1, found children {kids}")
        os.kill(victim, signal.SIGKILL)
        res, secs = finish([lau], SLACK_S)
        rc, _, e = res[0]
        last = [l for l in e.splitlines() if l.strip()][-1]
        if rc != 128 + signal.SIGKILL or "found rank 1 exiting with status 137" not in last:
            fail(f"launcher: expected exit 137 naming rank 1, found {rc}: {e}")
        print(f"13. a rank of --nproc 2 killed: the launcher exits {rc} after {secs:.1f} s: {last}")

        # 13b. a bad config value or an unreadable input file under --nproc: the launcher says so
        # once, before starting any rank (not one error per rank plus the launcher's)
        for extra, want in (
                (["--set", "model.embedding_size=abc"],
                 "error: --set model.embedding_size=abc: expected an integer"),
                (["--set", "train.distill_scores=" + os.path.join(d, "no_teacher.tsv")],
                 "expected a readable file, found one that cannot be opened")):
            out = os.path.join(d, "bad13b")
            p, _ = run(train_cmd(exe, d, out, 8, 8, extra + ["--nproc", "2"]), 60)
            line = one_line_error(p.stderr.replace("bytelite: error: ", "error: "), "13b")
            if p.returncode != 1 or want not in line or os.path.exists(out):
                fail(f"13b: expected exit 1 with one line '{want}' and no {out}, found "
                     f"{p.returncode}: {p.stderr!r}")
            print(f"13b. --nproc 2 {' '.join(extra)}: {line}")
        p, _ = run(train_cmd(exe, d, os.path.join(d, "bad13b"), 8, 8, ["--nproc", "2"]), 60,
                   dict(os.environ, BYTELITE_DIST_OVERLAP="2"))
        line = one_line_error(p.stderr.replace("bytelite: error: ", "error: "), "13b knob")
        if p.returncode != 1 or "BYTELITE_DIST_OVERLAP: expected an integer in [0, 1]" not in line:
            fail(f"13b: BYTELITE_DIST_OVERLAP=2: expected exit 1 with one line, found "
                 f"{p.returncode}: {p.stderr!r}")
        print(f"13b. --nproc 2, BYTELITE_DIST_OVERLAP=2: {line}")
        p, _ = run(train_cmd(exe, d, os.path.join(d, "bad13b"), 8, 8, ["--nproc", "100000"]), 60)
        line = one_line_error(p.stderr.replace("bytelite: error: ", "error: "), "13b nproc")
        if p.returncode != 1 or "--nproc: expected at most" not in line:
            fail(f"13b: --nproc 100000: expected exit 1 with one line, found {p.returncode}: "
                 f"{p.stderr!r}")
        print(f"13b. --nproc 100000: {line}")

        # 13c. the launcher killed with SIGKILL (it cannot forward anything): its ranks stop too
        lau = subprocess.Popen(train_cmd(exe, d, os.path.join(d, "l13c"), 8, 100000,
                                         ["--nproc", "2"]), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        log = os.path.join(d, "l13c", "train_log.jsonl")
        t0 = time.time()
        while not os.path.exists(log) and time.time() - t0 < 120:
            time.sleep(0.1)
        with open(f"/proc/{lau.pid}/task/{lau.pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
        if len(kids) != 2:
            fail(f"13c: expected 2 ranks, found children {kids}")
        os.kill(lau.pid, signal.SIGKILL)
        lau.communicate()

        def alive(pid):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return f.read().rsplit(")", 1)[1].split()[0] != "Z"
            except OSError:
                return False
        t0 = time.time()
        while any(alive(k) for k in kids) and time.time() - t0 < 30 + SLACK_S:
            time.sleep(0.2)
        left = [k for k in kids if alive(k)]
        for k in left:
            os.kill(k, signal.SIGKILL)
        if left:
            fail(f"13c: expected the ranks to stop with their launcher, found {left} running")
        print(f"13c. launcher killed: both ranks stopped within {time.time() - t0:.1f} s")

        # 14. overlapped vs post-backward gradient allreduce: bit-identical
        overlap_tests(worker, exe, d, one, two)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def overlap_tests(worker, exe, d, one, two):
    rng = random.Random(1)
    words = "the a good bad day night cat dog very not so really ok fine".split()
    corpus = os.path.join(d, "corpus.txt")
    with open(corpus, "w") as f:
        for _ in range(300):
            f.write(" ".join(rng.choice(words) for _ in range(rng.randint(5, 30))) + "\n")
    pre = [exe, "pretrain", "--config", os.path.join(SRC, "configs", "pretrain_byteqrnn.json"),
           "--corpus", corpus, "--steps", "6", "--heldout", "none", "--threads", "1", "--quiet",
           "--nproc", "2"]
    for k, v in (("model.embedding_size", 16), ("model.bottleneck_size", 16),
                 ("model.qrnn_state_size", 16), ("model.qrnn_layers", 1), ("model.dropout", 0),
                 ("model.qrnn_zoneout", 0), ("pretrain.seq_len", 64), ("pretrain.batch_size", 8),
                 ("pretrain.eval_every_steps", 3), ("pretrain.lr_warmup_steps", 2),
                 ("quantization.warmup_steps", 3), ("pretrain.shuffle_capacity", 50)):
        pre += ["--set", f"{k}={v}"]
    # seq2seq: a tiny G2P transformer on 200 rows of words -> phonemes
    g2p = os.path.join(d, "g2p")
    os.makedirs(g2p)
    letters = "abcdefghij"
    for name, n in (("train.tsv", 200), ("valid.tsv", 32)):
        with open(os.path.join(g2p, name), "w") as f:
            f.write("word\tpronunciation\n")
            for _ in range(n):
                w = "".join(rng.choice(letters) for _ in range(rng.randint(2, 8)))
                f.write(w + "\t" + " ".join(c.upper() + "H" for c in w) + "\n")
    s2s = [exe, "train", "--config", os.path.join(SRC, "configs", "g2p_cmudict.json"),
           "--train", os.path.join(g2p, "train.tsv"), "--valid", os.path.join(g2p, "valid.tsv"),
           "--max-steps", "6", "--threads", "1", "--quiet", "--nproc", "2"]
    for k, v in (("seq2seq.dim", 32), ("seq2seq.num_heads", 2), ("seq2seq.intermediate_size", 64),
                 ("seq2seq.encoder_layers", 1), ("seq2seq.decoder_layers", 1),
                 ("seq2seq.eval_sources", 16), ("seq2seq.dropout", 0),
                 ("quantization.warmup_steps", 3), ("train.batch_size", 8),
                 ("train.eval_every_steps", 3), ("train.lr_warmup_steps", 2)):
        s2s += ["--set", f"{k}={v}"]
    cases = (("classify", lambda out: train_cmd(exe, d, out, 8, 8,
                                                ["--nproc", "2", "--set",
                                                 "train.freeze_encoder_steps=3"]),
              "train_log.jsonl"),
             ("pretrain", lambda out: pre + ["--out", out], "pretrain_log.jsonl"),
             ("seq2seq", lambda out: s2s + ["--out", out], "train_log.jsonl"))
    env = dict(os.environ, BYTELITE_DIST_TIMEOUT_S="60", BYTELITE_DIST_BUCKET_KB="4",
               BYTELITE_DIST_TIMING="1")
    env.pop("WORLD_SIZE", None)
    for task, cmd, log in cases:
        outs, secs, early = [], 0.0, []
        for overlap in ("1", "0"):
            out = os.path.join(d, f"overlap_{task}_{overlap}")
            p, s = run(cmd(out), 120, dict(env, BYTELITE_DIST_OVERLAP=overlap))
            if p.returncode != 0:
                fail(f"{task} BYTELITE_DIST_OVERLAP={overlap}: expected exit 0, found "
                     f"{p.returncode}: {p.stderr}")
            outs.append(out)
            secs += s
            # with overlap, hooks must have started buckets during the backward pass (else this
            # compares the post-backward path with itself); without, none
            m = dict((int(r), (o, int(b), float(e))) for r, o, b, e in re.findall(
                r"rank (\d): \d+ steps, overlap (\w+), (\d+) buckets \(([\d.]+) per step "
                r"started during the backward pass\)", p.stderr))
            if sorted(m) != [0, 1] or any(
                    o != ("on" if overlap == "1" else "off") or b < 2 or (e >= 1) != (overlap == "1")
                    for o, b, e in m.values()):
                fail(f"{task} BYTELITE_DIST_OVERLAP={overlap}: expected several buckets, started "
                     f"during the backward pass only with overlap, found {p.stderr.strip()}")
            early.append(f"{m[0][2]:.2f} / {m[1][2]:.2f} of {m[0][1]} on rank 0 / 1")
        ckpt = "model.pt" if task == "seq2seq" else "last.ckpt"
        o = subprocess.run([worker, "same"] + [os.path.join(x, ckpt) for x in outs],
                           capture_output=True, text=True)
        if o.returncode != 0 or not o.stdout.startswith("identical"):
            fail(f"{task} overlap: expected {ckpt} identical with and without overlap, "
                 f"found {o.stdout.strip()} {o.stderr.strip()}")
        logs = []
        for x in outs:
            with open(os.path.join(x, log)) as f:
                recs = [json.loads(l) for l in f if l.strip()]
            logs.append([{k: v for k, v in r.items() if "loss" in k or k == "valid"} for r in recs])
        if logs[0] != logs[1] or not logs[0] or not logs[0][0]:
            fail(f"{task} overlap: expected the same logged losses, found {logs}")
        print(f"14. {task}, 2 ranks, 4 KiB buckets ({early[0]} per step started during the "
              f"backward pass), overlap on vs off: {ckpt} {o.stdout.strip()} (weights, buffers, "
              f"AdamW moments), losses equal ({secs:.1f} s)")
    # the checker tells different runs apart (case 9: one process vs two ranks)
    o = subprocess.run([worker, "same", os.path.join(one, "last.ckpt"),
                        os.path.join(two, "last.ckpt")], capture_output=True, text=True)
    if o.returncode != 4 or not o.stdout.startswith("differ"):
        fail(f"dist_worker same: expected case 9's runs to differ, found {o.stdout.strip()}")
    print(f"    case 9's 1-process and 2-rank runs: {o.stdout.strip()}")


if __name__ == "__main__":
    main()
