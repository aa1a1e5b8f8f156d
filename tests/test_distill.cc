// Training augmentation and distillation pieces (docs/distillation.md): text distortion
// statistics on fixed seeds, the distorted training batch, the teacher scores reader and its
// one-line errors, the distillation loss against hand computations, the config keys, the
// trainer's use of both, and the training-side projection input against the runtime's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "core/byte_tokenizer.h"
#include "core/dataset.h"
#include "core/errors.h"
#include "runtime/ops/projection.h"
#include "train/batcher.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/projection_input.h"
#include "train/teacher_scores.h"
#include "train/text_distortion.h"
#include "train/trainer.h"
#include "train_test_util.h"

namespace bytelite {
namespace {

using testutil::fresh_dir;
using testutil::head_tsv;
using testutil::read_all;
using testutil::source_path;
using testutil::write_file;

std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    const size_t j = std::min(s.find(' ', i), s.size());
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = rt::utf8_char_length(s, i);
    if (n == 1 && static_cast<unsigned char>(s[i]) >= 0x80) return false;
    i += n;
  }
  return true;
}

// ---- text distortion ----

TEST(Distortion, ZeroProbabilityIsIdentity) {
  const std::string text = "  Hello,\tworld \xff\xfe caf\xc3\xa9\n\nend ";
  DistortionCounts n;
  EXPECT_EQ(distort_text(text, 0.0, 7, &n), text);
  EXPECT_EQ(n.words, 5);
  EXPECT_EQ(n.selected, 0);
  EXPECT_EQ(distort_text("", 0.5, 7), "");
}

// 30,000 words of 5 distinct letters in one text, p = 0.3, fixed seed. Each edit is expected on
// p/3 of the words (3,000; standard deviation ~52), checked within 5% both from the counts
// distort_text reports and from the output words themselves; deletion positions are uniform
// (600 each, sd ~24, checked within 15%); a move never gives back the word; an insertion puts
// back the character deleted last.
TEST(Distortion, EditRatesOnFixedSeed) {
  const int W = 30000;
  const double p = 0.3;
  std::vector<std::string> words;
  std::string text;
  for (int i = 0; i < W; ++i) {
    std::string w = "abcdefghijklmnopqrstuvwxyz";
    std::rotate(w.begin(), w.begin() + (i * 7) % 26, w.end());
    w = w.substr(0, 5);
    words.push_back(w);
    text += (i ? " " : "") + w;
  }
  DistortionCounts n;
  const std::vector<std::string> out = split_spaces(distort_text(text, p, 12345, &n));
  ASSERT_EQ(out.size(), words.size());
  int64_t del = 0, mov = 0, ins = 0, same = 0;
  std::vector<int64_t> del_pos(5, 0);
  char last_deleted = 0;
  for (int i = 0; i < W; ++i) {
    const std::string& a = words[i];
    const std::string& b = out[i];
    if (b == a) {
      ++same;
    } else if (b.size() == 4) {
      ++del;
      size_t k = 0;
      while (k < 4 && a[k] == b[k]) ++k;
      ASSERT_EQ(a.substr(0, k) + a.substr(k + 1), b) << "not one deletion: " << a << " " << b;
      ++del_pos[k];
      last_deleted = a[k];
    } else if (b.size() == 5) {
      ++mov;
      std::string sa = a, sb = b;
      std::sort(sa.begin(), sa.end());
      std::sort(sb.begin(), sb.end());
      ASSERT_EQ(sa, sb) << "a move changed the characters: " << a << " " << b;
    } else {
      ASSERT_EQ(b.size(), 6u) << a << " -> " << b;
      ++ins;
      size_t k = 0;
      while (k < 5 && a[k] == b[k]) ++k;
      ASSERT_EQ(b.substr(0, k) + b.substr(k + 1), a) << "not one insertion: " << a << " " << b;
      EXPECT_EQ(b[k], last_deleted) << "inserted a character other than the last deleted one";
    }
  }
  EXPECT_EQ(n.words, W);
  EXPECT_EQ(n.deleted, del);
  EXPECT_EQ(n.moved, mov);
  EXPECT_EQ(n.inserted, ins);
  EXPECT_EQ(n.selected, del + mov + ins + n.unchanged);
  EXPECT_EQ(same, W - del - mov - ins);
  const double each = p / 3 * W;
  EXPECT_NEAR(n.selected, p * W, 0.05 * p * W);
  EXPECT_NEAR(del, each, 0.05 * each);
  EXPECT_NEAR(mov, each, 0.05 * each);
  EXPECT_NEAR(ins, each, 0.05 * each);  // only the inserts before the first deletion are lost
  EXPECT_LE(n.unchanged, 5);
  for (int k = 0; k < 5; ++k) EXPECT_NEAR(del_pos[k], del / 5.0, 0.15 * del / 5.0) << k;
}

// Words shorter than 3 characters are never moved; a one-character word can be deleted whole.
TEST(Distortion, ShortWordsAreNotMoved) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += i % 2 ? "ab " : "c ";
  DistortionCounts n;
  const std::string out = distort_text(text, 1.0, 3, &n);
  EXPECT_EQ(n.moved, 0);
  EXPECT_NEAR(n.unchanged, 3000 / 3.0, 150);  // every move edit is a no-op
  EXPECT_GT(n.deleted, 900);
  EXPECT_EQ(std::count(out.begin(), out.end(), ' '), 3000);  // whitespace never changes
}

// Valid UTF-8 stays valid: edits move whole characters. Over 300 seeds at p = 1 every output is
// valid UTF-8 and made of the input's characters.
TEST(Distortion, Utf8StaysValid) {
  const std::string text =
      "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80\xf0\x9f\x91"
      "\x8d! \xd1\x82\xd0\xb5\xd0\xba\xd1\x81\xd1\x82";
  ASSERT_TRUE(valid_utf8(text));
  auto chars = [](const std::string& s) {
    std::map<std::string, int> m;
    for (size_t i = 0; i < s.size(); i += rt::utf8_char_length(s, i))
      ++m[s.substr(i, rt::utf8_char_length(s, i))];
    return m;
  };
  const auto in_chars = chars(text);
  int changed = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const std::string out = distort_text(text, 1.0, seed);
    ASSERT_TRUE(valid_utf8(out)) << "seed " << seed;
    for (const auto& [c, k] : chars(out)) {
      EXPECT_TRUE(in_chars.count(c)) << "seed " << seed << " made a new character";
    }
    changed += out != text;
  }
  EXPECT_GT(changed, 290);
}

