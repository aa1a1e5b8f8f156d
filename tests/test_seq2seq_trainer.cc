// Seq2seq training from a config (train/seq2seq_trainer.h): config section, learning-rate
// schedule, a short run end to end (model file, log, validation scores), export from the saved
// module, reproducibility, and user errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "bytelite/seq2seq.h"
#include "core/seq2seq_metrics.h"
#include "train/config.h"
#include "train/seq2seq.h"
#include "train/seq2seq_trainer.h"
#include "train/trainer.h"
#include "train_test_util.h"

namespace bytelite {
namespace {

using testutil::fresh_dir;
using testutil::head_tsv;
using testutil::read_all;
using testutil::source_path;

nlohmann::json tiny_config_json() {
  return nlohmann::json::parse(R"({
    "task": "seq2seq",
    "data": {"text_column": "word", "label_columns": ["pronunciation"]},
    "seq2seq": {"dim": 32, "num_heads": 2, "intermediate_size": 64, "encoder_layers": 1,
                "decoder_layers": 1, "max_source": 24, "max_target": 48, "dropout": 0.0,
                "label_smoothing": 0.1, "beam_size": 2, "length_penalty": 0.6,
                "eval_sources": 20},
    "quantization": {"enabled": true, "warmup_steps": 20},
    "train": {"batch_size": 16, "max_steps": 60, "learning_rate": 0.003,
              "lr_warmup_steps": 10, "lr_schedule": "cosine_clamped", "min_lr_ratio": 0.02,
              "eval_every_steps": 30, "seed": 3, "threads": 1}
  })");
}

TEST(Seq2SeqConfig, SectionParsedAndWrittenBack) {
  const ExperimentConfig c = config_from_json(tiny_config_json(), "t.json");
  EXPECT_EQ(c.task, "seq2seq");
  EXPECT_EQ(c.seq2seq.dim, 32);
  EXPECT_EQ(c.seq2seq.num_heads, 2);
  EXPECT_EQ(c.seq2seq.max_target, 48);
  EXPECT_EQ(c.seq2seq.beam_size, 2);
  EXPECT_DOUBLE_EQ(c.seq2seq.label_smoothing, 0.1);
  const ExperimentConfig back = config_from_json(config_to_json(c), "back.json");
  EXPECT_EQ(config_to_json(back), config_to_json(c));
}

TEST(Seq2SeqConfig, UserErrorsNameTheKey) {
  auto expect_error = [](nlohmann::json j, const std::string& needle) {
    try {
      config_from_json(j, "t.json");
      ADD_FAILURE() << "no error for " << j.dump();
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto j = tiny_config_json();
  j.erase("seq2seq");
  expect_error(j, "t.json: seq2seq: expected a \"seq2seq\" section");
  j = tiny_config_json();
  j["seq2seq"]["num_heads"] = 3;
  expect_error(j, "seq2seq.num_heads: expected a divisor of dim (32)");
  j = tiny_config_json();
  j["seq2seq"]["beam"] = 3;
  expect_error(j, "beam");
  j = tiny_config_json();
  j["task"] = "translate";
  expect_error(j, "task: expected one of \"classify\" \"seq2seq\"");
  j = tiny_config_json();
  j["seq2seq"]["max_target"] = 1;
  expect_error(j, "seq2seq.max_target");
}

TEST(Seq2SeqConfig, CosineClampedSchedule) {
  TrainConfig t;
  t.learning_rate = 2e-3;
  t.lr_warmup_steps = 200;
  t.lr_schedule = "cosine_clamped";
  t.min_lr_ratio = 0.02;
  // warm-up (s + 1) / 200, clamped below at 0.02: step 0 -> 0.005 -> 0.02 * peak
  EXPECT_DOUBLE_EQ(learning_rate_at(t, 0, 1000), 2e-3 * 0.02);
  EXPECT_DOUBLE_EQ(learning_rate_at(t, 99, 1000), 2e-3 * (100.0 / 200.0));
  EXPECT_DOUBLE_EQ(learning_rate_at(t, 200, 1000), 2e-3);  // cos(0) = 1
  // half-way through the decay: 0.5 (1 + cos(pi / 2)) = 0.5
  EXPECT_NEAR(learning_rate_at(t, 600, 1000), 1e-3, 1e-15);
  EXPECT_DOUBLE_EQ(learning_rate_at(t, 999, 1000), 2e-3 * 0.02);  // clamped at the end
}

struct TinyRun {
  std::string dir;
  Seq2SeqTrainResult result;
};

TinyRun train_tiny(const std::string& tag, const nlohmann::json& cfg_json) {
  const std::string dir = fresh_dir(tag);
  head_tsv(source_path("data/cmudict/g2p_train.tsv"), dir + "/train.tsv", 600);
  head_tsv(source_path("data/cmudict/g2p_valid.tsv"), dir + "/valid.tsv", 40);
  TrainOptions o;
  o.train_path = dir + "/train.tsv";
  o.valid_path = dir + "/valid.tsv";
  o.out_dir = dir + "/out";
  o.verbose = false;
  return TinyRun{dir, train_seq2seq(config_from_json(cfg_json, "tiny.json"), o)};
}

TEST(Seq2SeqTrainer, ShortRunWritesAModelLogAndScores) {
  const TinyRun r = train_tiny("a", tiny_config_json());
  EXPECT_EQ(r.result.steps, 60);
  // two evaluations (steps 30 and 60), each a JSON line with the scores
  std::ifstream log(r.dir + "/out/train_log.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string l; std::getline(log, l);) lines.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["step"], 30);
  EXPECT_EQ(lines[1]["step"], 60);
  EXPECT_LT(lines[1]["loss"].get<double>(), lines[0]["loss"].get<double>());
  EXPECT_EQ(lines[1], r.result.valid);
  // the validation head has 40 rows; its distinct words are decoded (at most eval_sources)
  EXPECT_GT(r.result.valid["sources"].get<int64_t>(), 0);
  EXPECT_LE(r.result.valid["sources"].get<int64_t>(), 20);
  const double wer = r.result.valid["wer"].get<double>();
  EXPECT_GE(wer, 0.0);
  EXPECT_LE(wer, 1.0);

  // the model file loads as a seq2seq model with the config's shape and generation defaults
  auto model = Model::load(r.result.model_path);
  EXPECT_EQ(model->info().architecture, "byteseq2seq");
  EXPECT_EQ(model->info().bottleneck_size, 32);
  EXPECT_EQ(model->info().decoder_layers, 1);
  EXPECT_EQ(model->info().max_target, 48);
  EXPECT_EQ(model->info().beam_size, 2);
  EXPECT_EQ(model->info().text_column, "word");
  EXPECT_EQ(model->info().training_step, 60);
  EXPECT_EQ(static_cast<int64_t>(read_all(r.result.model_path).size()), r.result.model_bytes);

  // the validation scores of the log are those of the int8 model file on the same sources
  const auto rows = read_text_pairs(r.dir + "/valid.tsv", "word", "pronunciation").pairs;
  const GroupedPairs g = group_by_source(rows);
  const size_t n = std::min<size_t>(g.sources.size(), 20);
  std::vector<Seq2SeqItem> items;
  Seq2SeqGenerator gen(model);
  for (size_t i = 0; i < n; ++i)
    items.push_back({gen.generate(g.sources[i])[0].text, g.references[i]});
  const Seq2SeqScores s = score_seq2seq(items);
  EXPECT_EQ(s.wer, wer);
  EXPECT_EQ(s.per, r.result.valid["per"].get<double>());
  EXPECT_EQ(s.chrf, r.result.valid["chrf"].get<double>());

  // export from the saved module gives the same file
  const std::string again = r.dir + "/again.blt";
  EXPECT_EQ(export_seq2seq_checkpoint(r.dir + "/out", again), r.result.model_bytes);
  EXPECT_EQ(read_all(again), read_all(r.result.model_path));
}

TEST(Seq2SeqTrainer, SameConfigSameModelFile) {
  auto j = tiny_config_json();
  j["train"]["max_steps"] = 25;
  j["train"]["eval_every_steps"] = 100;
  j["seq2seq"]["eval_sources"] = 0;
  j["quantization"]["warmup_steps"] = 10;
  const TinyRun a = train_tiny("a", j);
  const TinyRun b = train_tiny("b", j);
  // the files record their own module path (source_checkpoint): mask it, then compare
  auto strip = [](const std::string& bytes, const std::string& path) {
    std::string s = bytes;
    const size_t at = s.find(path);
    if (at != std::string::npos) s.replace(at, path.size(), std::string(path.size(), '#'));
    return s;
  };
  const std::string pa = a.dir + "/out/model.pt", pb = b.dir + "/out/model.pt";
  ASSERT_EQ(pa.size() - a.dir.size(), pb.size() - b.dir.size());
  const std::string fa = strip(read_all(a.result.model_path), pa);
  const std::string fb = strip(read_all(b.result.model_path), pb);
  ASSERT_EQ(fa.size(), fb.size());
  // header bytes 24..31 hold the payload and header CRCs, which include the path
  EXPECT_EQ(fa.substr(32), fb.substr(32));
  EXPECT_EQ(fa.substr(0, 24), fb.substr(0, 24));
}

TEST(Seq2SeqTrainer, InterruptedRunResumesBitForBit) {
  auto j = tiny_config_json();
  j["train"]["max_steps"] = 40;
  j["train"]["eval_every_steps"] = 15;
  j["seq2seq"]["dropout"] = 0.2;  // dropout draws from libtorch's stream: resume must restore it
  const ExperimentConfig c = config_from_json(j, "tiny.json");
  const std::string dir = fresh_dir("r");
  head_tsv(source_path("data/cmudict/g2p_train.tsv"), dir + "/train.tsv", 400);
  head_tsv(source_path("data/cmudict/g2p_valid.tsv"), dir + "/valid.tsv", 30);
  TrainOptions o;
  o.train_path = dir + "/train.tsv";
  o.valid_path = dir + "/valid.tsv";
  o.verbose = false;
  o.out_dir = dir + "/full";
  const Seq2SeqTrainResult full = train_seq2seq(c, o);
  o.out_dir = dir + "/part";
  o.stop_after = 16;  // stops after the evaluation at step 30
  const Seq2SeqTrainResult part = train_seq2seq(c, o);
  EXPECT_EQ(part.steps, 30);
  EXPECT_TRUE(part.model_path.empty());
  o.stop_after = 0;
  o.resume = true;
  const Seq2SeqTrainResult resumed = train_seq2seq(c, o);
  EXPECT_EQ(resumed.steps, 40);
  // the same validation scores (wall time and the running training loss aside)
  auto scores = [](nlohmann::json v) {
    v.erase("seconds");
    v.erase("train_loss");
    return v;
  };
  EXPECT_EQ(scores(resumed.valid), scores(full.valid));
  // the files differ only in the recorded module path ("part" / "full", same length)
  std::string a = read_all(full.model_path), b = read_all(resumed.model_path);
  const size_t at = a.find(dir + "/full/model.pt");
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(b.find(dir + "/part/model.pt"), at);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.substr(32, at - 32), b.substr(32, at - 32));  // every tensor before the path
  EXPECT_EQ(a.substr(at + dir.size() + 5), b.substr(at + dir.size() + 5));
  // another config is refused
  auto j2 = j;
  j2["train"]["learning_rate"] = 0.001;
  EXPECT_THROW(train_seq2seq(config_from_json(j2, "tiny.json"), o), ConfigError);
}

// Rewrites OUT/model.pt in the layout that train_seq2seq wrote before the shared training loop
// (issue 13): its own keys for the trainer state and the optimizer, libtorch's stream as
// "torch_rng", no Trainer fields (best metric, moving averages).
void to_pre_loop_layout(const std::string& pt, const ExperimentConfig& c) {
  torch::serialize::InputArchive in;
  in.load_from(pt);
  auto qat = std::make_shared<QatState>();
  qat->enabled = c.quantization.enabled;
  ByteSeq2Seq m(c.seq2seq, qat);
  m->load(in);
  c10::IValue cfg, st;
  ASSERT_TRUE(in.try_read("bytelite_seq2seq_config", cfg));
  ASSERT_TRUE(in.try_read("bytelite_trainer_state", st));
  torch::serialize::InputArchive oi;
  ASSERT_TRUE(in.try_read("bytelite_optimizer", oi));
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1.0));
  opt.load(oi);
  const auto j = nlohmann::json::parse(st.toStringRef());
  const nlohmann::json old = {{"step", j.at("step")},
                              {"sampler", j.at("sampler")},
                              {"torch_rng", j.at("rng_state")},
                              {"log", j.at("log")},
                              {"last", j.at("last")}};
  torch::serialize::OutputArchive out;
  m->save(out);
  out.write("bytelite_seq2seq_config", cfg);
  torch::serialize::OutputArchive oo;
  opt.save(oo);
  out.write("bytelite_seq2seq_optimizer", oo);
  out.write("bytelite_seq2seq_trainer_state", c10::IValue(old.dump()));
  out.save_to(pt);
}

TEST(Seq2SeqTrainer, ModelPtOfBeforeTheSharedLoopStillResumes) {
  auto j = tiny_config_json();
  j["train"]["max_steps"] = 40;
  j["train"]["eval_every_steps"] = 15;
  j["seq2seq"]["dropout"] = 0.2;
  j["seq2seq"]["eval_sources"] = 5;
  const ExperimentConfig c = config_from_json(j, "tiny.json");
  const std::string dir = fresh_dir("old");
  head_tsv(source_path("data/cmudict/g2p_train.tsv"), dir + "/train.tsv", 400);
  head_tsv(source_path("data/cmudict/g2p_valid.tsv"), dir + "/valid.tsv", 30);
  TrainOptions o;
  o.train_path = dir + "/train.tsv";
  o.valid_path = dir + "/valid.tsv";
  o.verbose = false;
  o.out_dir = dir + "/full";
  const Seq2SeqTrainResult full = train_seq2seq(c, o);
  o.out_dir = dir + "/part";
  o.stop_after = 16;
  EXPECT_EQ(train_seq2seq(c, o).steps, 30);
  to_pre_loop_layout(dir + "/part/model.pt", c);
  o.stop_after = 0;
  o.resume = true;
  const Seq2SeqTrainResult resumed = train_seq2seq(c, o);
  EXPECT_EQ(resumed.steps, 40);
  auto scores = [](nlohmann::json v) {
    v.erase("seconds");
    v.erase("train_loss");  // the running loss restarts with an old file
    return v;
  };
  EXPECT_EQ(scores(resumed.valid), scores(full.valid));
  std::string a = read_all(full.model_path), b = read_all(resumed.model_path);
  const size_t at = a.find(dir + "/full/model.pt");
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.substr(32, at - 32), b.substr(32, at - 32));
  EXPECT_EQ(a.substr(at + dir.size() + 5), b.substr(at + dir.size() + 5));
  // a file that is no checkpoint: one line saying how to proceed
  testutil::write_file(dir + "/part/model.pt", "not a torch archive");
  try {
    train_seq2seq(c, o);
    ADD_FAILURE() << "a broken model.pt resumed";
  } catch (const ModelFileError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find(dir + "/part/model.pt"), std::string::npos) << msg;
    EXPECT_NE(msg.find("start without --resume"), std::string::npos) << msg;
  }
}

