// The model loader's shared checks and layer loaders (internal to libbytelite): every check of
// a tensor or quantization parameter throws ModelFileError with one line naming the field, what
// was expected and what was found. src/runtime/model.cc loads the model around the encoder; each
// encoder kind's unit (src/runtime/encoders/) loads its encoder's tables with these helpers.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "bytelite_model_generated.h"
#include "runtime/model_limits.h"
#include "runtime/models/classifier_net.h"

namespace bytelite::rt {

/// Rows of the byte embedding: 256 bytes + pad, bos, eos (tokenizer.vocab_size).
inline constexpr int32_t kVocab = 259;
/// 2^30: exp tables hold round(2^30 exp(-s d)).
inline constexpr int32_t kExpOne = 1 << 30;

/// Checks and loads the pieces of one model file (named `file` in messages) into prepared
/// layers (weights stay in the file's bytes), counting the parameters it loads.
class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  /// The parameter count so far (each loaded dense layer, table and norm adds its own).
  int64_t params() const { return params_; }
  void set_params(int64_t n) const { params_ = n; }
  void add_params(int64_t n) const { params_ += n; }

  [[noreturn]] void fail(const std::string& what, const std::string& expected,
                         const std::string& found) const {
    throw ModelFileError(file_ + ": " + what + ": expected " + expected + ", found " + found);
  }

  template <typename T>
  const T* need(const T* p, const std::string& what) const {
    if (p == nullptr) fail(what, "a value", "none (missing field)");
    return p;
  }

  // The GBST hyperparameters of a model config (named `cfg` in messages) within the bounds
  // the training config allows (runtime/model_limits.h).
  void check_gbst(const ModelInfo& info, const std::string& cfg) const {
    check_int(info.gbst_max_block_width, 1, limits::kMaxGbstBlockWidth,
              cfg + ".gbst_max_block_width");
    check_int(info.gbst_conv_kernel_size, 1, limits::kMaxKernel, cfg + ".gbst_conv_kernel_size");
    check_int(info.gbst_downsample_rate, 1, limits::kMaxDownsample, cfg + ".gbst_downsample_rate");
  }

  void check_int(int64_t v, int64_t lo, int64_t hi, const std::string& what) const {
    if (v < lo || v > hi) {
      fail(what, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
           std::to_string(v));
    }
  }

  template <typename V>
  void check_size(const V* v, int64_t n, const std::string& what, const std::string& shape) const {
    need(v, what);
    if (static_cast<int64_t>(v->size()) != n) {
      fail(what, std::to_string(n) + " values (" + shape + ")",
           std::to_string(v->size()) + " values");
    }
  }

  QParams qparams(const fb::QuantParams* q, const std::string& what) const {
    need(q, what);
    QParams p{q->scale(), q->zero_point()};
    if (!std::isfinite(p.scale) || !(p.scale > 1e-30f) || p.scale > 1e30f) {
      fail(what + ".scale", "a finite scale in (1e-30, 1e30]", std::to_string(p.scale));
    }
    check_int(p.zero_point, -128, 127, what + ".zero_point");
    return p;
  }

  void same_params(QParams a, QParams b, const std::string& what, const std::string& source) const {
    if (a.scale != b.scale || a.zero_point != b.zero_point) {
      fail(what,
           "the params of " + source + " (scale " + std::to_string(b.scale) + ", zero point " +
               std::to_string(b.zero_point) + ")",
           "scale " + std::to_string(a.scale) + ", zero point " + std::to_string(a.zero_point));
    }
  }

  Multiplier multiplier(double m, const std::string& what) const {
    Multiplier out;
    if (!make_multiplier(m, &out)) {
      fail(what, "a requantization multiplier in (0, 2^30)", std::to_string(m));
    }
    return out;
  }

