// Compute kernels of the runtime. Each kernel has a plain C++ reference implementation (the
// ground truth) and optimized implementations chosen at run time from the CPU's features
// (cpuid via __builtin_cpu_supports), side by side in this directory: <kernel>.cc holds the
// reference (and the dispatch), <kernel>_<path>.cc each optimized path (gemm, requantize,
// qrnn_pool, add, layer_norm). Every optimized kernel computes exactly the same values as its
// reference (the op harness tests/test_ops.cc compares every op on every path bit for bit on
// random and odd shapes, for the QRNN kernel on every gate pair; robustness case C6).
//
// Integer products never saturate: the AVX2 GEMM multiplies sign-extended int16 values with
// _mm256_madd_epi16 (int16 x int16 -> int32 pair sums, exact for |x| <= 128, |w| <= 127); the
// AVX-512 VNNI GEMM uses _mm512_dpbusd_epi32 (u8 x s8 -> int32 sums of 4 exact products, no
// saturation) on x + 128 and subtracts 128 Σw. Accumulation is int32 everywhere.
//
// Floating point appears only where the training graph's own float arithmetic is mirrored
// operation by operation (fo-pooling state, see qrnn_pool_ref): single-precision IEEE-754
// multiplications and additions, each exactly rounded, no FMA (the runtime is built with
// -ffp-contract=off and the target attributes never enable FMA), so every path and every CPU
// gives the same bits.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace bytelite::rt {

/// Instruction-set paths of the kernels, slowest first.
enum class Isa { kReference = 0, kAvx2 = 1, kAvx512Vnni = 2 };
inline constexpr int kIsaCount = 3;

const char* isa_name(Isa isa);
/// True if this CPU (and OS) supports the path. kReference is always supported.
bool isa_supported(Isa isa);
/// The fastest supported path, unless the environment variable BYTELITE_ISA names another
/// supported one ("reference", "avx2", "avx512vnni").
Isa best_isa();

/// One int8 matrix W [n, k] in the layouts of every kernel path.
struct PackedMatrix {
  int64_t n = 0, k = 0;
  const int8_t* w = nullptr;  // [n, k] row-major, not owned (points into the model file)
  int64_t kp = 0;             // AVX2: k rounded up to 2 (even)
  std::vector<int16_t> w16;   // AVX2: [np16 / 16][kp / 2][16][2] sign-extended, zero padded
                              // (blocks of 16 channels; per k pair each channel's 2 weights)
  int64_t kp4 = 0, np16 = 0;  // VNNI: k rounded up to 4; n rounded up to 16 (AVX2, VNNI)
  std::vector<int8_t> wvnni;  // VNNI: [np16 / 16][kp4 / 4][16][4], zero padded
  std::vector<int32_t> corr;  // VNNI: 128 Σ_i w[j, i] (the x + 128 correction), [np16]
};
/// Packs W for every supported path up to `up_to` (activations as W, e.g. attention keys, may
/// hold -128: every path stays exact).
PackedMatrix pack_matrix(const int8_t* w, int64_t n, int64_t k, Isa up_to = Isa::kAvx512Vnni);
/// The same into an existing PackedMatrix, reusing its buffers (no allocation once they are large
/// enough): for matrices packed per call, such as attention keys and values. With all_paths
/// false only the layout of `up_to` itself is built (the matrix is then used with that path).
void pack_matrix_into(PackedMatrix& p, const int8_t* w, int64_t n, int64_t k, Isa up_to,
                      bool all_paths);

/// Scratch memory of the optimized kernels (one per thread).
struct KernelScratch {
  std::vector<int16_t> x16;
  std::vector<uint8_t> xu8;
};

/// acc[r * n + j] = Σ_{i < k} x[r * ldx + i] * w[j * k + i] for r < rows, j < n, in int32.
/// Rows may overlap (ldx < k): a convolution over a zero-point-padded sequence is this GEMM with
/// ldx = channels and k = window * channels. Requires k * 128 * 127 < 2^31.
void gemm_s8_ref(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w, int32_t* acc);
void gemm_s8_avx2(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w, int32_t* acc,
                  KernelScratch& scratch);
void gemm_s8_avx512vnni(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                        int32_t* acc, KernelScratch& scratch);
/// Dispatches to the given path (falls back to the best path the matrix was packed for).
void gemm_s8(Isa isa, const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
             int32_t* acc, KernelScratch& scratch);

