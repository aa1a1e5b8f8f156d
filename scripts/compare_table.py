#!/usr/bin/env python3
"""Prints the encoder comparison table (README) from scripts/experiments/compare_encoders.sh
output: OUT/<dataset>_<encoder>/{test_metrics_int8.json, test_metrics.json, summary.json,
bench.json, model.blt}. Usage: python3 scripts/compare_table.py runs/compare"""
import json
import os
import sys

NAMES = {"qrnn": "ByteQRNN", "transformer": "ByteTransformer", "funnel": "ByteFunnelTransformer"}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def bench_speeds(out):
    """examples/s per model file from OUT/bench_<dataset>.json (bench --model ... --compare ...)."""
    speeds = {}
    for ds in ("olid", "davidson"):
        b = load(os.path.join(out, f"bench_{ds}.json"))
        if b is None:
            continue
        speeds[os.path.normpath(b["model"])] = b["examples_per_s"]
        for c in b.get("compare", []):
            speeds[os.path.normpath(c["model"])] = c["examples_per_s"]
    return speeds


def main(out):
    rows = []
    speeds = bench_speeds(out)
    for ds in ("olid", "davidson"):
        for enc in ("qrnn", "transformer", "funnel"):
            d = os.path.join(out, f"{ds}_{enc}")
            m = load(os.path.join(d, "test_metrics_int8.json"))
            if m is None:
                continue
            s = load(os.path.join(d, "summary.json")) or {}
            size = os.path.getsize(os.path.join(d, "model.blt"))
            labels = {p["name"]: p for p in m.get("per_label", [])}
            hate = labels.get("hate", {}).get("f1")
            eps = speeds.get(os.path.normpath(os.path.join(d, "model.blt")))
            rows.append((ds, NAMES[enc], m["macro_f1"], m["roc_auc"], m["weighted_f1"], hate,
                         s.get("parameters"), size, eps, s.get("train_seconds")))
    print("| data | encoder | test macro-F1 | ROC AUC | weighted F1 | hate F1 | parameters "
          "| int8 file (bytes) | int8 examples/s (1 thread) | training time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ds, name, f1, auc, wf1, hate, params, size, eps, secs = r
        print(f"| {ds} | {name} | {f1:.3f} | {auc:.3f} | {wf1:.3f} | "
              f"{'-' if hate is None else f'{hate:.3f}'} | {params if params else '-':,} | "
              f"{size:,} | {'-' if eps is None else f'{eps:,.0f}'} | "
              f"{'-' if not secs else f'{secs / 60:.1f} min'} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/compare")
