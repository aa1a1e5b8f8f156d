// Golden model files (tests/data/models/README.md): the committed files of
// tests/data/models/v1 (format version 1) and v2 (format version 2, the encoder as a union), one
// per classifier encoder and one per seq2seq encoder in each, must load and
// give exactly the outputs recorded in NAME.expected when they were made
// (scripts/make_golden_models.sh, tests/golden_model_dump.cc): the model info, the token ids,
// the int8 logits (exactly), the probabilities (the same float bits), the predicted labels, and
// the seq2seq n-best hypotheses with their scores and log-probabilities (the same double bits).
// Checked on every kernel path this CPU has and with batch / thread variants. Links only
// libbytelite (runs in BYTELITE_RUNTIME_ONLY builds); no value here is computed by the test.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bytelite/classifier.h"
#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "bytelite/seq2seq.h"
#include "golden_info_fields.h"

namespace bytelite {
namespace {

struct Hyp {
  uint64_t score_bits = 0, log_prob_bits = 0;
  bool finished = false;
  std::vector<int32_t> ids;
};

struct Case {
  std::string input;
  std::vector<int32_t> ids;
  std::vector<int> logits;
  std::vector<uint32_t> probability_bits;
  std::vector<int32_t> labels;
  std::vector<Hyp> hypotheses;
};

struct Expected {
  std::map<std::string, std::string> info;  // key -> rest of the line
  uint32_t logit_scale_bits = 0;
  int32_t logit_zero = 0;
  bool has_logit_params = false;
  std::vector<Case> cases;
};

std::string unhex(const std::string& h) {
  if (h == "-") return "";
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out += static_cast<char>(std::stoul(h.substr(i, 2), nullptr, 16));
  }
  return out;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
uint64_t bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}

template <class T>
std::vector<T> rest_as(std::istringstream& in) {
  std::vector<T> v;
  long long x;
  while (in >> x) v.push_back(static_cast<T>(x));
  return v;
}

Expected read_expected(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + path);
  Expected e;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string tag;
    in >> tag;
    if (tag == "info") {
      std::string key;
      in >> key;
      std::string value;
      std::getline(in, value);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      e.info[key] = value;
    } else if (tag == "logit_params") {
      std::string s;
      in >> s >> e.logit_zero;
      e.logit_scale_bits = static_cast<uint32_t>(std::stoul(s, nullptr, 16));
      e.has_logit_params = true;
    } else if (tag == "input") {
      std::string h;
      in >> h;
      e.cases.push_back({});
      e.cases.back().input = unhex(h);
    } else if (e.cases.empty()) {
      throw std::runtime_error(path + ": expected \"input\" before \"" + tag + "\"");
    } else if (tag == "ids") {
      e.cases.back().ids = rest_as<int32_t>(in);
    } else if (tag == "logits") {
      e.cases.back().logits = rest_as<int>(in);
    } else if (tag == "labels") {
      e.cases.back().labels = rest_as<int32_t>(in);
    } else if (tag == "probabilities") {
      std::string s;
      while (in >> s) {
        e.cases.back().probability_bits.push_back(
            static_cast<uint32_t>(std::stoul(s, nullptr, 16)));
      }
    } else if (tag == "hypothesis") {
      Hyp h;
      std::string sc, lp;
      int fin = 0;
      in >> sc >> lp >> fin;
      h.score_bits = std::stoull(sc, nullptr, 16);
      h.log_prob_bits = std::stoull(lp, nullptr, 16);
      h.finished = fin != 0;
      h.ids = rest_as<int32_t>(in);
      e.cases.back().hypotheses.push_back(h);
    } else {
      throw std::runtime_error(path + ": unknown record \"" + tag + "\"");
    }
  }
  return e;
}

std::string join_floats(const std::vector<float>& v) {
  std::string s;
  for (float f : v) s += std::to_string(bits(f)) + " ";
  return s;
}

