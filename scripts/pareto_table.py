#!/usr/bin/env python3
"""Builds the Pareto table of issue 16 item 5 from what scripts/pareto.sh leaves in RUN_DIR.

Usage: /usr/bin/python3 scripts/pareto_table.py RUN_DIR PEERS_DIR LINES
  RUN_DIR/<name>_s<seed>/: model.blt, config.json, summary.json, valid_metrics_int8.json,
    test_metrics_int8.json (the one test read, `bytelite eval --json`), for seeds 1-3
  RUN_DIR/speed/results.txt: "ROUND NAME wall_s user_s sys_s maxrss_kB" per whole process
  PEERS_DIR/peers.json: fastText (.bin, .ftz) and TF-IDF + LR test results (scripts/peers.sh)
  LINES: lines of the speed input
Writes RUN_DIR/pareto.md and RUN_DIR/pareto.json and prints the Markdown.

Quality: test macro-F1 of the int8 model, mean [min, max] over seeds 1-3 (one deterministic run
for TF-IDF + LR). Speed: lines per CPU-second (user + system time of the whole process, on core
0) and lines per wall-clock second, medians over the rounds; "vs fastText" is the median over
rounds of the per-round ratio of lines per CPU-second to fastText .ftz's in the same round (CPU
time, because the machine is shared: wall time measures the share of the core a process got).
Pareto fronts: a row is on a front when no other row is at least as good in both quantities and
better in one (macro-F1 higher; lines per CPU-second higher, or model file smaller).
"""
import json
import os
import statistics as st
import sys

# name -> (short description of what differs from the recipe's config, config file)
DESC = {
    "main_job": "ByteQRNN width 32, distilled from the char n-gram teacher with the unlabelled tweets: the shipped main-job recipe (`configs/byteqrnn_w32_distill_olid.json`)",
    "byteqrnn_full": "ByteQRNN, width 64, no teacher: the main-job recipe until this stop (`configs/byteqrnn_olid.json`)",
    "byteqrnn_w32_full": "ByteQRNN, width 32 (embedding, bottleneck, state), no teacher",
    "pqrnn_full": "pQRNN, projection 512 (`configs/pqrnn_olid.json`)",
    "pqrnn_s32_full": "pQRNN, projection 512, state 32",
    "byteqrnn": "ByteQRNN (`configs/byteqrnn_olid.json`)",
    "byteqrnn_ds4": "ByteQRNN, GBST downsampling rate 4",
    "byteqrnn_w32": "ByteQRNN, width 32 (embedding, bottleneck, state)",
    "byteqrnn_l1": "ByteQRNN, 1 QRNN layer",
    "byteqrnn_w32_ds4": "ByteQRNN, width 32, GBST downsampling rate 4",
    "pqrnn_f128": "pQRNN, projection 128",
    "pqrnn_f256": "pQRNN, projection 256",
    "pqrnn_f512": "pQRNN, projection 512 (`configs/pqrnn_olid.json`)",
    "pqrnn_f512_s32": "pQRNN, projection 512, state 32",
    "pqrnn_f512_l1": "pQRNN, projection 512, 1 QRNN layer",
}
ORDER = list(DESC)


def mean_range(v, digits=3):
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{st.mean(v):.{digits}f} [{min(v):.{digits}f}, {max(v):.{digits}f}]"


