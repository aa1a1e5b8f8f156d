#include "train/seq2seq_export.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "bytelite/byte_tokenizer.h"
#include "bytelite/errors.h"

namespace bytelite {

rt::QParams runtime_params(const ActQuantImpl& q, const std::string& name) {
  if (!q.observed()) {
    throw ModelFileError("cannot export seq2seq model: activation range '" + name +
                         "' was never observed (train with quantization-aware training)");
  }
  const QuantParams p = q.params();
  return rt::QParams{static_cast<float>(p.scale), static_cast<int32_t>(p.zero_point)};
}

namespace {

class Seq2SeqExporter {
 public:
  explicit Seq2SeqExporter(rt::Int8Storage& storage) : storage_(storage) {}

  int8_t* buffer(int64_t n) {
    auto v = std::make_shared<std::vector<int8_t>>(static_cast<size_t>(n));
    storage_.push_back(v);
    return v->data();
  }

  // y = x · Wᵀ + b with W [n, k] float, quantized per output channel as fake_quant_weight.
  rt::DenseLayer dense(const torch::Tensor& weight, const torch::Tensor& bias, bool relu,
                       rt::QParams in, rt::QParams out, const std::string& name) {
    auto wt = weight.detach().to(torch::kFloat).contiguous();
    auto bt = bias.detach().to(torch::kFloat).contiguous();
    auto st = weight_scales(wt).contiguous();
    const int64_t N = wt.size(0), K = wt.size(1);
    const float* w = wt.data_ptr<float>();
    const float* b = bt.data_ptr<float>();
    const float* s = st.data_ptr<float>();
    int8_t* qw = buffer(N * K);
    std::vector<double> bq(static_cast<size_t>(N));
    double max_bq = 0;
    for (int64_t n = 0; n < N; ++n) {
      const float inv = 1.0f / s[n];
      for (int64_t k = 0; k < K; ++k) {
        const float q = std::nearbyint(w[n * K + k] * inv);
        qw[n * K + k] = static_cast<int8_t>(std::fmin(std::fmax(q, -127.0f), 127.0f));
      }
      bq[n] = static_cast<double>(b[n]) / (static_cast<double>(in.scale) * s[n]);
      max_bq = std::max(max_bq, std::fabs(bq[n]));
    }
    constexpr double kLimit = 536870911.0;
    if (!(max_bq <= kLimit)) {
      throw ModelFileError("cannot export seq2seq model: bias of " + name + " out of range");
    }
    int shift = 0;
    while (shift < 16 && std::ldexp(max_bq, shift + 1) <= kLimit) ++shift;
    std::vector<int32_t> qb(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) {
      qb[n] = static_cast<int32_t>(std::nearbyint(std::ldexp(bq[n], shift)));
    }
    return rt::make_dense_layer(qw, N, K, s, qb.data(), shift, relu, in, out);
  }

  rt::DenseLayer dense(const QDense& d, rt::QParams in, const std::string& name) {
    auto [w, b] = d->folded();
    return dense(w, b, d->activation == Activation::kRelu, in,
                 runtime_params(*d->out_quant, name + ".out_quant"), name);
  }

  rt::EmbeddingRt table(const torch::Tensor& t, rt::QParams q) {
    auto e = t.detach().to(torch::kFloat).contiguous();
    rt::EmbeddingRt r;
    r.rows = e.size(0);
    r.dim = e.size(1);
    r.q = q;
    int8_t* out = buffer(r.rows * r.dim);
    const float* ep = e.data_ptr<float>();
    const float inv = 1.0f / q.scale;
    for (int64_t i = 0; i < r.rows * r.dim; ++i) {
      const float v = static_cast<float>(q.zero_point) + std::nearbyint(ep[i] * inv);
      out[i] = static_cast<int8_t>(std::fmin(std::fmax(v, -128.0f), 127.0f));
    }
    r.table = out;
    return r;
  }

  rt::LayerNormLayer layer_norm(const LayerNorm& n, const std::string& name) {
    auto g = n->gamma.detach().to(torch::kFloat).expand({n->dim}).contiguous();
    auto b = n->beta.detach().to(torch::kFloat).expand({n->dim}).contiguous();
    return rt::make_layer_norm_layer(g.data_ptr<float>(), b.data_ptr<float>(), n->dim,
                                     runtime_params(*n->in_quant, name + ".in_quant"),
                                     runtime_params(*n->out_quant, name + ".out_quant"),
                                     LayerNormImpl::kEpsilon);
  }

  rt::AttentionLayer attention(int64_t heads, int64_t dim, rt::QParams q, rt::QParams kv,
                               const ActQuant& logits, const ActQuant& context,
                               const std::string& name) {
    const double factor = 1.0 / std::sqrt(static_cast<double>(dim / heads));
    return rt::make_attention_layer(static_cast<int32_t>(heads), factor, q, kv,
                                    runtime_params(*logits, name + ".logits_quant"),
                                    runtime_params(*context, name + ".context_quant"));
  }

