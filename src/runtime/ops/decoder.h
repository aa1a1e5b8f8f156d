// Int8 sequence-to-sequence decoding (docs/seq2seq.md; SeqFlowLite spec §3.3, §3.4):
//  - the encoder of src/train/seq2seq.h (embedding + position, layer norm, GBST, Transformer
//    layers) on the runtime ops;
//  - the merged-attention (MAtt) decoder step with a fixed-size cache: per layer one running sum
//    [beam, D] of the uniform-attention values, reordered by the parent beam at every step, and
//    the keys/values of the encoder output computed once per source. The per-step cost does not
//    depend on the step index;
//  - a baseline decoder step with causal multi-head self-attention and a growing key/value cache
//    (a standard Transformer decoder layer: self-attention, cross-attention, feed-forward), for
//    the comparison of docs/seq2seq.md;
//  - MattBeamDecoder, the bytelite::BeamDecoder adapter that runs the quantized beam search on
//    the int8 MAtt decoder.
// The layer structs are filled from a trained QAT model by src/train/seq2seq_export.h, or with
// random weights (benchmarks).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "bytelite/beam_search.h"
#include "runtime/ops/ops.h"

namespace bytelite::rt {

/// Owned int8 buffers that prepared layers point into (PackedMatrix::w is not owned).
using Int8Storage = std::vector<std::shared_ptr<const std::vector<int8_t>>>;

/// A dense layer from raw parts: W [n, k] int8 in [-127, 127] (must outlive the layer),
/// per-channel weight scales [n], int32 biases [n] in units of s_in * scale_j * 2^-bias_shift,
/// optional ReLU; the same requantization as a dense layer of a model file (ops.h DenseLayer).
/// Throws InvalidArgument if a multiplier or a bias does not fit.
DenseLayer make_dense_layer(const int8_t* w, int64_t n, int64_t k, const float* weight_scale,
                            const int32_t* bias, int bias_shift, bool relu, QParams in,
                            QParams out);
/// round(2^30 exp(-scale d)) for d = 0..255 (the integer softmax table of logits at `scale`).
std::array<uint32_t, 256> make_exp_table(float scale);
/// Multi-head attention params: queries at q, keys/values at kv, logits scaled by factor.
AttentionLayer make_attention_layer(int32_t heads, double logit_factor, QParams q, QParams kv,
                                    QParams logits, QParams context);
/// Layer norm from float gamma/beta [D].
LayerNormLayer make_layer_norm_layer(const float* gamma, const float* beta, int64_t D, QParams in,
                                     QParams out, double epsilon = 1e-6);

/// The source side of a cross-attention, prepared once per source: per head the keys [S, dh]
/// and the transposed values [dh, S] packed for the GEMM kernels, their zero-point corrections
/// and the requantization params. cross_attention then gives exactly (bit for bit) what
/// ops.h attention() computes for the same queries, keys and values, without re-packing the
/// source at every decoder step.
struct CrossMemory {
  int64_t S = 0, D = 0, heads = 0;
  QParams q, kv;
  std::vector<std::vector<int8_t>> kh, vt;         // per head (the packed matrices point here)
  std::vector<PackedMatrix> keys, values;          // per head
  std::vector<std::vector<int32_t>> kcorr, vcorr;  // per head [S], [dh]
  RequantParams rq_logits, rq_context;
  CrossMemory() = default;
  CrossMemory(const CrossMemory&) = delete;  // the packed matrices point into kh / vt
  CrossMemory& operator=(const CrossMemory&) = delete;
  CrossMemory(CrossMemory&&) = default;
  CrossMemory& operator=(CrossMemory&&) = default;
};
/// kv [S, 2D] (keys | values at kv_params) for queries at q_params.
void prepare_cross_memory(Isa isa, const AttentionLayer& l, QParams q_params, const int8_t* kv,
                          QParams kv_params, int64_t S, int64_t D, CrossMemory& m);
/// q [Tq, D] -> y [Tq, D] at l.context; m prepared with the same layer (and c.isa).
void cross_attention(const OpContext& c, const AttentionLayer& l, const CrossMemory& m,
                     const int8_t* q, int64_t Tq, int8_t* y);

/// Embedding table [rows, dim] quantized with params q.
struct EmbeddingRt {
  int64_t rows = 0, dim = 0;
  const int8_t* table = nullptr;
  QParams q;
};

struct ClassifierNet;  // runtime/models/classifier_net.h

/// The encoder (src/train/seq2seq.h ByteSeq2SeqImpl::encode): the built-in Transformer encoder,
/// or (classifier set) a classifier's QRNN / funnel encoder run by classifier_encode.
struct Seq2SeqEncoderRt {
  int64_t dim = 0;  // output width (D, or the classifier encoder's E)
  EmbeddingRt embedding, position;
  LayerNormLayer norm;
  GbstLayer gbst;
  std::vector<TransformerLayerRt> layers;
  QParams out;  // params of the output (last layer's norm2.out, or gbst.mix)
  std::shared_ptr<const ClassifierNet> classifier;  // encoder "qrnn" | "funnel" (else null)
  int64_t max_source = 0;                           // longest source (ids) the encoder accepts
};

/// One MAtt decoder layer (src/train/seq2seq.h MattDecoderLayerImpl).
struct MattLayerRt {
  DenseLayer uniform, query, key_value, output, ffn_in, ffn_out;
  QParams average;  // params of the cumulative average (average_quant)
  QParams merge;    // params of average + context (merge_quant)
  AttentionLayer attn;
  LayerNormLayer norm1, norm2;
};

/// The MAtt decoder: tied embedding (input table, and the int8 weight of the logits layer).
struct MattDecoderRt {
  int64_t dim = 0, vocab = 0;
  EmbeddingRt embedding, position;  // position: rows = the maximum number of steps
  LayerNormLayer norm;
  std::vector<MattLayerRt> layers;
  DenseLayer logits;  // D -> vocab
};

/// A whole seq2seq model with the buffers its layers point into.
struct Seq2SeqNet {
  Seq2SeqEncoderRt encoder;
  MattDecoderRt decoder;
  Int8Storage storage;
};

/// Scratch of the encoder (one per thread): the ops' scratch (for the OpContext) and the two
/// activation buffers.
struct EncoderScratch {
  OpScratch ops;
  std::vector<int8_t> a, b;
};
/// ids [T] (T >= 1, T <= enc.max_source) -> out [T', enc.dim] at enc.out; returns T'. Runs on
/// c (normally OpContext{isa, s.ops, trace, profile}), activations in s.a / s.b. Taps (built-in
/// encoder) encoder.embedding_norm, gbst.*, encoder<i>.*; a classifier encoder taps as
/// classifier_encode. Throws InvalidArgument for a length or id out of range.
int64_t seq2seq_encode(const OpContext& c, const Seq2SeqEncoderRt& enc, const int32_t* ids,
                       int64_t T, std::vector<int8_t>& out, EncoderScratch& s);

/// Step-by-step MAtt decoding of `beam` rows over one encoded source (spec §3.3, §3.4).
/// Memory per layer: the running sums [beam, D] (two buffers, swapped each step) and the
/// keys/values of the source [S, 2D]; nothing grows with the step index.
class MattDecoderSession {
 public:
  MattDecoderSession(const MattDecoderRt& dec, int32_t beam, Isa isa);
  /// Sets the source: enc_out [S, E] at q (E: the key/value layers' input width); computes every
  /// layer's keys and values once and resets the step counter (the next step is step 1).
  void set_memory(const int8_t* enc_out, int64_t S, QParams q);
  /// Step t = steps() + 1: ids [beam] are the inputs, parents [beam] in [0, beam) the slot each
  /// row continues (ignored at step 1, where every sum starts at zero). Returns the int8 logits
  /// [beam, vocab] at logits_params(), valid until the next call. Throws InvalidArgument for a
  /// parent or id out of range or a step beyond the position table.
  const int8_t* step(const int32_t* ids, const int32_t* parents);
  int32_t steps() const { return t_; }
  int32_t beam() const { return beam_; }
  /// Records the tensors of every following step (taps decoder.input, decoder<l>.uniform,
  /// .average, .query, .context, .output, .norm1, .ffn_out, .norm2, decoder.logits; appended
  /// once per step) and the wall time per op into the given objects (nullptr: off). They must
  /// outlive the session's steps.
  void set_trace(Trace* trace) { trace_ = trace; }
  void set_profile(Profile* profile) { profile_ = profile; }
  int32_t vocab() const { return static_cast<int32_t>(dec_.vocab); }
  QParams logits_params() const { return dec_.logits.out; }
  /// The running sum of layer l, row r (real values Σ_{s<=t} v_s), for tests.
  const double* running_sum(size_t l, int32_t r) const {
    return sums_[l].data() + static_cast<int64_t>(r) * dec_.dim;
  }

