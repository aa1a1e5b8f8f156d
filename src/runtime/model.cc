// Model loading: header and checksum (model_file.cc), the FlatBuffers verifier, then shape and
// range checks of every tensor and quantization parameter, then the layers are prepared for the
// kernels (zero points folded into the biases, fixed-point multipliers, packed weights). The
// encoder's tables are loaded by its kind's unit (src/runtime/encoders/), the checks and layer
// loaders they share are runtime/model_loader.h.
#include "bytelite/model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "bytelite/encoder_kinds.h"
#include "bytelite/errors.h"
#include "bytelite_model_generated.h"
#include "runtime/encoders/encoder_unit.h"
#include "runtime/model_file.h"
#include "runtime/model_limits.h"
#include "runtime/model_loader.h"
#include "runtime/models/classifier_net.h"

namespace bytelite {

namespace rt {
namespace {

// The model around the encoder: tokenizer, labels, pooling and head, the seq2seq decoder.
class ModelLoader : public Loader {
 public:
  using Loader::Loader;

  // Tokenizer settings and the provenance fields every model file has.
  void load_common(const fb::Model* m, ModelInfo& info) const {
    const fb::Tokenizer* tok = need(m->tokenizer(), "tokenizer");
    check_int(tok->max_length(), 1, limits::kMaxLength, "tokenizer.max_length");
    check_int(tok->byte_offset(), 3, 3, "tokenizer.byte_offset");
    check_int(tok->pad_id(), 0, 0, "tokenizer.pad_id");
    check_int(tok->vocab_size(), kVocab, kVocab, "tokenizer.vocab_size");
    info.max_length = tok->max_length();
    info.lowercase_ascii = tok->lowercase_ascii();
    info.text_column = str(m->text_column());
    info.label_columns = strings(m->label_columns());
    info.source_checkpoint = str(m->source_checkpoint());
    info.training_step = m->training_step();
    info.trained_parameters = m->trained_parameters();
    info.float_bytes = m->float_bytes();
  }

  // v2_kind: the encoder kind of a format-v2 file (null: format v1).
  void load_seq2seq_model(const fb::Model* m, LoadedModel& lm,
                          const EncoderKindInfo* v2_kind) const {
    load_common(m, lm.info);
    set_params(0);
    load_seq2seq(m, lm, v2_kind);
    lm.info.parameter_count = params();
  }

