// The classifiers of the runtime: their layers prepared from a model file and the int8 forward
// pass wiring the ops (src/runtime/ops/ops.h). Mirrors src/train/classifier_model.cc and the
// encoder units of src/train/encoder_registry.cc, e.g. for ByteQRNN: embedding -> bottleneck
// (dense, ReLU) -> GBST -> bidirectional QRNN layers -> attention pooling -> head (int8 logits)
// -> probabilities; for pQRNN: ternary projection of the text's tokens -> bottleneck -> QRNN
// layers -> pooling -> head.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bytelite/encoder_kinds.h"
#include "bytelite/model.h"
#include "runtime/ops/decoder.h"
#include "runtime/ops/ops.h"
#include "runtime/ops/projection.h"

namespace bytelite::rt {

/// Params of the projection values {-1, 0, +1} as int8 activations: exact (scale 1, zero 0).
inline constexpr QParams kProjectionParams{1.0f, 0};

/// The prepared layers of a classifier (or of a seq2seq model's encoder), filled by its encoder
/// kind's unit (src/runtime/encoders/) and the loader's pooling and head.
struct ClassifierNet {
  EncoderKind kind = EncoderKind::kQrnn;  // the encoder; its unit runs it (classifier_encode)
  bool transformer = false;  // ByteTransformer / ByteFunnelTransformer: a position embedding
  // pQRNN: the input is the ternary projection of the text the ids encode
  // (ternary_projection_of_ids with these settings; int8 values at kProjectionParams), which
  // the bottleneck reads; no embedding, no GBST.
  bool projection = false;
  ProjectionConfig projection_cfg;
  // ByteQRNN with word projection ("qrnn_proj"): the ternary projection of the text's words
  // (projection_cfg) -> word (dense) gives one word vector per word; the GBST input is
  // add(bottleneck output, the word vector of each byte's word, byte_token_map; zero point
  // outside words) at params word_sum_q.
  bool word_projection = false;
  DenseLayer word;
  QParams word_sum_q;
  int32_t vocab_size = 0, embedding_size = 0;
  const int8_t* embedding = nullptr;  // [vocab_size, embedding_size], points into the file
  QParams embedding_q;
  // transformer front: + position [max_positions, F] (own params), layer norm of the sum
  int32_t max_positions = 0;
  const int8_t* position = nullptr;
  QParams position_q;
  LayerNormLayer embedding_norm;
  bool has_bottleneck = true;  // transformer: only when F != D
  DenseLayer bottleneck;
  GbstLayer gbst;
  // ByteQRNN (and qrnn_proj: rows only): embedding -> bottleneck [-> GBST conv] as lookup tables
  // (ops.h ByteTables), used on the optimized kernel paths when no trace is recorded.
  ByteTables byte_tables;
  std::vector<QrnnLayer> qrnn;
  std::vector<TransformerLayerRt> layers;
  AttentionPoolLayer pool;
  DenseLayer head;
  bool multilabel = false;
  std::array<float, 256> output_exp{}, output_sigmoid{};
};

/// A loaded, validated model: the file bytes (mapped or owned) and the prepared layers.
struct LoadedModel {
  ModelInfo info;
  std::shared_ptr<const void> storage;  // keeps the mapping / buffer alive
  ClassifierNet net;                    // classifiers
  std::unique_ptr<Seq2SeqNet> seq2seq;  // architecture "byteseq2seq" (tables point into storage)
};

/// Scratch memory of one forward pass (one per thread; buffers only grow).
struct Workspace {
  OpScratch ops;
  std::vector<int8_t> a, b;
  std::vector<int8_t> concat;  // pooling "attention_max": the head input [2C]
  std::vector<int64_t> lens;   // classifier_forward_batch: sequence lengths per layer
  std::vector<int8_t> pooled;  // classifier_forward_batch: pooled rows [N, C]
};

/// The encoder's output: [length, width] int8 at params q, in *buffer (one of the two buffers
/// passed to classifier_encode).
struct ClassifierEncoding {
  std::vector<int8_t>* buffer = nullptr;
  int64_t length = 0, width = 0;
  QParams q;
};
/// The encoder part of classifier_forward, run by the unit of m.kind
/// (src/runtime/encoders/encoder_unit.h): embedding [+ position, layer norm] -> bottleneck ->
/// GBST -> Transformer / funnel or QRNN layers (pQRNN: projection -> bottleneck -> QRNN
/// layers), on ids [T] (T >= 1, each in [0, vocab_size); transformer: T <= max_positions),
/// alternating between buffers a and b, on the kernel path, scratch, trace and profile of c.
/// Taps embedding, embedding_norm, projection, bottleneck, gbst.*, layers<i>.*, qrnn<i>.*
/// (docs/runtime.md). The output length is ceil(T / downsample) (byte encoders) or the
/// projection's token count (pQRNN).
ClassifierEncoding classifier_encode(const OpContext& c, const ClassifierNet& m, const int32_t* ids,
                                     int64_t T, std::vector<int8_t>& a, std::vector<int8_t>& b);

/// ids [T] (T >= 1, each in [0, vocab_size)) -> int8 logits [num_labels] (head.out params):
/// classifier_encode, then attention pooling and the head. c is normally
/// OpContext{isa, ws.ops, trace, profile}; activations live in ws. Adds the taps pool,
/// pool_concat and logits.
void classifier_forward(const OpContext& c, const ClassifierNet& m, const int32_t* ids, int64_t T,
                        Workspace& ws, int8_t* logits);

/// N texts in one forward pass (several texts per GEMM): ids holds the texts' ids back to back,
/// text i has lens[i] >= 1 ids (each in [0, vocab_size); transformer: <= max_positions);
/// logits [N, num_labels]. Row i equals classifier_forward on text i alone, bit for bit, on
/// every kernel path (ops.h gbst_batch, qrnn_layer_batch). Encoders whose unit has an
/// encode_batch (ByteQRNN: embedding, bottleneck, GBST, QRNN layers) and the head run batched
/// (attention pooling per text); the others (Transformer, pQRNN) run text by text. Records no taps
/// (c.trace is ignored).
void classifier_forward_batch(const OpContext& c, const ClassifierNet& m, const int32_t* ids,
                              const int64_t* lens, int64_t N, Workspace& ws, int8_t* logits);

}  // namespace bytelite::rt
