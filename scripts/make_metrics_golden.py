#!/usr/bin/python3
"""Writes tests/golden/metrics_golden.json: deterministic metric inputs and scikit-learn's outputs.

tests/test_metrics.cc reads the file and checks src/core/metrics.cc against it (within 1e-9).
Run with Debian's python3 (python3-numpy, python3-sklearn):

    /usr/bin/python3 scripts/make_metrics_golden.py [--out tests/golden/metrics_golden.json]

Scores and targets are float32 values (the C++ code uses float), written as the exact doubles, so
both sides see the same numbers and the same ties. Predictions follow bytelite::predict_labels:
binary with one threshold t -> class 1 iff p1 >= t; otherwise argmax (lowest index on ties);
multi-label -> p >= threshold (0.5 by default); multi-label truth is target >= 0.5.
"""

import argparse
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, average_precision_score, f1_score,
                             precision_recall_fscore_support, roc_auc_score)

TARGET_THRESHOLD = np.float32(0.5)


def f32(a):
    return np.asarray(a, dtype=np.float64).astype(np.float32)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def predict(scores, multilabel, thresholds):
    """scores: float32 (N, L)."""
    if multilabel:
        t = (np.full(scores.shape[1], 0.5, dtype=np.float32) if not thresholds
             else f32(thresholds))
        return (scores >= t[None, :]).astype(np.int64)
    if scores.shape[1] == 2 and len(thresholds) == 1:
        return (scores[:, 1] >= np.float32(thresholds[0])).astype(np.int64)
    return np.argmax(scores, axis=1)


def truth_matrix(case_scores, labels, targets, multilabel):
    n, num = case_scores.shape
    if multilabel:
        return (targets >= TARGET_THRESHOLD).astype(np.int64)
    y = np.zeros((n, num), dtype=np.int64)
    y[np.arange(n), labels] = 1
    return y


def expected_metrics(scores, labels, targets, multilabel, thresholds, probabilities_sum_to_one):
    n, num = scores.shape
    s64 = scores.astype(np.float64)
    Y = truth_matrix(scores, labels, targets, multilabel)
    pred = predict(scores, multilabel, thresholds)
    pred05 = predict(scores, multilabel, [])
    per = []
    if multilabel:
        p, r, f, sup = precision_recall_fscore_support(Y, pred, average=None, zero_division=0)
        acc = accuracy_score(Y, pred)
        macro = f1_score(Y, pred, average="macro", zero_division=0)
        weighted = f1_score(Y, pred, average="weighted", zero_division=0)
        macro05 = f1_score(Y, pred05, average="macro", zero_division=0)
    else:
        lab = list(range(num))
        p, r, f, sup = precision_recall_fscore_support(labels, pred, labels=lab, average=None,
                                                       zero_division=0)
        acc = accuracy_score(labels, pred)
        macro = f1_score(labels, pred, labels=lab, average="macro", zero_division=0)
        weighted = f1_score(labels, pred, labels=lab, average="weighted", zero_division=0)
        macro05 = f1_score(labels, pred05, labels=lab, average="macro", zero_division=0)
    for c in range(num):
        per.append({
            "roc_auc": float(roc_auc_score(Y[:, c], s64[:, c])),
            "pr_auc": float(average_precision_score(Y[:, c], s64[:, c])),
            "precision": float(p[c]),
            "recall": float(r[c]),
            "f1": float(f[c]),
            "support": int(sup[c]),
        })
    if not multilabel and num == 2:
        auc = roc_auc_score(labels, s64[:, 1])
        ap = average_precision_score(labels, s64[:, 1])
    elif not multilabel:
        if probabilities_sum_to_one:
            auc = roc_auc_score(labels, s64, multi_class="ovr", average="macro")
        else:  # sklearn's ovr check needs rows summing to 1; ovr macro is the mean of these
            auc = np.mean([roc_auc_score(Y[:, c], s64[:, c]) for c in range(num)])
        ap = average_precision_score(Y, s64, average="macro")
    else:
        auc = roc_auc_score(Y, s64, average="macro")
        ap = average_precision_score(Y, s64, average="macro")
    return {
        "roc_auc": float(auc),
        "pr_auc": float(ap),
        "accuracy": float(acc),
        "macro_f1": float(macro),
        "macro_f1_at_0.5": float(macro05),
        "weighted_f1": float(weighted),
        "per_label": per,
    }