  void load(const HeaderInfo& h, LoadedModel& lm) const {
    if (h.payload_size < 8 || h.payload_size >= FLATBUFFERS_MAX_BUFFER_SIZE) {
      fail("payload size", "8 bytes to 2 GiB", std::to_string(h.payload_size) + " bytes");
    }
    if (!fb::ModelBufferHasIdentifier(h.payload)) {
      fail("payload", "FlatBuffers file identifier \"BLTM\"", "another identifier");
    }
    flatbuffers::Verifier::Options opts;
    opts.max_depth = 32;
    opts.max_tables = 100000;
    flatbuffers::Verifier verifier(h.payload, h.payload_size, opts);
    if (!fb::VerifyModelBuffer(verifier)) {
      fail("payload",
           "a FlatBuffers 'Model' table that passes verification (schema/bytelite_model.fbs)",
           "a buffer that fails the FlatBuffers verifier");
    }
    const fb::Model* m = fb::GetModel(h.payload);
    ModelInfo& info = lm.info;
    info.producer = str(m->producer());
    // Format v2 names the architecture with two enums (model_type, encoder_kind) and stores the
    // encoder in the `encoder` union; format v1 with the `architecture` string.
    const EncoderKindInfo* v2_kind = nullptr;
    if (h.version >= 2) {
      check_int(static_cast<int64_t>(m->model_type()), 0, static_cast<int64_t>(fb::ModelType::MAX),
                "model_type");
      check_int(static_cast<int64_t>(m->encoder_kind()), 0,
                static_cast<int64_t>(kNumEncoderKinds) - 1, "encoder_kind");
      if (m->architecture() != nullptr) {
        fail("architecture", "none in format version 2 (model_type and encoder_kind say it)",
             "\"" + str(m->architecture()) + "\"");
      }
      v2_kind = &encoder_kind_info(static_cast<EncoderKind>(m->encoder_kind()));
      info.architecture =
          m->model_type() == fb::ModelType::Seq2Seq ? "byteseq2seq" : v2_kind->architecture;
    } else {
      info.architecture = str(m->architecture());
    }
    if (info.is_seq2seq()) {
      load_seq2seq_model(m, lm, v2_kind);
      return;
    }
    info.labels = strings(m->labels());
    const int64_t C = static_cast<int64_t>(info.labels.size());
    info.multilabel = m->multilabel();
    check_int(C, info.multilabel ? 1 : 2, 100000, "number of labels");
    if (m->thresholds() != nullptr) {
      for (flatbuffers::uoffset_t i = 0; i < m->thresholds()->size(); ++i) {
        const float t = m->thresholds()->Get(i);
        if (!std::isfinite(t))
          fail("thresholds[" + std::to_string(i) + "]", "a finite value", std::to_string(t));
        info.thresholds.push_back(t);
      }
    }
    const size_t nt = info.thresholds.size();
    const bool thresholds_ok = nt == 0 || (info.multilabel && nt == static_cast<size_t>(C)) ||
                               (!info.multilabel && C == 2 && nt == 1);
    if (!thresholds_ok) {
      fail("thresholds", info.multilabel ? "0 or one per label" : "0, or 1 for two labels",
           std::to_string(nt) + " values");
    }
    load_common(m, info);

    ClassifierNet& net = lm.net;
    net.multilabel = info.multilabel;
    set_params(0);
    // the encoder kind of the architecture (include/bytelite/encoder_kinds.h), loaded by its
    // unit; format v1 names it with the architecture string and stores it in the old fields
    LoadedEncoder e;
    if (v2_kind != nullptr) {
      e = load_encoder_tables(m->encoder_type(), m->encoder(), *v2_kind, "encoder", 1, lm.info,
                              lm.net);
    } else {
      const EncoderKindInfo* kind = find_encoder_architecture(info.architecture);
      if (kind == nullptr || runtime_encoder_unit(kind->kind).load_v1 == nullptr) {
        // format v1 knows the byte encoders only
        std::string want;
        for (const EncoderKindInfo& k : kEncoderKinds) {
          if (runtime_encoder_unit(k.kind).load_v1 == nullptr) continue;
          want += std::string(want.empty() ? "" : ", ") + "\"" + k.architecture + "\"";
        }
        fail("architecture", want + " or \"byteseq2seq\"", "\"" + info.architecture + "\"");
      }
      e = runtime_encoder_unit(kind->kind).load_v1(*this, *kind, *m, lm.info, lm.net);
    }
    load_pool_head(m, e.pool, e.head, e.prefix, e.width, e.out, C, lm);
    info.parameter_count = params();
  }

  void load_pool_head(const fb::Model* m, const fb::AttentionPool* pool, const fb::Dense* head,
                      const std::string& prefix, int64_t in, QParams in_q, int64_t C,
                      LoadedModel& lm) const {
    ModelInfo& info = lm.info;
    ClassifierNet& net = lm.net;
    // attention pooling
    const fb::AttentionPool* p = need(pool, prefix + ".pool");
    net.pool.score = dense(p->score(), prefix + ".pool.score", in, 1, in_q);
    net.pool.score_exp = exp_table(p->score_exp(), prefix + ".pool.score_exp");
    net.pool.out = qparams(p->output(), prefix + ".pool.output");
    net.pool.sum_rq =
        uniform_requant(in,
                        multiplier(static_cast<double>(in_q.scale) /
                                       (255.0 * static_cast<double>(net.pool.out.scale)),
                                   prefix + ".pool sum multiplier"),
                        net.pool.out.zero_point);
    count(net.pool.score);
    info.pooling = "attention";
    QParams head_in_q = net.pool.out;
    int64_t head_in = in;
    if (p->max_pool()) {
      // [attention pooling; max over time], both requantized to the shared concat params.
      net.pool.max_pool = true;
      info.pooling = "attention_max";
      net.pool.concat = qparams(p->concat(), prefix + ".pool.concat");
      net.pool.pooled_to_concat = uniform_requant(
          in,
          multiplier(static_cast<double>(net.pool.out.scale) / net.pool.concat.scale,
                     prefix + ".pool concat multiplier"),
          net.pool.concat.zero_point);
      net.pool.max_to_concat =
          uniform_requant(in,
                          multiplier(static_cast<double>(in_q.scale) / net.pool.concat.scale,
                                     prefix + ".pool max multiplier"),
                          net.pool.concat.zero_point);
      head_in_q = net.pool.concat;
      head_in = 2 * in;
    }

    // head and probabilities
    net.head = dense(head, prefix + ".head", head_in, C, head_in_q);
    count(net.head);
    if (info.multilabel) {
      net.output_sigmoid = float_table(m->output_sigmoid(), "output_sigmoid", 0.0f, 1.0f);
    } else {
      net.output_exp = float_table(m->output_exp(), "output_exp", 0.0f, 1.0f);
      if (net.output_exp[0] != 1.0f) fail("output_exp[0]", "1", std::to_string(net.output_exp[0]));
    }
  }

