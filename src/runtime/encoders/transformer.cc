// The attention encoder units (encoder kinds "transformer" and "funnel": ByteTransformer,
// ByteFunnelTransformer): byte embedding + position embedding -> layer norm -> bottleneck (when
// embedding_size != model_dimension) -> GBST -> post-LN Transformer layers (funnel: query
// mean-pooling before each layer); their loader (TransformerConfig + ByteTransformer tables: the
// TransformerEncoder union member, format v1's `transformer_config` / `transformer` and seq2seq
// `transformer_config` / `encoder` fields, or the seq2seq section's built-in encoder) and their
// int8 forward. Mirrors the "transformer" and "funnel" units of src/train/encoder_registry.cc.
#include <iterator>
#include <utility>

#include "runtime/encoders/encoder_unit.h"
#include "runtime/model_loader.h"
#include "runtime/ops/taps.h"

namespace bytelite::rt {

namespace {

// The tensors of an attention-kind encoder (`kind`) whose hyperparameters are in info already
// (from its TransformerConfig, or the seq2seq section's): everything up to the pooling.
// windows: the config's pool windows (read when the kind has them).
LoadedEncoder load_transformer_tensors(const Loader& ld, const fb::ByteTransformer* tr,
                                       const std::string& prefix, const EncoderKindInfo& kind,
                                       const flatbuffers::Vector<int32_t>* windows, ModelInfo& info,
                                       ClassifierNet& net) {
  net.kind = kind.kind;
  net.transformer = true;
  const bool scalar = info.layer_norm == "scalar";
  const fb::ByteTransformer* t = ld.need(tr, prefix);
  const int64_t F = info.embedding_size, D = info.bottleneck_size;

  net.vocab_size = kVocab;
  net.embedding_size = static_cast<int32_t>(F);
  net.embedding =
      ld.embedding_table(t->embedding(), prefix + ".embedding", kVocab, F, &net.embedding_q);
  const fb::Embedding* pos = ld.need(t->position(), prefix + ".position");
  ld.check_int(pos->vocab_size(), info.max_length, limits::kMaxLength,
               prefix + ".position.vocab_size");
  net.max_positions = pos->vocab_size();
  net.position =
      ld.embedding_table(pos, prefix + ".position", net.max_positions, F, &net.position_q);
  net.embedding_norm = ld.layer_norm(t->embedding_norm(), prefix + ".embedding_norm", F, scalar);
  QParams x_q = net.embedding_norm.out;
  net.has_bottleneck = F != D;
  if (net.has_bottleneck) {
    net.bottleneck = ld.dense(t->bottleneck(), prefix + ".bottleneck", F, D, x_q);
    ld.count(net.bottleneck);
    x_q = net.bottleneck.out;
  } else if (t->bottleneck() != nullptr) {
    ld.fail(prefix + ".bottleneck", "none (embedding_size equals model_dimension)", "a layer");
  }
  ld.load_gbst(t->gbst(), prefix + ".gbst", D, x_q, info, net.gbst);

  const auto* layers = ld.need(t->layers(), prefix + ".layers");
  ld.check_int(layers->size(), info.transformer_layers, info.transformer_layers,
               "number of " + prefix + ".layers");
  QParams in_q = net.gbst.mix;
  const int64_t H = info.num_heads, I = info.intermediate_size;
  for (flatbuffers::uoffset_t i = 0; i < layers->size(); ++i) {
    const std::string name = prefix + ".layers[" + std::to_string(i) + "]";
    const fb::TransformerLayer* l = ld.need(layers->Get(i), name);
    TransformerLayerRt L =
        ld.transformer_layer(l, name, D, H, I, in_q, scalar, info.attention_scale == "none",
                             kind.pool_windows ? limits::kMaxPoolWindow : 1);
    if (kind.pool_windows) {
      if (windows == nullptr || windows->size() != layers->size() ||
          windows->Get(i) != L.pool_window) {
        ld.fail(name + ".pool_window", "the window of transformer_config.pool_windows",
                std::to_string(L.pool_window));
      }
    }
    info.pool_windows.push_back(L.pool_window);
    in_q = L.norm2.out;
    net.layers.push_back(std::move(L));
  }
  LoadedEncoder e;
  e.width = D;
  e.out = in_q;
  e.layers = info.transformer_layers;
  e.prefix = prefix;
  e.pool = t->pool();
  e.head = t->head();
  return e;
}

// cfg_name / prefix: the tables' names in messages ("transformer_config" / "transformer" in a
// classifier); want: the encoder kind required (an attention kind), want_what: why.
LoadedEncoder load_transformer(const Loader& ld, const fb::TransformerConfig* config,
                               const fb::ByteTransformer* tr, const std::string& cfg_name,
                               const std::string& prefix, const EncoderKindInfo& want,
                               const std::string& want_what, ModelInfo& info, ClassifierNet& net,
                               int min_layers = 1) {
  net.transformer = true;
  const fb::TransformerConfig* cfg = ld.need(config, cfg_name);
  // format v2 stores no name (the kind is Model.encoder_kind)
  info.encoder = cfg->encoder() != nullptr ? ld.str(cfg->encoder()) : std::string(want.name);
  const EncoderKindInfo* kind = find_encoder_kind(info.encoder);
  if (kind == nullptr || !kind->attention) {
    std::string names;
    for (const EncoderKindInfo& k : kEncoderKinds) {
      if (!k.attention) continue;
      names += std::string(names.empty() ? "" : " or ") + "\"" + k.name + "\"";
    }
    ld.fail(cfg_name + ".encoder", names, "\"" + info.encoder + "\"");
  }
  if (kind != &want) ld.fail(cfg_name + ".encoder", want_what, "\"" + info.encoder + "\"");
  info.embedding_size = cfg->embedding_size();
  info.bottleneck_size = cfg->model_dimension();
  info.gbst_max_block_width = cfg->gbst_max_block_width();
  info.gbst_conv_kernel_size = cfg->gbst_conv_kernel_size();
  info.gbst_downsample_rate = cfg->gbst_downsample_rate();
  info.transformer_layers = cfg->num_layers();
  info.num_heads = cfg->num_heads();
  info.intermediate_size = cfg->intermediate_size();
  info.attention_scale = ld.str(cfg->attention_scale());
  info.layer_norm = ld.str(cfg->layer_norm());
  ld.check_int(info.embedding_size, 1, limits::kMaxWidth, cfg_name + ".embedding_size");
  ld.check_int(info.bottleneck_size, 1, limits::kMaxWidth, cfg_name + ".model_dimension");
  ld.check_gbst(info, cfg_name);
  ld.check_int(info.transformer_layers, min_layers, limits::kMaxTransformerLayers,
               cfg_name + ".num_layers");
  ld.check_int(info.num_heads, 1, info.bottleneck_size, cfg_name + ".num_heads");
  ld.check_int(info.intermediate_size, 1, limits::kMaxIntermediate,
               cfg_name + ".intermediate_size");
  if (info.bottleneck_size % info.num_heads != 0) {
    ld.fail(cfg_name + ".num_heads",
            "a divisor of model_dimension " + std::to_string(info.bottleneck_size),
            std::to_string(info.num_heads));
  }
  if (info.layer_norm != "channel" && info.layer_norm != "scalar") {
    ld.fail(cfg_name + ".layer_norm", "\"channel\" or \"scalar\"", "\"" + info.layer_norm + "\"");
  }
  return load_transformer_tensors(ld, tr, prefix, *kind, cfg->pool_windows(), info, net);
}

LoadedEncoder load(const Loader& ld, const EncoderKindInfo& kind, const void* tables,
                   const std::string& prefix, int min_layers, ModelInfo& info, ClassifierNet& net) {
  const auto* t = static_cast<const fb::TransformerEncoder*>(tables);
  return load_transformer(ld, t->config(), t->tensors(), prefix + ".config", prefix + ".tensors",
                          kind, std::string("\"") + kind.name + "\" (encoder_kind)", info, net,
                          min_layers);
}

LoadedEncoder load_v1(const Loader& ld, const EncoderKindInfo& kind, const fb::Model& m,
                      ModelInfo& info, ClassifierNet& net) {
  return load_transformer(ld, m.transformer_config(), m.transformer(), "transformer_config",
                          "transformer", kind, "the encoder of architecture " + info.architecture,
                          info, net);
}

// Format v1 seq2seq: a kind configured by the model section stores its TransformerConfig
// (seq2seq_config.transformer_config) and tensors (seq2seq.encoder); the kind configured by the
// seq2seq section (seq2seq_section) stores only its tensors, its hyperparameters being the
// section's (in info already): width D without bottleneck.
LoadedEncoder load_v1_seq2seq(const Loader& ld, const EncoderKindInfo& kind,
                              const fb::Seq2SeqConfig& cfg, const fb::ByteSeq2Seq& s,
                              ModelInfo& info, ClassifierNet& net) {
  const std::string named = std::string(" (seq2seq_config.encoder \"") + kind.name + "\")";
  if (s.qrnn_encoder() != nullptr) ld.fail("seq2seq.qrnn_encoder", "none" + named, "a table");
  if (!kind.seq2seq_section) {
    return load_transformer(ld, cfg.transformer_config(), s.encoder(),
                            "seq2seq_config.transformer_config", "seq2seq.encoder", kind,
                            std::string("\"") + kind.name + "\" (seq2seq_config.encoder)", info,
                            net);
  }
  const fb::ByteTransformer* e = ld.need(s.encoder(), "seq2seq.encoder");
  if (e->bottleneck() != nullptr || e->pool() != nullptr || e->head() != nullptr) {
    ld.fail("seq2seq.encoder", "no bottleneck, pool or head", "a classifier's layers");
  }
  LoadedEncoder out = load_transformer_tensors(ld, e, "seq2seq.encoder", kind, nullptr, info, net);
  info.pool_windows.clear();  // none in the seq2seq section (ModelInfo as format v1 gave it)
  return out;
}

// [T, F] ids -> byte front with position embedding -> Transformer layers: [L', D].
ClassifierEncoding encode(const OpContext& c, const ClassifierNet& m, const int32_t* ids, int64_t T,
                          std::vector<int8_t>& a, std::vector<int8_t>& b) {
  int64_t L = byte_front(c, m, true, ids, T, a, b);
  const int64_t C = m.has_bottleneck ? m.bottleneck.w.n : m.embedding_size;
  QParams hq = m.gbst.mix;
  std::vector<int8_t>* cur = &a;
  std::vector<int8_t>* nxt = &b;
  // [L, D] -> [L', D] (funnel: L' < L), alternating between the two buffers.
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const auto& layer = m.layers[i];
    int8_t* y = grow(*nxt, L * C);
    L = transformer_layer(c, layer, cur->data(), L, C, hq, y, taps::transformer_layer(i));
    hq = layer.norm2.out;
    std::swap(cur, nxt);
  }
  return ClassifierEncoding{cur, L, C, hq};
}

// model.* keys: the byte front's and the Transformer layers'; the funnel's add pool_windows,
// the last entry, which the plain Transformer's list leaves out.
constexpr std::array<StoredModelKey, 6> kLayerKeys = {{
    {"transformer_layers", &ModelInfo::transformer_layers},
    {"num_heads", &ModelInfo::num_heads},
    {"intermediate_size", &ModelInfo::intermediate_size},
    {"attention_scale", &ModelInfo::attention_scale},
    {"layer_norm", &ModelInfo::layer_norm},
    {"pool_windows", &ModelInfo::pool_windows},
}};
constexpr auto kFunnelKeys = concat_keys(kByteFrontKeys, kLayerKeys);

}  // namespace

// Both run text by text in a batch (no batched attention op yet).
extern const RuntimeEncoderUnit kTransformerEncoderUnit = {
    EncoderKind::kTransformer,
    fb::EncoderTables::TransformerEncoder,
    load,
    load_v1,
    load_v1_seq2seq,
    encode,
    nullptr,
    {kFunnelKeys.data(), kFunnelKeys.size() - 1}};
extern const RuntimeEncoderUnit kFunnelEncoderUnit = {EncoderKind::kFunnel,
                                                      fb::EncoderTables::TransformerEncoder,
                                                      load,
                                                      load_v1,
                                                      load_v1_seq2seq,
                                                      encode,
                                                      nullptr,
                                                      {kFunnelKeys.data(), kFunnelKeys.size()}};

}  // namespace bytelite::rt
