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

  // A table [rows, dim] quantized with `q` exactly as the fake quantizer does.
  flatbuffers::Offset<fb::Embedding> table(const torch::Tensor& t, const fb::QuantParams& q) {
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

  flatbuffers::Offset<fb::LayerNorm> layer_norm(const LayerNorm& n, const std::string& name) {
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

  // The transformer encoder up to the attention pooling; returns the pooling input params.
  flatbuffers::Offset<fb::ByteTransformer> transformer(const fb::QuantParams& emb_q,
                                                       flatbuffers::Offset<fb::Embedding> emb,
                                                       fb::QuantParams* out_q,
                                                       flatbuffers::Offset<fb::AttentionPool>* pool,
                                                       flatbuffers::Offset<fb::Dense>* head);
  flatbuffers::Offset<fb::Gbst> gbst(const Gbst& g, const fb::QuantParams& in_q,
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
  // Attention pooling and head from the encoder output params `in_q`.
  void pool_head(const fb::QuantParams& in_q, flatbuffers::Offset<fb::AttentionPool>* pool,
                 flatbuffers::Offset<fb::Dense>* head, fb::QuantParams* head_q);

  const LoadedCheckpoint& lc_;
  std::string source_;
  Builder b_{1 << 16};
  int64_t params_ = 0;
};

torch::Tensor tanh_fn(const torch::Tensor& x) { return torch::tanh(x); }
torch::Tensor sigmoid_fn(const torch::Tensor& x) { return torch::sigmoid(x); }

void Exporter::pool_head(const fb::QuantParams& in_q, flatbuffers::Offset<fb::AttentionPool>* pool,
                         flatbuffers::Offset<fb::Dense>* head, fb::QuantParams* head_q) {
  auto& m = lc_.model;
  const bool max_pool = lc_.meta.config.model.pooling == "attention_max";
  const fb::QuantParams pscore_q = act(m->pool->score->out_quant, "pool.score.out_quant");
  const fb::QuantParams pool_q = act(m->pool->out_quant, "pool.out_quant");
  auto pscore = dense(m->pool->score, in_q, pscore_q, "pool.score");
  auto pexp = exp_table(pscore_q.scale());
  // "attention_max": [attention pooling; max over time] share the params of pool_concat_quant
  const fb::QuantParams concat_q =
      max_pool ? act(m->pool_concat_quant, "pool_concat_quant") : pool_q;
  *pool = fb::CreateAttentionPool(b_, pscore, pexp, &pool_q, max_pool, &concat_q);
  *head_q = act(m->head->out_quant, "head.out_quant");
  *head = dense(m->head, concat_q, *head_q, "head");
}

flatbuffers::Offset<fb::ByteTransformer> Exporter::transformer(
    const fb::QuantParams& emb_q, flatbuffers::Offset<fb::Embedding> emb, fb::QuantParams* out_q,
    flatbuffers::Offset<fb::AttentionPool>* pool, flatbuffers::Offset<fb::Dense>* head) {
  auto& m = lc_.model;
  const ModelConfig& mc = lc_.meta.config.model;
  const fb::QuantParams pos_q = act(m->position_quant, "position_quant");
  auto pos = table(m->position, pos_q);
  auto enorm = layer_norm(m->embedding_norm, "embedding_norm");
  fb::QuantParams x_q = act(m->embedding_norm->out_quant, "embedding_norm.out_quant");
  flatbuffers::Offset<fb::Dense> bott;
  if (m->bottleneck) {
    const fb::QuantParams bq = act(m->bottleneck->out_quant, "bottleneck.out_quant");
    bott = dense(m->bottleneck, x_q, bq, "bottleneck");
    x_q = bq;
  }
  fb::QuantParams in_q;
  auto gb = gbst(m->gbst, x_q, &in_q);
  const int64_t dh = mc.bottleneck_size / mc.num_heads;
  const float factor = mc.attention_scale == "sqrt"
                           ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)))
                           : 1.0f;
  std::vector<flatbuffers::Offset<fb::TransformerLayer>> layers;
  for (size_t i = 0; i < m->layers->size(); ++i) {
    auto l = m->layers->ptr(i)->as<TransformerLayerImpl>();
    const std::string name = "layers." + std::to_string(i);
    const fb::QuantParams qq = act(l->query->out_quant, name + ".query.out_quant");
    const fb::QuantParams kvq = act(l->key_value->out_quant, name + ".key_value.out_quant");
    const fb::QuantParams lq = act(l->logits_quant, name + ".logits_quant");
    const fb::QuantParams cq = act(l->context_quant, name + ".context_quant");
    const fb::QuantParams oq = act(l->output->out_quant, name + ".output.out_quant");
    const fb::QuantParams n1 = act(l->norm1->out_quant, name + ".norm1.out_quant");
    const fb::QuantParams fiq = act(l->ffn_in->out_quant, name + ".ffn_in.out_quant");
    const fb::QuantParams foq = act(l->ffn_out->out_quant, name + ".ffn_out.out_quant");
    auto query = dense(l->query, in_q, qq, name + ".query");
    auto kv = dense(l->key_value, in_q, kvq, name + ".key_value");
    auto lexp = exp_table(lq.scale());
    auto output = dense(l->output, cq, oq, name + ".output");
    auto norm1 = layer_norm(l->norm1, name + ".norm1");
    auto ffn_in = dense(l->ffn_in, n1, fiq, name + ".ffn_in");
    auto ffn_out = dense(l->ffn_out, fiq, foq, name + ".ffn_out");
    auto norm2 = layer_norm(l->norm2, name + ".norm2");
    layers.push_back(fb::CreateTransformerLayer(
        b_, static_cast<int32_t>(l->pool_window), static_cast<int32_t>(l->heads), query, kv, factor,
        &lq, lexp, &cq, output, norm1, ffn_in, ffn_out, norm2));
    in_q = act(l->norm2->out_quant, name + ".norm2.out_quant");
  }
  auto lv = b_.CreateVector(layers);
  *out_q = in_q;
  fb::QuantParams head_q;
  pool_head(in_q, pool, head, &head_q);
  return fb::CreateByteTransformer(b_, emb, pos, enorm, bott, gb, lv, *pool, *head);
}

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
  if (mc.norm_position != "post") {
    fail("the runtime runs post-norm Transformer layers, found model.norm_position \"" +
         mc.norm_position + "\"");
  }
  auto& m = lc_.model;
  const int64_t C = static_cast<int64_t>(meta.label_names.size());
  const bool max_pool = mc.pooling == "attention_max";
  const int64_t enc_width =
      mc.encoder == "qrnn" ? 2 * static_cast<int64_t>(mc.qrnn_state_size) : mc.bottleneck_size;
  if (m->head->in_features != (max_pool ? 2 : 1) * enc_width) {
    // e.g. a pooling variant that concatenates more features before the head
    fail("the runtime supports attention pooling into a head of " + std::to_string(enc_width) +
         " inputs, found a head of " + std::to_string(m->head->in_features) +
         " inputs (another model.pooling?)");
  }

  // embedding, quantized with its activation params exactly as the fake quantizer does
  const fb::QuantParams emb_q = act(m->embedding_quant, "embedding_quant");
  auto emb = table(m->embedding, emb_q);
  fb::QuantParams head_q;
  flatbuffers::Offset<fb::ByteQrnn> net;
  flatbuffers::Offset<fb::ByteTransformer> tnet;
  if (mc.encoder == "qrnn") {
    const fb::QuantParams bott_q = act(m->bottleneck->out_quant, "bottleneck.out_quant");
    auto bottleneck = dense(m->bottleneck, emb_q, bott_q, "bottleneck");
    fb::QuantParams mix_q;
    auto gb = gbst(m->gbst, bott_q, &mix_q);

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
    flatbuffers::Offset<fb::AttentionPool> pool;
    flatbuffers::Offset<fb::Dense> head;
    pool_head(in_q, &pool, &head, &head_q);
    net = fb::CreateByteQrnn(b_, emb, bottleneck, gb, qrnn, pool, head);
  } else {
    flatbuffers::Offset<fb::AttentionPool> pool;
    flatbuffers::Offset<fb::Dense> head;
    fb::QuantParams out_q;
    tnet = transformer(emb_q, emb, &out_q, &pool, &head);
    head_q = act(m->head->out_quant, "head.out_quant");
  }

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

  flatbuffers::Offset<fb::ByteQrnnConfig> cfgt;
  flatbuffers::Offset<fb::TransformerConfig> tcfg;
  if (mc.encoder == "qrnn") {
    cfgt =
        fb::CreateByteQrnnConfig(b_, mc.embedding_size, mc.bottleneck_size, mc.gbst_max_block_width,
                                 mc.gbst_conv_kernel_size, mc.gbst_downsample_rate,
                                 mc.qrnn_state_size, mc.qrnn_kernel_width, mc.qrnn_layers);
  } else {
    std::vector<int32_t> windows;
    for (int i = 0; i < mc.transformer_layers; ++i)
      windows.push_back(mc.encoder == "funnel" ? mc.pool_windows[i] : 1);
    tcfg = fb::CreateTransformerConfig(
        b_, b_.CreateString(mc.encoder), mc.embedding_size, mc.bottleneck_size,
        mc.gbst_max_block_width, mc.gbst_conv_kernel_size, mc.gbst_downsample_rate,
        mc.transformer_layers, mc.num_heads, mc.intermediate_size, b_.CreateVector(windows),
        b_.CreateString(mc.attention_scale), b_.CreateString(mc.layer_norm));
  }
  auto tok = fb::CreateTokenizer(b_, cfg.max_length, 3, 0, 259, cfg.lowercase_ascii);
  auto producer = b_.CreateString(std::string("bytelite ") + kVersionString);
  auto arch = b_.CreateString(mc.encoder == "qrnn"          ? "byteqrnn"
                              : mc.encoder == "transformer" ? "bytetransformer"
                                                            : "bytefunnel");
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
  if (mc.encoder == "qrnn") {
    mb.add_config(cfgt);
    mb.add_byteqrnn(net);
  } else {
    mb.add_transformer_config(tcfg);
    mb.add_transformer(tnet);
  }
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
