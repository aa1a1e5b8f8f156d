// The pQRNN encoder unit (encoder kind "pqrnn", projection input; PRADO / pQRNN, SeqFlowLite
// spec §1.5, §2.11): ternary projection of the text's hashed tokens -> bottleneck (dense,
// ReLU) -> bidirectional QRNN layers; its loader (the PqrnnEncoder union member; format v1 has
// no pQRNN) and its int8 forward. Mirrors the "pqrnn" unit of src/train/encoder_registry.cc.
#include <iterator>

#include "runtime/encoders/encoder_unit.h"
#include "runtime/model_loader.h"
#include "runtime/ops/taps.h"

namespace bytelite::rt {

void load_projection_config(const Loader& ld, const fb::ProjectionConfig* pc,
                            const std::string& what, ModelInfo& info, ClassifierNet& net) {
  ld.need(pc, what);
  info.projection_feature_size = pc->feature_size();
  info.projection_max_tokens = pc->max_tokens();
  info.projection_split_on_space = pc->split_on_space();
  info.projection_lowercase = pc->lowercase();
  info.projection_add_bos = pc->add_bos();
  info.projection_add_eos = pc->add_eos();
  ld.check_int(info.projection_feature_size, 1, limits::kMaxWidth, what + ".feature_size");
  ld.check_int(info.projection_max_tokens,
               1 + int{info.projection_add_bos} + int{info.projection_add_eos}, limits::kMaxLength,
               what + ".max_tokens");
  ProjectionConfig& p = net.projection_cfg;
  p.feature_size = info.projection_feature_size;
  p.max_tokens = info.projection_max_tokens;
  p.split_on_space = info.projection_split_on_space;
  p.lowercase = info.projection_lowercase;
  p.add_bos = info.projection_add_bos;
  p.add_eos = info.projection_add_eos;
}

namespace {

// The PqrnnEncoder union member: the projection settings, bottleneck and QRNN layers,
// everything up to the attention pooling.
LoadedEncoder load(const Loader& ld, const EncoderKindInfo& kind, const void* tables,
                   const std::string& name, int /*min_layers*/, ModelInfo& info,
                   ClassifierNet& net) {
  const auto* tabs = static_cast<const fb::PqrnnEncoder*>(tables);
  const fb::PqrnnConfig* config = tabs->config();
  const fb::Pqrnn* tensors = tabs->tensors();
  const std::string cfg_name = name + ".config", prefix = name + ".tensors";
  info.encoder = kind.name;
  net.kind = kind.kind;
  const fb::PqrnnConfig* cfg = ld.need(config, cfg_name);
  load_projection_config(ld, cfg->projection(), cfg_name + ".projection", info, net);
  info.bottleneck_size = cfg->bottleneck_size();
  info.qrnn_state_size = cfg->qrnn_state_size();
  info.qrnn_kernel_width = cfg->qrnn_kernel_width();
  info.qrnn_layers = cfg->qrnn_layers();
  ld.check_int(info.bottleneck_size, 1, limits::kMaxWidth, cfg_name + ".bottleneck_size");
  ld.check_int(info.qrnn_state_size, 1, limits::kMaxWidth, cfg_name + ".qrnn_state_size");
  ld.check_int(info.qrnn_kernel_width, 1, limits::kMaxKernel, cfg_name + ".qrnn_kernel_width");
  ld.check_int(info.qrnn_layers, 1, limits::kMaxQrnnLayers, cfg_name + ".qrnn_layers");

  net.projection = true;
  net.vocab_size = kVocab;  // the ids it reads are byte ids

  const fb::Pqrnn* t = ld.need(tensors, prefix);
  const int64_t Fp = info.projection_feature_size, D = info.bottleneck_size;
  net.bottleneck = ld.dense(t->bottleneck(), prefix + ".bottleneck", Fp, D, kProjectionParams);
  ld.count(net.bottleneck);
  LoadedEncoder e;
  ld.load_qrnn_layers(t->qrnn(), prefix, D, net.bottleneck.out, info, net, &e.width, &e.out);
  e.layers = info.qrnn_layers;
  e.prefix = prefix;
  e.pool = t->pool();
  e.head = t->head();
  return e;
}

// The projection front: ternary projection of the text of ids -> bottleneck (dense, ReLU).
// Leaves [L, Bn] at params m.bottleneck.out in a; returns L (the token count, >= 1).
int64_t projection_front(const OpContext& c, const ClassifierNet& m, const int32_t* ids, int64_t T,
                         std::vector<int8_t>& a, std::vector<int8_t>& b) {
  const int64_t Fp = m.projection_cfg.feature_size, Bn = m.bottleneck.w.n;
  int64_t L = 0;
  {
    OpTimer tm(c.profile, Op::kEmbedding);  // the projection stands where the embedding stands
    L = ternary_projection_of_ids(ids, T, m.projection_cfg, &b);
  }
  c.tap("projection", b.data(), L, Fp, kProjectionParams);
  int8_t* xb = grow(a, L * Bn);
  {
    OpTimer tm(c.profile, Op::kDense);
    dense(c, m.bottleneck, b.data(), L, Fp, xb);
  }
  c.tap("bottleneck", xb, L, Bn, m.bottleneck.out);
  return L;
}

ClassifierEncoding encode(const OpContext& c, const ClassifierNet& m, const int32_t* ids, int64_t T,
                          std::vector<int8_t>& a, std::vector<int8_t>& b) {
  const int64_t L = projection_front(c, m, ids, T, a, b);
  return qrnn_stack(c, m, L, m.bottleneck.w.n, m.bottleneck.out, a, b);
}

// model.* keys: the projection settings and the QRNN layers'.
constexpr auto kKeys = concat_keys(kProjectionKeys, kQrnnKeys);

}  // namespace

// Format v1 knows no pQRNN; the projection front runs text by text in a batch.
extern const RuntimeEncoderUnit kPqrnnEncoderUnit = {EncoderKind::kPqrnn,
                                                     fb::EncoderTables::PqrnnEncoder,
                                                     load,
                                                     nullptr,
                                                     nullptr,
                                                     encode,
                                                     nullptr,
                                                     {kKeys.data(), kKeys.size()}};

}  // namespace bytelite::rt
