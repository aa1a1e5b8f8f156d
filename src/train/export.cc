#include "train/export.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "bytelite_model_generated.h"
#include "core/atomic_file.h"
#include "runtime/model_file.h"
#include "train/encoder_registry.h"
#include "train/fb_writer.h"

namespace bytelite {

namespace {

class Exporter : public FbWriter {
 public:
  Exporter(const LoadedCheckpoint& lc, std::string source) : FbWriter(std::move(source)), lc_(lc) {}

  std::string run();

 private:
  // Attention pooling and head from the encoder output params `in_q`.
  void pool_head(const fb::QuantParams& in_q, flatbuffers::Offset<fb::AttentionPool>* pool,
                 flatbuffers::Offset<fb::Dense>* head, fb::QuantParams* head_q);

  const LoadedCheckpoint& lc_;
};

void Exporter::pool_head(const fb::QuantParams& in_q, flatbuffers::Offset<fb::AttentionPool>* pool,
                         flatbuffers::Offset<fb::Dense>* head, fb::QuantParams* head_q) {
  auto& m = lc_.model;
  const bool max_pool = lc_.meta.config.model.pooling == "attention_max";
  const fb::QuantParams pscore_q = act(m->pool->score->out_quant, "pool.score.out_quant");
  const fb::QuantParams pool_q = act(m->pool->out_quant, "pool.out_quant");
  auto pscore = dense(m->pool->score, in_q, pscore_q, "pool.score");
  auto pexp = exp_table(pscore_q.scale());
  // "attention_max": [attention pooling; max over time] share the params of pool_concat_quant
  const fb::QuantParams concat_q =
      max_pool ? act(m->pool_concat_quant, "pool_concat_quant") : pool_q;
  *pool = fb::CreateAttentionPool(b_, pscore, pexp, &pool_q, max_pool, &concat_q);
  *head_q = act(m->head->out_quant, "head.out_quant");
  *head = dense(m->head, concat_q, *head_q, "head");
}

std::string Exporter::run() {
  torch::NoGradGuard ng;
  const ModelMeta& meta = lc_.meta;
  const ExperimentConfig& cfg = meta.config;
  const ModelConfig& mc = cfg.model;
  if (!cfg.quantization.enabled) {
    fail(
        "the checkpoint was trained without quantization-aware training (expected "
        "quantization.enabled true; retrain with --qat on)");
  }
  if (mc.norm_position != "post") {
    fail("the runtime runs post-norm Transformer layers, found model.norm_position \"" +
         mc.norm_position + "\"");
  }
  auto& m = lc_.model;
  const int64_t C = static_cast<int64_t>(meta.label_names.size());
  const bool max_pool = mc.pooling == "attention_max";
  const TrainEncoderUnit& unit = *m->unit;
  const int64_t enc_width = unit.width(mc);
  if (m->head->in_features != (max_pool ? 2 : 1) * enc_width) {
    // e.g. a pooling variant that concatenates more features before the head
    fail("the runtime supports attention pooling into a head of " + std::to_string(enc_width) +
         " inputs, found a head of " + std::to_string(m->head->in_features) +
         " inputs (another model.pooling?)");
  }

  // the encoder (its kind's unit), then pooling and head on its output
  fb::QuantParams head_q;
  const WrittenEncoder enc = unit.write(*this, *m, [&](const fb::QuantParams& out_q) {
    flatbuffers::Offset<fb::AttentionPool> pool;
    flatbuffers::Offset<fb::Dense> head;
    pool_head(out_q, &pool, &head, &head_q);
    return std::make_pair(pool, head);
  });

  // probabilities from the int8 logits
  flatbuffers::Offset<flatbuffers::Vector<float>> out_exp, out_sig;
  if (meta.multilabel) {
    std::vector<float> t(256);
    for (int i = 0; i < 256; ++i) {
      const double x = static_cast<double>(i - 128 - head_q.zero_point()) * head_q.scale();
      t[i] = static_cast<float>(1.0 / (1.0 + std::exp(-x)));
    }
    out_sig = b_.CreateVector(t);
  } else {
    std::vector<float> t(256);
    for (int d = 0; d < 256; ++d)
      t[d] = static_cast<float>(std::exp(-static_cast<double>(head_q.scale()) * d));
    out_exp = b_.CreateVector(t);
  }

  auto tok =
      fb::CreateTokenizer(b_, cfg.tokenizer.max_length, 3, 0, 259, cfg.tokenizer.lowercase_ascii);
  auto producer = b_.CreateString(std::string("bytelite ") + kVersionString);
  auto labels = b_.CreateVectorOfStrings(meta.label_names);
  auto thresholds = b_.CreateVector(meta.thresholds);
  auto source = b_.CreateString(source_);
  auto text_col = b_.CreateString(cfg.data.text_column);
  auto label_cols = b_.CreateVectorOfStrings(cfg.data.label_columns);
  if (static_cast<int64_t>(meta.label_names.size()) != C || C < 1) fail("no labels");

  fb::ModelBuilder mb(b_);
  mb.add_producer(producer);
  mb.add_labels(labels);
  mb.add_multilabel(meta.multilabel);
  mb.add_thresholds(thresholds);
  mb.add_tokenizer(tok);
  if (meta.multilabel) {
    mb.add_output_sigmoid(out_sig);
  } else {
    mb.add_output_exp(out_exp);
  }
  mb.add_source_checkpoint(source);
  mb.add_training_step(meta.step);
  mb.add_trained_parameters(m->parameter_count());
  mb.add_float_bytes(4 * params_);
  mb.add_text_column(text_col);
  mb.add_label_columns(label_cols);
  // format v2: the architecture as enums, the encoder as its union member
  mb.add_model_type(fb::ModelType::Classifier);
  mb.add_encoder_kind(schema_kind(unit.kind->kind));
  mb.add_encoder_type(enc.type);
  mb.add_encoder(enc.tables);
  auto root = mb.Finish();
  fb::FinishModelBuffer(b_, root);
  return rt::make_model_file(b_.GetBufferPointer(), b_.GetSize(), kModelFormatVersion);
}

std::string absolute(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) != nullptr) return buf;
  return p;
}

}  // namespace

std::string export_model_bytes(const LoadedCheckpoint& lc, const std::string& source_checkpoint) {
  return Exporter(lc, source_checkpoint).run();
}

ExportSummary export_model(const LoadedCheckpoint& lc, const std::string& source_checkpoint,
                           const std::string& out_path) {
  const std::string bytes = export_model_bytes(lc, source_checkpoint);
  write_file_atomic(out_path, bytes);
  auto model = Model::from_bytes(bytes, out_path);  // validates what was written
  ExportSummary s;
  s.path = out_path;
  s.model_bytes = static_cast<int64_t>(bytes.size());
  s.parameter_count = model->info().parameter_count;
  s.float_bytes = model->info().float_bytes;
  return s;
}

ExportSummary export_checkpoint(const std::string& checkpoint, const std::string& out_path) {
  LoadedCheckpoint lc = load_checkpoint(checkpoint);
  std::string file = checkpoint;
  struct stat st {};
  if (::stat(checkpoint.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) file += "/best.ckpt";
  return export_model(lc, absolute(file), out_path);
}

}  // namespace bytelite
