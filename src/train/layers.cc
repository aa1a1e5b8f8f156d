#include "train/layers.h"

#include <cmath>

#include "runtime/ops/taps.h"

namespace bytelite {

namespace {
thread_local TorchTrace* active_trace = nullptr;
}  // namespace

const TorchTrace::Entry* TorchTrace::find(const std::string& name) const {
  for (const Entry& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

TraceScope::TraceScope(TorchTrace* trace) : previous_(active_trace) { active_trace = trace; }
TraceScope::~TraceScope() { active_trace = previous_; }

bool tracing() { return active_trace != nullptr; }

void tap(const std::string& name, const torch::Tensor& t, const QuantParams& params) {
  if (active_trace == nullptr) return;
  torch::NoGradGuard ng;
  auto v = t.dim() >= 3 ? t.select(0, 0) : t.narrow(0, 0, 1);
  active_trace->entries.push_back({name, v.detach().clone(), params});
}
namespace {
constexpr double kBnEps = 1e-5;
constexpr double kBnMomentum = 0.1;
}  // namespace

QDenseImpl::QDenseImpl(int64_t in, int64_t out, bool bn, Activation act, QatStatePtr qat,
                       bool quantize_output)
    : in_features(in), out_features(out), batch_norm(bn), activation(act), qat_(std::move(qat)) {
  weight = register_parameter("weight", torch::empty({out, in}));
  torch::nn::init::xavier_uniform_(weight);
  if (batch_norm) {
    bn_gamma = register_parameter("bn_gamma", torch::ones({out}));
    bn_beta = register_parameter("bn_beta", torch::zeros({out}));
    bn_mean = register_buffer("bn_mean", torch::zeros({out}));
    bn_var = register_buffer("bn_var", torch::ones({out}));
  } else {
    bias = register_parameter("bias", torch::zeros({out}));
  }
  if (quantize_output) out_quant = register_module("out_quant", ActQuant(qat_));
}

std::pair<torch::Tensor, torch::Tensor> QDenseImpl::folded() const {
  torch::NoGradGuard ng;
  if (!batch_norm) return {weight.detach().clone(), bias.detach().clone()};
  auto std_run = (bn_var + kBnEps).sqrt();
  auto sf = bn_gamma / std_run;
  return {weight * sf.unsqueeze(1), bn_beta - bn_gamma * bn_mean / std_run};
}

torch::Tensor QDenseImpl::forward(const torch::Tensor& x, const torch::Tensor& row_mask) {
  auto shape = x.sizes().vec();
  auto xf = x.reshape({-1, in_features});
  const bool fq = qat_->apply(is_training());
  torch::Tensor y;
  if (batch_norm) {
    auto std_run = (bn_var + kBnEps).sqrt();
    auto sf = bn_gamma / std_run;
    auto w = weight * sf.unsqueeze(1);
    if (fq) w = fake_quant_weight(w);
    y = torch::matmul(xf, w.t());
    if (is_training()) {
      y = y / sf;
      torch::Tensor mean, var;
      if (qat_->sync_sum) {
        // data parallelism: the statistics of the global batch (sums over the ranks)
        auto rm = row_mask.defined() ? row_mask.reshape({-1, 1}).to(y.scalar_type())
                                     : torch::ones({y.size(0), 1}, y.options());
        auto g = qat_->sync_sum(torch::cat({(y * rm).sum(0), rm.sum().reshape({1})}));
        auto n = g.narrow(0, out_features, 1).detach().clamp_min(1.0);
        mean = g.narrow(0, 0, out_features) / n;
        var = qat_->sync_sum(((y - mean).pow(2) * rm).sum(0)) / n;
      } else if (row_mask.defined()) {
        auto rm = row_mask.reshape({-1, 1}).to(y.scalar_type());
        auto n = rm.sum().clamp_min(1.0);
        mean = (y * rm).sum(0) / n;
        var = ((y - mean).pow(2) * rm).sum(0) / n;
      } else {
        mean = y.mean(0);
        var = y.var(0, /*unbiased=*/false);
      }
      {
        torch::NoGradGuard ng;
        bn_mean.mul_(1 - kBnMomentum).add_(mean.detach(), kBnMomentum);
        bn_var.mul_(1 - kBnMomentum).add_(var.detach(), kBnMomentum);
      }
      y = (y - mean) / (var + kBnEps).sqrt() * bn_gamma + bn_beta;
    } else {
      y = y + (bn_beta - bn_gamma * bn_mean / std_run);
    }
  } else {
    auto w = fq ? fake_quant_weight(weight) : weight;
    y = torch::matmul(xf, w.t()) + bias;
  }
  if (activation == Activation::kRelu) y = torch::relu(y);
  if (out_quant) y = out_quant->forward(y);
  shape.back() = out_features;
  return y.reshape(shape);
}

torch::Tensor conv_window(const torch::Tensor& x, int64_t k, bool reverse) {
  if (k == 1) return x;
  const int64_t T = x.size(1);
  auto pad = torch::zeros({x.size(0), k - 1, x.size(2)}, x.options());
  auto xp = reverse ? torch::cat({x, pad}, 1) : torch::cat({pad, x}, 1);
  std::vector<torch::Tensor> taps;
  taps.reserve(k);
  for (int64_t j = 0; j < k; ++j) taps.push_back(xp.narrow(1, j, T));
  return torch::cat(taps, 2);
}

std::pair<torch::Tensor, torch::Tensor> masked_block_mean(const torch::Tensor& x,
                                                          const torch::Tensor& mask,
                                                          int64_t width) {
  if (width == 1) return {x * mask.unsqueeze(-1), mask};
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  const int64_t Tb = (T + width - 1) / width;
  const int64_t pad = Tb * width - T;
  auto xm = x * mask.unsqueeze(-1);
  auto m = mask;
  if (pad > 0) {
    xm = torch::cat({xm, torch::zeros({B, pad, C}, x.options())}, 1);
    m = torch::cat({m, torch::zeros({B, pad}, mask.options())}, 1);
  }
  auto sums = xm.reshape({B, Tb, width, C}).sum(2);
  auto counts = m.reshape({B, Tb, width}).sum(2);
  auto mean = sums / counts.clamp_min(1.0).unsqueeze(-1);
  return {mean, (counts > 0).to(mask.scalar_type())};
}

GbstImpl::GbstImpl(int64_t d, int64_t w, int64_t k, int64_t r, QatStatePtr qat)
    : dim(d), max_block_width(w), conv_kernel(k), downsample_rate(r), qat_(qat) {
  conv = register_module("conv", QDense(k * d, d, true, Activation::kNone, qat));
  score = register_module("score", QDense(d, 1, false, Activation::kNone, qat, false));
  score_quant = register_module("score_quant", ActQuant(qat));
  mix_quant = register_module("mix_quant", ActQuant(qat));
}

std::pair<torch::Tensor, torch::Tensor> GbstImpl::forward(const torch::Tensor& x,
                                                          const torch::Tensor& mask) {
  const int64_t L = x.size(1);
  auto mask3 = mask.unsqueeze(-1);
  auto xc = conv->forward(conv_window(x, conv_kernel, false), mask) * mask3;
  tap(taps::kGbstConv, xc, conv->out_quant->params());
  std::vector<torch::Tensor> cands, scores;
  for (int64_t b = 1; b <= max_block_width; ++b) {
    auto cb = masked_block_mean(xc, mask, b).first;
    cb = conv->out_quant->quantize_only(cb);
    if (tracing()) tap(taps::gbst_candidates(b), cb, conv->out_quant->params());
    auto sb = score->forward(cb).squeeze(-1);
    if (b > 1) {
      cb = cb.repeat_interleave(b, 1).narrow(1, 0, L);
      sb = sb.repeat_interleave(b, 1).narrow(1, 0, L);
    }
    cands.push_back(cb);
    scores.push_back(sb);
  }
  auto s = score_quant->forward(torch::stack(scores, -1));  // [B, L, W]
  tap(taps::kGbstScores, s, score_quant->params());
  auto p = fake_quant_fixed(torch::softmax(s, -1), unit_range_params(), *qat_, is_training());
  tap(taps::kGbstProbs, p, unit_range_params());
  auto y = (torch::stack(cands, 2) * p.unsqueeze(-1)).sum(2);  // [B, L, D]
  y = mix_quant->forward(y) * mask3;
  tap(taps::kGbstMix, y, mix_quant->params());
  if (downsample_rate == 1) {
    tap(taps::kGbstOut, y, mix_quant->params());
    return {y, mask};
  }
  auto [yd, md] = masked_block_mean(y, mask, downsample_rate);
  yd = mix_quant->quantize_only(yd);
  tap(taps::kGbstOut, yd, mix_quant->params());
  return {yd, md};
}

QrnnLayerImpl::QrnnLayerImpl(int64_t in, int64_t state, int64_t kernel, double zo, QatStatePtr qat)
    : in_features(in), state_size(state), kernel_width(kernel), zoneout(zo), qat_(qat) {
  gates_fwd =
      register_module("gates_fwd", QDense(kernel * in, 3 * state, true, Activation::kNone, qat));
  gates_bwd =
      register_module("gates_bwd", QDense(kernel * in, 3 * state, true, Activation::kNone, qat));
}

torch::Tensor QrnnLayerImpl::direction(const torch::Tensor& x, const torch::Tensor& mask,
                                       bool reverse) {
  const bool tr = is_training();
  auto& gates = reverse ? gates_bwd : gates_fwd;
  auto g = gates->forward(conv_window(x, kernel_width, reverse), mask);
  if (tracing()) {
    tap(taps::qrnn_gates(taps::qrnn_direction(tap_name, reverse)), g, gates->out_quant->params());
  }
  auto parts = g.chunk(3, -1);
  const auto su = signed_unit_range_params();
  const auto u01 = unit_range_params();
  auto z = fake_quant_fixed(torch::tanh(parts[0]), su, *qat_, tr);
  auto f = fake_quant_fixed(torch::sigmoid(parts[1]), u01, *qat_, tr);
  auto o = fake_quant_fixed(torch::sigmoid(parts[2]), u01, *qat_, tr);
  auto c = fake_quant_fixed((1 - f) * z, su, *qat_, tr);
  auto m = f;
  if (tr && zoneout > 0) {
    auto keep = torch::bernoulli(torch::full_like(f, zoneout));
    m = torch::max(m, keep);
    c = c * (1 - keep);
  }
  auto mask3 = mask.unsqueeze(-1);
  m = m * mask3 + (1 - mask3);
  c = c * mask3;
  auto h = fake_quant_fixed(qrnn_fo_pool(m, c, reverse), su, *qat_, tr);
  return fake_quant_fixed(h * o, su, *qat_, tr) * mask3;
}

torch::Tensor QrnnLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  return torch::cat({direction(x, mask, false), direction(x, mask, true)}, -1);
}

AttentionPoolImpl::AttentionPoolImpl(int64_t dim, QatStatePtr qat) : qat_(qat) {
  score = register_module("score", QDense(dim, 1, false, Activation::kNone, qat));
  out_quant = register_module("out_quant", ActQuant(qat));
}

torch::Tensor AttentionPoolImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  auto a = score->forward(x).squeeze(-1);  // [B, T]
  a = a.masked_fill(mask <= 0, -1e9);
  auto alpha = fake_quant_fixed(torch::softmax(a, 1), unit_range_params(), *qat_, is_training());
  return out_quant->forward((alpha.unsqueeze(-1) * x).sum(1));
}

LayerNormImpl::LayerNormImpl(int64_t d, bool sc, QatStatePtr qat) : dim(d), scalar(sc) {
  const int64_t n = scalar ? 1 : dim;
  gamma = register_parameter("gamma", torch::ones({n}));
  beta = register_parameter("beta", torch::zeros({n}));
  in_quant = register_module("in_quant", ActQuant(qat));
  out_quant = register_module("out_quant", ActQuant(qat));
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  auto xq = in_quant->forward(x);
  auto mean = xq.mean(-1, /*keepdim=*/true);
  auto var = (xq - mean).pow(2).mean(-1, /*keepdim=*/true);
  auto y = (xq - mean) * torch::rsqrt(var + kEpsilon) * gamma + beta;
  return out_quant->forward(y);
}

TransformerLayerImpl::TransformerLayerImpl(int64_t d, int64_t h, int64_t inter, int64_t pw,
                                           bool scale, bool scalar_norm, bool pre, double drop,
                                           QatStatePtr qat)
    : dim(d),
      heads(h),
      intermediate(inter),
      pool_window(pw),
      scale_logits(scale),
      pre_norm(pre),
      dropout(drop),
      qat_(qat) {
  query = register_module("query", QDense(d, d, false, Activation::kNone, qat));
  key_value = register_module("key_value", QDense(d, 2 * d, false, Activation::kNone, qat));
  logits_quant = register_module("logits_quant", ActQuant(qat));
  context_quant = register_module("context_quant", ActQuant(qat));
  output = register_module("output", QDense(d, d, false, Activation::kNone, qat));
  norm1 = register_module("norm1", LayerNorm(d, scalar_norm, qat));
  ffn_in = register_module("ffn_in", QDense(d, inter, false, Activation::kRelu, qat));
  ffn_out = register_module("ffn_out", QDense(inter, d, false, Activation::kNone, qat));
  norm2 = register_module("norm2", LayerNorm(d, scalar_norm, qat));
  if (pre_norm) {
    res1_quant = register_module("res1_quant", ActQuant(qat));
    res2_quant = register_module("res2_quant", ActQuant(qat));
  }
}

ActQuantImpl* TransformerLayerImpl::output_quant() {
  return pre_norm ? res2_quant.get() : norm2->out_quant.get();
}

std::pair<torch::Tensor, torch::Tensor> TransformerLayerImpl::forward(const torch::Tensor& x,
                                                                      const torch::Tensor& mask,
                                                                      ActQuantImpl* in_quant) {
  const bool tr = is_training();
  auto h = x;
  auto hm = mask;
  if (pool_window > 1) {
    std::tie(h, hm) = masked_block_mean(x, mask, pool_window);
    h = in_quant->quantize_only(h);
    if (tracing()) tap(taps::layer_tap(tap_name, taps::kPooled), h, in_quant->params());
  }
  const bool trace = tracing() && !pre_norm;  // the runtime's layer is post-LN
  const int64_t B = x.size(0), S = x.size(1), Tq = h.size(1), dh = dim / heads;
  auto attn_in = pre_norm ? norm1->forward(h) : h;
  auto mem_in = pre_norm ? attn_in : x;
  auto qd = query->forward(attn_in);
  auto kvd = key_value->forward(mem_in);
  if (trace) {
    tap(taps::layer_tap(tap_name, taps::kQuery), qd, query->out_quant->params());
    tap(taps::layer_tap(tap_name, taps::kKeyValue), kvd, key_value->out_quant->params());
  }
  auto q = qd.view({B, Tq, heads, dh}).permute({0, 2, 1, 3});
  auto kv = kvd.view({B, S, 2, heads, dh}).permute({2, 0, 3, 1, 4});
  auto logits = torch::matmul(q, kv[0].transpose(-1, -2));  // [B, H, Tq, S]
  if (scale_logits) logits = logits * (1.0 / std::sqrt(static_cast<double>(dh)));
  logits = logits_quant->forward(logits);
  logits = logits.masked_fill(mask.view({B, 1, 1, S}) <= 0, -1e9);
  auto a = fake_quant_fixed(torch::softmax(logits, -1), unit_range_params(), *qat_, tr);
  auto ctx = torch::matmul(a, kv[1]).permute({0, 2, 1, 3}).reshape({B, Tq, dim});
  ctx = context_quant->forward(ctx);
  auto o = torch::dropout(output->forward(ctx), dropout, tr);
  if (trace) {
    tap(taps::layer_tap(tap_name, taps::kContext), ctx, context_quant->params());
    tap(taps::layer_tap(tap_name, taps::kOutput), o, output->out_quant->params());
  }
  auto hm3 = hm.unsqueeze(-1);
  torch::Tensor x1, x2;
  if (pre_norm) {
    x1 = res1_quant->forward(h + o);
    auto f = ffn_out->forward(ffn_in->forward(norm2->forward(x1)));
    x2 = res2_quant->forward(x1 + torch::dropout(f, dropout, tr));
  } else {
    x1 = norm1->forward(h + o);
    auto f = ffn_out->forward(ffn_in->forward(x1));
    x2 = norm2->forward(x1 + torch::dropout(f, dropout, tr));
    if (trace) {
      tap(taps::layer_tap(tap_name, taps::kNorm1), x1, norm1->out_quant->params());
      tap(taps::layer_tap(tap_name, taps::kFfnOut), f, ffn_out->out_quant->params());
    }
  }
  x2 = x2 * hm3;
  if (trace) tap(taps::layer_tap(tap_name, taps::kNorm2), x2, norm2->out_quant->params());
  return {x2, hm};
}

}  // namespace bytelite
