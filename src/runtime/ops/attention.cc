// Op attention: multi-head self- and cross-attention on the int8 GEMM kernels (ops.h attention;
// decoder.h CrossMemory, prepare_cross_memory and cross_attention: the source side packed once).
#include <algorithm>
#include <cstring>

#include "runtime/ops/decoder.h"
#include "runtime/ops/ops.h"

namespace bytelite::rt {

namespace {

// acc [rows, n] -> y with one multiplier and zero point (no bias), row stride ldy.
void requantize_uniform(Isa isa, const int32_t* acc, int64_t rows, int64_t n, Multiplier m,
                        int32_t zp, int8_t* y, int64_t ldy, RequantParams& rq,
                        std::vector<int8_t>& tmp) {
  if (rq.n != n || rq.m0.empty() || rq.m0[0] != m.m0 || rq.shift[0] != m.shift || rq.zp != zp) {
    rq = uniform_requant(n, m, zp);
  }
  if (ldy == n) {
    requantize(isa, acc, rows, rq, y);
    return;
  }
  int8_t* t = grow(tmp, rows * n);
  requantize(isa, acc, rows, rq, t);
  for (int64_t r = 0; r < rows; ++r) std::memcpy(y + r * ldy, t + r * n, static_cast<size_t>(n));
}

}  // namespace

void attention(const OpContext& cx, const AttentionLayer& l, const int8_t* q, QParams qp,
               int64_t Tq, const int8_t* kv, QParams kvp, int64_t S, int64_t D, int8_t* y) {
  const Isa isa = cx.isa;
  OpScratch& s = cx.scratch;
  const int64_t H = l.heads, dh = D / H;
  const int32_t zq = qp.zero_point, zk = kvp.zero_point;
  int8_t* kh = grow(s.kh, S * dh);
  int8_t* vt = grow(s.vt, dh * S);
  int8_t* logits = grow(s.logits, Tq * S);
  int8_t* probs = grow(s.probs, Tq * S);
  int32_t* rowsum = grow(s.rowsum, std::max(Tq, S) + dh);
  for (int64_t h = 0; h < H; ++h) {
    // keys of head h as a [S, dh] matrix, values transposed to [dh, S]
    for (int64_t t = 0; t < S; ++t) {
      std::memcpy(kh + t * dh, kv + t * 2 * D + h * dh, static_cast<size_t>(dh));
      for (int64_t c = 0; c < dh; ++c) vt[c * S + t] = kv[t * 2 * D + D + h * dh + c];
    }
    // logits: Σ_d (q - zq)(k - zk) = Σ q k - zk Σ_d q - zq Σ_d k + dh zq zk
    {
      pack_matrix_into(s.keys, kh, S, dh, isa, false);
      const PackedMatrix& km = s.keys;
      int32_t* acc = grow(s.acc, Tq * S);
      gemm_s8(isa, q + h * dh, Tq, D, km, acc, s.kernel);
      for (int64_t j = 0; j < S; ++j) {
        int32_t ks = 0;
        for (int64_t c = 0; c < dh; ++c) ks += kh[j * dh + c];
        rowsum[j] = zq * ks - static_cast<int32_t>(dh) * zq * zk;
      }
      for (int64_t t = 0; t < Tq; ++t) {
        int32_t qs = 0;
        const int8_t* qt = q + t * D + h * dh;
        for (int64_t c = 0; c < dh; ++c) qs += qt[c];
        int32_t* at = acc + t * S;
        const int32_t rt = zk * qs;
        for (int64_t j = 0; j < S; ++j) at[j] -= rt + rowsum[j];
      }
      requantize_uniform(isa, acc, Tq, S, l.logits_m, l.logits.zero_point, logits, S, s.rq_logits,
                         s.buf5);
    }
    for (int64_t t = 0; t < Tq; ++t) {
      softmax_u8(logits + t * S, S, 1, l.logits_exp.data(), probs + t * S, 1);
    }
    // context: Σ_s (a + 128)(v - zv) = Σ a v - zv Σ_s a + 128 Σ_s v - 128 zv S
    {
      pack_matrix_into(s.values, vt, dh, S, isa, false);
      const PackedMatrix& vm = s.values;
      int32_t* acc = grow(s.acc, Tq * dh);
      gemm_s8(isa, probs, Tq, S, vm, acc, s.kernel);
      for (int64_t c = 0; c < dh; ++c) {
        int32_t vs = 0;
        for (int64_t j = 0; j < S; ++j) vs += vt[c * S + j];
        rowsum[c] = 128 * vs - 128 * zk * static_cast<int32_t>(S);
      }
      for (int64_t t = 0; t < Tq; ++t) {
        int32_t as = 0;
        const int8_t* pt = probs + t * S;
        for (int64_t j = 0; j < S; ++j) as += pt[j];
        int32_t* at = acc + t * dh;
        const int32_t rt = zk * as;
        for (int64_t c = 0; c < dh; ++c) at[c] += rowsum[c] - rt;
      }
      requantize_uniform(isa, acc, Tq, dh, l.context_m, l.context.zero_point, y + h * dh, D,
                         s.rq_context, s.buf5);
    }
  }
}

void prepare_cross_memory(Isa isa, const AttentionLayer& l, QParams qp, const int8_t* kv,
                          QParams kvp, int64_t S, int64_t D, CrossMemory& m) {
  const int64_t H = l.heads, dh = D / H;
  const int32_t zq = qp.zero_point, zk = kvp.zero_point;
  m.S = S;
  m.D = D;
  m.heads = H;
  m.q = qp;
  m.kv = kvp;
  m.kh.resize(H);
  m.vt.resize(H);
  m.keys.resize(H);
  m.values.resize(H);
  m.kcorr.resize(H);
  m.vcorr.resize(H);
  for (int64_t h = 0; h < H; ++h) {
    auto& kh = m.kh[h];
    auto& vt = m.vt[h];
    kh.resize(static_cast<size_t>(S * dh));
    vt.resize(static_cast<size_t>(dh * S));
    for (int64_t t = 0; t < S; ++t) {
      std::memcpy(kh.data() + t * dh, kv + t * 2 * D + h * dh, static_cast<size_t>(dh));
      for (int64_t c = 0; c < dh; ++c) vt[c * S + t] = kv[t * 2 * D + D + h * dh + c];
    }
    pack_matrix_into(m.keys[h], kh.data(), S, dh, isa, false);
    pack_matrix_into(m.values[h], vt.data(), dh, S, isa, false);
    // the same corrections as attention(): logits Σ (q - zq)(k - zk), context Σ (a + 128)(v - zv)
    m.kcorr[h].resize(static_cast<size_t>(S));
    for (int64_t j = 0; j < S; ++j) {
      int32_t ks = 0;
      for (int64_t c = 0; c < dh; ++c) ks += kh[j * dh + c];
      m.kcorr[h][j] = zq * ks - static_cast<int32_t>(dh) * zq * zk;
    }
    m.vcorr[h].resize(static_cast<size_t>(dh));
    for (int64_t c = 0; c < dh; ++c) {
      int32_t vs = 0;
      for (int64_t j = 0; j < S; ++j) vs += vt[c * S + j];
      m.vcorr[h][c] = 128 * vs - 128 * zk * static_cast<int32_t>(S);
    }
  }
  m.rq_logits = uniform_requant(S, l.logits_m, l.logits.zero_point);
  m.rq_context = uniform_requant(dh, l.context_m, l.context.zero_point);
}

void cross_attention(const OpContext& c, const AttentionLayer& l, const CrossMemory& m,
                     const int8_t* q, int64_t Tq, int8_t* y) {
  const Isa isa = c.isa;
  OpScratch& s = c.scratch;
  const int64_t H = m.heads, D = m.D, S = m.S, dh = D / H;
  const int32_t zk = m.kv.zero_point;
  int8_t* logits = grow(s.logits, Tq * S);
  int8_t* probs = grow(s.probs, Tq * S);
  int8_t* ctx = grow(s.buf5, Tq * dh);
  for (int64_t h = 0; h < H; ++h) {
    int32_t* acc = grow(s.acc, Tq * std::max(S, dh));
    gemm_s8(isa, q + h * dh, Tq, D, m.keys[h], acc, s.kernel);
    const int32_t* kc = m.kcorr[h].data();
    for (int64_t t = 0; t < Tq; ++t) {
      int32_t qs = 0;
      const int8_t* qt = q + t * D + h * dh;
      for (int64_t c = 0; c < dh; ++c) qs += qt[c];
      int32_t* at = acc + t * S;
      const int32_t rt = zk * qs;
      for (int64_t j = 0; j < S; ++j) at[j] -= rt + kc[j];
    }
    requantize(isa, acc, Tq, m.rq_logits, logits);
    for (int64_t t = 0; t < Tq; ++t) {
      softmax_u8(logits + t * S, S, 1, l.logits_exp.data(), probs + t * S, 1);
    }
    gemm_s8(isa, probs, Tq, S, m.values[h], acc, s.kernel);
    const int32_t* vc = m.vcorr[h].data();
    for (int64_t t = 0; t < Tq; ++t) {
      int32_t as = 0;
      const int8_t* pt = probs + t * S;
      for (int64_t j = 0; j < S; ++j) as += pt[j];
      int32_t* at = acc + t * dh;
      const int32_t rt = zk * as;
      for (int64_t c = 0; c < dh; ++c) at[c] += vc[c] - rt;
    }
    requantize(isa, acc, Tq, m.rq_context, ctx);
    for (int64_t t = 0; t < Tq; ++t) {
      std::memcpy(y + t * D + h * dh, ctx + t * dh, static_cast<size_t>(dh));
    }
  }
}

}  // namespace bytelite::rt
