#!/usr/bin/env python3
"""Table and plot of scripts/experiments/pretrain_benefit.sh results (issue 6).

Reads OUT/<data>/<arm>/frac<F>_seed<S>/test.json (`bytelite eval --json` of the int8 model on
the test set) for each OUT given and prints, per encoder (OUT), dataset, label fraction and arm
(scratch / pretrained), the mean test macro-F1 and ROC AUC over seeds with the spread (min-max)
and the number of seeds, as a Markdown table. Beside them, the validation macro-F1 and ROC AUC
of the checkpoint the run kept (summary.json's best_step, read from the run's train_log.jsonl;
the numbers every choice is made on), "-" where a run has no training log. OUT may carry a label for the table and the plot
as OUT=LABEL (default: the directory's name). With --plot FILE it draws macro-F1 against the
fraction of training labels (mean, min-max bars), one panel per dataset, one line per encoder
and arm. With --per-run it prints, after the table, one row per run: the kept checkpoint's epoch
and step, the training steps run, the mean training loss of the first and of the last epoch
(train_log.jsonl), and the validation and test macro-F1. With --curves it prints the mean
validation macro-F1 per epoch over the seeds still training at that epoch, per fraction and arm.

Usage: /usr/bin/python3 scripts/pretrain_benefit_table.py OUT[=LABEL]... [--plot FILE.png] [--per-run] [--curves]
e.g.   /usr/bin/python3 scripts/pretrain_benefit_table.py runs/pretrain_benefit=ByteQRNN \\
           runs/pretrain_benefit_transformer="ByteTransformer-L" --plot docs/pretrain_label_efficiency.png
"""
import glob
import json
import os
import re
import sys
from collections import defaultdict


def valid_metrics(run_dir):
    """(macro_f1, roc_auc) on validation at the kept checkpoint (summary.json's best_step), or None."""
    try:
        with open(os.path.join(run_dir, "summary.json")) as f:
            best = json.load(f)["best_step"]
        with open(os.path.join(run_dir, "train_log.jsonl")) as f:
            for line in f:
                row = json.loads(line)
                if row.get("step") == best and "valid" in row:
                    return row["valid"]["macro_f1"], row["valid"]["roc_auc"]
    except (OSError, KeyError, ValueError):
        return None
    return None


