// The runtime half of the encoder registry (docs/architecture.md "Adding an encoder"): one
// RuntimeEncoderUnit per kind of kEncoderKinds (include/bytelite/encoder_kinds.h), each in its
// own file of this folder (its loader and its int8 forward), listed in one table
// (registry.cc, kept complete against kEncoderKinds by a static_assert). The model loader
// (src/runtime/model.cc) and the forward passes (src/runtime/models/classifier_net.cc,
// ops/decoder.cc for seq2seq encoders) reach an encoder only through its unit. The training
// half's mirror is TrainEncoderUnit (src/train/encoder_registry.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bytelite/encoder_kinds.h"
#include "bytelite/model.h"
#include "bytelite_model_generated.h"
#include "runtime/encoders/stored_keys.h"
#include "runtime/models/classifier_net.h"

namespace bytelite::rt {

class Loader;

/// What a unit's loader reports about the encoder it loaded into a ClassifierNet.
struct LoadedEncoder {
  int64_t width = 0;   // output width (channels per position)
  QParams out;         // output quantization params
  int64_t layers = 0;  // its QRNN or Transformer layers (seq2seq_config.encoder_layers)
  std::string prefix;  // its tensors' name in messages ("encoder.tensors", "byteqrnn", ...)
  // a classifier's attention pooling and head, stored with the encoder's tensors (or null)
  const fb::AttentionPool* pool = nullptr;
  const fb::Dense* head = nullptr;
};

/// A batch of encoded texts: text i's rows back to back in *buffer ([Σ lens[i], width] int8 at
/// params q); lens points into the Workspace.
struct BatchEncoding {
  std::vector<int8_t>* buffer = nullptr;
  const int64_t* lens = nullptr;
  int64_t width = 0;
  QParams q;
};

/// One encoder kind of the runtime. Loaders check every field they read (ModelFileError with a
/// one-line message), fill the ModelInfo fields of the kind's config keys and the
/// ClassifierNet's layers (kind, its front and its layer stack) and count the parameters in the
/// Loader. `kind` is kEncoderKinds' entry of the unit.
struct RuntimeEncoderUnit {
  EncoderKind kind;
  /// Its member of the EncoderTables union (format v2, schema/bytelite_model.fbs).
  fb::EncoderTables tables;
  /// Format v2: the union member `tables` (of type `tables`, not null), named `prefix` in
  /// messages. min_layers: 0 for a seq2seq-section encoder (zero layers allowed), else 1.
  LoadedEncoder (*load)(const Loader& ld, const EncoderKindInfo& kind, const void* tables,
                        const std::string& prefix, int min_layers, ModelInfo& info,
                        ClassifierNet& net);
  /// Format v1 classifier: the encoder from Model's old fields (architecture string), or null
  /// when format v1 has no classifier of this kind.
  LoadedEncoder (*load_v1)(const Loader& ld, const EncoderKindInfo& kind, const fb::Model& m,
                           ModelInfo& info, ClassifierNet& net);
  /// Format v1 seq2seq: the encoder from Seq2SeqConfig / ByteSeq2Seq's old fields
  /// (seq2seq_config.encoder names it), or null when format v1 has no seq2seq with it.
  LoadedEncoder (*load_v1_seq2seq)(const Loader& ld, const EncoderKindInfo& kind,
                                   const fb::Seq2SeqConfig& cfg, const fb::ByteSeq2Seq& s,
                                   ModelInfo& info, ClassifierNet& net);
  /// The int8 forward: as classifier_encode (classifier_net.h), which calls it.
  ClassifierEncoding (*encode)(const OpContext& c, const ClassifierNet& m, const int32_t* ids,
                               int64_t T, std::vector<int8_t>& a, std::vector<int8_t>& b);
  /// Optional (null: classifier_forward_batch runs text by text): N texts (ids back to back,
  /// text i has lens[i] >= 1 ids) encoded in one pass, each text's rows bit-identical to
  /// encode on it alone; c records no taps. Uses ws.a, ws.b and ws.lens.
  BatchEncoding (*encode_batch)(const OpContext& c, const ClassifierNet& m, const int32_t* ids,
                                const int64_t* lens, int64_t N, Workspace& ws);
  /// The model-section config keys its files store and where its loaders put them
  /// (stored_keys.h; `bytelite info` prints them).
  StoredModelKeys stored_keys;
};

/// The unit of kind k (the registry's entry; every kind has one).
const RuntimeEncoderUnit& runtime_encoder_unit(EncoderKind k);

// Parts shared by several units (encoder_parts.cc).

/// The byte front: embedding [+ position embedding, layer norm when `position`] -> bottleneck
/// (when m.has_bottleneck) -> GBST, on ids [T]. Leaves [L, width] at params m.gbst.mix in a;
/// returns L = ceil(T / downsample). Taps embedding, embedding_norm, bottleneck, gbst.*.
int64_t byte_front(const OpContext& c, const ClassifierNet& m, bool position, const int32_t* ids,
                   int64_t T, std::vector<int8_t>& a, std::vector<int8_t>& b);

/// ByteQRNN with word projection (m.word_projection, qrnn_proj.cc): the GBST input y [T, Bn] at
/// m.word_sum_q = add(xb [T, Bn], the bottleneck output at m.bottleneck.out, and the word
/// vector of each byte's word: rows of m.word over ternary_projection_of_ids(ids, T,
/// m.projection_cfg), placed by byte_token_map, zero point where -1). Taps projection, word,
/// word_sum.
void word_sum(const OpContext& c, const ClassifierNet& m, const int32_t* ids, int64_t T,
              const int8_t* xb, int8_t* y);

/// A ByteQRNN's tables (config, tensors; cfg_name / prefix: their names in messages) into net:
/// embedding, bottleneck, GBST (reading params *gbst_in, or the bottleneck's output params when
/// null), QRNN layers; fills info's ByteQRNN fields (qrnn.cc).
LoadedEncoder load_byte_qrnn(const Loader& ld, const EncoderKindInfo& kind,
                             const fb::ByteQrnnConfig* config, const fb::ByteQrnn* qrnn,
                             const std::string& cfg_name, const std::string& prefix,
                             ModelInfo& info, ClassifierNet& net, const QParams* gbst_in);

/// The projection settings `pc` (named `what` in messages) checked and copied into info's
/// projection_* fields and net.projection_cfg (pqrnn.cc).
void load_projection_config(const Loader& ld, const fb::ProjectionConfig* pc,
                            const std::string& what, ModelInfo& info, ClassifierNet& net);

/// m.qrnn's bidirectional QRNN layers on [L, C] in a (params in_q when there are no layers),
/// alternating between a and b: [L, 2S] at kSignedUnitParams. Taps qrnn<i>.*.
ClassifierEncoding qrnn_stack(const OpContext& c, const ClassifierNet& m, int64_t L, int64_t C,
                              QParams in_q, std::vector<int8_t>& a, std::vector<int8_t>& b);

}  // namespace bytelite::rt
