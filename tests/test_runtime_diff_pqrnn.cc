// Differential tests of the pQRNN encoder (model.encoder "pqrnn", projection input; robustness
// case C7): the libtorch QAT forward (eval mode) against the exported int8 model run by
// libbytelite, on real OLID data, with the bounds of the ByteQRNN test (test_runtime_diff.cc):
//  - the projection is computed identically on both sides: the training input
//    (project_id_batch) equals the runtime's int8 projection (tap "projection") value for value,
//    for every OLID test tweet;
//  - the exported weights are what the fake quantizers compute;
//  - per op, run by the runtime on the training graph's own input, the int8 tensors agree with
//    the fake-quantized tensors of libtorch (mismatch rates printed and bounded);
//  - on the whole OLID test set (860 tweets), |probability difference| <= 0.01 per example and
//    the ROC AUC difference <= 0.002.
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
#include "train/projection_input.h"

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

// 2 QRNN layers, the shipped recipe's [attention; max] pooling, QAT after a short warm-up, a
// few hundred steps on an OLID subset (as test_runtime_diff.cc).
ExperimentConfig pqrnn_config() {
  ExperimentConfig c = small_config(32, 2, 280);
  c.model.encoder = "pqrnn";
  c.model.projection_feature_size = 64;
  c.model.projection_max_tokens = 64;
  c.model.pooling = "attention_max";
  c.quantization.warmup_steps = 40;
  c.train.batch_size = 32;
  c.train.max_steps = 240;
  c.train.eval_every_steps = 120;
  c.train.lr_warmup_steps = 20;
  return c;
}

class PqrnnDiff : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(trained_qat_model("diff_pqrnn", pqrnn_config(), 3000, 300));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string* dir_;
};
std::string* PqrnnDiff::dir_ = nullptr;

const QuantParams kUnitParams{1.0, 0};  // the projection values -1, 0, +1 as int8

// The eval-mode QAT forward of one sequence, op by op (mirrors pqrnn_encode in
// src/train/encoder_registry.cc and ByteClassifierImpl::pool_and_head).
std::vector<TorchOp> torch_trace(ByteClassifier& m, const std::vector<int32_t>& ids) {
  torch::NoGradGuard ng;
  m->eval();
  const int64_t L = static_cast<int64_t>(ids.size());
  auto idt = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).reshape({1, L});
  std::vector<TorchOp> out;
  const ProjectionBatch p = project_id_batch(idt, torch::ones({1, L}), projection_config(m->cfg));
  out.push_back({"projection", p.values[0], kUnitParams});
  auto h = m->bottleneck->forward(p.values, p.mask);
  out.push_back({"bottleneck", h[0], m->bottleneck->out_quant->params()});
  for (size_t i = 0; i < m->qrnn->size(); ++i) {
    auto l = m->qrnn[i]->as<QrnnLayer>();
    const std::string name = "qrnn" + std::to_string(i);
    auto gates = l->gates_fwd->forward(conv_window(h, l->kernel_width, false), p.mask);
    out.push_back({name + ".fwd.gates", gates[0], l->gates_fwd->out_quant->params()});
    h = l->forward(h, p.mask);
    out.push_back({name, h[0], signed_unit_range_params()});
  }
  auto pooled = m->pool->forward(h, p.mask);
  out.push_back({"pool", pooled, m->pool->out_quant->params()});
  if (m->pool_concat_quant) {
    auto mx = std::get<0>(h.max(1));  // one sequence, no padding
    pooled = m->pool_concat_quant->forward(torch::cat({pooled, mx}, -1));
    out.push_back({"pool_concat", pooled, m->pool_concat_quant->params()});
  }
  auto logits = m->head->forward(pooled);
  out.push_back({"logits", logits, m->head->out_quant->params()});
  return out;
}

TEST_F(PqrnnDiff, TheModelFileCarriesTheProjectionSettings) {
  auto model = Model::load(*dir_ + "/model.blt");
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "pqrnn");
  EXPECT_EQ(info.encoder, "pqrnn");
  EXPECT_EQ(info.projection_feature_size, 64);
  EXPECT_EQ(info.projection_max_tokens, 64);
  EXPECT_TRUE(info.projection_split_on_space);
  EXPECT_TRUE(info.projection_lowercase);
  EXPECT_FALSE(info.projection_add_bos);
  EXPECT_FALSE(info.projection_add_eos);
  EXPECT_EQ(info.embedding_size, 0);  // no byte embedding
  EXPECT_EQ(info.bottleneck_size, 32);
  EXPECT_EQ(info.qrnn_layers, 2);
  EXPECT_EQ(info.pooling, "attention_max");
  const auto& net = model->impl().net;
  EXPECT_TRUE(net.projection);
  EXPECT_EQ(net.bottleneck.w.k, 64);
  EXPECT_EQ(net.bottleneck.in.scale, 1.0f);
  EXPECT_EQ(net.bottleneck.in.zero_point, 0);
}

