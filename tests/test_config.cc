// The config keys are declared once (src/train/config.cc); these tests check what is derived from
// that declaration: parsing, serialization, --set overrides, the key table of docs/config.md and
// the runtime's copy of the key list (src/core/config_keys.inc, what `bytelite info` prints).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "runtime/model_limits.h"
#include "train/config.h"

namespace bytelite {
namespace {

using nlohmann::json;

std::string source_path(const std::string& rel) {
  return std::string(BYTELITE_SOURCE_DIR) + "/" + rel;
}

std::string error_of(const json& j) {
  try {
    config_from_json(j, "cfg.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// A classifier config that sets every key of data, tokenizer, model, quantization, train and
// pretrain, nearly all to a value other than the default.
json full_classifier_config() {
  return json::parse(R"({
    "data": {"format": "csv", "text_column": "tweet", "label_columns": ["a", "b"],
             "skip_bad_rows": true},
    "tokenizer": {"max_length": 200, "lowercase_ascii": true},
    "model": {"encoder": "funnel", "embedding_size": 48, "bottleneck_size": 96,
              "gbst_max_block_width": 3, "gbst_conv_kernel_size": 7, "gbst_downsample_rate": 3,
              "qrnn_state_size": 40, "qrnn_kernel_width": 5, "qrnn_layers": 3,
              "qrnn_zoneout": 0.25, "transformer_layers": 3, "num_heads": 6,
              "intermediate_size": 192, "pool_windows": [1, 2, 2], "attention_scale": "none",
              "layer_norm": "scalar", "norm_position": "post", "projection_feature_size": 96,
              "projection_max_tokens": 40, "projection_split_on_space": false,
              "projection_lowercase": false, "projection_add_bos": true,
              "projection_add_eos": true, "pooling": "attention_max", "dropout": 0.3},
    "quantization": {"enabled": false, "ema_decay": 0.95, "warmup_steps": 17},
    "train": {"batch_size": 7, "epochs": 3, "max_steps": 1234, "learning_rate": 0.004,
              "weight_decay": 0.2, "adam_beta1": 0.8, "adam_beta2": 0.99, "adam_eps": 1e-6,
              "lr_warmup_steps": 11, "lr_schedule": "cosine_clamped", "min_lr_ratio": 0.3,
              "grad_clip": 2.5, "class_weights": "balanced", "class_weight_values": [1.5, 2.5],
              "eval_every_steps": 50, "bucket_by_length": false, "early_stopping_patience": 9,
              "freeze_encoder_steps": 13, "metric": "roc_auc", "seed": 4611686018427387904,
              "threads": 3, "distortion_probability": 0.25, "distill_scores": "teacher.tsv",
              "distill_alpha": 0.3, "distill_temperature": 2.0,
              "distill_unlabelled": "pool.txt.gz", "distill_unlabelled_batch": 16},
    "pretrain": {"seq_len": 128, "mask_rate": 0.2, "mean_span": 4.5, "batch_size": 5,
                 "steps": 99, "learning_rate": 0.001, "weight_decay": 0.05,
                 "lr_warmup_steps": 7, "lr_schedule": "linear", "min_lr_ratio": 0.2,
                 "grad_clip": 3.0, "freeze_encoder_steps": 6, "eval_every_steps": 33,
                 "heldout_sequences": 8,
                 "heldout": "held.txt", "shuffle_capacity": 77, "seed": 5, "threads": 4}
  })");
}

json full_seq2seq_config() {
  return json::parse(R"({
    "task": "seq2seq",
    "data": {"text_column": "word", "label_columns": "phones"},
    "model": {"encoder": "qrnn", "embedding_size": 32, "bottleneck_size": 32},
    "seq2seq": {"encoder": "qrnn", "dim": 48, "num_heads": 3, "intermediate_size": 96,
                "encoder_layers": 1, "decoder_layers": 3, "gbst_max_block_width": 2,
                "gbst_conv_kernel_size": 5, "gbst_downsample_rate": 2, "max_source": 40,
                "max_target": 50, "dropout": 0.1, "label_smoothing": 0.1, "beam_size": 6,
                "length_penalty": 1.5, "eval_sources": 20}
  })");
}

// The flattened key paths of a config JSON ("section.key", or "key" at the top level).
std::set<std::string> paths_of(const json& j) {
  std::set<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_object()) {
      for (auto k = it->begin(); k != it->end(); ++k) out.insert(it.key() + "." + k.key());
    } else {
      out.insert(it.key());
    }
  }
  return out;
}

TEST(ConfigKeys, EveryKeyParsesIntoItsMemberAndRoundTrips) {
  const json in = full_classifier_config();
  ExperimentConfig c = config_from_json(in, "full.json");
  // the struct members hold the file's values (spot checks of each section and value type)
  EXPECT_EQ(c.data.format, DataFormat::kCsv);
  EXPECT_EQ(c.data.label_columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.tokenizer.max_length, 200);
  EXPECT_TRUE(c.tokenizer.lowercase_ascii);
  EXPECT_EQ(c.model.encoder, "funnel");
  EXPECT_EQ(c.model.pool_windows, (std::vector<int>{1, 2, 2}));
  EXPECT_DOUBLE_EQ(c.model.qrnn_zoneout, 0.25);
  EXPECT_EQ(c.model.projection_feature_size, 96);
  EXPECT_EQ(c.model.projection_max_tokens, 40);
  EXPECT_FALSE(c.model.projection_split_on_space);
  EXPECT_FALSE(c.model.projection_lowercase);
  EXPECT_TRUE(c.model.projection_add_bos);
  EXPECT_TRUE(c.model.projection_add_eos);
  EXPECT_FALSE(c.quantization.enabled);
  EXPECT_EQ(c.quantization.warmup_steps, 17);
  EXPECT_EQ(c.train.max_steps, 1234);
  EXPECT_EQ(c.train.seed, 4611686018427387904UL);
  EXPECT_EQ(c.train.class_weight_values, (std::vector<double>{1.5, 2.5}));
  EXPECT_TRUE(c.has_pretrain);
  EXPECT_EQ(c.pretrain.heldout, "held.txt");
  EXPECT_EQ(c.pretrain.steps, 99);
  // serialization writes every key the file had, with the same values
  const json out = config_to_json(c);
  EXPECT_EQ(paths_of(out), paths_of(in));
  EXPECT_EQ(out, in);
  // parse -> serialize -> parse gives the same struct (compared key by key and on the members
  // that are not keys)
  ExperimentConfig again = config_from_json(out, "again.json");
  EXPECT_EQ(config_to_json(again), out);
  EXPECT_EQ(again.has_pretrain, c.has_pretrain);
  EXPECT_EQ(again.train.seed, c.train.seed);
  EXPECT_EQ(again.model.pool_windows, c.model.pool_windows);
}

TEST(ConfigKeys, Seq2SeqConfigRoundTripsWithItsEncoder) {
  const json in = full_seq2seq_config();
  ExperimentConfig c = config_from_json(in, "s2s.json");
  EXPECT_EQ(c.task, "seq2seq");
  EXPECT_EQ(c.seq2seq.num_heads, 3);
  EXPECT_EQ(c.seq2seq.intermediate_size, 96);
  EXPECT_EQ(c.seq2seq.gbst_conv_kernel_size, 5);
  EXPECT_EQ(c.data.label_columns, (std::vector<std::string>{"phones"}));  // a string is a list
  EXPECT_EQ(c.seq2seq.encoder_model.embedding_size, 32);                  // copied from "model"
  const json out = config_to_json(c);
  EXPECT_FALSE(out.contains("tokenizer"));  // seq2seq reads no tokenizer section
  EXPECT_EQ(out.at("seq2seq"), in.at("seq2seq"));
  ExperimentConfig again = config_from_json(out, "again.json");
  EXPECT_EQ(config_to_json(again), out);
  EXPECT_EQ(again.seq2seq.encoder_model.embedding_size, 32);
}

TEST(ConfigKeys, DefaultsComeFromTheStructAndEveryKeyIsDocumented) {
  const ExperimentConfig defaults;
  std::set<std::string> seen;
  for (const ConfigKeyDoc& d : config_key_docs()) {
    const std::string path = d.section.empty() ? d.name : d.section + "." + d.name;
    EXPECT_TRUE(seen.insert(path).second) << "declared twice: " << path;
    EXPECT_FALSE(d.doc.empty()) << path;
    EXPECT_FALSE(d.range.empty()) << path;
  }
  // a key declared for every member the two full configs set (and nothing else)
  std::set<std::string> full = paths_of(full_classifier_config());
  for (const auto& p : paths_of(full_seq2seq_config())) full.insert(p);
  EXPECT_EQ(seen, full);
  auto doc_of = [](const std::string& section, const std::string& name) {
    for (const ConfigKeyDoc& d : config_key_docs())
      if (d.section == section && d.name == name) return d;
    return ConfigKeyDoc{};
  };
  EXPECT_EQ(doc_of("train", "batch_size").default_value, std::to_string(defaults.train.batch_size));
  EXPECT_EQ(doc_of("model", "encoder").default_value, "\"" + defaults.model.encoder + "\"");
  EXPECT_EQ(doc_of("model", "embedding_size").range,
            "an integer in [1, " + std::to_string(limits::kMaxWidth) + "]");
}

TEST(ConfigKeys, RangesAreTheModelLoadersLimits) {
  // the loader (src/runtime/model.cc) checks files against the same constants
  json j = json::object();
  j["model"]["gbst_max_block_width"] = limits::kMaxGbstBlockWidth;
  EXPECT_EQ(error_of(j), "no error");
  j["model"]["gbst_max_block_width"] = limits::kMaxGbstBlockWidth + 1;
  EXPECT_EQ(error_of(j), "cfg.json: model.gbst_max_block_width: expected an integer in [1, " +
                             std::to_string(limits::kMaxGbstBlockWidth) + "], found integer " +
                             std::to_string(limits::kMaxGbstBlockWidth + 1));
}

TEST(ConfigKeys, SetOverridesAnyKeyAndIsValidatedLikeTheFile) {
  json j = full_classifier_config();
  apply_config_override(j, "train.epochs=5");
  apply_config_override(j, "model.dropout=0.05");
  apply_config_override(j, "model.pooling=attention");  // bare text is a string
  apply_config_override(j, "quantization.enabled=true");
  apply_config_override(j, "model.pool_windows=[1,1,2]");
  apply_config_override(j, "data.text_column=\"123\"");  // quoted: a string, not a number
  ExperimentConfig c = config_from_json(j, "cfg.json");
  EXPECT_EQ(c.train.epochs, 5);
  EXPECT_DOUBLE_EQ(c.model.dropout, 0.05);
  EXPECT_EQ(c.model.pooling, "attention");
  EXPECT_TRUE(c.quantization.enabled);
  EXPECT_EQ(c.model.pool_windows, (std::vector<int>{1, 1, 2}));
  EXPECT_EQ(c.data.text_column, "123");
  // a section the file lacks is created
  json empty = json::object();
  apply_config_override(empty, "tokenizer.max_length=64");
  EXPECT_EQ(config_from_json(empty, "e.json").tokenizer.max_length, 64);
  // a bad value is the parser's error; a bad key or a missing '=' names the closest key
  json bad = json::object();
  apply_config_override(bad, "train.epochs=zero");
  EXPECT_EQ(error_of(bad),
            "cfg.json: train.epochs: expected an integer in [1, 1048576], found string \"zero\"");
  for (const std::string s : {"train.epoch=3", "epochs=3", "train.epochs", "trian.epochs=3"}) {
    try {
      apply_config_override(bad, s);
      ADD_FAILURE() << "accepted " << s;
    } catch (const InvalidArgument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("found '" + s + "'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("closest key: train.epochs"), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
  EXPECT_THROW(apply_config_override(bad, "=3"), InvalidArgument);
}

TEST(ConfigKeys, SetValueErrorsNameTheFlagNotTheFile) {
  const std::string dir = testing::TempDir() + "/set_errors";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/cfg.json";
  std::ofstream(path) << full_classifier_config().dump();
  try {
    load_config(path, {"train.epochs=4", "model.embedding_size=abc"});
    ADD_FAILURE() << "accepted a bad --set value";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--set model.embedding_size=abc: expected an integer in [1, 4096], found string "
              "\"abc\"");
  }
  // bytes that are not UTF-8, control bytes and very long text are escaped / cut in the message
  json any = json::object();
  auto set_error = [&](const std::string& a) -> std::string {
    try {
      apply_config_override(any, a);
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(set_error("train.lr_schedule=\xff"),
            "--set train.lr_schedule=\\xff: expected a value in UTF-8, found bytes that are not");
  EXPECT_EQ(set_error("train.\xff"
                      "batch=4"),
            "--set: expected section.key=value with one of the " +
                std::to_string(config_key_docs().size()) +
                " config keys (docs/config.md), found 'train.\\xff"
                "batch=4'");
  const std::string long_key = set_error("train." + std::string(5000, 'a') + "=4");
  EXPECT_LT(long_key.size(), 300u) << long_key;
  try {
    load_config(path, {"train.lr_schedule=a\nb\x1b[31m"});
    ADD_FAILURE() << "accepted a bad schedule";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("--set train.lr_schedule=a\\nb\\x1b[31m: expected", 0), 0u) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  // a directory as the config file
  try {
    load_config(dir, {});
    ADD_FAILURE() << "accepted a directory";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              dir + ": expected a readable JSON config file, found a directory");
  }
  // the file's own bad value still names the file
  json j = full_classifier_config();
  j["train"]["epochs"] = 0;
  std::ofstream(path) << j.dump();
  try {
    load_config(path, {"model.embedding_size=8"});
    ADD_FAILURE() << "accepted epochs 0";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": train.epochs: expected", 0), 0u) << e.what();
  }
}

// Every file in configs/ (the shipped recipes, the main job's included) loads and round-trips.
TEST(ConfigKeys, ShippedConfigsParseAndRoundTrip) {
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::directory_iterator(source_path("configs")))
    if (e.path().extension() == ".json") paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());
  EXPECT_GE(paths.size(), 16u);
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    ExperimentConfig c = load_config(path);
    const json out = config_to_json(c);
    EXPECT_EQ(config_to_json(config_from_json(out, "again")), out);
  }
}

