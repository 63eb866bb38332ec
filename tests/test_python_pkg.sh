#!/usr/bin/env bash
# The Python package: `pip install ./python` into a fresh venv (interpreter: `python3` on PATH, pyenv's)
# builds libxrem with CMake and installs the package; then xrem.evaluate on DataFrames and on CSV paths
# gives exactly the numbers of the package's own `xrem eval` (same objects) on the same inputs written by
# DataFrame.to_csv: per_report (assert_frame_equal against the CLI's per_report.csv read by pandas),
# summary.json (all but the input paths and timings) and the signature; the test build's xrem ($XREM_BIN)
# agrees to 1e-9 (other compiler flags) with the same signature. DataFrames with NaN reports, float or NaN
# ids and duplicated ids get the CLI's messages. Skips (77) when python3, or the numpy/pandas/scikit-build-core that scripts/setup.sh installs for it, is absent.
# Nothing is fetched: the venv sees those through --system-site-packages and pip runs with --no-index.
set -u
ROOT=${XREM_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BIN=${XREM_BIN:-}
command -v python3 >/dev/null || { echo "test_python_pkg: SKIPPED, no python3 on PATH"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_pypkg.XXXXXX")
trap 'rm -rf "$T"' EXIT
# a venv over the interpreter's site-packages, where scripts/setup.sh put the build backend, numpy
# and pandas: the install below fetches nothing
python3 -m venv --system-site-packages "$T/venv" >"$T/venv.log" 2>&1 || { echo "test_python_pkg: SKIPPED, python3 -m venv failed: $(tail -1 "$T/venv.log")"; exit 77; }
PY="$T/venv/bin/python"
if ! "$PY" -c 'import numpy, pandas, scikit_build_core' >"$T/probe.log" 2>&1; then
    echo "test_python_pkg: SKIPPED, $(command -v python3) lacks numpy/pandas/scikit-build-core (scripts/setup.sh installs them): $(tail -1 "$T/probe.log")"
    exit 77
fi
t0=$(date +%s)
if ! CMAKE_ARGS="${XREM_PY_CMAKE_ARGS:--DXREM_CUDA=OFF}" "$PY" -m pip install -q --no-index --no-build-isolation --no-deps "$ROOT/python" >"$T/pip.log" 2>&1; then
    tail -40 "$T/pip.log"
    echo "FAIL: pip install ./python"
    exit 1
fi
echo "ok: pip install ./python in $(($(date +%s) - t0)) s"

cd "$T"
XREM_ROOT="$ROOT" XREM_TEST_BIN="$BIN" XREM_DATA_DIR="${XREM_DATA_DIR:-}" "$PY" - <<'PY'
import glob, json, math, os, subprocess, sys
import numpy as np
import pandas as pd
import xrem

root, test_bin = os.environ["XREM_ROOT"], os.environ["XREM_TEST_BIN"]
pkg = os.path.dirname(xrem.__file__)
cli = glob.glob(os.path.join(pkg, "bin", "xrem"))[0]
labeler = os.path.join(pkg, "share", "xrem", "labeler")
fails = 0
def fail(msg):
    global fails
    fails += 1
    print("FAIL:", msg)

print("  package", xrem.version(), "from", xrem.library_path())
gt = pd.DataFrame({"study_id": [10, 11, 12, 13, 14, 15],
                   "report": ["No acute cardiopulmonary process.", "Small left pleural effusion with atelectasis.",
                              "FINDINGS:\nThe lungs are clear.\n\nIMPRESSION:\nNo acute disease.",
                              'Large right "pneumothorax", leftward shift.', "Moderate cardiomegaly.   Mild edema.",
                              "Endotracheal tube 4 cm above the carina."]})
pred = pd.DataFrame({"study_id": [15, 13, 12, 11, 10, 14],
                     "report": ["Support devices in place.", "No pneumothorax.", gt.report[2], "Left effusion.",
                                np.nan, "Mild cardiomegaly. No edema."],
                     "radgraph": [0.2, 0.1, 1.0, 0.4, 0.0, 0.35]})
cases = [("small", gt, pred)]
data = os.environ.get("XREM_DATA_DIR")
tgz = os.path.join(data, "NLMCXR_reports.tgz") if data else ""
if tgz and os.path.exists(tgz) and subprocess.run([cli, "dev", "iu-reports", "--tgz", tgz, "--corpus", "corpus.csv",
                                                  "--gt", "iu_gt.csv"], capture_output=True).returncode == 0:
    g = pd.read_csv("iu_gt.csv")
    c = pd.read_csv("corpus.csv")
    p = g.copy()
    p["report"] = [c.report[i % len(c)] if i % 2 else r for i, r in enumerate(g.report)]
    p["radgraph"] = [(i * 37 % 100) / 100 for i in range(len(p))]
    cases.append(("iu", g, p))
else:
    print("  note: shared IU X-Ray data absent: the real-report case is not run")

W = os.path.join(root, "tests/golden/chexbert_small.weights.h5")
M = os.path.join(root, "tests/golden/bertscore/tiny_roberta.weights.h5")
settings = [
    (dict(metrics=("bleu", "labels"), bootstrap=200), ["--metrics", "bleu,labels", "--bootstrap", "200"]),
    (dict(metrics="labels,chexbert,semb", chexbert=W, seed=7),
     ["--metrics", "labels,chexbert,semb", "--chexbert", W, "--seed", "7"]),
    (dict(metrics="radcliq", chexbert=W, bertscore_model=M, bertscore_layer=2, pandas_na=True),
     ["--metrics", "radcliq", "--chexbert", W, "--bertscore-model", M, "--bertscore-layer", "2", "--pandas-na"]),
]

def strip(s):
    s = dict(s)
    s.pop("timing_s", None)
    s["inputs"] = {k: v for k, v in s["inputs"].items() if k not in ("gt", "pred", "pred_b")}
    s["metrics"] = {k: {kk: vv for kk, vv in v.items() if kk != "radgraph_from"} for k, v in s["metrics"].items()}
    return s

def nocommit(sig):  # the signature names the build's commit; two builds may be configured at different ones
    return sig.split("|", 1)[1]

def cli_eval(binary, gtp, predp, flags, out):
    r = subprocess.run([binary, "eval", "--gt", gtp, "--pred", predp, "--out", out, "--labeler-dir", labeler] + flags,
                       capture_output=True, text=True)
    return r

for name, g, p in cases:
    g.to_csv(f"{name}_gt.csv", index=False)
    p.to_csv(f"{name}_pred.csv", index=False)
    for k, (kw, flags) in enumerate(settings):
        tag = f"{name}/{kw['metrics']}"
        res = xrem.evaluate(g, pred=p, **kw)
        r = cli_eval(cli, f"{name}_gt.csv", f"{name}_pred.csv", flags, f"out_{name}_{k}")
        if r.returncode:
            fail(f"{tag}: package CLI: {r.stderr}")
            continue
        cli_per = pd.read_csv(f"out_{name}_{k}/per_report.csv")
        cli_sum = json.load(open(f"out_{name}_{k}/summary.json"))
        try:
            pd.testing.assert_frame_equal(res.per_report, cli_per, check_exact=True)
        except AssertionError as e:
            fail(f"{tag}: per_report differs from the CLI's: {e}")
        if strip(res.summary) != strip(cli_sum):
            fail(f"{tag}: summary differs from the CLI's summary.json")
        if res.signature != cli_sum["signature"]:
            fail(f"{tag}: signature {res.signature} vs {cli_sum['signature']}")
        # paths in, the same numbers and this time the same input names too
        res2 = xrem.evaluate(f"{name}_gt.csv", f"{name}_pred.csv", **kw)
        s2 = res2.summary
        s2.pop("timing_s"); cs = dict(cli_sum); cs.pop("timing_s")
        if s2 != cs:
            fail(f"{tag}: evaluate(paths) summary differs from the CLI's")
        n = len(cli_per)
        print(f"  ok: {tag}: {n} reports, {len(cli_per.columns)} columns and summary equal to the package's xrem eval")
        if test_bin:
            r = cli_eval(test_bin, f"{name}_gt.csv", f"{name}_pred.csv", flags, f"tb_{name}_{k}")
            if r.returncode:
                fail(f"{tag}: $XREM_BIN: {r.stderr}")
                continue
            tb = pd.read_csv(f"tb_{name}_{k}/per_report.csv")
            num = [c for c in tb.columns if tb[c].dtype.kind == "f" and not c.startswith(("gt:", "pred:"))]
            d = max(float(np.nanmax(np.abs(tb[c].to_numpy() - res.per_report[c].to_numpy()), initial=0)) for c in num)
            tsig = json.load(open(f"tb_{name}_{k}/summary.json"))["signature"]
            if d > 1e-9 or nocommit(tsig) != nocommit(res.signature) or list(tb.columns) != list(res.per_report.columns):
                fail(f"{tag}: the test build's xrem eval differs: max |diff| {d:g}, signatures {tsig} vs {res.signature}")
            else:
                print(f"  ok: {tag}: the test build's xrem eval agrees (max |diff| {d:.3g}, same signature)")

# per-report BLEU-2 helper = the bleu2 column
g, p = cases[0][1], cases[0][2]
b = xrem.bleu2(g.report.tolist(), ["x" if not isinstance(t, str) else t for t in p.set_index("study_id").loc[g.study_id].report])
ref = xrem.evaluate(g, p.assign(report=p.report.fillna("x")), metrics="bleu2", bootstrap=0).column("bleu2").tolist()
if b != ref:
    fail(f"xrem.bleu2 {b} vs evaluate {ref}")

# bad DataFrames: the CLI's message for the same frame written by to_csv
bad = {
    "float ids": pd.DataFrame({"study_id": [10.0, 11.5], "report": ["a", "b"]}),
    "NaN id": pd.DataFrame({"study_id": [10, None], "report": ["a", "b"]}),
    "missing id (Int64)": pd.DataFrame({"study_id": pd.array([10, None], dtype="Int64"), "report": ["a", "b"]}),
    "duplicated id": pd.DataFrame({"study_id": [10, 11, 10], "report": ["a", "b", "c"]}),
    "no report column": pd.DataFrame({"study_id": [10], "text": ["a"]}),
}
for what, df in bad.items():
    df.to_csv("bad.csv", index=False)
    r = cli_eval(cli, "bad.csv", "small_pred.csv", ["--metrics", "bleu"], "out_bad")
    want = r.stderr.strip().replace("xrem eval: ", "").replace("bad.csv", "<gt DataFrame>")
    try:
        xrem.evaluate(df, cases[0][2], metrics="bleu")
        fail(f"{what}: accepted")
    except xrem.XremError as e:
        if r.returncode != 1 or str(e) != want:
            fail(f"{what}: message\n    {e}\n  CLI (exit {r.returncode})\n    {want}")
        else:
            print(f"  ok: {what}: {e}")
try:
    xrem.evaluate(cases[0][1], cases[0][2], metrics="semb")
    fail("semb without chexbert accepted")
except xrem.XremError as e:
    print(f"  ok: option error: {e}")

# X-REM through the package (xrem.embed, xrem.run over include/xrem/run.h) = the package's CLI, byte for
# byte, on small random-weight models and synthetic images (the IU reports as the corpus)
vocab = os.path.join(data, "bert-base-uncased-vocab.txt") if data else ""
if tgz and os.path.exists(tgz) and os.path.exists(vocab):
    def sh(*a):
        r = subprocess.run([cli, *a], capture_output=True, text=True)
        if r.returncode:
            fail(f"package CLI {' '.join(a[:2])}: {r.stderr.strip()}")
        return r
    sh("dev", "random-weights", "--arch", "albef_retrieval", "--preset", "small", "--vocab", vocab, "--seed", "11", "--out", "ret.h5")
    sh("dev", "random-weights", "--arch", "albef_itm", "--preset", "small", "--vocab", vocab, "--seed", "15", "--out", "itm.h5")
    sh("dev", "synth-images", "--n", "5", "--seed", "7", "--out", "cxr.h5")
    sh("dev", "iu-reports", "--tgz", tgz, "--corpus", "xc.csv", "--gt", "xg.csv", "--test-every", "10", "--corpus-max", "60")
    counts = xrem.embed("ret.h5", "xc.csv", "py_corpus.h5")
    sh("embed", "--weights", "ret.h5", "--corpus", "xc.csv", "--out", "cli_corpus.h5")
    nli = os.path.join(root, "tests", "golden", "nli_small.weights.h5")
    kw = dict(itm="itm.h5", nli=nli, k1=5, k2=3, res_retrieval=32, res_itm=48, batch=2)
    pred = xrem.run("ret.h5", "cxr.h5", "py_corpus.h5", "py_run", **kw)
    sh("run", "--retrieval", "ret.h5", "--itm", "itm.h5", "--nli", nli, "--images", "cxr.h5", "--corpus", "cli_corpus.h5",
       "--out", "cli_run", "--k1", "5", "--k2", "3", "--res-retrieval", "32", "--res-itm", "48", "--batch", "2")
    same = all(open(f"py_run/{f}", "rb").read() == open(f"cli_run/{f}", "rb").read() for f in ("pred.csv", "reports.csv"))
    if not same or len(pred) != 5 or counts["reports"] <= 0:
        fail(f"xrem.run/embed differ from the CLI (pred/reports equal: {same}, {len(pred)} rows, counts {counts})")
    else:
        print(f"  ok: xrem.embed ({counts['reports']} reports) and xrem.run give the CLI's pred.csv and reports.csv byte for byte")
    tab = xrem.sweep("py_run", k1=[3, 5], k2=[1, 2], k3=[1], gt="xg.csv", nli=nli, out="py_sweep")
    sh("sweep", "--run", "cli_run", "--k1", "3,5", "--k2", "1,2", "--k3", "1", "--gt", "xg.csv", "--nli", nli,
       "--out", "cli_sweep")
    if open("py_sweep/table.csv", "rb").read() != open("cli_sweep/table.csv", "rb").read() or len(tab) != 4:
        fail(f"xrem.sweep's table.csv differs from the CLI's ({len(tab)} rows)")
    else:
        print(f"  ok: xrem.sweep gives the CLI's table.csv byte for byte ({len(tab)} settings)")
    try:
        xrem.run("ret.h5", "cxr.h5", "py_corpus.h5", "py_run2", k1=5)
        fail("xrem.run without itm accepted")
    except xrem.XremError as e:
        print(f"  ok: run option error: {e}")
else:
    print("  (no shared data: xrem.embed/xrem.run not checked)")
print(f"test_python_pkg: {fails} failure(s)")
sys.exit(1 if fails else 0)
PY
