#include "train/fb_writer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "bytelite/errors.h"

namespace bytelite {

void FbWriter::fail(const std::string& msg) const {
  throw ModelFileError(source_ + ": cannot export: " + msg);
}

fb::QuantParams FbWriter::act(const ActQuant& a, const std::string& name) const {
  if (!a || !a->observed()) {
    fail("activation range '" + name +
         "' was never observed (expected a checkpoint trained with quantization-aware "
         "training: quantization.enabled true)");
  }
  const QuantParams p = a->params();
  return fb::QuantParams(static_cast<float>(p.scale), static_cast<int32_t>(p.zero_point));
}

flatbuffers::Offset<fb::Dense> FbWriter::dense(const QDense& d, const fb::QuantParams& in,
                                               const fb::QuantParams& out,
                                               const std::string& name) {
  torch::NoGradGuard ng;
  auto [wt, bt] = d->folded();
  return dense(wt, bt, d->activation == Activation::kRelu, in, out, name);
}

flatbuffers::Offset<fb::Dense> FbWriter::dense(const torch::Tensor& weight,
                                               const torch::Tensor& bias, bool relu,
                                               const fb::QuantParams& in,
                                               const fb::QuantParams& out,
                                               const std::string& name) {
  torch::NoGradGuard ng;
  auto wt = weight.detach().to(torch::kFloat).contiguous();
  auto bt = bias.detach().to(torch::kFloat).contiguous();
  auto st = weight_scales(wt).contiguous();  // the scales fake_quant_weight uses
  const int64_t N = wt.size(0), K = wt.size(1);
  const float* w = wt.data_ptr<float>();
  const float* b = bt.data_ptr<float>();
  const float* s = st.data_ptr<float>();
  std::vector<int8_t> qw(static_cast<size_t>(N * K));
  std::vector<float> scales(s, s + N);
  std::vector<int32_t> qb(static_cast<size_t>(N));
  std::vector<double> bq(static_cast<size_t>(N));  // bias in accumulator units
  double max_bq = 0;
  for (int64_t n = 0; n < N; ++n) {
    const float inv = 1.0f / s[n];  // as torch's per-channel fake quantization kernel
    for (int64_t k = 0; k < K; ++k) {
      const float q = std::nearbyint(w[n * K + k] * inv);
      qw[n * K + k] = static_cast<int8_t>(std::fmin(std::fmax(q, -127.0f), 127.0f));
    }
    bq[n] =
        static_cast<double>(b[n]) / (static_cast<double>(in.scale()) * static_cast<double>(s[n]));
    if (!std::isfinite(bq[n])) fail(name + ".bias[" + std::to_string(n) + "] is not finite");
    max_bq = std::max(max_bq, std::fabs(bq[n]));
  }
  // As many extra fractional bits (up to 16) as keep every bias below 2^29 in magnitude (the
  // runtime's bound, src/runtime/model_loader.h).
  constexpr double kLimit = 536870911.0;
  if (max_bq > kLimit) {
    fail(name + ": a bias of " + std::to_string(max_bq) +
         " accumulator steps does not fit the runtime's range (expected < 2^29)");
  }
  int shift = 0;
  while (shift < 16 && std::ldexp(max_bq, shift + 1) <= kLimit) ++shift;
  for (int64_t n = 0; n < N; ++n)
    qb[n] = static_cast<int32_t>(std::nearbyint(std::ldexp(bq[n], shift)));
  params_ += N * K + N;
  return fb::CreateDense(b_, static_cast<int32_t>(K), static_cast<int32_t>(N), b_.CreateVector(qw),
                         b_.CreateVector(scales), b_.CreateVector(qb), &in, &out, relu, shift);
}

flatbuffers::Offset<flatbuffers::Vector<uint32_t>> FbWriter::exp_table(float scale) {
  std::vector<uint32_t> t(256);
  for (int d = 0; d < 256; ++d) {
    t[d] = static_cast<uint32_t>(
        std::llround(1073741824.0 * std::exp(-static_cast<double>(scale) * d)));
  }
  return b_.CreateVector(t);
}

flatbuffers::Offset<fb::Embedding> FbWriter::table(const torch::Tensor& t,
                                                   const fb::QuantParams& q) {
  auto e = t.detach().to(torch::kFloat).contiguous();
  const int64_t V = e.size(0), F = e.size(1);
  const float* ep = e.data_ptr<float>();
  const float inv = 1.0f / q.scale();
  std::vector<int8_t> out(static_cast<size_t>(V * F));
  for (int64_t i = 0; i < V * F; ++i) {
    const float v = static_cast<float>(q.zero_point()) + std::nearbyint(ep[i] * inv);
    out[i] = static_cast<int8_t>(std::fmin(std::fmax(v, -128.0f), 127.0f));
  }
  params_ += V * F;
  return fb::CreateEmbedding(b_, static_cast<int32_t>(V), static_cast<int32_t>(F),
                             b_.CreateVector(out), &q);
}

flatbuffers::Offset<fb::LayerNorm> FbWriter::layer_norm(const LayerNorm& n,
                                                        const std::string& name) {
  const fb::QuantParams in = act(n->in_quant, name + ".in_quant");
  const fb::QuantParams out = act(n->out_quant, name + ".out_quant");
  auto g = n->gamma.detach().to(torch::kFloat).contiguous();
  auto be = n->beta.detach().to(torch::kFloat).contiguous();
  std::vector<float> gv(g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
  std::vector<float> bv(be.data_ptr<float>(), be.data_ptr<float>() + be.numel());
  params_ += 2 * g.numel();
  return fb::CreateLayerNorm(b_, &in, &out, b_.CreateVector(gv), b_.CreateVector(bv),
                             static_cast<float>(LayerNormImpl::kEpsilon));
}

flatbuffers::Offset<fb::Gbst> FbWriter::gbst(const Gbst& g, const fb::QuantParams& in_q,
                                             fb::QuantParams* mix_q) {
  const fb::QuantParams conv_q = act(g->conv->out_quant, "gbst.conv.out_quant");
  const fb::QuantParams score_q = act(g->score_quant, "gbst.score_quant");
  *mix_q = act(g->mix_quant, "gbst.mix_quant");
  auto gconv = dense(g->conv, in_q, conv_q, "gbst.conv");
  auto gscore = dense(g->score, conv_q, score_q, "gbst.score");
  auto gexp = exp_table(score_q.scale());
  return fb::CreateGbst(b_, static_cast<int32_t>(g->max_block_width),
                        static_cast<int32_t>(g->conv_kernel),
                        static_cast<int32_t>(g->downsample_rate), gconv, gscore, gexp, mix_q);
}

flatbuffers::Offset<fb::TransformerLayer> FbWriter::transformer_layer(const TransformerLayerImpl& l,
                                                                      const fb::QuantParams& in_q,
                                                                      float factor,
                                                                      const std::string& name,
                                                                      fb::QuantParams* out_q) {
  const fb::QuantParams qq = act(l.query->out_quant, name + ".query.out_quant");
  const fb::QuantParams kvq = act(l.key_value->out_quant, name + ".key_value.out_quant");
  const fb::QuantParams lq = act(l.logits_quant, name + ".logits_quant");
  const fb::QuantParams cq = act(l.context_quant, name + ".context_quant");
  const fb::QuantParams oq = act(l.output->out_quant, name + ".output.out_quant");
  const fb::QuantParams n1 = act(l.norm1->out_quant, name + ".norm1.out_quant");
  const fb::QuantParams fiq = act(l.ffn_in->out_quant, name + ".ffn_in.out_quant");
  const fb::QuantParams foq = act(l.ffn_out->out_quant, name + ".ffn_out.out_quant");
  auto query = dense(l.query, in_q, qq, name + ".query");
  auto kv = dense(l.key_value, in_q, kvq, name + ".key_value");
  auto lexp = exp_table(lq.scale());
  auto output = dense(l.output, cq, oq, name + ".output");
  auto norm1 = layer_norm(l.norm1, name + ".norm1");
  auto ffn_in = dense(l.ffn_in, n1, fiq, name + ".ffn_in");
  auto ffn_out = dense(l.ffn_out, fiq, foq, name + ".ffn_out");
  auto norm2 = layer_norm(l.norm2, name + ".norm2");
  *out_q = act(l.norm2->out_quant, name + ".norm2.out_quant");
  return fb::CreateTransformerLayer(b_, static_cast<int32_t>(l.pool_window),
                                    static_cast<int32_t>(l.heads), query, kv, factor, &lq, lexp,
                                    &cq, output, norm1, ffn_in, ffn_out, norm2);
}

}  // namespace bytelite

namespace bytelite {

namespace {
torch::Tensor tanh_fn(const torch::Tensor& x) { return torch::tanh(x); }
torch::Tensor sigmoid_fn(const torch::Tensor& x) { return torch::sigmoid(x); }
}  // namespace

std::vector<int8_t> FbWriter::lut(const fb::QuantParams& in, const QuantParams& out,
                                  torch::Tensor (*fn)(const torch::Tensor&)) {
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) {
    // The fake quantizer's output value: float((q - z) * scale), one rounding.
    x[i] = static_cast<float>(static_cast<double>(i - 128 - in.zero_point()) *
                              static_cast<double>(in.scale()));
  }
  auto xt = torch::from_blob(x.data(), {256}, torch::kFloat).clone();
  auto y = fake_quant(fn(xt), out).contiguous();
  const float* yp = y.data_ptr<float>();
  const float so = static_cast<float>(out.scale);
  std::vector<int8_t> q(256);
  for (int i = 0; i < 256; ++i) {
    const double v = std::nearbyint(static_cast<double>(yp[i]) / so) + out.zero_point;
    q[i] = static_cast<int8_t>(std::fmin(std::fmax(v, -128.0), 127.0));
  }
  return q;
}

FbWriter::QrnnEncoder FbWriter::qrnn_encoder(const ByteClassifierImpl& m) {
  torch::NoGradGuard ng;
  QrnnEncoder e;
  // embedding, quantized with its activation params exactly as the fake quantizer does
  const fb::QuantParams emb_q = act(m.embedding_quant, "embedding_quant");
  e.embedding = table(m.embedding, emb_q);
  const fb::QuantParams bott_q = act(m.bottleneck->out_quant, "bottleneck.out_quant");
  e.bottleneck = dense(m.bottleneck, emb_q, bott_q, "bottleneck");
  fb::QuantParams mix_q;
  e.gbst = gbst(m.gbst, bott_q, &mix_q);
  e.qrnn = qrnn_layers(m, mix_q, &e.out_q);
  return e;
}

FbWriter::PqrnnEncoder FbWriter::pqrnn_encoder(const ByteClassifierImpl& m) {
  torch::NoGradGuard ng;
  PqrnnEncoder e;
  // the projection values -1, 0, +1 are exact int8 at scale 1, zero point 0
  const fb::QuantParams proj_q(1.0f, 0);
  const fb::QuantParams bott_q = act(m.bottleneck->out_quant, "bottleneck.out_quant");
  e.bottleneck = dense(m.bottleneck, proj_q, bott_q, "bottleneck");
  e.qrnn = qrnn_layers(m, bott_q, &e.out_q);
  return e;
}

FbWriter::QrnnProjEncoder FbWriter::qrnn_proj_encoder(const ByteClassifierImpl& m) {
  torch::NoGradGuard ng;
  QrnnProjEncoder e;
  const fb::QuantParams emb_q = act(m.embedding_quant, "embedding_quant");
  e.qrnn.embedding = table(m.embedding, emb_q);
  const fb::QuantParams bott_q = act(m.bottleneck->out_quant, "bottleneck.out_quant");
  e.qrnn.bottleneck = dense(m.bottleneck, emb_q, bott_q, "bottleneck");
  // the projection values -1, 0, +1 are exact int8 at scale 1, zero point 0
  const fb::QuantParams proj_q(1.0f, 0);
  e.word = dense(m.word, proj_q, act(m.word->out_quant, "word.out_quant"), "word");
  e.sum_q = act(m.word_sum_quant, "word_sum_quant");
  fb::QuantParams mix_q;
  e.qrnn.gbst = gbst(m.gbst, e.sum_q, &mix_q);
  e.qrnn.qrnn = qrnn_layers(m, mix_q, &e.qrnn.out_q);
  return e;
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::QrnnLayer>>> FbWriter::qrnn_layers(
    const ByteClassifierImpl& m, const fb::QuantParams& input, fb::QuantParams* out_q) {
  torch::NoGradGuard ng;
  const fb::QuantParams su(static_cast<float>(signed_unit_range_params().scale),
                           static_cast<int32_t>(signed_unit_range_params().zero_point));
  std::vector<flatbuffers::Offset<fb::QrnnLayer>> layers;
  fb::QuantParams in_q = input;
  for (size_t i = 0; i < m.qrnn->size(); ++i) {
    auto l = m.qrnn->ptr(i)->as<QrnnLayerImpl>();
    const std::string name = "qrnn." + std::to_string(i);
    flatbuffers::Offset<fb::QrnnDirection> dirs[2];
    for (int d = 0; d < 2; ++d) {
      const QDense& gates = d == 0 ? l->gates_fwd : l->gates_bwd;
      const std::string dn = name + (d == 0 ? ".gates_fwd" : ".gates_bwd");
      const fb::QuantParams gq = act(gates->out_quant, dn + ".out_quant");
      auto gd = dense(gates, in_q, gq, dn);
      auto th = b_.CreateVector(lut(gq, signed_unit_range_params(), tanh_fn));
      auto sg = b_.CreateVector(lut(gq, unit_range_params(), sigmoid_fn));
      dirs[d] = fb::CreateQrnnDirection(b_, gd, th, sg);
    }
    layers.push_back(fb::CreateQrnnLayer(b_, static_cast<int32_t>(l->kernel_width),
                                         static_cast<int32_t>(l->state_size), dirs[0], dirs[1]));
    in_q = su;
  }
  *out_q = in_q;
  return b_.CreateVector(layers);
}

FbWriter::TransformerEncoder FbWriter::transformer_encoder(const ByteClassifierImpl& m) {
  torch::NoGradGuard ng;
  TransformerEncoder e;
  const ModelConfig& mc = m.cfg;
  const fb::QuantParams emb_q = act(m.embedding_quant, "embedding_quant");
  e.embedding = table(m.embedding, emb_q);
  const fb::QuantParams pos_q = act(m.position_quant, "position_quant");
  e.position = table(m.position, pos_q);
  e.embedding_norm = layer_norm(m.embedding_norm, "embedding_norm");
  fb::QuantParams x_q = act(m.embedding_norm->out_quant, "embedding_norm.out_quant");
  if (m.bottleneck) {
    const fb::QuantParams bq = act(m.bottleneck->out_quant, "bottleneck.out_quant");
    e.bottleneck = dense(m.bottleneck, x_q, bq, "bottleneck");
    x_q = bq;
  }
  fb::QuantParams in_q;
  e.gbst = gbst(m.gbst, x_q, &in_q);
  const int64_t dh = mc.bottleneck_size / mc.num_heads;
  const float factor = mc.attention_scale == "sqrt"
                           ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)))
                           : 1.0f;
  std::vector<flatbuffers::Offset<fb::TransformerLayer>> layers;
  for (size_t i = 0; i < m.layers->size(); ++i) {
    auto l = m.layers->ptr(i)->as<TransformerLayerImpl>();
    layers.push_back(transformer_layer(*l, in_q, factor, "layers." + std::to_string(i), &in_q));
  }
  e.layers = b_.CreateVector(layers);
  e.out_q = in_q;
  return e;
}

}  // namespace bytelite
