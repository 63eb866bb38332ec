#!/usr/bin/env bash
# `cmake --install` into a temporary prefix gives the headers, libxrem.so (with its soname), xrem.pc, the
# CLI and the labeler's lists; examples/eval_min.c builds against the *installed* library with pkg-config
# (-Wall -Wextra -Werror) and prints the same numbers and signature as the installed `xrem eval` on the
# same inputs (small CSVs; the IU X-Ray test split as well when the shared data is there).
# Needs: cc, pkg-config, python3 (pyenv's, for reading summary.json); skips (77) without them.
set -u
BIN=${XREM_BIN:-}
BUILD=${XREM_BUILD_DIR:-}
ROOT=${XREM_SOURCE_DIR:-.}
for tool in cc pkg-config python3; do
    command -v $tool >/dev/null || { echo "test_install_example: SKIPPED, no $tool"; exit 77; }
done
if [ -z "$BUILD" ] || [ ! -f "$BUILD/cmake_install.cmake" ] || ! ls "$BUILD"/libxrem.so* >/dev/null 2>&1; then
    echo "test_install_example: SKIPPED, no build folder with libxrem.so (XREM_SHARED=OFF?) in '$BUILD'"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_install.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
P="$T/prefix"
cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1 || { cat "$T/install.log"; echo "FAIL: cmake --install"; exit 1; }