TEST(Distortion, SeededAndReproducible) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "word" + std::to_string(i) + " ";
  EXPECT_EQ(distort_text(text, 0.2, 99), distort_text(text, 0.2, 99));
  EXPECT_NE(distort_text(text, 0.2, 99), distort_text(text, 0.2, 100));
  EXPECT_NE(distortion_seed(1, 0, 5), distortion_seed(1, 1, 5));
  EXPECT_NE(distortion_seed(1, 0, 5), distortion_seed(1, 0, 6));
  EXPECT_NE(distortion_seed(1, 0, 5), distortion_seed(2, 0, 5));
  EXPECT_THROW(distort_text(text, 1.5, 1), InvalidArgument);
  EXPECT_THROW(distort_text(text, -0.1, 1), InvalidArgument);
}

// ---- the distorted training batch ----

EncodedDataset tiny_encoded(const std::vector<std::string>& texts, int max_length = 256) {
  Dataset d;
  d.label_names = {"a", "b"};
  for (size_t i = 0; i < texts.size(); ++i) {
    Example ex;
    ex.text = texts[i];
    ex.label = static_cast<int32_t>(i % 2);
    d.examples.push_back(ex);
  }
  return encode_dataset(d, ByteTokenizer(max_length, true));
}

TEST(Batcher, DistortedBatchIsDistortTextOfEachExample) {
  const std::vector<std::string> texts = {"The quick brown fox jumps over the lazy dog", "",
                                          "Hello there, how are you today?",
                                          "one two three four five six seven"};
  EncodedDataset data = tiny_encoded(texts);
  const std::vector<int64_t> idx = {2, 0, 3, 1};
  const Batch plain = make_batch(data, idx);
  const Batch same = make_batch(data, idx, 0.0, 5, 0);
  EXPECT_TRUE(torch::equal(plain.ids, same.ids));
  EXPECT_TRUE(torch::equal(plain.labels, same.labels));
  const Batch d0 = make_batch(data, idx, 0.5, 5, 0);
  const Batch d1 = make_batch(data, idx, 0.5, 5, 1);
  EXPECT_TRUE(torch::equal(plain.labels, d0.labels));
  EXPECT_FALSE(torch::equal(d0.ids, d1.ids)) << "the epoch does not change the distortion";
  for (int64_t r = 0; r < static_cast<int64_t>(idx.size()); ++r) {
    const std::string want =
        distort_text(ByteTokenizer::decode(data.ids[idx[r]]), 0.5, distortion_seed(5, 0, idx[r]));
    std::vector<int32_t> got;
    for (int64_t t = 0; t < d0.ids.size(1); ++t) {
      if (d0.mask[r][t].item<float>() > 0)
        got.push_back(static_cast<int32_t>(d0.ids[r][t].item<int64_t>()));
    }
    EXPECT_EQ(ByteTokenizer::decode(got), want) << "row " << r;
    if (want.empty()) {
      EXPECT_EQ(got, (std::vector<int32_t>{kPadId}));
    }
  }
  // insertions can lengthen a text: the batch cuts it to the tokenizer's max_length again
  EncodedDataset shortened = tiny_encoded({"aa bb cc dd ee ff gg hh"}, 8);
  int64_t longest = 0;
  for (int64_t epoch = 0; epoch < 50; ++epoch) {
    longest = std::max(longest, make_batch(shortened, {0}, 1.0, 1, epoch).ids.size(1));
  }
  EXPECT_EQ(longest, 8);
}

// ---- teacher scores ----

struct TeacherFiles {
  std::string dir, data;
  Dataset dataset;
};

// A single-label data file (TSV, lines 2-5 are the rows) and its Dataset.
TeacherFiles teacher_fixture(const std::string& tag) {
  TeacherFiles f;
  f.dir = fresh_dir(tag);
  f.data = write_file(f.dir + "/train.tsv",
                      "text\tlabel\nyou are great\tNOT\nyou are awful\tOFF\n"
                      "back\\slash\tNOT\nsame text\tOFF\n");
  DataSpec spec;
  f.dataset = read_dataset(f.data, spec);
  return f;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TeacherScores, ReadsEscapesAnyLabelOrderAndRenormalizes) {
  TeacherFiles f = teacher_fixture("ok");
  const std::string path = write_file(f.dir + "/teacher.tsv",
                                      "text\tOFF\tNOT\r\n"
                                      "you are awful\t0.9\t0.1\r\n"
                                      "unrelated\\ttab\\nnewline\t0.5\t0.5\r\n"
                                      "\r\n"
                                      "you are great\t0.2\t0.8002\r\n"
                                      "back\\\\slash\t0\t1\n"
                                      "same text\t0.75\t0.25");
  const TeacherScores t = read_teacher_scores(path, true);
  EXPECT_EQ(t.labels, (std::vector<std::string>{"OFF", "NOT"}));
  EXPECT_EQ(t.size(), 5u);
  EXPECT_EQ(t.lines, (std::vector<int64_t>{2, 3, 5, 6, 7}));
  ASSERT_TRUE(t.row.count("unrelated\ttab\nnewline"));
  EXPECT_EQ(f.dataset.label_names, (std::vector<std::string>{"NOT", "OFF"}));
  const std::vector<float> p = teacher_targets(t, f.dataset);
  // data order (NOT, OFF); the third row is renormalized: 0.8002 / 1.0002, 0.2 / 1.0002
  const std::vector<float> want = {static_cast<float>(0.8002 / 1.0002),
                                   static_cast<float>(0.2 / 1.0002),
                                   0.1f,
                                   0.9f,
                                   1.0f,
                                   0.0f,
                                   0.25f,
                                   0.75f};
  ASSERT_EQ(p.size(), want.size());
  for (size_t i = 0; i < p.size(); ++i) EXPECT_FLOAT_EQ(p[i], want[i]) << i;
  // the same file gzip-compressed
  ASSERT_EQ(testutil::run_cmd("gzip -k '" + path + "'").code, 0);
  EXPECT_EQ(teacher_targets(read_teacher_scores(path + ".gz", true), f.dataset), p);
}

