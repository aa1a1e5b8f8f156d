// Differential tests (robustness case C7): the libtorch QAT forward (eval mode, the training
// graph) against the exported int8 model run by libbytelite, on real OLID data.
//  - the exported tensors are exactly what the fake quantizers compute (weights, embedding,
//    activation params);
//  - per op, the int8 tensors of the runtime agree with the fake-quantized tensors of libtorch
//    (mismatch rates in LSB are printed and bounded);
//  - on the whole OLID test set (860 tweets), per-example |probability difference| and the
//    ROC AUC difference are bounded.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <map>

#include "bytelite/classifier.h"
#include "core/metrics.h"
#include "runtime/models/classifier_net.h"
#include "runtime_diff_util.h"
#include "runtime_test_util.h"
#include "train/layers.h"

namespace bytelite {
namespace {

using testutil::Agreement;
using testutil::find_op;
using testutil::print_agreement;
using testutil::small_config;
using testutil::tally;
using testutil::tally_isolated_qrnn_to_logits;
using testutil::to_int8;
using testutil::to_q;
using testutil::TorchOp;
using testutil::trained_qat_model;

// The model of this suite: 2 QRNN layers (every op and the layer > 0 path), the shipped recipe's
// lowercasing and [attention; max] pooling, QAT active after a
// short warm-up, a few hundred steps on an OLID subset (about a minute on 2 cores).
ExperimentConfig diff_config() {
  ExperimentConfig c = small_config(32, 2, 160);
  c.tokenizer.lowercase_ascii = true;  // as the shipped OLID recipe
  c.model.pooling = "attention_max";   // attention pooling concatenated with max pooling
  c.quantization.warmup_steps = 40;
  c.train.batch_size = 32;
  c.train.max_steps = 240;
  c.train.eval_every_steps = 120;
  c.train.lr_warmup_steps = 20;
  return c;
}

class RuntimeDiff : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(trained_qat_model("diff_qrnn2", diff_config(), 3000, 300));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string* dir_;
};
std::string* RuntimeDiff::dir_ = nullptr;

// The eval-mode QAT forward of one sequence, as the training code's own trace: the training
// forward (ByteClassifierImpl::forward) records its fake-quantized tensors under the runtime's tap
// names (runtime/ops/taps.h, train/layers.h TorchTrace), in the order it computes them.
std::vector<TorchOp> torch_trace(ByteClassifier& m, const std::vector<int32_t>& ids) {
  torch::NoGradGuard ng;
  m->eval();
  const int64_t L = static_cast<int64_t>(ids.size());
  auto idt = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).view({1, L});
  TorchTrace trace;
  {
    TraceScope scope(&trace);
    m->forward(idt, torch::ones({1, L}));
  }
  std::vector<TorchOp> out;
  for (const auto& e : trace.entries) out.push_back({e.name, e.value, e.params});
  return out;
}

TEST_F(RuntimeDiff, ExportedTensorsAreWhatTheFakeQuantizersCompute) {
  auto lc = load_checkpoint(*dir_);
  auto model = Model::load(*dir_ + "/model.blt");
  const auto& net = model->impl().net;
  torch::NoGradGuard ng;
  // Every dense layer: int8 weight * scale == fake_quant_weight(folded W), bit for bit.
  auto check_dense = [](const rt::DenseLayer& d, const QDense& q, const std::string& name) {
    auto [w, b] = q->folded();
    auto want = fake_quant_weight(w).contiguous();
    const float* wp = want.data_ptr<float>();
    auto scales = weight_scales(w).contiguous();
    int64_t bad = 0;
    for (int64_t j = 0; j < d.w.n; ++j) {
      const float s = scales[j].item<float>();
      for (int64_t i = 0; i < d.w.k; ++i) {
        // the fake quantizer's output: float((q - 0) * scale)
        const float got = static_cast<float>(static_cast<double>(d.w.w[j * d.w.k + i]) * s);
        bad += got != wp[j * d.w.k + i] ? 1 : 0;
      }
    }
    EXPECT_EQ(bad, 0) << name << ": weights differ from fake_quant_weight(folded())";
  };
  check_dense(net.bottleneck, lc.model->bottleneck, "bottleneck");
  check_dense(net.gbst.conv, lc.model->gbst->conv, "gbst.conv");
  check_dense(net.gbst.score, lc.model->gbst->score, "gbst.score");
  for (size_t i = 0; i < net.qrnn.size(); ++i) {
    auto l = lc.model->qrnn[i]->as<QrnnLayer>();
    check_dense(net.qrnn[i].fwd.gates, l->gates_fwd, "qrnn.fwd");
    check_dense(net.qrnn[i].bwd.gates, l->gates_bwd, "qrnn.bwd");
  }
  check_dense(net.pool.score, lc.model->pool->score, "pool.score");
  check_dense(net.head, lc.model->head, "head");
  // Embedding table == fake_quant(E) with the embedding params.
  const QuantParams ep = lc.model->embedding_quant->params();
  auto fq = fake_quant(lc.model->embedding, ep).contiguous();
  auto q = to_q(fq, ep);
  int64_t bad = 0;
  for (size_t i = 0; i < q.size(); ++i) bad += q[i] != net.embedding[i] ? 1 : 0;
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(net.embedding_q.scale, static_cast<float>(ep.scale));
  EXPECT_EQ(net.embedding_q.zero_point, ep.zero_point);
  EXPECT_EQ(net.head.out.zero_point, lc.model->head->out_quant->params().zero_point);
  EXPECT_EQ(model->info().labels, lc.meta.label_names);
  EXPECT_EQ(model->info().thresholds, lc.meta.thresholds);
}

