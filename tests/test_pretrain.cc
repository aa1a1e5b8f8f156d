// Pretraining (train/pretrain.h): masked-span statistics, the loss falls on a small corpus,
// bit-identical resume, --init-from loading exactly the encoder tensors, and its errors;
// --init-from and LP-FT freezing for every task (classify, seq2seq, continued pretraining).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "core/byte_tokenizer.h"
#include "core/errors.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/pretrain.h"
#include "train/seq2seq.h"
#include "train/seq2seq_trainer.h"
#include "train/trainer.h"
#include "train_test_util.h"

namespace bytelite {
namespace {

using testutil::fresh_dir;
using testutil::read_all;
using testutil::write_file;

// A tiny QRNN encoder and pretraining setup that runs in seconds.
ExperimentConfig tiny_config() {
  ExperimentConfig c;
  c.tokenizer.max_length = 64;
  c.tokenizer.lowercase_ascii = true;
  c.model.embedding_size = 32;
  c.model.bottleneck_size = 32;
  c.model.qrnn_state_size = 32;
  c.model.qrnn_layers = 1;
  c.model.dropout = 0.1;
  c.quantization.warmup_steps = 20;
  c.has_pretrain = true;
  auto& p = c.pretrain;
  p.seq_len = 64;
  p.batch_size = 16;
  p.steps = 300;
  p.learning_rate = 3e-3;
  p.lr_warmup_steps = 20;
  p.eval_every_steps = 50;
  p.heldout_sequences = 32;
  p.shuffle_capacity = 64;
  p.threads = 1;  // 2 threads on a loaded 2-core machine is ~18x slower (OpenMP spinning)
  return c;
}

// A small corpus of simple English sentences (a learnable byte distribution).
std::string make_corpus(const std::string& path, int lines, unsigned seed) {
  const char* subj[] = {"the cat", "a dog", "my friend", "the teacher", "our team", "she", "he"};
  const char* verb[] = {"likes", "sees", "wants", "finds", "loves", "reads", "makes"};
  const char* obj[] = {"the ball",   "a book",   "green apples", "the river",
                       "some music", "a letter", "the game"};
  std::mt19937 g(seed);
  std::string text;
  for (int i = 0; i < lines; ++i) {
    text += std::string(subj[g() % 7]) + " " + verb[g() % 7] + " " + obj[g() % 7] + " today.\n";
  }
  return write_file(path, text);
}

std::vector<int> span_lengths(const std::vector<uint8_t>& m) {
  std::vector<int> spans;
  int run = 0;
  for (size_t t = 0; t <= m.size(); ++t) {
    if (t < m.size() && m[t]) {
      ++run;
    } else if (run > 0) {
      spans.push_back(run);
      run = 0;
    }
  }
  return spans;
}

TEST(PretrainMasking, DocumentedStatisticsOnFixedSeed) {
  const int L = 256;
  int64_t valid_total = 0, masked_total = 0, spans = 0, span_bytes = 0;
  std::vector<uint8_t> valid(L), m(L);
  for (int row = 0; row < 2000; ++row) {
    // Every fourth row ends in PAD (a flushed last sequence).
    const int n = row % 4 == 3 ? 100 + row % 150 : L;
    for (int t = 0; t < L; ++t) valid[t] = t < n;
    choose_masked_spans(valid.data(), L, 0.15, 3.0, 1000 + row, m.data());
    int masked = 0;
    for (int t = 0; t < L; ++t) {
      masked += m[t];
      ASSERT_FALSE(m[t] && !valid[t]) << "PAD masked at row " << row << " position " << t;
    }
    EXPECT_EQ(masked, std::lround(0.15 * n)) << "row " << row;
    for (int s : span_lengths(m)) {
      ++spans;
      span_bytes += s;
    }
    valid_total += n;
    masked_total += masked;
  }
  const double frac = static_cast<double>(masked_total) / valid_total;
  const double mean_span = static_cast<double>(span_bytes) / spans;
  EXPECT_NEAR(frac, 0.15, 0.003);
  EXPECT_NEAR(mean_span, 3.0, 0.15);  // 38 / 13 = 2.92 for n = 256
  // Deterministic for a seed, different for another.
  std::vector<uint8_t> a(L), b(L), c(L);
  std::fill(valid.begin(), valid.end(), 1);
  choose_masked_spans(valid.data(), L, 0.15, 3.0, 7, a.data());
  choose_masked_spans(valid.data(), L, 0.15, 3.0, 7, b.data());
  choose_masked_spans(valid.data(), L, 0.15, 3.0, 8, c.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Longer spans with a larger mean; nothing with fewer than 2 valid ids.
  choose_masked_spans(valid.data(), L, 0.15, 8.0, 7, a.data());
  const auto sl = span_lengths(a);
  EXPECT_NEAR(38.0 / sl.size(), 8.0, 1.0);
  std::fill(valid.begin(), valid.end(), 0);
  valid[0] = 1;
  choose_masked_spans(valid.data(), L, 0.15, 3.0, 7, a.data());
  EXPECT_EQ(std::count(a.begin(), a.end(), 1), 0);
}

TEST(PretrainMasking, MaskBatchUsesTheMaskIdAndKeepsTargets) {
  PackedBatch b;
  b.rows = 3;
  b.seq_len = 40;
  for (int i = 0; i < b.rows * b.seq_len; ++i) {
    const bool pad = i >= 2 * 40 + 30;  // the last row ends in 10 PAD
    b.ids.push_back(pad ? kPadId : kByteOffset + 'a' + i % 26);
    b.mask.push_back(pad ? 0 : 1);
  }
  MaskedBatch mb = mask_batch(b, 0.2, 3.0, 5, 0);
  auto ids = mb.ids.accessor<int64_t, 2>();
  auto tg = mb.targets.accessor<int64_t, 2>();
  int64_t masked = 0;
  for (int r = 0; r < 3; ++r) {
    for (int t = 0; t < 40; ++t) {
      const int32_t orig = b.ids[r * 40 + t];
      if (tg[r][t] != -100) {
        ++masked;
        EXPECT_EQ(ids[r][t], kMaskId);
        EXPECT_EQ(tg[r][t], orig);
        EXPECT_NE(orig, kPadId);
      } else {
        EXPECT_EQ(ids[r][t], orig);
      }
    }
  }
  EXPECT_EQ(masked, mb.masked);
  EXPECT_EQ(masked, 8 + 8 + 6);
  EXPECT_EQ(mb.mask.sum().item<float>(), 110.0f);
  // The same (seed, step) gives the same masks; another step others.
  EXPECT_TRUE(torch::equal(mb.ids, mask_batch(b, 0.2, 3.0, 5, 0).ids));
  EXPECT_FALSE(torch::equal(mb.ids, mask_batch(b, 0.2, 3.0, 5, 1).ids));
}

TEST(PretrainModel, HeadPredictsEveryByteOfEachDownsampledPosition) {
  auto cfg = tiny_config();
  cfg.model.gbst_downsample_rate = 3;
  ByteMlm m(cfg, std::make_shared<QatState>());
  EXPECT_EQ(m->bytes_per_position, 3);
  EXPECT_EQ(m->mlm_head->weight.size(0), 3 * kVocabSize);
  EXPECT_EQ(m->mlm_head->weight.size(1), 2 * cfg.model.qrnn_state_size);
  auto ids = torch::randint(3, kVocabSize, {2, 50}, torch::kInt64);
  auto logits = m->forward(ids, torch::ones({2, 50}));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 50, kVocabSize}));
  // Funnel: r times the pool windows.
  auto f = tiny_config();
  f.model.encoder = "funnel";
  f.model.transformer_layers = 2;
  f.model.pool_windows = {1, 2};
  f.model.num_heads = 2;
  f.model.intermediate_size = 32;
  ByteMlm fm(f, std::make_shared<QatState>());
  EXPECT_EQ(fm->bytes_per_position, 4);
  EXPECT_EQ(fm->forward(ids, torch::ones({2, 50})).sizes(),
            (std::vector<int64_t>{2, 50, kVocabSize}));
}

