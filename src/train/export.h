// Export of a QAT checkpoint to the int8 model file run by libbytelite (docs/model_file.md).
//
// What the file holds is exactly what the eval-mode QAT forward computes with:
//  - dense and conv weights: batch normalization folded (QDense::folded()), then quantized per
//    output channel as fake_quant_weight does: symmetric, q in [-127, 127],
//    scale_c = max|W_c| / 127, q = clamp(nearbyint(w * (1.0f / scale_c))) in float, so
//    q * scale_c equals fake_quant_weight(W) bit for bit;
//  - biases: int32 round_half_even(b / (s_x * scale_c) * 2^bias_shift), with bias_shift (0..16)
//    extra fractional bits as large as keeps every bias below 2^29;
//  - the embedding table quantized with the embedding ActQuant's params (deviation 13);
//  - activation params of every ActQuant: quant_params_from_range of its range buffer, with the
//    scale as float (what torch::fake_quantize_per_tensor_affine uses);
//  - tables of the bounded nonlinearities, computed here with the same libtorch functions
//    (tanh, sigmoid) on every int8 input value, and exp tables for the integer softmaxes;
// so the runtime never evaluates a transcendental function (bit-reproducible on every CPU).
#pragma once

#include <cstdint>
#include <string>

#include "train/checkpoint.h"

namespace bytelite {

struct ExportSummary {
  std::string path;
  int64_t model_bytes = 0;      // size of the written file
  int64_t parameter_count = 0;  // int8 weights + embedding values + int32 biases
  int64_t float_bytes = 0;      // the same network as float32 (4 * parameter_count)
};

/// The complete model file (header + FlatBuffers payload). `source_checkpoint` is recorded in
/// the file (bench uses it to find the float model). Throws ModelFileError if the checkpoint
/// was trained without QAT (its activation ranges were never observed) or a value does not fit.
std::string export_model_bytes(const LoadedCheckpoint& lc, const std::string& source_checkpoint);

/// Writes export_model_bytes atomically to out_path.
ExportSummary export_model(const LoadedCheckpoint& lc, const std::string& source_checkpoint,
                           const std::string& out_path);

/// Loads a checkpoint file (or DIR/best.ckpt) and exports it.
ExportSummary export_checkpoint(const std::string& checkpoint, const std::string& out_path);

}  // namespace bytelite
