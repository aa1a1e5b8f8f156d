#!/usr/bin/python3
"""Time-per-step model of data-parallel training over W machines (docs/distributed.md).

    /usr/bin/python3 scripts/dist_scaling_model.py --name NAME --step-ms T --floats P \
        --small N [--batch B]

T: the measured time of one training step of one process (per-rank batch B, compute only);
P: the trained floats (the gradient allreduced once per step, 4 bytes each);
N: the small latency-bound collectives per step (synchronized batch-norm statistics: 4 per
   layer, activation ranges: 1 per quantizer, plus the loss weight; tests/dist_worker census).

Per step, with a ring allreduce (Gloo's algorithm for CPU tensors) over W machines linked at
bandwidth BW with one-way latency a:
    gradient  2 (W - 1) / W * 4 P / BW + 2 (W - 1) a
    small     N * 2 (W - 1) a
    step(W) = T + gradient + small        (BYTELITE_DIST_OVERLAP=0: every bucket allreduced
                                           after the backward pass)
    overlapped (BYTELITE_DIST_OVERLAP=1, buckets of --bucket-kb KiB, default 256 as bytelite's):
    the buckets but the last travel while the backward pass runs, which takes the share
    --backward-share of T (default 0.5, an assumption: the backward pass of these recurrent and
    attention encoders costs about as much as the forward pass and the data preparation
    together), so only what does not fit in that window, and at least the last bucket, is added:
    step_overlap(W) = T + small + max(last, buckets - backward-share * T)
    buckets = 2 (W - 1) / W * 4 P / BW + n * 2 (W - 1) a   (n = ceil(4 P / bucket bytes))
    last = the allreduce of one bucket of min(bucket bytes, 4 P)
Throughput: W * B / step(W) examples (sequences) per second, against B / T for one machine.
The links: 10 Gb/s with a = 50 us and 100 Gb/s with a = 20 us (TCP, as Gloo uses; assumptions,
not measurements). Also printed without the synchronized statistics (N = 1: only the loss
weight), the cost a per-rank-statistics mode would have.
"""
import argparse
import math


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--step-ms", type=float, required=True)
    ap.add_argument("--floats", type=int, required=True)
    ap.add_argument("--small", type=int, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--backward-share", type=float, default=0.5)
    ap.add_argument("--bucket-kb", type=float, default=256)
    a = ap.parse_args()
    T = a.step_ms / 1000.0
    links = [("10 Gb/s", 10e9 / 8, 50e-6), ("100 Gb/s", 100e9 / 8, 20e-6)]
    print(f"{a.name}: step {a.step_ms:.1f} ms on 1 machine, {a.floats:,} floats "
          f"({4 * a.floats / 1e6:.2f} MB) allreduced, {a.small} small collectives per step")
    print(f"(overlap: {a.bucket_kb:g} KiB buckets, backward pass {a.backward_share:g} of the step)")
    print("| W | " + " | ".join(f"{n}: ms/step | speed-up | overlapped: ms/step | no sync: ms/step"
                                  for n, _, _ in links) + " |")
    print("|---|" + "---|---|---|---|" * len(links))

    def ring(W, nbytes, bw, lat):
        return 2 * (W - 1) / W * nbytes / bw + 2 * (W - 1) * lat

    for W in (2, 4, 8, 16, 32, 64):
        cells = []
        for _, bw, lat in links:
            grad = ring(W, 4 * a.floats, bw, lat)
            n = math.ceil(4 * a.floats / (1024 * a.bucket_kb))
            buckets = grad + (n - 1) * 2 * (W - 1) * lat
            last = ring(W, min(1024 * a.bucket_kb, 4 * a.floats), bw, lat)
            small = 2 * (W - 1) * lat
            step = T + grad + a.small * small
            overlapped = T + a.small * small + max(last, buckets - a.backward_share * T)
            nosync = T + grad + 1 * small
            cells.append(f"{1000 * step:.1f} | {W * T / step:.1f}x | {1000 * overlapped:.1f} | "
                         f"{1000 * nosync:.1f}")
        print(f"| {W} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