TEST(Pretrain, LossDecreasesOnSmallCorpus) {
  auto dir = fresh_dir("learn");
  auto cfg = tiny_config();
  cfg.pretrain.heldout = make_corpus(dir + "/heldout.txt", 200, 2);
  PretrainOptions o;
  o.corpus = {make_corpus(dir + "/corpus.txt", 3000, 1)};
  o.out_dir = dir + "/out";
  o.verbose = false;
  auto r = pretrain_encoder(cfg, o);
  EXPECT_EQ(r.steps, 300);
  auto log = testutil::lines_of(read_all(dir + "/out/pretrain_log.jsonl"));
  ASSERT_EQ(log.size(), 6u);
  const double first = nlohmann::json::parse(log.front()).at("heldout_loss").get<double>();
  const double last = nlohmann::json::parse(log.back()).at("heldout_loss").get<double>();
  // Uniform guessing is ln 259 = 5.56 nats; the sentences are highly predictable.
  EXPECT_LT(last, first - 0.3) << "held-out loss " << first << " -> " << last;
  EXPECT_LT(last, 2.6) << "held-out loss " << last;  // measured 2.18
  EXPECT_GT(r.heldout_accuracy, 0.3);                // measured 0.41
  EXPECT_NEAR(r.heldout_loss, last, 1e-9);
}