  DenseLayer dense(const fb::Dense* d, const std::string& what, int64_t k, int64_t n,
                   QParams in) const {
    need(d, what);
    if (d->in_features() != k || d->out_features() != n) {
      fail(what + " shape", "[" + std::to_string(n) + ", " + std::to_string(k) + "]",
           "[" + std::to_string(d->out_features()) + ", " + std::to_string(d->in_features()) + "]");
    }
    const std::string shape = std::to_string(n) + " x " + std::to_string(k);
    // Bounds that keep every int64 term of the requantization (kernels.h RequantParams) small
    // enough for the SIMD form: |Σ x w| <= k * 128 * 127 < 2^28 and |bias| < 2^29.
    constexpr int64_t kAccLimit = int64_t{1} << 28;
    constexpr int64_t kBiasLimit = int64_t{1} << 29;
    if (k * 128 * 127 >= kAccLimit) {
      fail(what + ".in_features", "at most " + std::to_string(kAccLimit / (128 * 127)),
           std::to_string(k));
    }
    check_size(d->weight(), n * k, what + ".weight", shape);
    check_size(d->weight_scale(), n, what + ".weight_scale", "one per output channel");
    check_size(d->bias(), n, what + ".bias", "one per output channel");
    check_int(d->bias_shift(), 0, 24, what + ".bias_shift");
    DenseLayer L;
    L.in = qparams(d->input(), what + ".input");
    same_params(L.in, in, what + ".input", "the layer's input");
    L.out = qparams(d->output(), what + ".output");
    const int8_t* w = d->weight()->data();
    RequantParams& rq = L.rq;
    rq.n = n;
    rq.m0.resize(n);
    rq.shift.resize(n);
    rq.bias.resize(n);
    rq.zp = L.out.zero_point;
    rq.lo = d->relu() ? L.out.zero_point : -128;
    rq.hi = 127;
    const int bs = d->bias_shift();
    for (int64_t j = 0; j < n; ++j) {
      int64_t rowsum = 0;
      for (int64_t i = 0; i < k; ++i) {
        const int8_t v = w[j * k + i];
        if (v == -128) {
          fail(what + ".weight[" + std::to_string(j * k + i) + "]", "an int8 weight in [-127, 127]",
               "-128");
        }
        rowsum += v;
      }
      const float ws = d->weight_scale()->Get(static_cast<flatbuffers::uoffset_t>(j));
      if (!std::isfinite(ws) || !(ws > 0.0f)) {
        fail(what + ".weight_scale[" + std::to_string(j) + "]", "a finite scale > 0",
             std::to_string(ws));
      }
      const int64_t b = d->bias()->Get(static_cast<flatbuffers::uoffset_t>(j));
      if (b <= -kBiasLimit || b >= kBiasLimit) {
        fail(what + ".bias[" + std::to_string(j) + "]", "|bias| < 2^29", std::to_string(b));
      }
      const Multiplier m =
          multiplier(static_cast<double>(L.in.scale) * static_cast<double>(ws) /
                         static_cast<double>(L.out.scale),
                     what + " requantization multiplier [" + std::to_string(j) + "]");
      // B_j: the bias (rounded half up after its extra fractional bits) and the input zero
      // point's correction, in units of 2^-shift output steps.
      const int64_t bias_fixed = bs == 0 ? b * m.m0 : (b * m.m0 + (int64_t{1} << (bs - 1))) >> bs;
      rq.bias[j] = bias_fixed - static_cast<int64_t>(L.in.zero_point) * rowsum * m.m0;
      rq.m0[j] = m.m0;
      rq.shift[j] = m.shift;
    }
    prepare_requant(rq);
    L.w = pack_matrix(w, n, k);
    return L;
  }

  std::array<uint32_t, 256> exp_table(const flatbuffers::Vector<uint32_t>* v,
                                      const std::string& what) const {
    check_size(v, 256, what, "256 entries");
    std::array<uint32_t, 256> t{};
    for (int i = 0; i < 256; ++i) {
      t[i] = v->Get(i);
      if (t[i] > static_cast<uint32_t>(kExpOne) || (i == 0 && t[i] != kExpOne) ||
          (i > 0 && t[i] > t[i - 1])) {
        fail(what + "[" + std::to_string(i) + "]",
             "a non-increasing table of round(2^30 exp(-s d)) starting at 2^30",
             std::to_string(t[i]));
      }
    }
    return t;
  }

  std::array<int8_t, 256> int8_table(const flatbuffers::Vector<int8_t>* v,
                                     const std::string& what) const {
    check_size(v, 256, what, "256 entries");
    std::array<int8_t, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = v->Get(i);
    return t;
  }