/// Per-channel fixed-point requantization of int32 accumulators (Jacob et al. 2018 §2.2):
///   y = clamp(zp + floor((acc * m0_j + B_j + 2^(shift_j - 1)) / 2^shift_j), lo, hi)
/// with |acc * m0_j| < 2^59 and |B_j| < 2^61 (the loader checks the bounds).
struct RequantParams {
  int64_t n = 0;
  std::vector<int32_t> m0;     // [n]
  std::vector<int32_t> shift;  // [n], 1..62
  std::vector<int64_t> bias;   // [n] B_j
  int32_t zp = 0, lo = -128, hi = 127;
  // SIMD layout, [round_up(n, 8)] in blocks of 8 channels: even channels then odd channels of
  // each block, with the rounding constant and an offset of 2^62 folded in (so that a logical
  // shift gives the floor), and the offset's share to subtract after the shift.
  std::vector<int32_t> m0_v;
  std::vector<int64_t> bias_v, shift_v, corr_v;
  // AVX-512 layout (the fused GEMM epilogue), [round_up(n, 16)] in blocks of 16 channels: m0 in
  // channel order; bias + 2^(shift - 1) and shift with the even channels of the block in slots
  // 0..7 and the odd channels in slots 8..15. Padding channels: m0 0, bias 0, shift 1.
  std::vector<int32_t> m0_16;
  std::vector<int64_t> bias_16, shift_16;
};
/// Fills the SIMD layout from m0, shift and bias.
void prepare_requant(RequantParams& p);
void requantize_ref(const int32_t* acc, int64_t rows, const RequantParams& p, int8_t* y);
void requantize_avx2(const int32_t* acc, int64_t rows, const RequantParams& p, int8_t* y);
/// 16 channels at a time with the VNNI GEMM's epilogue (gemm_avx512.cc; needs p.m0_16).
void requantize_avx512(const int32_t* acc, int64_t rows, const RequantParams& p, int8_t* y);
void requantize(Isa isa, const int32_t* acc, int64_t rows, const RequantParams& p, int8_t* y);

/// The GEMM followed by the requantization, y [rows, n] = requantize(gemm_s8(x, w), p) (p.n ==
/// w.n): the dense layer's kernel. The reference is gemm_s8_ref then requantize_ref (acc: scratch
/// of rows * n int32); the AVX-512 VNNI path requantizes in the GEMM's epilogue, from the
/// accumulator registers (no int32 round trip through memory: "fused requantization"); the AVX2
/// path requantizes in its epilogue too (gemm_requant_s8_avx2: requantize_avx2's instructions on
/// each 4 x 16 tile's accumulators). Every path gives the same bytes. The fused paths need the SIMD
/// layouts of prepare_requant (m0_16 for VNNI, m0_v for AVX2); without them gemm_requant_s8 runs
/// the GEMM, then requantize.
void gemm_requant_s8_avx512vnni(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                                const RequantParams& p, int8_t* y, KernelScratch& scratch);
void gemm_requant_s8_avx2(const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                          const RequantParams& p, int8_t* y, KernelScratch& scratch);
void gemm_requant_s8(Isa isa, const int8_t* x, int64_t rows, int64_t ldx, const PackedMatrix& w,
                     const RequantParams& p, int8_t* y, std::vector<int32_t>& acc,
                     KernelScratch& scratch);

/// Sums of table rows, requantized: the GBST convolution of a byte front from its tables
/// (ops.h ByteTables). y [T, n] = requantize(acc, p), acc[t] = Σ_{j<k} tab[(j rows + r_tj) n ..
/// + n) (int32 rows), r_tj = ids[t - k + 1 + j] where t - k + 1 + j >= 0, else pad_row; tab is
/// [k, rows, n] and every id and pad_row is in [0, rows). The sums are exact int32, so every
/// path gives the bytes of the reference (the sums, then requantize_ref): the AVX-512 path
/// requantizes from registers as the VNNI GEMM's epilogue does, the AVX2 path sums 8 lanes at a
/// time into acc (scratch) and runs requantize_avx2.
/// The table row that tap j of position t reads (tap_sums_requant's indexing, shared by paths).
inline const int32_t* tap_row(const int32_t* tab, int64_t rows, int64_t k, int64_t n,
                              const int32_t* ids, int64_t t, int64_t j, int64_t pad_row) {
  const int64_t pos = t - k + 1 + j;
  return tab + (j * rows + (pos < 0 ? pad_row : ids[pos])) * n;
}
void tap_sums_requant_ref(const int32_t* tab, int64_t rows, int64_t k, int64_t n,
                          const int32_t* ids, int64_t T, int64_t pad_row, const RequantParams& p,
                          int8_t* y, std::vector<int32_t>& acc);
void tap_sums_requant_avx2(const int32_t* tab, int64_t rows, int64_t k, int64_t n,
                           const int32_t* ids, int64_t T, int64_t pad_row, const RequantParams& p,
                           int8_t* y, std::vector<int32_t>& acc);
void tap_sums_requant_avx512(const int32_t* tab, int64_t rows, int64_t k, int64_t n,
                             const int32_t* ids, int64_t T, int64_t pad_row, const RequantParams& p,
                             int8_t* y);
void tap_sums_requant(Isa isa, const int32_t* tab, int64_t rows, int64_t k, int64_t n,
                      const int32_t* ids, int64_t T, int64_t pad_row, const RequantParams& p,
                      int8_t* y, std::vector<int32_t>& acc);

