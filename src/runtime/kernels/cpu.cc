// Kernel paths: CPU feature detection and the BYTELITE_ISA override.
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
    case Isa::kAvx512Vnni:
      return "avx512vnni";
  }
  return "unknown";
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::kReference:
      return true;
#if defined(__x86_64__) || defined(__i386__)
    // cpuid feature bits and OS support for the register state (libgcc checks XGETBV).
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2");
    case Isa::kAvx512Vnni:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512vnni");
#else
    default:
      return false;
#endif
  }
  return false;
}

Isa best_isa() {
  static const Isa best = [] {
    Isa fastest = Isa::kReference;
    for (Isa i : {Isa::kAvx2, Isa::kAvx512Vnni})
      if (isa_supported(i)) fastest = i;
    const char* env = std::getenv("BYTELITE_ISA");
    if (env != nullptr) {
      for (Isa i : {Isa::kReference, Isa::kAvx2, Isa::kAvx512Vnni}) {
        if (std::strcmp(env, isa_name(i)) == 0 && isa_supported(i)) return i;
      }
    }
    return fastest;
  }();
  return best;
}

}  // namespace bytelite::rt
