// Training-side ops: fake quantization, QRNN fo-pooling (vs a naive loop, with a
// finite-difference gradient check), folded batch norm, GBST shapes and padding invariance.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "train/classifier_model.h"
#include "train/fake_quant.h"
#include "train/layers.h"
#include "train/qrnn_pool.h"

namespace bytelite {
namespace {

QatStatePtr qat_state(bool enabled, bool active = true) {
  auto s = std::make_shared<QatState>();
  s->enabled = enabled;
  s->active = active;
  return s;
}

TEST(FakeQuant, ParamsFromRangeContainZeroAndSpan255Steps) {
  auto p = quant_params_from_range(-1.0, 3.0);
  EXPECT_NEAR(p.scale, 4.0 / 255.0, 1e-12);
  EXPECT_EQ(p.zero_point, -64);                // -128 + 1 / (4/255) = -64.25 -> -64
  auto q = quant_params_from_range(0.5, 2.0);  // widened to include 0
  EXPECT_NEAR(q.scale, 2.0 / 255.0, 1e-12);
  EXPECT_EQ(q.zero_point, -128);
  auto n = quant_params_from_range(-2.0, -1.0);
  EXPECT_EQ(n.zero_point, 127);
}

TEST(FakeQuant, MatchesTheAffineFormulaAndClamps) {
  QuantParams p{0.1, -28};  // representable range [-10.0, 15.5]
  auto x = torch::tensor({-20.0f, -10.0f, 0.0f, 0.04f, 0.06f, 3.33f, 15.5f, 99.0f});
  auto y = fake_quant(x, p);
  std::vector<float> want = {-10.0f, -10.0f, 0.0f, 0.0f, 0.1f, 3.3f, 15.5f, 15.5f};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(y[i].item<float>(), want[i], 1e-5) << i;
}

TEST(FakeQuant, StraightThroughGradientIsZeroOutsideTheRange) {
  auto x = torch::tensor({-20.0f, 1.0f, 20.0f}, torch::requires_grad());
  fake_quant(x, QuantParams{0.1, 0}).sum().backward();
  EXPECT_FLOAT_EQ(x.grad()[0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(x.grad()[1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(x.grad()[2].item<float>(), 0.0f);
}

TEST(FakeQuant, WeightsArePerChannelSymmetricInt8) {
  auto w = torch::tensor({{0.5f, -1.27f, 0.004f}, {100.0f, 50.0f, -25.0f}});
  auto s = weight_scales(w);
  EXPECT_NEAR(s[0].item<float>(), 0.01f, 1e-7);
  EXPECT_NEAR(s[1].item<float>(), 100.0f / 127.0f, 1e-5);
  auto q = fake_quant_weight(w);
  EXPECT_NEAR(q[0][0].item<float>(), 0.5f, 1e-6);
  EXPECT_NEAR(q[0][1].item<float>(), -1.27f, 1e-6);
  EXPECT_NEAR(q[0][2].item<float>(), 0.0f, 1e-6);       // 0.4 steps rounds to 0
  EXPECT_NEAR(q[1][2].item<float>(), -25.1968f, 1e-3);  // round(-31.75) = -32 steps
}

TEST(ActQuant, TracksAnEmaOfBatchRangesInTraining) {
  auto st = qat_state(true, true);
  st->ema_decay = 0.5;
  ActQuant aq(st);
  aq->train();
  aq->forward(torch::tensor({-1.0f, 2.0f}));
  aq->forward(torch::tensor({-3.0f, 4.0f}));
  auto p = aq->params();  // range [-2, 3]
  EXPECT_NEAR(p.scale, 5.0 / 255.0, 1e-7);
  aq->eval();
  auto y = aq->forward(torch::tensor({10.0f}));  // clamped to the stored range
  EXPECT_NEAR(y.item<float>(), (127 - p.zero_point) * p.scale, 1e-5);
}

TEST(QrnnPool, MatchesNaiveLoopBothDirections) {
  torch::manual_seed(3);
  auto m = torch::rand({3, 17, 5});
  auto c = torch::rand({3, 17, 5}) * 2 - 1;
  for (bool rev : {false, true}) {
    auto fast = qrnn_fo_pool(m, c, rev);
    auto slow = qrnn_fo_pool_naive(m, c, rev);
    EXPECT_TRUE(torch::allclose(fast, slow, 1e-6, 1e-6)) << "reverse=" << rev;
  }
  // Hand-computed: m = 0.5, c = 1 -> h = 1, 1.5, 1.75 forward.
  auto h = qrnn_fo_pool(torch::full({1, 3, 1}, 0.5), torch::ones({1, 3, 1}), false);
  EXPECT_NEAR(h[0][2][0].item<float>(), 1.75f, 1e-6);
  auto hr = qrnn_fo_pool(torch::full({1, 3, 1}, 0.5), torch::ones({1, 3, 1}), true);
  EXPECT_NEAR(hr[0][0][0].item<float>(), 1.75f, 1e-6);
}

TEST(QrnnPool, GradientMatchesFiniteDifferences) {
  torch::manual_seed(5);
  for (bool rev : {false, true}) {
    auto m = torch::rand({2, 6, 3}, torch::kDouble).requires_grad_(true);
    auto c = (torch::rand({2, 6, 3}, torch::kDouble) * 2 - 1).requires_grad_(true);
    auto wts = torch::randn({2, 6, 3}, torch::kDouble);
    auto loss = [&](const torch::Tensor& mm, const torch::Tensor& cc) {
      return (qrnn_fo_pool(mm, cc, rev) * wts).sum();
    };
    loss(m, c).backward();
    const double eps = 1e-6;
    for (auto* which : {&m, &c}) {
      auto grad = which->grad();
      auto base = which->detach();
      for (int64_t i = 0; i < base.numel(); ++i) {
        auto plus = base.clone(), minus = base.clone();
        plus.view(-1)[i] += eps;
        minus.view(-1)[i] -= eps;
        double fd;
        if (which == &m) {
          fd = (loss(plus, c.detach()) - loss(minus, c.detach())).item<double>() / (2 * eps);
        } else {
          fd = (loss(m.detach(), plus) - loss(m.detach(), minus)).item<double>() / (2 * eps);
        }
        EXPECT_NEAR(grad.view(-1)[i].item<double>(), fd, 1e-7) << "element " << i;
      }
    }
  }
}

TEST(QDense, EvalUsesFoldedBatchNormExactly) {
  torch::manual_seed(7);
  QDense d(4, 3, true, Activation::kNone, qat_state(false));
  d->train();
  for (int i = 0; i < 20; ++i) d->forward(torch::randn({16, 4}) * 3 + 1);  // running stats
  d->eval();
  auto x = torch::randn({5, 4});
  auto [w, b] = d->folded();
  auto want = torch::matmul(x, w.t()) + b;
  EXPECT_TRUE(torch::allclose(d->forward(x), want, 1e-5, 1e-5));
  // and equals the unfolded BN formula
  auto raw = torch::matmul(x, d->weight.t());
  auto bn = (raw - d->bn_mean) / (d->bn_var + 1e-5).sqrt() * d->bn_gamma + d->bn_beta;
  EXPECT_TRUE(torch::allclose(d->forward(x), bn, 1e-4, 1e-4));
}

TEST(QDense, TrainingBatchStatisticsIgnoreMaskedRows) {
  torch::manual_seed(8);
  QDense d(2, 2, true, Activation::kNone, qat_state(false));
  d->train();
  auto x = torch::randn({6, 2});
  auto mask = torch::tensor({1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f});
  auto y1 = d->forward(x, mask);
  auto x2 = x.clone();
  x2.narrow(0, 3, 3).fill_(1000.0f);  // garbage in masked rows
  auto y2 = d->forward(x2, mask);
  EXPECT_TRUE(torch::allclose(y1.narrow(0, 0, 3), y2.narrow(0, 0, 3), 1e-5, 1e-5));
}

TEST(ConvWindow, CausalAndReverseTaps) {
  auto x = torch::arange(1, 5, torch::kFloat).reshape({1, 4, 1});  // 1 2 3 4
  auto c = conv_window(x, 3, false);                               // taps t-2, t-1, t
  EXPECT_EQ(c.sizes(), (std::vector<int64_t>{1, 4, 3}));
  EXPECT_FLOAT_EQ(c[0][0][0].item<float>(), 0);
  EXPECT_FLOAT_EQ(c[0][0][2].item<float>(), 1);
  EXPECT_FLOAT_EQ(c[0][3][0].item<float>(), 2);
  auto r = conv_window(x, 3, true);  // taps t, t+1, t+2
  EXPECT_FLOAT_EQ(r[0][0][2].item<float>(), 3);
  EXPECT_FLOAT_EQ(r[0][3][1].item<float>(), 0);
}

TEST(MaskedBlockMean, AveragesValidPositionsOnly) {
  auto x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f}).reshape({1, 5, 1});
  auto mask = torch::tensor({{1.0f, 1.0f, 1.0f, 1.0f, 0.0f}});
  auto [m, bm] = masked_block_mean(x, mask, 3);
  EXPECT_EQ(m.size(1), 2);
  EXPECT_FLOAT_EQ(m[0][0][0].item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(m[0][1][0].item<float>(), 4.0f);  // (4) / 1; the padded 5 is ignored
  EXPECT_FLOAT_EQ(bm[0][1].item<float>(), 1.0f);
}

class GbstPadding : public ::testing::TestWithParam<bool> {};

TEST_P(GbstPadding, ShapesAndPaddingNeverChangesTheResult) {
  const bool qat = GetParam();
  torch::manual_seed(11);
  auto st = qat_state(qat);
  Gbst g(8, 4, 5, 2, st);
  g->train();
  for (int i = 0; i < 3; ++i) g->forward(torch::randn({4, 13, 8}), torch::ones({4, 13}));
  g->eval();
  auto x = torch::randn({1, 7, 8});
  auto [y1, m1] = g->forward(x, torch::ones({1, 7}));
  EXPECT_EQ(y1.sizes(), (std::vector<int64_t>{1, 4, 8}));  // ceil(7 / 2)
  EXPECT_EQ(m1.sum().item<float>(), 4.0f);
  auto xp = torch::cat({x, torch::randn({1, 6, 8}) * 50}, 1);  // garbage padding
  auto mp = torch::cat({torch::ones({1, 7}), torch::zeros({1, 6})}, 1);
  auto [y2, m2] = g->forward(xp * mp.unsqueeze(-1), mp);
  EXPECT_EQ(y2.size(1), 7);
  EXPECT_EQ(m2.sum().item<float>(), 4.0f);
  EXPECT_TRUE(torch::allclose(y1, y2.narrow(1, 0, 4), 1e-5, 1e-5));
  EXPECT_EQ(y2.narrow(1, 4, 3).abs().sum().item<float>(), 0.0f);
}
INSTANTIATE_TEST_SUITE_P(FloatAndQat, GbstPadding, ::testing::Values(false, true));

// Every encoder, float and QAT: a sequence's logits are the same alone and padded in a batch.
class ModelPadding : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(ModelPadding, LogitsDoNotDependOnBatchPadding) {
  const auto& [encoder, qat] = GetParam();
  torch::manual_seed(12);
  ModelConfig mc;
  mc.encoder = encoder;
  mc.embedding_size = 16;
  mc.bottleneck_size = 16;
  mc.qrnn_state_size = 8;
  mc.transformer_layers = 2;
  mc.num_heads = 2;
  mc.intermediate_size = 24;
  if (encoder == "funnel") mc.pool_windows = {2, 2};
  ByteClassifier model(mc, 3, qat_state(qat), 64);
  model->train();
  auto ids = torch::randint(3, 259, {4, 20}, torch::kLong);
  model->forward(ids, torch::ones({4, 20}));
  model->eval();
  auto short_ids = torch::randint(3, 259, {1, 9}, torch::kLong);
  auto alone = model->forward(short_ids, torch::ones({1, 9}));
  auto batch_ids = torch::zeros({2, 25}, torch::kLong);
  batch_ids[0].narrow(0, 0, 9).copy_(short_ids[0]);
  batch_ids[1].copy_(torch::randint(3, 259, {25}, torch::kLong));
  auto mask = torch::zeros({2, 25});
  mask[0].narrow(0, 0, 9).fill_(1);
  mask[1].fill_(1);
  auto batched = model->forward(batch_ids, mask);
  EXPECT_EQ(batched.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(torch::allclose(alone[0], batched[0], 1e-4, 1e-4)) << alone << "\n" << batched;
}
INSTANTIATE_TEST_SUITE_P(EncodersFloatAndQat, ModelPadding,
                         ::testing::Combine(::testing::Values("qrnn", "transformer", "funnel"),
                                            ::testing::Bool()));

}  // namespace
}  // namespace bytelite
