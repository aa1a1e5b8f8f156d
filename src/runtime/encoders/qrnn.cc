// The ByteQRNN encoder unit (encoder kind "qrnn"): byte embedding -> bottleneck (dense, ReLU)
// -> GBST -> bidirectional QRNN layers; its loader (ByteQrnnConfig + ByteQrnn tables: the
// QrnnEncoder union member, format v1's `config` / `byteqrnn` and seq2seq `qrnn_config` /
// `qrnn_encoder` fields) and its int8 forward, batched too. Mirrors the "qrnn" unit of
// src/train/encoder_registry.cc.
#include <iterator>
#include <utility>

#include "runtime/encoders/encoder_unit.h"
#include "runtime/model_loader.h"

namespace bytelite::rt {

LoadedEncoder load_byte_qrnn(const Loader& ld, const EncoderKindInfo& kind,
                             const fb::ByteQrnnConfig* config, const fb::ByteQrnn* qrnn,
                             const std::string& cfg_name, const std::string& prefix,
                             ModelInfo& info, ClassifierNet& net, const QParams* gbst_in) {
  info.encoder = kind.name;
  net.kind = kind.kind;
  const fb::ByteQrnnConfig* cfg = ld.need(config, cfg_name);
  info.embedding_size = cfg->embedding_size();
  info.bottleneck_size = cfg->bottleneck_size();
  info.gbst_max_block_width = cfg->gbst_max_block_width();
  info.gbst_conv_kernel_size = cfg->gbst_conv_kernel_size();
  info.gbst_downsample_rate = cfg->gbst_downsample_rate();
  info.qrnn_state_size = cfg->qrnn_state_size();
  info.qrnn_kernel_width = cfg->qrnn_kernel_width();
  info.qrnn_layers = cfg->qrnn_layers();
  ld.check_int(info.embedding_size, 1, limits::kMaxWidth, cfg_name + ".embedding_size");
  ld.check_int(info.bottleneck_size, 1, limits::kMaxWidth, cfg_name + ".bottleneck_size");
  ld.check_gbst(info, cfg_name);
  ld.check_int(info.qrnn_state_size, 1, limits::kMaxWidth, cfg_name + ".qrnn_state_size");
  ld.check_int(info.qrnn_kernel_width, 1, limits::kMaxKernel, cfg_name + ".qrnn_kernel_width");
  ld.check_int(info.qrnn_layers, 1, limits::kMaxQrnnLayers, cfg_name + ".qrnn_layers");

  const fb::ByteQrnn* q = ld.need(qrnn, prefix);

  // embedding
  const fb::Embedding* emb = ld.need(q->embedding(), prefix + ".embedding");
  ld.check_int(emb->vocab_size(), kVocab, kVocab, prefix + ".embedding.vocab_size");
  ld.check_int(emb->dim(), info.embedding_size, info.embedding_size, prefix + ".embedding.dim");
  const int64_t F = emb->dim();
  ld.check_size(emb->table(), kVocab * F, prefix + ".embedding.table",
                std::to_string(kVocab) + " x " + std::to_string(F));
  net.vocab_size = kVocab;
  net.embedding_size = static_cast<int32_t>(F);
  net.embedding = emb->table()->data();
  net.embedding_q = ld.qparams(emb->output(), prefix + ".embedding.output");
  ld.add_params(kVocab * F);

  // bottleneck
  const int64_t D = info.bottleneck_size;
  net.bottleneck = ld.dense(q->bottleneck(), prefix + ".bottleneck", F, D, net.embedding_q);
  ld.count(net.bottleneck);

  ld.load_gbst(q->gbst(), prefix + ".gbst", D, gbst_in != nullptr ? *gbst_in : net.bottleneck.out,
               info, net.gbst);
  const GbstLayer& G = net.gbst;
  // the byte front as tables; the GBST conv too when it reads the bottleneck (not qrnn_proj)
  const bool conv_table = gbst_in == nullptr && G.conv.w.k == G.conv_kernel * D;
  build_byte_tables(net.embedding, kVocab, F, net.bottleneck, conv_table ? &G : nullptr,
                    net.byte_tables);

  LoadedEncoder e;
  ld.load_qrnn_layers(q->qrnn(), prefix, D, G.mix, info, net, &e.width, &e.out);
  e.layers = info.qrnn_layers;
  e.prefix = prefix;
  e.pool = q->pool();
  e.head = q->head();
  return e;
}

namespace {

// ByteQRNN: everything up to the attention pooling (load_byte_qrnn, GBST on the bottleneck).
LoadedEncoder load_qrnn(const Loader& ld, const EncoderKindInfo& kind,
                        const fb::ByteQrnnConfig* config, const fb::ByteQrnn* qrnn,
                        const std::string& cfg_name, const std::string& prefix, ModelInfo& info,
                        ClassifierNet& net) {
  return load_byte_qrnn(ld, kind, config, qrnn, cfg_name, prefix, info, net, nullptr);
}

LoadedEncoder load(const Loader& ld, const EncoderKindInfo& kind, const void* tables,
                   const std::string& prefix, int /*min_layers*/, ModelInfo& info,
                   ClassifierNet& net) {
  const auto* t = static_cast<const fb::QrnnEncoder*>(tables);
  return load_qrnn(ld, kind, t->config(), t->tensors(), prefix + ".config", prefix + ".tensors",
                   info, net);
}

LoadedEncoder load_v1(const Loader& ld, const EncoderKindInfo& kind, const fb::Model& m,
                      ModelInfo& info, ClassifierNet& net) {
  return load_qrnn(ld, kind, m.config(), m.byteqrnn(), "config", "byteqrnn", info, net);
}

LoadedEncoder load_v1_seq2seq(const Loader& ld, const EncoderKindInfo& kind,
                              const fb::Seq2SeqConfig& cfg, const fb::ByteSeq2Seq& s,
                              ModelInfo& info, ClassifierNet& net) {
  if (s.encoder() != nullptr) {
    ld.fail("seq2seq.encoder", std::string("none (seq2seq_config.encoder \"") + kind.name + "\")",
            "a table");
  }
  return load_qrnn(ld, kind, cfg.qrnn_config(), s.qrnn_encoder(), "seq2seq_config.qrnn_config",
                   "seq2seq.qrnn_encoder", info, net);
}

ClassifierEncoding encode(const OpContext& c, const ClassifierNet& m, const int32_t* ids, int64_t T,
                          std::vector<int8_t>& a, std::vector<int8_t>& b) {
  const int64_t L = byte_front(c, m, false, ids, T, a, b);
  return qrnn_stack(c, m, L, m.bottleneck.w.n, m.gbst.mix, a, b);
}

// Embedding, bottleneck, GBST and the QRNN layers of N packed texts, each op one pass over
// the batch (ops.h gbst_batch, qrnn_layer_batch).
BatchEncoding encode_batch(const OpContext& c, const ClassifierNet& m, const int32_t* ids,
                           const int64_t* lens, int64_t N, Workspace& ws) {
  Profile* prof = c.profile;
  int64_t total = 0;
  for (int64_t i = 0; i < N; ++i) total += lens[i];
  const int64_t F = m.embedding_size;
  int8_t* x = grow(ws.a, total * F);
  {
    OpTimer tm(prof, Op::kEmbedding);
    embedding(m.embedding, F, ids, total, x);
  }
  const int64_t Bn = m.has_bottleneck ? m.bottleneck.w.n : F;
  int8_t* xb = x;
  if (m.has_bottleneck) {
    xb = grow(ws.b, total * Bn);
    OpTimer tm(prof, Op::kDense);
    dense(c, m.bottleneck, x, total, F, xb);
  }
  // GBST: lengths T_i -> ceil(T_i / rate), into whichever buffer does not hold its input.
  std::vector<int8_t>* cur = xb == ws.a.data() ? &ws.b : &ws.a;
  int64_t* len = grow(ws.lens, 2 * N);
  int64_t* glen = len + N;
  for (int64_t i = 0; i < N; ++i) len[i] = lens[i];
  const int64_t rate = m.gbst.downsample_rate;
  int64_t rows = 0;
  for (int64_t i = 0; i < N; ++i) rows += (len[i] + rate - 1) / rate;
  int8_t* h = grow(*cur, rows * Bn);
  gbst_batch(c, m.gbst, xb, len, N, h, glen);
  std::vector<int8_t>* nxt = cur == &ws.a ? &ws.b : &ws.a;
  int64_t C = Bn;
  for (const QrnnLayer& layer : m.qrnn) {
    const int64_t out = 2 * static_cast<int64_t>(layer.state_size);
    int8_t* y = grow(*nxt, rows * out);
    qrnn_layer_batch(c, layer, cur->data(), glen, N, C, y);
    std::swap(cur, nxt);
    C = out;
  }
  return BatchEncoding{cur, glen, C, kSignedUnitParams};
}

// model.* keys: the byte front's and the QRNN layers'.
constexpr auto kKeys = concat_keys(kByteFrontKeys, kQrnnKeys);

}  // namespace

extern const RuntimeEncoderUnit kQrnnEncoderUnit = {
    EncoderKind::kQrnn, fb::EncoderTables::QrnnEncoder, load, load_v1, load_v1_seq2seq, encode,
    encode_batch,       {kKeys.data(), kKeys.size()}};

}  // namespace bytelite::rt
