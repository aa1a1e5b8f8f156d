#include "train/seq2seq_export.h"

#include <cmath>
#include <string>
#include <vector>

#include "bytelite/errors.h"
#include "runtime/model_file.h"
#include "runtime/models/classifier_net.h"
#include "train/encoder_registry.h"
#include "train/fb_writer.h"

namespace bytelite {

std::string export_seq2seq_bytes(ByteSeq2SeqImpl& m, const Seq2SeqExportInfo& info) {
  torch::NoGradGuard ng;
  FbWriter w(info.source_checkpoint.empty() ? std::string("seq2seq model")
                                            : info.source_checkpoint);
  if (!m.qat->enabled) {
    w.fail("quantization-aware training is disabled (expected a model trained with QAT)");
  }
  auto& b = w.builder();
  const Seq2SeqConfig& c = m.cfg;
  const int64_t D = c.dim;
  const float factor = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D / c.num_heads)));

  // the encoder (the registry's unit of its kind), without pooling or head
  const TrainEncoderUnit& unit = *m.classifier->unit;
  const WrittenEncoder enc = unit.write(w, *m.classifier, nullptr);
  const fb::QuantParams h_q = enc.out_q;  // the key/value layers' input

  // decoder
  auto demb = w.table(m.embedding, w.act(m.embedding_quant, "embedding_quant"));
  auto dpos = w.table(m.position, w.act(m.position_quant, "position_quant"));
  auto dnorm = w.layer_norm(m.dec_norm, "dec_norm");
  fb::QuantParams x_q = w.act(m.dec_norm->out_quant, "dec_norm.out_quant");
  std::vector<flatbuffers::Offset<fb::MattDecoderLayer>> dec_layers;
  for (size_t i = 0; i < m.decoder->size(); ++i) {
    auto l = m.decoder[i]->as<MattDecoderLayer>();
    const std::string name = "decoder." + std::to_string(i);
    const fb::QuantParams uq = w.act(l->uniform->out_quant, name + ".uniform.out_quant");
    const fb::QuantParams aq = w.act(l->average_quant, name + ".average_quant");
    const fb::QuantParams qq = w.act(l->query->out_quant, name + ".query.out_quant");
    const fb::QuantParams kvq = w.act(l->key_value->out_quant, name + ".key_value.out_quant");
    const fb::QuantParams lq = w.act(l->logits_quant, name + ".logits_quant");
    const fb::QuantParams cq = w.act(l->context_quant, name + ".context_quant");
    const fb::QuantParams mq = w.act(l->merge_quant, name + ".merge_quant");
    const fb::QuantParams oq = w.act(l->output->out_quant, name + ".output.out_quant");
    const fb::QuantParams n1 = w.act(l->norm1->out_quant, name + ".norm1.out_quant");
    const fb::QuantParams fiq = w.act(l->ffn_in->out_quant, name + ".ffn_in.out_quant");
    const fb::QuantParams foq = w.act(l->ffn_out->out_quant, name + ".ffn_out.out_quant");
    auto uniform = w.dense(l->uniform, x_q, uq, name + ".uniform");
    auto query = w.dense(l->query, x_q, qq, name + ".query");
    auto kv = w.dense(l->key_value, h_q, kvq, name + ".key_value");
    auto lexp = w.exp_table(lq.scale());
    auto output = w.dense(l->output, mq, oq, name + ".output");
    auto norm1 = w.layer_norm(l->norm1, name + ".norm1");
    auto ffn_in = w.dense(l->ffn_in, n1, fiq, name + ".ffn_in");
    auto ffn_out = w.dense(l->ffn_out, fiq, foq, name + ".ffn_out");
    auto norm2 = w.layer_norm(l->norm2, name + ".norm2");
    dec_layers.push_back(fb::CreateMattDecoderLayer(b, static_cast<int32_t>(l->heads), uniform, &aq,
                                                    query, kv, factor, &lq, lexp, &cq, &mq, output,
                                                    norm1, ffn_in, ffn_out, norm2));
    x_q = w.act(l->norm2->out_quant, name + ".norm2.out_quant");
  }
  auto dlv = b.CreateVector(dec_layers);
  auto logits = w.dense(m.embedding, m.logits_bias, false, x_q,
                        w.act(m.logits_quant, "logits_quant"), "logits");
  // format v2: the encoder is Model.encoder (no ByteSeq2Seq.encoder / qrnn_encoder, no
  // Seq2SeqConfig.encoder or encoder config tables)
  auto s2s = fb::CreateByteSeq2Seq(b, 0, demb, dpos, dnorm, dlv, logits, 0);
  const ModelConfig& mc = m.classifier->cfg;
  // encoder layers and GBST: those of the encoder used
  const int64_t enc_layers = unit.kind->attention ? mc.transformer_layers : mc.qrnn_layers;
  const int64_t gbst_w = mc.gbst_max_block_width, gbst_k = mc.gbst_conv_kernel_size,
                gbst_r = mc.gbst_downsample_rate;
  auto scfg = fb::CreateSeq2SeqConfig(
      b, static_cast<int32_t>(D), static_cast<int32_t>(c.num_heads),
      static_cast<int32_t>(c.intermediate_size), static_cast<int32_t>(enc_layers),
      static_cast<int32_t>(c.decoder_layers), static_cast<int32_t>(c.max_source),
      static_cast<int32_t>(c.max_target), static_cast<int32_t>(gbst_w),
      static_cast<int32_t>(gbst_k), static_cast<int32_t>(gbst_r), info.beam_size,
      static_cast<float>(info.length_penalty));

  auto tok = fb::CreateTokenizer(b, static_cast<int32_t>(c.max_source), 3, 0, 259, false);
  auto producer = b.CreateString(std::string("bytelite ") + kVersionString);
  auto source = b.CreateString(info.source_checkpoint);
  auto text_col = b.CreateString(info.source_column);
  auto label_cols = b.CreateVectorOfStrings(std::vector<std::string>{info.target_column});
  fb::ModelBuilder mb(b);
  mb.add_producer(producer);
  mb.add_tokenizer(tok);
  mb.add_source_checkpoint(source);
  mb.add_training_step(info.training_step);
  mb.add_trained_parameters(m.parameter_count());
  mb.add_float_bytes(4 * w.params());
  mb.add_text_column(text_col);
  mb.add_label_columns(label_cols);
  mb.add_seq2seq(s2s);
  mb.add_seq2seq_config(scfg);
  mb.add_model_type(fb::ModelType::Seq2Seq);
  mb.add_encoder_kind(schema_kind(unit.kind->kind));
  mb.add_encoder_type(enc.type);
  mb.add_encoder(enc.tables);
  auto root = mb.Finish();
  fb::FinishModelBuffer(b, root);
  return rt::make_model_file(b.GetBufferPointer(), b.GetSize(), kModelFormatVersion);
}

std::shared_ptr<const Model> export_seq2seq_model(ByteSeq2SeqImpl& m,
                                                  const Seq2SeqExportInfo& info) {
  return Model::from_bytes(export_seq2seq_bytes(m, info), info.source_checkpoint.empty()
                                                              ? "<seq2seq export>"
                                                              : info.source_checkpoint);
}

std::shared_ptr<const rt::Seq2SeqNet> export_seq2seq(ByteSeq2SeqImpl& m) {
  auto model = export_seq2seq_model(m);
  const rt::Seq2SeqNet* net = model->impl().seq2seq.get();
  return std::shared_ptr<const rt::Seq2SeqNet>(model, net);
}

}  // namespace bytelite
