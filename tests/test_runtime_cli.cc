// End-to-end tests of the runtime commands: train writes the int8 model, export, info, eval
// --model (alone and against the checkpoint), predict --model on awkward input (C1-C3) with
// identical output for every thread count, bench --json, one-line errors for bad model files
// (C5), and the runtime-only example binary.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bytelite/classifier.h"
#include "cli/line_reader.h"
#include "cli/lines.h"
#include "core/model_eval.h"
#include "core/model_info_json.h"
#include "runtime/crc32.h"
#include "runtime_test_util.h"
#include "train/config.h"

namespace bytelite {
namespace {

using testutil::fresh_dir;
using testutil::read_all;
using testutil::source_path;
using testutil::write_file;

using testutil::CmdResult;
using testutil::lines_of;
using testutil::run;
using testutil::run_cmd;

ExperimentConfig cli_config() {
  ExperimentConfig c = testutil::small_config(16, 1, 128);
  c.quantization.warmup_steps = 10;
  c.train.batch_size = 16;
  c.train.max_steps = 60;
  c.train.eval_every_steps = 60;
  c.train.lr_warmup_steps = 5;
  return c;
}

// One small trained model (cached for the build, see runtime_test_util.h).
class RuntimeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testutil::trained_qat_model("cli_qrnn1", cli_config(), 600, 120));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string model() { return *dir_ + "/model.blt"; }
  static std::string* dir_;
};
std::string* RuntimeCli::dir_ = nullptr;

std::string awkward_input() {
  std::string input = std::string("you are great\n") + "\n" + "   \t \n" + "\xff\xfe\xc3\x28\n" +
                      std::string("nul\0byte", 8) + "\n" + "\xed\xa0\x80\n" + "crlf line\r\n" +
                      "last line without newline";
  std::string all_bytes;
  for (int b = 1; b < 256; ++b)
    if (b != '\n') all_bytes.push_back(static_cast<char>(b));
  return input + "\n" + all_bytes;
}

TEST(RuntimeCliTrain, TrainWritesTheInt8ModelAndInfoDescribesIt) {
  auto dir = fresh_dir("train");
  testutil::head_tsv(source_path("data/olid/train.tsv"), dir + "/train.tsv", 200);
  testutil::head_tsv(source_path("data/olid/valid.tsv"), dir + "/valid.tsv", 60);
  write_file(dir + "/tiny.json", R"({
    "tokenizer": {"max_length": 64, "lowercase_ascii": true},
    "model": {"embedding_size": 8, "bottleneck_size": 8, "qrnn_state_size": 8, "qrnn_layers": 1,
              "pooling": "attention_max"},
    "quantization": {"warmup_steps": 2},
    "train": {"batch_size": 16, "lr_warmup_steps": 2, "early_stopping_patience": 0}
  })");
  CmdResult r = run("train --config " + dir + "/tiny.json --train " + dir + "/train.tsv --valid " +
                    dir + "/valid.tsv --out " + dir + "/out --max-steps 6 --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("int8 model: " + dir + "/out/model.blt"), std::string::npos) << r.out;
  auto summary = nlohmann::json::parse(read_all(dir + "/out/summary.json"));
  EXPECT_GT(summary["model_bytes"].get<int64_t>(), 1000);
  EXPECT_EQ(summary["model"], dir + "/out/model.blt");
  CmdResult info = run("info " + dir + "/out/model.blt");
  ASSERT_EQ(info.code, 0) << info.out;
  for (const char* k : {"labels:        not-offensive, offensive", "max_length 64",
                        "parameters:", "exported from: "}) {
    EXPECT_NE(info.out.find(k), std::string::npos) << k << "\n" << info.out;
  }
  CmdResult j = run("info --json " + dir + "/out/model.blt");
  ASSERT_EQ(j.code, 0) << j.out;
  auto ji = nlohmann::json::parse(j.out);
  for (const char* k : {"format_version", "checksum", "labels", "thresholds", "max_length",
                        "config", "parameter_count", "float_bytes", "file_bytes"}) {
    EXPECT_TRUE(ji.contains(k)) << k;
  }
  EXPECT_EQ(ji["config"]["embedding_size"], 8);
  EXPECT_EQ(ji["config"]["pooling"], "attention_max");
  EXPECT_EQ(ji["lowercase_ascii"], true);
  EXPECT_EQ(ji["source_checkpoint"].get<std::string>().find("/out/best.ckpt") != std::string::npos,
            true);
  // Training without QAT: no int8 model, and a note saying why.
  CmdResult f = run("train --config " + dir + "/tiny.json --train " + dir + "/train.tsv --valid " +
                    dir + "/valid.tsv --out " + dir + "/float --max-steps 2 --qat off --quiet");
  ASSERT_EQ(f.code, 0) << f.out;
  EXPECT_NE(f.out.find("no int8 model: trained without QAT"), std::string::npos) << f.out;
}

