#!/usr/bin/env bash
# Builds the runtime (libbytelite, no libtorch) and its tests with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (errors abort), and runs them with ctest. Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
CC=clang CXX=clang++ cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBYTELITE_RUNTIME_ONLY=ON -DBYTELITE_SANITIZE=ON -DBYTELITE_WERROR=ON -DBYTELITE_BUILD_TESTS=ON
cmake --build build-asan -j"$(nproc)"
cd build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --output-on-failure --timeout 600
