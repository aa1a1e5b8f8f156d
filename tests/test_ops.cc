// The op harness (in the style of ggml's test-backend-ops): every op of the runtime (ops.h Op)
// registers shape cases, odd sizes included, and each case is run on every kernel path this CPU
// has against the reference path.
//
//  - test mode (ctest, gtest): OpHarness/BitIdentical.OnEveryIsa/<op> runs every case of <op> on
//    the reference path and on each optimized path (kernels.h Isa) and compares the outputs bit
//    for bit (float outputs as their bit patterns). Both output buffers are filled with different
//    sentinel bytes first, so a path that leaves an output unwritten fails too.
//    OpHarness.EveryOpHasCasesWithOddSizes checks that every Op has cases and at least one with
//    an odd size > 1.
//  - perf mode: `build/test_ops --perf [--op NAME] [--ms N]` prints, per case, the time per call
//    of the reference path and of every optimized path, measured side by side (rounds of about
//    N ms per path, alternating, 5 rounds, median), and the ratio reference / path; for GEMM
//    cases also GMAC/s per path and, with AVX-512 VNNI, the fraction of the core's int8 peak
//    (a vpdpbusd loop timed in the same alternating rounds) and, with AVX2, the avx2 path's
//    fraction of the AVX2 int16 peak (a vpmaddwd + vpaddd loop, the same rounds). It replaces the
//    former bench_kernels program: the ByteQRNN OLID GEMM shapes, the requantization and QRNN
//    pooling at those shapes and the peak are cases here.
//
// Ops with only a reference kernel (embedding, block_mean, the integer softmax, probabilities,
// uniform_average) run on every path as well: their cases pin that the kernel path does not
// change them, and perf mode times them. The cases are built from the ops' own constructors
// (decoder.h make_dense_layer, make_attention_layer, make_layer_norm_layer) with random weights
// and inputs from fixed seeds. Every case switch over Op has no default, so adding an Op without
// cases here fails the build (-Wswitch, warnings are errors).
#include <gtest/gtest.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "runtime/kernels/kernels.h"
#include "runtime/ops/decoder.h"
#include "runtime/ops/ops.h"
#include "runtime/quant.h"

namespace bytelite::rt {
namespace {

// One case: a shape of one op. run(c, out) computes the op's outputs into out[0, out_bytes)
// with the kernel path and scratch of c; the inputs and layers live in the closure.
struct OpCase {
  std::string shape;
  std::vector<int64_t> dims;  // the sizes of the case (for the odd-size check)
  int64_t out_bytes = 0;
  std::function<void(const OpContext&, uint8_t*)> run;
  bool perf = true;  // false: a case of a random sweep, run in test mode only
  int64_t macs = 0;  // int8 multiply-accumulates per call (GEMM cases: perf mode prints GMAC/s)
};

class Rng {
 public:
  explicit Rng(uint32_t seed) : g_(seed) {}
  std::vector<int8_t> int8(int64_t n, int lo = -128, int hi = 127) {
    std::uniform_int_distribution<int> d(lo, hi);
    std::vector<int8_t> v(static_cast<size_t>(n));
    for (auto& x : v) x = static_cast<int8_t>(d(g_));
    return v;
  }
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g_); }
  std::mt19937& gen() { return g_; }

 private:
  std::mt19937 g_;
};

// Owned weights that the prepared layers point into.
using Storage = std::vector<std::shared_ptr<std::vector<int8_t>>>;

const int8_t* keep(Storage& st, std::vector<int8_t> v) {
  st.push_back(std::make_shared<std::vector<int8_t>>(std::move(v)));
  return st.back()->data();
}

// A dense layer k -> n with random int8 weights (extreme: every weight -127) and biases, weight
// scales that keep the outputs in range (1 / (127 sqrt(k)) times a per-channel factor).
DenseLayer random_dense(Rng& r, Storage& st, int64_t k, int64_t n, QParams in, QParams out,
                        bool relu, bool extreme = false) {
  const int8_t* w = keep(st, extreme ? std::vector<int8_t>(static_cast<size_t>(n * k), -127)
                                     : r.int8(n * k, -127, 127));
  std::vector<float> scale(static_cast<size_t>(n));
  std::vector<int32_t> bias(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    scale[j] = static_cast<float>((0.5 + 0.1 * (j % 11)) * out.scale / in.scale /
                                  (127.0 * std::sqrt(static_cast<double>(k))) * 8.0);
    bias[j] = r.uniform(-3000, 3000);
  }
  return make_dense_layer(w, n, k, scale.data(), bias.data(), 4, relu, in, out);
}

QParams qp(float scale, int32_t zp) { return QParams{scale, zp}; }

// The fixed-point multiplier of m (the cases only use multipliers in range).
Multiplier multiplier(double m) {
  Multiplier out;
  if (!make_multiplier(m, &out)) {
    std::fprintf(stderr, "test_ops: multiplier %g out of range\n", m);
    std::abort();
  }
  return out;
}

template <typename T>
void put(uint8_t* out, const std::vector<T>& v) {
  std::memcpy(out, v.data(), v.size() * sizeof(T));
}

std::string dims_str(const char* names, const std::vector<int64_t>& d) {
  std::string s;
  std::string n(names);
  size_t pos = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    const size_t sp = n.find(' ', pos);
    s += (i ? " " : "") + n.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos) +
         "=" + std::to_string(d[i]);
    pos = sp == std::string::npos ? n.size() : sp + 1;
  }
  return s;
}

// ---- cases per op ----

std::vector<OpCase> embedding_cases() {
  std::vector<OpCase> v;
  for (const auto& sh_ : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {7, 13}, {64, 64}}) {
    const int64_t T = sh_.first;
    const int64_t dim = sh_.second;
    auto table = std::make_shared<std::vector<int8_t>>(Rng(1).int8(259 * dim));
    auto ids = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(T));
    Rng r(2);
    for (auto& id : *ids) id = r.uniform(0, 258);
    v.push_back(
        {dims_str("T dim", {T, dim}), {T, dim}, T * dim, [=](const OpContext&, uint8_t* out) {
           embedding(table->data(), dim, ids->data(), T, reinterpret_cast<int8_t*>(out));
         }});
  }
  return v;
}

// dense: rows x k -> n; window > 1 is a convolution (ldx = k / window over a zero-point padded
// sequence, as gbst and qrnn run it).
OpCase dense_case(int64_t rows, int64_t k, int64_t n, bool relu, bool extreme, uint32_t seed,
                  int64_t window = 1, bool reverse = false) {
  Rng r(seed);
  auto st = std::make_shared<Storage>();
  const QParams in = qp(0.03f, extreme ? 0 : r.uniform(-20, 20)), out = qp(0.05f, relu ? -128 : 3);
  auto layer = std::make_shared<DenseLayer>(random_dense(r, *st, k, n, in, out, relu, extreme));
  const int64_t C = k / window;
  auto x = std::make_shared<std::vector<int8_t>>(
      extreme ? std::vector<int8_t>(static_cast<size_t>(rows * C), -128) : r.int8(rows * C));
  OpCase oc;
  oc.dims = {rows, k, n};
  if (window > 1) {
    oc.shape = dims_str("T C window", {rows, C, window}) + (reverse ? " reverse" : " causal");
    oc.run = [=](const OpContext& c, uint8_t* o) {
      (void)st;  // keeps the weights alive
      // causal: window t-w+1..t (pad before); reverse: window t..t+w-1 (pad after)
      pad_rows(x->data(), rows, C, reverse ? 0 : window - 1, reverse ? window - 1 : 0,
               in.zero_point, c.scratch.pad);
      dense(c, *layer, c.scratch.pad.data(), rows, C, reinterpret_cast<int8_t*>(o));
    };
  } else {
    oc.shape =
        dims_str("rows k n", {rows, k, n}) + (relu ? " relu" : "") + (extreme ? " extreme" : "");
    oc.run = [=](const OpContext& c, uint8_t* o) {
      (void)st;
      dense(c, *layer, x->data(), rows, k, reinterpret_cast<int8_t*>(o));
    };
  }
  oc.out_bytes = rows * n;
  return oc;
}

