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
#include "train/fb_writer.h"

namespace bytelite {

namespace {

class Exporter : public FbWriter {
 public:
  Exporter(const LoadedCheckpoint& lc, std::string source) : FbWriter(std::move(source)), lc_(lc) {}

  std::string run();

 private:
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

  // The transformer encoder up to the attention pooling; returns the pooling input params.
  flatbuffers::Offset<fb::ByteTransformer> transformer(const fb::QuantParams& emb_q,
                                                       flatbuffers::Offset<fb::Embedding> emb,
                                                       fb::QuantParams* out_q,
                                                       flatbuffers::Offset<fb::AttentionPool>* pool,
                                                       flatbuffers::Offset<fb::Dense>* head);
  // Attention pooling and head from the encoder output params `in_q`.
  void pool_head(const fb::QuantParams& in_q, flatbuffers::Offset<fb::AttentionPool>* pool,
                 flatbuffers::Offset<fb::Dense>* head, fb::QuantParams* head_q);

  const LoadedCheckpoint& lc_;
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
    layers.push_back(transformer_layer(*l, in_q, factor, "layers." + std::to_string(i), &in_q));
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
