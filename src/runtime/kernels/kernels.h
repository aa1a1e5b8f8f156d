// Compute kernels of the runtime. Each kernel has a plain C++ reference implementation (the
// ground truth) and, where it pays off, an optimized implementation chosen at run time from the
// CPU's features (cpuid). Every optimized kernel computes exactly the same integers as its
// reference (tests/test_runtime_kernels.cc compares them bit for bit on random and odd shapes,
// robustness case C6): accumulation is int32 with int16 x int16 -> int32 products
// (_mm256_madd_epi16 on sign-extended int8), never a saturating 16-bit path.
#pragma once

#include <cstdint>
#include <vector>

namespace bytelite::rt {

/// Instruction-set paths of the kernels.
enum class Isa { kReference = 0, kAvx2 = 1 };

const char* isa_name(Isa isa);
/// True if this CPU (and OS) supports the path. kReference is always supported.
bool isa_supported(Isa isa);
/// The fastest supported path, unless the environment variable BYTELITE_ISA names another
/// ("reference" or "avx2"; an unsupported or unknown name falls back to the fastest).
Isa best_isa();

/// Weights of one int8 matrix [n, k] in the layout of every kernel path: the int8 rows as given
/// and, for the AVX2 path, rows sign-extended to int16 and zero-padded to kp = round_up(k, 16).
struct PackedMatrix {
  int64_t n = 0, k = 0, kp = 0;
  const int8_t* w = nullptr;  // [n, k], not owned (points into the model file)
  std::vector<int16_t> w16;   // [n, kp]
};
PackedMatrix pack_matrix(const int8_t* w, int64_t n, int64_t k);

/// Scratch memory of the optimized kernels (one per thread).
struct KernelScratch {
  std::vector<int16_t> x16;
};

/// acc[r * n + j] = sum_{i < k} x[r * ldx + i] * w[j * k + i] for r < rows, j < n, in int32.
/// Rows may overlap (ldx < k): a convolution over a zero-point-padded sequence is this GEMM with
/// ldx = channels and k = window * channels. Requires k * 128 * 127 < 2^31.
void gemm_s8_ref(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w, int32_t* acc);
void gemm_s8_avx2(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w, int32_t* acc,
                  KernelScratch& scratch);
/// Dispatches to the given path.
void gemm_s8(Isa isa, const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
             int32_t* acc, KernelScratch& scratch);

}  // namespace bytelite::rt
