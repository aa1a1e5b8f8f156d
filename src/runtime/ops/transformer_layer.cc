// One Transformer / Funnel-Transformer encoder layer (SeqFlowLite spec §2.4, §2.8, §2.9;
// src/train/layers.cc TransformerLayerImpl): the ops query_pool, dense, attention, add and
// layer_norm wired as in training (post-LN).
#include <string>

#include "runtime/ops/ops.h"
#include "runtime/ops/taps.h"

namespace bytelite::rt {

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
    block_mean(c.isa, x, T, D, l.pool_window, in_q, hp, s.state);
    h = hp;
    c.tap(taps::layer_tap(name, taps::kPooled), h, Tq, D, in_q);
  }
  int8_t* q = grow(s.buf2, Tq * D);
  int8_t* kv = grow(s.buf3, T * 2 * D);
  {
    OpTimer tm(prof, Op::kDense);
    dense(c, l.query, h, Tq, D, q);
    dense(c, l.key_value, x, T, D, kv);
  }
  c.tap(taps::layer_tap(name, taps::kQuery), q, Tq, D, l.query.out);
  c.tap(taps::layer_tap(name, taps::kKeyValue), kv, T, 2 * D, l.key_value.out);
  int8_t* ctx = grow(s.ctx, Tq * D);
  {
    OpTimer tm(prof, Op::kAttention);
    attention(c, l.attn, q, l.query.out, Tq, kv, l.key_value.out, T, D, ctx);
  }
  c.tap(taps::layer_tap(name, taps::kContext), ctx, Tq, D, l.attn.context);
  int8_t* o = grow(s.buf4, Tq * D);
  {
    OpTimer tm(prof, Op::kDense);
    dense(c, l.output, ctx, Tq, D, o);
  }
  c.tap(taps::layer_tap(name, taps::kOutput), o, Tq, D, l.output.out);
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
  c.tap(taps::layer_tap(name, taps::kNorm1), x1, Tq, D, l.norm1.out);
  const int64_t I = l.ffn_in.w.n;
  int8_t* u = grow(s.buf3, Tq * I);  // kv is no longer needed
  {
    OpTimer tm(prof, Op::kDense);
    dense(c, l.ffn_in, x1, Tq, D, u);
    dense(c, l.ffn_out, u, Tq, I, o);
  }
  c.tap(taps::layer_tap(name, taps::kFfnOut), o, Tq, D, l.ffn_out.out);
  {
    OpTimer tm(prof, Op::kAdd);
    add(isa, x1, l.norm1.out, o, l.ffn_out.out, Tq * D, l.norm2.in, o);
  }
  {
    OpTimer tm(prof, Op::kLayerNorm);
    layer_norm(isa, l.norm2, o, Tq, D, y);
  }
  c.tap(taps::layer_tap(name, taps::kNorm2), y, Tq, D, l.norm2.out);
  return Tq;
}

}  // namespace bytelite::rt
