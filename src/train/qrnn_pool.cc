#include "train/qrnn_pool.h"

#include <ATen/Parallel.h>

namespace bytelite {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

template <typename T>
void pool_forward(const T* m, const T* c, T* h, int64_t B, int64_t L, int64_t S, bool reverse) {
  at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t base = b * L * S;
      for (int64_t s = 0; s < S; ++s) {
        T state = 0;
        for (int64_t i = 0; i < L; ++i) {
          int64_t t = reverse ? L - 1 - i : i;
          int64_t k = base + t * S + s;
          state = m[k] * state + c[k];
          h[k] = state;
        }
      }
    }
  });
}

// Given dL/dh (gh), h and m: g_t = gh_t + m_{t+1} g_{t+1} (in recurrence order);
// dL/dc_t = g_t, dL/dm_t = g_t * h_{t-1}.
template <typename T>
void pool_backward(const T* gh, const T* h, const T* m, T* gm, T* gc, int64_t B, int64_t L,
                   int64_t S, bool reverse) {
  at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t base = b * L * S;
      for (int64_t s = 0; s < S; ++s) {
        T carry = 0;  // m_{next} * g_{next}
        for (int64_t i = L - 1; i >= 0; --i) {
          int64_t t = reverse ? L - 1 - i : i;
          int64_t k = base + t * S + s;
          T g = gh[k] + carry;
          gc[k] = g;
          T h_prev = 0;
          if (i > 0) {
            int64_t tp = reverse ? t + 1 : t - 1;
            h_prev = h[base + tp * S + s];
          }
          gm[k] = g * h_prev;
          carry = g * m[k];
        }
      }
    }
  });
}

class FoPool : public torch::autograd::Function<FoPool> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& m_in,
                               const torch::Tensor& c_in, bool reverse) {
    auto m = m_in.contiguous();
    auto c = c_in.contiguous();
    auto h = torch::empty_like(m);
    const int64_t B = m.size(0), L = m.size(1), S = m.size(2);
    AT_DISPATCH_FLOATING_TYPES(m.scalar_type(), "qrnn_fo_pool", [&] {
      pool_forward<scalar_t>(m.data_ptr<scalar_t>(), c.data_ptr<scalar_t>(), h.data_ptr<scalar_t>(),
                             B, L, S, reverse);
    });
    ctx->save_for_backward({m, h});
    ctx->saved_data["reverse"] = reverse;
    return h;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto m = saved[0];
    auto h = saved[1];
    bool reverse = ctx->saved_data["reverse"].toBool();
    auto gh = grads[0].contiguous();
    auto gm = torch::empty_like(m);
    auto gc = torch::empty_like(m);
    const int64_t B = m.size(0), L = m.size(1), S = m.size(2);
    AT_DISPATCH_FLOATING_TYPES(m.scalar_type(), "qrnn_fo_pool_backward", [&] {
      pool_backward<scalar_t>(gh.data_ptr<scalar_t>(), h.data_ptr<scalar_t>(),
                              m.data_ptr<scalar_t>(), gm.data_ptr<scalar_t>(),
                              gc.data_ptr<scalar_t>(), B, L, S, reverse);
    });
    return {gm, gc, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor qrnn_fo_pool(const torch::Tensor& m, const torch::Tensor& c, bool reverse) {
  TORCH_CHECK(m.dim() == 3 && m.sizes() == c.sizes(), "qrnn_fo_pool: m and c must be [B,T,S]");
  TORCH_CHECK(m.scalar_type() == c.scalar_type(), "qrnn_fo_pool: dtype mismatch");
  return FoPool::apply(m, c, reverse);
}

torch::Tensor qrnn_fo_pool_naive(const torch::Tensor& m, const torch::Tensor& c, bool reverse) {
  const int64_t L = m.size(1);
  std::vector<torch::Tensor> out(L);
  auto h = torch::zeros({m.size(0), m.size(2)}, m.options());
  for (int64_t i = 0; i < L; ++i) {
    int64_t t = reverse ? L - 1 - i : i;
    h = m.select(1, t) * h + c.select(1, t);
    out[t] = h;
  }
  return torch::stack(out, 1);
}

}  // namespace bytelite
