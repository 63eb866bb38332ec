#!/usr/bin/env bash
# Install what xrem needs to build and test, on Debian/Ubuntu. Idempotent: installs only what is
# missing. Used by `make test`, `make demo` and .ci/run.
#   build:      gcc, cmake, make, HDF5 (C), OpenBLAS (OpenMP build), zlib
#   reference:  Debian's python3-torch, python3-h5py, python3-numpy for /usr/bin/python3 (the
#               golden generators and the full-size PyTorch parity test; tests skip without them)
# CUDA is optional: the CUDA backend is built when nvcc is on PATH (or in /usr/local/cuda/bin).
set -euo pipefail

APT_PKGS=(build-essential cmake pkg-config libhdf5-dev libopenblas-openmp-dev zlib1g-dev python3-pip libjpeg62-turbo-dev libpng-dev
          python3-torch python3-h5py python3-numpy)
if [ "${XREM_SETUP_NO_TORCH:-0}" = 1 ]; then
  APT_PKGS=(build-essential cmake pkg-config libhdf5-dev libopenblas-openmp-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev)
fi

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
echo "setup: ok" >&2
