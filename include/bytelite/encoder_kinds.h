// The one list of encoder kinds, shared by both halves (runtime and training), the core
// library and the CLI. Header-only, standard library only.
//
// Each kind is a registered unit (docs/architecture.md "Adding an encoder"): its config keys
// (src/train/config.cc), libtorch module, checks and writer (src/train/encoder_registry.cc), its
// tables in the model file (schema/bytelite_model.fbs) and its loader, forward and stored keys in
// the runtime (src/runtime/encoders/<kind>.cc, listed in src/runtime/encoders/registry.cc). Code
// outside those units asks this list (by EncoderKind or its traits) instead of comparing encoder
// names.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bytelite {

/// The encoder kinds, in the order of kEncoderKinds.
enum class EncoderKind : int {
  kQrnn = 0,
  kTransformer = 1,
  kFunnel = 2,
  kPqrnn = 3,
  kQrnnProj = 4
};

/// What the rest of the code may know about an encoder kind.
struct EncoderKindInfo {
  EncoderKind kind;
  /// The config value (model.encoder, seq2seq.encoder) and ModelInfo::encoder, e.g. "qrnn".
  const char* name;
  /// The architecture of a classifier model file with this encoder, e.g. "byteqrnn".
  const char* architecture;
  /// The model's name in messages, e.g. "ByteQRNN".
  const char* display;
  /// Transformer family: a learned position embedding of max_length rows (so texts and
  /// pretraining sequences are limited by tokenizer.max_length), attention heads and layer norms;
  /// stored as `ByteTransformer` + `TransformerConfig`. false: stored as `ByteQrnn` +
  /// `ByteQrnnConfig`.
  bool attention;
  /// Per-layer query mean-pooling windows (model.pool_windows, one per layer).
  bool pool_windows;
  /// As seq2seq.encoder: configured by the seq2seq section (width seq2seq.dim, no bottleneck,
  /// seq2seq.encoder_layers, seq2seq.gbst_*; the seq2seq default) instead of the "model"
  /// section; its model file stores no encoder name or encoder config table (format v1).
  bool seq2seq_section;
  /// Projection input (PRADO / pQRNN, SeqFlowLite spec §1.5, §2.11): the encoder reads the
  /// ternary projection of the text's hashed tokens (src/runtime/ops/projection.h), recomputed
  /// from the byte ids, instead of a byte embedding and GBST; its output positions are tokens,
  /// not byte blocks, so it cannot be pretrained with byte masked-language modelling or serve as
  /// a seq2seq encoder; stored as `PqrnnEncoder`.
  bool projection;
  /// Byte input plus word projection ("qrnn_proj"): the ByteQRNN's byte path (embedding,
  /// bottleneck, GBST, QRNN layers, output positions are byte blocks) whose GBST input also
  /// carries, at each byte, a dense layer of the ternary projection of the word the byte belongs
  /// to (rt::byte_token_map, src/runtime/ops/projection.h); no seq2seq use; stored as
  /// `QrnnProjEncoder`.
  bool word_projection;
};

/// The list, indexed by static_cast<int>(EncoderKind).
inline constexpr EncoderKindInfo kEncoderKinds[] = {
    {EncoderKind::kQrnn, "qrnn", "byteqrnn", "ByteQRNN", false, false, false, false, false},
    {EncoderKind::kTransformer, "transformer", "bytetransformer", "ByteTransformer", true, false,
     true, false, false},
    {EncoderKind::kFunnel, "funnel", "bytefunnel", "ByteFunnelTransformer", true, true, false,
     false, false},
    {EncoderKind::kPqrnn, "pqrnn", "pqrnn", "pQRNN", false, false, false, true, false},
    {EncoderKind::kQrnnProj, "qrnn_proj", "byteqrnn_proj", "ByteQRNN+projection", false, false,
     false, false, true},
};
inline constexpr size_t kNumEncoderKinds = sizeof(kEncoderKinds) / sizeof(kEncoderKinds[0]);

/// The entry of a kind.
inline const EncoderKindInfo& encoder_kind_info(EncoderKind k) {
  return kEncoderKinds[static_cast<int>(k)];
}

/// The entry whose config name is `name` ("qrnn", ...), or nullptr for an unknown name.
inline const EncoderKindInfo* find_encoder_kind(std::string_view name) {
  for (const EncoderKindInfo& e : kEncoderKinds)
    if (name == e.name) return &e;
  return nullptr;
}

/// The entry whose classifier architecture is `architecture` ("byteqrnn", ...), or nullptr.
inline const EncoderKindInfo* find_encoder_architecture(std::string_view architecture) {
  for (const EncoderKindInfo& e : kEncoderKinds)
    if (architecture == e.architecture) return &e;
  return nullptr;
}

/// The display name of the kind named `name` ("ByteQRNN" for "qrnn"), or `fallback` for an
/// unknown name.
inline const char* encoder_display(std::string_view name, const char* fallback = "unknown") {
  const EncoderKindInfo* k = find_encoder_kind(name);
  return k != nullptr ? k->display : fallback;
}

/// The kind configured by the seq2seq section (seq2seq_section; the seq2seq default).
inline const EncoderKindInfo& seq2seq_section_encoder() {
  for (const EncoderKindInfo& e : kEncoderKinds)
    if (e.seq2seq_section) return e;
  return kEncoderKinds[0];  // not reached: one kind has the trait
}

/// The config names, quoted and joined for messages: "\"qrnn\", \"transformer\", ... or \"pqrnn\"".
inline std::string encoder_kind_names_quoted() {
  std::string s;
  for (size_t i = 0; i < kNumEncoderKinds; ++i) {
    if (i > 0) s += i + 1 == kNumEncoderKinds ? " or " : ", ";
    s += std::string("\"") + kEncoderKinds[i].name + "\"";
  }
  return s;
}

}  // namespace bytelite