// `bytelite info --json` (and the text form) on each golden model file of
// tests/data/models/v1 (tests/data/models/README.md): the values recorded in NAME.expected when
// the file was made.
TEST(RuntimeCliGolden, InfoJsonDescribesEachGoldenFile) {
  for (const char* name : {"byteqrnn", "bytetransformer", "bytefunnel", "seq2seq_transformer",
                           "seq2seq_qrnn", "seq2seq_funnel"}) {
    SCOPED_TRACE(name);
    const std::string base = source_path(std::string("tests/data/models/v1/") + name);
    std::map<std::string, std::string> want;  // "info KEY VALUE" lines of NAME.expected
    std::istringstream expected(read_all(base + ".expected"));
    for (std::string line; std::getline(expected, line);) {
      if (line.rfind("info ", 0) != 0) continue;
      const size_t sp = line.find(' ', 5);
      want[line.substr(5, sp - 5)] = sp == std::string::npos ? "" : line.substr(sp + 1);
    }
    ASSERT_EQ(want["format_version"], "1");
    CmdResult r = run("info --json " + base + ".blt");
    ASSERT_EQ(r.code, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["path"], base + ".blt");
    EXPECT_EQ(j["format_version"], 1);
    EXPECT_EQ(j["checksum"], "0x" + want["checksum"]);
    EXPECT_EQ(j["file_bytes"], std::stoll(want["file_bytes"]));
    EXPECT_EQ(j["file_bytes"], static_cast<int64_t>(read_all(base + ".blt").size()));
    EXPECT_EQ(j["producer"], want["producer"]);
    EXPECT_EQ(j["architecture"], want["architecture"]);
    EXPECT_EQ(j["config"]["encoder"], want["encoder"]);
    EXPECT_EQ(j["max_length"], std::stoll(want["max_length"]));
    EXPECT_EQ(j["parameter_count"], std::stoll(want["parameter_count"]));
    EXPECT_EQ(j["trained_parameters"], std::stoll(want["trained_parameters"]));
    EXPECT_EQ(j["training_step"], std::stoll(want["training_step"]));
    EXPECT_EQ(j["source_checkpoint"], want["source_checkpoint"]);
    std::string labels;
    for (const auto& l : j["labels"]) labels += (labels.empty() ? "" : " ") + l.get<std::string>();
    EXPECT_EQ(labels, want["labels"]);
    if (want["architecture"] == "byteseq2seq") {
      EXPECT_EQ(j["config"]["max_target"], std::stoll(want["max_target"]));
      EXPECT_EQ(j["generation"]["beam_size"], std::stoll(want["beam_size"]));
    } else {
      EXPECT_EQ(j["thresholds"].size(), 1u);
    }
    CmdResult text = run("info " + base + ".blt");
    ASSERT_EQ(text.code, 0) << text.out;
    EXPECT_NE(text.out.find("architecture:  " + want["architecture"]), std::string::npos)
        << text.out;
  }
}

