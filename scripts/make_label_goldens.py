#!/usr/bin/env python3
"""Make tests/golden/labels.txt: label-F1 goldens from scikit-learn for tests/test_labels.c (1e-12).

Needs (pyenv python3, from PyPI):  pip install scikit-learn numpy scipy
Run from the repository root:       python3 scripts/make_label_goldens.py

Random [n,14] matrices of CheXbert raw classes (0 blank, 1 positive, 2 negative, 3 uncertain),
numpy default_rng(seed); several sizes and class mixes, including conditions with no positives
in GT, in PRED or in both, and all-blank matrices. For each case the file holds the two matrices
(one row per line, 14 digits) and what f1chexbert 0.0.2 and CXR-RePaiR compute from them:

  * rrg mode (positive or uncertain -> 1): sklearn classification_report(output_dict=True) on the
    14 conditions and on the top 5 (columns 1, 4, 5, 7, 9), with sklearn's default zero_division
    ("warn" -> 0.0): per-condition precision/recall/f1/support and the micro/macro/weighted/samples
    averages; accuracy_score on the top 5 (f1chexbert's "accuracy") and on all 14;
  * CXR-RePaiR mode (uncertain -> 0, blank -> 0): f1_score(average="macro") over the 14, and over
    10 bootstrap samples (cases with n <= 200) whose indices are stored in the file (numpy rng.choice), with the
    t-interval half-width of scipy.stats.t.interval(0.95, df=9, loc=mean, scale=st.sem(scores)).

Format: "case NAME N" then N "gt" lines and N "pred" lines, then "key value..." lines, then "end".
The label matrices are random numbers, not derived from any report.
"""
import os
import warnings

import numpy as np
import scipy.stats as st
from sklearn.metrics import accuracy_score, classification_report, f1_score

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden", "labels.txt")
NAMES = ["Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
         "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion",
         "Pleural Other", "Fracture", "Support Devices", "No Finding"]
TOP5 = [1, 4, 5, 7, 9]


def rrg(m):
    return ((m == 1) | (m == 3)).astype(int)


def repair(m):
    return (m == 1).astype(int)


def report_lines(prefix, y, p, names):
    cr = classification_report(y, p, target_names=names, output_dict=True)
    out = []
    for j, nm in enumerate(names):
        d = cr[nm]
        out.append("%s_cond %d %r %r %r %d" % (prefix, j, d["precision"], d["recall"], d["f1-score"], d["support"]))
    for avg in ("micro avg", "macro avg", "weighted avg", "samples avg"):
        d = cr[avg]
        out.append("%s_%s %r %r %r %d" % (prefix, avg.split()[0], d["precision"], d["recall"], d["f1-score"], d["support"]))
    return out


def case(name, gt, pred, rng):
    n = gt.shape[0]
    lines = ["case %s %d" % (name, n)]
    lines += ["gt " + "".join(str(v) for v in row) for row in gt]
    lines += ["pred " + "".join(str(v) for v in row) for row in pred]
    y, p = rrg(gt), rrg(pred)
    lines += report_lines("all", y, p, NAMES)
    lines += report_lines("top5", y[:, TOP5], p[:, TOP5], [NAMES[j] for j in TOP5])
    lines.append("accuracy5 %r" % accuracy_score(y[:, TOP5], p[:, TOP5]))
    lines.append("accuracy14 %r" % accuracy_score(y, p))
    ry, rp = repair(gt), repair(pred)
    lines.append("repair_macro %r" % f1_score(ry, rp, average="macro"))
    if n > 200:  # keep the file small: bootstrap goldens for the smaller cases only
        lines.append("end")
        return lines
    scores = []
    for b in range(10):
        idx = rng.choice(n, size=n, replace=True)
        lines.append("boot %d %s" % (b, " ".join(str(int(i)) for i in idx)))
        scores.append(f1_score(ry[idx, :], rp[idx, :], average="macro"))
    mean = np.mean(scores)
    iv = st.t.interval(0.95, df=len(scores) - 1, loc=mean, scale=st.sem(scores))
    lines.append("boot_scores %s" % " ".join(repr(float(s)) for s in scores))
    lines.append("boot_mean %r" % float(mean))
    lines.append("boot_half %r" % float(mean - iv[0]))
    lines.append("end")
    return lines


def main():
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(20240611)
    cases = []
    for name, n, probs in [
        ("tiny1", 1, None), ("tiny2", 2, None), ("small5", 5, None), ("n10", 10, None), ("n37", 37, None),
        ("n200", 200, None), ("n600", 600, None),
        ("mostly_blank", 300, [0.85, 0.05, 0.07, 0.03]),
        ("no_uncertain", 150, [0.4, 0.3, 0.3, 0.0]),
        ("rare_pos", 400, [0.6, 0.01, 0.38, 0.01]),
    ]:
        gt = rng.choice(4, size=(n, 14), p=probs)
        pred = rng.choice(4, size=(n, 14), p=probs)
        cases.append((name, gt, pred))
    # conditions with no positives: column 3 never positive/uncertain in GT, column 6 never in PRED,
    # column 10 in neither; plus all-blank matrices.
    gt = rng.choice(4, size=(120, 14))
    pred = rng.choice(4, size=(120, 14))
    gt[:, 3] = rng.choice([0, 2], size=120)
    pred[:, 6] = rng.choice([0, 2], size=120)
    gt[:, 10] = 0
    pred[:, 10] = 2
    cases.append(("empty_columns", gt, pred))
    cases.append(("all_blank", np.zeros((50, 14), dtype=int), np.zeros((50, 14), dtype=int)))
    cases.append(("gt_blank", np.zeros((40, 14), dtype=int), rng.choice(4, size=(40, 14))))
    cases.append(("identical", cases[4][1], cases[4][1].copy()))
    lines = []
    for name, gt, pred in cases:
        lines += case(name, gt, pred, rng)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s: %d cases" % (OUT, len(cases)))


if __name__ == "__main__":
    main()
