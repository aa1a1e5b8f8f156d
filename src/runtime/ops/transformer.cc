// Transformer encoder ops (SeqFlowLite spec §2.4, §2.8, §2.9, §4.5; src/train/layers.cc
// LayerNormImpl and TransformerLayerImpl): residual add, layer normalization, multi-head
// attention on the int8 GEMM kernels, and the (funnel) encoder layer wiring them.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "runtime/ops/ops.h"

namespace bytelite::rt {

static_assert(FLT_EVAL_METHOD == 0,
              "float expressions must be evaluated in single precision (SSE, not x87)");

namespace {
// Round to nearest, ties to even, without a libm call (vectorizable): adding and subtracting
// 1.5 * 2^23 (float) or 1.5 * 2^52 (double) leaves no fraction bits, for |x| below 2^22 / 2^51;
// the caller clamps first (every result is clamped to int8 afterwards anyway).
inline float round_even_f(float x) {
  x = std::min(4194304.0f, std::max(-4194304.0f, x));
  return (x + 12582912.0f) - 12582912.0f;
}
inline double round_even_d(double x) {
  x = std::min(1e9, std::max(-1e9, x));
  return (x + 6755399441055744.0) - 6755399441055744.0;
}
}  // namespace

void add(Isa isa, const int8_t* a, QParams qa, const int8_t* b, QParams qb, int64_t n, QParams out,
         int8_t* y) {
  const float sa = qa.scale, sb = qb.scale;
  const int32_t za = qa.zero_point, zb = qb.zero_point;
  const float inv = 1.0f / out.scale;  // as torch's fake quantizer: x * (1 / scale)
  if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    add_avx2(a, sa, za, b, sb, zb, n, inv, out.zero_point, y);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float xa = static_cast<float>(a[i] - za) * sa;
    const float xb = static_cast<float>(b[i] - zb) * sb;
    const float r = round_even_f((xa + xb) * inv);
    const float q = r + static_cast<float>(out.zero_point);
    y[i] = static_cast<int8_t>(std::min(127.0f, std::max(-128.0f, q)));
  }
}

void layer_norm(Isa isa, const LayerNormLayer& l, const int8_t* x, int64_t T, int64_t D,
                int8_t* y) {
  const bool avx2 = isa != Isa::kReference && isa_supported(Isa::kAvx2);
  const int32_t z = l.in.zero_point;
  const double s = l.in.scale;
  for (int64_t t = 0; t < T; ++t) {
    const int8_t* xt = x + t * D;
    int64_t s1 = 0, s2 = 0;
    for (int64_t c = 0; c < D; ++c) {
      const int64_t v = xt[c] - z;
      s1 += v;
      s2 += v * v;
    }
    const double mean = static_cast<double>(s1) / static_cast<double>(D);
    const double var =
        std::max(0.0, static_cast<double>(s2) / static_cast<double>(D) - mean * mean);
    const double a = s / std::sqrt(var * s * s + l.epsilon);
    int8_t* yt = y + t * D;
    if (avx2) {
      layer_norm_row_avx2(xt, D, z, mean, a, l.gamma_s.data(), l.beta_s.data(), l.out.zero_point,
                          yt);
      continue;
    }
    for (int64_t c = 0; c < D; ++c) {
      const double v = (static_cast<double>(xt[c] - z) - mean) * a * l.gamma_s[c] + l.beta_s[c];
      const double q = round_even_d(v) + l.out.zero_point;
      yt[c] = static_cast<int8_t>(std::min(127.0, std::max(-128.0, q)));
    }
  }
}

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

int64_t transformer_layer(const OpContext& c, const TransformerLayerRt& l, const int8_t* x,
                          int64_t T, int64_t D, QParams in_q, int8_t* y, const std::string& name) {
  const Isa isa = c.isa;
  OpScratch& s = c.scratch;
  Profile* prof = c.profile;
  // Query stream: x itself, or its mean over blocks of pool_window positions (funnel).
  const int8_t* h = x;
  int64_t Tq = T;
  if (l.pool_window > 1) {
    OpTimer tm(prof, Op::kQueryPool);
    Tq = (T + l.pool_window - 1) / l.pool_window;
    int8_t* hp = grow(s.buf1, Tq * D);
    block_mean(x, T, D, l.pool_window, in_q, hp, s.state);
    h = hp;
    c.tap(name + ".pooled", h, Tq, D, in_q);
  }
  int8_t* q = grow(s.buf2, Tq * D);
  int8_t* kv = grow(s.buf3, T * 2 * D);
  {
    OpTimer tm(prof, Op::kDense);
    dense(c, l.query, h, Tq, D, q);
    dense(c, l.key_value, x, T, D, kv);
  }
  c.tap(name + ".query", q, Tq, D, l.query.out);
  c.tap(name + ".key_value", kv, T, 2 * D, l.key_value.out);
  int8_t* ctx = grow(s.ctx, Tq * D);
  {
    OpTimer tm(prof, Op::kAttention);
    attention(c, l.attn, q, l.query.out, Tq, kv, l.key_value.out, T, D, ctx);
  }
  c.tap(name + ".context", ctx, Tq, D, l.attn.context);
  int8_t* o = grow(s.buf4, Tq * D);
  {
    OpTimer tm(prof, Op::kDense);
    dense(c, l.output, ctx, Tq, D, o);
  }
  c.tap(name + ".output", o, Tq, D, l.output.out);
  // x1 = norm1(h + o): the sum is written over o, x1 over q (no longer needed)
  {
    OpTimer tm(prof, Op::kAdd);
    add(isa, h, in_q, o, l.output.out, Tq * D, l.norm1.in, o);
  }
  int8_t* x1 = q;
  {
    OpTimer tm(prof, Op::kLayerNorm);
    layer_norm(isa, l.norm1, o, Tq, D, x1);
  }
  c.tap(name + ".norm1", x1, Tq, D, l.norm1.out);
  const int64_t I = l.ffn_in.w.n;
  int8_t* u = grow(s.buf3, Tq * I);  // kv is no longer needed
  {
    OpTimer tm(prof, Op::kDense);
    dense(c, l.ffn_in, x1, Tq, D, u);
    dense(c, l.ffn_out, u, Tq, I, o);
  }
  c.tap(name + ".ffn_out", o, Tq, D, l.ffn_out.out);
  {
    OpTimer tm(prof, Op::kAdd);
    add(isa, x1, l.norm1.out, o, l.ffn_out.out, Tq * D, l.norm2.in, o);
  }
  {
    OpTimer tm(prof, Op::kLayerNorm);
    layer_norm(isa, l.norm2, o, Tq, D, y);
  }
  c.tap(name + ".norm2", y, Tq, D, l.norm2.out);
  return Tq;
}

}  // namespace bytelite::rt
