#!/usr/bin/env bash
# Full-size `xrem prep` against Pillow (ctest label: reference).
# scripts/make_prep_goldens.py --big --mimic makes MIMIC-sized synthetic chest X-rays (2544x3056 and
# 3056x2544 gray JPEGs, a 2539x2539 square, a 2048x2500 4:2:0 colour JPEG, a wide PNG, small upscales),
# lays them out as MIMIC-CXR-JPG with a split CSV, and runs CXR-RePaiR's Pillow letterbox on each;
# then `xrem prep` runs on the tree and every image must equal Pillow's to the gray level.
# Interpreter: the first of python3, /usr/bin/python3 that imports PIL, numpy and h5py
# (pip install pillow numpy h5py, or Debian's python3-pil python3-numpy python3-h5py); exit 77 (skip) if none.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${XREM_BIN:-${XREM_BUILD_DIR:-$ROOT/build}/xrem}"
PY=""
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import PIL, numpy, h5py' >/dev/null 2>&1; then PY="$p"; break; fi
done
if [ -z "$PY" ]; then
    echo "SKIP: no python3 with Pillow, numpy and h5py"
    exit 77
fi
if [ ! -x "$BIN" ]; then
    echo "FAIL: xrem binary not found at $BIN"
    exit 1
fi
TMP="$(mktemp -d "${TMPDIR:-/tmp}/xrem_ref_prep.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

"$PY" "$ROOT/scripts/make_prep_goldens.py" --big --mimic --out "$TMP/big" || { echo "FAIL: golden generator"; exit 1; }
"$BIN" prep --jpg-root "$TMP/big" --split "$TMP/big/split.csv" --out "$TMP/big/cxr.h5" || { echo "FAIL: xrem prep"; exit 1; }

"$PY" - "$TMP/big" <<'EOF'
import sys, h5py, numpy as np
d = sys.argv[1]
fails = 0
with h5py.File(d + "/prep_golden.h5", "r") as g, h5py.File(d + "/cxr.h5", "r") as o:
    ids = [s.decode() if isinstance(s, bytes) else s for s in o["dicom_id"][()]]
    print("Pillow %s (libjpeg-turbo %s) vs xrem, max gray-level difference per image:"
          % (g.attrs["pillow_version"], g.attrs["libjpeg_turbo_version"]))
    for c in g["cases"][()]:
        c = c.decode() if isinstance(c, bytes) else c
        a = g[c].attrs
        if a["dicom_id"] not in ids:
            print("  %-22s missing from cxr.h5" % c); fails += 1; continue
        i = ids.index(a["dicom_id"])
        x = o["cxr"][i]
        y = g[c]["out"][()].astype(np.float32)
        diff = np.abs(x.astype(np.float64) - y)
        ok = diff.max() == 0 and int(o["study_id"][i]) == int(a["study_id"])
        print("  %-22s %4dx%-4d %-3s max %g (%d px)%s" % (c, a["width"], a["height"], a["mode"], diff.max(),
                                                       int((diff > 0).sum()), "" if ok else "  <-- FAIL"))
        fails += not ok
sys.exit(1 if fails else 0)
EOF
rc=$?
if [ "$rc" -ne 0 ]; then echo "test_ref_prep_pillow: FAILED"; exit 1; fi
echo "test_ref_prep_pillow: ok"
