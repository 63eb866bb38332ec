#!/usr/bin/env bash
# `xrem run` on odd but valid input and under interference (issue 7), on the parity test's small inputs
# (tests/pipeline_inputs.sh). Each section asserts real values from run.h5 / the CSVs (checked with
# /usr/bin/python3 + h5py + numpy; the test skips (77) without them or without the shared data folder).
#   [sep]  corpus reports holding "[SEP]": candidates are the pieces of Python's str.split on the
#          joined stage-1 string (no strip, empty pieces kept), as the reference makes them; never a
#          memory error. Checked against a rebuild of the reference's strings from xrem's own indices.
#   [lock] two runs into one --out at once: the second (another configuration, --resume) is refused with a
#          message naming the folder and the first one's pid, the first finishes to outputs byte-identical to
#          a run alone; a lock file left by a killed run is taken over.
#   [ids]  study ids beyond int32 (3000000000, 4294967297) from --reports: run.h5 stores them as int64, pred.csv,
#          reports.csv and sweep's outputs keep them.
#   [interrupt] kill -9 / SIGINT mid-run, then --resume: outputs byte-identical (cmp) to an uninterrupted
#          run, stale "*.tmp.<pid>" files (pid not running) removed, a live pid's kept.
# Label cpu.
set -u
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
PY=""
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import numpy, h5py, pandas' >/dev/null 2>&1; then
        PY="$p"
        break
    fi
done
if [ -z "$PY" ]; then
    echo "SKIP: no python3 with numpy and h5py"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_run_robust.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/pipeline_inputs.sh"
pipeline_inputs
rc=$?
[ $rc -eq 0 ] || exit $rc
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
RET="$T/retrieval.h5"
ITM="$T/itm.h5"
COMMON="--retrieval $RET --itm $ITM --images $T/cxr.h5 $PIPE_RES --filter none"

# ---- [sep] ---------------------------------------------------------------------------------------------
# check_sep RUN CORPUS.csv DROP_EMPTY: rebuild every image's candidates from run.h5's itc_idx exactly as
# XREM.forward does ("".join(r + "[SEP]").split("[SEP]")), then check candidates, ranks, ITM scores (the
# same text scores the same; pads are NaN), the top-K2 positions and both report strings.
check_sep() {
    "$PY" - "$@" <<'EOF'
import sys, h5py, numpy as np, pandas as pd
run, corpus_csv, drop = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
corpus = pd.read_csv(corpus_csv)["report"].drop_duplicates().dropna().reset_index(drop=True)
rep = pd.read_csv(run + "/reports.csv", keep_default_na=False)
bad = []
with h5py.File(run + "/run.h5", "r") as f:
    K1, K2, C = int(f.attrs["k1"]), int(f.attrs["k2"]), int(f.attrs["candidates"])
    nsep = [r.count("[SEP]") for r in corpus]
    bound = K1 + sum(sorted(nsep, reverse=True)[:K1]) + (0 if drop else 1)
    if C != bound:
        bad.append("candidates %d, want %d" % (C, bound))
    if int(f.attrs["split_reports"]) != sum(1 for n in nsep if n):
        bad.append("split_reports %d" % int(f.attrs["split_reports"]))
    idx, itm, pos, rank = f["itc_idx"][:], f["itm_score"][:], f["stage2_pos"][:], f["candidate_rank"][:]
    imp = [s.decode() if isinstance(s, bytes) else s for s in f["report_impression"][:]]
    fil = [s.decode() if isinstance(s, bytes) else s for s in f["filtered"][:]]
    ragged = 0
    for i in range(idx.shape[0]):
        stage1 = "".join(corpus[j] + "[SEP]" for j in idx[i])
        cands = stage1.split("[SEP]")
        ranks = [k for k, j in enumerate(idx[i]) for _ in range(corpus[j].count("[SEP]") + 1)] + [K1]
        if drop:
            cands, ranks = cands[:-1], ranks[:-1]
        n = len(cands)
        ragged += n < C
        if list(rank[i, :n]) != ranks or (rank[i, n:] != -1).any():
            bad.append("image %d: candidate_rank %s, want %s" % (i, list(rank[i]), ranks))
        if not np.isfinite(itm[i, :n]).all() or not np.isnan(itm[i, n:]).all():
            bad.append("image %d: itm_score %s (want %d finite, then NaN)" % (i, list(itm[i]), n))
        for a in range(n):  # one text, one score: the pieces are the texts that were scored
            for b in range(a + 1, n):
                if (cands[a] == cands[b]) != (itm[i, a] == itm[i, b]):
                    bad.append("image %d: candidates %d %r and %d %r scored %r %r" % (i, a, cands[a], b, cands[b], itm[i, a], itm[i, b]))
        p = [int(v) for v in pos[i]]
        if sorted(set(p)) != sorted(p) or max(p) >= n or any(itm[i, p[k]] < itm[i, p[k + 1]] for k in range(K2 - 1)):
            bad.append("image %d: stage2_pos %s not the top %d of %s" % (i, p, K2, list(itm[i, :n])))
        elif n > K2 and min(itm[i, p]) < np.delete(itm[i, :n], p).max():
            bad.append("image %d: stage2_pos %s misses a better candidate" % (i, p))
        want_imp = "".join(cands[k] + "[SEP]" for k in p)
        if imp[i] != want_imp or rep["Report Impression"][i] != want_imp:
            bad.append("image %d: impression %r, want %r" % (i, imp[i], want_imp))
        if fil[i] != want_imp.split("[SEP]")[0] or rep["filtered"][i] != fil[i]:
            bad.append("image %d: filtered %r, want %r" % (i, fil[i], want_imp.split("[SEP]")[0]))
for b in bad[:10]:
    print("   ", b)
print("%s: %d images, C = %d, %d with fewer candidates than C, %d problems" % (run.split("/")[-1], len(imp), C, ragged, len(bad)))
sys.exit(1 if bad else 0)
EOF
}
cat >"$T/sep.csv" <<'EOF'
report
no acute disease [SEP] heart size normal
lungs are clear
[SEP]
effusion [SEP][SEP] edema
no pneumothorax
EOF
if ! "$BIN" embed --weights "$RET" --corpus "$T/sep.csv" --out "$T/sep.h5" 2>"$T/embed_sep.log"; then
    fail "[sep] xrem embed: $(cat "$T/embed_sep.log")"