// The info fields that every golden file records, against ModelInfo.
void check_info(const Expected& e, const ModelInfo& m, uint32_t version) {
  auto get = [&](const std::string& k) {
    auto it = e.info.find(k);
    EXPECT_NE(it, e.info.end()) << "no info " << k;
    return it == e.info.end() ? std::string() : it->second;
  };
  auto get_int = [&](const std::string& k) { return std::stoll(get(k)); };
  EXPECT_EQ(m.format_version, version);  // each directory pins its format version
  EXPECT_EQ(get_int("format_version"), m.format_version);
  EXPECT_EQ(std::stoul(get("checksum"), nullptr, 16), m.checksum);
  EXPECT_EQ(get_int("file_bytes"), m.file_bytes);
  EXPECT_EQ(get("producer"), m.producer);
  EXPECT_EQ(get("architecture"), m.architecture);
  EXPECT_EQ(get("encoder"), m.encoder);
  std::string labels;
  for (const auto& l : m.labels) labels += (labels.empty() ? "" : " ") + l;
  EXPECT_EQ(get("labels"), labels);
  EXPECT_EQ(get_int("multilabel"), m.multilabel ? 1 : 0);
  std::istringstream th(get("thresholds"));
  std::vector<float> thresholds;
  std::string t;
  while (th >> t) {
    const uint32_t u = static_cast<uint32_t>(std::stoul(t, nullptr, 16));
    float f;
    std::memcpy(&f, &u, sizeof f);
    thresholds.push_back(f);
  }
  EXPECT_EQ(join_floats(thresholds), join_floats(m.thresholds));
  EXPECT_EQ(get("pooling"), m.pooling);
  EXPECT_EQ(get_int("lowercase_ascii"), m.lowercase_ascii ? 1 : 0);
  EXPECT_EQ(get_int("max_length"), m.max_length);
  EXPECT_EQ(get("text_column"), m.text_column);
  std::string cols;
  for (const auto& l : m.label_columns) cols += (cols.empty() ? "" : " ") + l;
  EXPECT_EQ(get("label_columns"), cols);
  const auto ints = golden::info_int_fields(m);
  for (const auto& [k, v] : ints) EXPECT_EQ(get_int(k), v) << k;
  // projection settings: recorded for projection-input models only
  for (const auto& [k, v] : golden::info_projection_fields(m)) {
    if (m.projection_feature_size > 0) {
      EXPECT_EQ(get_int(k), v) << k;
    } else {
      EXPECT_EQ(e.info.count(k), 0u) << k;
      EXPECT_EQ(v, 0) << k;
    }
  }
  std::string pw;
  for (int32_t w : m.pool_windows) pw += (pw.empty() ? "" : " ") + std::to_string(w);
  EXPECT_EQ(get("pool_windows"), pw);
  EXPECT_EQ(get("attention_scale"), m.attention_scale);
  EXPECT_EQ(get("layer_norm"), m.layer_norm);
  EXPECT_EQ(std::stoul(get("length_penalty"), nullptr, 16), bits(m.length_penalty));
  EXPECT_EQ(get("source_checkpoint"), m.source_checkpoint);
}

std::string show(const std::string& s) {
  std::string out;
  char buf[8];
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return "\"" + out + "\"";
}

std::vector<float> as_floats(const std::vector<uint32_t>& b) {
  std::vector<float> v(b.size());
  std::memcpy(v.data(), b.data(), b.size() * sizeof(float));
  return v;
}

struct Golden {
  const char* name;
  const char* architecture;
  const char* encoder;
  uint32_t version = 1;  // the format version of the file (tests/data/models/v<version>/)
};

// The directory of a golden file's format version.
std::string dir_of(const Golden& g) {
  return std::string(BYTELITE_SOURCE_DIR) + "/tests/data/models/v" + std::to_string(g.version) +
         "/";
}

const Golden kClassifiers[] = {{"byteqrnn", "byteqrnn", "qrnn"},
                               {"bytetransformer", "bytetransformer", "transformer"},
                               {"bytefunnel", "bytefunnel", "funnel"}};
const Golden kSeq2Seq[] = {{"seq2seq_transformer", "byteseq2seq", "transformer"},
                           {"seq2seq_qrnn", "byteseq2seq", "qrnn"},
                           {"seq2seq_funnel", "byteseq2seq", "funnel"}};
