#include "train/fake_quant.h"

#include <algorithm>
#include <cmath>

namespace bytelite {

QuantParams quant_params_from_range(double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (!(hi - lo > 1e-6)) hi = lo + 1e-6;
  QuantParams p;
  p.scale = (hi - lo) / 255.0;
  double z = -128.0 - lo / p.scale;
  p.zero_point = static_cast<int64_t>(std::clamp(std::nearbyint(z), -128.0, 127.0));
  return p;
}

torch::Tensor fake_quant(const torch::Tensor& x, const QuantParams& p) {
  return torch::fake_quantize_per_tensor_affine(x, p.scale, p.zero_point, -128, 127);
}

torch::Tensor weight_scales(const torch::Tensor& w) {
  torch::NoGradGuard ng;
  auto amax = w.detach().abs().amax({1});
  return torch::where(amax > 0, amax / 127.0, torch::ones_like(amax)).to(torch::kFloat);
}

torch::Tensor fake_quant_weight(const torch::Tensor& w) {
  auto scales = weight_scales(w);
  auto zp = torch::zeros({w.size(0)}, torch::kInt);
  return torch::fake_quantize_per_channel_affine(w, scales, zp, 0, -127, 127);
}

ActQuantImpl::ActQuantImpl(QatStatePtr state) : state_(std::move(state)) {
  range_ = register_buffer("range", torch::tensor({0.0f, 1.0f}));
  observed_ = register_buffer("observed", torch::zeros({1}));
}

QuantParams ActQuantImpl::params() const {
  auto r = range_.accessor<float, 1>();
  return quant_params_from_range(r[0], r[1]);
}

bool ActQuantImpl::observed() const { return observed_.item<float>() > 0; }

torch::Tensor ActQuantImpl::forward(const torch::Tensor& x) {
  if (!state_->enabled) return x;
  if (is_training()) {
    torch::NoGradGuard ng;
    auto xd = x.detach();
    float lo = std::min(xd.min().item<float>(), 0.0f);
    float hi = std::max(xd.max().item<float>(), 0.0f);
    if (state_->sync_min_max) state_->sync_min_max(&lo, &hi);  // the global batch's range
    auto r = range_.accessor<float, 1>();
    if (observed_.item<float>() == 0) {
      r[0] = lo;
      r[1] = hi;
      observed_.fill_(1);
    } else {
      float d = static_cast<float>(state_->ema_decay);
      r[0] = d * r[0] + (1 - d) * lo;
      r[1] = d * r[1] + (1 - d) * hi;
    }
  }
  return quantize_only(x);
}

torch::Tensor ActQuantImpl::quantize_only(const torch::Tensor& x) {
  if (!state_->apply(is_training())) return x;
  return fake_quant(x, params());
}

torch::Tensor fake_quant_fixed(const torch::Tensor& x, const QuantParams& p, const QatState& s,
                               bool training) {
  if (!s.apply(training)) return x;
  return fake_quant(x, p);
}

}  // namespace bytelite
