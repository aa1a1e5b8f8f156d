#include "core/model_info_json.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "bytelite/encoder_kinds.h"
#include "runtime/encoders/stored_keys.h"

namespace bytelite {

nlohmann::ordered_json model_config_json(const ModelInfo& m) {
  const EncoderKindInfo* kind = find_encoder_kind(m.encoder);
  if (kind != nullptr && kind->projection && !m.is_seq2seq()) {
    // pQRNN: the projection settings (src/runtime/ops/projection.h) under their config keys,
    // then bottleneck and QRNN; no byte embedding, no GBST.
    return nlohmann::ordered_json{{"encoder", m.encoder},
                                  {"projection_feature_size", m.projection_feature_size},
                                  {"projection_max_tokens", m.projection_max_tokens},
                                  {"projection_split_on_space", m.projection_split_on_space},
                                  {"projection_lowercase", m.projection_lowercase},
                                  {"projection_add_bos", m.projection_add_bos},
                                  {"projection_add_eos", m.projection_add_eos},
                                  {"bottleneck_size", m.bottleneck_size},
                                  {"qrnn_state_size", m.qrnn_state_size},
                                  {"qrnn_kernel_width", m.qrnn_kernel_width},
                                  {"qrnn_layers", m.qrnn_layers},
                                  {"pooling", m.pooling}};
  }
  nlohmann::ordered_json cfg = {{"encoder", m.encoder},
                                {"embedding_size", m.embedding_size},
                                {"bottleneck_size", m.bottleneck_size},
                                {"gbst_max_block_width", m.gbst_max_block_width},
                                {"gbst_conv_kernel_size", m.gbst_conv_kernel_size},
                                {"gbst_downsample_rate", m.gbst_downsample_rate}};
  if (kind == nullptr || !kind->attention) {
    cfg["qrnn_state_size"] = m.qrnn_state_size;
    cfg["qrnn_kernel_width"] = m.qrnn_kernel_width;
    cfg["qrnn_layers"] = m.qrnn_layers;
    if (kind != nullptr && kind->word_projection) {
      // ByteQRNN with word projection: the projection settings of its word vectors
      cfg["projection_feature_size"] = m.projection_feature_size;
      cfg["projection_max_tokens"] = m.projection_max_tokens;
      cfg["projection_split_on_space"] = m.projection_split_on_space;
      cfg["projection_lowercase"] = m.projection_lowercase;
      cfg["projection_add_bos"] = m.projection_add_bos;
      cfg["projection_add_eos"] = m.projection_add_eos;
    }
  } else {
    cfg["transformer_layers"] = m.transformer_layers;
    cfg["num_heads"] = m.num_heads;
    cfg["intermediate_size"] = m.intermediate_size;
    if (kind->pool_windows) cfg["pool_windows"] = m.pool_windows;
    cfg["attention_scale"] = m.attention_scale;
    cfg["layer_norm"] = m.layer_norm;
  }
  const bool seq2seq = m.is_seq2seq();
  if (seq2seq && !(kind != nullptr && kind->seq2seq_section)) {
    // An encoder configured by the model section (its hyperparameters above), then the decoder.
    cfg["decoder_dimension"] = m.decoder_dimension;
    cfg["decoder_num_heads"] = m.decoder_num_heads;
    cfg["decoder_intermediate_size"] = m.decoder_intermediate_size;
    cfg["decoder_layers"] = m.decoder_layers;
    cfg["max_source"] = m.max_length;
    cfg["max_target"] = m.max_target;
  } else if (seq2seq) {
    // The encoder is a ByteTransformer of transformer_layers layers of width D, the decoder
    // decoder_layers MAtt layers of the same width (docs/seq2seq.md).
    cfg = {{"encoder", m.encoder},
           {"model_dimension", m.bottleneck_size},
           {"num_heads", m.num_heads},
           {"intermediate_size", m.intermediate_size},
           {"encoder_layers", m.transformer_layers},
           {"decoder_layers", m.decoder_layers},
           {"max_source", m.max_length},
           {"max_target", m.max_target},
           {"gbst_max_block_width", m.gbst_max_block_width},
           {"gbst_conv_kernel_size", m.gbst_conv_kernel_size},
           {"gbst_downsample_rate", m.gbst_downsample_rate},
           {"attention_scale", m.attention_scale},
           {"layer_norm", m.layer_norm}};
  } else {
    cfg["pooling"] = m.pooling;
  }
  return cfg;
}

namespace {

struct DeclaredKey {
  const char* section;
  const char* name;
  const char* doc;
};

// Every declared config key (generated from src/train/config.cc; a test keeps it equal).
constexpr DeclaredKey kDeclaredKeys[] = {
#include "core/config_keys.inc"
};

// A float32 as the shortest decimal that reads back as it (0.6f: 0.6, not 0.6000000238).
double shortest(float f) {
  char buf[32];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(f));
    if (std::strtof(buf, nullptr) == f) break;
  }
  return std::strtod(buf, nullptr);
}