const Golden kClassifiersV2[] = {{"byteqrnn", "byteqrnn", "qrnn", 2},
                                 {"bytetransformer", "bytetransformer", "transformer", 2},
                                 {"bytefunnel", "bytefunnel", "funnel", 2},
                                 {"pqrnn", "pqrnn", "pqrnn", 2},
                                 {"byteqrnn_proj", "byteqrnn_proj", "qrnn_proj", 2}};
const Golden kSeq2SeqV2[] = {{"seq2seq_transformer", "byteseq2seq", "transformer", 2},
                             {"seq2seq_qrnn", "byteseq2seq", "qrnn", 2},
                             {"seq2seq_funnel", "byteseq2seq", "funnel", 2}};

// The inputs the golden files must cover (issue 13): an empty text, invalid UTF-8 with a NUL
// byte, multi-byte UTF-8, a text longer than max_length.
void check_input_coverage(const Expected& e, int32_t max_length) {
  bool empty = false, nul_invalid = false, multibyte = false, longer = false;
  for (const Case& c : e.cases) {
    empty |= c.input.empty();
    nul_invalid |=
        c.input.find('\0') != std::string::npos && c.input.find('\xff') != std::string::npos;
    multibyte |= c.input.find("\xe6\x97\xa5") != std::string::npos;  // U+65E5, 3 bytes
    longer |= static_cast<int32_t>(c.input.size()) > max_length;
  }
  EXPECT_TRUE(empty && nul_invalid && multibyte && longer);
}

class GoldenClassifier : public ::testing::TestWithParam<Golden> {};

TEST_P(GoldenClassifier, LoadsAndGivesTheRecordedOutputsBitForBit) {
  const Golden g = GetParam();
  const std::string path = dir_of(g) + g.name + ".blt";
  const Expected e = read_expected(dir_of(g) + g.name + ".expected");
  auto model = Model::load(path);
  const ModelInfo& m = model->info();
  EXPECT_EQ(m.architecture, g.architecture);
  EXPECT_EQ(m.encoder, g.encoder);
  EXPECT_EQ(m.path, path);
  check_info(e, m, g.version);
  // really trained with QAT: the exported step is past the 100 warm-up steps of the config
  EXPECT_GE(m.training_step, 300);
  ASSERT_TRUE(e.has_logit_params);
  ASSERT_EQ(e.cases.size(), 7u);
  check_input_coverage(e, m.max_length);
  // the outputs are not constant: two inputs get different logits
  bool differ = false;
  for (const Case& c : e.cases) differ |= c.logits != e.cases[0].logits;
  EXPECT_TRUE(differ);

  std::vector<std::string> texts;
  for (const Case& c : e.cases) texts.push_back(c.input);
  for (KernelIsa isa : Classifier::available_isas()) {
    SCOPED_TRACE(Classifier::isa_name(isa));
    Classifier clf(model, {isa});
    const auto [scale, zero] = clf.logit_params();
    EXPECT_EQ(bits(scale), e.logit_scale_bits);
    EXPECT_EQ(zero, e.logit_zero);
    const std::vector<Prediction> batch = clf.classify_batch(texts, 2);
    for (size_t i = 0; i < e.cases.size(); ++i) {
      const Case& c = e.cases[i];
      SCOPED_TRACE("input " + show(c.input));
      const auto ids = clf.encode(c.input);
      EXPECT_EQ(ids, c.ids);
      const auto q = clf.logits(ids);
      EXPECT_EQ(std::vector<int>(q.begin(), q.end()), c.logits);
      const Prediction p = clf.classify(c.input);
      // exactly the same floats (compared as bits: EXPECT_EQ on the vectors prints values)
      EXPECT_EQ(p.probabilities, as_floats(c.probability_bits));
      EXPECT_EQ(join_floats(p.probabilities), join_floats(as_floats(c.probability_bits)));
      EXPECT_EQ(p.labels, c.labels);
      EXPECT_EQ(join_floats(batch[i].probabilities), join_floats(p.probabilities));
      EXPECT_EQ(batch[i].labels, c.labels);
    }
  }
}