  // Format v2: the encoder of kind `kind` from its member of the EncoderTables union (`prefix`
  // names it in messages), loaded by the kind's unit. min_layers: 0 for the seq2seq default
  // encoder, else 1.
  LoadedEncoder load_encoder_tables(fb::EncoderTables type, const void* tables,
                                    const EncoderKindInfo& kind, const std::string& prefix,
                                    int min_layers, ModelInfo& info, ClassifierNet& net) const {
    const RuntimeEncoderUnit& unit = runtime_encoder_unit(kind.kind);
    if (type != unit.tables) {
      fail(prefix,
           std::string("the tables of encoder_kind \"") + kind.name + "\" (" +
               fb::EnumNameEncoderTables(unit.tables) + ")",
           type == fb::EncoderTables::NONE ? std::string("none")
                                           : std::string(fb::EnumNameEncoderTables(type)));
    }
    need(tables, prefix);
    return unit.load(*this, kind, tables, prefix, min_layers, info, net);
  }

  // architecture "byteseq2seq": an encoder of the registry (its unit) and the MAtt decoder.
  void load_seq2seq(const fb::Model* m, LoadedModel& lm, const EncoderKindInfo* v2_kind) const {
    ModelInfo& info = lm.info;
    const fb::Seq2SeqConfig* cfg = need(m->seq2seq_config(), "seq2seq_config");
    // until the encoder is read: the kind configured by the seq2seq section (the default)
    info.encoder = seq2seq_section_encoder().name;
    info.embedding_size = info.bottleneck_size = cfg->model_dimension();
    info.num_heads = cfg->num_heads();
    info.intermediate_size = cfg->intermediate_size();
    info.transformer_layers = cfg->encoder_layers();
    info.decoder_layers = cfg->decoder_layers();
    info.max_target = cfg->max_target();
    info.gbst_max_block_width = cfg->gbst_max_block_width();
    info.gbst_conv_kernel_size = cfg->gbst_conv_kernel_size();
    info.gbst_downsample_rate = cfg->gbst_downsample_rate();
    info.beam_size = cfg->beam_size();
    info.length_penalty = cfg->length_penalty();
    info.attention_scale = "sqrt";
    info.layer_norm = "channel";
    check_int(info.bottleneck_size, 1, limits::kMaxWidth, "seq2seq_config.model_dimension");
    check_int(info.num_heads, 1, info.bottleneck_size, "seq2seq_config.num_heads");
    if (info.bottleneck_size % info.num_heads != 0) {
      fail("seq2seq_config.num_heads",
           "a divisor of model_dimension " + std::to_string(info.bottleneck_size),
           std::to_string(info.num_heads));
    }
    check_int(info.intermediate_size, 1, limits::kMaxIntermediate,
              "seq2seq_config.intermediate_size");
    check_int(info.transformer_layers, 0, limits::kMaxTransformerLayers,
              "seq2seq_config.encoder_layers");
    check_int(info.decoder_layers, 1, limits::kMaxTransformerLayers,
              "seq2seq_config.decoder_layers");
    check_int(cfg->max_source(), info.max_length, info.max_length, "seq2seq_config.max_source");
    check_int(info.max_target, 1, limits::kMaxPositions, "seq2seq_config.max_target");
    check_gbst(info, "seq2seq_config");
    check_int(info.beam_size, 1, limits::kMaxBeam, "seq2seq_config.beam_size");
    if (!std::isfinite(info.length_penalty) || info.length_penalty < 0.0f ||
        info.length_penalty > 10.0f) {
      fail("seq2seq_config.length_penalty", "a value in [0, 10]",
           std::to_string(info.length_penalty));
    }
    const int64_t D = info.bottleneck_size, H = info.num_heads, I = info.intermediate_size;
    info.decoder_dimension = static_cast<int32_t>(D);
    info.decoder_num_heads = static_cast<int32_t>(H);
    info.decoder_intermediate_size = static_cast<int32_t>(I);
    const fb::ByteSeq2Seq* s = need(m->seq2seq(), "seq2seq");
    lm.seq2seq = std::make_unique<Seq2SeqNet>();
    Seq2SeqNet& net = *lm.seq2seq;
    Seq2SeqEncoderRt& enc = net.encoder;
    enc.max_source = info.max_length;

    // encoder: loaded by its kind's unit into a ClassifierNet (no pool or head), run by
    // classifier_encode as a classifier's
    // absent (format v1): the kind the seq2seq section configures
    const std::string encoder =
        cfg->encoder() ? str(cfg->encoder()) : std::string(seq2seq_section_encoder().name);
    const EncoderKindInfo* kind = v2_kind;
    if (v2_kind != nullptr) {
      // format v2: the encoder is Model.encoder, of Model.encoder_kind
      const std::pair<bool, const char*> v1_fields[] = {
          {s->encoder() != nullptr, "seq2seq.encoder"},
          {s->qrnn_encoder() != nullptr, "seq2seq.qrnn_encoder"},
          {cfg->encoder() != nullptr, "seq2seq_config.encoder"}};
      for (const auto& [present, name] : v1_fields) {
        if (present)
          fail(name, "none in format version 2 (Model.encoder holds the encoder)", "one");
      }
      if (v2_kind->projection) {
        fail("encoder_kind", "a byte encoder for a seq2seq model",
             std::string("\"") + v2_kind->name + "\" (projection input)");
      }
      if (v2_kind->word_projection) {
        fail("encoder_kind", "an encoder without word projection for a seq2seq model",
             std::string("\"") + v2_kind->name + "\"");
      }
    } else {
      kind = find_encoder_kind(encoder);
      if (kind == nullptr || runtime_encoder_unit(kind->kind).load_v1_seq2seq == nullptr) {
        fail("seq2seq_config.encoder", "a byte encoder: " + encoder_kind_names_quoted(),
             "\"" + encoder + "\"");
      }
    }
    const bool section = kind->seq2seq_section;
    if (!section) {
      // the info fields describe the encoder configured by the model section
      info.transformer_layers = info.num_heads = info.intermediate_size = 0;
      info.attention_scale.clear();
      info.layer_norm.clear();
    }
    auto cn = std::make_shared<ClassifierNet>();
    LoadedEncoder e;
    if (v2_kind != nullptr) {
      e = load_encoder_tables(m->encoder_type(), m->encoder(), *v2_kind, "encoder", section ? 0 : 1,
                              info, *cn);
      if (e.pool != nullptr || e.head != nullptr) {
        fail("encoder.tensors", "no pool or head (a seq2seq encoder)", "a classifier's layers");
      }
      if (section) info.pool_windows.clear();  // as format v1 reports the default encoder
    } else {
      // format v1: the old fields (seq2seq_config.*_config, seq2seq.encoder / qrnn_encoder)
      e = runtime_encoder_unit(kind->kind).load_v1_seq2seq(*this, *kind, *cfg, *s, info, *cn);
      if (e.pool != nullptr || e.head != nullptr) {
        fail(e.prefix, "no pool or head", "a classifier's layers");
      }
    }
    // an encoder with a position embedding reads at most its rows
    enc.max_source = cn->max_positions > 0 ? std::min<int64_t>(info.max_length, cn->max_positions)
                                           : info.max_length;
    check_int(cfg->encoder_layers(), e.layers, e.layers, "seq2seq_config.encoder_layers");
    const QParams h_q = e.out;
    enc.dim = e.width;
    enc.out = h_q;
    enc.classifier = std::move(cn);

    load_decoder(*s, info, enc, net.decoder);
  }

