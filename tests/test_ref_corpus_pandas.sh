#!/usr/bin/env bash
# The corpus as pandas reads it (ctest label: reference). Interpreter: Debian's /usr/bin/python3 (pandas
# 1.5, h5py); exits 77 where it cannot import them. For CSV files with the odd lines real corpora have
# (whitespace-only lines, "None", every pandas NA string, quoted blanks, CR line ends, duplicates),
# `xrem embed` keeps exactly the reports of the reference's
#     pd.read_csv(path)["report"].drop_duplicates().dropna()        (X-REM inference.py)
# in the same order: with pandas 1.x's default NA strings (the default, --pandas 1), and with pandas
# 2.x's list (--pandas 2; pandas 2 is not installed here, so its list is passed to pandas 1.5 as
# na_values with keep_default_na=False: 1.5's list plus "None").
set -u
PY=/usr/bin/python3
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! "$PY" -c 'import pandas, h5py' >/dev/null 2>&1; then
    echo "SKIP: $PY cannot import pandas and h5py"
    exit 77
fi
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_corpus_pandas.XXXXXX")
trap 'rm -rf "$T"' EXIT
W="$ROOT/tests/golden/albef_small_retrieval.weights.h5"
fails=0

# The cases, written by Python so that every byte is explicit.
"$PY" - "$T" <<'PYEOF'
import sys
d = sys.argv[1]
na = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
      "NA", "NULL", "NaN", "n/a", "nan", "null", "None"]
cases = {
    "one_col": b"report\nNo acute disease.\n   \nNone\n\t \nClear lungs.\n \r\nNo acute disease.\nNone\n",
    "two_col": b"study_id,report\n1,a\n   \n2,None\n3,\n4,\"  \"\n5, \n6,\"None\"\n\t\n7,nan \n8,b\n",
    "na_all": ("report\n" + "\n".join(na + ["Real report."]) + "\n").encode(),
    "crlf": b"report\r\nA.\r\n  \r\nB.\r\n\r\nNone\r\nA.\r\n",
    "quoted": b"report\n\"x,\ny\"\n\"\"\n\"   \"\n   \nNone\n\"None\"\n",
    "ws_end": b"report\nA.\n  ",
}
for name, data in cases.items():
    open("%s/%s.csv" % (d, name), "wb").write(data)
PYEOF

for f in "$T"/*.csv; do
    name=$(basename "$f" .csv)
    for pv in 1 2; do
        if ! "$BIN" embed --weights "$W" --corpus "$f" --out "$T/${name}_$pv.h5" --pandas $pv 2>"$T/log"; then
            fails=$((fails + 1))
            echo "FAIL [$name pandas $pv]: xrem embed: $(cat "$T/log")"
            continue
        fi
        "$PY" - "$f" "$T/${name}_$pv.h5" $pv <<'PYEOF' || fails=$((fails + 1))
import sys, h5py, pandas as pd
from pandas._libs.parsers import STR_NA_VALUES
path, h5, pv = sys.argv[1], sys.argv[2], int(sys.argv[3])
assert pd.__version__.startswith("1."), pd.__version__
kw = {} if pv == 1 else {"na_values": sorted(STR_NA_VALUES | {"None"}), "keep_default_na": False}
want = pd.read_csv(path, **kw)["report"].drop_duplicates().dropna().tolist()
got = [x.decode() if isinstance(x, bytes) else x for x in h5py.File(h5, "r")["reports"][()]]
name = "%s pandas %d" % (path.rsplit("/", 1)[-1], pv)
if got != want:
    print("FAIL [%s]: xrem %r, pandas %r" % (name, got, want))
    sys.exit(1)
print("ok   [%s]: %d reports, as pandas" % (name, len(got)))
PYEOF
    done
done
# The two lists really differ where they should: "None" is a report under pandas 1.x only.
"$PY" -c 'import sys, h5py; r = list(h5py.File(sys.argv[1], "r")["reports"][()]) + list(h5py.File(sys.argv[2], "r")["reports"][()])
sys.exit(0 if r.count(b"None") + r.count("None") == 1 else 1)' "$T/one_col_1.h5" "$T/one_col_2.h5" ||
    { echo "FAIL: 'None' should be kept with --pandas 1 and dropped with --pandas 2"; fails=$((fails + 1)); }
if [ $fails -ne 0 ]; then
    echo "test_ref_corpus_pandas: $fails failure(s)"
    exit 1
fi
echo "test_ref_corpus_pandas: PASS"
