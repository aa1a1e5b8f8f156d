// End-to-end tests of the bytelite command line on small real data: train, eval --json,
// predict on awkward input (robustness cases C1-C3), and one-line errors for user mistakes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "train_test_util.h"

namespace bytelite {
namespace {

using testutil::fresh_dir;
using testutil::head_tsv;
using testutil::read_all;
using testutil::source_path;
using testutil::write_file;

using testutil::CmdResult;
using testutil::lines_of;
using testutil::run;

const char* kTinyConfig = R"({
  "tokenizer": {"max_length": 128},
  "model": {"embedding_size": 16, "bottleneck_size": 16, "qrnn_state_size": 16, "qrnn_layers": 1},
  "quantization": {"warmup_steps": 10},
  "train": {"batch_size": 16, "lr_warmup_steps": 5, "early_stopping_patience": 0}
})";

// One trained model shared by the tests of this suite.
class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::TempDir() + "bytelite_cli_suite_" + std::to_string(::getpid()));
    std::system(("rm -rf " + *dir_ + " && mkdir -p " + *dir_).c_str());
    head_tsv(source_path("data/olid/train.tsv"), *dir_ + "/train.tsv", 300);
    head_tsv(source_path("data/olid/valid.tsv"), *dir_ + "/valid.tsv", 120);
    write_file(*dir_ + "/tiny.json", kTinyConfig);
    train_ = new CmdResult(run("train --config " + *dir_ + "/tiny.json --train " + *dir_ +
                               "/train.tsv --valid " + *dir_ + "/valid.tsv --out " + *dir_ +
                               "/model --max-steps 20 --quiet"));
  }
  static void TearDownTestSuite() {
    delete train_;
    delete dir_;
  }
  static std::string* dir_;
  static CmdResult* train_;
};
std::string* CliTest::dir_ = nullptr;
CmdResult* CliTest::train_ = nullptr;

TEST_F(CliTest, TrainWritesCheckpointsAndSummary) {
  ASSERT_EQ(train_->code, 0) << train_->out;
  EXPECT_NE(train_->out.find("best checkpoint:"), std::string::npos);
  auto summary = nlohmann::json::parse(read_all(*dir_ + "/model/summary.json"));
  EXPECT_EQ(summary["steps"], 20);
  EXPECT_GT(summary["parameters"].get<int>(), 1000);
  EXPECT_FALSE(read_all(*dir_ + "/model/last.ckpt").empty());
  auto cfg = nlohmann::json::parse(read_all(*dir_ + "/model/config.json"));
  EXPECT_EQ(cfg["labels"], nlohmann::json({"not-offensive", "offensive"}));
}

// The trainer's messages name the encoder that is trained (they said ByteQRNN for all three
// byte encoders).
TEST(CliTrain, MessagesNameTheEncoder) {
  const std::string dir = fresh_dir("cli_encoder_name");
  head_tsv(source_path("data/olid/train.tsv"), dir + "/train.tsv", 40);
  head_tsv(source_path("data/olid/valid.tsv"), dir + "/valid.tsv", 20);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"qrnn", "ByteQRNN"},
      {"transformer", "ByteTransformer"},
      {"funnel", "ByteFunnelTransformer"},
      {"pqrnn", "pQRNN"},
      {"qrnn_proj", "ByteQRNN+projection"}};
  for (const auto& [encoder, name] : cases) {
    SCOPED_TRACE(encoder);
    nlohmann::json cfg = nlohmann::json::parse(kTinyConfig);
    cfg["model"]["encoder"] = encoder;
    if (encoder == "transformer" || encoder == "funnel") {
      cfg["model"].erase("qrnn_state_size");
      cfg["model"].erase("qrnn_layers");
      cfg["model"]["transformer_layers"] = 2;
      cfg["model"]["num_heads"] = 2;
      cfg["model"]["intermediate_size"] = 16;
    }
    if (encoder == "funnel") cfg["model"]["pool_windows"] = {1, 2};
    write_file(dir + "/" + encoder + ".json", cfg.dump());
    CmdResult r = run("train --config " + dir + "/" + encoder + ".json --train " + dir +
                      "/train.tsv --valid " + dir + "/valid.tsv --out " + dir + "/" + encoder +
                      " --max-steps 2 --qat off --threads 1");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("model: " + name + ", "), std::string::npos) << r.out;
    if (name.find("ByteQRNN") == std::string::npos) {
      EXPECT_EQ(r.out.find("ByteQRNN"), std::string::npos) << r.out;
    }
  }
}

