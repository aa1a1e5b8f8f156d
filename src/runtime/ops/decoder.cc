// Int8 seq2seq decoding: the encoder, the MAtt decoder step with its fixed-size running-sum
// cache, the growing-cache baseline and the beam-search adapter (decoder.h, docs/seq2seq.md).
#include "runtime/ops/decoder.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "bytelite/errors.h"
#include "runtime/models/classifier_net.h"

namespace bytelite::rt {

static_assert(FLT_EVAL_METHOD == 0,
              "float expressions must be evaluated in single precision (SSE, not x87)");

namespace {

[[noreturn]] void invalid(const std::string& msg) { throw InvalidArgument(msg); }

Multiplier multiplier_or_throw(double m, const char* what) {
  Multiplier out;
  if (!make_multiplier(m, &out)) {
    invalid(std::string(what) + ": expected a requantization multiplier in (0, 2^30), found " +
            std::to_string(m));
  }
  return out;
}

void check_ids(const int32_t* ids, int64_t n, int64_t vocab) {
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      invalid("decoder input id " + std::to_string(ids[i]) + " outside [0, " +
              std::to_string(vocab) + ")");
    }
  }
}

// x [rows, D] = table rows of ids, + position row `pos` (same for every row), requantized to
// norm.in, then layer-normalized into y.
void decoder_input(const OpContext& c, const EmbeddingRt& emb, const EmbeddingRt& position,
                   const LayerNormLayer& norm, const int32_t* ids, int64_t rows, int64_t pos,
                   int8_t* x, int8_t* y) {
  const int64_t D = emb.dim;
  {
    OpTimer tm(c.profile, Op::kEmbedding);
    embedding(emb.table, D, ids, rows, x);
  }
  {
    OpTimer tm(c.profile, Op::kAdd);
    for (int64_t i = 0; i < rows; ++i)
      add(c.isa, x + i * D, emb.q, position.table + pos * D, position.q, D, norm.in, x + i * D);
  }
  OpTimer tm(c.profile, Op::kLayerNorm);
  layer_norm(c.isa, norm, x, rows, D, y);
}

}  // namespace

void check_parents(const int32_t* parents, int64_t beam) {
  if (parents == nullptr) invalid("decoder step: parents must not be null after step 1");
  for (int64_t i = 0; i < beam; ++i) {
    if (parents[i] < 0 || parents[i] >= beam) {
      invalid("decoder step: parent beam " + std::to_string(parents[i]) + " outside [0, " +
              std::to_string(beam) + ")");
    }
  }
}

DenseLayer make_dense_layer(const int8_t* w, int64_t n, int64_t k, const float* weight_scale,
                            const int32_t* bias, int bias_shift, bool relu, QParams in,
                            QParams out) {
  if (bias_shift < 0 || bias_shift > 24) invalid("dense layer: bias_shift outside [0, 24]");
  if (k * 128 * 127 >= (int64_t{1} << 28)) invalid("dense layer: too many input features");
  DenseLayer L;
  L.in = in;
  L.out = out;
  RequantParams& rq = L.rq;
  rq.n = n;
  rq.m0.resize(n);
  rq.shift.resize(n);
  rq.bias.resize(n);
  rq.zp = out.zero_point;
  rq.lo = relu ? out.zero_point : -128;
  rq.hi = 127;
  for (int64_t j = 0; j < n; ++j) {
    int64_t rowsum = 0;
    for (int64_t i = 0; i < k; ++i) rowsum += w[j * k + i];
    const Multiplier m =
        multiplier_or_throw(static_cast<double>(in.scale) * static_cast<double>(weight_scale[j]) /
                                static_cast<double>(out.scale),
                            "dense layer");
    const int64_t b = bias[j];
    if (b <= -(int64_t{1} << 29) || b >= (int64_t{1} << 29)) invalid("dense layer: |bias| >= 2^29");
    const int64_t bias_fixed =
        bias_shift == 0 ? b * m.m0 : (b * m.m0 + (int64_t{1} << (bias_shift - 1))) >> bias_shift;
    rq.bias[j] = bias_fixed - static_cast<int64_t>(in.zero_point) * rowsum * m.m0;
    rq.m0[j] = m.m0;
    rq.shift[j] = m.shift;
  }
  prepare_requant(rq);
  L.w = pack_matrix(w, n, k);
  return L;
}

