// Op add: residual / embedding sum requantized, in the training graph's float arithmetic
// (ops.h add): the kernel paths kernels/add.cc (reference) and kernels/add_avx2.cc.

#include "runtime/ops/ops.h"

namespace bytelite::rt {

void add(Isa isa, const int8_t* a, QParams qa, const int8_t* b, QParams qb, int64_t n, QParams out,
         int8_t* y) {
  const float sa = qa.scale, sb = qb.scale;
  const int32_t za = qa.zero_point, zb = qb.zero_point;
  const float inv = 1.0f / out.scale;  // as torch's fake quantizer: x * (1 / scale)
  if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    add_avx2(a, sa, za, b, sb, zb, n, inv, out.zero_point, y);
  } else {
    add_ref(a, sa, za, b, sb, zb, n, inv, out.zero_point, y);
  }
}

}  // namespace bytelite::rt