else
    # K1 = 5: every report retrieved (C = 5 + 4 extra pieces + 1); K1 = 2: images differ in their count
    for a in "5 6 0" "5 5 1" "2 3 0" "2 2 1"; do
        set -- $a
        o="$T/sep_k$1_d$3"
        d=""
        [ "$3" = 1 ] && d="--drop-empty-candidate"
        "$BIN" run $COMMON --corpus "$T/sep.h5" --k1 $1 --k2 $2 $d --out "$o" 2>"$o.log"
        rc=$?
        if [ $rc -ne 0 ]; then
            fail "[sep] K1 $1 K2 $2 drop $3: exit $rc: $(tr '\n' ' ' <"$o.log")"
        elif r=$(check_sep "$o" "$T/sep.csv" "$3"); then
            echo "ok   [sep] K1 $1 K2 $2 drop $3: $r"
        else
            fail "[sep] K1 $1 K2 $2 drop $3: $r"
        fi
    done
fi

# ---- [lock] -------------------------------------------------------------------------------------------
LOCKARGS="$COMMON --corpus $T/corpus.h5 --k1 50 --k2 10 --batch 1"
"$BIN" run $LOCKARGS --out "$T/alone" 2>"$T/alone.log" || fail "[lock] the run alone: $(cat "$T/alone.log")"
L="$T/locked"
"$BIN" run $LOCKARGS --out "$L" 2>"$T/first.log" &
first=$!
for _ in $(seq 1 400); do # wait (at most 20 s) until the first run holds the lock
    [ -e "$L/.xrem.lock" ] && [ -s "$L/.xrem.lock" ] && break
    sleep 0.05
done
"$BIN" run $COMMON --corpus "$T/corpus.h5" --k1 5 --k2 3 --resume --out "$L" 2>"$T/second.log"
rc=$?
running=0
kill -0 $first 2>/dev/null && running=1
wait $first
rc1=$?
if [ $running = 0 ]; then
    fail "[lock] the first run ended before the second started (machine too fast for this check?)"
elif [ $rc -eq 0 ] || ! grep -qF "$L: another xrem process (pid $first) is writing to this folder" "$T/second.log"; then
    fail "[lock] the second run was not refused naming $L and pid $first (exit $rc): $(cat "$T/second.log")"
else
    echo "ok   [lock] second run refused: $(cat "$T/second.log")"
fi
[ $rc1 -eq 0 ] || fail "[lock] the first run failed (exit $rc1): $(cat "$T/first.log")"
for f in run.h5 reports.csv pred.csv; do
    cmp -s "$T/alone/$f" "$L/$f" || fail "[lock] $f of the first run differs from the run alone"
done
[ -e "$L/.xrem.lock" ] && fail "[lock] the lock file is left after the run"
# a lock file left by a killed run (pid of a process that has ended) is taken over
sleep 0 &
dead=$!
wait $dead
S="$T/stale"
mkdir -p "$S"
echo "$dead" >"$S/.xrem.lock"
if "$BIN" run $COMMON --corpus "$T/corpus.h5" --k1 5 --k2 3 --out "$S" 2>"$T/stale.log" && [ ! -e "$S/.xrem.lock" ] &&
    [ -s "$S/pred.csv" ]; then
    echo "ok   [lock] a stale lock file (pid $dead, ended) is taken over and removed"
else
    fail "[lock] a stale lock file: $(cat "$T/stale.log"); left: $(ls -A "$S")"