TEST(Pretrain, ResumeIsBitIdentical) {
  auto dir = fresh_dir("resume");
  auto cfg = tiny_config();
  cfg.pretrain.steps = 24;
  cfg.pretrain.eval_every_steps = 4;
  cfg.quantization.warmup_steps = 6;  // fake quantization active before the split
  cfg.pretrain.heldout = make_corpus(dir + "/heldout.txt", 50, 2);
  PretrainOptions o;
  o.corpus = {make_corpus(dir + "/corpus.txt", 400, 1)};
  o.verbose = false;
  o.out_dir = dir + "/straight";
  pretrain_encoder(cfg, o);
  o.out_dir = dir + "/split";
  o.max_steps = 12;
  EXPECT_EQ(pretrain_encoder(cfg, o).steps, 12);
  o.max_steps = 0;
  o.resume = true;
  EXPECT_EQ(pretrain_encoder(cfg, o).steps, 24);
  int64_t sa = 0, sb = 0;
  auto a = load_pretrain_checkpoint(dir + "/straight", nullptr, &sa);
  auto b = load_pretrain_checkpoint(dir + "/split", nullptr, &sb);
  EXPECT_EQ(sa, 24);
  EXPECT_EQ(sb, 24);
  auto pb = b->named_parameters();
  auto bb = b->named_buffers();
  for (const auto& p : a->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  }
  for (const auto& p : a->named_buffers()) {
    EXPECT_TRUE(torch::equal(p.value(), bb[p.key()])) << p.key();
  }
  // The run did change the weights (the comparison is not trivially true).
  auto fresh = ByteMlm(cfg, std::make_shared<QatState>());
  EXPECT_FALSE(torch::equal(fresh->encoder->embedding, a->encoder->embedding));
}

// Pretrains the tiny encoder for a few steps into dir/pre.
std::string pretrain_tiny(const std::string& dir, ExperimentConfig cfg) {
  cfg.pretrain.steps = 4;
  cfg.pretrain.eval_every_steps = 4;
  PretrainOptions o;
  o.corpus = {make_corpus(dir + "/corpus.txt", 200, 1)};
  o.out_dir = dir + "/pre";
  o.verbose = false;
  pretrain_encoder(cfg, o);
  return o.out_dir;
}