TEST(TeacherScores, MissingTextNamesTheDataFileAndLine) {
  TeacherFiles f = teacher_fixture("missing");
  const std::string path = write_file(f.dir + "/teacher.tsv",
                                      "text\tNOT\tOFF\nyou are great\t1\t0\nyou are awful\t0\t1\n"
                                      "same text\t0.5\t0.5\n");
  const TeacherScores t = read_teacher_scores(path, true);
  EXPECT_EQ(error_of([&] { teacher_targets(t, f.dataset); }),
            f.data + ":4: expected a teacher score in " + path +
                " for this text, found none (text \"back\\\\slash\")");
}

TEST(TeacherScores, LabelSetDifferingFromTheDataIsAnError) {
  TeacherFiles f = teacher_fixture("labels");
  const std::string path = write_file(f.dir + "/teacher.tsv", "text\tNOT\tHATE\nx\t0.5\t0.5\n");
  const TeacherScores t = read_teacher_scores(path, true);
  EXPECT_EQ(error_of([&] { teacher_targets(t, f.dataset); }),
            path + ":1: expected the labels of " + f.data +
                " (\"NOT\", \"OFF\") in any order, found (\"NOT\", \"HATE\")");
}

TEST(TeacherScores, EachBadValueIsAOneLineErrorNamingFileAndLine) {
  const std::string dir = fresh_dir("bad");
  struct Case {
    std::string body, error;
    bool single_label = true;
  };
  const std::vector<Case> cases = {
      {"text\tNOT\tOFF\nok\t0.5\t0.5\nbad\t0.5\t0.4\n",
       ":3: expected probabilities summing to 1 (within 1e-3; the labels are exclusive), as the "
       "data is single-label, found a sum of 0.9"},
      {"text\tNOT\tOFF\nbad\tnan\t0.5\n",
       ":2: expected a probability for label \"NOT\" that is a finite number, found \"nan\""},
      {"text\tNOT\tOFF\nok\t0.5\t0.5\nbad\t0.5\tinf\n",
       ":3: expected a probability for label \"OFF\" that is a finite number, found \"inf\""},
      {"text\tNOT\tOFF\nbad\t1.5\t-0.5\n",
       ":2: expected a probability for label \"NOT\" in [0, 1], found \"1.5\""},
      {"text\tNOT\tOFF\nbad\t0.5\tabc\n",
       ":2: expected a probability for label \"OFF\", found \"abc\""},
      {"text\tNOT\tOFF\nbad\t0.5\n",
       ":2: expected 3 tab-separated fields (the text and one probability per label), found 2"},
      {"text\tNOT\tOFF\nsame\t0.5\t0.5\nother\t1\t0\nsame\t0.5\t0.5\n",
       ":4: expected each text once, found a repeat of the text of line 2"},
      {"text\tNOT\tOFF\nbad \\x\t0.5\t0.5\n",
       ":2: expected one of the escapes \\\\ \\t \\n \\r in the text, found \"\\\\x\""},
      {"label\tNOT\tOFF\nx\t0.5\t0.5\n",
       ":1: expected a header \"text<TAB>label<TAB>label...\" naming the labels, found "
       "\"label\\tNOT\\tOFF\""},
      {"text\tNOT\tNOT\nx\t0.5\t0.5\n",
       ":1: expected distinct non-empty label names in the header, found \"NOT\" twice"},
      {"text\tNOT\tOFF\n", ":2: expected at least one row of scores, found none"},
      {"", ":1: expected a header \"text<TAB>label<TAB>label...\", found an empty file"},
      // multi-label: no sum rule, but each value in [0, 1] and finite
      {"text\ta\tb\nx\t0.9\t0.9\ny\t0.5\t-inf\n",
       ":3: expected a probability for label \"b\" that is a finite number, found \"-inf\"", false},
  };
  int i = 0;
  for (const Case& c : cases) {
    const std::string path = write_file(dir + "/t" + std::to_string(i++) + ".tsv", c.body);
    const std::string e = error_of([&] { read_teacher_scores(path, c.single_label); });
    EXPECT_EQ(e, path + c.error);
    EXPECT_EQ(e.find('\n'), std::string::npos) << "not one line: " << e;
  }
  EXPECT_NE(error_of([&] { read_teacher_scores(dir + "/none.tsv", true); }).find(dir + "/none.tsv"),
            std::string::npos);
}

// The shipped OLID teacher (scripts/teacher/build_teacher.py): it covers every training text,
// it says more about the offensive examples than about the others, and it scores no validation
// or test text that is not also a training text (the unlabelled pool never brings one in).
TEST(TeacherScores, ShippedOlidTeacherCoversTheTrainingSetAndNoHeldOutText) {
  DataSpec spec;
  const Dataset train = read_dataset(source_path("data/olid/train.tsv"), spec);
  const TeacherScores t =
      read_teacher_scores(source_path("data/teacher/olid_charngram_lr.tsv.gz"), true);
  EXPECT_GT(t.size(), 60000u);
  const std::vector<float> p = teacher_targets(t, train);
  ASSERT_EQ(train.label_names, (std::vector<std::string>{"not-offensive", "offensive"}));
  double off[2] = {0, 0}, n[2] = {0, 0};
  for (size_t i = 0; i < train.examples.size(); ++i) {
    off[train.examples[i].label] += p[2 * i + 1];
    n[train.examples[i].label] += 1;
  }
  EXPECT_GT(off[1] / n[1], off[0] / n[0] + 0.2)
      << "mean p(offensive): offensive " << off[1] / n[1] << ", not " << off[0] / n[0];
  std::set<std::string> train_texts;
  for (const Example& ex : train.examples) train_texts.insert(ex.text);
  for (const char* split : {"data/olid/valid.tsv", "data/olid/test.tsv"}) {
    for (const Example& ex : read_dataset(source_path(split), spec, train.label_names).examples) {
      EXPECT_TRUE(!t.row.count(ex.text) || train_texts.count(ex.text))
          << split << ":" << ex.line << " is in the teacher file";
    }
  }
}

