#!/usr/bin/python3
"""Tests of scripts/teacher/build_teacher.py's ensemble parts (ctest: build_teacher_ensemble):
the probability average, the validation choice of its weight (against a brute-force macro-F1
over every threshold and scikit-learn's ROC AUC), and the checks of the USE lite embedding cache.
No node, npm package or cached embedding is needed. Run: /usr/bin/python3 tests/test_build_teacher.py
"""

import importlib.util
import io
import os
import tempfile
import unittest
from contextlib import redirect_stdout

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "teacher", "build_teacher.py")
spec = importlib.util.spec_from_file_location("build_teacher", SCRIPT)
bt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bt)

CLASSES = ["not-offensive", "offensive"]


def two_class(p_pos):
    p = np.clip(np.asarray(p_pos, dtype=np.float64), 0.0, 1.0)
    return np.stack([1.0 - p, p], axis=1)


def brute_macro_f1(scores, y):
    """The best macro-F1 over every threshold between two distinct scores (predicted positive
    iff score >= t), counted row by row for each threshold: independent of peers.py's
    cumulative sweep. Checked against scikit-learn's f1_score at the best threshold."""
    u = np.unique(scores)
    ts = (u[1:] + u[:-1]) / 2
    pred = scores[None, :] >= ts[:, None]  # [thresholds, rows]
    pos = y[None, :] == 1
    tp = (pred & pos).sum(1)
    fp = (pred & ~pos).sum(1)
    fn = (~pred & pos).sum(1)
    tn = (~pred & ~pos).sum(1)
    f1 = 0.5 * (2 * tp / (2 * tp + fp + fn) + 2 * tn / (2 * tn + fn + fp))
    k = int(np.argmax(f1))
    assert abs(f1[k] - f1_score(y, pred[k].astype(int), average="macro")) < 1e-12
    return float(f1[k])


class Blend(unittest.TestCase):
    def test_weights_mix_rows_and_keep_sums(self):
        rng = np.random.default_rng(1)
        a, b = two_class(rng.random(50)), two_class(rng.random(50))
        np.testing.assert_array_equal(bt.blend(a, b, 1.0), a)
        np.testing.assert_array_equal(bt.blend(a, b, 0.0), b)
        m = bt.blend(a, b, 0.3)
        np.testing.assert_allclose(m, 0.3 * a + 0.7 * b, rtol=0, atol=1e-15)
        np.testing.assert_allclose(m.sum(1), 1.0, rtol=0, atol=1e-12)
        self.assertAlmostEqual(m[7, 1], 0.3 * a[7, 1] + 0.7 * b[7, 1], places=15)

    def test_weight_outside_unit_interval_is_an_error(self):
        a = two_class([0.2, 0.9])
        for w in (-0.1, 1.5):
            with self.assertRaisesRegex(ValueError, "expected a weight in \\[0, 1\\]"):
                bt.blend(a, a, w)


