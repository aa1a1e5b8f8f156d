// The int8 ops of the runtime: one enum value per op (the name is the same in the training code,
// the model file and docs/runtime.md), the prepared layer structs built from a model file, and
// the op functions. Sequences are row-major int8 [T, C] (position t, channel c) with one
// QParams per tensor. There is no padding and no mask: an op processes one sequence, or (the
// batched ops, gbst_batch and qrnn_layer_batch) several sequences stored back to back, each with
// its own convolution padding. The arithmetic of every op is documented in docs/runtime.md; it
// mirrors the eval-mode QAT forward of src/train (each fake-quantization point there is a
// requantization point here).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/kernels/kernels.h"
#include "runtime/quant.h"

namespace bytelite::rt {

/// Scratch buffer of at least n elements (buffers only grow, so steady-state calls allocate
/// nothing); returns its data.
template <typename T>
T* grow(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

/// Requantization of n channels with one multiplier, zero point zp, no bias and the full int8
/// range (attention logits and context, GBST mixture, pooling sums).
inline RequantParams uniform_requant(int64_t n, Multiplier m, int32_t zp) {
  RequantParams rq;
  rq.n = n;
  rq.m0.assign(n, m.m0);
  rq.shift.assign(n, m.shift);
  rq.bias.assign(n, 0);
  rq.zp = zp;
  prepare_requant(rq);
  return rq;
}

// Every op of the runtime, encoder, classifier and decoder alike (docs/runtime.md "Ops"). The
// name table in ops.cc, the op harness's case table (tests/test_ops.cc) and docs/runtime.md
// follow this order; the static_asserts below and in ops.cc fail the build when an op is added
// without its name (as ggml's GGML_OP_COUNT assertions do).
enum class Op : int {
  kEmbedding = 0,     // byte id -> int8 row of the pre-quantized table
  kDense,             // x · Wᵀ + b, per-channel requantization, optional ReLU
  kConv,              // zero-point padded window (causal or reverse) + dense
  kBlockMean,         // GBST block candidates: mean over blocks of 1..W positions
  kBlockScore,        // GBST: dense dim -> 1 per block
  kWidthSoftmax,      // GBST: softmax over block widths (exp table)
  kGbstMix,           // GBST: score-weighted sum of the upsampled candidates
  kDownsample,        // GBST: mean over blocks of `rate` positions
  kQrnnPool,          // gate tables, c = (1 - f) z, fo-pooling h_t = f h_{t-1} + c, y = h o
  kAttentionSoftmax,  // attention pooling: masked softmax over positions (exp table)
  kAttentionSum,      // attention pooling: weighted sum over positions
  kProbabilities,     // softmax (single-label) or sigmoid (multi-label) of the int8 logits
  kAdd,               // residual / embedding sum, requantized (float, as the training graph)
  kLayerNorm,         // layer normalization of each position
  kAttention,         // multi-head self- and cross-attention: Q Kᵀ, softmax over keys, A V
  kQueryPool,         // funnel: mean over blocks of pool_window query positions
  kMaxConcat,         // pooling "attention_max": [pooled; max over positions], requantized
  kUniformAverage,    // MAtt decoder: running sum reordered by parent beam, cumulative average
  kCount
};
inline constexpr int kOpCount = static_cast<int>(Op::kCount);
static_assert(kOpCount == 18,
              "an op was added or removed: update kOpNames (ops.cc), the op "
              "harness cases (tests/test_ops.cc) and docs/runtime.md, then this");
const char* op_name(Op op);

/// Wall time per op (enabled when a Profile is passed to the forward).
struct Profile {
  std::array<double, kOpCount> seconds{};
  std::array<int64_t, kOpCount> calls{};
};

class OpTimer {
 public:
  OpTimer(Profile* p, Op op) : p_(p), op_(op) {
    if (p_ != nullptr) t0_ = std::chrono::steady_clock::now();
  }
  ~OpTimer() {
    if (p_ == nullptr) return;
    const int i = static_cast<int>(op_);
    p_->seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    p_->calls[i] += 1;
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  Profile* p_;
  Op op_;
  std::chrono::steady_clock::time_point t0_;
};

/// Intermediate tensors of one forward pass (for differential tests and debugging).
struct Trace {
  struct Entry {
    std::string name;
    int64_t rows = 0, cols = 0;
    QParams q;
    std::vector<int8_t> data;
  };
  std::vector<Entry> entries;
  void add(const std::string& name, const int8_t* data, int64_t rows, int64_t cols, QParams q);
  const Entry* find(const std::string& name) const;
};

/// Scratch buffers of the ops (one per thread; they only grow).
struct OpScratch {
  KernelScratch kernel;
  std::vector<int32_t> acc;
  std::vector<int8_t> pad, buf1, buf2, buf3, buf4, buf5;
  std::vector<int8_t> kh, vt, logits, probs, ctx;  // attention
  std::vector<int32_t> rowsum;
  RequantParams rq_logits, rq_context;
  PackedMatrix keys, values;
  std::vector<uint8_t> m, o;
  std::vector<float> state, fsum;
  std::vector<uint32_t> e;
  std::vector<double> den;    // width softmax: each probability's denominator
  std::vector<int64_t> offs;  // batched ops: per-sequence row offsets
};

/// The execution context of the ops, passed to every op that needs more than its inputs
/// (instead of trailing isa / scratch / trace / profile parameters): the kernel path (kernels.h
/// Isa; an op uses the best path its packed weights allow up to it), the scratch buffers (one
/// context per thread), and optionally a Trace that records the op outputs (tap names in
/// docs/runtime.md) and a Profile that accumulates wall time per Op. Classifier and seq2seq
/// forwards alike take one.
struct OpContext {
  Isa isa = Isa::kReference;
  OpScratch& scratch;
  Trace* trace = nullptr;
  Profile* profile = nullptr;
  /// Records y [rows, cols] at q under `name` when tracing.
  void tap(const std::string& name, const int8_t* y, int64_t rows, int64_t cols, QParams q) const {
    if (trace != nullptr) trace->add(name, y, rows, cols, q);
  }
};

/// A dense layer y = act(x · Wᵀ + b) prepared for the kernels. With acc_j = Σ_i x_i w_ji over
/// the raw int8 x (kernels.h GEMM) and M_j = s_x s_w,j / s_y = m0_j 2^-shift_j, output channel j
/// is requantized (kernels.h RequantParams) as
///   q_y = clamp(z_y + floor((acc_j m0_j + B_j + 2^(shift_j - 1)) / 2^shift_j), lo, 127),
///   B_j = round(b_j m0_j 2^-bias_shift) - z_x (Σ_i w_ji) m0_j,
/// i.e. the bias and the input zero point in the same fixed-point units. ReLU is lo = z_y.
struct DenseLayer {
  PackedMatrix w;
  RequantParams rq;
  QParams in, out;
};

/// Embedding lookup: y [T, dim] = rows ids[t] of table [rows, dim] (already quantized; the
/// caller checks every id < rows).
void embedding(const int8_t* table, int64_t dim, const int32_t* ids, int64_t T, int8_t* y);

/// y[r] = dense(x[r]) for r < rows; row r of x starts at x + r * ldx (ldx < k for windows).
void dense(const OpContext& c, const DenseLayer& layer, const int8_t* x, int64_t rows, int64_t ldx,
           int8_t* y);

/// Copies x [T, C] into out [(before + T + after), C] with `before` and `after` rows of the
/// zero point (real 0: the zero padding of a convolution window).
void pad_rows(const int8_t* x, int64_t T, int64_t C, int64_t before, int64_t after, int32_t zp,
              std::vector<int8_t>& out);

/// Mean over blocks of `width` positions (the last block may be shorter), input and output
/// with the same params q: y_b = z + rne(fl(fl(Σ_t fl((x_t - z) s)) / n_b) · fl(1/s)), evaluated
/// in single precision exactly as the training graph does (sum in position order), so halfway
/// cases round as in training. x [T, C] -> y [ceil(T / width), C].
/// `sum` is scratch.
void block_mean(const int8_t* x, int64_t T, int64_t C, int64_t width, QParams q, int8_t* y,
                std::vector<float>& sum);
/// The same on a kernel path: the AVX2 and AVX-512 VNNI paths run the same code compiled for AVX2
/// (8 lanes, the same single-precision operation sequence per channel), bit-identical.
void block_mean(Isa isa, const int8_t* x, int64_t T, int64_t C, int64_t width, QParams q, int8_t* y,
                std::vector<float>& sum);

/// Softmax of int8 logits q[0..n) (scale s) to the fixed [0, 1] range (scale 1/255, zero point
/// -128) with exp_table[d] = round(2^30 exp(-s d)), d = max q - q:
/// p_i = rne(255 e_i / Σ e) - 128. Integer arithmetic only.
void softmax_u8(const int8_t* q, int64_t n, int64_t stride, const uint32_t* exp_table, int8_t* p,
                int64_t p_stride);

/// GBST (Charformer §2.1; layers.h GbstImpl).
struct GbstLayer {
  int32_t max_block_width = 4, conv_kernel = 5, downsample_rate = 2;
  DenseLayer conv, score;
  std::array<uint32_t, 256> score_exp{};
  QParams mix;
  RequantParams mix_rq;  // every channel: M = s_candidates / (255 s_mix), zero point z_mix
};
/// x [T, D] -> y [ceil(T / downsample_rate), D] (params gbst.mix). Returns the output length.
/// Taps gbst.conv, gbst.cand<w>, gbst.scores, gbst.probs, gbst.mix, gbst.out.
int64_t gbst(const OpContext& c, const GbstLayer& g, const int8_t* x, int64_t T, int8_t* y);

/// A byte front as lookup tables: an exact rewrite of embedding -> dense (the bottleneck) and,
/// when the GBST input is that dense layer's output, of the GBST convolution. Both are possible
/// because the vocabulary is small (kVocab = 259 ids): the bottleneck output of a position is a
/// function of its id alone, so it is one table row, and the convolution's int32 accumulator
/// of a window is a sum over its k taps of W_j · x (tap j's weight block times the row of the
/// id there), so it is the sum of k precomputed int32 rows, the same integers the GEMM adds up
/// in another order (integer addition is exact). The requantization that follows is the conv
/// layer's own. The tables are built once at load time with the reference kernels.
struct ByteTables {
  int64_t vocab = 0, dim = 0, kernel = 0;
  std::vector<int8_t> rows;  // [vocab, dim]: the bottleneck output of each id
  // [kernel, vocab + 1, dim]: taps[j][v][ch] = Σ_c W_conv[ch][j dim + c] rows[v][c]; v = vocab
  // is the zero-point padding row before the text. Empty when the conv is not tabulated.
  std::vector<int32_t> taps;
};
/// Builds t.rows from the embedding table [vocab, F] and the bottleneck (F -> D), and t.taps
/// when conv is given (a GBST conv over the bottleneck output: conv->w.k == kernel * D).
void build_byte_tables(const int8_t* embedding, int64_t vocab, int64_t F,
                       const DenseLayer& bottleneck, const GbstLayer* conv, ByteTables& t);
/// gbst() on ids [T] (each in [0, t.vocab)) through the tables (t.taps not empty): the same
/// output and taps, bit for bit, as gbst(c, g, bottleneck(embedding(ids)), T, y).
int64_t gbst_ids(const OpContext& c, const GbstLayer& g, const ByteTables& t, const int32_t* ids,
                 int64_t T, int8_t* y);

/// Batched ops (several sequences per GEMM). A batch of N sequences is stored packed, back to
/// back without padding: sequence i has lens[i] >= 1 rows starting at row Σ_{j<i} lens[j]. Each
/// sequence's output equals the one-sequence op's bit for bit: the convolutions run as one GEMM
/// over a buffer that holds every sequence with its own zero-point padding ([pad, x_0, pad, x_1,
/// ...]; the k - 1 rows of windows that straddle two sequences are computed and dropped), GEMM
/// rows and requantization are independent per row, and the per-sequence steps (block means,
/// softmaxes, the QRNN recurrence) run per sequence. Traces are not recorded (c.trace is
/// ignored); the profile is.
///
/// gbst over a batch: x [Σ lens, D] -> y [Σ out_lens, D], out_lens[i] = ceil(lens[i] / rate).
/// Returns Σ out_lens.
int64_t gbst_batch(const OpContext& c, const GbstLayer& g, const int8_t* x, const int64_t* lens,
                   int64_t N, int8_t* y, int64_t* out_lens);

/// One direction of a QRNN layer (layers.h QrnnLayerImpl): gate convolution, then
/// kernels.h qrnn_pool (gate tables, fo-pooling, output gate).
struct QrnnDirection {
  DenseLayer gates;
  QrnnTables tables;
};
struct QrnnLayer {
  int32_t kernel_width = 3, state_size = 0;
  QrnnDirection fwd, bwd;
};
/// x [T, C] -> y [T, 2S] (scale 1/127, zero point 0): [forward outputs, backward outputs].
/// Taps <name>.fwd.gates, <name>.bwd.gates and <name>.
void qrnn_layer(const OpContext& c, const QrnnLayer& l, const int8_t* x, int64_t T, int64_t C,
                int8_t* y, const std::string& name);

/// qrnn_layer over a batch (see gbst_batch): x [Σ lens, C] -> y [Σ lens, 2S].
void qrnn_layer_batch(const OpContext& c, const QrnnLayer& l, const int8_t* x, const int64_t* lens,
                      int64_t N, int64_t C, int8_t* y);

/// Attention pooling (layers.h AttentionPoolImpl).
struct AttentionPoolLayer {
  DenseLayer score;
  std::array<uint32_t, 256> score_exp{};
  QParams out;
  RequantParams sum_rq;  // every channel: M = s_x / (255 s_out), zero point z_out
  // pooling "attention_max": y = [attention pooling; max over time] at params `concat`
  bool max_pool = false;
  QParams concat;
  RequantParams pooled_to_concat;  // M = s_out / s_concat
  RequantParams max_to_concat;     // M = s_x / s_concat
};
/// x [T, D] -> y [D] (params pool.out).
/// Taps pool.logits and pool.alpha.
void attention_pool(const OpContext& c, const AttentionPoolLayer& p, const int8_t* x, int64_t T,
                    int64_t D, int8_t* y);

/// Pooling "attention_max": y [2D] = [pooled; max over t of x[t, :]], both requantized to
/// p.concat (x has the params p.score.in). Times Op::kMaxConcat, taps pool_concat.
void attention_max_concat(const OpContext& c, const AttentionPoolLayer& p, const int8_t* pooled,
                          const int8_t* x, int64_t T, int64_t D, int8_t* y);

/// Probabilities from int8 logits: softmax with exp_table[d] = exp(-s d) (d = max q - q), or
/// sigmoid_table[q + 128]; float division and summation in a fixed order (bit-reproducible).
void probabilities(const int8_t* logits, int64_t C, bool multilabel, const float* exp_table,
                   const float* sigmoid_table, float* p);

/// y = a + b requantized to `out`, mirroring the training graph's float arithmetic operation by
/// operation: fl(fl((qa - za) sa) + fl((qb - zb) sb)), times fl(1 / s_out), rounded half to
/// even, plus z_out, clamped. a, b, y: n int8 values.
/// The AVX2 path (kernels.h add_avx2) is bit-identical.
void add(Isa isa, const int8_t* a, QParams qa, const int8_t* b, QParams qb, int64_t n, QParams out,
         int8_t* y);

/// Layer normalization of each row (spec §2.4, §4.5; layers.h LayerNormImpl). Per row of D
/// values: S1 = Σ (q - z_in), S2 = Σ (q - z_in)² in int64, mean = S1 / D,
/// var = S2 / D - mean² (quantized units, double), a = s_in / sqrt(var s_in² + epsilon),
/// y_c = clamp(z_out + rne((q_c - z_in - mean) a gamma_c / s_out + beta_c / s_out)) in double.
/// (ε is in real units, as in training.)
struct LayerNormLayer {
  QParams in, out;
  std::vector<double> gamma_s, beta_s;  // [D]: gamma / s_out, beta / s_out (scalar broadcast)
  double epsilon = 1e-6;
};
/// The AVX2 path (kernels.h layer_norm_row_avx2) is bit-identical.
void layer_norm(Isa isa, const LayerNormLayer& l, const int8_t* x, int64_t T, int64_t D, int8_t* y);

/// Multi-head attention of Tq queries over S keys (spec §2.8, without masking: the runtime has
/// no padding). q [Tq, D] (params q_params), kv [S, 2D] (keys | values, params kv_params);
/// per head h of dh = D / H channels:
///   logits = requant(Σ_d (q - z_q)(k - z_k), s_q s_k factor / s_logits)   (GEMM)
///   a = softmax_u8(logits)                                                 (exp table)
///   ctx_h = requant(Σ_s (a + 128)(v - z_v), s_v / (255 s_ctx))             (GEMM)
/// y [Tq, D] = concatenated ctx_h at params `context`.
struct AttentionLayer {
  int32_t heads = 1;
  double logit_factor = 1.0;
  QParams logits, context;
  std::array<uint32_t, 256> logits_exp{};
  Multiplier logits_m, context_m;  // s_q s_k factor / s_logits, s_v / (255 s_ctx)
};
void attention(const OpContext& c, const AttentionLayer& l, const int8_t* q, QParams q_params,
               int64_t Tq, const int8_t* kv, QParams kv_params, int64_t S, int64_t D, int8_t* y);

/// One Transformer / Funnel-Transformer encoder layer (layers.h TransformerLayerImpl, post-LN):
/// h = block_mean(x, pool_window) (or x); q = query(h); kv = key_value(x); ctx = attention;
/// x1 = norm1(add(h, output(ctx))); x2 = norm2(add(x1, ffn_out(ffn_in(x1)))).
struct TransformerLayerRt {
  int32_t pool_window = 1;
  DenseLayer query, key_value, output, ffn_in, ffn_out;
  AttentionLayer attn;
  LayerNormLayer norm1, norm2;
};
/// x [T, D] at params in_q -> y [ceil(T / pool_window), D] at norm2.out. Returns the length.
/// Taps <name>.pooled (funnel), .query, .key_value, .context, .output, .norm1, .ffn_out, .norm2.
int64_t transformer_layer(const OpContext& c, const TransformerLayerRt& l, const int8_t* x,
                          int64_t T, int64_t D, QParams in_q, int8_t* y, const std::string& name);

}  // namespace bytelite::rt