  // The MAtt decoder (seq2seq.embedding ... seq2seq.logits) of width info.decoder_dimension,
  // its cross-attention reading the encoder's output (enc.dim at enc.out).
  void load_decoder(const fb::ByteSeq2Seq& sq, const ModelInfo& info, const Seq2SeqEncoderRt& enc,
                    MattDecoderRt& dec) const {
    const fb::ByteSeq2Seq* s = &sq;
    const int64_t D = info.decoder_dimension, H = info.decoder_num_heads,
                  I = info.decoder_intermediate_size;
    const QParams h_q = enc.out;
    dec.dim = D;
    dec.vocab = kVocab;
    dec.embedding = embedding_rt(s->embedding(), "seq2seq.embedding", kVocab, D);
    dec.position = embedding_rt(s->position(), "seq2seq.position", info.max_target, D);
    dec.norm = layer_norm(s->embedding_norm(), "seq2seq.embedding_norm", D, false);
    const auto* dlayers = need(s->layers(), "seq2seq.layers");
    check_int(dlayers->size(), info.decoder_layers, info.decoder_layers,
              "number of seq2seq.layers");
    QParams x_q = dec.norm.out;
    for (flatbuffers::uoffset_t i = 0; i < dlayers->size(); ++i) {
      const std::string name = "seq2seq.layers[" + std::to_string(i) + "]";
      const fb::MattDecoderLayer* l = need(dlayers->Get(i), name);
      MattLayerRt L;
      check_int(l->num_heads(), H, H, name + ".num_heads");
      L.uniform = dense(l->uniform(), name + ".uniform", D, D, x_q);
      L.average = qparams(l->average(), name + ".average");
      L.query = dense(l->query(), name + ".query", D, D, x_q);
      L.key_value = dense(l->key_value(), name + ".key_value", enc.dim, 2 * D, h_q);
      L.attn = attention(l->num_heads(), l->logit_factor(), l->logits(), l->logits_exp(),
                         l->context(), L.query.out, L.key_value.out, D, false, name);
      L.merge = qparams(l->merge(), name + ".merge");
      L.output = dense(l->output(), name + ".output", D, D, L.merge);
      L.norm1 = layer_norm(l->norm1(), name + ".norm1", D, false);
      L.ffn_in = dense(l->ffn_in(), name + ".ffn_in", D, I, L.norm1.out);
      L.ffn_out = dense(l->ffn_out(), name + ".ffn_out", I, D, L.ffn_in.out);
      L.norm2 = layer_norm(l->norm2(), name + ".norm2", D, false);
      for (const DenseLayer* d :
           {&L.uniform, &L.query, &L.key_value, &L.output, &L.ffn_in, &L.ffn_out})
        count(*d);
      x_q = L.norm2.out;
      dec.layers.push_back(std::move(L));
    }
    dec.logits = dense(s->logits(), "seq2seq.logits", D, kVocab, x_q);
    count(dec.logits);
    add_params(-kVocab * D);  // the logits weight is the tied embedding (counted once)
  }
};

std::unique_ptr<LoadedModel> load_view(FileView view, const std::string& name) {
  const HeaderInfo h = check_header(view, name);
  auto lm = std::make_unique<LoadedModel>();
  lm->info.path = name;
  lm->info.format_version = h.version;
  lm->info.checksum = h.checksum;
  lm->info.file_bytes = static_cast<int64_t>(view.size);
  ModelLoader(name).load(h, *lm);
  lm->storage = std::move(view.storage);
  return lm;
}

}  // namespace
}  // namespace rt

Model::Model(std::unique_ptr<rt::LoadedModel> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const ModelInfo& Model::info() const { return impl_->info; }

std::shared_ptr<const Model> Model::load(const std::string& path) {
  return std::shared_ptr<const Model>(new Model(rt::load_view(rt::map_file(path), path)));
}

std::shared_ptr<const Model> Model::from_bytes(std::string_view bytes, const std::string& name) {
  return std::shared_ptr<const Model>(new Model(rt::load_view(rt::copy_bytes(bytes), name)));
}

}  // namespace bytelite