// A crafted file (checksums recomputed) whose label name is not valid UTF-8: `info` prints the
// name as stored and `info --json` with U+FFFD in place of the bad byte (as `predict` does),
// instead of stopping with an internal JSON error.
TEST(RuntimeCliGolden, InfoReplacesInvalidUtf8InStoredStrings) {
  std::string s = read_all(source_path("tests/data/models/v1/bytefunnel.blt"));
  const size_t at = s.find("not-offensive");
  ASSERT_NE(at, std::string::npos);
  s[at] = static_cast<char>(0x93);  // a continuation byte cannot start a character
  auto put_u32 = [&](size_t off, uint32_t v) {
    for (int i = 0; i < 4; ++i) s[off + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  put_u32(24, rt::crc32(s.data() + 32, s.size() - 32));
  put_u32(28, rt::crc32(s.data(), 28));
  const std::string path = write_file(fresh_dir("info_utf8") + "/bad_label.blt", s);
  CmdResult text = run("info " + path);
  EXPECT_EQ(text.code, 0) << text.out;
  EXPECT_EQ(text.out.find("internal error"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\x93ot-offensive"), std::string::npos) << text.out;
  CmdResult json = run("info --json " + path);
  ASSERT_EQ(json.code, 0) << json.out;
  EXPECT_NE(json.out.find("\xEF\xBF\xBDot-offensive"), std::string::npos) << json.out;
  EXPECT_NO_THROW(nlohmann::json::parse(json.out));
}

// `bytelite info` prints the declared config keys (src/train/config.cc, through the generated
// src/core/config_keys.inc) that a model file stores, with the declaration's docs: on each golden
// model file (v1 and v2), every printed key is declared and its value is the one in the training
// config the file was made from (NAME.json); the kind's own keys are there, other kinds' are not.
TEST(RuntimeCliGolden, InfoPrintsTheDeclaredKeysWithTheTrainingConfigsValues) {
  std::map<std::string, ConfigKeyDoc> declared;
  for (const ConfigKeyDoc& d : config_key_docs())
    declared[d.section.empty() ? d.name : d.section + "." + d.name] = d;
  for (const char* version : {"v1", "v2"}) {
    for (const char* name : {"byteqrnn", "bytetransformer", "bytefunnel", "seq2seq_transformer",
                             "seq2seq_qrnn", "seq2seq_funnel", "pqrnn", "byteqrnn_proj"}) {
      if (version == std::string("v1") &&
          (name == std::string("pqrnn") || name == std::string("byteqrnn_proj")))
        continue;  // v2 only
      SCOPED_TRACE(std::string(version) + "/" + name);
      const std::string base =
          source_path(std::string("tests/data/models/") + version + "/" + name);
      const nlohmann::json want = config_to_json(load_config(base + ".json"));
      const auto model = Model::load(base + ".blt");
      const std::vector<StoredConfigKey> keys = stored_config_keys(model->info());
      std::set<std::string> printed;
      for (const StoredConfigKey& k : keys) {
        const std::string path = k.section.empty() ? k.name : k.section + "." + k.name;
        printed.insert(path);
        ASSERT_TRUE(declared.count(path)) << path << " is not a declared key";
        EXPECT_EQ(k.doc, declared[path].doc) << path;
        // the training config's value (a key the config file omits has its default)
        const nlohmann::json& sec =
            k.section.empty() ? want : want.value(k.section, nlohmann::json());
        const nlohmann::json v = sec.is_object() && sec.contains(k.name)
                                     ? sec.at(k.name)
                                     : nlohmann::json::parse(declared[path].default_value);
        const nlohmann::json got = nlohmann::json::parse(k.value.dump());
        if (v.is_number_float() || got.is_number_float()) {
          // stored as float32 (length_penalty)
          EXPECT_NEAR(got.get<double>(), v.get<double>(), 1e-6) << path;
        } else {
          EXPECT_EQ(got, v) << path;
        }
      }
      const bool seq2seq = std::string(name).rfind("seq2seq", 0) == 0;
      const bool qrnn = std::string(name).find("qrnn") != std::string::npos;
      const bool funnel = std::string(name).find("funnel") != std::string::npos;
      EXPECT_EQ(printed.count("task"), 1u);
      EXPECT_EQ(printed.count("data.text_column"), 1u);
      EXPECT_EQ(printed.count("tokenizer.max_length"), seq2seq ? 0u : 1u);
      EXPECT_EQ(printed.count("model.pooling"), seq2seq ? 0u : 1u);
      EXPECT_EQ(printed.count("seq2seq.max_target"), seq2seq ? 1u : 0u);
      const bool model_section = !seq2seq || qrnn || funnel;  // the transformer's is seq2seq.*
      EXPECT_EQ(printed.count("model.embedding_size"),
                model_section && name != std::string("pqrnn") ? 1u : 0u);
      EXPECT_EQ(printed.count("seq2seq.encoder_layers"), seq2seq && !model_section ? 1u : 0u);
      const bool pqrnn = name == std::string("pqrnn");
      const bool word_projection = name == std::string("byteqrnn_proj");
      const bool qrnn_layers = qrnn || name == std::string("byteqrnn");  // qrnn matches pqrnn
      EXPECT_EQ(printed.count("model.qrnn_layers"), qrnn_layers ? 1u : 0u);
      EXPECT_EQ(printed.count("model.transformer_layers"), model_section && !qrnn_layers ? 1u : 0u);
      // the input: projection settings for pQRNN, byte embedding + GBST otherwise (both for
      // ByteQRNN with word projection)
      EXPECT_EQ(printed.count("model.projection_feature_size"), pqrnn || word_projection ? 1u : 0u);
      EXPECT_EQ(printed.count("model.projection_add_eos"), pqrnn || word_projection ? 1u : 0u);
      EXPECT_EQ(printed.count("model.gbst_downsample_rate"), model_section && !pqrnn ? 1u : 0u);
      EXPECT_EQ(printed.count("model.pool_windows"), funnel ? 1u : 0u);
      EXPECT_EQ(printed.count("model.dropout"), 0u);  // training only
      EXPECT_EQ(printed.count("train.learning_rate"), 0u);
      EXPECT_GE(keys.size(), 10u);
      // the text form: one line per key, with its doc; --json: the same as an object
      CmdResult text = run("info " + base + ".blt");
      ASSERT_EQ(text.code, 0) << text.out;
      for (const StoredConfigKey& k : keys) {
        const std::string path = k.section.empty() ? k.name : k.section + "." + k.name;
        EXPECT_NE(text.out.find("\n  " + path + " "), std::string::npos) << path << text.out;
        EXPECT_NE(text.out.find(k.doc), std::string::npos) << k.doc;
      }
      CmdResult js = run("info --json " + base + ".blt");
      ASSERT_EQ(js.code, 0) << js.out;
      EXPECT_EQ(nlohmann::json::parse(js.out)["stored_config"],
                nlohmann::json::parse(stored_config_json(model->info()).dump()));
    }
  }
}

// The pQRNN golden file (projection input, format v2): `info` shows its projection settings
// (the values recorded in tests/data/models/v2/pqrnn.expected and its config pqrnn.json).
TEST(RuntimeCliGolden, InfoShowsTheProjectionSettingsOfThePqrnnFile) {
  const std::string base = source_path("tests/data/models/v2/pqrnn");
  CmdResult r = run("info --json " + base + ".blt");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "pqrnn");
  EXPECT_EQ(j["format_version"], 2);
  const auto cfg = nlohmann::json::parse(read_all(base + ".json"))["model"];
  for (const char* k :
       {"encoder", "projection_feature_size", "projection_max_tokens", "projection_split_on_space",
        "projection_lowercase", "projection_add_bos", "projection_add_eos", "bottleneck_size",
        "qrnn_state_size", "qrnn_kernel_width", "qrnn_layers", "pooling"}) {
    EXPECT_EQ(j["config"][k], cfg[k]) << k;
  }
  EXPECT_FALSE(j["config"].contains("embedding_size"));  // no byte embedding, no GBST
  EXPECT_FALSE(j["config"].contains("gbst_downsample_rate"));
  CmdResult text = run("info " + base + ".blt");
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("projection:    ternary projection of hashed tokens (MurmurHash3 "
                          "x86_32): 32 values per token, at most 12 tokens (words, ASCII "
                          "lowercased, <EOS>)"),
            std::string::npos)
      << text.out;
}

// The ByteQRNN-with-word-projection golden file (format v2): `info` shows the byte path's and
// the projection's settings (the values of its config byteqrnn_proj.json).
TEST(RuntimeCliGolden, InfoShowsTheSettingsOfTheByteQrnnProjFile) {
  const std::string base = source_path("tests/data/models/v2/byteqrnn_proj");
  CmdResult r = run("info --json " + base + ".blt");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "byteqrnn_proj");
  EXPECT_EQ(j["format_version"], 2);
  const auto cfg = nlohmann::json::parse(read_all(base + ".json"))["model"];
  for (const char* k :
       {"encoder", "embedding_size", "bottleneck_size", "gbst_max_block_width",
        "gbst_conv_kernel_size", "gbst_downsample_rate", "qrnn_state_size", "qrnn_kernel_width",
        "qrnn_layers", "projection_feature_size", "projection_max_tokens",
        "projection_split_on_space", "projection_lowercase", "projection_add_bos",
        "projection_add_eos", "pooling"}) {
    EXPECT_EQ(j["config"][k], cfg[k]) << k;
  }
  CmdResult text = run("info " + base + ".blt");
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("architecture:  byteqrnn_proj\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("projection:    ternary projection of hashed tokens (MurmurHash3 "
                          "x86_32): 32 values per token, at most 12 tokens (words, ASCII "
                          "lowercased, <EOS>)"),
            std::string::npos)
      << text.out;
}

TEST_F(RuntimeCli, ExportIsDeterministicAndLoadable) {
  auto dir = fresh_dir("export");
  CmdResult a = run("export --checkpoint " + *dir_ + " --out " + dir + "/a.blt");
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_NE(a.out.find("parameters"), std::string::npos) << a.out;
  CmdResult b = run("export --checkpoint " + *dir_ + "/best.ckpt --out " + dir + "/b.blt --quiet");
  ASSERT_EQ(b.code, 0) << b.out;
  EXPECT_TRUE(b.out.empty()) << b.out;
  EXPECT_EQ(read_all(dir + "/a.blt"), read_all(dir + "/b.blt"));
  EXPECT_EQ(read_all(dir + "/a.blt"), read_all(model()));
  CmdResult missing = run("export --checkpoint " + dir + "/nope --out " + dir + "/c.blt");
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(lines_of(missing.out).size(), 1u) << missing.out;
}

TEST_F(RuntimeCli, EvalModelReportsTheSameMetricsAndTheDifferenceToTheCheckpoint) {
  const std::string data = source_path("data/olid/valid.tsv");
  CmdResult m = run("eval --model " + model() + " --data " + data + " --json");
  ASSERT_EQ(m.code, 0) << m.out;
  CmdResult c = run("eval --checkpoint " + *dir_ + " --data " + data + " --json");
  ASSERT_EQ(c.code, 0) << c.out;
  auto jm = nlohmann::json::parse(lines_of(m.out).back());
  auto jc = nlohmann::json::parse(lines_of(c.out).back());
  for (auto& [k, v] : jc.items()) EXPECT_TRUE(jm.contains(k)) << k;
  EXPECT_EQ(jm["examples"], jc["examples"]);
  EXPECT_NEAR(jm["roc_auc"].get<double>(), jc["roc_auc"].get<double>(), 0.002);
  CmdResult both =
      run("eval --model " + model() + " --checkpoint " + *dir_ + " --data " + data + " --json");
  ASSERT_EQ(both.code, 0) << both.out;
  auto jb = nlohmann::json::parse(lines_of(both.out).back());
  ASSERT_TRUE(jb.contains("compare"));
  EXPECT_LE(jb["compare"]["max_abs_prob_diff"].get<double>(), 0.01);
  EXPECT_LE(std::fabs(jb["compare"]["roc_auc_diff"].get<double>()), 0.002);
  CmdResult text = run("eval --model " + model() + " --checkpoint " + *dir_ + " --data " + data);
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("int8 vs checkpoint: max |dp|"), std::string::npos) << text.out;
  CmdResult neither = run("eval --data " + data);
  EXPECT_EQ(neither.code, 1);
  EXPECT_NE(neither.out.find("expected --checkpoint DIR or --model FILE"), std::string::npos);
}

