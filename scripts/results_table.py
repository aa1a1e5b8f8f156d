#!/usr/bin/env python3
"""Prints the main job's results table: test metrics of the float and the QAT ByteQRNN on OLID
beside the published baselines (data/olid/SOURCE.md). Reads OUT/{float,qat}/{summary,test_metrics}.json."""
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "runs/main_job"
rows = []
for variant in ("float", "qat"):
    s = json.load(open(f"{out}/{variant}/summary.json"))
    t = json.load(open(f"{out}/{variant}/test_metrics.json"))
    blt = f"{out}/{variant}/model.blt"
    size = (f"{os.path.getsize(blt) / 1024:.0f} KiB int8" if os.path.exists(blt) else
            f"{4 * s['parameters'] / 1024:.0f} KiB float32")
    rows.append((f"ByteQRNN {variant.upper() if variant == 'qat' else variant} (ours)",
                 f"{100 * t['macro_f1']:.1f}", f"{t['roc_auc']:.3f}", f"{100 * t['accuracy']:.1f}",
                 f"{s['parameters']:,}", size,
                 f"{s['train_seconds'] / 60:.1f} min"))
for name, f1 in (("FastText (TweetEval)", "73.4"), ("LSTM (TweetEval)", "71.7"),
                 ("RoBERTa-base (TweetEval)", "79.5")):
    rows.append((name, f1, "-", "-", "-", "-", "-"))
head = ("model", "test macro-F1", "ROC AUC", "accuracy", "parameters", "model size",
        "training time")
widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
print("OLID (OffensEval-2019 subtask A) test set, 860 tweets")
for r in [head, tuple("-" * w for w in widths)] + rows:
    print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