// The dense op's GEMM kernel alone (kernels.h gemm_s8): the int32 accumulators of rows x k
// (row stride ldx: overlapping windows when ldx < k) times W [n, k]; extreme: x = -128 and
// W = -127 everywhere (the largest products, no saturation on any path).
OpCase gemm_case(int64_t rows, int64_t k, int64_t n, int64_t ldx, bool extreme, Rng& r, bool perf) {
  const int64_t xn = (rows - 1) * ldx + k;
  auto x = std::make_shared<std::vector<int8_t>>(
      extreme ? std::vector<int8_t>(static_cast<size_t>(xn), -128) : r.int8(xn));
  auto w = std::make_shared<std::vector<int8_t>>(
      extreme ? std::vector<int8_t>(static_cast<size_t>(n * k), -127) : r.int8(n * k, -127, 127));
  auto pm = std::make_shared<PackedMatrix>(pack_matrix(w->data(), n, k));
  OpCase oc{"gemm " + dims_str("rows k n ldx", {rows, k, n, ldx}) + (extreme ? " extreme" : ""),
            {rows, k, n, ldx},
            rows * n * static_cast<int64_t>(sizeof(int32_t)),
            [=](const OpContext& c, uint8_t* o) {
              (void)w;
              std::vector<int32_t>& acc = c.scratch.acc;
              grow(acc, rows * n);
              gemm_s8(c.isa, x->data(), rows, ldx, *pm, acc.data(), c.scratch.kernel);
              std::memcpy(o, acc.data(), static_cast<size_t>(rows * n) * sizeof(int32_t));
            }};
  oc.perf = perf;
  oc.macs = rows * k * n;
  return oc;
}

// The requantization kernel alone (kernels.h requantize): int32 accumulators of rows x n to int8
// with per-channel multipliers and biases.
OpCase requantize_case(int64_t rows, int64_t n, uint32_t seed) {
  Rng r(seed);
  auto acc = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(rows * n));
  for (auto& a : *acc) a = r.uniform(-100000, 100000);
  auto p = std::make_shared<RequantParams>();
  p->n = n;
  for (int64_t j = 0; j < n; ++j) {
    Multiplier m;
    make_multiplier(0.0003 + 1e-5 * static_cast<double>(j), &m);
    p->m0.push_back(m.m0);
    p->shift.push_back(m.shift);
    p->bias.push_back(j * m.m0);
  }
  prepare_requant(*p);
  return {"requantize " + dims_str("rows n", {rows, n}),
          {rows, n},
          rows * n,
          [=](const OpContext& c, uint8_t* o) {
            requantize(c.isa, acc->data(), rows, *p, reinterpret_cast<int8_t*>(o));
          }};
}

std::vector<OpCase> dense_cases() {
  std::vector<OpCase> v;
  {
    // GEMM shapes (formerly test_runtime_kernels Gemm.OptimizedPathsAreBitIdenticalToReference):
    // fixed odd shapes and 60 random ones with 1..5 window taps, each random and extreme.
    Rng r(3);
    std::vector<std::array<int64_t, 4>> shapes = {
        {1, 1, 1, 1},       {2, 3, 5, 3},       {3, 15, 4, 15},   {1, 16, 4, 16},
        {5, 17, 3, 17},     {7, 31, 7, 31},     {64, 64, 64, 64}, {33, 320, 64, 64},
        {70, 192, 192, 64}, {9, 384, 192, 128}, {2, 129, 1, 129}, {11, 96, 6, 32}};
    for (int i = 0; i < 60; ++i) {
      const int64_t rows = r.uniform(1, 40), k = r.uniform(1, 200), n = r.uniform(1, 21);
      const int64_t taps = 1 + i % 5;
      shapes.push_back({rows, k, n, std::max<int64_t>(1, k / taps)});
    }
    // The AVX2 kernel's tiles (4 rows x 16 channels, k in pairs): every row remainder (rows
    // 1..9), channel counts around 8 / 16 / 32 with a partial last block, odd k and k < 16, and
    // odd row strides below, equal to and above k.
    for (int64_t rows = 1; rows <= 9; ++rows) {
      static constexpr int64_t kN[] = {1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47};
      static constexpr int64_t kK[] = {1, 2, 3, 5, 14, 15, 16, 17, 33};
      const int64_t n = kN[rows % 12], n2 = kN[(rows + 5) % 12];
      const int64_t k = kK[rows - 1], k2 = kK[(rows + 3) % 9];
      shapes.push_back({rows, k, n, k});                                   // dense
      shapes.push_back({rows, k2, n2, std::max<int64_t>(1, k2 / 3) | 1});  // odd ldx < k
      shapes.push_back({rows, k, n2, k + 3});                              // ldx > k
    }
    for (size_t i = 0; i < shapes.size(); ++i) {
      const auto& sh = shapes[i];
      for (bool extreme : {false, true})
        v.push_back(gemm_case(sh[0], sh[1], sh[2], sh[3], extreme, r, i == 7 && !extreme));
    }
    // the GEMMs of the ByteQRNN OLID recipe (configs/byteqrnn_olid.json; a 148-byte text, 74
    // positions after downsampling; formerly in the bench_kernels program): bottleneck, GBST conv,
    // QRNN layer 0 and layer 1 gates (rows k n ldx)
    for (const auto& sh : std::vector<std::array<int64_t, 4>>{
             {148, 64, 64, 64}, {148, 320, 64, 64}, {74, 192, 192, 64}, {74, 384, 192, 128}})
      v.push_back(gemm_case(sh[0], sh[1], sh[2], sh[3], false, r, true));
    // the main job's width-32 QRNN gates (configs/byteqrnn_w32_distill_olid.json; 73 positions,
    // 3 S = 96 channels per direction: six 16-channel blocks) and its block scores (n = 1)
    for (const auto& sh : std::vector<std::array<int64_t, 4>>{
             {73, 96, 96, 32}, {73, 192, 96, 64}, {146, 32, 1, 32}, {37, 32, 1, 32}})
      v.push_back(gemm_case(sh[0], sh[1], sh[2], sh[3], false, r, true));
  }
  // the requantization after each GEMM (odd and OLID QRNN gate shapes)
  v.push_back(requantize_case(3, 5, 7));
  v.push_back(requantize_case(13, 33, 8));
  v.push_back(requantize_case(74, 192, 9));
  uint32_t seed = 10;
  struct S {
    int64_t rows, k, n;
    bool relu;
  };
  // odd sizes around the SIMD widths (16 / 64 int8, 8 / 16 channels), and the bench shapes of
  // the ByteQRNN OLID config (148 positions, 64 channels)
  for (S s : std::vector<S>{{1, 1, 1, false},
                            {2, 3, 5, true},
                            {3, 15, 4, false},
                            {5, 17, 3, true},
                            {7, 31, 7, false},
                            {9, 33, 19, true},
                            {2, 129, 1, false},
                            // one channel (the GBST block scores: gemm_n1 on the VNNI path), 16
                            // rows at a time, k within and beyond one 64-byte load
                            {305, 32, 1, false},
                            {37, 130, 1, true},
                            {11, 96, 17, false},
                            {148, 64, 64, true},
                            // the AVX2 fused epilogue's last block: 8, 8 + 8, 8 + 9 channels
                            {3, 20, 8, false},
                            {6, 40, 24, true},
                            {9, 7, 25, false}})
    v.push_back(dense_case(s.rows, s.k, s.n, s.relu, false, seed++));
  v.push_back(dense_case(5, 130, 33, false, true, seed++));  // no saturation at the extremes
  // The requantization over its domain (the fused epilogue of the AVX-512 VNNI GEMM): random
  // per-channel m0 in [2^30, 2^31), shifts 24..62 (small shifts clamp, large ones round to the
  // zero point), |B| < 2^50 (so that |v >> shift| < 2^31, as the AVX2 form needs and the
  // loader's bounds give), zero points and ReLU floors; odd row and channel counts.
  for (int variant = 0; variant < 4; ++variant) {
    Rng r(seed++);
    const int64_t rows = 1 + 6 * variant, k = 23 + 40 * variant, n = 5 + 14 * variant;
    auto w = std::make_shared<std::vector<int8_t>>(r.int8(n * k, -127, 127));
    auto x = std::make_shared<std::vector<int8_t>>(r.int8(rows * k));
    auto layer = std::make_shared<DenseLayer>();
    layer->w = pack_matrix(w->data(), n, k);
    RequantParams& rq = layer->rq;
    rq.n = n;
    rq.zp = r.uniform(-128, 127);
    rq.lo = variant % 2 == 1 ? rq.zp : -128;
    for (int64_t j = 0; j < n; ++j) {
      rq.m0.push_back((1 << 30) + r.uniform(0, (1 << 30) - 1));
      const int sh = j % 3 == 0 ? r.uniform(24, 62) : r.uniform(30, 50);
      rq.shift.push_back(sh);
      // a multiple of 2^19 (a multiplication: a left shift of a negative value is undefined)
      const int64_t big = static_cast<int64_t>(r.uniform(-(1 << 30), 1 << 30)) * (int64_t{1} << 19);
      rq.bias.push_back(j % 2 == 0 ? big : r.uniform(-100000, 100000));
    }
    prepare_requant(rq);
    OpCase oc{"requantization sweep " + dims_str("rows k n", {rows, k, n}) +
                  (rq.lo == rq.zp ? " relu" : ""),
              {rows, k, n},
              rows * n,
              [=](const OpContext& c, uint8_t* o) {
                (void)w;
                dense(c, *layer, x->data(), rows, k, reinterpret_cast<int8_t*>(o));
              }};
    oc.perf = false;
    v.push_back(oc);
  }
  return v;
}

