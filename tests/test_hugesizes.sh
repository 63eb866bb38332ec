#!/usr/bin/env bash
# Huge sizes declared by input files are refused with a message naming the file, the dataset or
# attribute and the value, before anything is allocated (never through malloc failing).
# /usr/bin/python3 + h5py make the files: datasets whose declared shape the file cannot hold
# (chunked, never written: 0 bytes stored; gzip with one chunk written; an unlimited string dataset
# claiming 2^40 entries), string ids whose declared lengths exceed the file, a weights file whose
# word embeddings are declared but not stored, and config attributes claiming huge sizes. Each goes
# through the command that reads it (prep --cache, run, embed). Checks: exit 1..127, the message
# names the file and the dataset/attribute, no "cannot allocate" / "out of memory" / sanitizer
# report, no output written (for run: not even its --out folder: run checks every input before it
# makes anything).
# Skips (77) without /usr/bin/python3 with h5py and numpy.
set -u
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY=/usr/bin/python3
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
if ! "$PY" -c 'import h5py, numpy' >/dev/null 2>&1; then
    echo "SKIP: $PY lacks h5py or numpy"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_huge.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A small vocabulary is enough for random weights (the shared one is not needed here).
{
    printf '[PAD]\n'
    for i in $(seq 1 99); do printf '[unused%d]\n' "$i"; done
    printf '[UNK]\n[CLS]\n[SEP]\n[MASK]\n'
    for w in the a no acute heart lungs normal clear size effusion pneumothorax . , ; do printf '%s\n' "$w"; done
} >"$T/vocab.txt"
"$BIN" dev random-weights --arch albef_retrieval --preset small --vocab "$T/vocab.txt" --seed 1 --out "$T/ret.h5" \
    >/dev/null 2>&1 || { echo "FAIL: dev random-weights"; exit 1; }
"$BIN" dev synth-images --n 2 --seed 1 --out "$T/cxr.h5" >/dev/null 2>&1 || { echo "FAIL: dev synth-images"; exit 1; }
printf 'report\nNo acute process.\nHeart size normal.\nLungs are clear.\n' >"$T/corpus.csv"
"$BIN" embed --weights "$T/ret.h5" --corpus "$T/corpus.csv" --out "$T/corpus.h5" >/dev/null 2>&1 ||
    { echo "FAIL: could not embed the small corpus"; exit 1; }

"$PY" - "$T" <<'EOF' || { echo "FAIL: could not make the hostile files"; exit 1; }
import shutil, sys
import h5py, numpy as np
d = sys.argv[1] + "/"
s = h5py.string_dtype()
def ids(f, n):
    f["dicom_id"] = np.array(["d%d" % i for i in range(n)], dtype=object).astype(s)
    f["study_id"] = np.arange(n, dtype="i4")
with h5py.File(d + "cxr_unwritten.h5", "w") as f:   # 2^31 images declared, nothing stored
    f.create_dataset("cxr", shape=(2**31, 320, 320), dtype="f4", chunks=(1, 320, 320))
    ids(f, 2)
with h5py.File(d + "cxr_gzip.h5", "w") as f:        # 10^6 images declared, one (all zeros) stored
    ds = f.create_dataset("cxr", shape=(10**6, 320, 320), dtype="f4", chunks=(1, 320, 320), compression="gzip")
    ds[0] = np.zeros((320, 320), "f4")
    ids(f, 1)
with h5py.File(d + "ids_unlimited.h5", "w") as f:   # an unlimited string dataset claiming 2^40 ids
    f["cxr"] = np.zeros((2, 320, 320), "f4")
    f.create_dataset("dicom_id", shape=(2**40,), maxshape=(None,), dtype=s, chunks=(1024,))
    f["study_id"] = np.arange(2, dtype="i4")
with h5py.File(d + "ids_vlen.h5", "w") as f:       # dicom_id strings claiming 256 MiB each (in a 0.8 MB file)
    f["cxr"] = np.zeros((2, 320, 320), "f4")
    ids(f, 2)
    off = f["dicom_id"].id.get_offset()              # contiguous: per string a u32 length + a heap id (12 bytes)
import struct
b = bytearray(open(d + "ids_vlen.h5", "rb").read())
for i in range(2):
    assert struct.unpack_from("<I", b, off + 16 * i) == (2,), "unexpected vlen layout"
    struct.pack_into("<I", b, off + 16 * i, 1 << 28)
open(d + "ids_vlen.h5", "wb").write(b)
shutil.copy(d + "corpus.h5", d + "corpus_feat.h5")   # text_feat claiming 2^36 reports
with h5py.File(d + "corpus_feat.h5", "a") as f:
    e = f["text_feat"].shape[1]
    del f["text_feat"]
    f.create_dataset("text_feat", shape=(2**36, e), dtype="f4", chunks=(1, e))