TEST(InitFrom, LoadsExactlyTheEncoderTensors) {
  auto dir = fresh_dir("init");
  auto cfg = tiny_config();
  cfg.model.pooling = "attention_max";
  const auto pre = pretrain_tiny(dir, cfg);
  auto mlm = load_pretrain_checkpoint(pre);

  // The fine-tuning config may change pooling, dropout and zoneout, not the encoder.
  auto ft = cfg;
  ft.has_pretrain = false;
  ft.model.dropout = 0.3;
  ft.model.qrnn_zoneout = 0.2;
  ModelMeta meta;
  meta.config = ft;
  meta.label_names = {"a", "b", "c"};
  torch::manual_seed(5);
  ByteClassifier model = build_model(meta, std::make_shared<QatState>());
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : model->named_parameters()) before[p.key()] = p.value().clone();
  for (const auto& p : model->named_buffers()) before[p.key()] = p.value().clone();

  int64_t step = 0;
  const auto rng_before = at::detail::getDefaultCPUGenerator().get_state();
  const int64_t n = init_encoder_from(model, ft, pre, &step);
  // The load leaves torch's generator as it was (fine-tuning draws the same dropout masks).
  EXPECT_TRUE(torch::equal(rng_before, at::detail::getDefaultCPUGenerator().get_state()));
  EXPECT_EQ(step, 4);
  auto src_p = mlm->named_parameters();
  auto src_b = mlm->named_buffers();
  int64_t encoder_tensors = 0, head_tensors = 0;
  auto check = [&](const std::string& name, const torch::Tensor& t) {
    if (ByteClassifierImpl::is_head_tensor(name)) {
      ++head_tensors;
      EXPECT_TRUE(torch::equal(t, before[name])) << name << " changed; expected fresh init";
    } else {
      ++encoder_tensors;
      const std::string src = "encoder." + name;
      const torch::Tensor* s = src_p.find(src);
      if (s == nullptr) s = src_b.find(src);
      ASSERT_NE(s, nullptr) << src;
      EXPECT_TRUE(torch::equal(t, *s)) << name << " is not the pretrained tensor";
    }
  };
  for (const auto& p : model->named_parameters()) check(p.key(), p.value());
  for (const auto& p : model->named_buffers()) check(p.key(), p.value());
  EXPECT_EQ(n, encoder_tensors);
  EXPECT_GE(head_tensors, 6);  // pool.score.*, pool quantizers, pool_concat_quant, head.*
  // The pretrained embedding differs from a fresh one (the copy did something).
  EXPECT_FALSE(torch::equal(model->embedding, before["embedding"]));
  // Every pretrained encoder tensor found its place.
  EXPECT_EQ(static_cast<int64_t>(mlm->encoder->named_parameters().size() +
                                 mlm->encoder->named_buffers().size()),
            n);
}

// train.freeze_encoder_steps (LP-FT): during the frozen steps the encoder's parameters stay
// the pretrained ones while pooling and head train; after them the encoder trains too.
TEST(InitFrom, FreezeEncoderStepsKeepsThePretrainedEncoderThenReleasesIt) {
  auto dir = fresh_dir("freeze");
  auto cfg = tiny_config();
  cfg.model.pooling = "attention_max";
  const auto pre = pretrain_tiny(dir, cfg);
  auto mlm = load_pretrain_checkpoint(pre);
  auto src_p = mlm->named_parameters();

  // A small labelled set: label 1 iff the sentence mentions a dog.
  std::string train = "text\tlabel\n", valid = train;
  const char* subj[] = {"the cat", "a dog", "my friend", "the dog"};
  for (int i = 0; i < 48; ++i) {
    const std::string row = std::string(subj[i % 4]) + " sees thing " + std::to_string(i) + "\t" +
                            ((i % 2) ? "1" : "0") + "\n";
    (i < 32 ? train : valid) += row;
  }
  const auto train_path = write_file(dir + "/train.tsv", train);
  const auto valid_path = write_file(dir + "/valid.tsv", valid);

  auto ft = cfg;
  ft.has_pretrain = false;
  ft.train.batch_size = 8;
  ft.train.max_steps = 6;
  ft.train.eval_every_steps = 3;
  ft.train.lr_warmup_steps = 0;
  ft.train.threads = 1;
  ft.train.early_stopping_patience = 0;
  auto run = [&](int freeze, const std::string& out) {
    ft.train.freeze_encoder_steps = freeze;
    train_classifier(ft, TrainOptions{train_path, valid_path, dir + out, false, false}, pre);
    return load_checkpoint(dir + out + "/last.ckpt");
  };
  // The head as the trainer initialises it (same seed, same construction order).
  auto frozen = run(6, "/frozen");
  ModelMeta meta = frozen.meta;
  meta.config = ft;
  torch::manual_seed(ft.train.seed);
  ByteClassifier fresh = build_model(meta, std::make_shared<QatState>());
  auto fresh_p = fresh->named_parameters();
  int encoder_same = 0, head_changed = 0;
  for (const auto& p : frozen.model->named_parameters()) {
    if (ByteClassifierImpl::is_head_tensor(p.key())) {
      head_changed += !torch::equal(p.value(), fresh_p[p.key()]);
    } else {
      const bool same = torch::equal(p.value(), src_p["encoder." + p.key()]);
      EXPECT_TRUE(same) << p.key() << " moved during the frozen steps";
      encoder_same += same;
    }
  }
  EXPECT_GT(encoder_same, 5);
  EXPECT_GE(head_changed, 3);  // pool score and head weights trained

  // Frozen for 3 of 6 steps: the encoder trains afterwards.
  auto half = run(3, "/half");
  int encoder_moved = 0;
  for (const auto& p : half.model->named_parameters()) {
    if (!ByteClassifierImpl::is_head_tensor(p.key())) {
      encoder_moved += !torch::equal(p.value(), src_p["encoder." + p.key()]);
    }
  }
  EXPECT_GT(encoder_moved, 5);
}