std::array<uint32_t, 256> make_exp_table(float scale) {
  std::array<uint32_t, 256> t{};
  for (int d = 0; d < 256; ++d) {
    t[d] = static_cast<uint32_t>(
        std::llround(1073741824.0 * std::exp(-static_cast<double>(scale) * d)));
  }
  return t;
}

AttentionLayer make_attention_layer(int32_t heads, double logit_factor, QParams q, QParams kv,
                                    QParams logits, QParams context) {
  AttentionLayer a;
  a.heads = heads;
  a.logit_factor = logit_factor;
  a.logits = logits;
  a.context = context;
  a.logits_exp = make_exp_table(logits.scale);
  a.logits_m = multiplier_or_throw(
      static_cast<double>(q.scale) * kv.scale * logit_factor / static_cast<double>(logits.scale),
      "attention logits");
  a.context_m = multiplier_or_throw(
      static_cast<double>(kv.scale) / (255.0 * static_cast<double>(context.scale)),
      "attention context");
  return a;
}

LayerNormLayer make_layer_norm_layer(const float* gamma, const float* beta, int64_t D, QParams in,
                                     QParams out, double epsilon) {
  LayerNormLayer L;
  L.in = in;
  L.out = out;
  L.epsilon = epsilon;
  for (int64_t c = 0; c < D; ++c) {
    L.gamma_s.push_back(static_cast<double>(gamma[c]) / out.scale);
    L.beta_s.push_back(static_cast<double>(beta[c]) / out.scale);
  }
  return L;
}

int64_t seq2seq_encode(const OpContext& c, const Seq2SeqEncoderRt& enc, const int32_t* ids,
                       int64_t T, std::vector<int8_t>& out, EncoderScratch& s) {
  const int64_t D = enc.dim;
  if (enc.classifier) {
    // the classifier's QRNN / funnel encoder
    const ClassifierNet& cn = *enc.classifier;
    const int64_t max_t =
        cn.transformer ? std::min<int64_t>(enc.max_source, cn.max_positions) : enc.max_source;
    if (T < 1 || T > max_t) {
      invalid("encoder: source length " + std::to_string(T) + " outside [1, " +
              std::to_string(max_t) + "]");
    }
    check_ids(ids, T, cn.vocab_size);
    const ClassifierEncoding e = classifier_encode(c, cn, ids, T, s.a, s.b);
    out.assign(e.buffer->begin(), e.buffer->begin() + e.length * e.width);
    return e.length;
  }
  if (T < 1 || T > enc.position.rows) {
    invalid("encoder: source length " + std::to_string(T) + " outside [1, " +
            std::to_string(enc.position.rows) + "]");
  }
  check_ids(ids, T, enc.embedding.rows);
  int8_t* x = grow(s.a, T * D);
  {
    OpTimer tm(c.profile, Op::kEmbedding);
    embedding(enc.embedding.table, D, ids, T, x);
  }
  {
    OpTimer tm(c.profile, Op::kAdd);
    add(c.isa, x, enc.embedding.q, enc.position.table, enc.position.q, T * D, enc.norm.in, x);
  }
  int8_t* xn = grow(s.b, T * D);
  {
    OpTimer tm(c.profile, Op::kLayerNorm);
    layer_norm(c.isa, enc.norm, x, T, D, xn);
  }
  c.tap("encoder.embedding_norm", xn, T, D, enc.norm.out);
  const int64_t tg = (T + enc.gbst.downsample_rate - 1) / enc.gbst.downsample_rate;
  int8_t* h = grow(s.a, tg * D);
  int64_t L = gbst(c, enc.gbst, xn, T, h);
  std::vector<int8_t>* cur = &s.a;
  std::vector<int8_t>* nxt = &s.b;
  QParams hq = enc.gbst.mix;
  for (size_t i = 0; i < enc.layers.size(); ++i) {
    int8_t* y = grow(*nxt, L * D);
    L = transformer_layer(c, enc.layers[i], cur->data(), L, D, hq, y,
                          "encoder" + std::to_string(i));
    hq = enc.layers[i].norm2.out;
    std::swap(cur, nxt);
  }
  out.assign(cur->begin(), cur->begin() + L * D);
  return L;
}