def front(rows, key_f1, key_other, larger_better):
    """Names of the rows no other row dominates (f1 higher or equal, other better or equal,
    one of them strictly)."""
    pts = [(r["name"], r[key_f1], r[key_other]) for r in rows if r.get(key_other) is not None]
    out = set()
    for n, f, o in pts:
        def better_eq(o2):
            return o2 >= o if larger_better else o2 <= o

        def better(o2):
            return o2 > o if larger_better else o2 < o
        dominated = any(f2 >= f and better_eq(o2) and (f2 > f or better(o2))
                        for n2, f2, o2 in pts if n2 != n)
        if not dominated:
            out.add(n)
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: pareto_table.py RUN_DIR PEERS_DIR LINES")
    run_dir, peers_dir, lines = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rows = []
    for name in ORDER:
        seeds = [s for s in (1, 2, 3) if os.path.isfile(f"{run_dir}/{name}_s{s}/test_metrics_int8.json")]
        if not seeds:
            continue
        f1, auc, valid = [], [], []
        for s in seeds:
            d = f"{run_dir}/{name}_s{s}"
            t = json.load(open(f"{d}/test_metrics_int8.json"))
            f1.append(t["macro_f1"])
            auc.append(t["roc_auc"])
            valid.append(json.load(open(f"{d}/valid_metrics_int8.json"))["macro_f1"])
        d1 = f"{run_dir}/{name}_s{seeds[0]}"
        summ = json.load(open(f"{d1}/summary.json"))
        m = json.load(open(f"{d1}/config.json"))["config"]["model"]
        steps = json.load(open(f"{d1}/config.json"))["config"]["train"]["max_steps"]
        rows.append({
            "name": name, "desc": DESC[name], "seeds": seeds, "test_macro_f1": f1,
            "test_roc_auc": auc, "valid_macro_f1": valid, "f1": st.mean(f1),
            "bytes": os.path.getsize(f"{d1}/model.blt"), "parameters": summ["parameters"],
            "budget": (f"{steps} steps" if steps
                       else f"full recipe (seed {seeds[0]}: {summ['steps']} steps)"),
            "model": {k: m.get(k) for k in ("encoder", "embedding_size", "bottleneck_size",
                                             "qrnn_state_size", "qrnn_layers",
                                             "gbst_downsample_rate",
                                             "projection_feature_size")},
        })
    peers = json.load(open(f"{peers_dir}/peers.json"))["results"]["olid"]
    for key, name, desc in (("fasttext_ftz", "fasttext_ftz", "fastText `.ftz` (quantized)"),
                            ("fasttext", "fasttext_bin", "fastText `.bin`"),
                            ("tfidf_lr", "tfidf_lr", "char 2-5-gram TF-IDF + LR")):
        runs = peers[key]["runs"]
        f1 = [r["macro_f1"] for r in runs]
        rows.append({"name": name, "desc": desc, "seeds": list(range(1, len(runs) + 1)),
                     "test_macro_f1": f1, "test_roc_auc": [r["roc_auc"] for r in runs],
                     "valid_macro_f1": [r["valid"] for r in runs], "f1": st.mean(f1),
                     "bytes": runs[0]["bytes"], "parameters": None, "budget": "peer benchmark"})
    # speed
    res = {}
    for line in open(f"{run_dir}/speed/results.txt"):
        rnd, name, wall, user, sys_, kb = line.split()
        res.setdefault(name, {})[rnd] = (lines / (float(user) + float(sys_)),
                                         lines / float(wall), int(kb) / 1024)
    ft = res.get("fasttext_ftz", {})
    for r in rows:
        s = res.get(r["name"])
        if not s:
            r["cpu_rate"] = None
            continue
        r["cpu_rate"] = st.median(x[0] for x in s.values())
        r["wall_rate"] = st.median(x[1] for x in s.values())
        r["rss_mb"] = st.median(x[2] for x in s.values())
        r["vs_ftz"] = st.median(s[k][0] / ft[k][0] for k in s if k in ft)
        r["vs_ftz_wall"] = st.median(s[k][1] / ft[k][1] for k in s if k in ft)
        r["rounds"] = len(s)
    speed_front = front(rows, "f1", "cpu_rate", True)
    for r in rows:
        r["size_mb"] = r["bytes"] / 1e6
    size_front = front(rows, "f1", "size_mb", False)
    for r in rows:
        r["front_speed"] = r["name"] in speed_front
        r["front_size"] = r["name"] in size_front

    out = ["| model | training | test macro-F1 | valid macro-F1 | lines/CPU-s (one core) | "
           "vs fastText `.ftz` | lines/s (wall) | model file | peak RSS | front: F1 x speed | "
           "front: F1 x size |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        seeds = f"{len(r['seeds'])} seeds" if len(r["seeds"]) > 1 else "1 run"
        speed = ("not measured", "-", "-", "-") if r["cpu_rate"] is None else (
            f"{r['cpu_rate']:,.0f}", f"{r['vs_ftz']:.2f}x", f"{r['wall_rate']:,.0f}",
            f"{r['rss_mb']:.1f} MB")
        size = (f"{r['bytes'] / 1e3:,.0f} kB" if r["bytes"] < 1e6 else f"{r['bytes'] / 1e6:.2f} MB")
        out.append(f"| {r['desc']} | {r['budget']}, {seeds} | {mean_range(r['test_macro_f1'])} | "
                   f"{st.mean(r['valid_macro_f1']):.3f} | {speed[0]} | {speed[1]} | {speed[2]} | "
                   f"{size} | {speed[3]} | {'**yes**' if r['front_speed'] else ''} | "
                   f"{'**yes**' if r['front_size'] else ''} |")
    load = ""
    for when in ("before", "after"):
        p = f"{run_dir}/speed/load_{when}.txt"
        if os.path.isfile(p):
            load += f"load {when}: {open(p).read().split('load average:')[-1].strip()}; "
    rounds = max((r.get("rounds", 0) for r in rows), default=0)
    out.append("")
    out.append(f"Speed: {lines:,} lines (OLID's test texts repeated), whole processes on core 0, "
               f"medians of {rounds} interleaved rounds; {load.rstrip('; ')} (1-minute, 5-minute, "
               "15-minute averages).")
    md = "\n".join(out) + "\n"
    with open(f"{run_dir}/pareto.md.tmp", "w") as f:
        f.write(md)
    os.replace(f"{run_dir}/pareto.md.tmp", f"{run_dir}/pareto.md")
    with open(f"{run_dir}/pareto.json.tmp", "w") as f:
        json.dump({"lines": lines, "rows": rows}, f, indent=1)
    os.replace(f"{run_dir}/pareto.json.tmp", f"{run_dir}/pareto.json")
    print(md, end="")


if __name__ == "__main__":
    main()
