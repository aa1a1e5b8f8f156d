// Writing trained QAT layers into the FlatBuffers payload of a model file
// (schema/bytelite_model.fbs). Shared by the classifier export (train/export.h) and the
// seq2seq export (train/seq2seq_export.h); the conventions are those of train/export.h:
//  - weights: batch normalization folded, quantized per output channel exactly as
//    fake_quant_weight does (symmetric, q in [-127, 127], q = nearbyint(w * (1.0f / scale)));
//  - biases: int32 round_half_even(b / (s_x * scale_c) * 2^bias_shift), with bias_shift (0..16)
//    extra fractional bits as large as keeps every bias below 2^29;
//  - tables (embeddings, positions) quantized with their activation quantizer's params;
//  - activation params from every ActQuant's range (float scale, as the fake quantizer);
//  - exp tables round(2^30 exp(-s d)) for the integer softmaxes.
// Every failure is a ModelFileError "<source>: cannot export: <what>".
#pragma once

#include <flatbuffers/flatbuffers.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bytelite_model_generated.h"
#include "train/classifier_model.h"
#include "train/fake_quant.h"
#include "train/layers.h"

namespace bytelite {

class FbWriter {
 public:
  explicit FbWriter(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& msg) const;

  /// Activation params of an observed ActQuant. Throws if its range was never observed.
  fb::QuantParams act(const ActQuant& a, const std::string& name) const;
  /// y = act(x · Wᵀ + b): W [N, K] float, b [N], quantized as fake_quant_weight.
  flatbuffers::Offset<fb::Dense> dense(const torch::Tensor& weight, const torch::Tensor& bias,
                                       bool relu, const fb::QuantParams& in,
                                       const fb::QuantParams& out, const std::string& name);
  /// A QDense (batch norm folded).
  flatbuffers::Offset<fb::Dense> dense(const QDense& d, const fb::QuantParams& in,
                                       const fb::QuantParams& out, const std::string& name);
  /// round(2^30 exp(-s d)) for d = 0..255.
  flatbuffers::Offset<flatbuffers::Vector<uint32_t>> exp_table(float scale);
  /// A table [rows, dim] quantized with q exactly as the fake quantizer does.
  flatbuffers::Offset<fb::Embedding> table(const torch::Tensor& t, const fb::QuantParams& q);
  flatbuffers::Offset<fb::LayerNorm> layer_norm(const LayerNorm& n, const std::string& name);
  /// GBST from input params in_q; *mix_q receives its output params.
  flatbuffers::Offset<fb::Gbst> gbst(const Gbst& g, const fb::QuantParams& in_q,
                                     fb::QuantParams* mix_q);
  /// A post-LN Transformer (or funnel) encoder layer on input params in_q with attention logits
  /// scaled by `factor`; *out_q receives its output params (norm2's).
  flatbuffers::Offset<fb::TransformerLayer> transformer_layer(const TransformerLayerImpl& l,
                                                              const fb::QuantParams& in_q,
                                                              float factor, const std::string& name,
                                                              fb::QuantParams* out_q);

  /// The parts of a classifier's QRNN encoder (fb::ByteQrnn without pool and head).
  struct QrnnEncoder {
    flatbuffers::Offset<fb::Embedding> embedding;
    flatbuffers::Offset<fb::Dense> bottleneck;
    flatbuffers::Offset<fb::Gbst> gbst;
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::QrnnLayer>>> qrnn;
    fb::QuantParams out_q;  // the encoder output's params (the QRNN state's fixed [-1, 1])
  };
  /// Writes the QRNN encoder of m (model.encoder "qrnn"): embedding, bottleneck, GBST, QRNN
  /// layers (gate nonlinearities as tables), in this order.
  QrnnEncoder qrnn_encoder(const ByteClassifierImpl& m);

  /// The parts of a pQRNN encoder (fb::Pqrnn without pool and head).
  struct PqrnnEncoder {
    flatbuffers::Offset<fb::Dense> bottleneck;  // input params (1, 0): the projection values
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::QrnnLayer>>> qrnn;
    fb::QuantParams out_q;  // the QRNN state's fixed [-1, 1]
  };
  /// Writes the pQRNN encoder of m (model.encoder "pqrnn"): bottleneck, QRNN layers.
  PqrnnEncoder pqrnn_encoder(const ByteClassifierImpl& m);

  /// The parts of a ByteQRNN with word projection (model.encoder "qrnn_proj").
  struct QrnnProjEncoder {
    QrnnEncoder qrnn;                     // its GBST reads params sum_q
    flatbuffers::Offset<fb::Dense> word;  // input params (1, 0): the projection values
    fb::QuantParams sum_q;                // bottleneck output + word vector, the GBST input
  };
  /// Writes the encoder of m (model.encoder "qrnn_proj"): embedding, bottleneck, word dense,
  /// GBST (on word_sum_quant's params), QRNN layers.
  QrnnProjEncoder qrnn_proj_encoder(const ByteClassifierImpl& m);

  /// The QRNN layers of m (m.qrnn) on input params `input` (gate nonlinearities as tables);
  /// *out_q receives the output params.
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::QrnnLayer>>> qrnn_layers(
      const ByteClassifierImpl& m, const fb::QuantParams& input, fb::QuantParams* out_q);

  /// The parts of a classifier's Transformer / funnel encoder (fb::ByteTransformer without pool
  /// and head).
  struct TransformerEncoder {
    flatbuffers::Offset<fb::Embedding> embedding, position;
    flatbuffers::Offset<fb::LayerNorm> embedding_norm;
    flatbuffers::Offset<fb::Dense> bottleneck;  // null when F == D
    flatbuffers::Offset<fb::Gbst> gbst;
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::TransformerLayer>>> layers;
    fb::QuantParams out_q;  // the last layer's output params
  };
  /// Writes the Transformer / funnel encoder of m: embedding, position, embedding norm,
  /// bottleneck, GBST, layers, in this order.
  TransformerEncoder transformer_encoder(const ByteClassifierImpl& m);

  /// Table of a bounded nonlinearity over the 256 int8 inputs with params `in`, computed with the
  /// libtorch function the training forward uses, quantized to `out` (int8 q, index q_in + 128).
  std::vector<int8_t> lut(const fb::QuantParams& in, const QuantParams& out,
                          torch::Tensor (*fn)(const torch::Tensor&));

  flatbuffers::FlatBufferBuilder& builder() { return b_; }
  /// int8 weights + embedding values + int32 biases + layer-norm floats written so far.
  int64_t params() const { return params_; }
  const std::string& source() const { return source_; }

 protected:
  std::string source_;
  flatbuffers::FlatBufferBuilder b_{1 << 16};
  int64_t params_ = 0;
};

}  // namespace bytelite
