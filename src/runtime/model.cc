// Model loading: header and checksum (model_file.cc), the FlatBuffers verifier, then shape and
// range checks of every tensor and quantization parameter, then the layers are prepared for the
// kernels (zero points folded into the biases, fixed-point multipliers, packed weights).
#include "bytelite/model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "bytelite/encoder_kinds.h"
#include "bytelite/errors.h"
#include "bytelite_model_generated.h"
#include "runtime/model_file.h"
#include "runtime/model_limits.h"
#include "runtime/models/classifier_net.h"

namespace bytelite {

namespace rt {
namespace {

constexpr int32_t kVocab = 259;
constexpr int32_t kExpOne = 1 << 30;

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& what, const std::string& expected,
                         const std::string& found) const {
    throw ModelFileError(file_ + ": " + what + ": expected " + expected + ", found " + found);
  }

  template <typename T>
  const T* need(const T* p, const std::string& what) const {
    if (p == nullptr) fail(what, "a value", "none (missing field)");
    return p;
  }

  // The GBST hyperparameters of a model config (named `cfg` in messages) within the bounds
  // the training config allows (runtime/model_limits.h).
  void check_gbst(const ModelInfo& info, const std::string& cfg) const {
    check_int(info.gbst_max_block_width, 1, limits::kMaxGbstBlockWidth,
              cfg + ".gbst_max_block_width");
    check_int(info.gbst_conv_kernel_size, 1, limits::kMaxKernel, cfg + ".gbst_conv_kernel_size");
    check_int(info.gbst_downsample_rate, 1, limits::kMaxDownsample, cfg + ".gbst_downsample_rate");
  }

  void check_int(int64_t v, int64_t lo, int64_t hi, const std::string& what) const {
    if (v < lo || v > hi) {
      fail(what, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
           std::to_string(v));
    }
  }

  template <typename V>
  void check_size(const V* v, int64_t n, const std::string& what, const std::string& shape) const {
    need(v, what);
    if (static_cast<int64_t>(v->size()) != n) {
      fail(what, std::to_string(n) + " values (" + shape + ")",
           std::to_string(v->size()) + " values");
    }
  }

  QParams qparams(const fb::QuantParams* q, const std::string& what) const {
    need(q, what);
    QParams p{q->scale(), q->zero_point()};
    if (!std::isfinite(p.scale) || !(p.scale > 1e-30f) || p.scale > 1e30f) {
      fail(what + ".scale", "a finite scale in (1e-30, 1e30]", std::to_string(p.scale));
    }
    check_int(p.zero_point, -128, 127, what + ".zero_point");
    return p;
  }

  void same_params(QParams a, QParams b, const std::string& what, const std::string& source) const {
    if (a.scale != b.scale || a.zero_point != b.zero_point) {
      fail(what,
           "the params of " + source + " (scale " + std::to_string(b.scale) + ", zero point " +
               std::to_string(b.zero_point) + ")",
           "scale " + std::to_string(a.scale) + ", zero point " + std::to_string(a.zero_point));
    }
  }

  Multiplier multiplier(double m, const std::string& what) const {
    Multiplier out;
    if (!make_multiplier(m, &out)) {
      fail(what, "a requantization multiplier in (0, 2^30)", std::to_string(m));
    }
    return out;
  }