fi

# ---- [ids] --------------------------------------------------------------------------------------------
"$PY" - "$T/cxr.h5" "$T/big_ids.csv" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    d = [x.decode() if isinstance(x, bytes) else x for x in f["dicom_id"][:]]
with open(sys.argv[2], "w") as o:
    o.write("dicom_id,study_id\n")
    for i, x in enumerate(d):
        o.write("%s,%d\n" % (x, 3000000000 + i if i % 2 == 0 else 4294967297 + i))
EOF
I="$T/ids_run"
if ! "$BIN" run $COMMON --corpus "$T/corpus.h5" --k1 5 --k2 3 --reports "$T/big_ids.csv" --out "$I" 2>"$T/ids.log"; then
    fail "[ids] run: $(cat "$T/ids.log")"
elif ! "$BIN" sweep --run "$I" --k1 3,5 --k2 2,3 --k3 1,2 --nli "$PIPE_NLI" --out "$I/sweep" 2>"$T/ids_sweep.log"; then
    fail "[ids] sweep: $(cat "$T/ids_sweep.log")"
elif r=$("$PY" - "$I" "$T/big_ids.csv" <<'EOF'
import sys, glob, h5py, pandas as pd
run, ids = sys.argv[1], sys.argv[2]
want = list(pd.read_csv(ids)["study_id"])
bad = []
with h5py.File(run + "/run.h5", "r") as f:
    st = f["study_id"]
    if st.dtype != "int64" or list(st[:]) != want:
        bad.append("run.h5 study_id %s %s" % (st.dtype, list(st[:4])))
sweep = sorted(glob.glob(run + "/sweep/**/*.csv", recursive=True))
n = 0
for path in [run + "/pred.csv", run + "/reports.csv"] + sweep:
    df = pd.read_csv(path)
    if "study_id" in df.columns:
        n += 1
        if list(df["study_id"]) != want:
            bad.append("%s study_id %s" % (path, list(df["study_id"][:4])))
if n < 3:
    bad.append("no sweep CSV with study_id among %s" % sweep)
print("; ".join(bad) if bad else "run.h5 (int64) and %d CSVs (pred, reports, sweep) keep ids up to %d" % (n, max(want)))
sys.exit(1 if bad else 0)
EOF
); then
    echo "ok   [ids] $r"
else
    fail "[ids] $r"
fi

# ---- [interrupt] -----------------------------------------------------------------------------------------
# interrupt SIGNAL: start the [lock] configuration, stop it with SIGNAL once 3 chunks are written, leave
# temporaries of a dead pid and of a live one, then --resume: outputs equal the run alone, the dead pid's
# temporaries are gone and the live one's is kept.
interrupt() {
    local sig=$1 R="$T/int_$1"
    # SIG_DFL for SIGINT (a background job of a non-interactive shell starts with it ignored)
    "$PY" -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
        "$BIN" run $LOCKARGS --out "$R" 2>"$R.log" &
    local pid=$!
    for _ in $(seq 1 400); do
        [ -e "$R/chunks/chunk_000002.h5" ] && break
        sleep 0.05
    done
    kill -s "$sig" $pid
    wait $pid
    local rc=$?
    if [ $rc -eq 0 ] || [ -e "$R/pred.csv" ]; then
        fail "[interrupt $sig] the run finished before it was stopped (exit $rc)"
        return
    fi
    local done_chunks
    done_chunks=$(ls "$R/chunks" | grep -c '\.h5$')
    sleep 0 &
    local dead=$!
    wait $dead
    : >"$R/chunks/chunk_000007.h5.tmp.$dead"
    : >"$R/pred.csv.tmp.$dead"
    : >"$R/run.h5.tmp.$$" # this shell's pid: alive, not removed
    "$BIN" run $LOCKARGS --out "$R" --resume 2>"$R.resume.log" || {
        fail "[interrupt $sig] --resume: $(cat "$R.resume.log")"
        return
    }
    local f diff=""
    for f in run.h5 reports.csv pred.csv; do
        cmp -s "$T/alone/$f" "$R/$f" || diff="$diff $f"
    done
    local left
    left=$(cd "$R" && ls -A . chunks | grep '\.tmp\.' | grep -v "^run.h5.tmp.$$\$")
    if [ -n "$diff" ] || [ -n "$left" ] || [ ! -e "$R/run.h5.tmp.$$" ]; then
        fail "[interrupt $sig] after --resume: differs from the run alone:$diff; stale temporaries left: $left"
    else
        echo "ok   [interrupt $sig] exit $rc after $done_chunks of 20 chunks; --resume: outputs byte-identical to the run alone, no stale temporary"
    fi
    rm -f "$R/run.h5.tmp.$$"
}
interrupt KILL
interrupt INT

if [ $fails -ne 0 ]; then
    echo "test_run_robust: $fails failed"
    exit 1
fi
echo "test_run_robust: PASS"
