// Value ranges of the model hyperparameters, shared by the two halves: the training config
// declares each key with these bounds (src/train/config.cc) and the model-file loader checks a
// file's hyperparameters against the same ones (src/runtime/model.cc and the encoder units,
// src/runtime/encoders/). So every file the trainer can write loads, and the loader rejects what no config can ask for. Plain constants; no
// dependencies.
#pragma once

namespace bytelite::limits {

inline constexpr int kMaxLength = 1 << 20;        // tokenizer.max_length, bytes per text
inline constexpr int kMaxWidth = 4096;            // embedding, bottleneck, QRNN state, seq2seq dim
inline constexpr int kMaxIntermediate = 16384;    // Transformer feed-forward width
inline constexpr int kMaxGbstBlockWidth = 16;     // GBST block widths 1..this
inline constexpr int kMaxKernel = 63;             // GBST and QRNN convolution widths
inline constexpr int kMaxDownsample = 16;         // GBST mean-pool rate
inline constexpr int kMaxQrnnLayers = 16;         // bidirectional QRNN layers
inline constexpr int kMaxTransformerLayers = 32;  // encoder / decoder layers
inline constexpr int kMaxHeads = 64;              // attention heads
inline constexpr int kMaxPoolWindow = 16;         // funnel query mean-pool window
inline constexpr int kMaxPositions = 1 << 16;     // seq2seq position-table rows
inline constexpr int kMaxBeam = 1024;             // beam search width

}  // namespace bytelite::limits