TEST_F(RuntimeCli, PredictModelGivesOneValidLinePerInputLineForAnyThreadCount) {
  auto dir = fresh_dir("predict");
  write_file(dir + "/in.txt", awkward_input());
  std::string first;
  for (int threads : {1, 2, 4}) {
    CmdResult r = run("predict --model " + model() + " --input " + dir + "/in.txt --threads " +
                      std::to_string(threads));
    ASSERT_EQ(r.code, 0) << r.out;
    auto out = lines_of(r.out);
    ASSERT_EQ(out.size(), 9u) << r.out;
    for (const auto& l : out) {
      auto j = nlohmann::json::parse(l);
      double sum = 0;
      for (auto& [k, v] : j["scores"].items()) {
        EXPECT_GE(v.get<double>(), 0.0);
        EXPECT_LE(v.get<double>(), 1.0);
        sum += v.get<double>();
      }
      EXPECT_NEAR(sum, 1.0, 1e-5) << l;
      ASSERT_EQ(j["labels"].size(), 1u);
    }
    if (threads == 1) first = r.out;
    EXPECT_EQ(r.out, first) << "output differs with " << threads << " threads";
  }
  // stdin and --output work alike.
  CmdResult s = run_cmd("cat " + dir + "/in.txt | " + std::string(BYTELITE_BINARY_DIR) +
                        "/bytelite predict --model " + model() + " --output " + dir + "/o.jsonl");
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_EQ(read_all(dir + "/o.jsonl"), first);
  // --top-k 1: only the most probable label's score; --threshold 0: always the second label.
  CmdResult k = run("predict --model " + model() + " --input " + dir + "/in.txt --top-k 1");
  ASSERT_EQ(k.code, 0) << k.out;
  for (const auto& l : lines_of(k.out)) {
    auto j = nlohmann::json::parse(l);
    EXPECT_EQ(j["scores"].size(), 1u) << l;
  }
  CmdResult t = run("predict --model " + model() + " --input " + dir + "/in.txt --threshold 0");
  ASSERT_EQ(t.code, 0) << t.out;
  for (const auto& l : lines_of(t.out)) {
    EXPECT_EQ(nlohmann::json::parse(l)["labels"], nlohmann::json({"offensive"})) << l;
  }
  // --checkpoint still works, with the same options.
  CmdResult c = run("predict --checkpoint " + *dir_ + " --input " + dir + "/in.txt --top-k 2");
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_EQ(lines_of(c.out).size(), 9u);
  CmdResult both = run("predict --model " + model() + " --checkpoint " + *dir_);
  EXPECT_EQ(both.code, 1);
  EXPECT_NE(both.out.find("expected exactly one of --checkpoint DIR and --model FILE"),
            std::string::npos);
}