for h in xrem.h status.h backend.h eval.h; do [ -s "$P/include/xrem/$h" ] || fail "include/xrem/$h not installed"; done
[ -x "$P/bin/xrem" ] || fail "bin/xrem not installed"
[ -s "$P/share/xrem/labeler/mentions.txt" ] || fail "share/xrem/labeler not installed"
pc=$(find "$P" -name xrem.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: no xrem.pc installed"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
so=$(ls "$libdir"/libxrem.so.*.*.* 2>/dev/null | head -1)
[ -n "$so" ] && [ -L "$libdir/libxrem.so" ] || fail "libxrem.so.X.Y.Z and the libxrem.so link not in $libdir: $(ls "$libdir")"
if command -v objdump >/dev/null && [ -n "$so" ]; then
    soname=$(objdump -p "$so" | awk '$1 == "SONAME" {print $2}')
    [ "$soname" = libxrem.so.0 ] && [ -e "$libdir/$soname" ] || fail "soname '$soname' (want libxrem.so.0, present in $libdir)"
    # only the public API is exported: every exported function is declared in an installed header
    grep -ho 'xrem_[a-z0-9_]*(' "$P"/include/xrem/*.h | tr -d '(' | sort -u >"$T/public.txt"
    extra=$(objdump -T "$so" | awk '$2 == "g" && $4 == ".text" {print $NF}' | sort -u | comm -23 - "$T/public.txt" | head -3)
    [ -z "$extra" ] || fail "libxrem.so exports internal symbols: $extra"
    # the library never draws progress or looks at the terminal: that is the CLI's (xrem/progress.h)
    ! objdump -T "$so" | grep -qw isatty || fail "libxrem.so calls isatty: library code draws on the terminal"
    objdump -T "$so" | grep -q ' xrem_eval_run$' || fail "xrem_eval_run not exported"
fi
export PKG_CONFIG_PATH="$(dirname "$pc")"
[ "$(pkg-config --modversion xrem)" = "$(sed -n 's/^project(xrem VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")" ] ||
    fail "pkg-config --modversion xrem: $(pkg-config --modversion xrem)"
# build the example against the installed copy only (not the source tree's include/)
if ! cc -std=c11 -Wall -Wextra -Werror "$ROOT/examples/eval_min.c" $(pkg-config --cflags --libs xrem) -o "$T/eval_min" \
    >"$T/cc.log" 2>&1; then
    cat "$T/cc.log"
    echo "FAIL: examples/eval_min.c does not build against the installed library"
    exit 1
fi
echo "ok: installed into $P; eval_min built with $(pkg-config --cflags --libs xrem)"

printf 'study_id,report\n1,"No acute disease."\n2,"Heart size normal.\nLungs clear."\n3,"Small left effusion, no pneumothorax."\n4,"Mild ""cardiomegaly""."\n5,\n' >"$T/gt.csv"
printf 'study_id,report\n3,"Small effusion on the left."\n1,"No acute cardiopulmonary disease."\n2,"Normal heart. Clear lungs."\n5,"No pneumothorax."\n4,Cardiomegaly.\n' >"$T/pred.csv"
cases=("$T/gt.csv $T/pred.csv bleu" "$T/gt.csv $T/pred.csv bleu,labels")
if [ -n "${XREM_DATA_DIR:-}" ] && [ -f "$XREM_DATA_DIR/NLMCXR_reports.tgz" ] &&
    "$P/bin/xrem" dev iu-reports --tgz "$XREM_DATA_DIR/NLMCXR_reports.tgz" --corpus "$T/corpus.csv" --gt "$T/iu_gt.csv" >/dev/null 2>&1; then
    # PRED: each test impression paired with the corpus row of the same index (a fixed, real mismatch)
    python3 - "$T/iu_gt.csv" "$T/corpus.csv" "$T/iu_pred.csv" <<'PY'
import csv, sys
gt = list(csv.DictReader(open(sys.argv[1], newline="")))
corpus = [r["report"] for r in csv.DictReader(open(sys.argv[2], newline=""))]
with open(sys.argv[3], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["study_id", "report"])
    for i, r in enumerate(gt):
        w.writerow([r["study_id"], corpus[i % len(corpus)] if i % 2 else r["report"]])
PY
    cases+=("$T/iu_gt.csv $T/iu_pred.csv bleu,labels")
else
    echo "note: shared IU X-Ray data absent: the real-report case is not run"
fi

k=0
for c in "${cases[@]}"; do
    set -- $c
    k=$((k + 1))
    # the labeler's lists: the installed ones, for both programs
    if ! (cd "$T" && LD_LIBRARY_PATH="$libdir" "$T/eval_min" "$1" "$2" "$3") >"$T/min$k.txt" 2>"$T/min$k.err"; then
        fail "eval_min on case $k ($3): $(cat "$T/min$k.err")"
        continue
    fi
    if ! (cd "$T" && "$P/bin/xrem" eval --gt "$1" --pred "$2" --metrics "$3" --out "$T/ev$k") >"$T/ev$k.log" 2>&1; then
        fail "installed xrem eval on case $k: $(cat "$T/ev$k.log")"
        continue
    fi
    python3 - "$T/ev$k/summary.json" "$T/min$k.txt" <<'PY' || fail "case $k ($3): eval_min and xrem eval disagree"
import json, sys
s = json.load(open(sys.argv[1]))
got = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[2]) if "=" in l)
m = s["metrics"]
want = {"bleu2.mean": m["bleu2"]["mean"], "bleu2.ci95.lo": m["bleu2"]["ci95"][0], "bleu2.ci95.hi": m["bleu2"]["ci95"][1],
        "nltk_corpus_bleu.bleu4": m["nltk_corpus_bleu"]["bleu4"], "sacrebleu.corpus": m["sacrebleu"]["corpus"],
        "sacrebleu.sentence_mean": m["sacrebleu"]["sentence_mean"]}
if "labels" in s:
    want["labels.rrg_all14.micro.f1"] = s["labels"]["rrg_all14"]["micro avg"]["f1"]
    want["labels.repair_macro_f1"] = s["labels"]["repair_macro_f1"]
bad = 0
for k, v in want.items():
    if k not in got or float(got[k]) != v:
        print(f"  {k}: eval_min {got.get(k)} vs xrem eval {v!r}")
        bad = 1
if got.get("signature") != s["signature"]:
    print(f"  signature: eval_min {got.get('signature')}\n             xrem eval {s['signature']}")
    bad = 1
if int(got["rows"]) != s["inputs"]["shared"]:
    print(f"  rows {got['rows']} vs {s['inputs']['shared']}"); bad = 1
print(f"  {len(want)} numbers and the signature equal over {got['rows']} reports" if not bad else "  differ")
sys.exit(bad)
PY
done
echo "test_install_example: ${#cases[@]} cases, $fails failure(s)"
[ $fails -eq 0 ]