std::vector<OpCase> conv_cases() {
  std::vector<OpCase> v;
  uint32_t seed = 30;
  struct S {
    int64_t T, C, window;
    bool reverse;
  };
  for (S s : std::vector<S>{{1, 7, 5, false},
                            {9, 13, 3, false},
                            {9, 13, 3, true},
                            {33, 5, 2, true},
                            {148, 64, 5, false},  // OLID gbst conv
                            {74, 64, 3, true}})   // OLID qrnn gates (backward)
    v.push_back(dense_case(s.T, s.C * s.window, s.C * (s.window == 3 ? 3 : 1), false, false, seed++,
                           s.window, s.reverse));
  return v;
}

OpCase block_mean_case(int64_t T, int64_t C, int64_t width, uint32_t seed) {
  Rng r(seed);
  auto x = std::make_shared<std::vector<int8_t>>(r.int8(T * C));
  const QParams q = qp(0.02f, r.uniform(-5, 5));
  const int64_t blocks = (T + width - 1) / width;
  return {dims_str("T C width", {T, C, width}),
          {T, C, width},
          blocks * C,
          [=](const OpContext& c, uint8_t* o) {
            block_mean(c.isa, x->data(), T, C, width, q, reinterpret_cast<int8_t*>(o),
                       c.scratch.fsum);
          }};
}

std::vector<OpCase> block_mean_cases() {
  return {block_mean_case(1, 3, 2, 40),    block_mean_case(7, 5, 3, 41),
          block_mean_case(13, 17, 4, 42),  block_mean_case(64, 64, 1, 43),
          block_mean_case(148, 32, 3, 48), block_mean_case(148, 32, 4, 49),
          block_mean_case(149, 33, 2, 148)};  // the main job's GBST widths; a tail channel
}

std::vector<OpCase> downsample_cases() {
  return {block_mean_case(1, 8, 2, 44), block_mean_case(15, 9, 2, 45),
          block_mean_case(148, 64, 2, 46), block_mean_case(11, 7, 3, 47)};
}

std::vector<OpCase> block_score_cases() {
  return {dense_case(1, 5, 1, false, false, 50), dense_case(7, 33, 1, false, false, 51),
          dense_case(37, 64, 1, false, false, 52)};
}

// softmax_u8 over rows of n logits (row stride `stride` >= n) with the exp table of `scale`.
OpCase softmax_case(int64_t rows, int64_t n, int64_t stride, float scale, uint32_t seed) {
  Rng r(seed);
  auto x = std::make_shared<std::vector<int8_t>>(r.int8(rows * stride));
  auto table = std::make_shared<std::array<uint32_t, 256>>(make_exp_table(scale));
  return {dims_str("rows n", {rows, n}), {rows, n}, rows * n, [=](const OpContext&, uint8_t* o) {
            for (int64_t t = 0; t < rows; ++t)
              softmax_u8(x->data() + t * stride, n, 1, table->data(),
                         reinterpret_cast<int8_t*>(o) + t * n, 1);
          }};
}

std::vector<OpCase> width_softmax_cases() {
  return {softmax_case(1, 1, 1, 0.1f, 60), softmax_case(9, 3, 3, 0.05f, 61),
          softmax_case(17, 4, 4, 0.2f, 62)};
}

std::vector<OpCase> attention_softmax_cases() {
  // 1100 positions: beyond 2^10 the sum takes the plain division
  return {softmax_case(1, 1, 1, 0.1f, 63), softmax_case(1, 75, 75, 0.05f, 64),
          softmax_case(1, 1100, 1100, 0.01f, 65)};
}

// A GBST layer of width D (conv window k, block widths 1..W, downsampling rate).
std::shared_ptr<GbstLayer> random_gbst(Rng& r, Storage& st, int64_t D, int32_t W, int32_t k,
                                       int32_t rate, QParams in) {
  auto g = std::make_shared<GbstLayer>();
  g->max_block_width = W;
  g->conv_kernel = k;
  g->downsample_rate = rate;
  g->conv = random_dense(r, st, k * D, D, in, qp(0.04f, 2), false);
  g->score = random_dense(r, st, D, 1, g->conv.out, qp(0.06f, -3), false);
  g->score_exp = make_exp_table(g->score.out.scale);
  g->mix = qp(0.035f, 1);
  g->mix_rq =
      uniform_requant(D, multiplier(g->conv.out.scale / (255.0 * g->mix.scale)), g->mix.zero_point);
  return g;
}

// Sequence lengths of the batched cases: odd lengths including 1, and 32 lengths in 40..280
// (the OLID tweets' range at max_length 280).
std::vector<std::vector<int64_t>> batch_lengths() {
  std::vector<int64_t> olid;
  Rng r(99);
  for (int i = 0; i < 32; ++i) olid.push_back(r.uniform(40, 280));
  return {{1, 13, 5, 37, 2, 1, 9}, olid};
}

std::vector<OpCase> gbst_cases() {
  std::vector<OpCase> v;
  struct S {
    int64_t T, D;
    int32_t W, k, rate;
  };
  uint32_t seed = 70;
  for (S s : std::vector<S>{{1, 8, 4, 5, 2},
                            {13, 12, 3, 5, 2},
                            {37, 33, 4, 5, 2},
                            {8, 7, 2, 3, 3},
                            {148, 64, 4, 5, 2},
                            // the main job (width 32); more than 4 widths: the fused VNNI mixture
                            // takes 4 widths per vpdpbusd, the last group padded
                            {146, 32, 4, 5, 2},
                            {40, 20, 6, 3, 2},
                            {50, 32, 8, 5, 2},
                            {35, 17, 16, 4, 4}}) {
    Rng r(seed++);
    auto st = std::make_shared<Storage>();
    const QParams in = qp(0.05f, -4);
    auto g = random_gbst(r, *st, s.D, s.W, s.k, s.rate, in);
    auto x = std::make_shared<std::vector<int8_t>>(r.int8(s.T * s.D));
    const int64_t tout = (s.T + s.rate - 1) / s.rate;
    v.push_back({dims_str("T D W conv rate", {s.T, s.D, s.W, s.k, s.rate}),
                 {s.T, s.D, s.W, s.k},
                 tout * s.D,
                 [=](const OpContext& c, uint8_t* o) {
                   (void)st;
                   gbst(c, *g, x->data(), s.T, reinterpret_cast<int8_t*>(o));
                 }});
  }
  // batched (gbst_batch): odd lengths, and 32 sequences of 40..280 positions at the OLID shape
  for (const auto& lens : batch_lengths()) {
    Rng r(seed++);
    auto st = std::make_shared<Storage>();
    const int64_t D = lens.size() > 8 ? 64 : 33;
    auto g = random_gbst(r, *st, D, 4, 5, 2, qp(0.05f, -4));
    int64_t total = 0, tout = 0;
    for (int64_t T : lens) total += T, tout += (T + 1) / 2;
    auto x = std::make_shared<std::vector<int8_t>>(r.int8(total * D));
    auto out_lens = std::make_shared<std::vector<int64_t>>(lens.size());
    v.push_back({"batch of " + std::to_string(lens.size()) + " " +
                     dims_str("positions D W conv rate", {total, D, 4, 5, 2}),
                 {total, D, static_cast<int64_t>(lens.size())},
                 tout * D,
                 [=](const OpContext& c, uint8_t* o) {
                   (void)st;
                   gbst_batch(c, *g, x->data(), lens.data(), static_cast<int64_t>(lens.size()),
                              reinterpret_cast<int8_t*>(o), out_lens->data());
                 }});
  }
  return v;
}

