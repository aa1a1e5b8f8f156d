#include "train/export.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "bytelite_model_generated.h"
#include "core/atomic_file.h"
#include "runtime/model_file.h"

namespace bytelite {

namespace {

using Builder = flatbuffers::FlatBufferBuilder;

class Exporter {
 public:
  Exporter(const LoadedCheckpoint& lc, std::string source) : lc_(lc), source_(std::move(source)) {}

  std::string run();

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    throw ModelFileError(source_ + ": cannot export: " + msg);
  }

  // Activation params of an ActQuant, with the float scale the fake quantizer uses.
  fb::QuantParams act(const ActQuant& a, const std::string& name) const {
    if (!a || !a->observed()) {
      fail("activation range '" + name +
           "' was never observed (expected a checkpoint trained with quantization-aware "
           "training: quantization.enabled true)");
    }
    const QuantParams p = a->params();
    return fb::QuantParams(static_cast<float>(p.scale), static_cast<int32_t>(p.zero_point));
  }

  flatbuffers::Offset<fb::Dense> dense(const QDense& d, const fb::QuantParams& in,
                                       const fb::QuantParams& out, const std::string& name) {
    torch::NoGradGuard ng;
    auto [wt, bt] = d->folded();
    wt = wt.to(torch::kFloat).contiguous();
    bt = bt.to(torch::kFloat).contiguous();
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
    return fb::CreateDense(b_, static_cast<int32_t>(K), static_cast<int32_t>(N),
                           b_.CreateVector(qw), b_.CreateVector(scales), b_.CreateVector(qb), &in,
                           &out, d->activation == Activation::kRelu, shift);
  }

  // round(2^30 exp(-s d)) for d = 0..255: the integer softmax table of logits at scale s.
  flatbuffers::Offset<flatbuffers::Vector<uint32_t>> exp_table(float scale) {
    std::vector<uint32_t> t(256);
    for (int d = 0; d < 256; ++d) {
      t[d] = static_cast<uint32_t>(
          std::llround(1073741824.0 * std::exp(-static_cast<double>(scale) * d)));
    }
    return b_.CreateVector(t);
  }

