// The training half of the encoder registry: one unit per encoder kind (the kinds themselves are
// listed once in include/bytelite/encoder_kinds.h). A unit holds everything kind-specific that
// training and export do: the cross-key checks of its config keys, the libtorch module (built
// into ByteClassifierImpl, with the tensor names checkpoints store), the encoder forward, its
// output width and stride, and the writer of its model-file tables. Classifiers, pretraining
// (train/pretrain.h) and seq2seq (train/seq2seq.h) all compose the same encoder module
// (ByteClassifier; num_labels 0 for an encoder alone) and reach the kind only through
// train_encoder_unit(). docs/architecture.md "Adding an encoder" says what to add for a new kind.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bytelite/encoder_kinds.h"
#include "bytelite_model_generated.h"
#include "train/config.h"

namespace bytelite {

class ByteClassifierImpl;
class FbWriter;

/// The tables an encoder wrote into a model file's FlatBuffers builder (format v2): its member
/// of the `EncoderTables` union (config and tensors), for `Model.encoder`.
struct WrittenEncoder {
  fb::QuantParams out_q;  // the encoder output's activation params (pooling / key-value input)
  fb::EncoderTables type = fb::EncoderTables::NONE;
  flatbuffers::Offset<void> tables;
};

/// The schema's enum value of a kind (the same numbers as EncoderKind).
fb::EncoderKind schema_kind(EncoderKind kind);

/// Pooling and head written on the encoder output params (classifier export), or nothing
/// (seq2seq and a null function: the encoder tables then hold no pool or head).
using PoolHeadWriter =
    std::function<std::pair<flatbuffers::Offset<fb::AttentionPool>, flatbuffers::Offset<fb::Dense>>(
        const fb::QuantParams& encoder_out)>;

/// A config check failure: (key such as "model.pool_windows", what was expected, what was found).
/// Throws (ConfigError); never returns.
using ConfigFail =
    std::function<void(const std::string& key, const std::string& expected, const nlohmann::json&)>;

/// One encoder kind's training unit.
struct TrainEncoderUnit {
  const EncoderKindInfo* kind;
  /// The "model" keys this kind reads besides the shared ones (encoder, embedding_size,
  /// bottleneck_size, gbst_*, dropout): compared between a pretrained checkpoint and a
  /// fine-tuning config.
  std::vector<std::string> keys;
  /// Cross-key checks of the "model" section (`section` is its JSON object, for messages).
  void (*check)(const ModelConfig& mc, const nlohmann::json& section, const ConfigFail& fail);
  /// Registers the encoder's parameters and modules in m (embedding through the last layer).
  void (*build)(ByteClassifierImpl& m);
  /// ids [B, L] int64, mask [B, L] float -> (h [B, T', width], mask [B, T']).
  std::pair<torch::Tensor, torch::Tensor> (*encode)(ByteClassifierImpl& m, const torch::Tensor& ids,
                                                    const torch::Tensor& mask);
  /// Width of the encoder output.
  int64_t (*width)(const ModelConfig& mc);
  /// Input bytes per output position.
  int64_t (*bytes_per_position)(const ModelConfig& mc);
  /// Value written at padded positions before max pooling (below every valid output).
  double max_pool_fill;
  /// Writes the encoder's tensors (src/train/fb_writer.h arithmetic), then pooling and head
  /// through pool_head (if not null), then its config table, as its member of the schema's
  /// `EncoderTables` union.
  WrittenEncoder (*write)(FbWriter& w, const ByteClassifierImpl& m,
                          const PoolHeadWriter& pool_head);
};

/// The unit of a kind.
const TrainEncoderUnit& train_encoder_unit(EncoderKind kind);
/// The unit of mc.encoder. Throws ConfigError ("model.encoder: expected ..., found ...") for a
/// name that is not in the list.
const TrainEncoderUnit& train_encoder_unit(const ModelConfig& mc);
/// The kind of mc.encoder (train_encoder_unit(mc).kind).
const EncoderKindInfo& encoder_kind(const ModelConfig& mc);

}  // namespace bytelite