def run_row(run_dir):
    """Per-run training summary from train_log.jsonl / summary.json, or None without them."""
    try:
        with open(os.path.join(run_dir, "summary.json")) as f:
            summary = json.load(f)
        with open(os.path.join(run_dir, "train_log.jsonl")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return None
    epochs = [r for r in rows if "epoch" in r and "train_loss" in r]
    if not epochs:
        return None
    best = [r for r in epochs if r.get("step") == summary.get("best_step")]
    return {"best_epoch": best[0]["epoch"] if best else "-", "best_step": summary.get("best_step"),
            "steps": summary.get("steps"), "loss_first": epochs[0]["train_loss"],
            "loss_last": epochs[-1]["train_loss"], "epochs": epochs[-1]["epoch"]}


def load(out, label, res, valid):
    """Adds (label, data, arm, frac) -> [(macro_f1, auc)] for the runs under out (test), and the
    same key -> [(macro_f1, auc)] to valid for the runs whose validation metrics are found."""
    n = 0
    for path in glob.glob(os.path.join(out, "*", "*", "frac*_seed*", "test.json")):
        parts = path.split(os.sep)
        data, arm, run = parts[-4], parts[-3], parts[-2]
        frac = int(re.match(r"frac(\d+)_seed\d+", run).group(1))
        with open(path) as f:
            j = json.load(f)
        res[(label, data, arm, frac)].append((j["macro_f1"], j["roc_auc"]))
        v = valid_metrics(os.path.dirname(path))
        if v is not None:
            valid[(label, data, arm, frac)].append(v)
        n += 1
    return n


def stats(v):
    m = sum(v) / len(v)
    return m, min(v), max(v)


def cell(v):
    """'mean [min, max]' of v, or '-' for no values."""
    return "%.3f [%.3f, %.3f]" % stats(v) if v else "-"


def main():
    args = sys.argv[1:]
    plot = None
    per_run = "--per-run" in args
    curves = "--curves" in args
    args = [a for a in args if a not in ("--per-run", "--curves")]
    if "--plot" in args:
        i = args.index("--plot")
        if i + 1 >= len(args):
            sys.exit("--plot: expected an output file name, found nothing")
        plot = args[i + 1]
        del args[i:i + 2]
    if not args:
        sys.exit(__doc__)
    res = defaultdict(list)
    valid = defaultdict(list)
    labels = []
    for a in args:
        out, _, label = a.partition("=")
        label = label or os.path.basename(os.path.normpath(out))
        if load(out, label, res, valid) == 0:
            sys.exit(out + ": expected runs with test.json (OUT/<data>/<arm>/frac<F>_seed<S>/), found none")
        labels.append(label)
    print("| encoder | data | labels | arm | seeds | valid macro-F1 mean [min, max] | valid ROC AUC"
          " mean [min, max] | test macro-F1 mean [min, max] | test ROC AUC mean [min, max] |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in sorted(res, key=lambda k: (labels.index(k[0]), k[1], k[3], k[2] != "scratch")):
        label, data, arm, frac = key
        print("| %s | %s | %d%% | %s | %d | %s | %s | %s | %s |"
              % (label, data, frac, arm, len(res[key]),
                 cell([x[0] for x in valid[key]]), cell([x[1] for x in valid[key]]),
                 cell([x[0] for x in res[key]]), cell([x[1] for x in res[key]])))
    if per_run:
        print()
        print("| encoder | data | labels | arm | seed | kept epoch (step) | epochs run (steps) |"
              " train loss, epoch 1 | train loss, last epoch | valid macro-F1 | test macro-F1 |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for a in args:
            out, _, label = a.partition("=")
            label = label or os.path.basename(os.path.normpath(out))
            for path in sorted(glob.glob(os.path.join(out, "*", "*", "frac*_seed*", "test.json")),
                               key=lambda p: (p.split(os.sep)[-4],
                                              int(re.search(r"frac(\d+)", p).group(1)),
                                              p.split(os.sep)[-3] != "scratch", p)):
                parts = path.split(os.sep)
                m = re.match(r"frac(\d+)_seed(\d+)", parts[-2])
                r = run_row(os.path.dirname(path))
                v = valid_metrics(os.path.dirname(path))
                with open(path) as f:
                    t = json.load(f)["macro_f1"]
                if r is None:
                    print("| %s | %s | %s%% | %s | %s | - | - | - | - | - | %.3f |"
                          % (label, parts[-4], m.group(1), parts[-3], m.group(2), t))
                    continue
                print("| %s | %s | %s%% | %s | %s | %s (%s) | %s (%s) | %.3f | %.3f | %s | %.3f |"
                      % (label, parts[-4], m.group(1), parts[-3], m.group(2), r["best_epoch"],
                         r["best_step"], r["epochs"], r["steps"], r["loss_first"], r["loss_last"],
                         "%.3f" % v[0] if v else "-", t))
    if curves:
        print()
        print("| encoder | data | labels | arm | validation macro-F1 by epoch (mean of the seeds still training) |")
        print("|---|---|---|---|---|")
        for a in args:
            out, _, label = a.partition("=")
            label = label or os.path.basename(os.path.normpath(out))
            runs = defaultdict(list)
            for path in glob.glob(os.path.join(out, "*", "*", "frac*_seed*", "train_log.jsonl")):
                parts = path.split(os.sep)
                frac = int(re.match(r"frac(\d+)_seed\d+", parts[-2]).group(1))
                with open(path) as f:
                    rows = [json.loads(line) for line in f if line.strip()]
                runs[(parts[-4], frac, parts[-3])].append(
                    [r["valid"]["macro_f1"] for r in rows if "epoch" in r and "valid" in r])
            for key in sorted(runs, key=lambda k: (k[0], k[1], k[2] != "scratch")):
                cs = runs[key]
                means = []
                for i in range(max(len(c) for c in cs)):
                    v = [c[i] for c in cs if len(c) > i]
                    means.append("%.3f" % (sum(v) / len(v)))
                print("| %s | %s | %d%% | %s | %s |" % (label, key[0], key[1], key[2], " ".join(means)))
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        datasets = sorted({k[1] for k in res})
        fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4), squeeze=False)
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for ax, data in zip(axes[0], datasets):
            for li, label in enumerate(labels):
                for ai, (arm, style) in enumerate((("scratch", "o--"), ("pretrained", "s-"))):
                    fr = sorted(k[3] for k in res if k[:3] == (label, data, arm))
                    if not fr:
                        continue
                    st = [stats([x[0] for x in res[(label, data, arm, f)]]) for f in fr]
                    # a small horizontal offset per line keeps the min-max bars apart
                    shift = 1.0 + 0.025 * (2 * li + ai - len(labels) + 0.5)
                    ax.errorbar([f * shift for f in fr], [s[0] for s in st],
                                yerr=[[s[0] - s[1] for s in st], [s[2] - s[0] for s in st]],
                                fmt=style, color=colors[li % len(colors)], capsize=3,
                                label="%s %s" % (label, arm))
            ax.set_xscale("log")
            ax.set_xticks([10, 30, 100])
            ax.set_xticklabels(["10%", "30%", "100%"])
            ax.set_xlim(8, 125)
            ax.set_xlabel("training labels used")
            ax.set_ylabel("test macro-F1, int8 model (mean, min-max of seeds)")
            ax.set_title({"olid": "OLID (OffensEval 2019)", "davidson": "Davidson et al. 2017"}.get(data, data))
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(plot, dpi=110)
        print("wrote " + plot)


if __name__ == "__main__":
    main()
