#include <cstdlib>
#include <cstring>

#include "runtime/kernels/kernels.h"

namespace bytelite::rt {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kReference:
      return "reference";
    case Isa::kAvx2:
      return "avx2";
  }
  return "unknown";
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::kReference:
      return true;
    case Isa::kAvx2:
#if defined(__x86_64__) || defined(__i386__)
      // cpuid feature bit and OS support for the YMM state (libgcc checks XGETBV).
      return __builtin_cpu_supports("avx2");
#else
      return false;
#endif
  }
  return false;
}

Isa best_isa() {
  static const Isa best = [] {
    Isa fastest = isa_supported(Isa::kAvx2) ? Isa::kAvx2 : Isa::kReference;
    const char* env = std::getenv("BYTELITE_ISA");
    if (env != nullptr) {
      for (Isa i : {Isa::kReference, Isa::kAvx2}) {
        if (std::strcmp(env, isa_name(i)) == 0 && isa_supported(i)) return i;
      }
    }
    return fastest;
  }();
  return best;
}

PackedMatrix pack_matrix(const int8_t* w, int64_t n, int64_t k) {
  PackedMatrix p;
  p.n = n;
  p.k = k;
  p.kp = (k + 15) / 16 * 16;
  p.w = w;
  if (isa_supported(Isa::kAvx2)) {
    p.w16.assign(static_cast<size_t>(n * p.kp), 0);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < k; ++i) p.w16[j * p.kp + i] = w[j * k + i];
  }
  return p;
}

void gemm_s8(Isa isa, const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
             int32_t* acc, KernelScratch& scratch) {
  if (isa == Isa::kAvx2 && !w.w16.empty()) {
    gemm_s8_avx2(x, rows, ldx, w, acc, scratch);
  } else {
    gemm_s8_ref(x, rows, ldx, w, acc);
  }
}

}  // namespace bytelite::rt