QrnnTables random_tables(Rng& r, bool identity) {
  QrnnTables tab;
  for (int i = 0; i < 256; ++i) {
    tab.tanh[i] = static_cast<int8_t>(identity ? i - 128 : r.uniform(-128, 127));
    tab.sigmoid[i] = static_cast<int8_t>(identity ? i - 128 : r.uniform(-128, 127));
    tab.tanh32[i] = tab.tanh[i];
    tab.sigmoid32[i] = tab.sigmoid[i];
  }
  return tab;
}

std::vector<OpCase> qrnn_cases() {
  std::vector<OpCase> v;
  uint32_t seed = 80;
  // the fused kernel (formerly QrnnPool.OptimizedPathsAreBitIdenticalToReference): variant 0 has
  // identity tables and gates that give every (gate F, gate Z) pair (T = 256), variants 1 and 2
  // random tables (T = 97); S = 256, 13, 1; both directions. Plus the OLID shape (T 74, S 64).
  // Variant 3: identity tables, every (gate F, gate Z) pair once over the T x S channels read
  // flat (T = 65536 / S; the S = 32 path of the AVX-512 kernel, which looks Z up for two
  // positions at once, and S = 96, a 64- and a 32-channel block). Variant 4: extreme tables and
  // gates (table entries in {-128, -127, 126, 127}, gates mostly -128 or 127). The main job's
  // shape (T 73, S 32, odd T: the last position of a pair alone) and odd S around the 16-, 32-
  // and 64-channel blocks, both directions.
  struct S {
    int64_t T, S;
    int variant;
    bool reverse, perf;
  };
  std::vector<S> shapes;
  for (int variant = 0; variant < 3; ++variant)
    for (int64_t st : {int64_t{256}, int64_t{13}, int64_t{1}})
      for (bool reverse : {false, true})
        shapes.push_back({variant == 0 ? 256 : 97, st, variant, reverse,
                          (variant == 0 && st == 256 && !reverse) || (variant == 1 && st == 13)});
  shapes.push_back({74, 64, 1, false, true});
  for (bool reverse : {false, true}) {
    shapes.push_back({73, 32, 1, reverse, true});  // the main job's shape (width 32)
    for (int64_t T : {int64_t{1}, int64_t{2}, int64_t{72}})
      shapes.push_back({T, 32, 2, reverse, false});
    for (int64_t st :
         {int64_t{17}, int64_t{31}, int64_t{33}, int64_t{48}, int64_t{65}, int64_t{96}})
      shapes.push_back({73, st, 1, reverse, !reverse && (st == 48 || st == 96)});
    shapes.push_back({65536 / 32, 32, 3, reverse, false});
    shapes.push_back({(65536 + 95) / 96, 96, 3, reverse, false});
    for (int64_t st : {int64_t{32}, int64_t{17}, int64_t{64}})
      shapes.push_back({97, st, 4, reverse, false});
  }
  for (const S& s : shapes) {
    Rng r(seed++);
    const bool identity = s.variant == 0 || s.variant == 3;
    auto tab = std::make_shared<QrnnTables>(random_tables(r, identity));
    if (s.variant == 4) {
      const int8_t ext[4] = {-128, -127, 126, 127};
      for (int i = 0; i < 256; ++i) {
        tab->tanh32[i] = tab->tanh[i] = ext[r.uniform(0, 3)];
        tab->sigmoid32[i] = tab->sigmoid[i] = ext[r.uniform(0, 3)];
      }
    }
    // variant 4 gates: -128 or 127, one in 8 uniform
    auto gate = [&r](int variant) {
      if (variant == 4 && r.uniform(0, 7) != 0)
        return static_cast<int8_t>(r.uniform(0, 1) ? 127 : -128);
      return static_cast<int8_t>(r.uniform(-128, 127));
    };
    auto g = std::make_shared<std::vector<int8_t>>(static_cast<size_t>(s.T * 3 * s.S));
    for (int64_t t = 0; t < s.T; ++t) {
      for (int64_t j = 0; j < s.S; ++j) {
        int8_t* gt = g->data() + t * 3 * s.S;
        const int64_t e = (t * s.S + j) % 65536;  // variant 3: the pair (e / 256, e % 256)
        if (s.variant == 0) {
          gt[j] = static_cast<int8_t>((t + j) % 256 - 128);
          gt[s.S + j] = static_cast<int8_t>(j % 256 - 128);
        } else if (s.variant == 3) {
          gt[j] = static_cast<int8_t>(e % 256 - 128);
          gt[s.S + j] = static_cast<int8_t>(e / 256 - 128);
        } else {
          gt[j] = gate(s.variant);
          gt[s.S + j] = gate(s.variant);
        }
        gt[2 * s.S + j] = gate(s.variant);
      }
    }
    static const char* const kVariant[5] = {" identity tables", "", "",
                                            " identity tables, all pairs", " extreme"};
    OpCase oc{dims_str("T S", {s.T, s.S}) + kVariant[s.variant] + (s.reverse ? " reverse" : ""),
              {s.T, s.S},
              s.T * s.S,
              [=](const OpContext& c, uint8_t* o) {
                qrnn_pool(c.isa, g->data(), s.T, s.S, s.reverse, *tab, reinterpret_cast<int8_t*>(o),
                          s.S, grow(c.scratch.state, s.S));
              }};
    oc.perf = s.perf;
    v.push_back(oc);
  }
  // the whole bidirectional layer (gate convolutions + pooling)
  for (const auto& sh_ : std::vector<std::array<int64_t, 4>>{{1, 5, 3, 3}, {23, 17, 9, 3}}) {
    const int64_t T = sh_[0];
    const int64_t C = sh_[1];
    const int64_t S = sh_[2];
    const int64_t k = sh_[3];
    Rng r(seed++);
    auto st = std::make_shared<Storage>();
    auto l = std::make_shared<QrnnLayer>();
    l->kernel_width = static_cast<int32_t>(k);
    l->state_size = static_cast<int32_t>(S);
    const QParams in = qp(0.03f, 5);
    for (QrnnDirection* d : {&l->fwd, &l->bwd}) {
      d->gates = random_dense(r, *st, k * C, 3 * S, in, qp(0.05f, 0), false);
      d->tables = random_tables(r, false);
    }
    auto x = std::make_shared<std::vector<int8_t>>(r.int8(T * C));
    v.push_back({"layer " + dims_str("T C S window", {T, C, S, k}),
                 {T, C, S},
                 T * 2 * S,
                 [=](const OpContext& c, uint8_t* o) {
                   (void)st;
                   qrnn_layer(c, *l, x->data(), T, C, reinterpret_cast<int8_t*>(o), "qrnn");
                 }});
  }
  // batched (qrnn_layer_batch), at the OLID shape for the 32-sequence batch (C 128, S 64)
  for (const auto& lens : batch_lengths()) {
    Rng r(seed++);
    auto st = std::make_shared<Storage>();
    const bool olid = lens.size() > 8;
    const int64_t C = olid ? 128 : 17, S = olid ? 64 : 9, k = 3;
    auto l = std::make_shared<QrnnLayer>();
    l->kernel_width = static_cast<int32_t>(k);
    l->state_size = static_cast<int32_t>(S);
    const QParams in = qp(0.03f, 5);
    for (QrnnDirection* d : {&l->fwd, &l->bwd}) {
      d->gates = random_dense(r, *st, k * C, 3 * S, in, qp(0.05f, 0), false);
      d->tables = random_tables(r, false);
    }
    int64_t total = 0;
    for (int64_t T : lens) total += T;
    auto x = std::make_shared<std::vector<int8_t>>(r.int8(total * C));
    v.push_back({"layer batch of " + std::to_string(lens.size()) + " " +
                     dims_str("positions C S window", {total, C, S, k}),
                 {total, C, S, static_cast<int64_t>(lens.size())},
                 total * 2 * S,
                 [=](const OpContext& c, uint8_t* o) {
                   (void)st;
                   qrnn_layer_batch(c, *l, x->data(), lens.data(),
                                    static_cast<int64_t>(lens.size()), C,
                                    reinterpret_cast<int8_t*>(o));
                 }});
  }
  return v;
}