// The value the model file stores for a declared key, or null when it stores none.
nlohmann::ordered_json stored_value(const ModelInfo& m, const std::string& section,
                                    const std::string& name) {
  using J = nlohmann::ordered_json;
  const EncoderKindInfo* kind = find_encoder_kind(m.encoder);
  const bool seq2seq = m.is_seq2seq();
  // the encoder is configured by the seq2seq section (format v1/v2 store no model section then)
  const bool section_encoder = seq2seq && kind != nullptr && kind->seq2seq_section;
  if (section.empty()) return name == "task" ? J(seq2seq ? "seq2seq" : "classify") : J();
  if (section == "data") {
    if (name == "text_column") return m.text_column;
    if (name == "label_columns") return m.label_columns;
    return J();
  }
  if (section == "tokenizer") {
    if (seq2seq) return J();  // seq2seq.max_source; no lowercasing
    if (name == "max_length") return m.max_length;
    if (name == "lowercase_ascii") return m.lowercase_ascii;
    return J();
  }
  if (section == "model") {
    if (section_encoder || kind == nullptr) return J();
    if (name == "encoder") return m.encoder;
    if (name == "bottleneck_size") return m.bottleneck_size;
    // the kind's own keys, declared by its runtime unit (src/runtime/encoders/stored_keys.h)
    const rt::StoredModelKeys keys = rt::encoder_stored_keys(kind->kind);
    for (size_t i = 0; i < keys.count; ++i) {
      if (name == keys.keys[i].name)
        return std::visit([&m](auto field) { return J(m.*field); }, keys.keys[i].field);
    }
    if (name == "pooling" && !seq2seq) return m.pooling;
    return J();
  }
  if (section == "seq2seq" && seq2seq) {
    std::vector<std::pair<const char*, J>> keys = {
        {"encoder", m.encoder},
        {"dim", m.decoder_dimension},
        {"num_heads", m.decoder_num_heads},
        {"intermediate_size", m.decoder_intermediate_size},
        {"decoder_layers", m.decoder_layers},
        {"max_source", m.max_length},
        {"max_target", m.max_target},
        {"beam_size", m.beam_size},
        {"length_penalty", shortest(m.length_penalty)}};
    if (section_encoder) {
      // the built-in encoder: width dim, the section's layers, heads and GBST
      keys.insert(keys.end(), {{"encoder_layers", m.transformer_layers},
                               {"gbst_max_block_width", m.gbst_max_block_width},
                               {"gbst_conv_kernel_size", m.gbst_conv_kernel_size},
                               {"gbst_downsample_rate", m.gbst_downsample_rate}});
    }
    for (const auto& [k, v] : keys)
      if (name == k) return v;
  }
  return J();
}

}  // namespace

std::vector<StoredConfigKey> stored_config_keys(const ModelInfo& m) {
  std::vector<StoredConfigKey> out;
  for (const DeclaredKey& k : kDeclaredKeys) {
    nlohmann::ordered_json v = stored_value(m, k.section, k.name);
    if (!v.is_null()) out.push_back({k.section, k.name, k.doc, std::move(v)});
  }
  return out;
}

nlohmann::ordered_json stored_config_json(const ModelInfo& m) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const StoredConfigKey& k : stored_config_keys(m)) {
    if (k.section.empty()) {
      j[k.name] = k.value;
    } else {
      j[k.section][k.name] = k.value;
    }
  }
  return j;
}

nlohmann::ordered_json model_info_json(const ModelInfo& m) {
  char crc[16];
  std::snprintf(crc, sizeof crc, "0x%08x", m.checksum);
  nlohmann::ordered_json j = {{"path", m.path},
                              {"file_bytes", m.file_bytes},
                              {"format_version", m.format_version},
                              {"checksum", crc},
                              {"producer", m.producer},
                              {"architecture", m.architecture},
                              {"labels", m.labels},
                              {"multilabel", m.multilabel},
                              {"thresholds", m.thresholds},
                              {"max_length", m.max_length},
                              {"lowercase_ascii", m.lowercase_ascii},
                              {"text_column", m.text_column},
                              {"label_columns", m.label_columns},
                              {"config", model_config_json(m)},
                              {"stored_config", stored_config_json(m)},
                              {"parameter_count", m.parameter_count},
                              {"float_bytes", m.float_bytes},
                              {"trained_parameters", m.trained_parameters},
                              {"source_checkpoint", m.source_checkpoint},
                              {"training_step", m.training_step}};
  if (m.is_seq2seq()) {
    j["generation"] = {{"beam_size", m.beam_size}, {"length_penalty", m.length_penalty}};
  }
  return j;
}

}  // namespace bytelite
