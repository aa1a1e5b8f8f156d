// info: what a model file says about itself (runtime only; no libtorch involved).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "bytelite/encoder_kinds.h"
#include "bytelite/model.h"
#include "cli/commands.h"
#include "core/model_info_json.h"

namespace bytelite::cli {

namespace {
struct InfoArgs {
  std::string model;
  bool json = false;
};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}
}  // namespace

CLI::App* add_info_command(CLI::App& app) {
  auto a = std::make_shared<InfoArgs>();
  auto* cmd =
      app.add_subcommand("info", "Print the configuration, labels and size of a model file");
  cmd->add_option("model", a->model, "Model file (.blt)")->required();
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([a]() {
    auto model = Model::load(a->model);
    const ModelInfo& m = model->info();
    char crc[16];
    std::snprintf(crc, sizeof crc, "0x%08x", m.checksum);
    const bool seq2seq = m.is_seq2seq();
    if (a->json) {
      std::printf("%s\n", model_info_json(m)
                              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                              .c_str());
      return;
    }
    std::printf("file:          %s (%lld bytes, format version %u, crc32 %s)\n", m.path.c_str(),
                static_cast<long long>(m.file_bytes), m.format_version, crc);
    std::printf("producer:      %s\n", m.producer.c_str());
    std::printf("architecture:  %s\n", m.architecture.c_str());
    if (seq2seq) {
      std::printf("task:          seq2seq, byte to byte: %s encoder, MAtt decoder\n",
                  encoder_display(m.encoder));
      std::printf(
          "tokenizer:     bytes (id = byte + 3), source max_length %d%s; output at most "
          "%d ids (EOS included)\n",
          m.max_length, m.lowercase_ascii ? ", ASCII A-Z lowercased" : "", m.max_target);
      std::printf("data columns:  source '%s', target '%s'\n", m.text_column.c_str(),
                  join(m.label_columns).c_str());
      std::printf("generation:    beam_size %d, length_penalty %.3g (defaults stored at export)\n",
                  m.beam_size, static_cast<double>(m.length_penalty));
    } else {
      std::printf("labels:        %s (%s)\n", join(m.labels).c_str(),
                  m.multilabel ? "multi-label, sigmoid per label" : "single-label, softmax");
      std::string th;
      for (float t : m.thresholds) th += (th.empty() ? "" : ", ") + std::to_string(t);
      std::printf("thresholds:    %s\n", th.empty() ? "none (argmax / 0.5)" : th.c_str());
      std::printf("tokenizer:     bytes (id = byte + 3), max_length %d%s\n", m.max_length,
                  m.lowercase_ascii ? ", ASCII A-Z lowercased" : "");
      std::printf("data columns:  text '%s', labels '%s'\n", m.text_column.c_str(),
                  join(m.label_columns).c_str());
      if (m.projection_feature_size > 0) {
        std::printf(
            "projection:    ternary projection of hashed tokens (MurmurHash3 x86_32): %d values "
            "per token, at most %d tokens (%s%s%s%s)\n",
            m.projection_feature_size, m.projection_max_tokens,
            m.projection_split_on_space ? "words" : "characters",
            m.projection_lowercase ? ", ASCII lowercased" : "",
            m.projection_add_bos ? ", <BOS>" : "", m.projection_add_eos ? ", <EOS>" : "");
      }
    }
    // the declared config keys (src/train/config.cc) whose values the file stores
    std::printf(
        "config:        the keys of the training config the file stores "
        "(docs/config.md)\n");
    for (const StoredConfigKey& k : stored_config_keys(m)) {
      const std::string key = k.section.empty() ? k.name : k.section + "." + k.name;
      std::printf("  %-30s %-16s %s\n", key.c_str(),
                  k.value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str(),
                  k.doc.c_str());
    }
    std::printf("parameters:    %lld (int8 weights and embedding, int32 biases)\n",
                static_cast<long long>(m.parameter_count));
    std::printf("size:          %lld bytes; float32 %lld bytes; ratio %.3f\n",
                static_cast<long long>(m.file_bytes), static_cast<long long>(m.float_bytes),
                m.float_bytes > 0 ? static_cast<double>(m.file_bytes) / m.float_bytes : 0.0);
    std::printf("exported from: %s (step %lld, %lld float parameters)\n",
                m.source_checkpoint.empty() ? "-" : m.source_checkpoint.c_str(),
                static_cast<long long>(m.training_step),
                static_cast<long long>(m.trained_parameters));
  });
  return cmd;
}

}  // namespace bytelite::cli