// ---- the distillation loss ----

TEST(DistillationLoss, SingleLabelEqualsHandComputation) {
  // Row 0: logits (0, 2 ln 3), label 1, teacher (0.2, 0.8). At T = 2: q_T = softmax(0, ln 3) =
  // (1/4, 3/4) and p_T = (sqrt 0.2, sqrt 0.8) / sum = (1/3, 2/3), so KL = 1/3 ln(4/3) +
  // 2/3 ln(8/9); at T = 1, q = (1/10, 9/10) and CE = ln(10/9).
  // Row 1: logits (ln 2, 0), label 0, teacher (1, 0) (a zero probability). p_T = (1, 0),
  // q_T = (sqrt 2, 1) / (sqrt 2 + 1), KL = ln((sqrt 2 + 1) / sqrt 2); q = (2/3, 1/3), CE = ln(3/2).
  const torch::Tensor logits =
      torch::tensor({0.0, 2 * std::log(3.0), std::log(2.0), 0.0}, torch::kFloat)
          .reshape({2, 2})
          .clone()
          .set_requires_grad(true);
  const torch::Tensor labels = torch::tensor({1, 0}, torch::kLong);
  const torch::Tensor teacher = torch::tensor({0.2f, 0.8f, 1.0f, 0.0f}).reshape({2, 2});
  const double kl0 = std::log(4.0 / 3) / 3 + 2 * std::log(8.0 / 9) / 3;
  const double kl1 = std::log((std::sqrt(2.0) + 1) / std::sqrt(2.0));
  const double ce0 = std::log(10.0 / 9), ce1 = std::log(1.5);
  const double alpha = 0.3, T = 2.0;
  const double want = alpha * (ce0 + ce1) / 2 + (1 - alpha) * T * T * (kl0 + kl1) / 2;
  torch::Tensor loss = distillation_loss(logits, labels, teacher, false, alpha, T);
  EXPECT_NEAR(loss.item<double>(), want, 1e-6);
  loss.backward();
  EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>());
  // alpha = 1: the plain (class-weighted) cross-entropy; weights (1, 3): (3 ce0 + 1 ce1) / 4
  const torch::Tensor w = torch::tensor({1.0f, 3.0f});
  EXPECT_NEAR(distillation_loss(logits, labels, teacher, false, 1.0, T, w).item<double>(),
              (3 * ce0 + ce1) / 4, 1e-6);
  // alpha = 0: only the teacher term
  EXPECT_NEAR(distillation_loss(logits, labels, teacher, false, 0.0, T).item<double>(),
              T * T * (kl0 + kl1) / 2, 1e-6);
  // a teacher equal to the student at T gives KL 0
  const torch::Tensor self = torch::softmax(logits.detach(), 1);
  EXPECT_NEAR(distillation_loss(logits, labels, self, false, 0.0, 1.0).item<double>(), 0.0, 1e-6);
}

TEST(DistillationLoss, MultiLabelEqualsHandComputation) {
  // logit 2 ln 2, target 1, teacher 0.2, T = 2: BCE = -ln sigmoid(2 ln 2) = ln(5/4);
  // p_T = sigmoid(ln(0.25) / 2) = 1/3, q_T = sigmoid(ln 2) = 2/3,
  // KL = 1/3 ln(1/2) + 2/3 ln 2 = (ln 2) / 3.
  // Second label: logit 0, target 0, teacher 0.5: BCE = ln 2, p_T = q_T = 1/2, KL = 0.
  const torch::Tensor logits =
      torch::tensor({2 * std::log(2.0), 0.0}, torch::kFloat).reshape({1, 2});
  const torch::Tensor targets = torch::tensor({1.0f, 0.0f}).reshape({1, 2});
  const torch::Tensor teacher = torch::tensor({0.2f, 0.5f}).reshape({1, 2});
  const double alpha = 0.25, T = 2.0;
  const double want =
      alpha * (std::log(1.25) + std::log(2.0)) / 2 + (1 - alpha) * T * T * (std::log(2.0) / 3) / 2;
  EXPECT_NEAR(distillation_loss(logits, targets, teacher, true, alpha, T).item<double>(), want,
              1e-6);
}

TEST(DistillationLoss, BadAlphaOrTemperatureThrows) {
  const torch::Tensor logits = torch::zeros({1, 2});
  const torch::Tensor labels = torch::zeros({1}, torch::kLong);
  const torch::Tensor teacher = torch::full({1, 2}, 0.5f);
  EXPECT_THROW(distillation_loss(logits, labels, teacher, false, 1.5, 1.0), InvalidArgument);
  EXPECT_THROW(distillation_loss(logits, labels, teacher, false, 0.5, 0.0), InvalidArgument);
}