/// One direction of a QRNN layer after its gate convolution (Bradbury et al. 2016), mirroring
/// src/train/layers.cc QrnnLayerImpl::direction in eval mode:
///   z = tanh_table[g_Z + 128] (scale 1/127), f = sigmoid_table[g_F + 128],
///   o = sigmoid_table[g_O + 128] (scale 1/255, zero point -128)
///   c = round((127 - f) z / 255)                          ((1 - f) z at scale 1/127; exact)
///   h_t = fl(fl(m_t · h_{t-1}) + c̃_t), m_t = fl((f + 128) · s255), c̃_t = fl(c · s127)
///         (the training graph's float recurrence, operation by operation; h_{-1} = 0)
///   q_h = clamp(nearbyint(fl(h_t · fl(1 / s127))), -128, 127)   (its fake quantizer)
///   y = round(q_h (o + 128) / 255)                        (h · o at scale 1/127; exact)
/// with s255 = float(1/255), s127 = float(1/127). g is [T, 3S] (Z | F | O per row); y[t * ldy + j]
/// for j < S. `state` holds S floats (scratch).
struct QrnnTables {
  std::array<int8_t, 256> tanh{}, sigmoid{};       // indexed by gate + 128
  std::array<int32_t, 256> tanh32{}, sigmoid32{};  // the same as int32 (gathers)
};
void qrnn_pool_ref(const int8_t* g, int64_t T, int64_t S, bool reverse, const QrnnTables& tab,
                   int8_t* y, int64_t ldy, float* state);
void qrnn_pool_avx2(const int8_t* g, int64_t T, int64_t S, bool reverse, const QrnnTables& tab,
                    int8_t* y, int64_t ldy, float* state);
/// AVX-512 with byte-permute table lookups (needs AVX-512 VBMI besides the avx512vnni path's
/// features; qrnn_pool_avx512_supported); the avx512vnni path uses it when available, else the
/// AVX2 kernel.
void qrnn_pool_avx512(const int8_t* g, int64_t T, int64_t S, bool reverse, const QrnnTables& tab,
                      int8_t* y, int64_t ldy, float* state);
bool qrnn_pool_avx512_supported();
void qrnn_pool(Isa isa, const int8_t* g, int64_t T, int64_t S, bool reverse, const QrnnTables& tab,
               int8_t* y, int64_t ldy, float* state);

/// The add op's kernel (ops.h add): y = clamp(rne(fl(fl((a - za) sa) + fl((b - zb) sb)) *
/// inv_out) + z_out) in IEEE single precision; the AVX2 path is bit-identical.
void add_ref(const int8_t* a, float sa, int32_t za, const int8_t* b, float sb, int32_t zb,
             int64_t n, float inv_out, int32_t z_out, int8_t* y);
void add_avx2(const int8_t* a, float sa, int32_t za, const int8_t* b, float sb, int32_t zb,
              int64_t n, float inv_out, int32_t z_out, int8_t* y);
/// One row of layer normalization after its statistics: y_c = clamp(z_out + rne(((x_c - z) -
/// mean) a gamma_s[c] + beta_s[c])) in double; the AVX2 path is bit-identical.
void layer_norm_row_ref(const int8_t* x, int64_t D, int32_t z, double mean, double a,
                        const double* gamma_s, const double* beta_s, int32_t z_out, int8_t* y);
void layer_norm_row_avx2(const int8_t* x, int64_t D, int32_t z, double mean, double a,
                         const double* gamma_s, const double* beta_s, int32_t z_out, int8_t* y);

/// The float constants of the fixed ranges, built as the training code builds them
/// (double 1/255 and 1/127 rounded to float, as torch's fake quantizer receives them).
inline float unit_scale() { return static_cast<float>(1.0 / 255.0); }
inline float signed_unit_scale() { return static_cast<float>(1.0 / 127.0); }

/// round(n / 255) for |n| <= 255 * 128. 255 is odd, so n / 255 is never halfway between two
/// integers: rounding half away from zero equals every round-to-nearest rule.
inline int32_t round_div255(int32_t n) { return n >= 0 ? (n + 127) / 255 : -((-n + 127) / 255); }

/// One channel of one step of qrnn_pool_ref (shared by every path for tails).
inline int8_t qrnn_step(int32_t gz, int32_t gf, int32_t go, const QrnnTables& tab, float* state) {
  const int32_t z = tab.tanh[gz + 128];
  const int32_t f = tab.sigmoid[gf + 128];
  const int32_t o = tab.sigmoid[go + 128];
  const int32_t c = round_div255((127 - f) * z);
  const float m = static_cast<float>(f + 128) * unit_scale();
  const float cf = static_cast<float>(c) * signed_unit_scale();
  const float prod = m * *state;
  const float h = prod + cf;
  *state = h;
  const float inv127 = 1.0f / signed_unit_scale();
  const float r = __builtin_nearbyintf(h * inv127);
  const int32_t qh = r < -128.0f ? -128 : (r > 127.0f ? 127 : static_cast<int32_t>(r));
  return static_cast<int8_t>(round_div255(qh * (o + 128)));
}

}  // namespace bytelite::rt
