// Op embedding: rows of the pre-quantized table (bit-exact with training's embedding_quant).
#include <cstring>

#include "runtime/ops/ops.h"

namespace bytelite::rt {

void embedding(const int8_t* table, int64_t dim, const int32_t* ids, int64_t T, int8_t* y) {
  for (int64_t t = 0; t < T; ++t) {
    std::memcpy(y + t * dim, table + static_cast<int64_t>(ids[t]) * dim, static_cast<size_t>(dim));
  }
}

}  // namespace bytelite::rt