TEST_F(CliTest, EvalJsonHasEveryMetricAsFraction) {
  ASSERT_EQ(train_->code, 0) << train_->out;
  CmdResult r = run("eval --checkpoint " + *dir_ + "/model --data " + *dir_ + "/valid.tsv --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(lines_of(r.out).back());
  EXPECT_EQ(j["examples"], 120);
  for (const char* k : {"roc_auc", "pr_auc", "accuracy", "macro_f1", "macro_f1_at_0.5"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_GE(j[k].get<double>(), 0.0) << k;
    EXPECT_LE(j[k].get<double>(), 1.0) << k;
  }
  ASSERT_EQ(j["per_label"].size(), 2u);
  EXPECT_EQ(j["per_label"][1]["name"], "offensive");
}

TEST_F(CliTest, PredictGivesOneValidLinePerInputLineForAnyBytes) {
  ASSERT_EQ(train_->code, 0) << train_->out;
  std::string input = std::string("you are great\n") + "\n" + "   \t \n" + "\xff\xfe\xc3\x28\n" +
                      std::string("nul\0byte", 8) + "\n" + "\xed\xa0\x80\n" + "crlf line\r\n" +
                      "last line without newline";
  std::string all_bytes;
  for (int b = 1; b < 256; ++b)
    if (b != '\n') all_bytes.push_back(static_cast<char>(b));
  input += "\n" + all_bytes;
  write_file(*dir_ + "/in.txt", input);
  CmdResult r = run("predict --checkpoint " + *dir_ + "/model --input " + *dir_ +
                    "/in.txt --output " + *dir_ + "/out.jsonl");
  ASSERT_EQ(r.code, 0) << r.out;
  auto out = lines_of(read_all(*dir_ + "/out.jsonl"));
  ASSERT_EQ(out.size(), 9u);
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
  // Deterministic: the same input gives byte-identical output.
  CmdResult again = run("predict --checkpoint " + *dir_ + "/model --input " + *dir_ + "/in.txt");
  ASSERT_EQ(again.code, 0);
  EXPECT_EQ(again.out, read_all(*dir_ + "/out.jsonl"));
}

TEST(CliErrors, HelpListsEveryFlagWithItsDefault) {
  CmdResult r = run("train --help");
  EXPECT_EQ(r.code, 0);
  for (const char* f : {"--config", "--train", "--valid", "--out", "--resume", "--max-steps",
                        "--epochs", "--threads", "--seed", "--qat", "--skip-bad-rows"}) {
    EXPECT_NE(r.out.find(f), std::string::npos) << f;
  }
  EXPECT_NE(r.out.find("--max-steps INT:NONNEGATIVE=0"), std::string::npos) << r.out;
  for (const char* sub : {"eval", "predict"}) {
    CmdResult h = run(std::string(sub) + " --help");
    EXPECT_EQ(h.code, 0);
    EXPECT_NE(h.out.find("--threads INT:POSITIVE=2"), std::string::npos) << h.out;
  }
}

TEST(CliErrors, UserMistakesGiveOneLineErrorAndNonZeroExit) {
  auto dir = fresh_dir("err");
  CmdResult missing = run("eval --checkpoint " + dir + "/nope --data x.tsv");
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(lines_of(missing.out).size(), 1u) << missing.out;
  EXPECT_NE(missing.out.find("not found"), std::string::npos) << missing.out;

  write_file(dir + "/bad.tsv", "text\tlabel\nfine\t0\nbroken row without tab\n");
  write_file(dir + "/cfg.json", "{}");
  CmdResult bad = run("train --config " + dir + "/cfg.json --train " + dir + "/bad.tsv --valid " +
                      dir + "/bad.tsv --out " + dir + "/o --quiet");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("bad.tsv:3"), std::string::npos) << bad.out;

  write_file(dir + "/typo.json", R"({"train": {"epoch": 3}})");
  CmdResult typo = run("train --config " + dir + "/typo.json --train a --valid b --out c");
  EXPECT_EQ(typo.code, 1);
  EXPECT_NE(typo.out.find("unknown key \"train.epoch\""), std::string::npos) << typo.out;

  // bad flag values: exit 1 and one line, as every other user error
  for (const char* args : {"train --config x --train a --valid b --out c --qat maybe",
                           "train --config x --train a --valid b --out c --threads 0",
                           "predict --model m.blt --bogus", "eval --threads abc"}) {
    CmdResult flag = run(std::string(args));
    EXPECT_EQ(flag.code, 1) << args << "\n" << flag.out;
    EXPECT_EQ(flag.out.rfind("bytelite: error: ", 0), 0u) << flag.out;
    EXPECT_EQ(std::count(flag.out.begin(), flag.out.end(), '\n'), 1) << flag.out;
  }
}

}  // namespace
}  // namespace bytelite