class ChooseWeight(unittest.TestCase):
    def check_grid(self, a, b, y, w, grid):
        self.assertEqual([g[0] for g in grid], bt.WEIGHTS)
        f1s = []
        for wi, m in grid:
            s = wi * a[:, 1] + (1 - wi) * b[:, 1]
            self.assertAlmostEqual(m["macro_f1"], brute_macro_f1(s, y), places=12, msg=f"w={wi}")
            self.assertAlmostEqual(m["roc_auc"], roc_auc_score(y, s), places=12, msg=f"w={wi}")
            f1s.append(m["macro_f1"])
        self.assertEqual(w, bt.WEIGHTS[int(np.argmax(f1s))])  # the first best in grid order
        return dict(grid)

    def test_a_perfect_member_wins_alone(self):
        rng = np.random.default_rng(2)
        y = rng.integers(0, 2, 400)
        perfect = two_class(0.1 + 0.8 * y)
        noise = two_class(rng.random(400))
        w, grid = bt.choose_weight(perfect, noise, y, CLASSES)
        g = self.check_grid(perfect, noise, y, w, grid)
        # several weights near the perfect member separate the classes; the first of them wins
        self.assertEqual(g[w]["macro_f1"], 1.0)
        self.assertEqual(g[1.0]["macro_f1"], 1.0)
        self.assertGreater(w, 0.5)
        self.assertLess(g[0.0]["macro_f1"], 0.6)
        w, grid = bt.choose_weight(noise, perfect, y, CLASSES)
        g = self.check_grid(noise, perfect, y, w, grid)
        self.assertEqual(w, 0.0)  # the first weight, the perfect member alone
        self.assertEqual(g[w]["macro_f1"], 1.0)

    def test_two_members_with_independent_noise_average_better_than_either(self):
        rng = np.random.default_rng(3)
        y = rng.integers(0, 2, 2000)
        a = two_class(0.5 + 0.15 * (2 * y - 1) + rng.normal(0, 0.2, 2000))
        b = two_class(0.5 + 0.15 * (2 * y - 1) + rng.normal(0, 0.2, 2000))
        w, grid = bt.choose_weight(a, b, y, CLASSES)
        g = self.check_grid(a, b, y, w, grid)
        self.assertGreater(w, 0.0)
        self.assertLess(w, 1.0)
        self.assertGreater(g[w]["macro_f1"], max(g[0.0]["macro_f1"], g[1.0]["macro_f1"]) + 0.01)


class EmbeddingCache(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.cache = self.tmp.name
        self.texts = ["first tweet", "zweiter \u00fcml", "third"]
        self.x = np.arange(3 * 512, dtype="<f4").reshape(3, 512) / 7
        self.saved_dir = bt.USE_DIR
        bt.USE_DIR = os.path.join(self.cache, "no_use_lite_here")  # no npm packages

    def tearDown(self):
        bt.USE_DIR = self.saved_dir
        self.tmp.cleanup()

    def write(self, name, text_bytes, x):
        with open(os.path.join(self.cache, name + ".txt"), "wb") as f:
            f.write(text_bytes)
        if x is not None:
            x.astype("<f4").tofile(os.path.join(self.cache, name + ".f32"))

    def error(self, texts):
        with self.assertRaises(SystemExit) as cm, redirect_stdout(io.StringIO()):
            bt.use_embeddings(self.cache, "set", texts)
        msg = str(cm.exception.code)
        self.assertNotIn("\n", msg)
        return msg

    def test_matching_cache_is_read_exactly(self):
        self.write("set", "".join(t + "\n" for t in self.texts).encode(), self.x)
        got = bt.use_embeddings(self.cache, "set", self.texts)
        np.testing.assert_array_equal(got, self.x.astype(np.float64))

    def test_cached_texts_that_differ_are_an_error(self):
        self.write("set", b"first tweet\nsecond\nthird\n", self.x)
        self.assertRegex(self.error(self.texts),
                         r"set\.txt: expected the 3 texts of set, one per line, found other "
                         r"content \(3 lines\)")

    def test_wrong_embedding_size_is_an_error(self):
        self.write("set", "".join(t + "\n" for t in self.texts).encode(), self.x[:2])
        self.assertRegex(self.error(self.texts),
                         r"set\.f32: expected 3 x 512 float32 \(6144 bytes\), found 4096 bytes")

    def test_non_finite_embedding_is_an_error(self):
        x = self.x.copy()
        x[1, 5] = np.nan
        self.write("set", "".join(t + "\n" for t in self.texts).encode(), x)
        self.assertRegex(self.error(self.texts), r"set\.f32: expected finite values")

    def test_missing_embeddings_without_npm_packages_is_an_error(self):
        self.assertRegex(self.error(self.texts),
                         r"--use-lite: expected .*set\.f32 or node and the npm packages to embed "
                         r"it .*found neither")
        self.assertFalse(os.path.exists(os.path.join(self.cache, "set.txt")))

    def test_a_text_with_a_newline_is_an_error(self):
        self.assertRegex(self.error(["one", "two\nlines"]),
                         r"set: expected texts without CR or LF and not empty")


if __name__ == "__main__":
    unittest.main()