def make_case(name, scores, labels=None, targets=None, thresholds=(),
              probabilities_sum_to_one=False):
    scores = f32(scores)
    multilabel = targets is not None
    if multilabel:
        targets = f32(targets)
    else:
        labels = np.asarray(labels, dtype=np.int64)
    thresholds = [float(np.float32(t)) for t in thresholds]
    case = {
        "name": name,
        "multilabel": multilabel,
        "num_labels": int(scores.shape[1]),
        "target_threshold": float(TARGET_THRESHOLD),
        "thresholds": thresholds,
        "scores": [float(v) for v in scores.ravel()],
    }
    if multilabel:
        case["targets"] = [float(v) for v in targets.ravel()]
    else:
        case["labels"] = [int(v) for v in labels]
    case["expected"] = expected_metrics(scores, labels, targets, multilabel, thresholds,
                                        probabilities_sum_to_one)
    return case


def binary_scores(rng, y, noise, decimals=None):
    p1 = 1.0 / (1.0 + np.exp(-(2.0 * y - 1.0) * 1.2 - rng.normal(0, noise, size=len(y))))
    if decimals is not None:
        p1 = np.round(p1, decimals)
    return np.stack([1.0 - p1, p1], axis=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "golden",
                                                  "metrics_golden.json"))
    args = ap.parse_args()
    rng = np.random.RandomState(20240607)
    cases = []

    # 1. Binary, scores rounded to 1 decimal: a handful of distinct values, many ties.
    y = (rng.rand(200) < 0.35).astype(int)
    cases.append(make_case("binary_many_ties", binary_scores(rng, y, 1.5, decimals=1), labels=y,
                           thresholds=[0.5]))
    # 2. Binary, 2-decimal scores (ties), a non-default threshold.
    y = (rng.rand(300) < 0.3).astype(int)
    cases.append(make_case("binary_2dec_threshold", binary_scores(rng, y, 2.0, decimals=2),
                           labels=y, thresholds=[0.37]))
    # 3. Binary, continuous float32 scores, no threshold (argmax).
    y = (rng.rand(500) < 0.5).astype(int)
    cases.append(make_case("binary_random_argmax", binary_scores(rng, y, 2.5), labels=y))
    # 4. Binary, mostly uninformative: precision/recall of class 1 can be 0 (zero_division).
    y = (rng.rand(60) < 0.2).astype(int)
    s = np.round(rng.rand(60) * 0.45, 2)  # p1 < 0.5: class 1 never predicted at 0.5
    cases.append(make_case("binary_never_positive", np.stack([1 - s, s], axis=1), labels=y,
                           thresholds=[0.5]))
    # 5. 3-class softmax probabilities (continuous).
    y = rng.randint(0, 3, size=300)
    z = rng.normal(0, 1.3, size=(300, 3))
    z[np.arange(300), y] += 1.0
    cases.append(make_case("multiclass3_softmax", softmax(z), labels=y,
                           probabilities_sum_to_one=True))
    # 6. 3-class scores rounded to 2 decimals (ties, including argmax ties), unbalanced.
    y = rng.choice(3, size=240, p=[0.1, 0.6, 0.3])
    z = rng.normal(0, 1.0, size=(240, 3))
    z[np.arange(240), y] += 0.8
    cases.append(make_case("multiclass3_rounded", np.round(softmax(z), 2), labels=y))
    # 7. Multi-label, 4 labels, fractional targets (share of 3 or 5 annotators), 2-dec scores.
    n, L = 250, 4
    votes = rng.choice([3, 5], size=(n, 1))
    prevalence = np.array([0.15, 0.3, 0.5, 0.08])
    k = rng.binomial(votes, prevalence[None, :] * 1.2)
    targets = k / votes
    scores = np.round(1 / (1 + np.exp(-(3 * (targets - 0.4) + rng.normal(0, 1.0, (n, L))))), 2)
    cases.append(make_case("multilabel_fractional", scores, targets=targets,
                           thresholds=[0.5, 0.3, 0.6, 0.45]))
    # 8. Multi-label with 0/1 targets, continuous scores, default thresholds.
    n, L = 180, 3
    targets = (rng.rand(n, L) < np.array([0.2, 0.5, 0.35])).astype(float)
    scores = 1 / (1 + np.exp(-(2 * targets - 1 + rng.normal(0, 1.2, (n, L)))))
    cases.append(make_case("multilabel_binary_targets", scores, targets=targets))

    out = {
        "generator": "scripts/make_metrics_golden.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    for c in cases:
        e = c["expected"]
        print(f"{c['name']:28s} n={len(c['scores']) // c['num_labels']:4d} "
              f"auc={e['roc_auc']:.4f} ap={e['pr_auc']:.4f} macro_f1={e['macro_f1']:.4f} "
              f"acc={e['accuracy']:.4f}")
    print("wrote", os.path.normpath(args.out))


if __name__ == "__main__":
    main()
