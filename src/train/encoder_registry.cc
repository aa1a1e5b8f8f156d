#include "train/encoder_registry.h"

#include <cmath>

#include "bytelite/errors.h"
#include "core/byte_tokenizer.h"
#include "runtime/ops/taps.h"
#include "train/classifier_model.h"
#include "train/fb_writer.h"
#include "train/projection_input.h"

namespace bytelite {

namespace {

using json = nlohmann::json;

// The kinds with per-layer pool windows, for messages ("\"funnel\"").
std::string pool_window_kinds() {
  std::string s;
  for (const EncoderKindInfo& k : kEncoderKinds) {
    if (!k.pool_windows) continue;
    s += std::string(s.empty() ? "" : " or ") + "\"" + k.name + "\"";
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// ByteQRNN (spec §1.2): embedding -> bottleneck dense F -> Bn (ReLU, BN) -> GBST -> dropout ->
// bidirectional QRNN layers (dropout between them). Output 2S wide.

void qrnn_check(const ModelConfig& mc, const json& j, const ConfigFail& fail) {
  if (!mc.pool_windows.empty()) {
    fail("model.pool_windows", "no pool_windows unless encoder is " + pool_window_kinds(),
         j.at("pool_windows"));
  }
}

void qrnn_build(ByteClassifierImpl& m) {
  const ModelConfig& cfg = m.cfg;
  const int64_t F = cfg.embedding_size, D = cfg.bottleneck_size;
  m.embedding = m.register_parameter("embedding", torch::randn({kVocabSize, F}));
  m.embedding_quant = m.register_module("embedding_quant", ActQuant(m.qat));
  m.bottleneck = m.register_module("bottleneck", QDense(F, D, true, Activation::kRelu, m.qat));
  m.gbst = m.register_module("gbst", Gbst(D, cfg.gbst_max_block_width, cfg.gbst_conv_kernel_size,
                                          cfg.gbst_downsample_rate, m.qat));
  m.qrnn = m.register_module("qrnn", torch::nn::ModuleList());
  int64_t in = D;
  for (int i = 0; i < cfg.qrnn_layers; ++i) {
    double zo = std::pow(cfg.qrnn_zoneout, i + 1);  // layer-wise decaying zoneout (spec §2.6)
    QrnnLayer layer(in, cfg.qrnn_state_size, cfg.qrnn_kernel_width, zo, m.qat);
    layer->tap_name = taps::qrnn_layer(static_cast<size_t>(i));
    m.qrnn->push_back(layer);
    in = 2 * cfg.qrnn_state_size;
  }
}

// The ByteQRNN byte front up to GBST's input: embedding (fake-quantized) -> bottleneck,
// [B, L, bottleneck_size], zero at padding.
torch::Tensor byte_bottleneck(ByteClassifierImpl& m, const torch::Tensor& ids,
                              const torch::Tensor& mask) {
  const int64_t B = ids.size(0), L = ids.size(1);
  auto mask3 = mask.unsqueeze(-1);
  auto x = m.embedding.index_select(0, ids.reshape({-1})).reshape({B, L, m.cfg.embedding_size});
  x = m.embedding_quant->forward(x) * mask3;
  tap(taps::kEmbedding, x, m.embedding_quant->params());
  x = m.bottleneck->forward(x, mask) * mask3;
  tap(taps::kBottleneck, x, m.bottleneck->out_quant->params());
  return x;
}

// GBST on x [B, L, D] then the QRNN layers (dropout between): [B, L', 2S] and its mask.
std::pair<torch::Tensor, torch::Tensor> gbst_qrnn(ByteClassifierImpl& m, const torch::Tensor& x,
                                                  const torch::Tensor& mask) {
  auto [h, hm] = m.gbst->forward(x, mask);
  const bool tr = m.is_training();
  h = torch::dropout(h, m.cfg.dropout, tr);
  for (size_t i = 0; i < m.qrnn->size(); ++i) {
    h = m.qrnn[i]->as<QrnnLayer>()->forward(h, hm);
    if (tracing()) tap(taps::qrnn_layer(i), h, signed_unit_range_params());
    if (i + 1 < m.qrnn->size()) h = torch::dropout(h, m.cfg.dropout, tr);
  }
  return {h, hm};
}

std::pair<torch::Tensor, torch::Tensor> qrnn_encode(ByteClassifierImpl& m, const torch::Tensor& ids,
                                                    const torch::Tensor& mask) {
  return gbst_qrnn(m, byte_bottleneck(m, ids, mask), mask);
}

int64_t qrnn_width(const ModelConfig& mc) { return 2 * static_cast<int64_t>(mc.qrnn_state_size); }

int64_t gbst_stride(const ModelConfig& mc) { return mc.gbst_downsample_rate; }

WrittenEncoder qrnn_write(FbWriter& w, const ByteClassifierImpl& m,
                          const PoolHeadWriter& pool_head) {
  auto& b = w.builder();
  const ModelConfig& mc = m.cfg;
  const FbWriter::QrnnEncoder e = w.qrnn_encoder(m);
  flatbuffers::Offset<fb::AttentionPool> pool;
  flatbuffers::Offset<fb::Dense> head;
  if (pool_head) std::tie(pool, head) = pool_head(e.out_q);
  auto tensors = fb::CreateByteQrnn(b, e.embedding, e.bottleneck, e.gbst, e.qrnn, pool, head);
  auto config = fb::CreateByteQrnnConfig(
      b, mc.embedding_size, mc.bottleneck_size, mc.gbst_max_block_width, mc.gbst_conv_kernel_size,
      mc.gbst_downsample_rate, mc.qrnn_state_size, mc.qrnn_kernel_width, mc.qrnn_layers);
  WrittenEncoder out;
  out.out_q = e.out_q;
  out.type = fb::EncoderTables::QrnnEncoder;
  out.tables = fb::CreateQrnnEncoder(b, config, tensors).Union();
  return out;
}

// ---------------------------------------------------------------------------------------------
// pQRNN (spec §1.5, §2.11): ternary projection of the text's hashed tokens [B, T, Fp]
// (train/projection_input.h, the runtime's own functions) -> bottleneck dense Fp -> Bn (ReLU,
// BN) -> dropout -> bidirectional QRNN layers (dropout between them). Output 2S wide, one
// position per token. The projection is computed from the byte ids (the text as the tokenizer
// kept it), exactly as the runtime computes it; it is exact in int8 (values -1, 0, +1).

void pqrnn_check(const ModelConfig& mc, const json& j, const ConfigFail& fail) {
  qrnn_check(mc, j, fail);
  const int tags = int{mc.projection_add_bos} + int{mc.projection_add_eos};
  if (mc.projection_max_tokens < 1 + tags) {
    fail("model.projection_max_tokens",
         "at least " + std::to_string(1 + tags) + " (one text token besides the tags)",
         json(mc.projection_max_tokens));
  }
}

void pqrnn_build(ByteClassifierImpl& m) {
  const ModelConfig& cfg = m.cfg;
  const int64_t Fp = cfg.projection_feature_size, D = cfg.bottleneck_size;
  m.bottleneck = m.register_module("bottleneck", QDense(Fp, D, true, Activation::kRelu, m.qat));
  m.qrnn = m.register_module("qrnn", torch::nn::ModuleList());
  int64_t in = D;
  for (int i = 0; i < cfg.qrnn_layers; ++i) {
    double zo = std::pow(cfg.qrnn_zoneout, i + 1);
    m.qrnn->push_back(QrnnLayer(in, cfg.qrnn_state_size, cfg.qrnn_kernel_width, zo, m.qat));
    in = 2 * cfg.qrnn_state_size;
  }
}

std::pair<torch::Tensor, torch::Tensor> pqrnn_encode(ByteClassifierImpl& m,
                                                     const torch::Tensor& ids,
                                                     const torch::Tensor& mask) {
  ProjectionBatch p = project_id_batch(ids, mask, projection_config(m.cfg));
  const auto& pm = p.mask;
  auto x = m.bottleneck->forward(p.values, pm) * pm.unsqueeze(-1);
  const bool tr = m.is_training();
  auto h = torch::dropout(x, m.cfg.dropout, tr);
  for (size_t i = 0; i < m.qrnn->size(); ++i) {
    h = m.qrnn[i]->as<QrnnLayer>()->forward(h, pm);
    if (i + 1 < m.qrnn->size()) h = torch::dropout(h, m.cfg.dropout, tr);
  }
  return {h, pm};
}

// Output positions are tokens, not byte blocks: no fixed stride (pretraining rejects the kind).
int64_t pqrnn_bytes_per_position(const ModelConfig&) { return 0; }

WrittenEncoder pqrnn_write(FbWriter& w, const ByteClassifierImpl& m,
                           const PoolHeadWriter& pool_head) {
  auto& b = w.builder();
  const ModelConfig& mc = m.cfg;
  const FbWriter::PqrnnEncoder e = w.pqrnn_encoder(m);
  flatbuffers::Offset<fb::AttentionPool> pool;
  flatbuffers::Offset<fb::Dense> head;
  if (pool_head) std::tie(pool, head) = pool_head(e.out_q);
  auto tensors = fb::CreatePqrnn(b, e.bottleneck, e.qrnn, pool, head);
  auto projection = fb::CreateProjectionConfig(
      b, mc.projection_feature_size, mc.projection_max_tokens, mc.projection_split_on_space,
      mc.projection_lowercase, mc.projection_add_bos, mc.projection_add_eos);
  auto config = fb::CreatePqrnnConfig(b, projection, mc.bottleneck_size, mc.qrnn_state_size,
                                      mc.qrnn_kernel_width, mc.qrnn_layers);
  WrittenEncoder out;
  out.out_q = e.out_q;
  out.type = fb::EncoderTables::PqrnnEncoder;
  out.tables = fb::CreatePqrnnEncoder(b, config, tensors).Union();
  return out;
}

// ---------------------------------------------------------------------------------------------
// ByteQRNN with word projection ("qrnn_proj"): the ByteQRNN byte path, where the GBST input is
// word_sum(bottleneck output + the word vector of each byte's word). Word vectors are computed
// once per word: word dense (projection [B, W, Fp] -> D, batch norm folded, no activation),
// then broadcast to the word's bytes by the byte -> word map (train/projection_input.h
// byte_word_batch, the runtime's rt::byte_token_map); bytes outside any word add 0. The sum is
// fake-quantized as the runtime's add op requantizes it (ops.h add). Output 2S wide, one
// position per GBST block as ByteQRNN.

void qrnn_proj_build(ByteClassifierImpl& m) {
  qrnn_build(m);
  const ModelConfig& cfg = m.cfg;
  m.word = m.register_module("word", QDense(cfg.projection_feature_size, cfg.bottleneck_size, true,
                                            Activation::kNone, m.qat));
  m.word_sum_quant = m.register_module("word_sum_quant", ActQuant(m.qat));
}

std::pair<torch::Tensor, torch::Tensor> qrnn_proj_encode(ByteClassifierImpl& m,
                                                         const torch::Tensor& ids,
                                                         const torch::Tensor& mask) {
  const int64_t B = ids.size(0), L = ids.size(1), D = m.cfg.bottleneck_size;
  auto mask3 = mask.unsqueeze(-1);
  auto x = byte_bottleneck(m, ids, mask);
  // word vectors [B, W, D], once per word
  const rt::ProjectionConfig pc = projection_config(m.cfg);
  ProjectionBatch p = project_id_batch(ids, mask, pc);
  tap(taps::kProjection, p.values, QuantParams{1.0, 0});
  auto w = m.word->forward(p.values, p.mask) * p.mask.unsqueeze(-1);
  tap(taps::kWord, w, m.word->out_quant->params());
  // each byte's word vector [B, L, D] (0 outside words)
  const torch::Tensor map = byte_word_batch(ids, mask, pc).to(ids.device());
  const auto inside = (map >= 0).to(x.scalar_type()).unsqueeze(-1);
  const auto index = map.clamp_min(0).unsqueeze(-1).expand({B, L, D});
  auto wb = torch::gather(w, 1, index) * inside;
  x = m.word_sum_quant->forward(x + wb) * mask3;
  tap(taps::kWordSum, x, m.word_sum_quant->params());
  return gbst_qrnn(m, x, mask);
}

WrittenEncoder qrnn_proj_write(FbWriter& w, const ByteClassifierImpl& m,
                               const PoolHeadWriter& pool_head) {
  auto& b = w.builder();
  const ModelConfig& mc = m.cfg;
  const FbWriter::QrnnProjEncoder e = w.qrnn_proj_encoder(m);
  flatbuffers::Offset<fb::AttentionPool> pool;
  flatbuffers::Offset<fb::Dense> head;
  if (pool_head) std::tie(pool, head) = pool_head(e.qrnn.out_q);
  auto tensors = fb::CreateByteQrnn(b, e.qrnn.embedding, e.qrnn.bottleneck, e.qrnn.gbst,
                                    e.qrnn.qrnn, pool, head);
  auto config = fb::CreateByteQrnnConfig(
      b, mc.embedding_size, mc.bottleneck_size, mc.gbst_max_block_width, mc.gbst_conv_kernel_size,
      mc.gbst_downsample_rate, mc.qrnn_state_size, mc.qrnn_kernel_width, mc.qrnn_layers);
  auto projection = fb::CreateProjectionConfig(
      b, mc.projection_feature_size, mc.projection_max_tokens, mc.projection_split_on_space,
      mc.projection_lowercase, mc.projection_add_bos, mc.projection_add_eos);
  WrittenEncoder out;
  out.out_q = e.qrnn.out_q;
  out.type = fb::EncoderTables::QrnnProjEncoder;
  out.tables = fb::CreateQrnnProjEncoder(b, config, projection, tensors, e.word, &e.sum_q).Union();
  return out;
}

// ---------------------------------------------------------------------------------------------
// ByteTransformer / ByteFunnelTransformer (spec §1.3, §1.4): embedding + position -> layer norm
// -> bottleneck dense F -> D (absent when F == D) -> GBST -> Transformer layers (funnel: query
// pooling by model.pool_windows). Output D wide. One implementation for both kinds; the kind's
// pool_windows trait decides whether the windows are read.

void transformer_check(const ModelConfig& mc, const json& j, const ConfigFail& fail) {
  const EncoderKindInfo& kind = encoder_kind(mc);
  if (mc.bottleneck_size % mc.num_heads != 0) {
    fail("model.num_heads",
         "a divisor of bottleneck_size (the model width, " + std::to_string(mc.bottleneck_size) +
             ")",
         json(mc.num_heads));
  }
  if (kind.pool_windows) {
    if (static_cast<int>(mc.pool_windows.size()) != mc.transformer_layers) {
      fail("model.pool_windows",
           "one window per layer (" + std::to_string(mc.transformer_layers) + " values)",
           j.contains("pool_windows") ? j.at("pool_windows") : json());
    }
    if (mc.norm_position == "pre") {
      fail("model.norm_position", std::string("\"post\" for the ") + kind.name + " encoder",
           json("pre"));
    }
  } else if (!mc.pool_windows.empty()) {
    fail("model.pool_windows", "no pool_windows unless encoder is " + pool_window_kinds(),
         j.at("pool_windows"));
  }
}

// The query pool window of layer i (1: none).
int64_t pool_window(const ModelConfig& mc, int i) {
  return encoder_kind(mc).pool_windows ? mc.pool_windows[i] : 1;
}

void transformer_build(ByteClassifierImpl& m) {
  const ModelConfig& cfg = m.cfg;
  const int64_t F = cfg.embedding_size, D = cfg.bottleneck_size;
  const bool scalar_norm = cfg.layer_norm == "scalar";
  const bool pre_norm = cfg.norm_position == "pre";
  auto& qat = m.qat;
  m.embedding = m.register_parameter("embedding", torch::randn({kVocabSize, F}) * 0.02);
  m.embedding_quant = m.register_module("embedding_quant", ActQuant(qat));
  m.position = m.register_parameter("position", torch::randn({m.max_positions, F}) * 0.02);
  m.position_quant = m.register_module("position_quant", ActQuant(qat));
  m.embedding_norm = m.register_module("embedding_norm", LayerNorm(F, scalar_norm, qat));
  if (F != D) {
    m.bottleneck = m.register_module("bottleneck", QDense(F, D, false, Activation::kNone, qat));
  }
  m.gbst = m.register_module("gbst", Gbst(D, cfg.gbst_max_block_width, cfg.gbst_conv_kernel_size,
                                          cfg.gbst_downsample_rate, qat));
  m.layers = m.register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < cfg.transformer_layers; ++i) {
    TransformerLayer layer(D, cfg.num_heads, cfg.intermediate_size, pool_window(cfg, i),
                           cfg.attention_scale == "sqrt", scalar_norm, pre_norm, cfg.dropout, qat);
    layer->tap_name = taps::transformer_layer(static_cast<size_t>(i));
    m.layers->push_back(layer);
  }
  if (pre_norm) m.final_norm = m.register_module("final_norm", LayerNorm(D, scalar_norm, qat));
}

std::pair<torch::Tensor, torch::Tensor> transformer_encode(ByteClassifierImpl& m,
                                                           const torch::Tensor& ids,
                                                           const torch::Tensor& mask) {
  const int64_t B = ids.size(0), L = ids.size(1);
  auto mask3 = mask.unsqueeze(-1);
  auto x = m.embedding.index_select(0, ids.reshape({-1})).reshape({B, L, m.cfg.embedding_size});
  x = m.embedding_quant->forward(x);
  tap(taps::kEmbedding, x, m.embedding_quant->params());
  // positions 0..L-1 (valid positions come first in every row)
  auto pos = m.position_quant->forward(m.position.narrow(0, 0, L)).unsqueeze(0);
  x = m.embedding_norm->forward(x + pos) * mask3;
  tap(taps::kEmbeddingNorm, x, m.embedding_norm->out_quant->params());
  if (m.bottleneck) {
    x = m.bottleneck->forward(x, mask) * mask3;
    tap(taps::kBottleneck, x, m.bottleneck->out_quant->params());
  }
  auto [h, hm] = m.gbst->forward(x, mask);
  ActQuantImpl* in_q = m.gbst->mix_quant.get();
  for (size_t i = 0; i < m.layers->size(); ++i) {
    auto layer = m.layers[i]->as<TransformerLayer>();
    std::tie(h, hm) = layer->forward(h, hm, in_q);
    in_q = layer->output_quant();
  }
  if (m.final_norm) h = m.final_norm->forward(h) * hm.unsqueeze(-1);
  return {h, hm};
}

int64_t transformer_width(const ModelConfig& mc) { return mc.bottleneck_size; }

int64_t transformer_stride(const ModelConfig& mc) {
  int64_t r = mc.gbst_downsample_rate;
  for (int i = 0; i < mc.transformer_layers; ++i) r *= pool_window(mc, i);
  return r;
}

WrittenEncoder transformer_write(FbWriter& w, const ByteClassifierImpl& m,
                                 const PoolHeadWriter& pool_head) {
  auto& b = w.builder();
  const ModelConfig& mc = m.cfg;
  const FbWriter::TransformerEncoder e = w.transformer_encoder(m);
  flatbuffers::Offset<fb::AttentionPool> pool;
  flatbuffers::Offset<fb::Dense> head;
  if (pool_head) std::tie(pool, head) = pool_head(e.out_q);
  auto tensors = fb::CreateByteTransformer(b, e.embedding, e.position, e.embedding_norm,
                                           e.bottleneck, e.gbst, e.layers, pool, head);
  std::vector<int32_t> windows;
  for (int i = 0; i < mc.transformer_layers; ++i)
    windows.push_back(static_cast<int32_t>(pool_window(mc, i)));
  auto wv = b.CreateVector(windows);
  auto scale = b.CreateString(mc.attention_scale);
  auto norm = b.CreateString(mc.layer_norm);
  // no encoder name: Model.encoder_kind says it (format v2)
  auto config = fb::CreateTransformerConfig(b, 0, mc.embedding_size, mc.bottleneck_size,
                                            mc.gbst_max_block_width, mc.gbst_conv_kernel_size,
                                            mc.gbst_downsample_rate, mc.transformer_layers,
                                            mc.num_heads, mc.intermediate_size, wv, scale, norm);
  WrittenEncoder out;
  out.out_q = e.out_q;
  out.type = fb::EncoderTables::TransformerEncoder;
  out.tables = fb::CreateTransformerEncoder(b, config, tensors).Union();
  return out;
}

const std::vector<std::string> kTransformerKeys = {
    "transformer_layers", "num_heads",  "intermediate_size", "pool_windows",
    "attention_scale",    "layer_norm", "norm_position"};

// The units, in the order of kEncoderKinds (checked by the test EncoderRegistry.OneUnitPerKind).
const TrainEncoderUnit kUnits[] = {
    {&kEncoderKinds[0],
     {"qrnn_state_size", "qrnn_kernel_width", "qrnn_layers"},
     qrnn_check,
     qrnn_build,
     qrnn_encode,
     qrnn_width,
     gbst_stride,
     -2.0,  // QRNN outputs lie in [-1, 1]
     qrnn_write},
    {&kEncoderKinds[1], kTransformerKeys, transformer_check, transformer_build, transformer_encode,
     transformer_width, transformer_stride,
     -1e9,  // layer-normalized outputs are far above -1e9
     transformer_write},
    {&kEncoderKinds[2], kTransformerKeys, transformer_check, transformer_build, transformer_encode,
     transformer_width, transformer_stride, -1e9, transformer_write},
    {&kEncoderKinds[3],
     {"projection_feature_size", "projection_max_tokens", "projection_split_on_space",
      "projection_lowercase", "projection_add_bos", "projection_add_eos", "qrnn_state_size",
      "qrnn_kernel_width", "qrnn_layers"},
     pqrnn_check,
     pqrnn_build,
     pqrnn_encode,
     qrnn_width,
     pqrnn_bytes_per_position,
     -2.0,  // QRNN outputs lie in [-1, 1]
     pqrnn_write},
    {&kEncoderKinds[4],
     {"projection_feature_size", "projection_max_tokens", "projection_split_on_space",
      "projection_lowercase", "projection_add_bos", "projection_add_eos", "qrnn_state_size",
      "qrnn_kernel_width", "qrnn_layers"},
     pqrnn_check,
     qrnn_proj_build,
     qrnn_proj_encode,
     qrnn_width,
     gbst_stride,
     -2.0,  // QRNN outputs lie in [-1, 1]
     qrnn_proj_write},
};
static_assert(sizeof(kUnits) / sizeof(kUnits[0]) == kNumEncoderKinds,
              "one training unit per encoder kind (include/bytelite/encoder_kinds.h)");

}  // namespace

static_assert(
    static_cast<int>(fb::EncoderKind::Qrnn) == static_cast<int>(EncoderKind::kQrnn) &&
        static_cast<int>(fb::EncoderKind::Transformer) ==
            static_cast<int>(EncoderKind::kTransformer) &&
        static_cast<int>(fb::EncoderKind::Funnel) == static_cast<int>(EncoderKind::kFunnel) &&
        static_cast<int>(fb::EncoderKind::Pqrnn) == static_cast<int>(EncoderKind::kPqrnn) &&
        static_cast<int>(fb::EncoderKind::QrnnProj) == static_cast<int>(EncoderKind::kQrnnProj) &&
        static_cast<int>(fb::EncoderKind::MAX) + 1 == kNumEncoderKinds,
    "schema/bytelite_model.fbs EncoderKind mirrors include/bytelite/encoder_kinds.h");

fb::EncoderKind schema_kind(EncoderKind kind) { return static_cast<fb::EncoderKind>(kind); }

const TrainEncoderUnit& train_encoder_unit(EncoderKind kind) {
  return kUnits[static_cast<int>(kind)];
}

const TrainEncoderUnit& train_encoder_unit(const ModelConfig& mc) {
  const EncoderKindInfo* k = find_encoder_kind(mc.encoder);
  if (k == nullptr) {
    throw ConfigError("model.encoder: expected " + encoder_kind_names_quoted() + ", found \"" +
                      mc.encoder + "\"");
  }
  return train_encoder_unit(k->kind);
}

const EncoderKindInfo& encoder_kind(const ModelConfig& mc) { return *train_encoder_unit(mc).kind; }

}  // namespace bytelite