namespace {
// The keys and values of one layer's cross-attention over the encoder output enc_out [S, E] at
// params q (kv_dense: E -> 2D), computed and packed once per source.
void source_memory(const OpContext& c, const DenseLayer& kv_dense, const AttentionLayer& attn,
                   QParams query_params, const int8_t* enc_out, int64_t S, int64_t D, QParams q,
                   std::vector<int8_t>& kv, CrossMemory& cross) {
  if (kv_dense.in.scale != q.scale || kv_dense.in.zero_point != q.zero_point) {
    invalid("decoder session: encoder output params differ from the key/value layer's input");
  }
  kv.resize(static_cast<size_t>(S * 2 * D));
  {
    OpTimer tm(c.profile, Op::kDense);
    dense(c, kv_dense, enc_out, S, kv_dense.w.k, kv.data());
  }
  OpTimer tm(c.profile, Op::kAttention);  // packing the keys and values for the attention
  prepare_cross_memory(c.isa, attn, query_params, kv.data(), kv_dense.out, S, D, cross);
}
}  // namespace

MattDecoderSession::MattDecoderSession(const MattDecoderRt& dec, int32_t beam, Isa isa)
    : dec_(dec), beam_(beam), isa_(isa) {
  if (beam < 1) invalid("decoder session: beam must be >= 1");
  const size_t nl = dec_.layers.size();
  kv_.resize(nl);
  cross_.resize(nl);
  sums_.assign(nl, std::vector<double>(static_cast<size_t>(beam * dec_.dim), 0.0));
  spare_ = sums_;
}

void MattDecoderSession::set_memory(const int8_t* enc_out, int64_t S, QParams q) {
  if (S < 1) invalid("decoder session: empty encoder output");
  const int64_t D = dec_.dim;
  for (size_t l = 0; l < dec_.layers.size(); ++l) {
    const MattLayerRt& L = dec_.layers[l];
    source_memory(OpContext{isa_, ops_, trace_, profile_}, L.key_value, L.attn, L.query.out,
                  enc_out, S, D, q, kv_[l], cross_[l]);
  }
  S_ = S;
  t_ = 0;
}

const int8_t* MattDecoderSession::step(const int32_t* ids, const int32_t* parents) {
  const int64_t K = beam_, D = dec_.dim;
  if (S_ < 1) invalid("decoder session: set_memory was not called");
  if (t_ >= dec_.position.rows) {
    invalid("decoder step " + std::to_string(t_ + 1) + " beyond the " +
            std::to_string(dec_.position.rows) + " positions of the decoder");
  }
  check_ids(ids, K, dec_.vocab);
  if (t_ > 0) check_parents(parents, K);
  const int32_t t = ++t_;
  OpContext c{isa_, ops_, trace_, profile_};
  Profile* prof = profile_;
  int8_t* h = grow(x_, K * D);
  int8_t* hn = grow(y_, K * D);
  decoder_input(c, dec_.embedding, dec_.position, dec_.norm, ids, K, t - 1, hn, h);
  c.tap("decoder.input", h, K, D, dec_.norm.out);
  QParams hq = dec_.norm.out;
  for (size_t l = 0; l < dec_.layers.size(); ++l) {
    const MattLayerRt& L = dec_.layers[l];
    const std::string name = trace_ != nullptr ? "decoder" + std::to_string(l) : std::string();
    const int64_t I = L.ffn_in.w.n;
    int8_t* v = grow(v_, K * D);
    int8_t* sa = grow(sa_, K * D);
    int8_t* q = grow(q_, K * D);
    int8_t* ctx = grow(ctx_, K * D);
    int8_t* u = grow(u_, K * I);
    // self part: running sum reordered by parent, cumulative average
    {
      OpTimer tm(prof, Op::kDense);
      dense(c, L.uniform, h, K, D, v);
    }
    c.tap(name + ".uniform", v, K, D, L.uniform.out);
    {
      OpTimer tm(prof, Op::kUniformAverage);
      uniform_causal_average(v, L.uniform.out, K, D, t, parents, sums_[l].data(), spare_[l].data(),
                             L.average, sa);
      std::swap(sums_[l], spare_[l]);
    }
    c.tap(name + ".average", sa, K, D, L.average);
    // cross part over the source's keys and values
    {
      OpTimer tm(prof, Op::kDense);
      dense(c, L.query, h, K, D, q);
    }
    c.tap(name + ".query", q, K, D, L.query.out);
    {
      OpTimer tm(prof, Op::kAttention);
      cross_attention(c, L.attn, cross_[l], q, K, ctx);
    }
    c.tap(name + ".context", ctx, K, D, L.attn.context);
    // merge, shared output projection, residual + norm, feed-forward
    {
      OpTimer tm(prof, Op::kAdd);
      add(isa_, sa, L.average, ctx, L.attn.context, K * D, L.merge, ctx);
    }
    {
      OpTimer tm(prof, Op::kDense);
      dense(c, L.output, ctx, K, D, v);
    }
    c.tap(name + ".output", v, K, D, L.output.out);
    {
      OpTimer tm(prof, Op::kAdd);
      add(isa_, h, hq, v, L.output.out, K * D, L.norm1.in, v);
    }
    {
      OpTimer tm(prof, Op::kLayerNorm);
      layer_norm(isa_, L.norm1, v, K, D, q);  // x1
    }
    c.tap(name + ".norm1", q, K, D, L.norm1.out);
    {
      OpTimer tm(prof, Op::kDense);
      dense(c, L.ffn_in, q, K, D, u);
      dense(c, L.ffn_out, u, K, I, v);
    }
    c.tap(name + ".ffn_out", v, K, D, L.ffn_out.out);
    {
      OpTimer tm(prof, Op::kAdd);
      add(isa_, q, L.norm1.out, v, L.ffn_out.out, K * D, L.norm2.in, v);
    }
    {
      OpTimer tm(prof, Op::kLayerNorm);
      layer_norm(isa_, L.norm2, v, K, D, h);
    }
    c.tap(name + ".norm2", h, K, D, L.norm2.out);
    hq = L.norm2.out;
  }
  int8_t* logits = grow(logits_, K * dec_.vocab);
  {
    OpTimer tm(prof, Op::kDense);
    dense(c, dec_.logits, h, K, D, logits);
  }
  c.tap("decoder.logits", logits, K, dec_.vocab, dec_.logits.out);
  return logits;
}