TEST_F(RuntimeCli, BadModelFilesGiveOneLineErrors) {
  auto dir = fresh_dir("bad");
  std::string good = read_all(model());
  std::string flipped = good;
  flipped[good.size() / 2] = static_cast<char>(flipped[good.size() / 2] ^ 0x10);
  write_file(dir + "/flipped.blt", flipped);
  write_file(dir + "/truncated.blt", good.substr(0, good.size() - 10));
  write_file(dir + "/empty.blt", "");
  write_file(dir + "/in.txt", "hello\n");
  struct Case {
    std::string file, needle;
  };
  for (const Case& c : {Case{"flipped.blt", "payload checksum: expected crc32"},
                        Case{"truncated.blt", "the file is truncated"},
                        Case{"empty.blt", "found an empty file (0 bytes)"},
                        Case{"nope.blt", "cannot open the model file"}}) {
    for (const std::string& cmd :
         {"predict --model " + dir + "/" + c.file + " --input " + dir + "/in.txt",
          "info " + dir + "/" + c.file}) {
      CmdResult r = run(cmd);
      EXPECT_EQ(r.code, 1) << cmd << "\n" << r.out;
      EXPECT_EQ(lines_of(r.out).size(), 1u) << r.out;
      EXPECT_NE(r.out.find(c.needle), std::string::npos) << r.out;
      EXPECT_EQ(r.out.rfind("bytelite: error: " + dir + "/" + c.file + ": ", 0), 0u) << r.out;
    }
  }
}

