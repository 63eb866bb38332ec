#!/usr/bin/env python3
"""Benchmark CXR-Report-Metric's BLEU-2 over 100,000 report pairs: xrem vs fast_bleu vs NLTK.

Needs (pyenv python3, from PyPI):  pip install fast-bleu==0.0.90 nltk
Run from the repository root after building:
    python3 scripts/bench_bleu.py [--xrem build/xrem] [--pairs 100000] [--data ../shared/data]
Writes results/bench_bleu.json and results/bench_bleu.md (machine, commit, pairs/s, ratios).

Pairs: the IU X-Ray pairing rule of scripts/make_bleu_goldens.py (3,921 pairs from
NLMCXR_reports.tgz) run again with seeds SEED, SEED+1, ... until there are --pairs pairs; study id
= pair index. The two CSVs go to a temporary directory outside the repository and are deleted.

Everything runs on one core: this process pins itself to the first CPU it may use (and so do the
xrem subprocess it starts), and OpenMP/OpenBLAS run with OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1.
  * fast_bleu as CXR-Report-Metric calls it (CXRMetric/run_eval.py add_bleu_col): for each pair,
    prep_reports() on both texts, one BLEU([gt_tokens], {"bigram": (1/2., 1/2.)}) object, then
    get_score([pred_tokens]). (The reference also looks each study id up in a pandas frame per row,
    an O(n^2) scan that is left out here, which flatters the reference.)
  * NLTK: the same tokens, sentence_bleu([gt], pred, (0.5, 0.5), SmoothingFunction().method1).
  * xrem: `xrem eval --metrics bleu2 --bootstrap 0`, one process. Reported twice: the BLEU-2 loop
    alone (its own monotonic and CPU clocks, from summary.json) and the whole command (reading both
    CSVs, matching ids, writing the three outputs, process start).
Each is timed once (wall clock and CPU time); the ratios use CPU time, which other jobs on a shared
machine disturb less than wall time. Scores of the three are compared pair by pair.
"""
import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

os.environ["OMP_NUM_THREADS"] = "1"  # before fast_bleu loads its OpenMP runtime (inherited by xrem)
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # xrem links OpenBLAS; keep its thread pool from spinning

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import make_bleu_goldens as G  # noqa: E402  (the pairing rule)
from fast_bleu import BLEU  # noqa: E402
import fast_bleu  # noqa: E402
import nltk  # noqa: E402
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu  # noqa: E402


def build_pairs(tgz, n):
    studies = {}
    import re
    import tarfile
    with tarfile.open(tgz, "r:gz") as tf:
        for m in tf:
            mm = re.fullmatch(r"ecgen-radiology/(\d+)\.xml", m.name)
            if mm and m.isfile():
                xml = tf.extractfile(m).read().decode("utf-8")
                studies[int(mm.group(1))] = (G.section(xml, "IMPRESSION"), G.section(xml, "FINDINGS"))
    S = sorted(k for k, v in studies.items() if v[0] is not None)
    out, rep = [], 0
    while len(out) < n:
        state = G.SEED + rep
        for i in range(len(S)):
            state, r = G.splitmix64(state)
            j = r % len(S)
            imp_i, fin_i = studies[S[i]]
            imp_j, fin_j = studies[S[j]]
            kind = i % 3
            hyp = imp_j if kind == 0 else (fin_j or imp_j) if kind == 1 else (fin_i or imp_j)
            out.append((imp_i, hyp))
            if len(out) == n:
                break
        rep += 1
    return out


def prep_reports(reports):  # CXR-Report-Metric's, verbatim in behaviour
    return [list(filter(lambda val: val != "", str(elem).lower().replace(".", " .").split(" "))) for elem in reports]


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    r = fn()
    return r, time.perf_counter() - w0, time.process_time() - c0


def machine():
    model, cores = platform.processor(), os.cpu_count()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            if k.strip() == "Model name":
                model = v.strip()
    except OSError:
        pass
    return {"cpu": model, "cores": cores, "os": platform.platform(), "python": platform.python_version()}


