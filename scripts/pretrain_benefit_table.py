#!/usr/bin/env python3
"""Table and plot of scripts/experiments/pretrain_benefit.sh results (issue 6).

Reads OUT/<data>/<arm>/frac<F>_seed<S>/test.json (`bytelite eval --json` of the int8 model on
the test set) and prints, per dataset, label fraction and arm (scratch / pretrained), the mean
test macro-F1 and ROC AUC over seeds with the spread (min-max) and the number of seeds, as a
Markdown table. With --plot FILE it draws macro-F1 against the fraction of training labels
(mean, min-max bars), one panel per dataset.

Usage: /usr/bin/python3 scripts/pretrain_benefit_table.py OUT [--plot docs/pretrain_label_efficiency.png]
"""
import glob
import json
import os
import re
import sys
from collections import defaultdict


def load(out):
    res = defaultdict(list)  # (data, arm, frac) -> [(macro_f1, auc)]
    for path in glob.glob(os.path.join(out, "*", "*", "frac*_seed*", "test.json")):
        parts = path.split(os.sep)
        data, arm, run = parts[-4], parts[-3], parts[-2]
        frac = int(re.match(r"frac(\d+)_seed\d+", run).group(1))
        with open(path) as f:
            j = json.load(f)
        res[(data, arm, frac)].append((j["macro_f1"], j["roc_auc"]))
    return res


def stats(v):
    m = sum(v) / len(v)
    return m, min(v), max(v)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    plot = sys.argv[sys.argv.index("--plot") + 1] if "--plot" in sys.argv else None
    res = load(out)
    if not res:
        sys.exit(out + ": expected runs with test.json, found none")
    print("| data | labels | arm | seeds | test macro-F1 mean [min, max] | ROC AUC mean [min, max] |")
    print("|---|---|---|---|---|---|")
    for key in sorted(res, key=lambda k: (k[0], k[2], k[1] != "scratch")):
        data, arm, frac = key
        f1 = stats([x[0] for x in res[key]])
        auc = stats([x[1] for x in res[key]])
        print("| %s | %d%% | %s | %d | %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] |"
              % (data, frac, arm, len(res[key]), *f1, *auc))
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        datasets = sorted({k[0] for k in res})
        fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.6), squeeze=False)
        for ax, data in zip(axes[0], datasets):
            for arm, style in (("scratch", "o--"), ("pretrained", "s-")):
                fr = sorted(k[2] for k in res if k[0] == data and k[1] == arm)
                if not fr:
                    continue
                st = [stats([x[0] for x in res[(data, arm, f)]]) for f in fr]
                ax.errorbar(fr, [s[0] for s in st],
                            yerr=[[s[0] - s[1] for s in st], [s[2] - s[0] for s in st]],
                            fmt=style, capsize=3, label=arm)
            ax.set_xscale("log")
            ax.set_xticks([10, 30, 100])
            ax.set_xticklabels(["10%", "30%", "100%"])
            ax.set_xlabel("training labels used")
            ax.set_ylabel("test macro-F1 (int8)")
            ax.set_title(data)
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        fig.savefig(plot, dpi=110)
        print("wrote " + plot)


if __name__ == "__main__":
    main()