TEST(Seq2SeqTrainer, UserErrors) {
  const std::string dir = fresh_dir("e");
  head_tsv(source_path("data/cmudict/g2p_train.tsv"), dir + "/train.tsv", 50);
  TrainOptions o;
  o.train_path = dir + "/train.tsv";
  o.valid_path = dir + "/missing.tsv";
  o.out_dir = dir + "/out";
  o.verbose = false;
  const ExperimentConfig c = config_from_json(tiny_config_json(), "tiny.json");
  EXPECT_THROW(train_seq2seq(c, o), InputError);  // the validation file does not exist
  auto j = tiny_config_json();
  j["data"]["label_columns"] = {"pronunciation", "word"};
  o.valid_path = dir + "/train.tsv";
  try {
    train_seq2seq(config_from_json(j, "tiny.json"), o);
    ADD_FAILURE() << "two target columns accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("expected exactly one target column"), std::string::npos);
  }
  j = tiny_config_json();
  j["data"]["text_column"] = "spelling";
  try {
    train_seq2seq(config_from_json(j, "tiny.json"), o);
    ADD_FAILURE() << "missing column accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("spelling"), std::string::npos) << e.what();
  }
  o.resume = true;  // nothing to resume from
  EXPECT_THROW(train_seq2seq(c, o), ModelFileError);
  EXPECT_THROW(export_seq2seq_checkpoint(dir + "/nothing", dir + "/m.blt"), Error);
}