name = "text_encoder.embeddings.word_embeddings.weight"
shutil.copy(d + "ret.h5", d + "w_unstored.h5")      # the right shape, declared but not stored
with h5py.File(d + "w_unstored.h5", "a") as f:
    shape = f[name].shape
    del f[name]
    f.create_dataset(name, shape=shape, dtype="f4", chunks=(1, shape[1]))
shutil.copy(d + "ret.h5", d + "w_vocab.h5")         # config claims a 2^40-token vocabulary
with h5py.File(d + "w_vocab.h5", "a") as f:
    f["config"].attrs["vocab_size"] = np.int64(2**40)
shutil.copy(d + "ret.h5", d + "w_width.h5")         # and a 2^33-wide embedding
with h5py.File(d + "w_width.h5", "a") as f:
    f["config"].attrs["embed_dim"] = np.int64(2**33)
EOF

# refused WHAT FILE OUT MUST... -- CMD...: CMD fails cleanly, naming FILE and every MUST, writing no OUT
refused() {
    local what=$1 file=$2 out=$3
    shift 3
    local must=()
    while [ "$1" != "--" ]; do
        must+=("$1")
        shift
    done
    shift
    "$BIN" "$@" >"$T/log" 2>&1
    local rc=$? why=""
    [ $rc -eq 0 ] && why="exit 0"
    [ $rc -ge 128 ] && why="crashed (exit $rc)"
    grep -qF -- "$file" "$T/log" || why="$why; the message does not name $file"
    for m in "${must[@]}"; do grep -qF -- "$m" "$T/log" || why="$why; the message does not say '$m'"; done
    grep -qiE 'cannot allocate|out of memory|Sanitizer' "$T/log" && why="$why; went through an allocation failure"
    [ -e "$out" ] && why="$why; $out was written"
    if [ -n "$why" ]; then
        fail "[$what] ${why#; }: $(head -5 "$T/log")"
    else
        echo "ok   [$what] exit $rc: $(grep -F -- "$file" "$T/log" | head -1)"
    fi
}

refused "images, 2^31 unstored" cxr_unwritten.h5 "$T/o1.h5" "'cxr'" "[2147483648,320,320]" "stores only 0 bytes" -- \
    prep --cache "$T/cxr_unwritten.h5" --out "$T/o1.h5" --res 32
refused "images, gzip, 10^6 declared" cxr_gzip.h5 "$T/o2.h5" "'cxr'" "[1000000,320,320]" "(compressed)" -- \
    prep --cache "$T/cxr_gzip.h5" --out "$T/o2.h5" --res 32
refused "images, 2^40 ids" ids_unlimited.h5 "$T/o3.h5" "'dicom_id'" "[1099511627776]" -- \
    prep --cache "$T/ids_unlimited.h5" --out "$T/o3.h5" --res 32
refused "images, dicom_id strings of 256 MiB" ids_vlen.h5 "$T/o4.h5" "'dicom_id'" "strings longer than the file" -- \
    prep --cache "$T/ids_vlen.h5" --out "$T/o4.h5" --res 32
refused "run, dicom_id strings of 256 MiB" ids_vlen.h5 "$T/run2" "'dicom_id'" "strings longer than the file" -- \
    run --retrieval "$T/ret.h5" --no-itm --images "$T/ids_vlen.h5" --corpus "$T/corpus.h5" --res-retrieval 32 \
    --k1 2 --out "$T/run2"
refused "corpus, 2^36 features" corpus_feat.h5 "$T/run1" "'text_feat'" "[68719476736," -- \
    run --retrieval "$T/ret.h5" --no-itm --images "$T/cxr.h5" --corpus "$T/corpus_feat.h5" --res-retrieval 32 \
    --k1 2 --out "$T/run1"
refused "weights, embeddings not stored" w_unstored.h5 "$T/c1.h5" "word_embeddings" "stores only 0 bytes" -- \
    embed --weights "$T/w_unstored.h5" --corpus "$T/corpus.csv" --out "$T/c1.h5"
refused "weights, vocab_size 2^40" w_vocab.h5 "$T/c2.h5" "vocab_size" "1099511627776" -- \
    embed --weights "$T/w_vocab.h5" --corpus "$T/corpus.csv" --out "$T/c2.h5"
refused "weights, embed_dim 2^33" w_width.h5 "$T/c3.h5" "embed_dim" "8589934592" -- \
    embed --weights "$T/w_width.h5" --corpus "$T/corpus.csv" --out "$T/c3.h5"

if [ $fails -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all huge-size checks passed"