// Batched inference (several texts per forward pass, docs/runtime.md "Batched inference"): every
// batch size and thread count gives each text exactly its one-text-at-a-time probabilities (the
// same float bits) and labels, on every kernel path. The texts: the golden inputs, 300 OLID test
// lines (whole TSV lines: any bytes are a text) and texts of every length 0..max_length + 3 in
// shuffled order, so that batches mix short, long and truncated texts.
TEST_P(GoldenClassifier, BatchedInferenceEqualsOneTextAtATime) {
  const Golden g = GetParam();
  const Expected e = read_expected(dir_of(g) + g.name + ".expected");
  auto model = Model::load(dir_of(g) + g.name + ".blt");
  std::vector<std::string> texts;
  for (const Case& c : e.cases) texts.push_back(c.input);
  std::ifstream olid(std::string(BYTELITE_SOURCE_DIR) + "/data/olid/test.tsv", std::ios::binary);
  std::string line;
  for (int i = 0; i < 300 && std::getline(olid, line); ++i) texts.push_back(line);
  ASSERT_EQ(texts.size(), e.cases.size() + 300);
  const int32_t max_len = model->info().max_length;
  uint32_t rng = 12345;
  auto next = [&rng]() { return rng = rng * 1664525u + 1013904223u; };
  std::vector<std::string> by_length;
  for (int32_t n = 0; n <= max_len + 3; ++n) {
    std::string t;
    for (int32_t i = 0; i < n; ++i) t.push_back(static_cast<char>(next() >> 24));
    by_length.push_back(t);
  }
  for (size_t i = by_length.size(); i > 1; --i) std::swap(by_length[i - 1], by_length[next() % i]);
  texts.insert(texts.end(), by_length.begin(), by_length.end());
  for (KernelIsa isa : Classifier::available_isas()) {
    SCOPED_TRACE(Classifier::isa_name(isa));
    Classifier clf(model, {isa});
    std::vector<Prediction> want;
    for (const auto& t : texts) want.push_back(clf.classify(t));
    // the outputs are not all the same
    bool differ = false;
    for (const auto& p : want) differ |= p.probabilities != want[0].probabilities;
    EXPECT_TRUE(differ);
    for (int batch : {1, 2, 7, 32, 1000}) {
      for (int threads : {1, 3}) {
        const std::vector<Prediction> got = clf.classify_batch(texts, threads, batch);
        ASSERT_EQ(got.size(), texts.size());
        for (size_t i = 0; i < texts.size(); ++i) {
          ASSERT_EQ(join_floats(got[i].probabilities), join_floats(want[i].probabilities))
              << "batch " << batch << " threads " << threads << " text " << i;
          ASSERT_EQ(got[i].labels, want[i].labels);
        }
      }
      // classify_texts over all texts at once (several passes of `batch`), and
      // classify_probabilities (the probabilities alone, [n, C]), on reused outputs.
      std::vector<Prediction> got(texts.size(), want.back());
      clf.classify_texts(texts.data(), texts.size(), got.data(), batch);
      const size_t C = model->info().labels.size();
      std::vector<float> probs(texts.size() * C, -1.0f);
      const std::vector<std::string_view> views(texts.begin(), texts.end());
      clf.classify_probabilities(views.data(), views.size(), probs.data(), batch);
      for (size_t i = 0; i < texts.size(); ++i) {
        ASSERT_EQ(join_floats(got[i].probabilities), join_floats(want[i].probabilities))
            << "batch " << batch << " text " << i;
        ASSERT_EQ(got[i].labels, want[i].labels);
        ASSERT_EQ(
            join_floats(std::vector<float>(probs.begin() + i * C, probs.begin() + (i + 1) * C)),
            join_floats(want[i].probabilities))
            << "batch " << batch << " text " << i;
      }
    }
  }
  Classifier clf(model);
  EXPECT_THROW(clf.classify_batch(texts, 1, 0), InvalidArgument);
  std::vector<Prediction> one(1);
  std::vector<float> probs(model->info().labels.size());
  EXPECT_THROW(clf.classify_texts(texts.data(), 1, one.data(), 0), InvalidArgument);
  const std::string_view view = texts[0];
  EXPECT_THROW(clf.classify_probabilities(&view, 1, probs.data(), 0), InvalidArgument);
  EXPECT_TRUE(clf.classify_batch({}, 2, 4).empty());
}

