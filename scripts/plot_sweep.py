#!/usr/bin/python3
"""Plot an `xrem sweep` table: BLEU-2 and report length against K1, one line per (K2, K3).

Interpreter: Debian's /usr/bin/python3 with python3-matplotlib.
usage: plot_sweep.py table.csv out.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    rows = list(csv.DictReader(open(argv[1], newline="")))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for metric, ax in zip(("bleu2", "words"), axes):
        lines = {}
        for r in rows:
            key = "K2=%s K3=%s" % (r["k2"], r["k3"]) if r["itm"] == "1" else r["setting"]
            lines.setdefault(key, []).append((int(r["k1"]), float(r[metric])))
        for key, pts in sorted(lines.items()):
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=key)
        ax.set_xlabel("K1")
        ax.set_ylabel({"bleu2": "BLEU-2 (CXR-Report-Metric)", "words": "words per report"}[metric])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(argv[2] + ".tmp.png", dpi=120)
    import os

    os.replace(argv[2] + ".tmp.png", argv[2])


if __name__ == "__main__":
    main(sys.argv)