def commit():
    """HEAD, with "+dirty" when the BLEU code that was timed differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "eval", "src/cli/cmd_eval.c"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xrem", default=os.path.join(ROOT, "build", "xrem"))
    ap.add_argument("--pairs", type=int, default=100000)
    ap.add_argument("--data", default=os.environ.get("XREM_DATA_DIR", os.path.join(ROOT, "..", "shared", "data")))
    ap.add_argument("--out", default=os.path.join(ROOT, "results"))
    args = ap.parse_args()
    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})

    pairs = build_pairs(os.path.join(args.data, "NLMCXR_reports.tgz"), args.pairs)
    n = len(pairs)
    tmp = tempfile.mkdtemp(prefix="xrem_bench_bleu_")
    try:
        gt_csv, pred_csv, out_dir = (os.path.join(tmp, x) for x in ("gt.csv", "pred.csv", "out"))
        for path, col in ((gt_csv, 0), (pred_csv, 1)):
            with open(path, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(["study_id", "report"])
                for i, p in enumerate(pairs):
                    w.writerow([i, p[col]])

        # xrem, one process
        cmd = ["taskset", "-c", str(cpu), args.xrem, "eval", "--gt", gt_csv, "--pred", pred_csv, "--out", out_dir,
               "--metrics", "bleu2", "--bootstrap", "0"]
        w0 = time.perf_counter()
        ru0 = os.times()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        ru1 = os.times()
        x_wall = time.perf_counter() - w0
        x_cpu = (ru1.children_user - ru0.children_user) + (ru1.children_system - ru0.children_system)
        if proc.returncode != 0:
            sys.exit("xrem eval failed: " + proc.stderr)
        summ = json.load(open(os.path.join(out_dir, "summary.json")))
        x_loop_wall, x_loop_cpu = summ["timing_s"]["bleu2"], summ["timing_s"]["bleu2_cpu"]
        x_scores = {}
        with open(os.path.join(out_dir, "per_report.csv"), newline="") as f:
            for row in csv.DictReader(f):
                x_scores[int(row["study_id"])] = float(row["bleu2"])

        weights = {"bigram": (1 / 2.0, 1 / 2.0)}

        def run_fast():
            out = []
            for gt, pred in pairs:
                g = prep_reports([gt])[0]
                p = prep_reports([pred])[0]
                out.append(BLEU([g], weights).get_score([p])["bigram"][0])
            return out

        m1 = SmoothingFunction().method1

        def run_nltk():
            out = []
            for gt, pred in pairs:
                g = prep_reports([gt])[0]
                p = prep_reports([pred])[0]
                out.append(sentence_bleu([g], p, weights=(0.5, 0.5), smoothing_function=m1))
            return out

        fb, fb_wall, fb_cpu = timed(run_fast)
        nl, nl_wall, nl_cpu = timed(run_nltk)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    max_fx = max(abs(fb[i] - x_scores[i]) for i in range(n))
    max_fn = max(abs(fb[i] - nl[i]) for i in range(n))
    res = {
        "what": "BLEU-2 as CXR-Report-Metric computes it, %d IU X-Ray report pairs, one core" % n,
        "machine": machine(),
        "commit": commit(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "versions": {"fast_bleu": "0.0.90", "nltk": nltk.__version__},
        "pairs": n,
        "seconds": {
            "xrem_bleu2_loop": {"wall": x_loop_wall, "cpu": x_loop_cpu},
            "xrem_eval_command": {"wall": x_wall, "cpu": x_cpu},
            "fast_bleu_cxr_report_metric": {"wall": fb_wall, "cpu": fb_cpu},
            "nltk_sentence_bleu": {"wall": nl_wall, "cpu": nl_cpu},
        },
        "max_abs_diff": {"xrem_vs_fast_bleu": max_fx, "fast_bleu_vs_nltk": max_fn},
    }
    pps = {k: {c: n / v[c] for c in ("wall", "cpu")} for k, v in res["seconds"].items()}
    res["pairs_per_s"] = pps
    res["ratios_cpu"] = {
        "xrem_loop_vs_fast_bleu": pps["xrem_bleu2_loop"]["cpu"] / pps["fast_bleu_cxr_report_metric"]["cpu"],
        "xrem_command_vs_fast_bleu": pps["xrem_eval_command"]["cpu"] / pps["fast_bleu_cxr_report_metric"]["cpu"],
        "xrem_loop_vs_nltk": pps["xrem_bleu2_loop"]["cpu"] / pps["nltk_sentence_bleu"]["cpu"],
        "xrem_command_vs_nltk": pps["xrem_eval_command"]["cpu"] / pps["nltk_sentence_bleu"]["cpu"],
    }
    res["ratios_wall"] = {
        "xrem_loop_vs_fast_bleu": pps["xrem_bleu2_loop"]["wall"] / pps["fast_bleu_cxr_report_metric"]["wall"],
        "xrem_command_vs_fast_bleu": pps["xrem_eval_command"]["wall"] / pps["fast_bleu_cxr_report_metric"]["wall"],
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench_bleu.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    M = res["machine"]
    rows = [("xrem, BLEU-2 loop", "xrem_bleu2_loop"), ("xrem eval, whole command", "xrem_eval_command"),
            ("fast_bleu 0.0.90, as CXR-Report-Metric calls it", "fast_bleu_cxr_report_metric"),
            ("NLTK %s sentence_bleu" % nltk.__version__, "nltk_sentence_bleu")]
    md = ["# BLEU-2 benchmark: xrem vs fast_bleu vs NLTK", "",
          "%d IU X-Ray report pairs (CXR-Report-Metric's BLEU-2), one core; made by `scripts/bench_bleu.py`." % n, "",
          "- machine: %s, %s cores (`lscpu`); %s" % (M["cpu"], M["cores"], M["os"]),
          "- commit: `%s`, %s" % (res["commit"], res["date"]), "",
          "| implementation | CPU s | pairs/s (CPU) | wall s | pairs/s (wall) |", "|---|---|---|---|---|"]
    for label, k in rows:
        s = res["seconds"][k]
        md.append("| %s | %.3f | %.0f | %.3f | %.0f |" % (label, s["cpu"], pps[k]["cpu"], s["wall"], pps[k]["wall"]))
    r = res["ratios_cpu"]
    md += ["", "Speed-up (CPU time): xrem loop **%.0f×** fast_bleu, %.0f× NLTK; whole `xrem eval` command %.0f× fast_bleu, %.0f× NLTK."
           % (r["xrem_loop_vs_fast_bleu"], r["xrem_loop_vs_nltk"], r["xrem_command_vs_fast_bleu"], r["xrem_command_vs_nltk"]),
           "Wall-clock: loop %.0f×, command %.0f× fast_bleu." % (res["ratios_wall"]["xrem_loop_vs_fast_bleu"],
                                                               res["ratios_wall"]["xrem_command_vs_fast_bleu"]), "",
           "Scores: max |xrem − fast_bleu| = %.3g; max |fast_bleu − NLTK| = %.3g over the %d pairs." % (max_fx, max_fn, n), "",
           "fast_bleu is timed with prep_reports and one BLEU object per pair, as CXR-Report-Metric runs it (its per-row",
           "pandas id lookup left out); OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1; every process pinned to one CPU.",
           "One timed run each; ratios from CPU time (the machine is shared), wall-clock shown too."]
    with open(os.path.join(args.out, "bench_bleu.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