std::shared_ptr<AttentionPoolLayer> random_pool(Rng& r, Storage& st, int64_t D, QParams in) {
  auto p = std::make_shared<AttentionPoolLayer>();
  p->score = random_dense(r, st, D, 1, in, qp(0.08f, 4), false);
  p->score_exp = make_exp_table(p->score.out.scale);
  p->out = qp(0.045f, -2);
  p->sum_rq = uniform_requant(D, multiplier(in.scale / (255.0 * p->out.scale)), p->out.zero_point);
  p->max_pool = true;
  p->concat = qp(0.06f, 1);
  p->pooled_to_concat =
      uniform_requant(D, multiplier(p->out.scale / p->concat.scale), p->concat.zero_point);
  p->max_to_concat =
      uniform_requant(D, multiplier(in.scale / p->concat.scale), p->concat.zero_point);
  return p;
}

// attention pooling (score dense, softmax over positions, weighted sum); with max_concat the
// [pooled; max] concatenation after it.
std::vector<OpCase> pool_cases(bool max_concat) {
  std::vector<OpCase> v;
  uint32_t seed = max_concat ? 100 : 90;
  for (const auto& sh_ :
       std::vector<std::pair<int64_t, int64_t>>{{1, 5}, {9, 16}, {40, 33}, {73, 64}, {74, 128}}) {
    const int64_t T = sh_.first;
    const int64_t D = sh_.second;
    Rng r(seed++);
    auto st = std::make_shared<Storage>();
    const QParams in = qp(0.04f, -1);
    auto p = random_pool(r, *st, D, in);
    auto x = std::make_shared<std::vector<int8_t>>(r.int8(T * D));
    v.push_back({dims_str("T D", {T, D}),
                 {T, D},
                 (max_concat ? 3 : 1) * D,
                 [=](const OpContext& c, uint8_t* o) {
                   (void)st;
                   int8_t* y = reinterpret_cast<int8_t*>(o);
                   attention_pool(c, *p, x->data(), T, D, y);
                   if (max_concat) attention_max_concat(c, *p, y, x->data(), T, D, y + D);
                 }});
  }
  return v;
}

std::vector<OpCase> probabilities_cases() {
  std::vector<OpCase> v;
  uint32_t seed = 110;
  for (const auto& sh_ :
       std::vector<std::pair<int64_t, bool>>{{1, false}, {2, false}, {7, false}, {5, true}}) {
    const int64_t C = sh_.first;
    const bool multi = sh_.second;
    Rng r(seed++);
    auto logits = std::make_shared<std::vector<int8_t>>(r.int8(C));
    auto exp_t = std::make_shared<std::array<float, 256>>();
    auto sig_t = std::make_shared<std::array<float, 256>>();
    for (int d = 0; d < 256; ++d) {
      (*exp_t)[d] = static_cast<float>(std::exp(-0.07 * d));
      (*sig_t)[d] = static_cast<float>(1.0 / (1.0 + std::exp(-0.07 * (d - 128))));
    }
    v.push_back({dims_str("classes", {C}) + (multi ? " multilabel" : ""),
                 {C},
                 C * static_cast<int64_t>(sizeof(float)),
                 [=](const OpContext&, uint8_t* o) {
                   std::vector<float> p(static_cast<size_t>(C));
                   probabilities(logits->data(), C, multi, exp_t->data(), sig_t->data(), p.data());
                   put(o, p);
                 }});
  }
  return v;
}

std::vector<OpCase> add_cases() {
  std::vector<OpCase> v;
  uint32_t seed = 120;
  for (int64_t n : {1, 7, 31, 33, 4096}) {
    Rng r(seed++);
    auto a = std::make_shared<std::vector<int8_t>>(r.int8(n));
    auto b = std::make_shared<std::vector<int8_t>>(r.int8(n));
    const QParams qa = qp(0.0137f, r.uniform(-10, 10)), qb = qp(0.0291f, r.uniform(-10, 10)),
                  out = qp(0.0403f, r.uniform(-10, 10));
    v.push_back({dims_str("n", {n}), {n}, n, [=](const OpContext& c, uint8_t* o) {
                   add(c.isa, a->data(), qa, b->data(), qb, n, out, reinterpret_cast<int8_t*>(o));
                 }});
  }
  // random sweep (formerly AddAndLayerNorm.Avx2IsBitIdenticalToReference): odd lengths (SIMD
  // tails), every zero point sign, and every tenth output scale tiny (saturation)
  Rng r(21);
  std::uniform_real_distribution<float> sc(0.001f, 0.5f);
  for (int iter = 0; iter < 200; ++iter) {
    const int64_t n = r.uniform(1, 300);
    const QParams qa{sc(r.gen()), r.uniform(-128, 127)}, qb{sc(r.gen()), r.uniform(-128, 127)};
    const QParams out{iter % 10 == 0 ? 1e-4f : sc(r.gen()), r.uniform(-128, 127)};
    auto a = std::make_shared<std::vector<int8_t>>(r.int8(n));
    auto b = std::make_shared<std::vector<int8_t>>(r.int8(n));
    OpCase oc{"sweep " + std::to_string(iter) + " " + dims_str("n", {n}),
              {n},
              n,
              [=](const OpContext& c, uint8_t* o) {
                add(c.isa, a->data(), qa, b->data(), qb, n, out, reinterpret_cast<int8_t*>(o));
              }};
    oc.perf = false;
    v.push_back(oc);
  }
  return v;
}

LayerNormLayer random_norm(Rng& r, int64_t D, QParams in, QParams out) {
  std::vector<float> g(static_cast<size_t>(D)), b(static_cast<size_t>(D));
  for (int64_t c = 0; c < D; ++c) {
    g[c] = 0.5f + 0.01f * static_cast<float>(r.uniform(0, 100));
    b[c] = 0.01f * static_cast<float>(r.uniform(-50, 50));
  }
  return make_layer_norm_layer(g.data(), b.data(), D, in, out);
}

std::vector<OpCase> layer_norm_cases() {
  std::vector<OpCase> v;
  uint32_t seed = 130;
  for (const auto& sh_ :
       std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 7}, {5, 31}, {9, 64}, {2, 100}}) {
    const int64_t T = sh_.first;
    const int64_t D = sh_.second;
    Rng r(seed++);
    auto l = std::make_shared<LayerNormLayer>(random_norm(r, D, qp(0.05f, 3), qp(0.03f, -2)));
    auto x = std::make_shared<std::vector<int8_t>>(r.int8(T * D));
    v.push_back({dims_str("T D", {T, D}), {T, D}, T * D, [=](const OpContext& c, uint8_t* o) {
                   layer_norm(c.isa, *l, x->data(), T, D, reinterpret_cast<int8_t*>(o));
                 }});
  }
  // random sweep (formerly AddAndLayerNorm.Avx2IsBitIdenticalToReference): D in 1..70, T in
  // 1..5, gamma ~ 1 + N(0, 1), beta ~ N(0, 1), every zero point sign, tiny output scales
  Rng r(22);
  std::uniform_real_distribution<float> sc(0.001f, 0.5f);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (int iter = 0; iter < 200; ++iter) {
    auto l = std::make_shared<LayerNormLayer>();
    l->in = QParams{sc(r.gen()), r.uniform(-128, 127)};
    l->out = QParams{iter % 10 == 0 ? 1e-4f : sc(r.gen()), r.uniform(-128, 127)};
    const int64_t D = r.uniform(1, 70), T = r.uniform(1, 5);
    for (int64_t ch = 0; ch < D; ++ch) {
      l->gamma_s.push_back((1.0 + nd(r.gen())) / l->out.scale);
      l->beta_s.push_back(nd(r.gen()) / l->out.scale);
    }
    auto x = std::make_shared<std::vector<int8_t>>(r.int8(T * D));
    OpCase oc{"sweep " + std::to_string(iter) + " " + dims_str("T D", {T, D}),
              {T, D},
              T * D,
              [=](const OpContext& c, uint8_t* o) {
                layer_norm(c.isa, *l, x->data(), T, D, reinterpret_cast<int8_t*>(o));
              }};
    oc.perf = false;
    v.push_back(oc);
  }
  return v;
}