BaselineDecoderSession::BaselineDecoderSession(const BaselineDecoderRt& dec, int32_t beam, Isa isa)
    : dec_(dec), beam_(beam), isa_(isa) {
  if (beam < 1) invalid("decoder session: beam must be >= 1");
  const size_t nl = dec_.layers.size();
  mem_kv_.resize(nl);
  cross_.resize(nl);
  const size_t cache = static_cast<size_t>(beam * dec_.position.rows * 2 * dec_.dim);
  cache_.assign(nl, std::vector<int8_t>(cache, 0));
  cache_spare_ = cache_;
}

void BaselineDecoderSession::set_memory(const int8_t* enc_out, int64_t S, QParams q) {
  if (S < 1) invalid("decoder session: empty encoder output");
  const int64_t D = dec_.dim;
  for (size_t l = 0; l < dec_.layers.size(); ++l) {
    const BaselineLayerRt& L = dec_.layers[l];
    source_memory(OpContext{isa_, ops_}, L.cross_kv, L.cross_attn, L.cross_query.out, enc_out, S, D,
                  q, mem_kv_[l], cross_[l]);
  }
  S_ = S;
  t_ = 0;
}

const int8_t* BaselineDecoderSession::step(const int32_t* ids, const int32_t* parents) {
  const int64_t K = beam_, D = dec_.dim, P = dec_.position.rows;
  if (S_ < 1) invalid("decoder session: set_memory was not called");
  if (t_ >= P) invalid("decoder step beyond the decoder's positions");
  check_ids(ids, K, dec_.vocab);
  if (t_ > 0) check_parents(parents, K);
  const int32_t t = ++t_;
  OpContext c{isa_, ops_, nullptr, nullptr};
  int8_t* h = grow(x_, K * D);
  int8_t* hn = grow(y_, K * D);
  decoder_input(c, dec_.embedding, dec_.position, dec_.norm, ids, K, t - 1, hn, h);
  QParams hq = dec_.norm.out;
  for (size_t l = 0; l < dec_.layers.size(); ++l) {
    const BaselineLayerRt& L = dec_.layers[l];
    const int64_t I = L.ffn_in.w.n;
    int8_t* q = grow(q_, K * D);
    int8_t* kvrow = grow(kvrow_, K * 2 * D);
    int8_t* ctx = grow(ctx_, K * D);
    int8_t* o = grow(o_, K * D);
    int8_t* u = grow(u_, K * I);
    // self-attention over the growing cache, reordered by parent (t - 1 rows copied per beam)
    dense(c, L.self_query, h, K, D, q);
    dense(c, L.self_kv, h, K, D, kvrow);
    int8_t* cur = cache_[l].data();
    int8_t* nxt = cache_spare_[l].data();
    const int64_t row = 2 * D, per_beam = P * row;
    for (int64_t i = 0; i < K; ++i) {
      if (t > 1) {
        std::memcpy(nxt + i * per_beam, cur + parents[i] * per_beam,
                    static_cast<size_t>((t - 1) * row));
      }
      std::memcpy(nxt + i * per_beam + (t - 1) * row, kvrow + i * row, static_cast<size_t>(row));
    }
    std::swap(cache_[l], cache_spare_[l]);
    for (int64_t i = 0; i < K; ++i) {
      attention(c, L.self_attn, q + i * D, L.self_query.out, 1, cache_[l].data() + i * per_beam,
                L.self_kv.out, t, D, ctx + i * D);
    }
    dense(c, L.self_out, ctx, K, D, o);
    add(isa_, h, hq, o, L.self_out.out, K * D, L.norm1.in, o);
    layer_norm(isa_, L.norm1, o, K, D, hn);  // x1
    // cross-attention
    dense(c, L.cross_query, hn, K, D, q);
    cross_attention(c, L.cross_attn, cross_[l], q, K, ctx);
    dense(c, L.cross_out, ctx, K, D, o);
    add(isa_, hn, L.norm1.out, o, L.cross_out.out, K * D, L.norm2.in, o);
    layer_norm(isa_, L.norm2, o, K, D, h);  // x2
    // feed-forward
    dense(c, L.ffn_in, h, K, D, u);
    dense(c, L.ffn_out, u, K, I, o);
    add(isa_, h, L.norm2.out, o, L.ffn_out.out, K * D, L.norm3.in, o);
    layer_norm(isa_, L.norm3, o, K, D, h);
    hq = L.norm3.out;
  }
  int8_t* logits = grow(logits_, K * dec_.vocab);
  dense(c, dec_.logits, h, K, D, logits);
  return logits;
}