  // Table of a bounded nonlinearity over the 256 int8 inputs with params `in`, computed with the
  // libtorch functions the training forward uses, quantized to `out` (int8 q, index q_in + 128).
  std::vector<int8_t> lut(const fb::QuantParams& in, const QuantParams& out,
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

  const LoadedCheckpoint& lc_;
  std::string source_;
  Builder b_{1 << 16};
  int64_t params_ = 0;
};

torch::Tensor tanh_fn(const torch::Tensor& x) { return torch::tanh(x); }
torch::Tensor sigmoid_fn(const torch::Tensor& x) { return torch::sigmoid(x); }

std::string Exporter::run() {
  torch::NoGradGuard ng;
  const ModelMeta& meta = lc_.meta;
  const ExperimentConfig& cfg = meta.config;
  const ModelConfig& mc = cfg.model;
  if (!cfg.quant.enabled) {
    fail(
        "the checkpoint was trained without quantization-aware training (expected "
        "quantization.enabled true; retrain with --qat on)");
  }
  if (mc.encoder != "qrnn") fail("expected encoder \"qrnn\", found \"" + mc.encoder + "\"");
  auto& m = lc_.model;
  const int64_t C = static_cast<int64_t>(meta.label_names.size());
  const bool max_pool = mc.pooling == "attention_max";
  if (m->head->in_features != (max_pool ? 4 : 2) * static_cast<int64_t>(mc.qrnn_state_size)) {
    // e.g. a pooling variant that concatenates more features before the head
    fail("the runtime supports attention pooling into a head of 2 * qrnn_state_size = " +
         std::to_string(2 * mc.qrnn_state_size) + " inputs, found a head of " +
         std::to_string(m->head->in_features) + " inputs (another model.pooling?)");
  }

  // embedding, quantized with its activation params exactly as the fake quantizer does
  const fb::QuantParams emb_q = act(m->embedding_quant, "embedding_quant");
  flatbuffers::Offset<fb::Embedding> emb;
  {
    auto e = m->embedding.detach().to(torch::kFloat).contiguous();
    const int64_t V = e.size(0), F = e.size(1);
    const float* ep = e.data_ptr<float>();
    const float inv = 1.0f / emb_q.scale();
    std::vector<int8_t> q(static_cast<size_t>(V * F));
    for (int64_t i = 0; i < V * F; ++i) {
      const float v = static_cast<float>(emb_q.zero_point()) + std::nearbyint(ep[i] * inv);
      q[i] = static_cast<int8_t>(std::fmin(std::fmax(v, -128.0f), 127.0f));
    }
    params_ += V * F;
    emb = fb::CreateEmbedding(b_, static_cast<int32_t>(V), static_cast<int32_t>(F),
                              b_.CreateVector(q), &emb_q);
  }

  const fb::QuantParams bott_q = act(m->bottleneck->out_quant, "bottleneck.out_quant");
  auto bottleneck = dense(m->bottleneck, emb_q, bott_q, "bottleneck");

  // GBST
  const auto& g = m->gbst;
  const fb::QuantParams conv_q = act(g->conv->out_quant, "gbst.conv.out_quant");
  const fb::QuantParams score_q = act(g->score_quant, "gbst.score_quant");
  const fb::QuantParams mix_q = act(g->mix_quant, "gbst.mix_quant");
  auto gconv = dense(g->conv, bott_q, conv_q, "gbst.conv");
  auto gscore = dense(g->score, conv_q, score_q, "gbst.score");
  auto gexp = exp_table(score_q.scale());
  auto gbst = fb::CreateGbst(b_, static_cast<int32_t>(g->max_block_width),
                             static_cast<int32_t>(g->conv_kernel),
                             static_cast<int32_t>(g->downsample_rate), gconv, gscore, gexp, &mix_q);

  // QRNN layers
  const fb::QuantParams su(static_cast<float>(signed_unit_range_params().scale),
                           static_cast<int32_t>(signed_unit_range_params().zero_point));
  std::vector<flatbuffers::Offset<fb::QrnnLayer>> layers;
  fb::QuantParams in_q = mix_q;
  for (size_t i = 0; i < m->qrnn->size(); ++i) {
    auto l = m->qrnn->ptr(i)->as<QrnnLayerImpl>();
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
  auto qrnn = b_.CreateVector(layers);

  // attention pooling and head
  const fb::QuantParams pscore_q = act(m->pool->score->out_quant, "pool.score.out_quant");
  const fb::QuantParams pool_q = act(m->pool->out_quant, "pool.out_quant");
  auto pscore = dense(m->pool->score, in_q, pscore_q, "pool.score");
  auto pexp = exp_table(pscore_q.scale());
  // "attention_max": [attention pooling; max over time] share the params of pool_concat_quant
  const fb::QuantParams concat_q =
      max_pool ? act(m->pool_concat_quant, "pool_concat_quant") : pool_q;
  auto pool = fb::CreateAttentionPool(b_, pscore, pexp, &pool_q, max_pool, &concat_q);
  const fb::QuantParams head_q = act(m->head->out_quant, "head.out_quant");
  auto head = dense(m->head, concat_q, head_q, "head");
  auto net = fb::CreateByteQrnn(b_, emb, bottleneck, gbst, qrnn, pool, head);

  // probabilities from the int8 logits
  flatbuffers::Offset<flatbuffers::Vector<float>> out_exp, out_sig;
  if (meta.multilabel) {
    std::vector<float> t(256);
    for (int i = 0; i < 256; ++i) {
      const double x = static_cast<double>(i - 128 - head_q.zero_point()) * head_q.scale();
      t[i] = static_cast<float>(1.0 / (1.0 + std::exp(-x)));
    }
    out_sig = b_.CreateVector(t);
  } else {
    std::vector<float> t(256);
    for (int d = 0; d < 256; ++d)
      t[d] = static_cast<float>(std::exp(-static_cast<double>(head_q.scale()) * d));
    out_exp = b_.CreateVector(t);
  }

  auto cfgt = fb::CreateByteQrnnConfig(
      b_, mc.embedding_size, mc.bottleneck_size, mc.gbst_max_block_width, mc.gbst_conv_kernel_size,
      mc.gbst_downsample_rate, mc.qrnn_state_size, mc.qrnn_kernel_width, mc.qrnn_layers);
  auto tok = fb::CreateTokenizer(b_, cfg.max_length, 3, 0, 259, cfg.lowercase_ascii);
  auto producer = b_.CreateString(std::string("bytelite ") + kVersionString);
  auto arch = b_.CreateString("byteqrnn");
  auto labels = b_.CreateVectorOfStrings(meta.label_names);
  auto thresholds = b_.CreateVector(meta.thresholds);
  auto source = b_.CreateString(source_);
  auto text_col = b_.CreateString(cfg.data.text_column);
  auto label_cols = b_.CreateVectorOfStrings(cfg.data.label_columns);
  if (static_cast<int64_t>(meta.label_names.size()) != C || C < 1) fail("no labels");

  fb::ModelBuilder mb(b_);
  mb.add_producer(producer);
  mb.add_architecture(arch);
  mb.add_labels(labels);
  mb.add_multilabel(meta.multilabel);
  mb.add_thresholds(thresholds);
  mb.add_tokenizer(tok);
  mb.add_config(cfgt);
  mb.add_byteqrnn(net);
  if (meta.multilabel) {
    mb.add_output_sigmoid(out_sig);
  } else {
    mb.add_output_exp(out_exp);
  }
  mb.add_source_checkpoint(source);
  mb.add_training_step(meta.step);
  mb.add_trained_parameters(m->parameter_count());
  mb.add_float_bytes(4 * params_);
  mb.add_text_column(text_col);
  mb.add_label_columns(label_cols);
  auto root = mb.Finish();
  fb::FinishModelBuffer(b_, root);
  return rt::make_model_file(b_.GetBufferPointer(), b_.GetSize(), kModelFormatVersion);
}

std::string absolute(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) != nullptr) return buf;
  return p;
}

}  // namespace

std::string export_model_bytes(const LoadedCheckpoint& lc, const std::string& source_checkpoint) {
  return Exporter(lc, source_checkpoint).run();
}

ExportSummary export_model(const LoadedCheckpoint& lc, const std::string& source_checkpoint,
                           const std::string& out_path) {
  const std::string bytes = export_model_bytes(lc, source_checkpoint);
  write_file_atomic(out_path, bytes);
  auto model = Model::from_bytes(bytes, out_path);  // validates what was written
  ExportSummary s;
  s.path = out_path;
  s.model_bytes = static_cast<int64_t>(bytes.size());
  s.parameter_count = model->info().parameter_count;
  s.float_bytes = model->info().float_bytes;
  return s;
}

ExportSummary export_checkpoint(const std::string& checkpoint, const std::string& out_path) {
  LoadedCheckpoint lc = load_checkpoint(checkpoint);
  std::string file = checkpoint;
  struct stat st {};
  if (::stat(checkpoint.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) file += "/best.ckpt";
  return export_model(lc, absolute(file), out_path);
}

}  // namespace bytelite
