// Kernel paths: CPU feature detection, weight packing and dispatch.
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

PackedMatrix pack_matrix(const int8_t* w, int64_t n, int64_t k, Isa up_to) {
  PackedMatrix p;
  pack_matrix_into(p, w, n, k, up_to, true);
  return p;
}

void pack_matrix_into(PackedMatrix& p, const int8_t* w, int64_t n, int64_t k, Isa up_to,
                      bool all_paths) {
  p.n = n;
  p.k = k;
  p.w = w;
  p.kp = (k + 15) / 16 * 16;
  p.kp4 = (k + 3) / 4 * 4;
  p.np16 = (n + 15) / 16 * 16;
  if (isa_supported(Isa::kAvx2) && (up_to == Isa::kAvx2 || (all_paths && up_to > Isa::kAvx2))) {
    p.w16.assign(static_cast<size_t>(n * p.kp), 0);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < k; ++i) p.w16[j * p.kp + i] = w[j * k + i];
  } else {
    p.w16.clear();
  }
  if (isa_supported(Isa::kAvx512Vnni) && up_to >= Isa::kAvx512Vnni) {
    const int64_t groups = p.kp4 / 4;
    p.wvnni.assign(static_cast<size_t>(p.np16 * p.kp4), 0);
    p.corr.assign(static_cast<size_t>(p.np16), 0);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t blk = j / 16, lane = j % 16;
      for (int64_t i = 0; i < k; ++i) {
        const int64_t g = i / 4, b = i % 4;
        p.wvnni[((blk * groups + g) * 16 + lane) * 4 + b] = w[j * k + i];
        p.corr[j] += 128 * w[j * k + i];
      }
    }
  } else {
    p.wvnni.clear();
  }
}

void gemm_s8(Isa isa, const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
             int32_t* acc, KernelScratch& scratch) {
  if (isa == Isa::kAvx512Vnni && !w.wvnni.empty()) {
    gemm_s8_avx512vnni(x, rows, ldx, w, acc, scratch);
  } else if (isa != Isa::kReference && !w.w16.empty()) {
    gemm_s8_avx2(x, rows, ldx, w, acc, scratch);
  } else {
    gemm_s8_ref(x, rows, ldx, w, acc);
  }
}

void prepare_requant(RequantParams& p) {
  const int64_t n8 = (p.n + 7) / 8 * 8;
  p.m0_v.assign(n8, 0);
  p.bias_v.assign(n8, int64_t{1} << 62);
  p.shift_v.assign(n8, 31);
  p.corr_v.assign(n8, int64_t{1} << 31);
  for (int64_t j = 0; j < p.n; ++j) p.m0_v[j] = p.m0[j];
  for (int64_t blk = 0; blk < n8; blk += 8) {
    for (int64_t l = 0; l < 8; ++l) {
      const int64_t j = blk + l;
      // even channels go to slots 0..3, odd channels to slots 4..7 of the block
      const int64_t slot = blk + (l % 2 == 0 ? l / 2 : 4 + l / 2);
      if (j >= p.n) continue;
      const int s = p.shift[j];
      p.bias_v[slot] = p.bias[j] + (int64_t{1} << (s - 1)) + (int64_t{1} << 62);
      p.shift_v[slot] = s;
      p.corr_v[slot] = (int64_t{1} << 62) >> s;
    }
  }
}

void requantize_ref(const int32_t* acc, int64_t rows, const RequantParams& p, int8_t* y) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < p.n; ++j) {
      const int s = p.shift[j];
      const int64_t v =
          static_cast<int64_t>(acc[r * p.n + j]) * p.m0[j] + p.bias[j] + (int64_t{1} << (s - 1));
      int64_t q = p.zp + (v >> s);  // arithmetic shift: floor
      q = q < p.lo ? p.lo : (q > p.hi ? p.hi : q);
      y[r * p.n + j] = static_cast<int8_t>(q);
    }
  }
}

void requantize(Isa isa, const int32_t* acc, int64_t rows, const RequantParams& p, int8_t* y) {
  if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    requantize_avx2(acc, rows, p, y);
  } else {
    requantize_ref(acc, rows, p, y);
  }
}

void qrnn_pool(Isa isa, const int8_t* g, int64_t T, int64_t S, bool reverse, const QrnnTables& tab,
               int8_t* y, int64_t ldy, float* state) {
  if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    qrnn_pool_avx2(g, T, S, reverse, tab, y, ldy, state);
  } else {
    qrnn_pool_ref(g, T, S, reverse, tab, y, ldy, state);
  }
}

}  // namespace bytelite::rt