TEST(Seq2SeqTrainer, CommandLineTrainExportEval) {
  const std::string dir = fresh_dir("cli");
  head_tsv(source_path("data/cmudict/g2p_train.tsv"), dir + "/train.tsv", 300);
  head_tsv(source_path("data/cmudict/g2p_valid.tsv"), dir + "/valid.tsv", 30);
  auto j = tiny_config_json();
  j["train"]["max_steps"] = 30;
  j["seq2seq"]["eval_sources"] = 100;  // every distinct word of the 30 rows
  testutil::write_file(dir + "/cfg.json", j.dump());
  const auto tr = testutil::run("train --config " + dir + "/cfg.json --train " + dir +
                                "/train.tsv --valid " + dir + "/valid.tsv --out " + dir + "/out");
  ASSERT_EQ(tr.code, 0) << tr.out;
  EXPECT_NE(tr.out.find("int8 model: " + dir + "/out/model.blt"), std::string::npos) << tr.out;
  const auto summary = nlohmann::json::parse(read_all(dir + "/out/summary.json"));
  EXPECT_EQ(summary["task"], "seq2seq");
  EXPECT_EQ(summary["steps"], 30);
  // export from the directory gives the same file; eval scores the validation file
  const auto ex = testutil::run("export --checkpoint " + dir + "/out --out " + dir + "/m.blt");
  ASSERT_EQ(ex.code, 0) << ex.out;
  EXPECT_EQ(read_all(dir + "/m.blt"), read_all(dir + "/out/model.blt"));
  const auto ev =
      testutil::run("eval --model " + dir + "/m.blt --data " + dir + "/valid.tsv --json");
  ASSERT_EQ(ev.code, 0) << ev.out;
  const auto lines = testutil::lines_of(ev.out);
  const auto e = nlohmann::json::parse(lines.back());
  EXPECT_EQ(e["sources"], summary["valid"]["sources"]);
  EXPECT_EQ(e["wer"], summary["valid"]["wer"]);
  EXPECT_EQ(e["per"], summary["valid"]["per"]);
  // output that cannot be written is an error, not a silent success
  const auto full = testutil::run_cmd("(" + std::string(BYTELITE_BINARY_DIR) + "/bytelite info " +
                                      dir + "/m.blt > /dev/full)");
  EXPECT_EQ(full.code, 1) << full.out;
  EXPECT_NE(full.out.find("cannot write to standard output"), std::string::npos) << full.out;
  // --init-from takes a pretraining checkpoint (tests/test_pretrain.cc InitFrom.Seq2Seq*), not
  // a seq2seq training directory
  const auto bad =
      testutil::run("train --config " + dir + "/cfg.json --train " + dir + "/train.tsv --valid " +
                    dir + "/valid.tsv --out " + dir + "/out2 --init-from " + dir + "/out");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("holds no last.ckpt (expected the output directory of 'bytelite "
                         "pretrain')"),
            std::string::npos)
      << bad.out;
}

}  // namespace
}  // namespace bytelite