// Runs every runtime op (or layer) on the libtorch graph's own input to that op, so that the
// comparison isolates each op's arithmetic from differences upstream ("isolated"); also
// compares the end-to-end runtime forward ("end to end").
TEST_F(RuntimeDiff, EveryOpAgreesWithTheFakeQuantizedTrainingGraph) {
  auto lc = load_checkpoint(*dir_);
  Classifier clf(Model::load(*dir_ + "/model.blt"));
  const auto& net = clf.model().impl().net;
  auto texts = testutil::olid_texts("data/olid/test.tsv", 120);
  std::map<std::string, Agreement> iso, e2e;
  std::vector<std::string> order;
  rt::Workspace ws;
  rt::OpScratch s;
  const rt::Isa isa = rt::best_isa();
  for (const auto& text : texts) {
    auto ids = clf.encode(text);
    const int64_t T = static_cast<int64_t>(ids.size());
    auto ops = torch_trace(lc.model, ids);
    // the training trace has every tap the comparisons below use (pool_concat: attention_max)
    ASSERT_GE(ops.size(), 17u);
    // end to end
    rt::Trace trace;
    std::vector<int8_t> logits(net.head.w.n);
    rt::classifier_forward(rt::OpContext{isa, ws.ops, &trace}, net, ids.data(), T, ws,
                           logits.data());
    for (const auto& op : ops) {
      const rt::Trace::Entry* e = trace.find(op.name);
      ASSERT_NE(e, nullptr) << op.name;
      auto want = to_q(op.value, op.params);
      ASSERT_EQ(want.size(), e->data.size()) << op.name;
      if (!e2e.count(op.name)) order.push_back(op.name);
      tally(e2e[op.name], want, e->data.data());
    }
    // isolated: each layer on the torch input
    auto emb = to_int8(find_op(ops, "embedding"));
    std::vector<int8_t> y(T * 256);
    rt::dense(rt::OpContext{isa, s}, net.bottleneck, emb.data(), T, net.embedding_size, y.data());
    tally(iso["bottleneck"],
          to_q(find_op(ops, "bottleneck").value, find_op(ops, "bottleneck").params), y.data());
    auto bott = to_int8(find_op(ops, "bottleneck"));
    rt::Trace gt;
    rt::gbst(rt::OpContext{isa, s, &gt}, net.gbst, bott.data(), T, y.data());
    for (const char* n : {"gbst.conv", "gbst.cand1", "gbst.cand2", "gbst.cand3", "gbst.cand4",
                          "gbst.scores", "gbst.probs", "gbst.mix", "gbst.out"}) {
      const TorchOp& op = find_op(ops, n);
      tally(iso[n], to_q(op.value, op.params), gt.find(n)->data.data());
    }
    std::vector<int8_t> in = to_int8(find_op(ops, "gbst.out"));
    int64_t L = (T + net.gbst.downsample_rate - 1) / net.gbst.downsample_rate;
    int64_t C = net.gbst.conv.w.n;
    tally_isolated_qrnn_to_logits(ops, net, isa, s, std::move(in), L, C, iso);
  }
  print_agreement(order, iso, e2e);
  EXPECT_EQ(e2e["embedding"].mismatched, 0);
  for (const auto& [name, a] : iso) {
    // Measured: at most 0.01% per op (float rounding of the training graph near halfway cases).
    EXPECT_LE(a.mismatched, a.values / 1000) << name << ": more than 0.1% of values differ";
  }
}

TEST_F(RuntimeDiff, OlidTestSetProbabilitiesAndAucAgree) {
  auto lc = load_checkpoint(*dir_);
  Classifier clf(Model::load(*dir_ + "/model.blt"));
  DataSpec spec;
  Dataset test =
      read_dataset(testutil::source_path("data/olid/test.tsv"), spec, lc.meta.label_names);
  ASSERT_EQ(test.examples.size(), 860u);
  ByteTokenizer tok(lc.meta.config.tokenizer.max_length, lc.meta.config.tokenizer.lowercase_ascii);
  EncodedDataset enc = encode_dataset(test, tok);
  auto p_torch = predict_probabilities(lc.model, false, enc.ids);
  std::vector<std::string> texts;
  for (const auto& ex : test.examples) texts.push_back(ex.text);
  auto preds = clf.classify_batch(texts, 2);
  double max_d = 0, sum_d = 0;
  int64_t over = 0;
  std::vector<float> s_torch, s_rt;
  std::vector<int32_t> y;
  for (size_t i = 0; i < texts.size(); ++i) {
    const double d = std::fabs(p_torch[2 * i + 1] - preds[i].probabilities[1]);
    max_d = std::max(max_d, d);
    sum_d += d;
    over += d > 0.01 ? 1 : 0;
    s_torch.push_back(p_torch[2 * i + 1]);
    s_rt.push_back(preds[i].probabilities[1]);
    y.push_back(test.examples[i].label);
  }
  const double auc_t = roc_auc(s_torch, y), auc_r = roc_auc(s_rt, y);
  std::printf(
      "OLID test (%zu tweets): max |dp| %.5f, mean |dp| %.6f, %lld over 0.01; ROC AUC libtorch "
      "%.5f, int8 %.5f, difference %+.5f; logit scale %.4f\n",
      texts.size(), max_d, sum_d / texts.size(), static_cast<long long>(over), auc_t, auc_r,
      auc_r - auc_t, clf.logit_params().first);
  EXPECT_LE(max_d, 0.01);
  EXPECT_LE(std::fabs(auc_r - auc_t), 0.002);
}

}  // namespace
}  // namespace bytelite