  rt::GbstLayer gbst(const Gbst& g, rt::QParams in) {
    rt::GbstLayer G;
    G.max_block_width = static_cast<int32_t>(g->max_block_width);
    G.conv_kernel = static_cast<int32_t>(g->conv_kernel);
    G.downsample_rate = static_cast<int32_t>(g->downsample_rate);
    G.conv = dense(g->conv, in, "gbst.conv");
    const rt::QParams score_q = runtime_params(*g->score_quant, "gbst.score_quant");
    auto [sw, sb] = g->score->folded();
    G.score = dense(sw, sb, false, G.conv.out, score_q, "gbst.score");
    G.score_exp = rt::make_exp_table(score_q.scale);
    G.mix = runtime_params(*g->mix_quant, "gbst.mix_quant");
    rt::Multiplier m;
    if (!rt::make_multiplier(
            static_cast<double>(G.conv.out.scale) / (255.0 * static_cast<double>(G.mix.scale)),
            &m)) {
      throw ModelFileError("cannot export seq2seq model: GBST mixture multiplier out of range");
    }
    rt::RequantParams& rq = G.mix_rq;
    const int64_t D = g->dim;
    rq.n = D;
    rq.m0.assign(D, m.m0);
    rq.shift.assign(D, m.shift);
    rq.bias.assign(D, 0);
    rq.zp = G.mix.zero_point;
    rt::prepare_requant(rq);
    return G;
  }

 private:
  rt::Int8Storage& storage_;
};

}  // namespace

std::unique_ptr<rt::Seq2SeqNet> export_seq2seq(ByteSeq2SeqImpl& m) {
  torch::NoGradGuard ng;
  if (!m.qat->enabled) {
    throw ModelFileError("cannot export seq2seq model: quantization-aware training is disabled");
  }
  auto net = std::make_unique<rt::Seq2SeqNet>();
  Seq2SeqExporter ex(net->storage);
  const int64_t D = m.cfg.dim;

  // encoder
  rt::Seq2SeqEncoderRt& enc = net->encoder;
  enc.dim = D;
  enc.embedding = ex.table(m.src_embedding, runtime_params(*m.src_embedding_quant, "src_emb"));
  enc.position = ex.table(m.src_position, runtime_params(*m.src_position_quant, "src_pos"));
  enc.norm = ex.layer_norm(m.src_norm, "src_norm");
  enc.gbst = ex.gbst(m.gbst, enc.norm.out);
  rt::QParams hq = enc.gbst.mix;
  for (size_t i = 0; i < m.encoder->size(); ++i) {
    auto l = m.encoder[i]->as<TransformerLayer>();
    const std::string name = "encoder." + std::to_string(i);
    rt::TransformerLayerRt L;
    L.pool_window = 1;
    L.query = ex.dense(l->query, hq, name + ".query");
    L.key_value = ex.dense(l->key_value, hq, name + ".key_value");
    L.attn = ex.attention(l->heads, D, L.query.out, L.key_value.out, l->logits_quant,
                          l->context_quant, name);
    L.output = ex.dense(l->output, L.attn.context, name + ".output");
    L.norm1 = ex.layer_norm(l->norm1, name + ".norm1");
    L.ffn_in = ex.dense(l->ffn_in, L.norm1.out, name + ".ffn_in");
    L.ffn_out = ex.dense(l->ffn_out, L.ffn_in.out, name + ".ffn_out");
    L.norm2 = ex.layer_norm(l->norm2, name + ".norm2");
    hq = L.norm2.out;
    enc.layers.push_back(std::move(L));
  }
  enc.out = hq;

  // decoder
  rt::MattDecoderRt& dec = net->decoder;
  dec.dim = D;
  dec.vocab = kVocabSize;
  dec.embedding = ex.table(m.embedding, runtime_params(*m.embedding_quant, "embedding_quant"));
  dec.position = ex.table(m.position, runtime_params(*m.position_quant, "position_quant"));
  dec.norm = ex.layer_norm(m.dec_norm, "dec_norm");
  rt::QParams xq = dec.norm.out;
  for (size_t i = 0; i < m.decoder->size(); ++i) {
    auto l = m.decoder[i]->as<MattDecoderLayer>();
    const std::string name = "decoder." + std::to_string(i);
    rt::MattLayerRt L;
    L.uniform = ex.dense(l->uniform, xq, name + ".uniform");
    L.average = runtime_params(*l->average_quant, name + ".average_quant");
    L.query = ex.dense(l->query, xq, name + ".query");
    L.key_value = ex.dense(l->key_value, enc.out, name + ".key_value");
    L.attn = ex.attention(l->heads, D, L.query.out, L.key_value.out, l->logits_quant,
                          l->context_quant, name);
    L.merge = runtime_params(*l->merge_quant, name + ".merge_quant");
    L.output = ex.dense(l->output, L.merge, name + ".output");
    L.norm1 = ex.layer_norm(l->norm1, name + ".norm1");
    L.ffn_in = ex.dense(l->ffn_in, L.norm1.out, name + ".ffn_in");
    L.ffn_out = ex.dense(l->ffn_out, L.ffn_in.out, name + ".ffn_out");
    L.norm2 = ex.layer_norm(l->norm2, name + ".norm2");
    xq = L.norm2.out;
    dec.layers.push_back(std::move(L));
  }
  dec.logits = ex.dense(m.embedding, m.logits_bias, false, xq,
                        runtime_params(*m.logits_quant, "logits_quant"), "logits");
  return net;
}

}  // namespace bytelite