TEST_P(GoldenClassifier, LoadsFromMemoryWithTheSameInfo) {
  const Golden g = GetParam();
  std::ifstream f(dir_of(g) + g.name + ".blt", std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string bytes = ss.str();
  auto model = Model::from_bytes(bytes, "mem.blt");
  EXPECT_EQ(model->info().file_bytes, static_cast<int64_t>(bytes.size()));
  check_info(read_expected(dir_of(g) + g.name + ".expected"), model->info(), g.version);
  // one flipped payload byte: the checksum catches it (the header is 32 bytes)
  std::string bad = bytes;
  bad[bad.size() / 2] ^= 0x10;
  EXPECT_THROW(Model::from_bytes(bad, "flip.blt"), ModelFileError);
}

INSTANTIATE_TEST_SUITE_P(V1, GoldenClassifier, ::testing::ValuesIn(kClassifiers),
                         [](const auto& i) { return std::string(i.param.name); });
INSTANTIATE_TEST_SUITE_P(V2, GoldenClassifier, ::testing::ValuesIn(kClassifiersV2),
                         [](const auto& i) { return std::string(i.param.name); });

class GoldenSeq2Seq : public ::testing::TestWithParam<Golden> {};

TEST_P(GoldenSeq2Seq, LoadsAndGivesTheRecordedHypothesesBitForBit) {
  const Golden g = GetParam();
  const std::string path = dir_of(g) + g.name + ".blt";
  const Expected e = read_expected(dir_of(g) + g.name + ".expected");
  auto model = Model::load(path);
  const ModelInfo& m = model->info();
  EXPECT_EQ(m.architecture, g.architecture);
  EXPECT_EQ(m.encoder, g.encoder);
  check_info(e, m, g.version);
  EXPECT_TRUE(m.labels.empty());
  EXPECT_GE(m.training_step, 1000);
  ASSERT_EQ(e.cases.size(), 8u);
  check_input_coverage(e, m.max_length);
  // Classifier refuses a seq2seq file, as before
  EXPECT_ANY_THROW(Classifier{model});

  std::vector<std::string> sources;
  for (const Case& c : e.cases) sources.push_back(c.input);
  size_t finished = 0, nonempty_texts = 0;
  for (KernelIsa isa : Classifier::available_isas()) {
    SCOPED_TRACE(Classifier::isa_name(isa));
    GenerateOptions o;
    o.n_best = m.beam_size;
    o.isa = isa;
    Seq2SeqGenerator gen(model, o);
    const auto batch = generate_batch(model, sources, o, 2);
    for (size_t i = 0; i < e.cases.size(); ++i) {
      const Case& c = e.cases[i];
      SCOPED_TRACE("input " + show(c.input));
      EXPECT_EQ(gen.encode(c.input), c.ids);
      const auto hyps = gen.generate(c.input);
      ASSERT_EQ(hyps.size(), c.hypotheses.size());
      ASSERT_EQ(batch[i].size(), c.hypotheses.size());
      for (size_t k = 0; k < hyps.size(); ++k) {
        const Hyp& want = c.hypotheses[k];
        EXPECT_EQ(hyps[k].ids, want.ids) << "hypothesis " << k;
        EXPECT_EQ(bits(hyps[k].score), want.score_bits) << "hypothesis " << k;
        EXPECT_EQ(bits(hyps[k].log_prob), want.log_prob_bits) << "hypothesis " << k;
        EXPECT_EQ(hyps[k].finished, want.finished) << "hypothesis " << k;
        EXPECT_EQ(batch[i][k].ids, want.ids);
        EXPECT_EQ(bits(batch[i][k].score), want.score_bits);
        finished += want.finished;
        nonempty_texts += !hyps[k].text.empty();
      }
    }
  }
  // a trained model: most hypotheses end with EOS and say something
  EXPECT_GT(finished, 0u);
  EXPECT_GT(nonempty_texts, 0u);
}

INSTANTIATE_TEST_SUITE_P(V1, GoldenSeq2Seq, ::testing::ValuesIn(kSeq2Seq),
                         [](const auto& i) { return std::string(i.param.name); });
INSTANTIATE_TEST_SUITE_P(V2, GoldenSeq2Seq, ::testing::ValuesIn(kSeq2SeqV2),
                         [](const auto& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace bytelite
