#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# each for a bounded time. Usage: scripts/fuzz.sh [seconds per target, default 60]
# Targets: fuzz_model_loader (model files, C5), fuzz_tokenizer (C3), fuzz_data_readers (C9).
# A crash leaves its input in build-fuzz/crashes/ and makes the script fail.
# Seeds: fuzz/corpus/TARGET/, and for fuzz_model_loader the golden model files
# tests/data/models/v1/*.blt and v2/*.blt (tests/data/models/README.md), so that mutations get past the
# header. Environment: FUZZ_TARGETS (default "model_loader tokenizer data_readers"),
# FUZZ_GOLDEN_SEEDS=0 (leave the golden files out), FUZZ_FRESH=1 (start from the seeds only,
# not from the corpus earlier runs grew in build-fuzz/corpus/).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
scripts/install-deps.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBYTELITE_RUNTIME_ONLY=ON -DBYTELITE_FUZZ=ON -DBYTELITE_SANITIZE=ON -DBYTELITE_BUILD_TESTS=OFF
cmake --build build-fuzz -j"$(nproc)" --target fuzz_model_loader fuzz_tokenizer fuzz_data_readers
mkdir -p build-fuzz/crashes
for t in ${FUZZ_TARGETS:-model_loader tokenizer data_readers}; do
  corpus=build-fuzz/corpus/$t
  if [[ ${FUZZ_FRESH:-0} == 1 ]]; then rm -rf "$corpus"; fi
  mkdir -p "$corpus"
  cp -n fuzz/corpus/$t/* "$corpus"/ 2>/dev/null || true
  if [[ $t == model_loader && ${FUZZ_GOLDEN_SEEDS:-1} != 0 ]]; then
    for f in tests/data/models/v[0-9]*/*.blt; do  # v1/byteqrnn.blt -> v1_byteqrnn.blt
      cp -n "$f" "$corpus/$(basename "$(dirname "$f")")_$(basename "$f")"
    done
  fi
  echo "== fuzz_$t for ${SECONDS_PER_TARGET}s =="
  build-fuzz/fuzz_$t -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix=build-fuzz/crashes/$t- "$corpus"
done
echo "fuzz: no crash, leak or UB in ${SECONDS_PER_TARGET}s per target"