namespace {

// Random layers for benchmarks: activations at scale 1/16 (zero point 0), ReLU outputs at
// [0, 8], layer-norm outputs at [-4, 4], attention logits at [-8, 8], weights in [-127, 127]
// with scale 1 / (127 sqrt(k)).
class RandomLayers {
 public:
  RandomLayers(uint64_t seed, Int8Storage& storage) : rng_(seed), storage_(storage) {}
  static constexpr QParams kAct{1.0f / 16.0f, 0};
  static constexpr QParams kRelu{8.0f / 255.0f, -128};
  static constexpr QParams kNorm{8.0f / 255.0f, 0};
  static constexpr QParams kLogits{16.0f / 255.0f, 0};

  const int8_t* table(int64_t rows, int64_t cols) {
    auto v = std::make_shared<std::vector<int8_t>>(static_cast<size_t>(rows * cols));
    std::uniform_int_distribution<int> d(-100, 100);
    for (auto& x : *v) x = static_cast<int8_t>(d(rng_));
    storage_.push_back(v);
    return v->data();
  }
  DenseLayer dense(int64_t k, int64_t n, QParams in, QParams out, bool relu = false) {
    const int8_t* w = table(n, k);
    std::vector<float> scales(static_cast<size_t>(n),
                              static_cast<float>(1.0 / (127.0 * std::sqrt(double(k)))));
    std::vector<int32_t> bias(static_cast<size_t>(n), 0);
    return make_dense_layer(w, n, k, scales.data(), bias.data(), 0, relu, in, out);
  }
  LayerNormLayer norm(int64_t D, QParams in) {
    std::vector<float> g(static_cast<size_t>(D), 1.0f), b(static_cast<size_t>(D), 0.0f);
    return make_layer_norm_layer(g.data(), b.data(), D, in, kNorm);
  }
  AttentionLayer attention(int64_t heads, int64_t dh, QParams q, QParams kv) {
    return make_attention_layer(static_cast<int32_t>(heads), 1.0 / std::sqrt(double(dh)), q, kv,
                                kLogits, kAct);
  }

 private:
  std::mt19937_64 rng_;
  Int8Storage& storage_;
};

template <typename Dec>
void random_front(RandomLayers& r, Dec& d, int64_t dim, int64_t max_steps) {
  d.dim = dim;
  d.vocab = kVocabSize;
  d.embedding = {kVocabSize, dim, r.table(kVocabSize, dim), RandomLayers::kAct};
  d.position = {max_steps, dim, r.table(max_steps, dim), RandomLayers::kAct};
  d.norm = r.norm(dim, RandomLayers::kAct);
}

}  // namespace

