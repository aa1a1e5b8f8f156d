// The fused QRNN kernel (gate tables, fo-pooling, output gate): the reference loops (the ground
// truth) and the dispatch; the AVX2 and AVX-512 (VBMI) paths are qrnn_pool_avx2.cc and
// qrnn_pool_avx512.cc beside it.
#include "runtime/kernels/kernels.h"

namespace bytelite::rt {

void qrnn_pool_ref(const int8_t* g, int64_t T, int64_t S, bool reverse, const QrnnTables& tab,
                   int8_t* y, int64_t ldy, float* state) {
  for (int64_t j = 0; j < S; ++j) state[j] = 0.0f;
  for (int64_t i = 0; i < T; ++i) {
    const int64_t t = reverse ? T - 1 - i : i;
    const int8_t* gt = g + t * 3 * S;
    int8_t* yt = y + t * ldy;
    for (int64_t j = 0; j < S; ++j)
      yt[j] = qrnn_step(gt[j], gt[S + j], gt[2 * S + j], tab, &state[j]);
  }
}

void qrnn_pool(Isa isa, const int8_t* g, int64_t T, int64_t S, bool reverse, const QrnnTables& tab,
               int8_t* y, int64_t ldy, float* state) {
  static const bool vbmi = qrnn_pool_avx512_supported();
  if (isa == Isa::kAvx512Vnni && vbmi) {
    qrnn_pool_avx512(g, T, S, reverse, tab, y, ldy, state);
  } else if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    qrnn_pool_avx2(g, T, S, reverse, tab, y, ldy, state);
  } else {
    qrnn_pool_ref(g, T, S, reverse, tab, y, ldy, state);
  }
}

}  // namespace bytelite::rt