TEST(DistillationLoss, MixedBatchOfLabelledAndPoolRowsEqualsHandComputation) {
  // The two rows of SingleLabelEqualsHandComputation, row 0 labelled (label 1) and row 1 a pool
  // row (teacher only): hard = CE of row 0 alone, soft = the mean KL of both rows.
  const torch::Tensor logits =
      torch::tensor({0.0, 2 * std::log(3.0), std::log(2.0), 0.0}, torch::kFloat)
          .reshape({2, 2})
          .clone()
          .set_requires_grad(true);
  const torch::Tensor teacher = torch::tensor({0.2f, 0.8f, 1.0f, 0.0f}).reshape({2, 2});
  const double kl0 = std::log(4.0 / 3) / 3 + 2 * std::log(8.0 / 9) / 3;
  const double kl1 = std::log((std::sqrt(2.0) + 1) / std::sqrt(2.0));
  const double ce0 = std::log(10.0 / 9);
  const double T = 2.0;
  const DistillationTerms t =
      distillation_terms(logits, torch::tensor({1}, torch::kLong), teacher, 1, false, T);
  EXPECT_NEAR(t.hard.item<double>(), ce0, 1e-6);
  EXPECT_NEAR(t.soft.item<double>(), (kl0 + kl1) / 2, 1e-6);
  // the trainer's loss for alpha 0.3: 0.3 CE(row 0) + 0.7 T^2 (KL0 + KL1) / 2
  const double alpha = 0.3;
  torch::Tensor loss = alpha * t.hard + (1 - alpha) * T * T * t.soft;
  EXPECT_NEAR(loss.item<double>(), alpha * ce0 + (1 - alpha) * T * T * (kl0 + kl1) / 2, 1e-6);
  // the pool row's gradient comes from the soft term alone: d/dz of 0.7 T^2 KL1 / 2 at T = 2 is
  // 0.7 * T / 2 * (q_T - p_T) = 0.7 * (q_T - (1, 0)), q_T = (sqrt 2, 1) / (sqrt 2 + 1)
  loss.backward();
  const double q0 = std::sqrt(2.0) / (std::sqrt(2.0) + 1);
  EXPECT_NEAR(logits.grad()[1][0].item<double>(), (1 - alpha) * (q0 - 1), 1e-6);
  EXPECT_NEAR(logits.grad()[1][1].item<double>(), (1 - alpha) * (1 - q0), 1e-6);
  // no labelled row: no hard term; every row labelled: distillation_loss
  const DistillationTerms none =
      distillation_terms(logits, torch::zeros({0}, torch::kLong), teacher, 0, false, T);
  EXPECT_EQ(none.hard.item<double>(), 0.0);
  EXPECT_NEAR(none.soft.item<double>(), (kl0 + kl1) / 2, 1e-6);
  const torch::Tensor labels = torch::tensor({1, 0}, torch::kLong);
  const DistillationTerms all = distillation_terms(logits, labels, teacher, 2, false, T);
  EXPECT_TRUE(torch::equal(alpha * all.hard + (1 - alpha) * T * T * all.soft,
                           distillation_loss(logits, labels, teacher, false, alpha, T)));
  EXPECT_THROW(distillation_terms(logits, labels, teacher, 3, false, T), InvalidArgument);
  EXPECT_THROW(distillation_terms(logits, labels, teacher, -1, false, T), InvalidArgument);
  // multi-label: row 0 of MultiLabelEqualsHandComputation labelled, a pool row with logits 0 and
  // teacher 0.5 (KL 0): hard = BCE of row 0, soft = (ln 2 / 3 + 0 + 0 + 0) / 4
  const torch::Tensor ml =
      torch::tensor({2 * std::log(2.0), 0.0, 0.0, 0.0}, torch::kFloat).reshape({2, 2});
  const DistillationTerms m =
      distillation_terms(ml, torch::tensor({1.0f, 0.0f}).reshape({1, 2}),
                         torch::tensor({0.2f, 0.5f, 0.5f, 0.5f}).reshape({2, 2}), 1, true, T);
  EXPECT_NEAR(m.hard.item<double>(), (std::log(1.25) + std::log(2.0)) / 2, 1e-6);
  EXPECT_NEAR(m.soft.item<double>(), std::log(2.0) / 3 / 4, 1e-6);
}

// ---- the unlabelled pool ----

TEST(PoolSampler, EveryPoolRowOncePerPoolEpochAndStepsDependOnlyOnSeedAndStep) {
  const int64_t n = 10, rows = 3;
  PoolSampler s(n, rows, 7);
  std::vector<int64_t> seq;
  for (int64_t step = 0; step < 10; ++step) {
    const std::vector<int64_t> r = s.step_rows(step);
    ASSERT_EQ(r.size(), 3u);
    seq.insert(seq.end(), r.begin(), r.end());
  }
  // 30 positions = 3 pool epochs of 10: each a permutation of 0..9
  for (int e = 0; e < 3; ++e) {
    std::vector<int64_t> epoch(seq.begin() + 10 * e, seq.begin() + 10 * (e + 1));
    std::sort(epoch.begin(), epoch.end());
    std::vector<int64_t> want(10);
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(epoch, want) << "pool epoch " << e;
  }
  // the pool epochs are different shuffles, not one order repeated
  EXPECT_NE(std::vector<int64_t>(seq.begin(), seq.begin() + 10),
            std::vector<int64_t>(seq.begin() + 10, seq.begin() + 20));
  // a fresh sampler asked out of order (as after --resume) gives the same rows
  PoolSampler t(n, rows, 7);
  EXPECT_EQ(t.step_rows(9), std::vector<int64_t>(seq.begin() + 27, seq.end()));
  EXPECT_EQ(t.step_rows(3), std::vector<int64_t>(seq.begin() + 9, seq.begin() + 12));
  EXPECT_EQ(t.step_rows(0), std::vector<int64_t>(seq.begin(), seq.begin() + 3));
  // another seed, another order
  PoolSampler u(n, rows, 8);
  std::vector<int64_t> other;
  for (int64_t step = 0; step < 4; ++step) {
    const std::vector<int64_t> r = u.step_rows(step);
    other.insert(other.end(), r.begin(), r.end());
  }
  EXPECT_NE(other, std::vector<int64_t>(seq.begin(), seq.begin() + 12));
  EXPECT_THROW(PoolSampler(0, 3, 1), InvalidArgument);
  EXPECT_THROW(PoolSampler(3, 0, 1), InvalidArgument);
}

