#!/usr/bin/env python3
"""Prints the main job's results table: test metrics of the float and the QAT ByteQRNN on OLID
(one seed: the seed is printed), the spread of the QAT recipe over seeds 1-3 and the peers
trained on the same split (fastText, TF-IDF + LR), both from the peer benchmark's committed
output (bench/peers/results/peers.json, made by scripts/peers.sh).
Reads OUT/{float,qat}/{summary,test_metrics}.json and OUT/seed.
Usage: results_table.py [OUT, default runs/main_job] [PEERS_JSON]"""
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "runs/main_job"
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
peers_path = (sys.argv[2] if len(sys.argv) > 2 else
              os.path.join(root, "bench", "peers", "results", "peers.json"))
seed = open(f"{out}/seed").read().strip() if os.path.exists(f"{out}/seed") else "1 (config)"
peers = json.load(open(peers_path))["results"]["olid"] if os.path.exists(peers_path) else {}


def spread(runs, key, scale=100, fmt="{:.1f}"):
    v = [scale * r[key] for r in runs]
    if len(v) == 1:
        return fmt.format(v[0])
    return f"{fmt.format(sum(v) / len(v))} [{fmt.format(min(v))}, {fmt.format(max(v))}]"


rows = []
for variant in ("float", "qat"):
    s = json.load(open(f"{out}/{variant}/summary.json"))
    t = json.load(open(f"{out}/{variant}/test_metrics.json"))
    blt = f"{out}/{variant}/model.blt"
    size = (f"{os.path.getsize(blt) / 1024:.0f} KiB int8" if os.path.exists(blt) else
            f"{4 * s['parameters'] / 1024:.0f} KiB float32")
    label = variant.upper() if variant == "qat" else variant
    rows.append((f"ByteQRNN {label} (ours, seed {seed})",
                 f"{100 * t['macro_f1']:.1f}", f"{t['roc_auc']:.3f}", f"{100 * t['accuracy']:.1f}",
                 f"{s['parameters']:,}", size,
                 f"{s['train_seconds'] / 60:.1f} min ({s['threads']} "
                 f"thread{'s' if s['threads'] > 1 else ''})"))
names = {"bytelite": "ByteQRNN QAT int8, seeds 1-3 (peer benchmark)",
         "fasttext": "fastText .bin, seeds 1-3 (peer benchmark)",
         "fasttext_ftz": "fastText .ftz quantized, seeds 1-3 (peer benchmark)",
         "tfidf_lr": "char TF-IDF + LR (peer benchmark, deterministic)",
         "use_lite_lr": "USE lite + LR head (peer benchmark)"}
for key, name in names.items():
    runs = peers.get(key, {}).get("runs", [])
    if not runs:
        continue
    if key == "bytelite":
        seeds = [str(r.get("seed", i + 1)) for i, r in enumerate(runs)]
        name = (f"ByteQRNN QAT int8, seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)} "
                "(peer benchmark)")
    b = runs[0].get("bytes")
    ts = [r["train_seconds"] for r in runs if r.get("train_seconds") is not None]
    rows.append((name, spread(runs, "macro_f1"), spread(runs, "roc_auc", 1, "{:.3f}"), "-", "-",
                 (f"{b / 1024:.0f} KiB" if b else "-"),
                 (f"{sum(ts) / len(ts) / 60:.1f} min (1 thread)" if ts else "-")))
head = ("model", "test macro-F1", "ROC AUC", "accuracy", "parameters", "model size",
        "training time")
widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
print(f"OLID (OffensEval-2019 subtask A) test set, 860 tweets; this run: seed {seed}")
for r in [head, tuple("-" * w for w in widths)] + rows:
    print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
blt_runs = peers.get("bytelite", {}).get("runs", [])
peers_rel = os.path.relpath(peers_path)
if len(blt_runs) >= 3:
    print(f"The seed-{seed} QAT number above is one draw: over {len(blt_runs)} seeds (1 thread) "
          "the "
          f"same recipe scores test macro-F1 {spread(blt_runs, 'macro_f1')}, ROC AUC "
          f"{spread(blt_runs, 'roc_auc', 1, '{:.3f}')} (mean [min, max]; {peers_rel}).")
elif blt_runs:
    print(f"The QAT number above is one seed; the peer benchmark ({peers_rel}) has only "
          f"{len(blt_runs)} of the 3 seeds of this recipe so far (1 thread, test macro-F1 "
          f"{spread(blt_runs, 'macro_f1')}, mean [min, max] where more than one).")
else:
    print(f"The QAT number above is one seed; no seed spread found ({peers_rel}: run "
          "scripts/peers.sh and copy its peers.json there).")
print("Peer rows: mean [min, max] over seeds; every choice on validation data "
      "(bench/peers/peers.py). Published leaderboard figures: data/olid/SOURCE.md.")
