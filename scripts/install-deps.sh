#!/usr/bin/env bash
# Installs every Debian package bytelite needs (idempotent: installs only what is missing).
# Usage: scripts/install-deps.sh            (as root, or with sudo available)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  clang clang-format libclang-rt-14-dev
  libtorch-dev libopenblas0-openmp libgloo-dev
  flatbuffers-compiler libflatbuffers-dev
  libxnnpack-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev
  python3 python3-sklearn python3-numpy python3-matplotlib python3-pil
  chromium
  python3-dev python3-venv python3-pip python3-setuptools python3-wheel pybind11-dev python3-pytest
  zlib1g-dev
  fasttext
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-deps: installing ${#missing[@]} missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's libtorch uses whichever BLAS the alternatives system points at. It must be the
# OpenMP build of OpenBLAS: the reference BLAS runs at about 5 GFLOPS, and the pthread build of
# OpenBLAS fights libtorch's OpenMP threads for the cores (measured: evaluation 6x slower on 2
# cores). Select the OpenMP build explicitly, since the pthread one has a higher priority.
arch_dir=/usr/lib/x86_64-linux-gnu
for lib in libblas.so.3 libopenblas.so.0; do
  target="$arch_dir/openblas-openmp/$lib"
  current=$(readlink -f "$arch_dir/$lib" 2>/dev/null || true)
  if [ "$current" != "$(readlink -f "$target")" ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO update-alternatives --set "$lib-x86_64-linux-gnu" "$target" >/dev/null
  fi
  current=$(readlink -f "$arch_dir/$lib" 2>/dev/null || true)
  if [ "$current" != "$(readlink -f "$target")" ]; then
    echo "install-deps: error: $lib resolves to '$current', expected $target" >&2
    exit 1
  fi
done
echo "install-deps: BLAS = OpenBLAS (OpenMP build)"
