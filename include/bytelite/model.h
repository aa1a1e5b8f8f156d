// Loading and inspecting bytelite int8 model files (libbytelite; no libtorch).
//
// A model file (docs/model_file.md) is a 32-byte header (magic "BYTELITE", format version,
// payload size, CRC-32 checksums) followed by a FlatBuffers payload (schema/bytelite_model.fbs)
// with the configuration, the labels, the decision thresholds, the tokenizer settings and the
// quantized tensors. Model::load memory-maps the file and checks, in this order, before any
// tensor is read: the size, the magic, the format version, the header checksum, the payload
// size, the payload checksum, the FlatBuffers verifier, then every tensor's shape and every
// quantization parameter's range. Any failure is a ModelFileError whose one-line message names
// the file and what was expected and found, e.g.
//   "m.blt: format version: expected 1 (the newest this runtime reads), found 2 (written by a
//    newer bytelite; upgrade the runtime)".
// Loading never allocates more than a small multiple of the file size.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bytelite {

/// Version of the library (and of the bytelite command-line tool).
inline constexpr const char* kVersionString = "0.1.0";
/// Model-file format version this runtime writes; it reads versions 1..kModelFormatVersion.
/// Version 2 (encoder registry): the architecture as enums, the encoder as one union
/// (docs/model_file.md); version 1 files keep loading with the same outputs.
inline constexpr uint32_t kModelFormatVersion = 2;

/// Everything a model file says about itself (all of it is also printed by `bytelite info`).
struct ModelInfo {
  std::string path;                 // as given to Model::load ("<memory>" for from_bytes)
  uint32_t format_version = 0;      // header format version
  uint32_t checksum = 0;            // CRC-32 of the payload
  int64_t file_bytes = 0;           // size of the whole file
  std::string producer;             // e.g. "bytelite 0.1.0"
  std::string architecture;         // "byteqrnn" | "bytetransformer" | "bytefunnel" | "pqrnn" |
                                    // "byteqrnn_proj" |
                                    // "byteseq2seq"
                                    // (format v2 stores it as enums; the same strings here)
  std::string encoder;              // "qrnn" | "transformer" | "funnel" | "pqrnn" | "qrnn_proj"
  std::vector<std::string> labels;  // empty for seq2seq
  bool multilabel = false;          // sigmoid per label (true) or softmax over labels (false)
  std::vector<float> thresholds;  // decision thresholds chosen on validation data (see Prediction)
  std::string pooling;            // "attention" or "attention_max" ([attention; max] -> head)
  bool lowercase_ascii = false;   // tokenizer: bytes 'A'..'Z' become 'a'..'z' (ByteTokenizer)
  int32_t max_length = 0;         // tokenizer: texts are truncated to this many bytes
  std::string text_column;        // data column names the model was trained on (for `eval`)
  std::vector<std::string> label_columns;
  // Hyperparameters (src/train/config.h ModelConfig); GBST and sizes are shared, qrnn_* are 0
  // for the transformer encoders
  int32_t embedding_size = 0, bottleneck_size = 0, gbst_max_block_width = 0,
          gbst_conv_kernel_size = 0, gbst_downsample_rate = 0, qrnn_state_size = 0,
          qrnn_kernel_width = 0, qrnn_layers = 0;
  // ByteTransformer / ByteFunnelTransformer (model width D is bottleneck_size)
  int32_t transformer_layers = 0, num_heads = 0, intermediate_size = 0;
  std::vector<int32_t> pool_windows;  // per layer (1 = no query pooling)
  std::string attention_scale;        // "sqrt" | "none"
  std::string layer_norm;             // "channel" | "scalar"
  // pQRNN (encoder "pqrnn"): the ternary projection's settings (src/runtime/ops/projection.h);
  // embedding_size and gbst_* are 0 (no byte embedding, no GBST), bottleneck_size and qrnn_* as
  // for ByteQRNN. ByteQRNN with word projection (encoder "qrnn_proj"): the settings of its word
  // projection, beside the ByteQRNN fields. All 0 / false for the other encoders.
  int32_t projection_feature_size = 0, projection_max_tokens = 0;
  bool projection_split_on_space = false, projection_lowercase = false, projection_add_bos = false,
       projection_add_eos = false;
  // Seq2seq ("byteseq2seq"; docs/seq2seq.md): max_length is the source limit in bytes; the
  // encoder is a ByteTransformer of transformer_layers layers of width bottleneck_size (encoder
  // "transformer"), or the classifier's encoder described by the fields above (encoder "qrnn" |
  // "funnel"); the decoder has width decoder_dimension, decoder_num_heads heads and feed-forward
  // size decoder_intermediate_size.
  int32_t decoder_dimension = 0;
  int32_t decoder_num_heads = 0;
  int32_t decoder_intermediate_size = 0;
  int32_t decoder_layers = 0;      // merged-attention decoder layers
  int32_t max_target = 0;          // output ids per hypothesis at most (EOS included)
  int32_t beam_size = 0;           // generation defaults stored at export
  float length_penalty = 0.0f;     // GNMT alpha
  int64_t parameter_count = 0;     // int8 weights + embedding values + int32 biases
  int64_t float_bytes = 0;         // the same network as float32 (4 bytes per parameter)
  int64_t trained_parameters = 0;  // float parameters of the training model (before folding)
  std::string source_checkpoint;   // checkpoint the file was exported from ("" if unknown)
  int64_t training_step = 0;       // optimizer step of that checkpoint

  /// True for sequence-to-sequence models (architecture "byteseq2seq": Seq2SeqGenerator),
  /// false for classifiers (Classifier).
  bool is_seq2seq() const { return architecture == "byteseq2seq"; }
};

namespace rt {
struct LoadedModel;
}

/// An immutable, validated model. Thread-safe: one Model can serve any number of Classifiers
/// and threads.
class Model {
 public:
  /// Memory-maps `path` and validates it (see above). Throws ModelFileError.
  static std::shared_ptr<const Model> load(const std::string& path);
  /// Validates a model file held in memory (copied into an aligned buffer). `name` is used in
  /// error messages. Throws ModelFileError.
  static std::shared_ptr<const Model> from_bytes(std::string_view bytes,
                                                 const std::string& name = "<memory>");

  const ModelInfo& info() const;
  /// Internal representation (src/runtime/models/classifier_net.h), for the CLI's profiler and
  /// tests.
  const rt::LoadedModel& impl() const { return *impl_; }

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

 private:
  explicit Model(std::unique_ptr<rt::LoadedModel> impl);
  std::unique_ptr<rt::LoadedModel> impl_;
};

}  // namespace bytelite