// Named parameters of a module as clones (the module may change afterwards).
std::map<std::string, torch::Tensor> params_of(torch::nn::Module& m, const std::string& prefix) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters())
    if (p.key().rfind(prefix, 0) == 0) out[p.key().substr(prefix.size())] = p.value().clone();
  return out;
}

// How many tensors of `a` equal the tensor of the same name in `b` (every name must be in b).
int same_count(const std::map<std::string, torch::Tensor>& a,
               const std::map<std::string, torch::Tensor>& b) {
  int same = 0;
  for (const auto& [k, t] : a) {
    auto it = b.find(k);
    EXPECT_NE(it, b.end()) << k;
    if (it != b.end()) same += torch::equal(t, it->second) ? 1 : 0;
  }
  return same;
}

// seq2seq --init-from: the encoder (ByteTransformer of the seq2seq section) starts from a
// pretraining checkpoint of the config seq2seq_encoder_config() describes; with
// train.freeze_encoder_steps covering the run, the encoder's parameters stay the pretrained ones
// while the decoder trains; without freezing they move.
TEST(InitFrom, Seq2SeqEncoderFromPretrainingThenFrozen) {
  auto dir = fresh_dir("s2s_init");
  ExperimentConfig s2s;
  s2s.task = "seq2seq";
  s2s.data.text_column = "word";
  s2s.data.label_columns = {"pronunciation"};
  auto& q = s2s.seq2seq;
  q.dim = 32;
  q.num_heads = 2;
  q.intermediate_size = 64;
  q.encoder_layers = 1;
  q.decoder_layers = 1;
  q.max_source = 24;
  q.max_target = 48;
  q.eval_sources = 0;
  s2s.quantization.warmup_steps = 2;
  s2s.train.batch_size = 8;
  s2s.train.max_steps = 6;
  s2s.train.eval_every_steps = 3;
  s2s.train.lr_warmup_steps = 0;
  s2s.train.learning_rate = 3e-3;
  s2s.train.threads = 1;
  s2s.train.seed = 3;

  // The pretraining config of this encoder, pretrained 4 steps.
  ExperimentConfig pc = seq2seq_encoder_config(s2s);
  EXPECT_EQ(pc.model.encoder, "transformer");
  EXPECT_EQ(pc.model.bottleneck_size, 32);
  EXPECT_EQ(pc.model.transformer_layers, 1);
  EXPECT_EQ(pc.tokenizer.max_length, 24);
  pc.has_pretrain = true;
  pc.pretrain = tiny_config().pretrain;
  pc.pretrain.seq_len = 24;  // at most the 24 position rows
  const auto pre = pretrain_tiny(dir, pc);
  auto mlm = load_pretrain_checkpoint(pre);
  const auto pretrained = params_of(*mlm, "encoder.");
  ASSERT_GE(pretrained.size(), 10u);

  testutil::head_tsv(testutil::source_path("data/cmudict/g2p_train.tsv"), dir + "/train.tsv", 64);
  testutil::head_tsv(testutil::source_path("data/cmudict/g2p_valid.tsv"), dir + "/valid.tsv", 16);
  auto train = [&](int freeze, const std::string& out) {
    s2s.train.freeze_encoder_steps = freeze;
    TrainOptions o{dir + "/train.tsv", dir + "/valid.tsv", dir + out, false, false};
    train_seq2seq(s2s, o, pre);
    ByteSeq2Seq m(s2s.seq2seq, std::make_shared<QatState>());
    torch::serialize::InputArchive ar;
    ar.load_from(dir + out + "/model.pt");
    m->load(ar);
    return m;
  };
  // The model as the trainer builds it before loading (same seed, same construction order).
  torch::manual_seed(s2s.train.seed);
  ByteSeq2Seq fresh(s2s.seq2seq, std::make_shared<QatState>());
  const auto fresh_encoder = params_of(*fresh, "classifier.");
  const auto fresh_all = params_of(*fresh, "");

  auto frozen = train(6, "/frozen");
  const auto frozen_encoder = params_of(*frozen, "classifier.");
  ASSERT_EQ(frozen_encoder.size(), pretrained.size());
  // every encoder parameter is the pretrained one (loaded, then frozen) ...
  EXPECT_EQ(same_count(frozen_encoder, pretrained), static_cast<int>(pretrained.size()));
  // ... and not the fresh one (the load did something)
  EXPECT_LT(same_count(frozen_encoder, fresh_encoder), static_cast<int>(pretrained.size()) / 2);
  // the decoder trained
  int decoder_moved = 0;
  for (const auto& [k, t] : params_of(*frozen, "")) {
    if (k.rfind("classifier.", 0) != 0) decoder_moved += !torch::equal(t, fresh_all.at(k));
  }
  EXPECT_GE(decoder_moved, 8);

  // Frozen for 3 of 6 steps: the encoder trains afterwards.
  auto half = train(3, "/half");
  const auto half_encoder = params_of(*half, "classifier.");
  EXPECT_LT(same_count(half_encoder, pretrained), static_cast<int>(pretrained.size()) / 2);

  // A checkpoint of another encoder: an error naming the tensor, the key and what to write.
  auto other = s2s;
  other.seq2seq.encoder_layers = 2;
  std::string msg;
  try {
    train_seq2seq(other,
                  TrainOptions{dir + "/train.tsv", dir + "/valid.tsv", dir + "/bad", false, false},
                  pre);
  } catch (const ModelFileError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("'layers.1.query.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.transformer_layers: 2 vs 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"transformer_layers\":2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a pretraining config for this seq2seq encoder has"), std::string::npos)
      << msg;
}