 private:
  const MattDecoderRt& dec_;
  int32_t beam_;
  Isa isa_;
  int32_t t_ = 0;
  int64_t S_ = 0;
  std::vector<std::vector<int8_t>> kv_;     // per layer [S, 2D]
  std::vector<CrossMemory> cross_;          // per layer, prepared from kv_
  std::vector<std::vector<double>> sums_;   // per layer [beam, D]
  std::vector<std::vector<double>> spare_;  // per layer [beam, D] (ping-pong)
  std::vector<int8_t> x_, y_, v_, sa_, q_, ctx_, u_, logits_;
  OpScratch ops_;
  Trace* trace_ = nullptr;
  Profile* profile_ = nullptr;
};

/// Throws InvalidArgument unless parents is not null and every parents[i], i < beam, is in
/// [0, beam) (the slot each beam row continues).
void check_parents(const int32_t* parents, int64_t beam);

/// The running-sum update of one layer (spec §3.3 UniformCausalAttn): for each row i,
/// next[i] = cur[parents[i]] + deq(v[i]) (cur is zero at t = 1), and
/// out[i] = quant(next[i] / t) at `out_q`. Throws InvalidArgument for t < 1 or (t > 1) a parent
/// outside [0, beam). The sum adds fl((q - z) s) terms in double, exactly as
/// the training graph's cumsum, so the average is the training graph's value bit for bit.
void uniform_causal_average(const int8_t* v, QParams vq, int64_t beam, int64_t D, int32_t t,
                            const int32_t* parents, const double* cur, double* next, QParams out_q,
                            int8_t* out);

/// Baseline: a standard post-LN Transformer decoder layer with a growing key/value cache.
struct BaselineLayerRt {
  DenseLayer self_query, self_kv, self_out, cross_query, cross_kv, cross_out, ffn_in, ffn_out;
  AttentionLayer self_attn, cross_attn;
  LayerNormLayer norm1, norm2, norm3;
};
struct BaselineDecoderRt {
  int64_t dim = 0, vocab = 0;
  EmbeddingRt embedding, position;
  LayerNormLayer norm;
  std::vector<BaselineLayerRt> layers;
  DenseLayer logits;
  Int8Storage storage;
};

/// Step-by-step decoding with causal self-attention over a key/value cache that grows by one
/// row per step and is reordered by the parent beams (a copy of t rows per beam and layer).
class BaselineDecoderSession {
 public:
  BaselineDecoderSession(const BaselineDecoderRt& dec, int32_t beam, Isa isa);
  void set_memory(const int8_t* enc_out, int64_t S, QParams q);
  const int8_t* step(const int32_t* ids, const int32_t* parents);
  int32_t steps() const { return t_; }

