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
    step(W) = T + gradient + small        (no overlap of communication with compute: bytelite
                                           allreduces after the backward pass)
Throughput: W * B / step(W) examples (sequences) per second, against B / T for one machine.
The links: 10 Gb/s with a = 50 us and 100 Gb/s with a = 20 us (TCP, as Gloo uses; assumptions,
not measurements). Also printed without the synchronized statistics (N = 1: only the loss
weight), the cost a per-rank-statistics mode would have.
"""
import argparse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--step-ms", type=float, required=True)
    ap.add_argument("--floats", type=int, required=True)
    ap.add_argument("--small", type=int, required=True)
    ap.add_argument("--batch", type=int, default=32)
    a = ap.parse_args()
    T = a.step_ms / 1000.0
    links = [("10 Gb/s", 10e9 / 8, 50e-6), ("100 Gb/s", 100e9 / 8, 20e-6)]
    print(f"{a.name}: step {a.step_ms:.1f} ms on 1 machine, {a.floats:,} floats "
          f"({4 * a.floats / 1e6:.2f} MB) allreduced, {a.small} small collectives per step")
    print("| W | " + " | ".join(f"{n}: ms/step | speed-up | no sync: ms/step"
                                  for n, _, _ in links) + " |")
    print("|---|" + "---|---|---|" * len(links))
    for W in (2, 4, 8, 16, 32, 64):
        cells = []
        for _, bw, lat in links:
            grad = 2 * (W - 1) / W * 4 * a.floats / bw + 2 * (W - 1) * lat
            small = 2 * (W - 1) * lat
            step = T + grad + a.small * small
            nosync = T + grad + 1 * small
            cells.append(f"{1000 * step:.1f} | {W * T / step:.1f}x | {1000 * nosync:.1f}")
        print(f"| {W} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
