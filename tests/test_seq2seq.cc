// The merged-attention seq2seq model (docs/seq2seq.md): the fixed-size cache of the int8 decoder
// (golden cases of SeqFlowLite spec §3.3), the teacher-forced training graph against the
// step-by-step libtorch decode, the QAT model against the int8 runtime decoder, a short G2P
// training run, and beam search on the int8 decoder.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bytelite/beam_search.h"
#include "bytelite/errors.h"
#include "runtime/ops/decoder.h"
#include "seq2seq_test_util.h"
#include "train/seq2seq.h"
#include "train/seq2seq_export.h"
#include "train_test_util.h"

namespace bytelite {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

using testutil::read_g2p;

using testutil::ids_of;

rt::QParams qp(float scale, int32_t zp) { return rt::QParams{scale, zp}; }

// ---- golden cache cases (spec §3.3), expected values worked out by hand ----

TEST(Seq2SeqCache, SpecCaseRowsOneToFour) {
  // D = 4, beam = 4; v rows filled with 1, 2, 3, 4 (scale 1/16: codes 16, 32, 48, 64), output
  // range [0, 4] (scale 4/255, zero point -128).
  const int64_t D = 4, K = 4;
  const rt::QParams vq = qp(1.0f / 16.0f, 0), oq = qp(4.0f / 255.0f, -128);
  std::vector<int8_t> v(K * D);
  for (int64_t i = 0; i < K; ++i)
    for (int64_t c = 0; c < D; ++c) v[i * D + c] = static_cast<int8_t>(16 * (i + 1));
  std::vector<double> a(K * D), b(K * D);
  std::vector<int8_t> out(K * D);
  auto deq = [&](int8_t q) { return (q - oq.zero_point) * static_cast<double>(oq.scale); };
  // t = 1, parents (0, 0, 0, 0): the output equals the input.
  const int32_t p1[4] = {0, 0, 0, 0};
  rt::uniform_causal_average(v.data(), vq, K, D, 1, p1, nullptr, a.data(), oq, out.data());
  const double want1[4] = {1, 2, 3, 4};
  for (int64_t i = 0; i < K; ++i)
    for (int64_t c = 0; c < D; ++c) EXPECT_NEAR(deq(out[i * D + c]), want1[i], 1e-2);
  // t = 2, parents (2, 3, 1, 1), same rows: (3 + 1) / 2, (4 + 2) / 2, (2 + 3) / 2, (2 + 4) / 2.
  const int32_t p2[4] = {2, 3, 1, 1};
  rt::uniform_causal_average(v.data(), vq, K, D, 2, p2, a.data(), b.data(), oq, out.data());
  const double want2[4] = {2, 3, 2.5, 3};
  const double sum2[4] = {4, 6, 5, 6};
  for (int64_t i = 0; i < K; ++i) {
    for (int64_t c = 0; c < D; ++c) {
      EXPECT_NEAR(deq(out[i * D + c]), want2[i], 1e-2) << i;
      EXPECT_DOUBLE_EQ(b[i * D + c], sum2[i]);  // the running sums themselves, exact
    }
  }
}

TEST(Seq2SeqCache, SpecCaseReorderedRow) {
  // Step 2, row 0 = (input row 2 of step 1 + input row 0 of step 2) / 2 = (13.2 + 2.1) / 2 = 7.65.
  // Input scale 0.3 represents both: 13.2 = 44 * 0.3, 2.1 = 7 * 0.3. Output range [0, 16].
  const int64_t D = 4, K = 4;
  const rt::QParams vq = qp(0.3f, 0), oq = qp(16.0f / 255.0f, -128);
  std::vector<int8_t> v1(K * D, 0), v2(K * D, 0);
  for (int64_t c = 0; c < D; ++c) {
    v1[2 * D + c] = 44;  // step 1, row 2
    v2[0 * D + c] = 7;   // step 2, row 0
  }
  std::vector<double> a(K * D), b(K * D);
  std::vector<int8_t> out(K * D);
  const int32_t p1[4] = {0, 0, 0, 0}, p2[4] = {2, 3, 1, 1};
  rt::uniform_causal_average(v1.data(), vq, K, D, 1, p1, nullptr, a.data(), oq, out.data());
  rt::uniform_causal_average(v2.data(), vq, K, D, 2, p2, a.data(), b.data(), oq, out.data());
  for (int64_t c = 0; c < D; ++c) {
    EXPECT_NEAR(b[c], 15.3, 1e-5);
    EXPECT_NEAR((out[c] - oq.zero_point) * static_cast<double>(oq.scale), 7.65, 0.5 * 16.0 / 255);
    // rows 1..3: (0 + 0) / 2 for row 1 (parent 3), row 2 and 3 continue row 1: 0
    EXPECT_EQ(out[1 * D + c], oq.zero_point);
  }
}

TEST(Seq2SeqCache, InvalidParentOrStepFails) {
  const int64_t D = 4, K = 4;
  std::vector<int8_t> v(K * D, 1), out(K * D);
  std::vector<double> a(K * D, 0), b(K * D);
  const int32_t bad[4] = {0, 20, 0, 0};
  EXPECT_THROW(rt::uniform_causal_average(v.data(), qp(0.1f, 0), K, D, 2, bad, a.data(), b.data(),
                                          qp(0.1f, 0), out.data()),
               InvalidArgument);
  const int32_t ok[4] = {0, 0, 0, 0};
  EXPECT_THROW(rt::uniform_causal_average(v.data(), qp(0.1f, 0), K, D, -10, ok, a.data(), b.data(),
                                          qp(0.1f, 0), out.data()),
               InvalidArgument);
  // the same through a decoder session and the beam adapter
  rt::Int8Storage st;
  auto dec = rt::random_matt_decoder(32, 1, 4, 64, 16, 1, st);
  rt::MattDecoderSession s(dec, 4, rt::best_isa());
  std::vector<int8_t> mem(5 * 32, 3);
  s.set_memory(mem.data(), 5, dec.layers[0].key_value.in);
  const int32_t ids[4] = {0, 0, 0, 0};
  s.step(ids, ok);
  EXPECT_THROW(s.step(ids, bad), InvalidArgument);
  rt::MattBeamDecoder bd(s);
  EXPECT_THROW(bd.decode(-10, {0, 0, 0, 0}, {0, 0, 0, 0}), InvalidArgument);
}

// The pre-packed cross-attention equals ops.h attention() bit for bit.
TEST(Seq2SeqCache, CrossAttentionEqualsAttentionOp) {
  std::mt19937 rng(4);
  for (int64_t S : {1, 7, 33}) {
    const int64_t D = 32, H = 4, Tq = 4;
    const rt::QParams q_p = qp(0.05f, 3), kv_p = qp(0.04f, -7);
    auto l = rt::make_attention_layer(static_cast<int32_t>(H), 0.5, q_p, kv_p, qp(0.1f, 2),
                                      qp(0.03f, -1));
    std::vector<int8_t> q(Tq * D), kv(S * 2 * D), y1(Tq * D), y2(Tq * D);
    for (auto& x : q) x = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    for (auto& x : kv) x = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    rt::OpScratch s1, s2;
    const rt::Isa isa = rt::best_isa();
    rt::attention(rt::OpContext{isa, s1}, l, q.data(), q_p, Tq, kv.data(), kv_p, S, D, y1.data());
    rt::CrossMemory m;
    rt::prepare_cross_memory(isa, l, q_p, kv.data(), kv_p, S, D, m);
    rt::cross_attention(rt::OpContext{isa, s2}, l, m, q.data(), Tq, y2.data());
    EXPECT_EQ(y1, y2) << S;
  }
}

// The beam reorder of the int8 decoder: after steps with parent reordering, each slot's logits
// equal those of a beam-1 session fed that slot's history alone.
TEST(Seq2SeqCache, ReorderMatchesIndependentDecoding) {
  rt::Int8Storage st;
  const int64_t D = 32;
  auto dec = rt::random_matt_decoder(D, 2, 4, 64, 16, 7, st);
  std::vector<int8_t> mem(6 * D);
  for (size_t i = 0; i < mem.size(); ++i) mem[i] = static_cast<int8_t>((i * 37) % 200 - 100);
  const rt::QParams mq = dec.layers[0].key_value.in;
  const int K = 4;
  rt::MattDecoderSession s(dec, K, rt::best_isa());
  s.set_memory(mem.data(), 6, mq);
  // histories per slot after each step
  std::vector<std::vector<int32_t>> hist(K);
  const std::vector<std::vector<int32_t>> parents = {{0, 0, 0, 0}, {2, 3, 1, 1}, {1, 1, 0, 3}};
  const std::vector<std::vector<int32_t>> ids = {{0, 0, 0, 0}, {10, 20, 30, 40}, {50, 60, 70, 80}};
  std::vector<int8_t> last;
  for (size_t t = 0; t < parents.size(); ++t) {
    std::vector<std::vector<int32_t>> nh(K);
    for (int i = 0; i < K; ++i) {
      nh[i] = t == 0 ? std::vector<int32_t>{} : hist[parents[t][i]];
      nh[i].push_back(ids[t][i]);
    }
    hist = nh;
    const int8_t* lg = s.step(ids[t].data(), parents[t].data());
    last.assign(lg, lg + K * kVocabSize);
  }
  for (int i = 0; i < K; ++i) {
    rt::MattDecoderSession one(dec, 1, rt::best_isa());
    one.set_memory(mem.data(), 6, mq);
    const int8_t* lg = nullptr;
    const int32_t p0 = 0;
    for (int32_t id : hist[i]) lg = one.step(&id, &p0);
    for (int c = 0; c < kVocabSize; ++c)
      ASSERT_EQ(lg[c], last[i * kVocabSize + c]) << i << " " << c;
  }
}

// ---- training graph ----

Seq2SeqConfig small_config() {
  Seq2SeqConfig c;
  c.dim = 64;
  c.num_heads = 4;
  c.intermediate_size = 128;
  c.encoder_layers = 2;
  c.decoder_layers = 2;
  c.max_source = 16;
  c.max_target = 48;
  c.label_smoothing = 0.1;
  return c;
}

// Teacher-forced logits vs the step-by-step libtorch decode with the running-sum cache (float).
TEST(Seq2SeqTrain, TeacherForcedEqualsStepByStepFloat) {
  torch::set_num_threads(1);
  torch::manual_seed(1);
  auto qat = std::make_shared<QatState>();
  qat->enabled = false;
  ByteSeq2Seq m(small_config(), qat);
  m->eval();
  torch::NoGradGuard ng;
  auto pairs = read_g2p(97, 3, 8);
  ASSERT_EQ(pairs.size(), 8u);
  auto b = make_seq2seq_batch(pairs, 16, 48);
  auto logits = m->forward(b.src, b.src_mask, b.dec_in);  // [B, T, V]
  auto st = m->start(b.src, b.src_mask);
  const int64_t T = b.dec_in.size(1);
  double max_diff = 0;
  for (int64_t t = 0; t < T; ++t) {
    auto lt = m->step(st, b.dec_in.select(1, t));
    auto d = (lt - logits.select(1, t)).abs() * b.tgt_mask.select(1, t).unsqueeze(-1);
    max_diff = std::max(max_diff, d.max().item<double>());
  }
  EXPECT_LT(max_diff, 1e-4);
}

// With one source shared by the rows (as in a beam), reordering the running sums by parent rows
// gives each row the logits of the history it continues.
TEST(Seq2SeqTrain, StepByStepParentReorderFloat) {
  torch::set_num_threads(1);
  torch::manual_seed(2);
  auto qat = std::make_shared<QatState>();
  qat->enabled = false;
  ByteSeq2Seq m(small_config(), qat);
  m->eval();
  torch::NoGradGuard ng;
  auto pairs = read_g2p(97, 5, 8);
  for (auto& p : pairs) p.first = pairs[0].first;  // one source, eight targets
  auto b = make_seq2seq_batch(pairs, 16, 48);
  auto logits = m->forward(b.src, b.src_mask, b.dec_in);
  auto st = m->start(b.src, b.src_mask);
  const int64_t B = 8, T = b.dec_in.size(1);
  auto order = torch::arange(0, B, torch::kLong);  // row i holds example order[i]
  for (int64_t t = 0; t < T; ++t) {
    auto parents = t % 2 == 1 ? torch::arange(B - 1, -1, -1, torch::kLong)
                              : (torch::arange(0, B, torch::kLong) + 3).remainder(B);
    order = order.index_select(0, parents);
    auto lt = m->step(st, b.dec_in.select(1, t).index_select(0, order), parents);
    auto want = logits.select(1, t).index_select(0, order);
    auto valid = b.tgt_mask.select(1, t).index_select(0, order).unsqueeze(-1);
    ASSERT_LT(((lt - want).abs() * valid).max().item<double>(), 1e-4) << t;
  }
}

TEST(Seq2SeqTrain, LossWithLabelSmoothing) {
  // two classes' worth of a hand-computed case: logits 0 everywhere -> uniform log p = -ln V
  auto c = small_config();
  auto qat = std::make_shared<QatState>();
  qat->enabled = false;
  ByteSeq2Seq m(c, qat);
  auto logits = torch::zeros({1, 2, kVocabSize});
  auto target = torch::tensor({{5L, 1L}});
  auto mask = torch::tensor({{1.0f, 0.0f}});
  EXPECT_NEAR(m->loss(logits, target, mask).item<double>(), std::log(259.0), 1e-5);
  // a confident correct prediction: smoothing adds eps * (mean of -log p over classes)
  logits[0][0][5] = 20.0;
  const double lse = std::log(std::exp(20.0) + 258.0);
  const double nll = lse - 20.0, mean_neg = lse - 20.0 / 259.0;
  EXPECT_NEAR(m->loss(logits, target, mask).item<double>(), 0.9 * nll + 0.1 * mean_neg, 1e-4);
}

TEST(Seq2SeqTrain, ExportNeedsObservedQatRanges) {
  auto qat = std::make_shared<QatState>();
  ByteSeq2Seq m(small_config(), qat);
  EXPECT_THROW(export_seq2seq(*m), ModelFileError);  // ranges never observed
  qat->enabled = false;
  EXPECT_THROW(export_seq2seq(*m), ModelFileError);  // no QAT
}

// ---- a short QAT training run, shared by the runtime tests ----

struct Trained {
  ByteSeq2Seq model{nullptr};
  QatStatePtr qat;
  std::vector<double> losses;
  std::shared_ptr<const rt::Seq2SeqNet> net;
  Pairs eval_pairs;
};

Trained& trained() {
  static Trained* tr = [] {
    torch::set_num_threads(1);
    torch::manual_seed(11);
    auto* r = new Trained;
    r->qat = std::make_shared<QatState>();
    r->qat->enabled = true;
    r->qat->active = false;
    r->model = ByteSeq2Seq(small_config(), r->qat);
    const Pairs train = read_g2p(40, 0, 2000);
    r->eval_pairs = read_g2p(40, 20, 200);
    r->losses = testutil::train_short_qat(*r->model, *r->qat, train, 400, 32, 150);
    r->net = export_seq2seq(*r->model);
    return r;
  }();
  return *tr;
}

double mean_of(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

TEST(Seq2SeqTrain, ShortG2pTrainingReducesLoss) {
  Trained& tr = trained();
  const auto& l = tr.losses;
  const double first = mean_of(l, 0, 20), last = mean_of(l, l.size() - 20, l.size());
  std::printf("G2P training: mean loss of steps 1-20 %.3f, of the last 20 steps %.3f\n", first,
              last);
  EXPECT_LT(last, 0.5 * first);
}

// The libtorch step-by-step decode of the trained QAT model (eval, fake-quantized) against its
// teacher-forced forward: the same quantization points, so the logits agree up to rare rounding
// flips (a float sum in another order can land on the other side of a rounding boundary).
TEST(Seq2SeqRuntime, QatTeacherForcedEqualsQatStepByStep) {
  Trained& tr = trained();
  torch::NoGradGuard ng;
  Pairs chunk(tr.eval_pairs.begin(), tr.eval_pairs.begin() + 16);
  auto b = make_seq2seq_batch(chunk, 16, 48);
  auto logits = tr.model->forward(b.src, b.src_mask, b.dec_in);
  auto st = tr.model->start(b.src, b.src_mask);
  const double lsb = tr.model->logits_quant->params().scale;
  int64_t n = 0, same = 0;
  for (int64_t t = 0; t < b.dec_in.size(1); ++t) {
    auto lt = tr.model->step(st, b.dec_in.select(1, t));
    auto valid = b.tgt_mask.select(1, t) > 0;
    auto d = ((lt - logits.select(1, t)).abs() / lsb).round().index({valid});  // [rows, V]
    n += d.numel();
    same += (d == 0).sum().item<int64_t>();
  }
  const double frac = static_cast<double>(same) / static_cast<double>(n);
  std::printf("QAT teacher-forced vs QAT step-by-step: %.5f of %lld logits identical\n", frac,
              static_cast<long long>(n));
  EXPECT_GE(frac, 0.999);
}

// QAT model (eval, fake-quantized) vs the int8 runtime decoding step by step with teacher
// forcing, on held-out G2P pairs.
TEST(Seq2SeqRuntime, QatMatchesInt8StepDecode) {
  Trained& tr = trained();
  const auto r = testutil::qat_vs_int8(*tr.model, *tr.net, tr.eval_pairs, "");
  EXPECT_GT(r.positions, 1000);
  EXPECT_GE(r.argmax, 0.99);
  EXPECT_GE(r.within1, 0.99);
  EXPECT_LE(r.mean_diff, 0.1);
}

// ---- beam search on the int8 decoder ----

std::vector<Hypothesis> beam_search(const rt::Seq2SeqNet& net, const std::string& word, int beam,
                                    int n_best, double alpha) {
  rt::EncoderScratch es;
  std::vector<int8_t> enc;
  auto src = ids_of(word);
  const int64_t S = rt::seq2seq_encode(rt::OpContext{rt::best_isa(), es.ops}, net.encoder,
                                       src.data(), static_cast<int64_t>(src.size()), enc, es);
  rt::MattDecoderSession s(net.decoder, beam, rt::best_isa());
  s.set_memory(enc.data(), S, net.encoder.out);
  rt::MattBeamDecoder d(s);
  BeamSearchOptions o;
  o.beam_size = beam;
  o.n_best = n_best;
  o.max_len = 40;
  o.length_penalty = alpha;
  return BeamSearch(o).search(d);
}

// Beam size 1 is greedy decoding. With EOS excluded (class mask) the beam of one follows the
// argmax path for max_len steps exactly. With EOS allowed the search also records EOS when it is
// the second-best candidate (the original's 2K candidates), so with alpha = 0 it returns the
// greedy output or a prefix of the greedy path ended by EOS that scores at least as well.
TEST(Seq2SeqRuntime, BeamOneEqualsGreedy) {
  Trained& tr = trained();
  const rt::Seq2SeqNet& net = *tr.net;
  rt::EncoderScratch es;
  std::vector<int8_t> enc;
  int equal_unmasked = 0;
  for (size_t i = 0; i < 20; ++i) {
    const std::string& w = tr.eval_pairs[i].first;
    auto src = ids_of(w);
    const int64_t S = rt::seq2seq_encode(rt::OpContext{rt::best_isa(), es.ops}, net.encoder,
                                         src.data(), static_cast<int64_t>(src.size()), enc, es);
    // greedy with EOS excluded, 24 steps
    rt::MattDecoderSession s(net.decoder, 1, rt::best_isa());
    s.set_memory(enc.data(), S, net.encoder.out);
    std::vector<int32_t> greedy_masked;
    int32_t id = kPadId;
    const int32_t p0 = 0;
    for (int t = 0; t < 24; ++t) {
      const int8_t* lg = s.step(&id, &p0);
      int32_t best = -1;
      for (int32_t c = 0; c < kVocabSize; ++c)
        if (c != kEosId && (best < 0 || lg[c] > lg[best])) best = c;
      greedy_masked.push_back(best);
      id = best;
    }
    rt::MattDecoderSession sb(net.decoder, 1, rt::best_isa());
    sb.set_memory(enc.data(), S, net.encoder.out);
    rt::MattBeamDecoder d(sb);
    BeamSearchOptions o;
    o.beam_size = 1;
    o.n_best = 1;
    o.max_len = 24;
    o.length_penalty = 0.0;
    o.class_mask.assign(kVocabSize, true);
    o.class_mask[kEosId] = false;
    auto masked = BeamSearch(o).search(d);
    ASSERT_EQ(masked.size(), 1u);
    EXPECT_EQ(masked[0].ids, greedy_masked) << w;

    // EOS allowed
    rt::MattDecoderSession sg(net.decoder, 1, rt::best_isa());
    sg.set_memory(enc.data(), S, net.encoder.out);
    const auto greedy = rt::greedy_decode(sg, 40);
    auto hyps = beam_search(net, w, 1, 1, 0.0);
    ASSERT_EQ(hyps.size(), 1u);
    const auto& h = hyps[0].ids;
    if (h == greedy) {
      ++equal_unmasked;
      continue;
    }
    ASSERT_TRUE(hyps[0].finished) << w;
    ASSERT_LT(h.size(), greedy.size()) << w;
    EXPECT_TRUE(std::equal(h.begin(), h.end() - 1, greedy.begin())) << w;
  }
  std::printf("beam 1 with EOS allowed returned the greedy output for %d / 20 words\n",
              equal_unmasked);
}

TEST(Seq2SeqRuntime, NBestOrderedAndDeterministic) {
  Trained& tr = trained();
  int correct = 0;
  for (size_t i = 0; i < 20; ++i) {
    const auto& [w, ref] = tr.eval_pairs[i];
    auto a = beam_search(*tr.net, w, 4, 4, 0.6);
    auto b = beam_search(*tr.net, w, 4, 4, 0.6);
    ASSERT_FALSE(a.empty());
    for (size_t k = 1; k < a.size(); ++k) EXPECT_GE(a[k - 1].score, a[k].score) << w;
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].ids, b[k].ids);
      EXPECT_EQ(a[k].score, b[k].score);  // bit-identical
      EXPECT_EQ(a[k].log_prob, b[k].log_prob);
    }
    auto out = a[0].ids;
    if (!out.empty() && out.back() == kEosId) out.pop_back();
    correct += ByteTokenizer::decode(out) == ref;
  }
  std::printf("beam 4 after the short training run: %d / 20 held-out words exactly right\n",
              correct);
}

}  // namespace
}  // namespace bytelite