 private:
  const BaselineDecoderRt& dec_;
  int32_t beam_;
  Isa isa_;
  int32_t t_ = 0;
  int64_t S_ = 0;
  std::vector<std::vector<int8_t>> mem_kv_;               // per layer [S, 2D]
  std::vector<CrossMemory> cross_;                        // per layer
  std::vector<std::vector<int8_t>> cache_, cache_spare_;  // per layer [beam, max_steps, 2D]
  std::vector<int8_t> x_, y_, q_, kvrow_, ctx_, o_, u_, logits_;
  OpScratch ops_;
};

/// Random int8 decoders of the given shape (for benchmarks): weights uniform in [-127, 127]
/// with scales that keep activations in range, arbitrary but valid quantization params.
MattDecoderRt random_matt_decoder(int64_t dim, int64_t layers, int64_t heads, int64_t intermediate,
                                  int64_t max_steps, uint64_t seed, Int8Storage& storage);
BaselineDecoderRt random_baseline_decoder(int64_t dim, int64_t layers, int64_t heads,
                                          int64_t intermediate, int64_t max_steps, uint64_t seed);

/// bytelite::BeamDecoder on a MattDecoderSession (the session's beam must equal the search's
/// beam_size, its memory set). Returns the int8 logits of every slot.
class MattBeamDecoder : public BeamDecoder {
 public:
  explicit MattBeamDecoder(MattDecoderSession& session) : session_(session) {}
  StepScores decode(int32_t step, const std::vector<int32_t>& parent_beams,
                    const std::vector<int32_t>& input_ids) override;

 private:
  MattDecoderSession& session_;
};

/// Greedy decoding with a beam-1 session: from start_id, the argmax id (lowest id on ties) of
/// each step until eos_id (included) or max_len ids.
std::vector<int32_t> greedy_decode(MattDecoderSession& session, int32_t max_len,
                                   int32_t start_id = kPadId, int32_t eos_id = kEosId);

}  // namespace bytelite::rt