// docs/config.md holds the table config_keys_markdown() prints, between two marker lines.
// BYTELITE_UPDATE_DOCS=1 ctest -R ConfigKeys rewrites it.
TEST(ConfigKeys, DocsTableIsTheDeclaration) {
  const std::string path = source_path("docs/config.md");
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const std::string begin = "<!-- config-keys:begin (generated from src/train/config.cc) -->\n";
  const std::string end = "<!-- config-keys:end -->";
  const size_t b = doc.find(begin), e = doc.find(end);
  ASSERT_NE(b, std::string::npos) << "marker missing in " << path;
  ASSERT_NE(e, std::string::npos) << "marker missing in " << path;
  const std::string table = doc.substr(b + begin.size(), e - b - begin.size());
  const std::string want = config_keys_markdown();
  if (table != want && std::getenv("BYTELITE_UPDATE_DOCS") != nullptr) {
    std::ofstream(path) << doc.substr(0, b + begin.size()) << want << doc.substr(e);
    return;
  }
  EXPECT_EQ(table, want) << "docs/config.md is out of date: run BYTELITE_UPDATE_DOCS=1 ctest -R "
                            "ConfigKeys.DocsTable";
}

// src/core/config_keys.inc (the declared keys for the runtime half, which cannot link this
// library) is config_keys_runtime_table(). BYTELITE_UPDATE_DOCS=1 ctest -R ConfigKeys rewrites it.
TEST(ConfigKeys, RuntimeTableIsTheDeclaration) {
  const std::string path = source_path("src/core/config_keys.inc");
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string want = config_keys_runtime_table();
  if (ss.str() != want && std::getenv("BYTELITE_UPDATE_DOCS") != nullptr) {
    std::ofstream(path) << want;
    return;
  }
  EXPECT_EQ(ss.str(), want) << "src/core/config_keys.inc is out of date: run "
                               "BYTELITE_UPDATE_DOCS=1 ctest -R ConfigKeys.RuntimeTable";
  // one line per declared key
  size_t rows = 0;
  for (size_t p = want.find("\n{"); p != std::string::npos; p = want.find("\n{", p + 1)) ++rows;
  EXPECT_EQ(rows, config_key_docs().size());
}

}  // namespace
}  // namespace bytelite