TEST(UnlabelledPool, LeavesOutValidationTrainingRepeatedAndEmptyLinesAndCountsThem) {
  TeacherFiles f = teacher_fixture("pool");
  const std::string valid_path =
      write_file(f.dir + "/valid.tsv", "text\tlabel\na validation text\tOFF\n");
  DataSpec spec;
  const Dataset valid = read_dataset(valid_path, spec, f.dataset.label_names);
  const std::string teacher_path =
      write_file(f.dir + "/teacher.tsv",
                 "text\tOFF\tNOT\nyou are great\t0.2\t0.8\nyou are awful\t0.9\t0.1\n"
                 "back\\\\slash\t0\t1\nsame text\t0.5\t0.5\npool one\t0.25\t0.75\n"
                 "pool\\ttwo\t0.6\t0.4\n");
  const TeacherScores teacher = read_teacher_scores(teacher_path, true);
  const std::string pool_path = write_file(f.dir + "/pool.txt",
                                           "pool one\n"           // 1 kept
                                           "a validation text\n"  // 2 validation: out
                                           "you are awful\n"      // 3 training text: out
                                           "\n"                   // 4 empty: out
                                           "pool\ttwo\n"          // 5 kept (a tab is text)
                                           "pool one\n"           // 6 repeat: out
                                           "  \t \n");            // 7 blanks only: out
  const UnlabelledPool p = read_unlabelled_pool(pool_path, teacher, f.dataset, valid);
  EXPECT_EQ(p.texts, (std::vector<std::string>{"pool one", "pool\ttwo"}));
  EXPECT_EQ(p.lines, (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(p.read, 7);
  EXPECT_EQ(p.skipped_valid, 1);
  EXPECT_EQ(p.skipped_train, 1);
  EXPECT_EQ(p.skipped_empty, 2);
  EXPECT_EQ(p.skipped_repeat, 1);
  // the training data's label order (NOT, OFF)
  EXPECT_EQ(p.teacher, (std::vector<float>{0.75f, 0.25f, 0.4f, 0.6f}));
  // gzip: the same pool
  ASSERT_EQ(testutil::run_cmd("gzip -k '" + pool_path + "'").code, 0);
  const UnlabelledPool g = read_unlabelled_pool(pool_path + ".gz", teacher, f.dataset, valid);
  EXPECT_EQ(g.texts, p.texts);
  EXPECT_EQ(g.teacher, p.teacher);
}

TEST(UnlabelledPool, MissingTeacherRowEmptyPoolAndUnreadableFileAreOneLineErrors) {
  TeacherFiles f = teacher_fixture("pool_errors");
  DataSpec spec;
  const Dataset valid =
      read_dataset(write_file(f.dir + "/valid.tsv", "text\tlabel\nvalid one\tNOT\n"), spec,
                   f.dataset.label_names);
  const std::string teacher_path = write_file(
      f.dir + "/teacher.tsv", "text\tNOT\tOFF\nyou are great\t1\t0\npool one\t0.5\t0.5\n");
  const TeacherScores teacher = read_teacher_scores(teacher_path, true);
  auto err = [&](const std::string& pool) {
    return error_of([&] { read_unlabelled_pool(pool, teacher, f.dataset, valid); });
  };
  const std::string missing = write_file(f.dir + "/missing.txt", "pool one\n\nno score here\n");
  EXPECT_EQ(err(missing), missing + ":3: expected a teacher score in " + teacher_path +
                              " for this text, found none (text \"no score here\")");
  const std::string empty = write_file(f.dir + "/empty.txt", "");
  EXPECT_EQ(err(empty), empty +
                            ": expected at least one pool text (one per line; 0 lines read, 0 "
                            "empty, 0 validation texts, 0 training texts left out), found none");
  const std::string all_out = write_file(f.dir + "/all_out.txt", "valid one\nyou are great\n\n");
  EXPECT_EQ(err(all_out), all_out +
                              ": expected at least one pool text (one per line; 3 lines read, 1 "
                              "empty, 1 validation texts, 1 training texts left out), found none");
  const std::string none = f.dir + "/does_not_exist.txt";
  const std::string e = err(none);
  EXPECT_EQ(e, none +
                   ": expected a readable pool file (one text per line), found one that cannot "
                   "be opened (No such file or directory)");
  // a missing teacher file, plain and .gz: expected/found, naming the path
  EXPECT_EQ(error_of([&] { read_teacher_scores(none, true); }),
            "'" + none +
                "': expected a readable file, found one that cannot be opened (No such file or "
                "directory)");
  EXPECT_EQ(error_of([&] { read_teacher_scores(none + ".gz", true); }),
            none +
                ".gz: expected a readable gzip file, found one that cannot be opened (No such file "
                "or directory)");
  for (const std::string& m : {err(missing), err(empty), err(all_out), e})
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  // a .gz name: a truncated stream, data that is not gzip and an empty file are errors, for
  // the pool and for the teacher file (both read by one function)
  std::string lines;
  for (int i = 0; i < 400; ++i) lines += "pool one\n";
  const std::string plain = write_file(f.dir + "/whole.txt", lines);
  ASSERT_EQ(testutil::run_cmd("gzip -k '" + plain + "'").code, 0);
  const std::string cut = f.dir + "/cut.txt.gz";
  ASSERT_EQ(testutil::run_cmd("head -c -8 '" + plain + ".gz' > '" + cut + "'").code, 0);
  const std::string not_gz = write_file(f.dir + "/plain.txt.gz", "pool one\n");
  const std::string empty_gz = write_file(f.dir + "/empty.txt.gz", "");
  EXPECT_EQ(err(plain + ".gz"), "(no error)") << "the whole stream reads";
  EXPECT_EQ(err(cut), cut +
                          ": expected the rest of the gzip stream, found the end of the file "
                          "(truncated gzip file)");
  EXPECT_EQ(err(not_gz), not_gz +
                             ": expected gzip data (the file name ends in .gz), found data that "
                             "does not start with the gzip magic bytes 1f 8b");
  EXPECT_EQ(err(empty_gz),
            empty_gz + ": expected gzip data (the file name ends in .gz), found an empty file");
  EXPECT_EQ(error_of([&] { read_teacher_scores(cut, true); }), err(cut));
  // a teacher with other labels: the teacher's header line
  const TeacherScores other = read_teacher_scores(
      write_file(f.dir + "/other.tsv", "text\tNOT\tHATE\npool one\t1\t0\n"), true);
  EXPECT_EQ(error_of([&] {
              read_unlabelled_pool(missing, other, f.dataset, valid);
            }).rfind(f.dir + "/other.tsv:1: expected the labels of", 0),
            0u);
}

// ---- config keys ----

TEST(DistillConfig, KeysParseAndAreOmittedAtTheirDefaults) {
  nlohmann::json j = {{"train",
                       {{"distortion_probability", 0.25},
                        {"distill_scores", "t.tsv"},
                        {"distill_alpha", 0.1},
                        {"distill_temperature", 3}}}};
  const ExperimentConfig c = config_from_json(j, "x.json");
  EXPECT_DOUBLE_EQ(c.train.distortion_probability, 0.25);
  EXPECT_EQ(c.train.distill_scores, "t.tsv");
  EXPECT_DOUBLE_EQ(c.train.distill_alpha, 0.1);
  EXPECT_DOUBLE_EQ(c.train.distill_temperature, 3.0);
  EXPECT_EQ(config_to_json(config_from_json(config_to_json(c), "again")), config_to_json(c));
  const nlohmann::json d = config_to_json(ExperimentConfig{});
  for (const char* k :
       {"distortion_probability", "distill_scores", "distill_alpha", "distill_temperature"}) {
    EXPECT_FALSE(d.at("train").contains(k)) << k << " written at its default";
  }
  try {
    config_from_json({{"train", {{"distill_alpha", 0.2}}}}, "x.json");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "x.json: train.distill_alpha: expected no value unless train.distill_scores names a "
              "file, found number 0.2");
  }
  EXPECT_THROW(config_from_json({{"train", {{"distortion_probability", 1.5}}}}, "x"), ConfigError);
  // the unlabelled pool
  const ExperimentConfig p = config_from_json({{"train",
                                                {{"distill_scores", "t.tsv"},
                                                 {"distill_unlabelled", "pool.txt.gz"},
                                                 {"distill_unlabelled_batch", 48}}}},
                                              "x.json");
  EXPECT_EQ(p.train.distill_unlabelled, "pool.txt.gz");
  EXPECT_EQ(p.train.distill_unlabelled_batch, 48);
  EXPECT_EQ(config_to_json(config_from_json(config_to_json(p), "again")), config_to_json(p));
  for (const char* k : {"distill_unlabelled", "distill_unlabelled_batch"})
    EXPECT_FALSE(d.at("train").contains(k)) << k << " written at its default";
  auto config_error = [](const nlohmann::json& train) {
    try {
      config_from_json({{"train", train}}, "x.json");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(config_error({{"distill_unlabelled", "pool.txt"}}),
            "x.json: train.distill_unlabelled: expected no value unless train.distill_scores "
            "names a file (the pool's teacher scores), found string \"pool.txt\"");
  EXPECT_EQ(
      config_error({{"distill_scores", "t"}, {"distill_unlabelled", "p"}, {"distill_alpha", 1}}),
      "x.json: train.distill_alpha: expected a value below 1 with train.distill_unlabelled "
      "(at 1 the pool rows have no weight), found integer 1");
  EXPECT_EQ(config_error({{"distill_scores", "t"}, {"distill_unlabelled_batch", 8}}),
            "x.json: train.distill_unlabelled_batch: expected no value unless "
            "train.distill_unlabelled names a file, found integer 8");
  EXPECT_NE(
      config_error(
          {{"distill_scores", "t"}, {"distill_unlabelled", "p"}, {"distill_unlabelled_batch", -1}}),
      "(no error)");
  EXPECT_THROW(
      config_from_json({{"train", {{"distill_scores", "t"}, {"distill_temperature", 0}}}}, "x"),
      ConfigError);
}

// ---- the trainer with a teacher and with distortion ----

ExperimentConfig tiny_config() {
  ExperimentConfig c;
  c.tokenizer.max_length = 160;
  c.model.embedding_size = 32;
  c.model.bottleneck_size = 32;
  c.model.qrnn_state_size = 32;
  c.model.qrnn_layers = 1;
  c.quantization.warmup_steps = 3;
  c.train.batch_size = 16;
  c.train.lr_warmup_steps = 2;
  c.train.threads = 2;
  c.train.early_stopping_patience = 0;
  c.train.max_steps = 6;
  return c;
}

// A teacher file for every text of a TSV data file (text \t label): probability 0.7 for the
// example's label (0.3 for the other), escaped as the format asks.
std::string write_teacher_for(const std::string& data, const std::string& path, int skip_row) {
  std::istringstream in(read_all(data));
  std::string line, out = "text\toffensive\tnot-offensive\n";
  std::getline(in, line);  // header
  std::set<std::string> seen;
  for (int row = 0; std::getline(in, line); ++row) {
    const size_t tab = line.rfind('\t');
    const std::string text = line.substr(0, tab), label = line.substr(tab + 1);
    if (row == skip_row || !seen.insert(text).second) continue;
    std::string esc;
    for (char ch : text) esc += ch == '\\' ? std::string("\\\\") : std::string(1, ch);
    out += esc + (label == "offensive" ? "\t0.7\t0.3\n" : "\t0.3\t0.7\n");
  }
  return write_file(path, out);
}

// Whether two checkpoints hold the same parameters and buffers, bit for bit.
bool same_weights(const std::string& a, const std::string& b) {
  LoadedCheckpoint x = load_checkpoint(a), y = load_checkpoint(b);
  const auto px = x.model->named_parameters(), py = y.model->named_parameters();
  const auto bx = x.model->named_buffers(), by = y.model->named_buffers();
  if (px.size() != py.size() || bx.size() != by.size()) return false;
  for (const auto& kv : px)
    if (!torch::equal(kv.value(), py[kv.key()])) return false;
  for (const auto& kv : bx)
    if (!torch::equal(kv.value(), by[kv.key()])) return false;
  return true;
}

TEST(DistillTrainer, TeacherAndDistortionChangeTrainingOnlyWhenAsked) {
  const std::string dir = fresh_dir("trainer");
  const std::string train = head_tsv(source_path("data/olid/train.tsv"), dir + "/train.tsv", 96);
  const std::string valid = head_tsv(source_path("data/olid/valid.tsv"), dir + "/valid.tsv", 32);
  const std::string teacher = write_teacher_for(train, dir + "/teacher.tsv", -1);
  auto run = [&](const ExperimentConfig& c, const std::string& out) {
    train_classifier(c, TrainOptions{train, valid, dir + "/" + out, false, false});
    return read_all(dir + "/" + out + "/best.ckpt");
  };
  ExperimentConfig c = tiny_config();
  const std::string plain = run(c, "plain");
  ASSERT_GT(plain.size(), 10000u);
  // alpha = 1: the teacher term has weight 0, so the same weights as training without a teacher
  // (the checkpoint files differ: they store the config)
  c.train.distill_scores = teacher;
  c.train.distill_alpha = 1.0;
  run(c, "alpha1");
  EXPECT_TRUE(same_weights(dir + "/plain", dir + "/alpha1"));
  c.train.distill_alpha = 0.5;
  run(c, "alpha05");
  EXPECT_FALSE(same_weights(dir + "/plain", dir + "/alpha05")) << "the teacher has no effect";
  ExperimentConfig d = tiny_config();
  d.train.distortion_probability = 0.3;
  run(d, "distorted");
  EXPECT_FALSE(same_weights(dir + "/plain", dir + "/distorted")) << "distortion has no effect";
  // a training text without a teacher row: one-line error naming the training file and line
  c.train.distill_scores = write_teacher_for(train, dir + "/teacher_missing.tsv", 4);
  try {
    run(c, "missing");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(train + ":6: expected a teacher score in " +
                                              c.train.distill_scores + " for this text, found none",
                                          0),
              0u)
        << e.what();
  }
}

TEST(DistillTrainer, UnlabelledPoolTrainsDeterministicallyAndOnlyWhenAsked) {
  const std::string dir = fresh_dir("trainer_pool");
  const std::string all = head_tsv(source_path("data/olid/train.tsv"), dir + "/all.tsv", 160);
  const std::string train = head_tsv(all, dir + "/train.tsv", 96);
  const std::string valid = head_tsv(source_path("data/olid/valid.tsv"), dir + "/valid.tsv", 32);
  // the teacher scores the 160 texts; the pool: rows 97-160's texts, one validation text
  // (left out) and one training text (left out)
  const std::string teacher = write_teacher_for(all, dir + "/teacher.tsv", -1);
  std::istringstream in(read_all(all));
  std::string line, pool_text;
  for (int row = -1; std::getline(in, line); ++row)
    if (row >= 96) pool_text += line.substr(0, line.rfind('\t')) + "\n";
  std::istringstream vin(read_all(valid));
  std::getline(vin, line);
  std::getline(vin, line);
  pool_text += line.substr(0, line.rfind('\t')) + "\n";
  std::istringstream tin(read_all(train));
  std::getline(tin, line);
  std::getline(tin, line);
  pool_text += line.substr(0, line.rfind('\t')) + "\n";
  const std::string pool = write_file(dir + "/pool.txt", pool_text);
  DataSpec spec;
  const Dataset train_data = read_dataset(train, spec);
  const UnlabelledPool p =
      read_unlabelled_pool(pool, read_teacher_scores(teacher, true), train_data,
                           read_dataset(valid, spec, train_data.label_names));
  EXPECT_EQ(p.skipped_valid, 1);
  EXPECT_EQ(p.skipped_train, 1);
  EXPECT_GT(p.size(), 50u);
  auto run = [&](const ExperimentConfig& c, const std::string& out) {
    train_classifier(c, TrainOptions{train, valid, dir + "/" + out, false, false});
    return read_all(dir + "/" + out + "/best.ckpt");
  };
  ExperimentConfig c = tiny_config();
  c.train.distill_scores = teacher;
  run(c, "labelled");
  c.train.distill_unlabelled = pool;
  c.train.distill_unlabelled_batch = 8;
  const std::string a = run(c, "pool_a");
  // same seed, same weights (and the same file)
  EXPECT_EQ(run(c, "pool_b"), a);
  EXPECT_FALSE(same_weights(dir + "/labelled", dir + "/pool_a")) << "the pool has no effect";
  // with distortion (pool rows are distorted too): still deterministic
  c.train.distortion_probability = 0.3;
  EXPECT_EQ(run(c, "pool_dist_a"), run(c, "pool_dist_b"));
  // more pool rows per step than the pool holds: an error before training, naming the pool
  c.train.distill_unlabelled_batch = 100;
  try {
    run(c, "too_many");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string want = pool +
                             ": expected at least 100 kept texts (train.distill_unlabelled_batch, "
                             "or train.batch_size when it is 0, x 1 ranks: pool rows per step), "
                             "found ";
    const std::string what = e.what();
    ASSERT_EQ(what.rfind(want, 0), 0u) << what;
    EXPECT_LT(std::stoi(what.substr(want.size())), 100) << what;
    EXPECT_GT(std::stoi(what.substr(want.size())), 8) << what;
  }
  c.train.distill_unlabelled_batch = 8;
  // a pool text without a teacher row stops training, naming the pool file and line
  c.train.distill_unlabelled = write_file(dir + "/pool_missing.txt", pool_text + "not scored\n");
  try {
    run(c, "missing");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(c.train.distill_unlabelled +
                                              ":67: expected a teacher "
                                              "score in " +
                                              teacher + " for this text, found none",
                                          0),
              0u)
        << e.what();
  }
}

// ---- the projection input ----

TEST(ProjectionInput, BatchEqualsTheRuntimeProjection) {
  rt::ProjectionConfig cfg;
  cfg.feature_size = 24;
  cfg.max_tokens = 6;
  cfg.add_eos = true;
  const std::vector<std::string> texts = {"Hello world", "", "a b c d e f g h i",
                                          "caf\xc3\xa9 \xff"};
  const ProjectionBatch b = project_batch(texts, cfg);
  ASSERT_EQ(b.values.sizes().vec(), (std::vector<int64_t>{4, 6, 24}));
  ASSERT_EQ(b.mask.sizes().vec(), (std::vector<int64_t>{4, 6}));
  for (int64_t i = 0; i < static_cast<int64_t>(texts.size()); ++i) {
    std::vector<int8_t> want;
    const int64_t T = rt::ternary_projection(texts[i], cfg, &want);
    for (int64_t t = 0; t < 6; ++t) {
      EXPECT_EQ(b.mask[i][t].item<float>(), t < T ? 1.0f : 0.0f);
      for (int64_t k = 0; k < 24; ++k) {
        const float v = t < T ? static_cast<float>(want[t * 24 + k]) : 0.0f;
        ASSERT_EQ(b.values[i][t][k].item<float>(), v) << i << " " << t << " " << k;
      }
    }
  }
  // all-empty batch without tags: one fully masked zero position
  cfg.add_eos = false;
  const ProjectionBatch e = project_batch({"", " "}, cfg);
  EXPECT_EQ(e.values.sizes().vec(), (std::vector<int64_t>{2, 1, 24}));
  EXPECT_EQ(e.mask.sum().item<float>(), 0.0f);
}

}  // namespace
}  // namespace bytelite
