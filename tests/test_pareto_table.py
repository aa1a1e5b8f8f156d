#!/usr/bin/python3
"""Tests of scripts/pareto_table.py (ctest: pareto_table_fronts_and_rows) on a made-up run
directory: the Pareto fronts, the seed means and ranges, and the speed ratios against fastText
.ftz computed per round. Run: /usr/bin/python3 tests/test_pareto_table.py
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "pareto_table.py")
spec = importlib.util.spec_from_file_location("pareto_table", SCRIPT)
pareto_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pareto_table)


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))


def make_run(run_dir, name, seed, test_f1, valid_f1, size, max_steps=1200):
    d = os.path.join(run_dir, f"{name}_s{seed}")
    write(f"{d}/test_metrics_int8.json", {"macro_f1": test_f1, "roc_auc": 0.7})
    write(f"{d}/valid_metrics_int8.json", {"macro_f1": valid_f1})
    write(f"{d}/summary.json", {"parameters": 1000, "steps": 2984})
    write(f"{d}/config.json", {"config": {"model": {"encoder": "qrnn"},
                                          "train": {"max_steps": max_steps}}})
    write(f"{d}/model.blt", "x" * size)


class Front(unittest.TestCase):
    def test_dominated_points_are_left_out(self):
        rows = [{"name": "a", "f1": 0.70, "s": 10.0}, {"name": "b", "f1": 0.65, "s": 20.0},
                {"name": "c", "f1": 0.64, "s": 15.0},  # b is better in both: off the front
                {"name": "d", "f1": 0.70, "s": 5.0},   # a ties on F1 and is faster: off
                {"name": "e", "f1": 0.80, "s": None}]  # not measured: left out
        self.assertEqual(pareto_table.front(rows, "f1", "s", True), {"a", "b"})

    def test_smaller_is_better_for_size(self):
        rows = [{"name": "a", "f1": 0.70, "s": 2.0}, {"name": "b", "f1": 0.65, "s": 0.2},
                {"name": "c", "f1": 0.60, "s": 0.3}]
        self.assertEqual(pareto_table.front(rows, "f1", "s", False), {"a", "b"})


class Table(unittest.TestCase):
    def test_rows_ratios_and_fronts(self):
        with tempfile.TemporaryDirectory() as run_dir, tempfile.TemporaryDirectory() as peers:
            for seed, f1 in ((1, 0.60), (2, 0.63), (3, 0.66)):
                make_run(run_dir, "pqrnn_f512", seed, f1, 0.67, 266000)
            for seed, f1 in ((1, 0.70), (2, 0.71), (3, 0.72)):
                make_run(run_dir, "main_job", seed, f1, 0.70, 277000, max_steps=0)
            runs = [{"macro_f1": f, "roc_auc": 0.78, "valid": 0.70, "bytes": 1900000}
                    for f in (0.69, 0.70, 0.71)]
            write(f"{peers}/peers.json", {"results": {"olid": {
                "fasttext_ftz": {"runs": runs}, "fasttext": {"runs": runs},
                "tfidf_lr": {"runs": [{"macro_f1": 0.74, "roc_auc": 0.8, "valid": 0.73,
                                       "bytes": 1950000}]}}}})
            # 1,000 lines; fastText 1 CPU-s in round 1 and 2 CPU-s in round 2 (a slow round);
            # pQRNN 0.5 and 1.0 (2x in both rounds); the main job 2.0 and 8.0 (0.5x and 0.25x)
            write(f"{run_dir}/speed/results.txt", "\n".join([
                "1 pqrnn_f512 1.0 0.4 0.1 6000", "1 main_job 3.0 1.5 0.5 7000",
                "1 fasttext_ftz 2.0 0.9 0.1 9000", "2 pqrnn_f512 2.0 0.9 0.1 6000",
                "2 main_job 9.0 7.0 1.0 7000", "2 fasttext_ftz 3.0 1.5 0.5 9000"]) + "\n")
            r = subprocess.run([sys.executable, SCRIPT, run_dir, peers, "1000"],
                               capture_output=True, text=True, check=True)
            with open(f"{run_dir}/pareto.json", encoding="utf-8") as f:
                rows = {x["name"]: x for x in json.load(f)["rows"]}
        self.assertAlmostEqual(rows["pqrnn_f512"]["f1"], 0.63)
        self.assertAlmostEqual(rows["pqrnn_f512"]["vs_ftz"], 2.0)
        self.assertAlmostEqual(rows["main_job"]["vs_ftz"], 0.375)  # median of 0.5 and 0.25
        self.assertAlmostEqual(rows["main_job"]["cpu_rate"], (1000 / 2.0 + 1000 / 8.0) / 2)
        self.assertAlmostEqual(rows["main_job"]["rss_mb"], 7000 / 1024)
        self.assertIsNone(rows["fasttext_bin"]["cpu_rate"])  # not timed: no speed, no front
        # speed front: pQRNN (fastest), fastText .ftz (1x, F1 0.70) and the main job (slower,
        # F1 0.71): none dominates another; TF-IDF + LR was not timed here
        self.assertTrue(rows["pqrnn_f512"]["front_speed"])
        self.assertTrue(rows["main_job"]["front_speed"])
        self.assertTrue(rows["fasttext_ftz"]["front_speed"])
        # size front: pQRNN 266 kB, main job 277 kB (higher F1), TF-IDF 1.95 MB (highest F1);
        # fastText .ftz (1.9 MB, F1 0.70) is dominated by the main job
        self.assertEqual({n for n, x in rows.items() if x["front_size"]},
                         {"pqrnn_f512", "main_job", "tfidf_lr"})
        md = r.stdout
        self.assertIn("| 0.630 [0.600, 0.660] |", md)
        self.assertIn("| 2.00x |", md)
        self.assertIn("full recipe (seed 1: 2984 steps), 3 seeds", md)
        self.assertIn("1200 steps, 3 seeds", md)


if __name__ == "__main__":
    unittest.main()
