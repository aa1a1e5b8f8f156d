// The names of the debug-trace taps of the classifier encoders, shared by both halves: the
// runtime's ops record their int8 outputs under them (OpContext::tap, rt::Trace; ops.h) and the
// training forward records its fake-quantized tensors under the same names (train/layers.h
// TorchTrace), so that the differential tests (tests/test_runtime_diff.cc,
// tests/test_runtime_diff_transformer.cc) compare the runtime against the training code's own
// trace. Header-only, standard library only (the runtime never links libtorch).
//
// Tap             tensor (one sequence)                 where
// embedding       [T, F] embedding rows                  runtime/models/classifier_net.cc
// embedding_norm  [T, F] LN(embedding + position)        (Transformer encoders)
// bottleneck      [T, Bn] bottleneck dense output
// projection      [W, Fp] ternary projection of the words (pQRNN, ByteQRNN+projection)
// word            [W, Bn] word vectors (ByteQRNN+projection: dense of the projection)
// word_sum        [T, Bn] bottleneck + word vector of each byte (ByteQRNN+projection)
// gbst.conv       [T, D] GBST convolution                runtime/ops/gbst.cc
// gbst.cand<b>    [ceil(T/b), D] block means of width b
// gbst.scores     [T, W] block scores, gbst.probs their softmax, gbst.mix [T, D] the mixture
// gbst.out        [T', D] after downsampling
// qrnn<i>.fwd.gates, qrnn<i>.bwd.gates  [T', 3S] gate convolutions; qrnn<i> [T', 2S] the layer
// layers<i>.pooled|query|key_value|context|output|norm1|ffn_out|norm2  a Transformer layer
// pool            [1, C] attention pooling; pool_concat [1, 2C]; logits [1, labels]
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bytelite::taps {

inline constexpr const char* kEmbedding = "embedding";
inline constexpr const char* kEmbeddingNorm = "embedding_norm";
inline constexpr const char* kBottleneck = "bottleneck";
inline constexpr const char* kProjection = "projection";
inline constexpr const char* kWord = "word";
inline constexpr const char* kWordSum = "word_sum";
inline constexpr const char* kGbstConv = "gbst.conv";
inline constexpr const char* kGbstScores = "gbst.scores";
inline constexpr const char* kGbstProbs = "gbst.probs";
inline constexpr const char* kGbstMix = "gbst.mix";
inline constexpr const char* kGbstOut = "gbst.out";
inline constexpr const char* kPool = "pool";
inline constexpr const char* kPoolLogits = "pool.logits";
inline constexpr const char* kPoolAlpha = "pool.alpha";
inline constexpr const char* kPoolConcat = "pool_concat";
inline constexpr const char* kLogits = "logits";

/// The GBST block means of width b (1-based).
inline std::string gbst_candidates(int64_t b) { return "gbst.cand" + std::to_string(b); }
/// QRNN layer i (0-based): its output.
inline std::string qrnn_layer(size_t i) { return "qrnn" + std::to_string(i); }
/// A direction of a QRNN layer (the runtime's qrnn_layer names its directions so).
inline std::string qrnn_direction(const std::string& layer, bool reverse) {
  return layer + (reverse ? ".bwd" : ".fwd");
}
/// The gate convolution of a QRNN direction.
inline std::string qrnn_gates(const std::string& direction) { return direction + ".gates"; }
/// Transformer layer i (0-based) of a classifier encoder.
inline std::string transformer_layer(size_t i) { return "layers" + std::to_string(i); }
/// A tensor of a Transformer layer: part is one of the k* names below.
inline std::string layer_tap(const std::string& layer, const char* part) {
  return layer + "." + part;
}
inline constexpr const char* kPooled = "pooled";  // funnel: the mean-pooled queries
inline constexpr const char* kQuery = "query";
inline constexpr const char* kKeyValue = "key_value";
inline constexpr const char* kContext = "context";
inline constexpr const char* kOutput = "output";
inline constexpr const char* kNorm1 = "norm1";
inline constexpr const char* kFfnOut = "ffn_out";
inline constexpr const char* kNorm2 = "norm2";

}  // namespace bytelite::taps