// pretrain --init-from: continued pretraining starts from every tensor of a pretraining
// checkpoint (encoder and prediction head) at step 0; pretrain.freeze_encoder_steps trains only
// the head.
TEST(InitFrom, PretrainContinuesFromACheckpoint) {
  auto dir = fresh_dir("pre_init");
  auto cfg = tiny_config();
  const auto pre = pretrain_tiny(dir, cfg);
  auto src = load_pretrain_checkpoint(pre);
  const auto src_encoder = params_of(*src, "encoder.");
  const auto src_head = params_of(*src, "mlm_head.");
  torch::manual_seed(cfg.pretrain.seed);
  ByteMlm fresh(cfg, std::make_shared<QatState>());
  const auto fresh_encoder = params_of(*fresh, "encoder.");

  auto run = [&](int freeze, const std::string& out) {
    auto c = cfg;
    c.pretrain.steps = 6;
    c.pretrain.eval_every_steps = 3;
    c.pretrain.freeze_encoder_steps = freeze;
    PretrainOptions o;
    o.corpus = {make_corpus(dir + "/corpus2.txt", 200, 7)};
    o.out_dir = dir + out;
    o.init_from = pre;
    o.verbose = false;
    EXPECT_EQ(pretrain_encoder(c, o).steps, 6);
    return load_pretrain_checkpoint(dir + out);
  };
  auto frozen = run(6, "/frozen");
  const auto enc = params_of(*frozen, "encoder.");
  EXPECT_EQ(same_count(enc, src_encoder), static_cast<int>(src_encoder.size()));
  EXPECT_LT(same_count(enc, fresh_encoder), static_cast<int>(src_encoder.size()) / 2);
  EXPECT_EQ(same_count(params_of(*frozen, "mlm_head."), src_head), 0);  // the head trained

  auto free = run(0, "/free");
  EXPECT_LT(same_count(params_of(*free, "encoder."), src_encoder),
            static_cast<int>(src_encoder.size()) / 2);

  // The loader on its own: every tensor (parameters and buffers) is copied.
  ByteMlm m(cfg, std::make_shared<QatState>());
  int64_t step = 0;
  const int64_t n = init_pretraining_from(m, cfg, pre, &step);
  EXPECT_EQ(step, 4);
  EXPECT_EQ(n, static_cast<int64_t>(m->named_parameters().size() + m->named_buffers().size()));
  EXPECT_EQ(same_count(params_of(*m, ""), params_of(*src, "")),
            static_cast<int>(m->named_parameters().size()));
  // Another encoder config: a config error naming the key.
  auto other = cfg;
  other.model.qrnn_state_size = 48;
  ByteMlm mo(other, std::make_shared<QatState>());
  std::string msg;
  try {
    init_pretraining_from(mo, other, pre);
  } catch (const ConfigError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("model.qrnn_state_size: 48 vs 32"), std::string::npos) << msg;
}