  DenseLayer dense(const fb::Dense* d, const std::string& what, int64_t k, int64_t n,
                   QParams in) const {
    need(d, what);
    if (d->in_features() != k || d->out_features() != n) {
      fail(what + " shape", "[" + std::to_string(n) + ", " + std::to_string(k) + "]",
           "[" + std::to_string(d->out_features()) + ", " + std::to_string(d->in_features()) + "]");
    }
    const std::string shape = std::to_string(n) + " x " + std::to_string(k);
    // Bounds that keep every int64 term of the requantization (kernels.h RequantParams) small
    // enough for the SIMD form: |Σ x w| <= k * 128 * 127 < 2^28 and |bias| < 2^29.
    constexpr int64_t kAccLimit = int64_t{1} << 28;
    constexpr int64_t kBiasLimit = int64_t{1} << 29;
    if (k * 128 * 127 >= kAccLimit) {
      fail(what + ".in_features", "at most " + std::to_string(kAccLimit / (128 * 127)),
           std::to_string(k));
    }
    check_size(d->weight(), n * k, what + ".weight", shape);
    check_size(d->weight_scale(), n, what + ".weight_scale", "one per output channel");
    check_size(d->bias(), n, what + ".bias", "one per output channel");
    check_int(d->bias_shift(), 0, 24, what + ".bias_shift");
    DenseLayer L;
    L.in = qparams(d->input(), what + ".input");
    same_params(L.in, in, what + ".input", "the layer's input");
    L.out = qparams(d->output(), what + ".output");
    const int8_t* w = d->weight()->data();
    RequantParams& rq = L.rq;
    rq.n = n;
    rq.m0.resize(n);
    rq.shift.resize(n);
    rq.bias.resize(n);
    rq.zp = L.out.zero_point;
    rq.lo = d->relu() ? L.out.zero_point : -128;
    rq.hi = 127;
    const int bs = d->bias_shift();
    for (int64_t j = 0; j < n; ++j) {
      int64_t rowsum = 0;
      for (int64_t i = 0; i < k; ++i) {
        const int8_t v = w[j * k + i];
        if (v == -128) {
          fail(what + ".weight[" + std::to_string(j * k + i) + "]", "an int8 weight in [-127, 127]",
               "-128");
        }
        rowsum += v;
      }
      const float ws = d->weight_scale()->Get(static_cast<flatbuffers::uoffset_t>(j));
      if (!std::isfinite(ws) || !(ws > 0.0f)) {
        fail(what + ".weight_scale[" + std::to_string(j) + "]", "a finite scale > 0",
             std::to_string(ws));
      }
      const int64_t b = d->bias()->Get(static_cast<flatbuffers::uoffset_t>(j));
      if (b <= -kBiasLimit || b >= kBiasLimit) {
        fail(what + ".bias[" + std::to_string(j) + "]", "|bias| < 2^29", std::to_string(b));
      }
      const Multiplier m =
          multiplier(static_cast<double>(L.in.scale) * static_cast<double>(ws) /
                         static_cast<double>(L.out.scale),
                     what + " requantization multiplier [" + std::to_string(j) + "]");
      // B_j: the bias (rounded half up after its extra fractional bits) and the input zero
      // point's correction, in units of 2^-shift output steps.
      const int64_t bias_fixed = bs == 0 ? b * m.m0 : (b * m.m0 + (int64_t{1} << (bs - 1))) >> bs;
      rq.bias[j] = bias_fixed - static_cast<int64_t>(L.in.zero_point) * rowsum * m.m0;
      rq.m0[j] = m.m0;
      rq.shift[j] = m.shift;
    }
    prepare_requant(rq);
    L.w = pack_matrix(w, n, k);
    return L;
  }

  std::array<uint32_t, 256> exp_table(const flatbuffers::Vector<uint32_t>* v,
                                      const std::string& what) const {
    check_size(v, 256, what, "256 entries");
    std::array<uint32_t, 256> t{};
    for (int i = 0; i < 256; ++i) {
      t[i] = v->Get(i);
      if (t[i] > static_cast<uint32_t>(kExpOne) || (i == 0 && t[i] != kExpOne) ||
          (i > 0 && t[i] > t[i - 1])) {
        fail(what + "[" + std::to_string(i) + "]",
             "a non-increasing table of round(2^30 exp(-s d)) starting at 2^30",
             std::to_string(t[i]));
      }
    }
    return t;
  }

  std::array<int8_t, 256> int8_table(const flatbuffers::Vector<int8_t>* v,
                                     const std::string& what) const {
    check_size(v, 256, what, "256 entries");
    std::array<int8_t, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = v->Get(i);
    return t;
  }

  std::array<float, 256> float_table(const flatbuffers::Vector<float>* v, const std::string& what,
                                     float lo, float hi) const {
    check_size(v, 256, what, "256 entries");
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) {
      t[i] = v->Get(i);
      if (!std::isfinite(t[i]) || t[i] < lo || t[i] > hi) {
        fail(what + "[" + std::to_string(i) + "]",
             "a value in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
             std::to_string(t[i]));
      }
    }
    return t;
  }

  std::string str(const flatbuffers::String* s) const { return s ? s->str() : std::string(); }

