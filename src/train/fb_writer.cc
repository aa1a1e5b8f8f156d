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
  // runtime's bound, src/runtime/model.cc).
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