  std::array<float, 256> float_table(const flatbuffers::Vector<float>* v, const std::string& what,
                                     float lo, float hi) const {
    check_size(v, 256, what, "256 entries");
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) {
      t[i] = v->Get(i);
      if (!std::isfinite(t[i]) || t[i] < lo || t[i] > hi) {
        fail(what + "[" + std::to_string(i) + "]",
             "a value in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
             std::to_string(t[i]));
      }
    }
    return t;
  }

  std::string str(const flatbuffers::String* s) const { return s ? s->str() : std::string(); }

  std::vector<std::string> strings(
      const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) const {
    std::vector<std::string> out;
    if (v == nullptr) return out;
    for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) out.push_back(str(v->Get(i)));
    return out;
  }

  void load_gbst(const fb::Gbst* g, const std::string& what, int64_t D, QParams in_q,
                 const ModelInfo& info, GbstLayer& G) const {
    need(g, what);
    check_int(g->max_block_width(), info.gbst_max_block_width, info.gbst_max_block_width,
              what + ".max_block_width");
    check_int(g->conv_kernel(), info.gbst_conv_kernel_size, info.gbst_conv_kernel_size,
              what + ".conv_kernel");
    check_int(g->downsample_rate(), info.gbst_downsample_rate, info.gbst_downsample_rate,
              what + ".downsample_rate");
    G.max_block_width = g->max_block_width();
    G.conv_kernel = g->conv_kernel();
    G.downsample_rate = g->downsample_rate();
    G.conv = dense(g->conv(), what + ".conv", G.conv_kernel * D, D, in_q);
    G.score = dense(g->score(), what + ".score", D, 1, G.conv.out);
    G.score_exp = exp_table(g->score_exp(), what + ".score_exp");
    G.mix = qparams(g->mix(), what + ".mix");
    G.mix_rq = uniform_requant(D,
                               multiplier(static_cast<double>(G.conv.out.scale) /
                                              (255.0 * static_cast<double>(G.mix.scale)),
                                          what + " mixture multiplier"),
                               G.mix.zero_point);
    count(G.conv);
    count(G.score);
  }

  void count(const DenseLayer& d) const { params_ += d.w.n * d.w.k + d.w.n; }

  // The bidirectional QRNN layers of a ByteQRNN or pQRNN encoder (`prefix`.qrnn), of
  // info.qrnn_* on input width D at params in_q: the encoder output width and params.
  void load_qrnn_layers(const flatbuffers::Vector<flatbuffers::Offset<fb::QrnnLayer>>* qrnn,
                        const std::string& prefix, int64_t D, QParams in_q, const ModelInfo& info,
                        ClassifierNet& net, int64_t* width, QParams* out_q) const {
    const auto* layers = need(qrnn, prefix + ".qrnn");
    check_int(layers->size(), info.qrnn_layers, info.qrnn_layers,
              "number of " + prefix + ".qrnn layers");
    int64_t in = D;
    for (flatbuffers::uoffset_t i = 0; i < layers->size(); ++i) {
      const std::string name = prefix + ".qrnn[" + std::to_string(i) + "]";
      const fb::QrnnLayer* l = need(layers->Get(i), name);
      check_int(l->kernel_width(), info.qrnn_kernel_width, info.qrnn_kernel_width,
                name + ".kernel_width");
      check_int(l->state_size(), info.qrnn_state_size, info.qrnn_state_size, name + ".state_size");
      QrnnLayer L;
      L.kernel_width = l->kernel_width();
      L.state_size = l->state_size();
      const int64_t S = L.state_size;
      for (int dir = 0; dir < 2; ++dir) {
        const std::string dn = name + (dir == 0 ? ".forward" : ".backward");
        const fb::QrnnDirection* d = need(dir == 0 ? l->forward() : l->backward(), dn);
        QrnnDirection& R = dir == 0 ? L.fwd : L.bwd;
        R.gates = dense(d->gates(), dn + ".gates", L.kernel_width * in, 3 * S, in_q);
        R.tables.tanh = int8_table(d->tanh_table(), dn + ".tanh_table");
        R.tables.sigmoid = int8_table(d->sigmoid_table(), dn + ".sigmoid_table");
        for (int v = 0; v < 256; ++v) {
          R.tables.tanh32[v] = R.tables.tanh[v];
          R.tables.sigmoid32[v] = R.tables.sigmoid[v];
        }
        count(R.gates);
      }
      net.qrnn.push_back(std::move(L));
      in = 2 * S;
      in_q = kSignedUnitParams;
    }

    *width = in;
    *out_q = in_q;
  }

  LayerNormLayer layer_norm(const fb::LayerNorm* n, const std::string& what, int64_t D,
                            bool scalar) const {
    need(n, what);
    LayerNormLayer L;
    L.in = qparams(n->input(), what + ".input");
    L.out = qparams(n->output(), what + ".output");
    const int64_t G = scalar ? 1 : D;
    check_size(n->gamma(), G, what + ".gamma", scalar ? "scalar layer norm" : "one per channel");
    check_size(n->beta(), G, what + ".beta", scalar ? "scalar layer norm" : "one per channel");
    L.epsilon = n->epsilon();
    if (!std::isfinite(L.epsilon) || !(L.epsilon > 0.0) || L.epsilon > 1.0) {
      fail(what + ".epsilon", "a value in (0, 1]", std::to_string(L.epsilon));
    }
    for (int64_t c = 0; c < D; ++c) {
      const auto i = static_cast<flatbuffers::uoffset_t>(scalar ? 0 : c);
      const float g = n->gamma()->Get(i), b = n->beta()->Get(i);
      if (!std::isfinite(g) || !std::isfinite(b) || std::fabs(g) > 1e6f || std::fabs(b) > 1e6f) {
        fail(what + ".gamma/beta[" + std::to_string(c) + "]", "finite values of magnitude <= 1e6",
             std::to_string(g) + ", " + std::to_string(b));
      }
      L.gamma_s.push_back(static_cast<double>(g) / L.out.scale);
      L.beta_s.push_back(static_cast<double>(b) / L.out.scale);
    }
    params_ += 2 * G;
    return L;
  }

  // Embedding tables (byte or position) of `rows` x `dim`.
  const int8_t* embedding_table(const fb::Embedding* e, const std::string& what, int64_t rows,
                                int64_t dim, QParams* q) const {
    need(e, what);
    check_int(e->vocab_size(), rows, rows, what + ".vocab_size");
    check_int(e->dim(), dim, dim, what + ".dim");
    check_size(e->table(), rows * dim, what + ".table",
               std::to_string(rows) + " x " + std::to_string(dim));
    *q = qparams(e->output(), what + ".output");
    params_ += rows * dim;
    return e->table()->data();
  }

  // Attention params: logit factor (1/sqrt(dh), or 1 when unscaled), logits and context params
  // and the exp table, with the multipliers for queries at q and keys/values at kv.
  AttentionLayer attention(int32_t heads, float logit_factor, const fb::QuantParams* logits,
                           const flatbuffers::Vector<uint32_t>* logits_exp,
                           const fb::QuantParams* context, QParams q, QParams kv, int64_t D,
                           bool unscaled, const std::string& name) const {
    AttentionLayer A;
    A.heads = heads;
    A.logit_factor = logit_factor;
    const double dh = static_cast<double>(D / heads);
    const double want = unscaled ? 1.0 : 1.0 / std::sqrt(dh);
    if (!(std::fabs(A.logit_factor - want) <= 1e-6 * want)) {
      fail(name + ".logit_factor",
           std::to_string(want) + (unscaled ? " (attention_scale \"none\")" : " (1/sqrt(D/H))"),
           std::to_string(A.logit_factor));
    }
    A.logits = qparams(logits, name + ".logits");
    A.logits_exp = exp_table(logits_exp, name + ".logits_exp");
    A.context = qparams(context, name + ".context");
    A.logits_m =
        multiplier(static_cast<double>(q.scale) * kv.scale * A.logit_factor / A.logits.scale,
                   name + " logits multiplier");
    A.context_m =
        multiplier(static_cast<double>(kv.scale) / (255.0 * static_cast<double>(A.context.scale)),
                   name + " context multiplier");
    return A;
  }

  // One post-LN Transformer / funnel encoder layer of width D on input params in_q.
  TransformerLayerRt transformer_layer(const fb::TransformerLayer* l, const std::string& name,
                                       int64_t D, int64_t H, int64_t I, QParams in_q, bool scalar,
                                       bool unscaled, int32_t max_pool_window) const {
    need(l, name);
    TransformerLayerRt L;
    check_int(l->pool_window(), 1, max_pool_window, name + ".pool_window");
    L.pool_window = l->pool_window();
    check_int(l->num_heads(), H, H, name + ".num_heads");
    L.query = dense(l->query(), name + ".query", D, D, in_q);
    L.key_value = dense(l->key_value(), name + ".key_value", D, 2 * D, in_q);
    L.attn = attention(l->num_heads(), l->logit_factor(), l->logits(), l->logits_exp(),
                       l->context(), L.query.out, L.key_value.out, D, unscaled, name);
    L.output = dense(l->output(), name + ".output", D, D, L.attn.context);
    L.norm1 = layer_norm(l->norm1(), name + ".norm1", D, scalar);
    L.ffn_in = dense(l->ffn_in(), name + ".ffn_in", D, I, L.norm1.out);
    L.ffn_out = dense(l->ffn_out(), name + ".ffn_out", I, D, L.ffn_in.out);
    L.norm2 = layer_norm(l->norm2(), name + ".norm2", D, scalar);
    for (const DenseLayer* d : {&L.query, &L.key_value, &L.output, &L.ffn_in, &L.ffn_out})
      count(*d);
    return L;
  }

  EmbeddingRt embedding_rt(const fb::Embedding* e, const std::string& what, int64_t rows,
                           int64_t dim) const {
    EmbeddingRt r;
    r.rows = rows;
    r.dim = dim;
    r.table = embedding_table(e, what, rows, dim, &r.q);
    return r;
  }

 private:
  std::string file_;
  mutable int64_t params_ = 0;
};

}  // namespace bytelite::rt