  std::vector<std::string> strings(
      const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) const {
    std::vector<std::string> out;
    if (v == nullptr) return out;
    for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) out.push_back(str(v->Get(i)));
    return out;
  }

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
    params_ = 0;
    load_seq2seq(m, lm, v2_kind);
    lm.info.parameter_count = params_;
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
    if (info.architecture == "byteseq2seq") {
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
    params_ = 0;
    int64_t width = 0;
    QParams out_q;
    const fb::AttentionPool* pool = nullptr;
    const fb::Dense* head = nullptr;
    std::string prefix;
    // the encoder kind of the architecture (include/bytelite/encoder_kinds.h); format v1 stores
    // the attention kinds as `transformer` and the others as `byteqrnn`
    const EncoderKindInfo* kind =
        v2_kind != nullptr ? v2_kind : find_encoder_architecture(info.architecture);
    if (v2_kind != nullptr) {
      prefix = "encoder.tensors";
      load_encoder_tables(m->encoder_type(), m->encoder(), *v2_kind, "encoder", 1, lm.info, lm.net,
                          &width, &out_q, &pool, &head);
    } else if (kind == nullptr || kind->projection) {
      // format v1 knows the byte encoders only
      std::string want;
      for (const EncoderKindInfo& k : kEncoderKinds) {
        if (k.projection) continue;
        want += std::string(want.empty() ? "" : ", ") + "\"" + k.architecture + "\"";
      }
      fail("architecture", want + " or \"byteseq2seq\"", "\"" + info.architecture + "\"");
    } else if (kind->attention) {
      prefix = "transformer";
      load_transformer(m->transformer_config(), m->transformer(), "transformer_config",
                       "transformer", *kind, "the encoder of architecture " + info.architecture,
                       lm.info, lm.net, &width, &out_q);
      pool = m->transformer()->pool();
      head = m->transformer()->head();
    } else {
      prefix = "byteqrnn";
      load_qrnn(m->config(), m->byteqrnn(), "config", "byteqrnn", lm.info, lm.net, &width, &out_q);
      pool = m->byteqrnn()->pool();
      head = m->byteqrnn()->head();
    }
    load_pool_head(m, pool, head, prefix, width, out_q, C, lm);
    info.parameter_count = params_;
  }

  void load_gbst(const fb::Gbst* g, const std::string& what, int64_t D, QParams in_q,
                 const ModelInfo& info, GbstLayer& G) const {
    need(g, what);
    check_int(g->max_block_width(), info.gbst_max_block_width, info.gbst_max_block_width,
              what + ".max_block_width");
    check_int(g->conv_kernel(), info.gbst_conv_kernel_size, info.gbst_conv_kernel_size,
              what + ".conv_kernel");
    check_int(g->downsample_rate(), info.gbst_downsample_rate, info.gbst_downsample_rate,
              what + ".downsample_rate");
    G.max_block_width = g->max_block_width();
    G.conv_kernel = g->conv_kernel();
    G.downsample_rate = g->downsample_rate();
    G.conv = dense(g->conv(), what + ".conv", G.conv_kernel * D, D, in_q);
    G.score = dense(g->score(), what + ".score", D, 1, G.conv.out);
    G.score_exp = exp_table(g->score_exp(), what + ".score_exp");
    G.mix = qparams(g->mix(), what + ".mix");
    G.mix_rq = uniform_requant(D,
                               multiplier(static_cast<double>(G.conv.out.scale) /
                                              (255.0 * static_cast<double>(G.mix.scale)),
                                          what + " mixture multiplier"),
                               G.mix.zero_point);
    count(G.conv);
    count(G.score);
  }

  void count(const DenseLayer& d) const { params_ += d.w.n * d.w.k + d.w.n; }

  // ByteQRNN: everything up to the attention pooling. Returns the encoder output width and
  // params.
  // cfg_name / prefix: the tables' names in messages ("config" / "byteqrnn" in a classifier).
  void load_qrnn(const fb::ByteQrnnConfig* config, const fb::ByteQrnn* qrnn,
                 const std::string& cfg_name, const std::string& prefix, ModelInfo& info,
                 ClassifierNet& net, int64_t* width, QParams* out_q) const {
    info.encoder = encoder_kind_info(EncoderKind::kQrnn).name;
    int64_t& params = params_;
    const fb::ByteQrnnConfig* cfg = need(config, cfg_name);
    info.embedding_size = cfg->embedding_size();
    info.bottleneck_size = cfg->bottleneck_size();
    info.gbst_max_block_width = cfg->gbst_max_block_width();
    info.gbst_conv_kernel_size = cfg->gbst_conv_kernel_size();
    info.gbst_downsample_rate = cfg->gbst_downsample_rate();
    info.qrnn_state_size = cfg->qrnn_state_size();
    info.qrnn_kernel_width = cfg->qrnn_kernel_width();
    info.qrnn_layers = cfg->qrnn_layers();
    check_int(info.embedding_size, 1, limits::kMaxWidth, cfg_name + ".embedding_size");
    check_int(info.bottleneck_size, 1, limits::kMaxWidth, cfg_name + ".bottleneck_size");
    check_gbst(info, cfg_name);
    check_int(info.qrnn_state_size, 1, limits::kMaxWidth, cfg_name + ".qrnn_state_size");
    check_int(info.qrnn_kernel_width, 1, limits::kMaxKernel, cfg_name + ".qrnn_kernel_width");
    check_int(info.qrnn_layers, 1, limits::kMaxQrnnLayers, cfg_name + ".qrnn_layers");

    const fb::ByteQrnn* q = need(qrnn, prefix);

    // embedding
    const fb::Embedding* emb = need(q->embedding(), prefix + ".embedding");
    check_int(emb->vocab_size(), kVocab, kVocab, prefix + ".embedding.vocab_size");
    check_int(emb->dim(), info.embedding_size, info.embedding_size, prefix + ".embedding.dim");
    const int64_t F = emb->dim();
    check_size(emb->table(), kVocab * F, prefix + ".embedding.table",
               std::to_string(kVocab) + " x " + std::to_string(F));
    net.vocab_size = kVocab;
    net.embedding_size = static_cast<int32_t>(F);
    net.embedding = emb->table()->data();
    net.embedding_q = qparams(emb->output(), prefix + ".embedding.output");
    params += kVocab * F;

    // bottleneck
    const int64_t D = info.bottleneck_size;
    net.bottleneck = dense(q->bottleneck(), prefix + ".bottleneck", F, D, net.embedding_q);
    count(net.bottleneck);

    load_gbst(q->gbst(), prefix + ".gbst", D, net.bottleneck.out, info, net.gbst);
    const GbstLayer& G = net.gbst;

    load_qrnn_layers(q->qrnn(), prefix, D, G.mix, info, net, width, out_q);
  }

  // The bidirectional QRNN layers of a ByteQRNN or pQRNN encoder (`prefix`.qrnn), of
  // info.qrnn_* on input width D at params in_q: the encoder output width and params.
  void load_qrnn_layers(const flatbuffers::Vector<flatbuffers::Offset<fb::QrnnLayer>>* qrnn,
                        const std::string& prefix, int64_t D, QParams in_q, const ModelInfo& info,
                        ClassifierNet& net, int64_t* width, QParams* out_q) const {
    const auto* layers = need(qrnn, prefix + ".qrnn");
    check_int(layers->size(), info.qrnn_layers, info.qrnn_layers,
              "number of " + prefix + ".qrnn layers");
    int64_t in = D;
    for (flatbuffers::uoffset_t i = 0; i < layers->size(); ++i) {
      const std::string name = prefix + ".qrnn[" + std::to_string(i) + "]";
      const fb::QrnnLayer* l = need(layers->Get(i), name);
      check_int(l->kernel_width(), info.qrnn_kernel_width, info.qrnn_kernel_width,
                name + ".kernel_width");
      check_int(l->state_size(), info.qrnn_state_size, info.qrnn_state_size, name + ".state_size");
      QrnnLayer L;
      L.kernel_width = l->kernel_width();
      L.state_size = l->state_size();
      const int64_t S = L.state_size;
      for (int dir = 0; dir < 2; ++dir) {
        const std::string dn = name + (dir == 0 ? ".forward" : ".backward");
        const fb::QrnnDirection* d = need(dir == 0 ? l->forward() : l->backward(), dn);
        QrnnDirection& R = dir == 0 ? L.fwd : L.bwd;
        R.gates = dense(d->gates(), dn + ".gates", L.kernel_width * in, 3 * S, in_q);
        R.tables.tanh = int8_table(d->tanh_table(), dn + ".tanh_table");
        R.tables.sigmoid = int8_table(d->sigmoid_table(), dn + ".sigmoid_table");
        for (int v = 0; v < 256; ++v) {
          R.tables.tanh32[v] = R.tables.tanh[v];
          R.tables.sigmoid32[v] = R.tables.sigmoid[v];
        }
        count(R.gates);
      }
      net.qrnn.push_back(std::move(L));
      in = 2 * S;
      in_q = kSignedUnitParams;
    }

    *width = in;
    *out_q = in_q;
  }

  // pQRNN (encoder kind `kind`, a projection kind): the projection settings, bottleneck and
  // QRNN layers, everything up to the attention pooling.
  void load_pqrnn(const fb::PqrnnConfig* config, const fb::Pqrnn* tensors,
                  const std::string& cfg_name, const std::string& prefix,
                  const EncoderKindInfo& kind, ModelInfo& info, ClassifierNet& net, int64_t* width,
                  QParams* out_q) const {
    info.encoder = kind.name;
    const fb::PqrnnConfig* cfg = need(config, cfg_name);
    const fb::ProjectionConfig* pc = need(cfg->projection(), cfg_name + ".projection");
    info.projection_feature_size = pc->feature_size();
    info.projection_max_tokens = pc->max_tokens();
    info.projection_split_on_space = pc->split_on_space();
    info.projection_lowercase = pc->lowercase();
    info.projection_add_bos = pc->add_bos();
    info.projection_add_eos = pc->add_eos();
    info.bottleneck_size = cfg->bottleneck_size();
    info.qrnn_state_size = cfg->qrnn_state_size();
    info.qrnn_kernel_width = cfg->qrnn_kernel_width();
    info.qrnn_layers = cfg->qrnn_layers();
    check_int(info.projection_feature_size, 1, limits::kMaxWidth,
              cfg_name + ".projection.feature_size");
    check_int(info.projection_max_tokens,
              1 + int{info.projection_add_bos} + int{info.projection_add_eos}, limits::kMaxLength,
              cfg_name + ".projection.max_tokens");
    check_int(info.bottleneck_size, 1, limits::kMaxWidth, cfg_name + ".bottleneck_size");
    check_int(info.qrnn_state_size, 1, limits::kMaxWidth, cfg_name + ".qrnn_state_size");
    check_int(info.qrnn_kernel_width, 1, limits::kMaxKernel, cfg_name + ".qrnn_kernel_width");
    check_int(info.qrnn_layers, 1, limits::kMaxQrnnLayers, cfg_name + ".qrnn_layers");

    net.projection = true;
    net.vocab_size = kVocab;  // the ids it reads are byte ids
    ProjectionConfig& p = net.projection_cfg;
    p.feature_size = info.projection_feature_size;
    p.max_tokens = info.projection_max_tokens;
    p.split_on_space = info.projection_split_on_space;
    p.lowercase = info.projection_lowercase;
    p.add_bos = info.projection_add_bos;
    p.add_eos = info.projection_add_eos;

    const fb::Pqrnn* t = need(tensors, prefix);
    const int64_t Fp = info.projection_feature_size, D = info.bottleneck_size;
    net.bottleneck = dense(t->bottleneck(), prefix + ".bottleneck", Fp, D, kProjectionParams);
    count(net.bottleneck);
    load_qrnn_layers(t->qrnn(), prefix, D, net.bottleneck.out, info, net, width, out_q);
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

  LayerNormLayer layer_norm(const fb::LayerNorm* n, const std::string& what, int64_t D,
                            bool scalar) const {
    need(n, what);
    LayerNormLayer L;
    L.in = qparams(n->input(), what + ".input");
    L.out = qparams(n->output(), what + ".output");
    const int64_t G = scalar ? 1 : D;
    check_size(n->gamma(), G, what + ".gamma", scalar ? "scalar layer norm" : "one per channel");
    check_size(n->beta(), G, what + ".beta", scalar ? "scalar layer norm" : "one per channel");
    L.epsilon = n->epsilon();
    if (!std::isfinite(L.epsilon) || !(L.epsilon > 0.0) || L.epsilon > 1.0) {
      fail(what + ".epsilon", "a value in (0, 1]", std::to_string(L.epsilon));
    }
    for (int64_t c = 0; c < D; ++c) {
      const auto i = static_cast<flatbuffers::uoffset_t>(scalar ? 0 : c);
      const float g = n->gamma()->Get(i), b = n->beta()->Get(i);
      if (!std::isfinite(g) || !std::isfinite(b) || std::fabs(g) > 1e6f || std::fabs(b) > 1e6f) {
        fail(what + ".gamma/beta[" + std::to_string(c) + "]", "finite values of magnitude <= 1e6",
             std::to_string(g) + ", " + std::to_string(b));
      }
      L.gamma_s.push_back(static_cast<double>(g) / L.out.scale);
      L.beta_s.push_back(static_cast<double>(b) / L.out.scale);
    }
    params_ += 2 * G;
    return L;
  }

  // Embedding tables (byte or position) of `rows` x `dim`.
  const int8_t* embedding_table(const fb::Embedding* e, const std::string& what, int64_t rows,
                                int64_t dim, QParams* q) const {
    need(e, what);
    check_int(e->vocab_size(), rows, rows, what + ".vocab_size");
    check_int(e->dim(), dim, dim, what + ".dim");
    check_size(e->table(), rows * dim, what + ".table",
               std::to_string(rows) + " x " + std::to_string(dim));
    *q = qparams(e->output(), what + ".output");
    params_ += rows * dim;
    return e->table()->data();
  }

  // Format v2: the encoder of kind `kind` from its member of the EncoderTables union (`prefix`
  // names it in messages), the runtime half of the encoder registry: each table layout has its
  // loader (attention kinds: TransformerEncoder, the others: QrnnEncoder). min_layers: 0 for the
  // seq2seq default encoder, else 1. *pool / *head: the tensors' pooling and head (or null).
  void load_encoder_tables(fb::EncoderTables type, const void* tables, const EncoderKindInfo& kind,
                           const std::string& prefix, int min_layers, ModelInfo& info,
                           ClassifierNet& net, int64_t* width, QParams* out_q,
                           const fb::AttentionPool** pool, const fb::Dense** head) const {
    const fb::EncoderTables want = kind.attention    ? fb::EncoderTables::TransformerEncoder
                                   : kind.projection ? fb::EncoderTables::PqrnnEncoder
                                                     : fb::EncoderTables::QrnnEncoder;
    if (type != want) {
      fail(prefix,
           std::string("the tables of encoder_kind \"") + kind.name + "\" (" +
               fb::EnumNameEncoderTables(want) + ")",
           type == fb::EncoderTables::NONE ? std::string("none")
                                           : std::string(fb::EnumNameEncoderTables(type)));
    }
    need(tables, prefix);
    if (kind.attention) {
      const auto* t = static_cast<const fb::TransformerEncoder*>(tables);
      load_transformer(t->config(), t->tensors(), prefix + ".config", prefix + ".tensors", kind,
                       std::string("\"") + kind.name + "\" (encoder_kind)", info, net, width, out_q,
                       min_layers);
      *pool = t->tensors()->pool();
      *head = t->tensors()->head();
    } else if (kind.projection) {
      const auto* q = static_cast<const fb::PqrnnEncoder*>(tables);
      load_pqrnn(q->config(), q->tensors(), prefix + ".config", prefix + ".tensors", kind, info,
                 net, width, out_q);
      *pool = q->tensors()->pool();
      *head = q->tensors()->head();
    } else {
      const auto* q = static_cast<const fb::QrnnEncoder*>(tables);
      load_qrnn(q->config(), q->tensors(), prefix + ".config", prefix + ".tensors", info, net,
                width, out_q);
      *pool = q->tensors()->pool();
      *head = q->tensors()->head();
    }
  }

  // cfg_name / prefix: the tables' names in messages ("transformer_config" / "transformer" in a
  // classifier); want: the encoder kind required (an attention kind), want_what: why.
  void load_transformer(const fb::TransformerConfig* config, const fb::ByteTransformer* tr,
                        const std::string& cfg_name, const std::string& prefix,
                        const EncoderKindInfo& want, const std::string& want_what, ModelInfo& info,
                        ClassifierNet& net, int64_t* width, QParams* out_q,
                        int min_layers = 1) const {
    net.transformer = true;
    const fb::TransformerConfig* cfg = need(config, cfg_name);
    // format v2 stores no name (the kind is Model.encoder_kind)
    info.encoder = cfg->encoder() != nullptr ? str(cfg->encoder()) : std::string(want.name);
    const EncoderKindInfo* kind = find_encoder_kind(info.encoder);
    if (kind == nullptr || !kind->attention) {
      std::string names;
      for (const EncoderKindInfo& k : kEncoderKinds) {
        if (!k.attention) continue;
        names += std::string(names.empty() ? "" : " or ") + "\"" + k.name + "\"";
      }
      fail(cfg_name + ".encoder", names, "\"" + info.encoder + "\"");
    }
    if (kind != &want) fail(cfg_name + ".encoder", want_what, "\"" + info.encoder + "\"");
    info.embedding_size = cfg->embedding_size();
    info.bottleneck_size = cfg->model_dimension();
    info.gbst_max_block_width = cfg->gbst_max_block_width();
    info.gbst_conv_kernel_size = cfg->gbst_conv_kernel_size();
    info.gbst_downsample_rate = cfg->gbst_downsample_rate();
    info.transformer_layers = cfg->num_layers();
    info.num_heads = cfg->num_heads();
    info.intermediate_size = cfg->intermediate_size();
    info.attention_scale = str(cfg->attention_scale());
    info.layer_norm = str(cfg->layer_norm());
    check_int(info.embedding_size, 1, limits::kMaxWidth, cfg_name + ".embedding_size");
    check_int(info.bottleneck_size, 1, limits::kMaxWidth, cfg_name + ".model_dimension");
    check_gbst(info, cfg_name);
    check_int(info.transformer_layers, min_layers, limits::kMaxTransformerLayers,
              cfg_name + ".num_layers");
    check_int(info.num_heads, 1, info.bottleneck_size, cfg_name + ".num_heads");
    check_int(info.intermediate_size, 1, limits::kMaxIntermediate, cfg_name + ".intermediate_size");
    if (info.bottleneck_size % info.num_heads != 0) {
      fail(cfg_name + ".num_heads",
           "a divisor of model_dimension " + std::to_string(info.bottleneck_size),
           std::to_string(info.num_heads));
    }
    if (info.layer_norm != "channel" && info.layer_norm != "scalar") {
      fail(cfg_name + ".layer_norm", "\"channel\" or \"scalar\"", "\"" + info.layer_norm + "\"");
    }
    load_transformer_tensors(tr, prefix, *kind, cfg->pool_windows(), info, net, width, out_q);
  }

  // The tensors of an attention-kind encoder (`kind`) whose hyperparameters are in info already
  // (from its TransformerConfig, or the seq2seq section's): everything up to the pooling.
  // windows: the config's pool windows (read when the kind has them).
  void load_transformer_tensors(const fb::ByteTransformer* tr, const std::string& prefix,
                                const EncoderKindInfo& kind,
                                const flatbuffers::Vector<int32_t>* windows, ModelInfo& info,
                                ClassifierNet& net, int64_t* width, QParams* out_q) const {
    net.transformer = true;
    const bool scalar = info.layer_norm == "scalar";
    const fb::ByteTransformer* t = need(tr, prefix);
    const int64_t F = info.embedding_size, D = info.bottleneck_size;

    net.vocab_size = kVocab;
    net.embedding_size = static_cast<int32_t>(F);
    net.embedding =
        embedding_table(t->embedding(), prefix + ".embedding", kVocab, F, &net.embedding_q);
    const fb::Embedding* pos = need(t->position(), prefix + ".position");
    check_int(pos->vocab_size(), info.max_length, limits::kMaxLength,
              prefix + ".position.vocab_size");
    net.max_positions = pos->vocab_size();
    net.position =
        embedding_table(pos, prefix + ".position", net.max_positions, F, &net.position_q);
    net.embedding_norm = layer_norm(t->embedding_norm(), prefix + ".embedding_norm", F, scalar);
    QParams x_q = net.embedding_norm.out;
    net.has_bottleneck = F != D;
    if (net.has_bottleneck) {
      net.bottleneck = dense(t->bottleneck(), prefix + ".bottleneck", F, D, x_q);
      count(net.bottleneck);
      x_q = net.bottleneck.out;
    } else if (t->bottleneck() != nullptr) {
      fail(prefix + ".bottleneck", "none (embedding_size equals model_dimension)", "a layer");
    }
    load_gbst(t->gbst(), prefix + ".gbst", D, x_q, info, net.gbst);

    const auto* layers = need(t->layers(), prefix + ".layers");
    check_int(layers->size(), info.transformer_layers, info.transformer_layers,
              "number of " + prefix + ".layers");
    QParams in_q = net.gbst.mix;
    const int64_t H = info.num_heads, I = info.intermediate_size;
    for (flatbuffers::uoffset_t i = 0; i < layers->size(); ++i) {
      const std::string name = prefix + ".layers[" + std::to_string(i) + "]";
      const fb::TransformerLayer* l = need(layers->Get(i), name);
      TransformerLayerRt L =
          transformer_layer(l, name, D, H, I, in_q, scalar, info.attention_scale == "none",
                            kind.pool_windows ? limits::kMaxPoolWindow : 1);
      if (kind.pool_windows) {
        if (windows == nullptr || windows->size() != layers->size() ||
            windows->Get(i) != L.pool_window) {
          fail(name + ".pool_window", "the window of transformer_config.pool_windows",
               std::to_string(L.pool_window));
        }
      }
      info.pool_windows.push_back(L.pool_window);
      in_q = L.norm2.out;
      net.layers.push_back(std::move(L));
    }
    *width = D;
    *out_q = in_q;
  }

  // Attention params: logit factor (1/sqrt(dh), or 1 when unscaled), logits and context params
  // and the exp table, with the multipliers for queries at q and keys/values at kv.
  AttentionLayer attention(int32_t heads, float logit_factor, const fb::QuantParams* logits,
                           const flatbuffers::Vector<uint32_t>* logits_exp,
                           const fb::QuantParams* context, QParams q, QParams kv, int64_t D,
                           bool unscaled, const std::string& name) const {
    AttentionLayer A;
    A.heads = heads;
    A.logit_factor = logit_factor;
    const double dh = static_cast<double>(D / heads);
    const double want = unscaled ? 1.0 : 1.0 / std::sqrt(dh);
    if (!(std::fabs(A.logit_factor - want) <= 1e-6 * want)) {
      fail(name + ".logit_factor",
           std::to_string(want) + (unscaled ? " (attention_scale \"none\")" : " (1/sqrt(D/H))"),
           std::to_string(A.logit_factor));
    }
    A.logits = qparams(logits, name + ".logits");
    A.logits_exp = exp_table(logits_exp, name + ".logits_exp");
    A.context = qparams(context, name + ".context");
    A.logits_m =
        multiplier(static_cast<double>(q.scale) * kv.scale * A.logit_factor / A.logits.scale,
                   name + " logits multiplier");
    A.context_m =
        multiplier(static_cast<double>(kv.scale) / (255.0 * static_cast<double>(A.context.scale)),
                   name + " context multiplier");
    return A;
  }

  // One post-LN Transformer / funnel encoder layer of width D on input params in_q.
  TransformerLayerRt transformer_layer(const fb::TransformerLayer* l, const std::string& name,
                                       int64_t D, int64_t H, int64_t I, QParams in_q, bool scalar,
                                       bool unscaled, int32_t max_pool_window) const {
    need(l, name);
    TransformerLayerRt L;
    check_int(l->pool_window(), 1, max_pool_window, name + ".pool_window");
    L.pool_window = l->pool_window();
    check_int(l->num_heads(), H, H, name + ".num_heads");
    L.query = dense(l->query(), name + ".query", D, D, in_q);
    L.key_value = dense(l->key_value(), name + ".key_value", D, 2 * D, in_q);
    L.attn = attention(l->num_heads(), l->logit_factor(), l->logits(), l->logits_exp(),
                       l->context(), L.query.out, L.key_value.out, D, unscaled, name);
    L.output = dense(l->output(), name + ".output", D, D, L.attn.context);
    L.norm1 = layer_norm(l->norm1(), name + ".norm1", D, scalar);
    L.ffn_in = dense(l->ffn_in(), name + ".ffn_in", D, I, L.norm1.out);
    L.ffn_out = dense(l->ffn_out(), name + ".ffn_out", I, D, L.ffn_in.out);
    L.norm2 = layer_norm(l->norm2(), name + ".norm2", D, scalar);
    for (const DenseLayer* d : {&L.query, &L.key_value, &L.output, &L.ffn_in, &L.ffn_out})
      count(*d);
    return L;
  }

  // architecture "byteseq2seq": ByteTransformer encoder and MAtt decoder.
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

    // encoder
    // absent (format v1): the kind the seq2seq section configures
    const std::string encoder =
        cfg->encoder() ? str(cfg->encoder()) : std::string(seq2seq_section_encoder().name);
    const EncoderKindInfo* kind = find_encoder_kind(encoder);
    QParams h_q;
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
      const bool section = v2_kind->seq2seq_section;
      if (!section) {
        // the info fields describe the encoder configured by the model section
        info.transformer_layers = info.num_heads = info.intermediate_size = 0;
        info.attention_scale.clear();
        info.layer_norm.clear();
      }
      auto cn = std::make_shared<ClassifierNet>();
      int64_t E = 0;
      const fb::AttentionPool* pool = nullptr;
      const fb::Dense* head = nullptr;
      load_encoder_tables(m->encoder_type(), m->encoder(), *v2_kind, "encoder", section ? 0 : 1,
                          info, *cn, &E, &h_q, &pool, &head);
      if (pool != nullptr || head != nullptr) {
        fail("encoder.tensors", "no pool or head (a seq2seq encoder)", "a classifier's layers");
      }
      if (section) info.pool_windows.clear();  // as format v1 reports the default encoder
      enc.max_source = v2_kind->attention ? std::min<int64_t>(info.max_length, cn->max_positions)
                                          : info.max_length;
      const int64_t layers = v2_kind->attention ? info.transformer_layers : info.qrnn_layers;
      check_int(cfg->encoder_layers(), layers, layers, "seq2seq_config.encoder_layers");
      enc.dim = E;
      enc.out = h_q;
      enc.classifier = std::move(cn);
    } else if (kind == nullptr || kind->projection) {
      fail("seq2seq_config.encoder", "a byte encoder: " + encoder_kind_names_quoted(),
           "\"" + encoder + "\"");
    } else if (!kind->seq2seq_section) {
      // an encoder configured by the model section (no pool or head); the info fields describe it
      auto cn = std::make_shared<ClassifierNet>();
      int64_t E = 0;
      info.transformer_layers = info.num_heads = info.intermediate_size = 0;
      info.attention_scale.clear();
      info.layer_norm.clear();
      const std::string named = " (seq2seq_config.encoder \"" + encoder + "\")";
      if (!kind->attention) {
        if (s->encoder() != nullptr) fail("seq2seq.encoder", "none" + named, "a table");
        load_qrnn(cfg->qrnn_config(), s->qrnn_encoder(), "seq2seq_config.qrnn_config",
                  "seq2seq.qrnn_encoder", info, *cn, &E, &h_q);
        if (s->qrnn_encoder()->pool() != nullptr || s->qrnn_encoder()->head() != nullptr) {
          fail("seq2seq.qrnn_encoder", "no pool or head", "a classifier's layers");
        }
        enc.max_source = info.max_length;
      } else {
        if (s->qrnn_encoder() != nullptr) fail("seq2seq.qrnn_encoder", "none" + named, "a table");
        load_transformer(cfg->transformer_config(), s->encoder(),
                         "seq2seq_config.transformer_config", "seq2seq.encoder", *kind,
                         "\"" + encoder + "\" (seq2seq_config.encoder)", info, *cn, &E, &h_q);
        if (s->encoder()->pool() != nullptr || s->encoder()->head() != nullptr) {
          fail("seq2seq.encoder", "no pool or head", "a classifier's layers");
        }
        enc.max_source = std::min<int64_t>(info.max_length, cn->max_positions);
      }
      const int64_t layers = kind->attention ? info.transformer_layers : info.qrnn_layers;
      check_int(cfg->encoder_layers(), layers, layers, "seq2seq_config.encoder_layers");
      enc.dim = E;
      enc.out = h_q;
      enc.classifier = std::move(cn);
    } else {
      // the encoder configured by the seq2seq section: the registry's attention encoder of
      // width D without bottleneck, its hyperparameters read above (format v1 stores no
      // TransformerConfig for it), loaded and run as every other encoder (classifier_encode)
      if (s->qrnn_encoder() != nullptr) {
        fail("seq2seq.qrnn_encoder", "none (seq2seq_config.encoder \"" + encoder + "\")",
             "a table");
      }
      const fb::ByteTransformer* e = need(s->encoder(), "seq2seq.encoder");
      if (e->bottleneck() != nullptr || e->pool() != nullptr || e->head() != nullptr) {
        fail("seq2seq.encoder", "no bottleneck, pool or head", "a classifier's layers");
      }
      auto cn = std::make_shared<ClassifierNet>();
      int64_t E = 0;
      load_transformer_tensors(e, "seq2seq.encoder", *kind, nullptr, info, *cn, &E, &h_q);
      info.pool_windows.clear();  // none in the seq2seq section (ModelInfo as format v1 gave it)
      enc.max_source = std::min<int64_t>(info.max_length, cn->max_positions);
      enc.dim = E;
      enc.out = h_q;
      enc.classifier = std::move(cn);
    }

    // decoder
    MattDecoderRt& dec = net.decoder;
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
    params_ -= kVocab * D;  // the logits weight is the tied embedding (counted once)
  }

  EmbeddingRt embedding_rt(const fb::Embedding* e, const std::string& what, int64_t rows,
                           int64_t dim) const {
    EmbeddingRt r;
    r.rows = rows;
    r.dim = dim;
    r.table = embedding_table(e, what, rows, dim, &r.q);
    return r;
  }

 private:
  std::string file_;
  mutable int64_t params_ = 0;
};

std::unique_ptr<LoadedModel> load_view(FileView view, const std::string& name) {
  const HeaderInfo h = check_header(view, name);
  auto lm = std::make_unique<LoadedModel>();
  lm->info.path = name;
  lm->info.format_version = h.version;
  lm->info.checksum = h.checksum;
  lm->info.file_bytes = static_cast<int64_t>(view.size);
  Loader(name).load(h, *lm);
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