// Multi-head attention of Tq queries over S keys; cross: the same through the pre-packed
// source memory of the decoder (prepare_cross_memory + cross_attention).
OpCase attention_case(int64_t Tq, int64_t S, int64_t D, int64_t H, bool cross, double factor,
                      QParams q_p, QParams kv_p, QParams logits, QParams context, uint32_t seed) {
  Rng r(seed);
  auto l = std::make_shared<AttentionLayer>(
      make_attention_layer(static_cast<int32_t>(H), factor, q_p, kv_p, logits, context));
  auto q = std::make_shared<std::vector<int8_t>>(r.int8(Tq * D));
  auto kv = std::make_shared<std::vector<int8_t>>(r.int8(S * 2 * D));
  auto mem = std::make_shared<CrossMemory>();
  return {dims_str("Tq S D heads", {Tq, S, D, H}) + (cross ? " cross" : " self"),
          {Tq, S, D},
          Tq * D,
          [=](const OpContext& c, uint8_t* o) {
            int8_t* y = reinterpret_cast<int8_t*>(o);
            if (cross) {
              prepare_cross_memory(c.isa, *l, q_p, kv->data(), kv_p, S, D, *mem);
              cross_attention(c, *l, *mem, q->data(), Tq, y);
            } else {
              attention(c, *l, q->data(), q_p, Tq, kv->data(), kv_p, S, D, y);
            }
          }};
}

// Multi-head attention of Tq queries over S keys; cross: the same through the pre-packed
// source memory of the decoder (prepare_cross_memory + cross_attention).
std::vector<OpCase> attention_cases() {
  std::vector<OpCase> v;
  uint32_t seed = 140;
  struct S {
    int64_t Tq, S, D, H;
    bool cross;
  };
  for (S s : std::vector<S>{{1, 1, 4, 1, false},
                            {5, 5, 12, 3, false},
                            {7, 13, 16, 4, false},
                            {37, 37, 64, 4, false},
                            {4, 9, 32, 4, true},
                            {1, 130, 20, 5, true}}) {
    v.push_back(attention_case(s.Tq, s.S, s.D, s.H, s.cross, 1.0 / std::sqrt(double(s.D / s.H)),
                               qp(0.05f, 3), qp(0.04f, -7), qp(0.1f, 2), qp(0.03f, -1), seed++));
  }
  // the shapes of the former test_runtime_transformer_ops
  // Attention.OptimizedPathsAreBitIdenticalToReference (logit factor 1)
  for (S s : std::vector<S>{{70, 70, 64, 4, false},
                            {35, 70, 64, 4, false},
                            {1, 1, 12, 3, false},
                            {7, 13, 20, 5, false},
                            {33, 65, 96, 2, false}}) {
    v.push_back(attention_case(s.Tq, s.S, s.D, s.H, s.cross, 1.0, qp(0.03f, -5), qp(0.045f, 9),
                               qp(0.08f, -12), qp(0.025f, 1), seed++));
  }
  return v;
}

// A whole (funnel) Transformer encoder layer: query pooling by pool_window, attention, output,
// residuals, norms, feed-forward.
std::vector<OpCase> transformer_layer_cases() {
  std::vector<OpCase> v;
  uint32_t seed = 150;
  struct S {
    int64_t T, D, H, I;
    int32_t pool;
  };
  for (S s : std::vector<S>{
           {1, 8, 2, 16, 2}, {9, 12, 3, 20, 2}, {23, 16, 4, 32, 3}, {10, 16, 4, 24, 1}}) {
    Rng r(seed++);
    auto st = std::make_shared<Storage>();
    const QParams in = qp(0.05f, 1), act = qp(0.06f, 0), norm = qp(0.03f, 0),
                  relu = qp(0.04f, -128);
    auto l = std::make_shared<TransformerLayerRt>();
    l->pool_window = s.pool;
    l->query = random_dense(r, *st, s.D, s.D, in, act, false);
    l->key_value = random_dense(r, *st, s.D, 2 * s.D, in, act, false);
    l->attn = make_attention_layer(static_cast<int32_t>(s.H), 1.0 / std::sqrt(double(s.D / s.H)),
                                   act, act, qp(0.1f, 0), act);
    l->output = random_dense(r, *st, s.D, s.D, act, act, false);
    l->norm1 = random_norm(r, s.D, act, norm);
    l->ffn_in = random_dense(r, *st, s.D, s.I, norm, relu, true);
    l->ffn_out = random_dense(r, *st, s.I, s.D, relu, act, false);
    l->norm2 = random_norm(r, s.D, act, norm);
    auto x = std::make_shared<std::vector<int8_t>>(r.int8(s.T * s.D));
    const int64_t Tq = (s.T + s.pool - 1) / s.pool;
    v.push_back({dims_str("T D heads ffn pool", {s.T, s.D, s.H, s.I, s.pool}),
                 {s.T, s.D, s.I},
                 Tq * s.D,
                 [=](const OpContext& c, uint8_t* o) {
                   (void)st;
                   transformer_layer(c, *l, x->data(), s.T, s.D, in, reinterpret_cast<int8_t*>(o),
                                     "layer");
                 }});
  }
  return v;
}

std::vector<OpCase> uniform_average_cases() {
  std::vector<OpCase> v;
  uint32_t seed = 160;
  for (const auto& sh_ : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {3, 7, 5}, {4, 32, 9}}) {
    const int64_t beam = sh_[0];
    const int64_t D = sh_[1];
    const int64_t steps = sh_[2];
    Rng r(seed++);
    auto vals = std::make_shared<std::vector<int8_t>>(r.int8(steps * beam * D));
    auto parents = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(steps * beam));
    for (auto& p : *parents) p = r.uniform(0, static_cast<int>(beam) - 1);
    const QParams vq = qp(0.05f, 2), out = qp(0.04f, -1);
    // every step's averages, then the final running sums (as bit patterns)
    const int64_t bytes = steps * beam * D + beam * D * static_cast<int64_t>(sizeof(double));
    v.push_back({dims_str("beam D steps", {beam, D, steps}),
                 {beam, D, steps},
                 bytes,
                 [=](const OpContext&, uint8_t* o) {
                   std::vector<double> cur(static_cast<size_t>(beam * D)), nxt(cur.size());
                   for (int64_t t = 0; t < steps; ++t) {
                     uniform_causal_average(vals->data() + t * beam * D, vq, beam, D,
                                            static_cast<int32_t>(t + 1), parents->data() + t * beam,
                                            cur.data(), nxt.data(), out,
                                            reinterpret_cast<int8_t*>(o) + t * beam * D);
                     std::swap(cur, nxt);
                   }
                   std::memcpy(o + steps * beam * D, cur.data(), cur.size() * sizeof(double));
                 }});
  }
  return v;
}

// The cases of each op. No default: a new Op without cases does not compile (-Wswitch).
std::vector<OpCase> cases_of(Op op) {
  switch (op) {
    case Op::kEmbedding:
      return embedding_cases();
    case Op::kDense:
      return dense_cases();
    case Op::kConv:
      return conv_cases();
    case Op::kBlockMean:
      return block_mean_cases();
    case Op::kBlockScore:
      return block_score_cases();
    case Op::kWidthSoftmax:
      return width_softmax_cases();
    case Op::kGbstMix:
      return gbst_cases();
    case Op::kDownsample:
      return downsample_cases();
    case Op::kQrnnPool:
      return qrnn_cases();
    case Op::kAttentionSoftmax:
      return attention_softmax_cases();
    case Op::kAttentionSum:
      return pool_cases(false);
    case Op::kProbabilities:
      return probabilities_cases();
    case Op::kAdd:
      return add_cases();
    case Op::kLayerNorm:
      return layer_norm_cases();
    case Op::kAttention:
      return attention_cases();
    case Op::kQueryPool:
      return transformer_layer_cases();
    case Op::kMaxConcat:
      return pool_cases(true);
    case Op::kUniformAverage:
      return uniform_average_cases();
    case Op::kCount:
      break;
  }
  return {};
}

std::vector<Isa> optimized_isas() {
  std::vector<Isa> v;
  for (Isa i : {Isa::kAvx2, Isa::kAvx512Vnni})
    if (isa_supported(i)) v.push_back(i);
  return v;
}

std::vector<Op> all_ops() {
  std::vector<Op> v;
  for (int i = 0; i < kOpCount; ++i) v.push_back(static_cast<Op>(i));
  return v;
}

std::vector<uint8_t> run_case(const OpCase& oc, Isa isa, OpScratch& s, uint8_t sentinel) {
  std::vector<uint8_t> out(static_cast<size_t>(oc.out_bytes), sentinel);
  oc.run(OpContext{isa, s}, out.data());
  return out;
}