TEST_F(RuntimeCli, PredictOnASeq2SeqModelPointsToGenerate) {
  const std::string m = source_path("tests/data/models/v2/seq2seq_qrnn.blt");
  CmdResult r = run("predict --model " + m + " --input " + source_path("data/olid/test.tsv"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(lines_of(r.out).size(), 1u) << r.out;
  EXPECT_EQ(r.out,
            "bytelite: error: predict: expected a classifier model, found a seq2seq model in " + m +
                " (architecture byteseq2seq; `bytelite generate --model " + m + "` runs it)\n");
}

TEST_F(RuntimeCli, BenchJsonHasEveryKey) {
  CmdResult r = run("bench --model " + model() + " --data " + source_path("data/olid/test.tsv") +
                    " --max-examples 40 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(lines_of(r.out).back());
  for (const char* k : {"examples_per_s", "p50_ms", "p99_ms", "float_examples_per_s", "speedup",
                        "model_bytes", "float_bytes", "op_time_share"}) {
    ASSERT_TRUE(j.contains(k)) << k << "\n" << r.out;
  }
  EXPECT_EQ(j["examples"], 40);
  EXPECT_GT(j["examples_per_s"].get<double>(), 0);
  EXPECT_GT(j["float_examples_per_s"].get<double>(), 0);
  EXPECT_LT(j["model_bytes"].get<int64_t>(), j["float_bytes"].get<int64_t>());
  // Without a checkpoint to compare with: a clear error, or --no-float.
  auto dir = fresh_dir("bench");
  std::system(("cp " + *dir_ + "/best.ckpt " + dir + "/x.ckpt").c_str());
  ASSERT_EQ(run("export --checkpoint " + dir + "/x.ckpt --out " + dir + "/m.blt").code, 0);
  std::remove((dir + "/x.ckpt").c_str());
  CmdResult e = run("bench --model " + dir + "/m.blt --data " + source_path("data/olid/test.tsv") +
                    " --max-examples 5");
  CmdResult nf = run("bench --model " + dir + "/m.blt --data " + source_path("data/olid/test.tsv") +
                     " --max-examples 5 --no-float --json");
  EXPECT_EQ(e.code, 1) << e.out;
  EXPECT_NE(e.out.find("--checkpoint"), std::string::npos) << e.out;
  ASSERT_EQ(nf.code, 0) << nf.out;
}

TEST_F(RuntimeCli, ExampleLinksOnlyTheRuntimeAndClassifiesStdin) {
  const std::string exe = std::string(BYTELITE_BINARY_DIR) + "/classify";
  CmdResult r = run_cmd("printf 'you are great\\n\\nidiot\\n' | " + exe + " " + model() + " 2");
  ASSERT_EQ(r.code, 0) << r.out;
  auto out = lines_of(r.out);
  ASSERT_EQ(out.size(), 3u) << r.out;
  for (const auto& l : out) {
    EXPECT_NE(l.find("not-offensive="), std::string::npos) << l;
    EXPECT_NE(l.find(" offensive="), std::string::npos) << l;
  }
  CmdResult bad = run_cmd(exe + " /nonexistent.blt < /dev/null");
  EXPECT_EQ(bad.code, 1);
  CmdResult ldd = run_cmd("ldd " + exe);
  EXPECT_EQ(ldd.out.find("torch"), std::string::npos) << ldd.out;
  EXPECT_NE(ldd.out.find("libbytelite.so"), std::string::npos) << ldd.out;
}

// predict --model streams its input through a pipeline (jobs of 256 lines, batches of
// --batch-size lines, --threads workers, output in input order): an input of many jobs gives the
// same bytes for every thread count and batch size, and every line's scores are the library's
// (Classifier::classify, one text at a time) probabilities exactly.
TEST_F(RuntimeCli, PredictModelStreamsManyChunksLikeTheLibrary) {
  auto dir = fresh_dir("predict_stream");
  std::vector<std::string> texts;
  for (const auto& ex : read_dataset(source_path("data/olid/test.tsv"), DataSpec{}).examples)
    texts.push_back(ex.text);
  std::string input;
  std::vector<std::string> lines;
  for (int i = 0; lines.size() < 9000; ++i) {
    lines.push_back(i % 97 == 0 ? std::string() : texts[i % texts.size()]);
    input += lines.back() + (i % 13 == 0 ? "\r\n" : "\n");
  }
  write_file(dir + "/in.txt", input);
  const Classifier clf = Classifier::load(model());
  CmdResult one = run("predict --model " + model() + " --input " + dir + "/in.txt --threads 1");
  ASSERT_EQ(one.code, 0) << one.out;
  CmdResult three = run("predict --model " + model() + " --input " + dir + "/in.txt --threads 3");
  ASSERT_EQ(three.code, 0);
  EXPECT_TRUE(one.out == three.out) << "output differs with 3 threads";
  for (const char* flags : {"--threads 1 --batch-size 1", "--threads 2 --batch-size 7",
                            "--threads 4 --batch-size 300"}) {
    CmdResult r = run("predict --model " + model() + " --input " + dir + "/in.txt " + flags);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(one.out == r.out) << "output differs with " << flags;
  }
  const auto out = lines_of(one.out);
  ASSERT_EQ(out.size(), lines.size());
  const auto& names = clf.info().labels;
  for (size_t i = 0; i < lines.size(); i += 7) {
    const Prediction p = clf.classify(lines[i]);
    auto j = nlohmann::json::parse(out[i]);
    for (size_t c = 0; c < names.size(); ++c)
      ASSERT_EQ(j["scores"][names[c]].get<float>(), p.probabilities[c]) << "line " << i;
    ASSERT_EQ(j["labels"], nlohmann::json({names[p.labels[0]]})) << "line " << i;
  }
}

// The streaming reader frames lines exactly as split_lines does, across its 64 KiB blocks.
TEST(RuntimeCliLines, LineReaderMatchesSplitLines) {
  auto dir = fresh_dir("line_reader");
  std::mt19937 rng(7);
  for (int trial = 0; trial < 6; ++trial) {
    std::string input;
    const size_t size = trial == 0 ? 0 : (trial < 3 ? 50 : 200000 + trial * 977);
    const char alphabet[] = {'a', 'b', '\n', '\r', '\0', ' ', '\xff'};
    while (input.size() < size) input.push_back(alphabet[rng() % sizeof alphabet]);
    if (trial == 4) input += std::string(70000, 'x');  // a line longer than a block
    if (trial == 5) input += "\n";
    write_file(dir + "/in.txt", input);
    cli::LineReader reader(dir + "/in.txt");
    std::vector<std::string> got;
    cli::LineBlock chunk;  // reused, as predict does
    while (reader.next(chunk, 1000)) {
      ASSERT_LE(chunk.lines.size(), 1000u);
      got.insert(got.end(), chunk.lines.begin(), chunk.lines.end());
    }
    EXPECT_TRUE(chunk.lines.empty());
    EXPECT_TRUE(got == cli::split_lines(input)) << "trial " << trial;
  }
  EXPECT_THROW(cli::LineReader reader(dir + "/nope.txt"), InputError);
  EXPECT_THROW(cli::LineReader reader(dir + "/"), InputError);
}

// The library evaluation (core/model_eval.h) is what `eval --model` prints.
TEST_F(RuntimeCli, EvaluateModelIsTheEvalCommandsReport) {
  const std::string data = source_path("data/olid/valid.tsv");
  const Classifier clf = Classifier::load(model());
  const ModelEvalResult r = evaluate_model_file(clf, data, 2);
  CmdResult m = run("eval --model " + model() + " --data " + data + " --json");
  ASSERT_EQ(m.code, 0) << m.out;
  EXPECT_EQ(nlohmann::json::parse(lines_of(m.out).back()), nlohmann::json::parse(r.to_json()));
  const Dataset d = read_dataset(data, DataSpec{}, clf.info().labels);
  ASSERT_EQ(r.report.examples, static_cast<int64_t>(d.examples.size()));
  ASSERT_EQ(r.probabilities.size(), d.examples.size() * 2);
  for (size_t i = 0; i < d.examples.size(); i += 11) {
    const Prediction p = clf.classify(d.examples[i].text);
    EXPECT_EQ(r.probabilities[2 * i], p.probabilities[0]);
    EXPECT_EQ(r.probabilities[2 * i + 1], p.probabilities[1]);
  }
  EXPECT_EQ(r.isa, Classifier::isa_name(clf.isa()));
  CmdResult text = run("eval --model " + model() + " --data " + data);
  ASSERT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("int8 model " + model() + " (kernels: "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("macro_f1"), std::string::npos) << text.out;
  EXPECT_THROW(evaluate_model(clf, d, 0), ConfigError);
}

// `bytelite` is runtime-only and hands libtorch commands to bytelite-train beside it; without
// it (a runtime-only build), those commands fail with one line, the runtime ones still work.
TEST_F(RuntimeCli, RuntimeExecutableHandsOffOrSaysWhatIsMissing) {
  const std::string bin = std::string(BYTELITE_BINARY_DIR);
  CmdResult help = run("--help");
  ASSERT_EQ(help.code, 0) << help.out;
  for (const char* sub :
       {"train", "eval", "predict", "export", "info", "bench", "pretrain", "generate"}) {
    EXPECT_NE(help.out.find(std::string("\n  ") + sub + " "), std::string::npos) << sub << help.out;
  }
  CmdResult ldd = run_cmd("ldd " + bin + "/bytelite");
  EXPECT_EQ(ldd.out.find("torch"), std::string::npos) << ldd.out;
  CmdResult ldd_train = run_cmd("ldd " + bin + "/bytelite-train");
  EXPECT_NE(ldd_train.out.find("torch"), std::string::npos) << ldd_train.out;
  // train --help through the runtime executable is bytelite-train's full help.
  CmdResult th = run("train --help");
  ASSERT_EQ(th.code, 0) << th.out;
  EXPECT_NE(th.out.find("--config"), std::string::npos) << th.out;

  auto dir = fresh_dir("runtime_only");
  ASSERT_EQ(std::system(("cp " + bin + "/bytelite " + dir + "/bytelite").c_str()), 0);
  write_file(dir + "/in.txt", "hello\n");
  const std::string exe = dir + "/bytelite ";
  for (const std::string& cmd :
       {"predict --checkpoint " + *dir_ + " --input " + dir + "/in.txt",
        "eval --checkpoint " + *dir_ + " --data " + source_path("data/olid/valid.tsv"),
        std::string("train --config x.json"),
        "export --checkpoint " + *dir_ + " --out " + dir + "/m.blt",
        "bench --model " + model() + " --data " + source_path("data/olid/test.tsv")}) {
    CmdResult r = run_cmd(exe + cmd);
    EXPECT_EQ(r.code, 1) << cmd << "\n" << r.out;
    EXPECT_EQ(lines_of(r.out).size(), 1u) << r.out;
    EXPECT_NE(r.out.find("needs libtorch: expected the training executable " + dir +
                         "/bytelite-train, found none"),
              std::string::npos)
        << r.out;
  }
  CmdResult p = run_cmd(exe + "predict --model " + model() + " --input " + dir + "/in.txt");
  ASSERT_EQ(p.code, 0) << p.out;
  EXPECT_EQ(lines_of(p.out).size(), 1u);
  CmdResult b = run_cmd(exe + "bench --no-float --json --max-examples 5 --model " + model() +
                        " --data " + source_path("data/olid/test.tsv"));
  ASSERT_EQ(b.code, 0) << b.out;
  EXPECT_EQ(nlohmann::json::parse(lines_of(b.out).back())["examples"], 5);
}

}  // namespace
}  // namespace bytelite