TEST_F(PqrnnDiff, ExportedWeightsAreWhatTheFakeQuantizersCompute) {
  auto lc = load_checkpoint(*dir_);
  auto model = Model::load(*dir_ + "/model.blt");
  const auto& net = model->impl().net;
  torch::NoGradGuard ng;
  auto check_dense = [](const rt::DenseLayer& d, const QDense& q, const std::string& name) {
    auto [w, b] = q->folded();
    auto want = fake_quant_weight(w).contiguous();
    const float* wp = want.data_ptr<float>();
    auto scales = weight_scales(w).contiguous();
    int64_t bad = 0;
    for (int64_t j = 0; j < d.w.n; ++j) {
      const float s = scales[j].item<float>();
      for (int64_t i = 0; i < d.w.k; ++i) {
        const float got = static_cast<float>(static_cast<double>(d.w.w[j * d.w.k + i]) * s);
        bad += got != wp[j * d.w.k + i] ? 1 : 0;
      }
    }
    EXPECT_EQ(bad, 0) << name << ": weights differ from fake_quant_weight(folded())";
  };
  check_dense(net.bottleneck, lc.model->bottleneck, "bottleneck");
  for (size_t i = 0; i < net.qrnn.size(); ++i) {
    auto l = lc.model->qrnn[i]->as<QrnnLayer>();
    check_dense(net.qrnn[i].fwd.gates, l->gates_fwd, "qrnn.fwd");
    check_dense(net.qrnn[i].bwd.gates, l->gates_bwd, "qrnn.bwd");
  }
  check_dense(net.pool.score, lc.model->pool->score, "pool.score");
  check_dense(net.head, lc.model->head, "head");
}

// The hash computed identically on both sides: for every OLID test tweet, the training input
// (project_id_batch on the tokenizer's ids) equals the runtime's int8 projection.
TEST_F(PqrnnDiff, TrainingAndRuntimeProjectEveryTweetIdentically) {
  auto lc = load_checkpoint(*dir_);
  Classifier clf(Model::load(*dir_ + "/model.blt"));
  const auto& net = clf.model().impl().net;
  auto texts = testutil::olid_texts("data/olid/test.tsv", 860);
  ASSERT_EQ(texts.size(), 860u);
  texts.push_back("");  // an empty text: one all-zero position on both sides
  rt::Workspace ws;
  int64_t values = 0, nonzero = 0, differ = 0;
  for (const auto& text : texts) {
    auto ids = clf.encode(text);
    const int64_t T = static_cast<int64_t>(ids.size());
    auto idt = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).reshape({1, T});
    const ProjectionBatch p =
        project_id_batch(idt, torch::ones({1, T}), projection_config(lc.meta.config.model));
    rt::Trace trace;
    std::vector<int8_t> logits(net.head.w.n);
    rt::classifier_forward(rt::OpContext{rt::best_isa(), ws.ops, &trace}, net, ids.data(), T, ws,
                           logits.data());
    const rt::Trace::Entry* e = trace.find("projection");
    ASSERT_NE(e, nullptr);
    ASSERT_EQ(static_cast<int64_t>(e->data.size()), p.values.numel()) << text;
    auto v = p.values.contiguous();
    const float* vp = v.data_ptr<float>();
    for (size_t i = 0; i < e->data.size(); ++i) {
      values += 1;
      nonzero += e->data[i] != 0 ? 1 : 0;
      differ += static_cast<float>(e->data[i]) != vp[i] ? 1 : 0;
    }
  }
  std::printf("projection: %lld values over %zu texts, %.1f%% nonzero, %lld differ\n",
              static_cast<long long>(values), texts.size(), 100.0 * nonzero / values,
              static_cast<long long>(differ));
  EXPECT_EQ(differ, 0);
  // ternary values: about half nonzero (each of the 4 two-bit codes 1/4)
  EXPECT_GT(nonzero, values * 4 / 10);
  EXPECT_LT(nonzero, values * 6 / 10);
}

// Every runtime op on the libtorch graph's own input ("isolated") and the end-to-end forward.
TEST_F(PqrnnDiff, EveryOpAgreesWithTheFakeQuantizedTrainingGraph) {
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
    const TorchOp& proj = find_op(ops, "projection");
    const int64_t L = proj.value.size(0);
    auto pin8 = to_int8(proj);
    std::vector<int8_t> y(L * 256);
    rt::dense(rt::OpContext{isa, s}, net.bottleneck, pin8.data(), L,
              net.projection_cfg.feature_size, y.data());
    tally(iso["bottleneck"],
          to_q(find_op(ops, "bottleneck").value, find_op(ops, "bottleneck").params), y.data());
    std::vector<int8_t> in = to_int8(find_op(ops, "bottleneck"));
    int64_t C = net.bottleneck.w.n;
    tally_isolated_qrnn_to_logits(ops, net, isa, s, std::move(in), L, C, iso);
  }
  print_agreement(order, iso, e2e);
  EXPECT_EQ(e2e["projection"].mismatched, 0);
  for (const auto& [name, a] : iso) {
    // as ByteQRNN: at most 0.1% of values per op (float rounding near halfway cases)
    EXPECT_LE(a.mismatched, a.values / 1000) << name << ": more than 0.1% of values differ";
  }
}

TEST_F(PqrnnDiff, OlidTestSetProbabilitiesAndAucAgree) {
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
  std::vector<float> s_torch, s_rt;
  std::vector<int32_t> y;
  for (size_t i = 0; i < texts.size(); ++i) {
    const double d = std::fabs(p_torch[2 * i + 1] - preds[i].probabilities[1]);
    max_d = std::max(max_d, d);
    sum_d += d;
    s_torch.push_back(p_torch[2 * i + 1]);
    s_rt.push_back(preds[i].probabilities[1]);
    y.push_back(test.examples[i].label);
  }
  const double auc_t = roc_auc(s_torch, y), auc_r = roc_auc(s_rt, y);
  std::printf(
      "pqrnn, OLID test (%zu tweets): max |dp| %.5f, mean |dp| %.6f; ROC AUC libtorch %.5f, int8 "
      "%.5f, difference %+.5f\n",
      texts.size(), max_d, sum_d / texts.size(), auc_t, auc_r, auc_r - auc_t);
  EXPECT_GT(auc_t, 0.55);  // the model learned something, so the comparison means something
  EXPECT_LE(max_d, 0.01);
  EXPECT_LE(std::fabs(auc_r - auc_t), 0.002);
}

}  // namespace
}  // namespace bytelite
