#!/usr/bin/env bash
# Collect, on a Debian/Ubuntu machine that builds xrem (scripts/setup.sh installed its packages),
# what configuring, linking and running xrem needs that the device machine lacks: its image has
# nvcc, CMake, ninja, gcc and Python but no development packages, no apt and no network.
#
#   bash scripts/gpu_bundle.sh        # from anywhere inside the repository
#
# Writes (both git-ignored):
#   .gpudeps/include/   the headers of HDF5 (serial), OpenBLAS's cblas.h, zlib, libjpeg, libpng
#   .gpudeps/lib/       their shared libraries under their sonames, the link names (libhdf5.so ->
#                       libhdf5_serial.so.103, ...) as relative symlinks, and the whole ldd closure
#                       (libcurl, libsz, libgfortran, ...) minus glibc, the compiler's runtimes
#                       (libstdc++, libgcc_s, libgomp: the device's gcc brings its own) and CUDA
#   .gpudeps/MANIFEST   what came from where (Debian package and version), sizes, the newest glibc
#                       symbol version the libraries need
#   .gpudeps.tar.xz     all of the above in one file: this is what travels to the device machine
#                       (device `run` with carry [".gpudeps.tar.xz"]); scripts/gpu_check.sh unpacks
#                       it into .gpudeps/ and configures with -DXREM_DEPS=.gpudeps
# The tests' inputs are all committed (tests/golden); nothing else needs to travel.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")
L=/usr/lib/$ARCH
OUTDIR=.gpudeps
TARBALL=.gpudeps.tar.xz
rm -rf "$OUTDIR" "$TARBALL"
mkdir -p "$OUTDIR/include" "$OUTDIR/lib"

die() {
  echo "gpu_bundle: $*" >&2
  exit 1
}
# the real file behind a link name, which must exist (the -dev package installed)
real() {
  local f
  for f in "$@"; do
    [ -e "$f" ] && {
      readlink -f "$f"
      return 0
    }
  done
  die "none of $* exists: install the development packages first (bash scripts/setup.sh)"
}

# --- link-time libraries: "link name:real file" -------------------------------------------------
DIRECT=(
  "libhdf5.so:$(real "$L/hdf5/serial/libhdf5.so")"
  "libopenblas.so:$(real "$L/openblas-openmp/libopenblas.so")"
  "libz.so:$(real "$L/libz.so")"
  "libjpeg.so:$(real "$L/libjpeg.so")"
  "libpng.so:$(real "$L/libpng16.so" "$L/libpng.so")"
)
# glibc, the compiler's runtimes and the driver/CUDA: present on the device, never bundled
SKIP='^(linux-vdso|ld-linux|libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl|libBrokenLocale|libstdc\+\+|libgcc_s|libgomp|libcuda|libcudart|libcublas|libcublasLt|libnvidia)[.-]'

soname() { objdump -p "$1" | awk '$1 == "SONAME" { print $2 }'; }
copy_lib() { # real file -> lib/<soname>; echoes the soname
  local f=$1 so
  so=$(soname "$f")
  [ -n "$so" ] || so=$(basename "$f")
  if [ ! -e "$OUTDIR/lib/$so" ]; then
    cp -L "$f" "$OUTDIR/lib/$so"
    chmod u+w "$OUTDIR/lib/$so"
    strip --strip-unneeded "$OUTDIR/lib/$so" 2>/dev/null || true
  fi
  echo "$so"
}

declare -A SRC # soname -> the file it came from
for d in "${DIRECT[@]}"; do
  link=${d%%:*} file=${d#*:}
  so=$(copy_lib "$file")
  SRC[$so]=$file
  ln -sfn "$so" "$OUTDIR/lib/$link"
  # the closure: every library ldd resolves for it, except the ones the device has
  while read -r name path; do
    [ -n "$path" ] || continue
    [[ $name =~ $SKIP ]] && continue
    [ -e "$path" ] || die "ldd $file: $name resolves to a missing $path"
    so2=$(copy_lib "$(readlink -f "$path")")
    SRC[$so2]=$(readlink -f "$path")
  done < <(ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 } $2 == "=>" && $3 == "not" { print $1, "" }')
  if ldd "$file" | grep -q 'not found'; then die "ldd $file: $(ldd "$file" | grep 'not found')"; fi
done

# --- headers --------------------------------------------------------------------------------------
cp -L /usr/include/hdf5/serial/*.h "$OUTDIR/include/"
OB=/usr/include/$ARCH/openblas-openmp
[ -f "$OB/cblas.h" ] || OB=$(dirname "$(real "/usr/include/$ARCH/cblas.h" /usr/include/openblas/cblas.h)")
cp -L "$OB/cblas.h" "$OB/openblas_config.h" "$OUTDIR/include/"
cp -L /usr/include/zlib.h /usr/include/zconf.h "$OUTDIR/include/"
for h in jpeglib.h jmorecfg.h jerror.h jconfig.h; do
  cp -L "$(real "/usr/include/$ARCH/$h" "/usr/include/$h")" "$OUTDIR/include/"
done
for h in png.h pngconf.h pnglibconf.h; do
  cp -L "$(real "/usr/include/libpng16/$h" "/usr/include/$h")" "$OUTDIR/include/"
done

# --- manifest -------------------------------------------------------------------------------------
glibc_need() { # newest GLIBC_x.y any bundled library asks for
  objdump -T "$OUTDIR"/lib/*.so.* 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sort -t. -k2,2n -k3,3n -u | tail -n 1
}
{
  echo "# .gpudeps, made by scripts/gpu_bundle.sh on $(. /etc/os-release && echo "$PRETTY_NAME"), $(date -u +%F)"
  echo "# glibc here: $(ldd --version | head -n 1 | awk '{print $NF}'); the libraries need at most $(glibc_need)"
  echo "# soname  bytes  from  (package version)"
  for so in $(printf '%s\n' "${!SRC[@]}" | sort); do
    f=${SRC[$so]}
    pkg=$({ dpkg -S "$f" || dpkg -S "${f#/usr}"; } 2>/dev/null | head -n 1 | cut -d: -f1 || true)
    ver=$([ -n "$pkg" ] && dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo "?")
    echo "$so $(stat -c %s "$OUTDIR/lib/$so") ${SRC[$so]} (${pkg:-?} $ver)"
  done
  echo "# headers: $(ls "$OUTDIR/include" | wc -l) files, $(du -sb "$OUTDIR/include" | cut -f1) bytes"
} >"$OUTDIR/MANIFEST"

tar -C . -cf - "$OUTDIR" | xz -T0 -6 >"$TARBALL"
echo "gpu_bundle: $OUTDIR: $(du -sb "$OUTDIR" | cut -f1) bytes ($(ls "$OUTDIR/lib" | wc -l) files in lib/);" \
  "$TARBALL: $(stat -c %s "$TARBALL") bytes; libraries need $(glibc_need)" >&2