TEST(OpHarness, EveryOpHasCasesWithOddSizes) {
  for (Op op : all_ops()) {
    const std::vector<OpCase> cases = cases_of(op);
    ASSERT_FALSE(cases.empty()) << op_name(op);
    bool odd = false;
    for (const OpCase& c : cases) {
      EXPECT_GT(c.out_bytes, 0) << op_name(op) << " " << c.shape;
      for (int64_t d : c.dims) odd = odd || (d > 1 && d % 2 == 1);
    }
    EXPECT_TRUE(odd) << op_name(op) << ": expected a case with an odd size > 1";
  }
}

class BitIdentical : public ::testing::TestWithParam<Op> {};

TEST_P(BitIdentical, OnEveryIsa) {
  const Op op = GetParam();
  const std::vector<Isa> isas = optimized_isas();
  for (const OpCase& oc : cases_of(op)) {
    OpScratch s_ref, s_opt;
    const std::vector<uint8_t> ref = run_case(oc, Isa::kReference, s_ref, 0x55);
    // the same path twice with dirty scratch gives the same result (no state leaks)
    ASSERT_EQ(ref, run_case(oc, Isa::kReference, s_ref, 0xAA)) << oc.shape << " reference";
    for (Isa isa : isas) {
      const std::vector<uint8_t> got = run_case(oc, isa, s_opt, 0xAA);
      ASSERT_EQ(ref.size(), got.size());
      size_t first = 0;
      while (first < ref.size() && ref[first] == got[first]) ++first;
      EXPECT_EQ(first, ref.size())
          << op_name(op) << " " << oc.shape << " " << isa_name(isa) << ": first difference at byte "
          << first << " of " << ref.size();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(OpHarness, BitIdentical, ::testing::ValuesIn(all_ops()),
                         [](const ::testing::TestParamInfo<Op>& info) {
                           return std::string(op_name(info.param));
                         });

// The batched layers give every sequence exactly the output of the one-sequence layer, on every
// path (the BitIdentical cases above compare the batched layers across paths).
TEST(OpHarness, BatchedLayersEqualOneSequenceAtATime) {
  std::vector<Isa> isas = {Isa::kReference};
  for (Isa i : optimized_isas()) isas.push_back(i);
  for (const auto& lens : batch_lengths()) {
    Rng r(7);
    Storage st;
    const int64_t N = static_cast<int64_t>(lens.size());
    const int64_t D = 24, C = 20, S = 11;
    auto g = random_gbst(r, st, D, 3, 4, 3, qp(0.05f, -2));
    QrnnLayer l;
    l.kernel_width = 4;
    l.state_size = static_cast<int32_t>(S);
    for (QrnnDirection* d : {&l.fwd, &l.bwd}) {
      d->gates = random_dense(r, st, 4 * C, 3 * S, qp(0.03f, 5), qp(0.05f, 0), false);
      d->tables = random_tables(r, false);
    }
    int64_t total = 0;
    for (int64_t T : lens) total += T;
    const std::vector<int8_t> xg = r.int8(total * D), xq = r.int8(total * C);
    for (Isa isa : isas) {
      SCOPED_TRACE(isa_name(isa));
      OpScratch s1, s2;
      const OpContext one{isa, s1}, many{isa, s2};
      // GBST: output lengths ceil(T / 3)
      std::vector<int8_t> want, got(static_cast<size_t>(total * D), 0x5A);
      std::vector<int64_t> out_lens(lens.size());
      int64_t row = 0;
      for (int64_t T : lens) {
        std::vector<int8_t> y(static_cast<size_t>((T + 2) / 3 * D));
        ASSERT_EQ(gbst(one, *g, xg.data() + row * D, T, y.data()), (T + 2) / 3);
        want.insert(want.end(), y.begin(), y.end());
        row += T;
      }
      const int64_t rows =
          gbst_batch(many, *g, xg.data(), lens.data(), N, got.data(), out_lens.data());
      ASSERT_EQ(rows * D, static_cast<int64_t>(want.size()));
      got.resize(want.size());
      EXPECT_EQ(got, want);
      for (int64_t i = 0; i < N; ++i) EXPECT_EQ(out_lens[i], (lens[i] + 2) / 3);
      // QRNN layer
      want.clear();
      row = 0;
      for (int64_t T : lens) {
        std::vector<int8_t> y(static_cast<size_t>(T * 2 * S));
        qrnn_layer(one, l, xq.data() + row * C, T, C, y.data(), "q");
        want.insert(want.end(), y.begin(), y.end());
        row += T;
      }
      got.assign(want.size(), 0x5A);
      qrnn_layer_batch(many, l, xq.data(), lens.data(), N, C, got.data());
      EXPECT_EQ(got, want);
    }
  }
}

// The byte front as tables (ops.h ByteTables, gbst_ids) equals the ops it replaces: the
// bottleneck of every id, and GBST on the ids equal to GBST on bottleneck(embedding(ids)) with the
// reference kernels, on every path: texts shorter than the conv window, every id, long texts,
// an odd width and weights at the extreme (every conv weight -127).
TEST(OpHarness, ByteTablesEqualTheOpsTheyReplace) {
  constexpr int64_t V = 259;
  std::vector<Isa> isas = {Isa::kReference};
  for (Isa i : optimized_isas()) isas.push_back(i);
  struct S {
    int64_t F, D;
    int32_t W, k, rate;
    bool extreme;
  };
  uint32_t seed = 300;
  for (S s : std::vector<S>{
           {64, 64, 4, 5, 2, false}, {16, 33, 3, 3, 3, false}, {32, 32, 4, 5, 2, true}}) {
    SCOPED_TRACE(dims_str("F D W conv rate", {s.F, s.D, s.W, s.k, s.rate}));
    Rng r(seed++);
    Storage st;
    const QParams emb_q = qp(0.04f, 3), bott_q = qp(0.05f, -128);
    const std::vector<int8_t> table = r.int8(V * s.F);
    const DenseLayer bott = random_dense(r, st, s.F, s.D, emb_q, bott_q, true);
    auto g = random_gbst(r, st, s.D, s.W, s.k, s.rate, bott_q);
    if (s.extreme) g->conv = random_dense(r, st, s.k * s.D, s.D, bott_q, qp(0.04f, 2), false, true);
    ByteTables tb;
    build_byte_tables(table.data(), V, s.F, bott, g.get(), tb);
    ASSERT_EQ(tb.kernel, s.k);
    ASSERT_EQ(tb.taps.size(), static_cast<size_t>(s.k * (V + 1) * s.D));
    // texts: lengths 1..k (shorter than or as long as the window), every id once, 280 random ids
    std::vector<std::vector<int32_t>> texts;
    for (int32_t n = 1; n <= s.k; ++n) texts.push_back(std::vector<int32_t>(n, 7 * n));
    std::vector<int32_t> all(V);
    for (int32_t i = 0; i < V; ++i) all[i] = (i * 101) % V;
    texts.push_back(all);
    std::vector<int32_t> rnd(280);
    for (auto& id : rnd) id = r.uniform(0, V - 1);
    texts.push_back(rnd);
    OpScratch s_ref;
    const OpContext ref{Isa::kReference, s_ref};
    for (Isa isa : isas) {
      SCOPED_TRACE(isa_name(isa));
      OpScratch s_opt;
      const OpContext c{isa, s_opt};
      // rows: the bottleneck of every id on this path
      std::vector<int8_t> rows(static_cast<size_t>(V * s.D));
      dense(c, bott, table.data(), V, s.F, rows.data());
      EXPECT_EQ(rows, tb.rows);
      for (const auto& ids : texts) {
        const auto T = static_cast<int64_t>(ids.size());
        std::vector<int8_t> x(static_cast<size_t>(T * s.F)), xb(static_cast<size_t>(T * s.D));
        embedding(table.data(), s.F, ids.data(), T, x.data());
        dense(ref, bott, x.data(), T, s.F, xb.data());
        const int64_t tout = (T + s.rate - 1) / s.rate;
        std::vector<int8_t> want(static_cast<size_t>(tout * s.D)), got(want.size(), 0x5A);
        ASSERT_EQ(gbst(ref, *g, xb.data(), T, want.data()), tout);
        ASSERT_EQ(gbst_ids(c, *g, tb, ids.data(), T, got.data()), tout);
        EXPECT_EQ(got, want) << "T " << T;
      }
    }
  }
}

// ---- perf mode ----

#if defined(__x86_64__)
// The core's int8 multiply-accumulate peak: a loop of the VNNI GEMM's own instruction (vpdpbusd
// zmm, 64 MACs each) on 16 independent accumulators, in MAC/s (formerly the bench_kernels
// program's peak/avx512vnni). GEMM cases' MAC/s divided by it is the fraction of the peak they
// reach.
__attribute__((target("avx512f,avx512vnni"))) double vnni_peak_macs_per_s(double budget_s) {
  constexpr int kAcc = 16, kInner = 256;
  __m512i acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  int64_t loops = 0;
  double el = 0;
  do {
    for (int it = 0; it < kInner; ++it)
      for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    ++loops;
    el = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (el < budget_s);
  alignas(64) int32_t lanes[16];
  int32_t sink = 0;
  for (int i = 0; i < kAcc; ++i) {
    _mm512_store_si512(lanes, acc[i]);
    sink ^= lanes[0];
  }
  volatile int32_t keep = sink;  // the loop's results are used
  (void)keep;
  return 64.0 * kAcc * kInner * static_cast<double>(loops) / el;
}

// The AVX2 path's int16 multiply-accumulate peak: a loop of the AVX2 GEMM's own instruction pair
// (vpmaddwd ymm, 16 MACs, and the vpaddd that accumulates it) as the GEMM's tile issues it: 8
// independent products of 4 x 2 operand registers into 8 accumulators, in MAC/s (the operand
// values do not matter for the timing). GEMM cases also print the avx2 path's fraction of it.
// kAvx2PeakInner iterations of the loop, in assembly: g++ 12 keeps intrinsic accumulators of
// this loop on the stack (store-to-load latency would be measured instead of the multiplier).
// ymm0-7 accumulate, ymm8-11 x ymm12-13 are the 8 products' operands, ymm14-15 the products.
constexpr int kAvx2PeakInner = 256;
__attribute__((target("avx2"), noinline)) void avx2_peak_block() {
  int64_t count = kAvx2PeakInner;
  asm volatile(
      "1:\n\t"
      "vpmaddwd %%ymm12, %%ymm8, %%ymm14\n\t"
      "vpmaddwd %%ymm13, %%ymm8, %%ymm15\n\t"
      "vpaddd %%ymm14, %%ymm0, %%ymm0\n\t"
      "vpaddd %%ymm15, %%ymm1, %%ymm1\n\t"
      "vpmaddwd %%ymm12, %%ymm9, %%ymm14\n\t"
      "vpmaddwd %%ymm13, %%ymm9, %%ymm15\n\t"
      "vpaddd %%ymm14, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm15, %%ymm3, %%ymm3\n\t"
      "vpmaddwd %%ymm12, %%ymm10, %%ymm14\n\t"
      "vpmaddwd %%ymm13, %%ymm10, %%ymm15\n\t"
      "vpaddd %%ymm14, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm15, %%ymm5, %%ymm5\n\t"
      "vpmaddwd %%ymm12, %%ymm11, %%ymm14\n\t"
      "vpmaddwd %%ymm13, %%ymm11, %%ymm15\n\t"
      "vpaddd %%ymm14, %%ymm6, %%ymm6\n\t"
      "vpaddd %%ymm15, %%ymm7, %%ymm7\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(count)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
}

__attribute__((target("avx2"))) double avx2_peak_macs_per_s(double budget_s) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  int64_t loops = 0;
  double el = 0;
  do {
    avx2_peak_block();
    ++loops;
    el = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (el < budget_s);
  return 16.0 * 8 * kAvx2PeakInner * static_cast<double>(loops) / el;
}
#endif

double seconds_per_call(const OpCase& oc, Isa isa, OpScratch& s, std::vector<uint8_t>& out,
                        double budget_s) {
  using Clock = std::chrono::steady_clock;
  const OpContext c{isa, s};
  int64_t calls = 0;
  const auto t0 = Clock::now();
  double el = 0;
  do {
    oc.run(c, out.data());
    ++calls;
    el = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (el < budget_s);
  return el / static_cast<double>(calls);
}

int perf_main(const std::string& only, double ms) {
  std::vector<Isa> isas = {Isa::kReference};
  for (Isa i : optimized_isas()) isas.push_back(i);
  std::printf(
      "op harness perf mode: time per call, %d alternating rounds of ~%.0f ms per path, "
      "median; ratio = reference / path (higher is faster)\n",
      5, ms);
  // GEMM cases: the int8 peak (vnni_peak_macs_per_s) is measured in the same alternating rounds
  [[maybe_unused]] const bool vnni = isa_supported(Isa::kAvx512Vnni);
  [[maybe_unused]] const bool avx2 = isa_supported(Isa::kAvx2);
  std::printf("%-18s %-40s", "op", "case");
  for (Isa i : isas) std::printf(" %14s", (std::string(isa_name(i)) + " us").c_str());
  for (size_t k = 1; k < isas.size(); ++k)
    std::printf(" %12s", (std::string("ratio ") + isa_name(isas[k])).c_str());
  std::printf("\n");
  for (Op op : all_ops()) {
    if (!only.empty() && only != op_name(op)) continue;
    for (const OpCase& oc : cases_of(op)) {
      if (!oc.perf) continue;
      std::vector<OpScratch> scratch(isas.size());
      std::vector<uint8_t> out(static_cast<size_t>(oc.out_bytes));
      std::vector<std::vector<double>> t(isas.size());
      for (size_t k = 0; k < isas.size(); ++k) oc.run(OpContext{isas[k], scratch[k]}, out.data());
      std::vector<double> peaks;   // MAC/s of the VNNI loop, one per round
      std::vector<double> peaks2;  // MAC/s of the AVX2 loop, one per round
      for (int round = 0; round < 5; ++round) {
        for (size_t k = 0; k < isas.size(); ++k)
          t[k].push_back(seconds_per_call(oc, isas[k], scratch[k], out, ms / 1e3));
#if defined(__x86_64__)
        if (oc.macs > 0 && vnni) peaks.push_back(vnni_peak_macs_per_s(ms / 1e3));
        if (oc.macs > 0 && avx2) peaks2.push_back(avx2_peak_macs_per_s(ms / 1e3));
#endif
      }
      std::sort(peaks.begin(), peaks.end());
      const double peak = peaks.empty() ? 0 : peaks[peaks.size() / 2];
      std::sort(peaks2.begin(), peaks2.end());
      const double peak2 = peaks2.empty() ? 0 : peaks2[peaks2.size() / 2];
      std::vector<double> med;
      for (auto& v : t) {
        std::sort(v.begin(), v.end());
        med.push_back(v[v.size() / 2]);
      }
      std::printf("%-18s %-40s", op_name(op), oc.shape.c_str());
      for (double m : med) std::printf(" %14.3f", 1e6 * m);
      for (size_t k = 1; k < med.size(); ++k) std::printf(" %12.2f", med[0] / med[k]);
      if (oc.macs > 0) {  // GEMM: GMAC/s per path, and the fastest path's fraction of the peak
        std::printf("  GMAC/s");
        for (size_t k = 0; k < med.size(); ++k)
          std::printf(" %s %.1f", isa_name(isas[k]), static_cast<double>(oc.macs) / med[k] / 1e9);
        const double best = *std::min_element(med.begin(), med.end());
        if (peak > 0) {
          std::printf(" (%.2f of the peak %.1f)", static_cast<double>(oc.macs) / best / peak,
                      peak / 1e9);
        }
        for (size_t k = 0; k < med.size(); ++k) {
          if (isas[k] == Isa::kAvx2 && peak2 > 0) {
            std::printf(" (avx2 %.2f of the avx2 peak %.1f)",
                        static_cast<double>(oc.macs) / med[k] / peak2, peak2 / 1e9);
          }
        }
      }
      std::printf("\n");
    }
  }
  return 0;
}

}  // namespace
}  // namespace bytelite::rt

int main(int argc, char** argv) {
  bool perf = false;
  std::string only;
  double ms = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--perf") {
      perf = true;
    } else if (a == "--op" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--ms" && i + 1 < argc) {
      ms = std::atof(argv[++i]);
    }
  }
  if (perf) {
    if (ms <= 0) {
      std::fprintf(stderr, "test_ops: --ms expected a positive number of milliseconds\n");
      return 1;
    }
    bool known = only.empty();
    for (int i = 0; i < bytelite::rt::kOpCount; ++i)
      known = known || only == bytelite::rt::op_name(static_cast<bytelite::rt::Op>(i));
    if (!known) {
      std::fprintf(stderr, "test_ops: --op expected an op name (docs/runtime.md), found %s\n",
                   only.c_str());
      return 1;
    }
    return bytelite::rt::perf_main(only, ms);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
