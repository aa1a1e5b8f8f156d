// The public seq2seq API (include/bytelite/seq2seq.h) and the CLI commands on seq2seq models:
// generate (JSONL), eval (grouped references, WER / PER checked against values computed here from
// the generator's own outputs), info and bench. The model is a tiny ByteSeq2Seq (D 32, 1 + 1
// layers) trained with QAT for 120 steps on CMUdict pairs and exported to a model file, cached
// under the build directory (like runtime_test_util.h trained_qat_model) so that the test
// processes of a build train it once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "bytelite/classifier.h"
#include "bytelite/errors.h"
#include "bytelite/seq2seq.h"
#include "runtime/models/classifier_net.h"
#include "runtime/ops/decoder.h"
#include "runtime/seq2seq_bench.h"
#include "runtime_test_util.h"
#include "train/seq2seq.h"
#include "train/seq2seq_export.h"

namespace bytelite {
namespace {

using testutil::CmdResult;
using testutil::fresh_dir;
using testutil::lines_of;
using testutil::read_all;
using testutil::run;
using testutil::run_cmd;
using testutil::source_path;
using testutil::write_file;

using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr int kMaxSource = 16, kMaxTarget = 48;

using testutil::read_g2p;

std::string train_tiny_model() {
  torch::set_num_threads(1);
  torch::manual_seed(7);
  Seq2SeqConfig c;
  c.dim = 32;
  c.num_heads = 4;
  c.intermediate_size = 64;
  c.encoder_layers = 1;
  c.decoder_layers = 1;
  c.max_source = kMaxSource;
  c.max_target = kMaxTarget;
  c.label_smoothing = 0.1;
  auto qat = std::make_shared<QatState>();
  qat->enabled = true;
  qat->active = false;  // observe ranges first
  ByteSeq2Seq model(c, qat);
  const Pairs train = read_g2p(200, 0, 400);
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(5e-3));
  model->train();
  std::mt19937 rng(3);
  for (int s = 0; s < 120; ++s) {
    if (s == 40) qat->active = true;
    Pairs batch;
    for (int i = 0; i < 32; ++i) batch.push_back(train[rng() % train.size()]);
    auto b = make_seq2seq_batch(batch, kMaxSource, kMaxTarget);
    auto loss = model->loss(model->forward(b.src, b.src_mask, b.dec_in), b.target, b.tgt_mask);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  model->eval();
  Seq2SeqExportInfo info;
  info.source_column = "word";
  info.target_column = "phones";
  info.beam_size = 4;
  info.length_penalty = 0.6;
  return export_seq2seq_bytes(*model, info);
}

// The tiny model's file, trained once per build (lock + key as trained_qat_model).
std::string tiny_model_path() {
  static const std::string path = [] {
    const std::string root = std::string(BYTELITE_BINARY_DIR) + "/test_artifacts";
    ::mkdir(root.c_str(), 0755);
    const std::string file = root + "/seq2seq_tiny.blt", key_file = root + "/seq2seq_tiny.key";
    const int lock = ::open((file + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    EXPECT_GE(lock, 0);
    ::flock(lock, LOCK_EX);
    const int64_t lib =
        testutil::mtime_of(std::string(BYTELITE_BINARY_DIR) + "/libbytelite_train.a");
    const std::string key = "d32 l1+1 120 steps seed 7 v1";
    if (testutil::mtime_of(file) < lib || read_all(key_file) != key) {
      write_file(file + ".tmp", train_tiny_model());
      ::rename((file + ".tmp").c_str(), file.c_str());
      write_file(key_file, key);
    }
    ::flock(lock, LOCK_UN);
    ::close(lock);
    return file;
  }();
  return path;
}

std::shared_ptr<const Model> tiny_model() {
  static const auto m = Model::load(tiny_model_path());
  return m;
}

// Held-out words (not in the training lines).
std::vector<std::string> eval_words(size_t n) {
  std::vector<std::string> w;
  for (const auto& p : read_g2p(200, 100, n)) w.push_back(p.first);
  return w;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  ADD_FAILURE() << "expected an InvalidArgument";
  return "";
}

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find [" << (needle) << "] in [" << (haystack) << "]"

// ---- the library API ----

TEST(Seq2SeqGenerator, DefaultsComeFromTheModel) {
  auto m = tiny_model();
  EXPECT_EQ(m->info().architecture, "byteseq2seq");
  Seq2SeqGenerator g(m);
  EXPECT_EQ(g.options().beam_size, 4);
  EXPECT_EQ(g.options().n_best, 1);
  EXPECT_EQ(g.options().max_len, kMaxTarget);
  EXPECT_EQ(g.options().length_penalty, static_cast<double>(m->info().length_penalty));
  EXPECT_NE(g.options().isa, KernelIsa::kAuto);
  EXPECT_EQ(g.info().max_length, kMaxSource);
}

// Beam 1 against rt::greedy_decode (argmax path until EOS). With alpha 0 the beam of one follows
// the argmax path; as docs/seq2seq.md explains, the search also records EOS whenever it is among
// the 2K = 2 best candidates, so it returns either exactly the greedy ids or a prefix of the
// greedy path ended by EOS whose log-probability is higher than the full greedy output's.
TEST(Seq2SeqGenerator, BeamOneIsGreedyDecoding) {
  auto m = tiny_model();
  const rt::Seq2SeqNet& net = *m->impl().seq2seq;
  GenerateOptions o;
  o.beam_size = 1;
  o.length_penalty = 0.0;
  Seq2SeqGenerator g(m, o);
  rt::EncoderScratch es;
  std::vector<int8_t> enc;
  int equal = 0;
  const auto words = eval_words(30);
  for (const std::string& w : words) {
    const auto ids = g.encode(w);
    const int64_t S = rt::seq2seq_encode(rt::OpContext{rt::best_isa(), es.ops}, net.encoder,
                                         ids.data(), static_cast<int64_t>(ids.size()), enc, es);
    rt::MattDecoderSession s(net.decoder, 1, rt::best_isa());
    s.set_memory(enc.data(), S, net.encoder.out);
    const auto greedy = rt::greedy_decode(s, kMaxTarget);
    const auto hyps = g.generate(w);
    ASSERT_EQ(hyps.size(), 1u);
    const Generation& h = hyps[0];
    EXPECT_EQ(h.text, ByteTokenizer::decode(h.ids));
    if (h.ids == greedy) {
      ++equal;
      continue;
    }
    ASSERT_TRUE(h.finished) << w;
    ASSERT_LT(h.ids.size(), greedy.size()) << w;
    EXPECT_TRUE(std::equal(h.ids.begin(), h.ids.end() - 1, greedy.begin())) << w;
  }
  std::printf("beam 1 returned exactly the greedy ids for %d / %zu words\n", equal, words.size());
  EXPECT_GT(equal, 0);
}

TEST(Seq2SeqGenerator, NBestIsOrderedAndDeterministic) {
  auto m = tiny_model();
  GenerateOptions o;
  o.beam_size = 4;
  o.n_best = 4;
  Seq2SeqGenerator a(m, o), b(m, o);
  const auto words = eval_words(12);
  for (const std::string& w : words) {
    const auto x = a.generate(w);
    const auto y = b.generate(w);
    const auto z = a.generate(w);  // a second search on the same generator
    ASSERT_GE(x.size(), 1u);
    ASSERT_LE(x.size(), 4u);
    for (size_t k = 1; k < x.size(); ++k) EXPECT_GE(x[k - 1].score, x[k].score) << w;
    for (const auto& other : {y, z}) {
      ASSERT_EQ(other.size(), x.size());
      for (size_t k = 0; k < x.size(); ++k) {
        EXPECT_EQ(other[k].ids, x[k].ids);
        EXPECT_EQ(other[k].score, x[k].score);  // bit-identical
        EXPECT_EQ(other[k].log_prob, x[k].log_prob);
      }
    }
    for (const auto& h : x) {
      EXPECT_LE(h.ids.size(), static_cast<size_t>(kMaxTarget));
      EXPECT_LE(h.log_prob, 0.0);
      EXPECT_EQ(h.finished, !h.ids.empty() && h.ids.back() == kEosId);
      EXPECT_EQ(h.text, ByteTokenizer::decode(h.ids));
    }
  }
  // The batch API gives the same hypotheses for every thread count.
  const auto one = generate_batch(m, words, o, 1);
  const auto three = generate_batch(m, words, o, 3);
  ASSERT_EQ(one.size(), words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    const auto ref = a.generate(words[i]);
    ASSERT_EQ(one[i].size(), ref.size());
    ASSERT_EQ(three[i].size(), ref.size());
    for (size_t k = 0; k < ref.size(); ++k) {
      EXPECT_EQ(one[i][k].ids, ref[k].ids);
      EXPECT_EQ(three[i][k].ids, ref[k].ids);
      EXPECT_EQ(three[i][k].score, ref[k].score);
    }
  }
}

TEST(Seq2SeqGenerator, EmptySourceGivesOneEmptyHypothesis) {
  GenerateOptions o;
  o.n_best = 3;
  Seq2SeqGenerator g(tiny_model(), o);
  const auto h = g.generate("");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_TRUE(h[0].text.empty());
  EXPECT_TRUE(h[0].ids.empty());
  EXPECT_EQ(h[0].score, 0.0);
  EXPECT_EQ(h[0].log_prob, 0.0);
  EXPECT_FALSE(h[0].finished);
  EXPECT_TRUE(g.encode("").empty());
}

TEST(Seq2SeqGenerator, LongSourcesAreTruncatedAndMaxLenLimitsTheOutput) {
  Seq2SeqGenerator g(tiny_model());
  const std::string longer = "ABRACADABRAMAGICWORDS";  // 21 bytes > max_length 16
  EXPECT_EQ(g.encode(longer).size(), static_cast<size_t>(kMaxSource));
  const auto a = g.generate(longer), b = g.generate(longer.substr(0, kMaxSource));
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a[0].ids, b[0].ids);
  EXPECT_EQ(a[0].score, b[0].score);
  // Invalid UTF-8 and NUL bytes are ordinary bytes.
  EXPECT_EQ(g.generate(std::string("\xff\0\xc3", 3)).size(), 1u);
  GenerateOptions o;
  o.max_len = 3;
  Seq2SeqGenerator s(tiny_model(), o);
  for (const auto& w : eval_words(8)) {
    const auto h = s.generate(w);
    ASSERT_EQ(h.size(), 1u);
    EXPECT_LE(h[0].ids.size(), 3u) << w;
  }
}

TEST(Seq2SeqGenerator, InvalidOptionsGiveOneLineErrors) {
  auto m = tiny_model();
  auto with = [&](auto set) {
    GenerateOptions o;
    set(o);
    return error_of([&] { Seq2SeqGenerator g(m, o); });
  };
  EXPECT_CONTAINS(with([](GenerateOptions& o) { o.beam_size = -1; }),
                  "beam_size must be in [1, 1024] (0 = the model's default), found -1");
  EXPECT_CONTAINS(with([](GenerateOptions& o) { o.beam_size = 5000; }), "found 5000");
  EXPECT_CONTAINS(with([](GenerateOptions& o) { o.n_best = 0; }),
                  "n_best must be in [1, beam_size = 4], found 0");
  EXPECT_CONTAINS(with([](GenerateOptions& o) {
                    o.beam_size = 2;
                    o.n_best = 3;
                  }),
                  "n_best must be in [1, beam_size = 2], found 3");
  EXPECT_CONTAINS(with([](GenerateOptions& o) { o.max_len = -1; }),
                  "max_len must be in [1, max_target = 48] (0 = max_target), found -1");
  EXPECT_CONTAINS(with([](GenerateOptions& o) { o.max_len = kMaxTarget + 1; }),
                  "max_len must be in [1, max_target = 48] (0 = max_target), found 49");
  EXPECT_CONTAINS(
      with([](GenerateOptions& o) { o.length_penalty = std::numeric_limits<double>::quiet_NaN(); }),
      "length_penalty must be finite");
  EXPECT_CONTAINS(
      with([](GenerateOptions& o) { o.length_penalty = std::numeric_limits<double>::infinity(); }),
      "length_penalty must be finite");
  EXPECT_CONTAINS(error_of([] { Seq2SeqGenerator g(nullptr); }), "expected a model");
  EXPECT_CONTAINS(error_of([&] { generate_batch(m, {"A"}, {}, 0); }),
                  "threads must be >= 1, found 0");
}

// A classifier model file (random QAT weights, as test_runtime_model.cc builds them).
std::string classifier_bytes() {
  LoadedCheckpoint lc = testutil::random_qat_checkpoint(testutil::small_config(8, 1, 64), 3);
  return export_model_bytes(lc, "random.ckpt");
}

TEST(Seq2SeqGenerator, ClassifierModelIsRejectedAndViceVersa) {
  auto clf = Model::from_bytes(classifier_bytes(), "clf.blt");
  EXPECT_EQ(error_of([&] { Seq2SeqGenerator g(clf); }),
            "Seq2SeqGenerator: expected a seq2seq model (architecture byteseq2seq), found "
            "byteqrnn");
  EXPECT_CONTAINS(error_of([&] { Classifier c(tiny_model()); }),
                  "Classifier: expected a classifier model, found architecture byteseq2seq");
}

// ---- the CLI ----

std::string bytelite_bin() { return std::string(BYTELITE_BINARY_DIR) + "/bytelite"; }

TEST(Seq2SeqCli, GenerateWritesOneValidJsonLinePerInputLine) {
  auto dir = fresh_dir("gen");
  const auto words = eval_words(5);
  std::string input;
  for (const auto& w : words) input += w + "\n";
  input += "\n";                                  // empty source
  input += "CRLF\r\n";                            // the \r is removed
  input += std::string("\xff\xfe\0Z", 4) + "\n";  // invalid UTF-8 and NUL
  input += "NONEWLINE";
  write_file(dir + "/in.txt", input);
  const std::string args =
      "generate --model " + tiny_model_path() + " --beam-size 3 --n-best 2 --max-len 30";
  CmdResult r = run_cmd(bytelite_bin() + " " + args + " --input " + dir + "/in.txt 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto out = lines_of(r.out);
  ASSERT_EQ(out.size(), words.size() + 4) << r.out;
  GenerateOptions o;
  o.beam_size = 3;
  o.n_best = 2;
  o.max_len = 30;
  Seq2SeqGenerator g(tiny_model(), o);
  for (size_t i = 0; i < out.size(); ++i) {
    const auto j = nlohmann::json::parse(out[i]);  // throws (fails) on invalid JSON
    ASSERT_TRUE(j["source"].is_string());
    const auto& hyps = j["hypotheses"];
    ASSERT_TRUE(hyps.is_array());
    ASSERT_GE(hyps.size(), 1u);
    ASSERT_LE(hyps.size(), 2u);
    for (size_t k = 1; k < hyps.size(); ++k)
      EXPECT_GE(hyps[k - 1]["score"].get<double>(), hyps[k]["score"].get<double>());
    for (const auto& h : hyps) {
      EXPECT_TRUE(h["text"].is_string());
      EXPECT_LE(h["log_prob"].get<double>(), 0.0);
    }
    if (i < words.size()) {  // the generator's results, in the same order
      EXPECT_EQ(j["source"], words[i]);
      const auto want = g.generate(words[i]);
      ASSERT_EQ(hyps.size(), want.size());
      for (size_t k = 0; k < want.size(); ++k) {
        EXPECT_EQ(hyps[k]["text"], want[k].text);  // phones are ASCII
        EXPECT_DOUBLE_EQ(hyps[k]["score"].get<double>(), want[k].score);
        EXPECT_DOUBLE_EQ(hyps[k]["log_prob"].get<double>(), want[k].log_prob);
      }
    }
  }
  const auto empty = nlohmann::json::parse(out[words.size()]);
  EXPECT_EQ(empty["source"], "");
  ASSERT_EQ(empty["hypotheses"].size(), 1u);
  EXPECT_EQ(empty["hypotheses"][0]["text"], "");
  EXPECT_EQ(nlohmann::json::parse(out[words.size() + 1])["source"], "CRLF");
  EXPECT_EQ(nlohmann::json::parse(out[words.size() + 2])["source"],
            "\xEF\xBF\xBD\xEF\xBF\xBD" + std::string(1, '\0') + "Z");
  EXPECT_EQ(nlohmann::json::parse(out[words.size() + 3])["source"], "NONEWLINE");
  // stdin, --output and --threads give the same lines.
  CmdResult s = run_cmd("cat " + dir + "/in.txt | " + bytelite_bin() + " " + args +
                        " --threads 3 --output " + dir + "/o.jsonl");
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_EQ(read_all(dir + "/o.jsonl"), r.out);
  // One-line errors: invalid options, a classifier model.
  CmdResult bad = run("generate --model " + tiny_model_path() +
                      " --beam-size 2 --n-best 3 --input " + dir + "/in.txt");
  EXPECT_EQ(bad.code, 1);
  ASSERT_EQ(lines_of(bad.out).size(), 1u) << bad.out;
  EXPECT_CONTAINS(bad.out, "n_best must be in [1, beam_size = 2], found 3");
  CmdResult big =
      run("generate --model " + tiny_model_path() + " --max-len 49 --input " + dir + "/in.txt");
  EXPECT_EQ(big.code, 1);
  EXPECT_CONTAINS(big.out, "max_len must be in [1, max_target = 48]");
  write_file(dir + "/clf.blt", classifier_bytes());
  CmdResult clf = run("generate --model " + dir + "/clf.blt --input " + dir + "/in.txt");
  EXPECT_EQ(clf.code, 1);
  ASSERT_EQ(lines_of(clf.out).size(), 1u) << clf.out;
  EXPECT_CONTAINS(clf.out, "expected a seq2seq model (architecture byteseq2seq), found byteqrnn");
}

// Token edit distance, computed here independently of core/seq2seq_metrics.
std::vector<std::string> tokens(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  std::string t;
  while (in >> t) v.push_back(t);
  return v;
}
int64_t edit(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::vector<int64_t>> d(a.size() + 1, std::vector<int64_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = static_cast<int64_t>(i);
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j)
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
  return d[a.size()][b.size()];
}

TEST(Seq2SeqCli, EvalGroupsReferencesAndScoresTheGeneratorsOutputs) {
  auto dir = fresh_dir("eval");
  Seq2SeqGenerator g(tiny_model());  // the model's defaults, as eval without flags
  const auto words = eval_words(3);
  ASSERT_EQ(words.size(), 3u);
  std::vector<std::string> hyp;
  for (const auto& w : words) hyp.push_back(g.generate(w)[0].text);
  // Word 0 has two references, the second one the model's own output (right by the
  // any-reference rule); word 1 two wrong ones of different lengths, the rows not adjacent; word
  // 2 one wrong reference. Columns in another order than the model's, plus an extra column.
  const std::vector<std::pair<std::string, std::string>> rows = {{words[0], "AA B K"},
                                                                 {words[1], "Z Z Z Z Z Z Z Z Z Z"},
                                                                 {words[0], hyp[0]},
                                                                 {words[2], "K AE T"},
                                                                 {words[1], "AH"}};
  std::string tsv = "phones\tid\tword\n";
  for (size_t i = 0; i < rows.size(); ++i)
    tsv += rows[i].second + "\t" + std::to_string(i) + "\t" + rows[i].first + "\n";
  write_file(dir + "/data.tsv", tsv);
  // By hand: WER, PER (closest reference; on equal distance the shorter one).
  const std::vector<std::vector<std::string>> refs = {
      {"AA B K", hyp[0]}, {"Z Z Z Z Z Z Z Z Z Z", "AH"}, {"K AE T"}};
  int64_t wrong = 0, errors = 0, ref_tokens = 0, exact = 0;
  for (size_t i = 0; i < 3; ++i) {
    int64_t best = -1, best_len = 0;
    bool match = false, same = false;
    for (const auto& r : refs[i]) {
      const auto rt = tokens(r);
      const int64_t d = edit(tokens(hyp[i]), rt);
      match = match || d == 0;
      same = same || hyp[i] == r;
      if (best < 0 || d < best || (d == best && static_cast<int64_t>(rt.size()) < best_len)) {
        best = d;
        best_len = static_cast<int64_t>(rt.size());
      }
    }
    wrong += match ? 0 : 1;
    exact += same ? 1 : 0;
    errors += best;
    ref_tokens += best_len;
  }
  EXPECT_LE(wrong, 2);  // word 0 is right
  const double wer = wrong / 3.0, per = static_cast<double>(errors) / ref_tokens;
  std::printf("outputs: [%s] [%s] [%s]; wer %.4f per %.4f\n", hyp[0].c_str(), hyp[1].c_str(),
              hyp[2].c_str(), wer, per);
  std::string first;
  for (int threads : {1, 2}) {
    CmdResult r = run("eval --model " + tiny_model_path() + " --data " + dir +
                      "/data.tsv --json --threads " + std::to_string(threads));
    ASSERT_EQ(r.code, 0) << r.out;
    const auto j = nlohmann::json::parse(lines_of(r.out).back());
    EXPECT_EQ(j["rows"], 5);
    EXPECT_EQ(j["sources"], 3);
    EXPECT_DOUBLE_EQ(j["wer"].get<double>(), wer);
    EXPECT_DOUBLE_EQ(j["per"].get<double>(), per);
    EXPECT_EQ(j["token_errors"], errors);
    EXPECT_EQ(j["reference_tokens"], ref_tokens);
    EXPECT_DOUBLE_EQ(j["exact_match"].get<double>(), exact / 3.0);
    for (const char* k :
         {"chrf", "decode_seconds", "words_per_second", "beam_size", "length_penalty", "max_len"})
      EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j["beam_size"], 4);
    EXPECT_EQ(j["max_len"], kMaxTarget);
    // results (not timings) identical for every thread count
    auto jj = j;
    for (const char* k : {"decode_seconds", "words_per_second", "threads"}) jj.erase(k);
    if (threads == 1) first = jj.dump();
    EXPECT_EQ(jj.dump(), first);
  }
  // Generation flags reach the decoder: with --max-len 1 no output has a phone.
  CmdResult m1 = run("eval --model " + tiny_model_path() + " --data " + dir +
                     "/data.tsv --json --max-len 1 --beam-size 2 --length-penalty 0");
  ASSERT_EQ(m1.code, 0) << m1.out;
  const auto j1 = nlohmann::json::parse(lines_of(m1.out).back());
  EXPECT_EQ(j1["max_len"], 1);
  EXPECT_EQ(j1["beam_size"], 2);
  EXPECT_EQ(j1["length_penalty"], 0.0);
  // The table.
  CmdResult t = run("eval --model " + tiny_model_path() + " --data " + dir + "/data.tsv");
  ASSERT_EQ(t.code, 0) << t.out;
  for (const char* k : {"wer ", "per ", "exact_match ", "chrf ", "words/s", "3 distinct sources"})
    EXPECT_CONTAINS(t.out, k);
  // Missing target column: the file's columns are named.
  write_file(dir + "/bad.tsv", "word\tpron\nA\tAH\n");
  CmdResult bad = run("eval --model " + tiny_model_path() + " --data " + dir + "/bad.tsv");
  EXPECT_EQ(bad.code, 1);
  EXPECT_CONTAINS(bad.out, "expected a column named \"phones\" in the header");
}

TEST(Seq2SeqCli, InfoShowsTheSeq2SeqHyperparameters) {
  CmdResult t = run("info " + tiny_model_path());
  ASSERT_EQ(t.code, 0) << t.out;
  for (const char* k : {"architecture:  byteseq2seq", "source 'word', target 'phones'"})
    EXPECT_CONTAINS(t.out, k);
  // one line per declared key the file stores: "  section.key   value   doc"
  for (const char* k :
       {"seq2seq.dim +32 ", "seq2seq.decoder_layers +1 ", "seq2seq.encoder_layers +1 ",
        "seq2seq.max_target +48 ", "seq2seq.beam_size +4 "}) {
    EXPECT_TRUE(std::regex_search(t.out, std::regex(std::string("\n  ") + k))) << k << t.out;
  }
  EXPECT_EQ(t.out.find("labels:"), std::string::npos) << t.out;
  CmdResult j = run("info --json " + tiny_model_path());
  ASSERT_EQ(j.code, 0) << j.out;
  const auto ji = nlohmann::json::parse(j.out);
  EXPECT_EQ(ji["config"]["num_heads"], 4);
  EXPECT_EQ(ji["config"]["intermediate_size"], 64);
  EXPECT_EQ(ji["config"]["max_source"], kMaxSource);
  EXPECT_EQ(ji["generation"]["beam_size"], 4);
  EXPECT_NEAR(ji["generation"]["length_penalty"].get<double>(), 0.6, 1e-6);
}

TEST(Seq2SeqCli, BenchTimesBothDecoders) {
  CmdResult r = run("bench --model " + tiny_model_path() + " --runs 1 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(lines_of(r.out).back());
  EXPECT_EQ(j["steps"], nlohmann::json({16, 64, 256}));
  EXPECT_EQ(j["position_rows"], kMaxTarget);
  EXPECT_EQ(j["positions_extended"], true);
  EXPECT_EQ(j["beam_size"], 4);
  for (const char* k : {"matt_us_per_byte", "baseline_us_per_byte"}) {
    ASSERT_EQ(j[k].size(), 3u) << k;
    for (const auto& v : j[k]) EXPECT_GT(v.get<double>(), 0.0) << k;
  }
  EXPECT_GT(j["matt_ratio_256_16"].get<double>(), 0.0);
  // op shares of the whole model (encoder + decoder steps): the decoder's own ops are there, and
  // the shares add up to 1
  double sum = 0;
  for (const auto& [name, share] : j["op_time_share"].items()) sum += share.get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-9);
  for (const char* op :
       {"embedding", "dense", "attention", "uniform_average", "add", "layer_norm", "gbst_mix"})
    EXPECT_TRUE(j["op_time_share"].contains(op)) << op << " " << j["op_time_share"];
  CmdResult t = run("bench --model " + tiny_model_path() + " --runs 1 --beam-size 2");
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_CONTAINS(t.out, "reuse its last position row");
  EXPECT_CONTAINS(t.out, "step 256 / step 16: MAtt");
  EXPECT_CONTAINS(t.out, "int8 time per op (encoder, one source; 256 MAtt decoder steps): ");
  // --data / --compare mean nothing for a seq2seq model: one line, not silently ignored; and a
  // seq2seq model given to a classifier's --compare is named with what to do instead
  CmdResult d = run("bench --model " + tiny_model_path() + " --runs 1 --data nope.tsv");
  EXPECT_EQ(d.code, 1) << d.out;
  EXPECT_EQ(d.out,
            "bytelite: error: bench: expected no --data or --compare for the seq2seq model " +
                tiny_model_path() + " (it is timed on random encoder outputs), found --data\n");
  CmdResult c = run("bench --model " + source_path("tests/data/models/v2/byteqrnn.blt") +
                    " --no-float --data " + source_path("data/olid/test.tsv") +
                    " --max-examples 5 --compare " + tiny_model_path());
  EXPECT_EQ(c.code, 1) << c.out;
  EXPECT_EQ(c.out,
            "bytelite: error: bench --compare: expected classifier models, found the seq2seq "
            "model " +
                tiny_model_path() + " (time it alone: bytelite bench --model " + tiny_model_path() +
                ")\n");
}

// The shared timing function itself, and the extended position table.
TEST(Seq2SeqBench, TimeDecoderStepsAndExtendPositions) {
  auto m = tiny_model();
  const rt::MattDecoderRt& dec = m->impl().seq2seq->decoder;
  std::vector<int8_t> table;
  const rt::MattDecoderRt ext = rt::extend_positions(dec, 64, table);
  ASSERT_EQ(ext.position.rows, 64);
  for (int64_t r = 0; r < 64; ++r) {
    const int64_t src = std::min<int64_t>(r, kMaxTarget - 1);
    EXPECT_TRUE(std::equal(ext.position.table + r * 32, ext.position.table + (r + 1) * 32,
                           dec.position.table + src * 32))
        << r;
  }
  // Steps within the model's rows: the extended copy decodes exactly as the model.
  rt::MattDecoderSession a(dec, 2, rt::best_isa()), b(ext, 2, rt::best_isa());
  std::vector<int8_t> mem(5 * 32, 3);
  a.set_memory(mem.data(), 5, m->impl().seq2seq->encoder.out);
  b.set_memory(mem.data(), 5, m->impl().seq2seq->encoder.out);
  const int32_t ids[2] = {kPadId, kPadId}, parents[2] = {0, 0};
  const int8_t* la = a.step(ids, parents);
  std::vector<int8_t> first(la, la + 2 * kVocabSize);
  const int8_t* lb = b.step(ids, parents);
  EXPECT_TRUE(std::equal(first.begin(), first.end(), lb));
  auto base = rt::random_baseline_decoder(32, 1, 4, 64, 64, 2);
  rt::StepBenchOptions o;
  o.runs = 1;
  o.warmup_runs = 0;
  o.steps = {8, 64};
  o.beam = 2;
  o.isa = rt::best_isa();
  const auto r = rt::time_decoder_steps(ext, base, o);
  ASSERT_EQ(r.matt_s.size(), 2u);
  ASSERT_EQ(r.baseline_s.size(), 2u);
  o.steps = {8, 65};  // beyond the tables
  EXPECT_CONTAINS(error_of([&] { rt::time_decoder_steps(ext, base, o); }),
                  "step 65 beyond the position tables");
}

}  // namespace
}  // namespace bytelite
