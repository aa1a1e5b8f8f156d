#!/usr/bin/env bash
# Installs missing dependencies, builds everything with warnings as errors, runs all tests.
# Usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBYTELITE_WERROR=ON -DBYTELITE_BUILD_TESTS=ON
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure --timeout 900 "$@"