TEST(InitFrom, ShapeOrConfigMismatchIsAnErrorNamingTheTensorOrKey) {
  auto dir = fresh_dir("mismatch");
  auto cfg = tiny_config();
  const auto pre = pretrain_tiny(dir, cfg);
  auto build = [](const ExperimentConfig& c) {
    ModelMeta meta;
    meta.config = c;
    meta.label_names = {"a", "b"};
    return build_model(meta, std::make_shared<QatState>());
  };
  auto ft = cfg;
  ft.model.qrnn_state_size = 48;
  auto model = build(ft);
  std::string msg;
  try {
    init_encoder_from(model, ft, pre);
  } catch (const ModelFileError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("'qrnn.0.gates_fwd.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[144, 96]"), std::string::npos) << msg;  // 3 * 48 gates, 3 taps * 32
  EXPECT_NE(msg.find("[96, 96]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.qrnn_state_size: 48 vs 32"), std::string::npos) << msg;
  // A missing tensor (two QRNN layers, one pretrained) is named too.
  ft = cfg;
  ft.model.qrnn_layers = 2;
  model = build(ft);
  msg.clear();
  try {
    init_encoder_from(model, ft, pre);
  } catch (const ModelFileError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("'qrnn.1."), std::string::npos) << msg;
  EXPECT_NE(msg.find("found none"), std::string::npos) << msg;
  // Same shapes, different tokenizer: a config error naming the key.
  ft = cfg;
  ft.tokenizer.lowercase_ascii = false;
  model = build(ft);
  msg.clear();
  try {
    init_encoder_from(model, ft, pre);
  } catch (const ConfigError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("tokenizer.lowercase_ascii: false vs true"), std::string::npos) << msg;
  // A path that does not exist.
  msg.clear();
  try {
    init_encoder_from(model, cfg, dir + "/nothing-here");
  } catch (const ModelFileError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
}

TEST(PretrainConfig, ParsesValidatesAndRoundTrips) {
  auto msg = [](const std::string& text) {
    try {
      config_from_json(nlohmann::json::parse(text), "cfg.json");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(msg(R"({"pretrain": {"mask_rate": 0.9}})"),
            "cfg.json: pretrain.mask_rate: expected a number in (0, 0.5], found number 0.9");
  EXPECT_NE(msg(R"({"pretrain": {"mask_ratio": 0.1}})").find("unknown key \"pretrain.mask_ratio\""),
            std::string::npos);
  EXPECT_NE(msg(R"({"model": {"encoder": "transformer"}, "tokenizer": {"max_length": 128},
                    "pretrain": {"seq_len": 256}})")
                .find("pretrain.seq_len: expected at most tokenizer.max_length (128"),
            std::string::npos);
  auto c = load_config(testutil::source_path("configs/pretrain_byteqrnn.json"));
  EXPECT_TRUE(c.has_pretrain);
  EXPECT_EQ(config_to_json(config_from_json(config_to_json(c), "rt")), config_to_json(c));
  // The fine-tuning recipe has the pretraining recipe's encoder.
  auto ft = load_config(testutil::source_path("configs/byteqrnn_olid_finetune.json"));
  EXPECT_TRUE(encoder_config_differences(ft, c).empty());
  EXPECT_FALSE(ft.has_pretrain);
  EXPECT_EQ(config_to_json(ft).count("pretrain"), 0u);
  // The same for the larger ByteTransformer pair, whose seq_len must fit the position table.
  auto ct = load_config(testutil::source_path("configs/pretrain_bytetransformer.json"));
  EXPECT_TRUE(ct.has_pretrain);
  EXPECT_EQ(ct.model.encoder, "transformer");
  EXPECT_LE(ct.pretrain.seq_len, ct.tokenizer.max_length);
  auto ftt = load_config(testutil::source_path("configs/bytetransformer_large_olid.json"));
  EXPECT_TRUE(encoder_config_differences(ftt, ct).empty());
  EXPECT_FALSE(encoder_config_differences(ftt, c).empty());
}

}  // namespace
}  // namespace bytelite
