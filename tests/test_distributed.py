#!/usr/bin/python3
"""Loopback tests of the data-parallel groundwork (src/train/distributed.h): ranks are separate
processes of tests/dist_worker.cc started with torchrun's environment variables on 127.0.0.1.

    /usr/bin/python3 tests/test_distributed.py build/tests/dist_worker

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
"""

import os
import socket
import subprocess
import sys
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
    print("distributed loopback tests passed")


if __name__ == "__main__":
    main()