MattDecoderRt random_matt_decoder(int64_t dim, int64_t layers, int64_t heads, int64_t inter,
                                  int64_t max_steps, uint64_t seed, Int8Storage& storage) {
  RandomLayers r(seed, storage);
  MattDecoderRt d;
  random_front(r, d, dim, max_steps);
  const QParams A = RandomLayers::kAct, N = RandomLayers::kNorm;
  for (int64_t l = 0; l < layers; ++l) {
    MattLayerRt L;
    L.uniform = r.dense(dim, dim, N, A);
    L.average = A;
    L.query = r.dense(dim, dim, N, A);
    L.key_value = r.dense(dim, 2 * dim, N, A);  // the encoder output is at kNorm too
    L.attn = r.attention(heads, dim / heads, A, A);
    L.merge = A;
    L.output = r.dense(dim, dim, A, A);
    L.norm1 = r.norm(dim, A);
    L.ffn_in = r.dense(dim, inter, N, RandomLayers::kRelu, true);
    L.ffn_out = r.dense(inter, dim, RandomLayers::kRelu, A);
    L.norm2 = r.norm(dim, A);
    d.layers.push_back(std::move(L));
  }
  d.logits = r.dense(dim, kVocabSize, N, RandomLayers::kLogits);
  return d;
}

BaselineDecoderRt random_baseline_decoder(int64_t dim, int64_t layers, int64_t heads, int64_t inter,
                                          int64_t max_steps, uint64_t seed) {
  BaselineDecoderRt d;
  RandomLayers r(seed, d.storage);
  random_front(r, d, dim, max_steps);
  const QParams A = RandomLayers::kAct, N = RandomLayers::kNorm;
  for (int64_t l = 0; l < layers; ++l) {
    BaselineLayerRt L;
    L.self_query = r.dense(dim, dim, N, A);
    L.self_kv = r.dense(dim, 2 * dim, N, A);
    L.self_attn = r.attention(heads, dim / heads, A, A);
    L.self_out = r.dense(dim, dim, A, A);
    L.norm1 = r.norm(dim, A);
    L.cross_query = r.dense(dim, dim, N, A);
    L.cross_kv = r.dense(dim, 2 * dim, N, A);
    L.cross_attn = r.attention(heads, dim / heads, A, A);
    L.cross_out = r.dense(dim, dim, A, A);
    L.norm2 = r.norm(dim, A);
    L.ffn_in = r.dense(dim, inter, N, RandomLayers::kRelu, true);
    L.ffn_out = r.dense(inter, dim, RandomLayers::kRelu, A);
    L.norm3 = r.norm(dim, A);
    d.layers.push_back(std::move(L));
  }
  d.logits = r.dense(dim, kVocabSize, N, RandomLayers::kLogits);
  return d;
}

StepScores MattBeamDecoder::decode(int32_t step, const std::vector<int32_t>& parent_beams,
                                   const std::vector<int32_t>& input_ids) {
  const int32_t K = session_.beam();
  if (step != session_.steps() + 1) {
    invalid("MattBeamDecoder: step " + std::to_string(step) + " after " +
            std::to_string(session_.steps()) + " steps (a new search needs set_memory)");
  }
  if (static_cast<int32_t>(parent_beams.size()) != K ||
      static_cast<int32_t>(input_ids.size()) != K) {
    invalid("MattBeamDecoder: expected " + std::to_string(K) + " parents and ids (beam size)");
  }
  const int8_t* logits = session_.step(input_ids.data(), parent_beams.data());
  const QParams q = session_.logits_params();
  return StepScores::int8_logits(logits, K, static_cast<int32_t>(session_.vocab()), q.scale,
                                 q.zero_point);
}

std::vector<int32_t> greedy_decode(MattDecoderSession& session, int32_t max_len, int32_t start_id,
                                   int32_t eos_id) {
  if (session.beam() != 1) invalid("greedy_decode: expected a session of beam 1");
  std::vector<int32_t> out;
  int32_t id = start_id;
  const int32_t parent = 0;
  for (int32_t i = 0; i < max_len; ++i) {
    const int8_t* logits = session.step(&id, &parent);
    int32_t best = 0;
    for (int32_t c = 1; c < session.vocab(); ++c) {
      if (logits[c] > logits[best]) best = c;
    }
    out.push_back(best);
    if (best == eos_id) break;
    id = best;
  }
  return out;
}

}  // namespace bytelite::rt
