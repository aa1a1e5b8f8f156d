#include "train/run.h"

#include <sys/stat.h>

#include <cstdarg>
#include <cstdio>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "train/distributed.h"
#include "train/export.h"
#include "train/seq2seq_trainer.h"

namespace bytelite {

namespace {
std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

// The training data files of a run, for summary.json (and the report's model card).
nlohmann::json data_files(const TrainOptions& o) {
  nlohmann::json d = nlohmann::json::object();
  for (const auto& [key, path] :
       {std::pair<const char*, std::string>{"train", o.train_path}, {"valid", o.valid_path}}) {
    struct stat st {};
    if (path.empty()) continue;
    d[key] = {{"path", path},
              {"bytes", ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1}};
  }
  return d;
}

void check_non_negative(const char* name, long v) {
  if (v < 0) {
    throw ConfigError(std::string(name) + ": expected an integer >= 0, found " + std::to_string(v));
  }
}
}  // namespace

void apply_train_overrides(ExperimentConfig& cfg, const TrainOverrides& o) {
  check_non_negative("max_steps", o.max_steps);
  check_non_negative("epochs", o.epochs);
  check_non_negative("threads", o.threads);
  if (!o.qat.empty() && o.qat != "on" && o.qat != "off") {
    throw ConfigError("qat: expected \"on\" or \"off\", found \"" + o.qat + "\"");
  }
  if (o.max_steps > 0) cfg.train.max_steps = o.max_steps;
  if (o.epochs > 0) {
    cfg.train.epochs = o.epochs;
    if (o.max_steps == 0) cfg.train.max_steps = 0;
  }
  if (o.threads > 0) cfg.train.threads = o.threads;
  if (o.seed >= 0) cfg.train.seed = static_cast<unsigned long>(o.seed);
  if (!o.qat.empty()) cfg.quantization.enabled = o.qat == "on";
  if (o.skip_bad_rows) cfg.data.skip_bad_rows = true;
}

RunSummary run_train(const ExperimentConfig& cfg, const TrainOptions& o,
                     const std::string& init_from) {
  RunSummary out;
  if (cfg.task == "seq2seq") {
    Seq2SeqTrainResult r = train_seq2seq(cfg, o, init_from);
    if (!is_output_rank()) return out;  // data parallelism: rank 0 writes and reports
    out.summary = {{"task", "seq2seq"},
                   {"parameters", r.parameter_count},
                   {"steps", r.steps},
                   {"train_seconds", r.seconds},
                   {"valid", r.valid},
                   {"qat", cfg.quantization.enabled},
                   {"model", r.model_path},
                   {"model_bytes", r.model_bytes},
                   {"threads", cfg.train.threads},
                   {"init_from", init_from},
                   {"data", data_files(o)}};
    write_file_atomic(o.out_dir + "/summary.json", out.summary.dump(2) + "\n");
    out.lines.push_back(fmt("trained %lld steps in %.1fs; valid %s",
                            static_cast<long long>(r.steps), r.seconds, r.valid.dump().c_str()));
    if (r.model_path.empty()) {
      out.lines.push_back("no int8 model: trained without QAT (--qat on to get OUT/model.blt)");
    } else {
      out.lines.push_back(fmt("int8 model: %s (%lld bytes)", r.model_path.c_str(),
                              static_cast<long long>(r.model_bytes)));
    }
    return out;
  }
  TrainResult r = train_classifier(cfg, o, init_from);
  if (!is_output_rank()) return out;  // data parallelism: rank 0 exports, writes and reports
  // The int8 model for the runtime, from the best checkpoint (QAT models only: a float model
  // has no activation ranges to quantize with).
  ExportSummary ex;
  std::string model_note;
  if (!cfg.quantization.enabled) {
    model_note = "no int8 model: trained without QAT (--qat on to get OUT/model.blt)";
  } else if (r.best_step == 0) {
    model_note = "no int8 model: no evaluation finished, so there is no best checkpoint";
  } else {
    ex = export_checkpoint(r.best_checkpoint, o.out_dir + "/model.blt");
  }
  out.summary = {{"parameters", r.parameter_count},
                 {"int8_bytes", r.int8_bytes},
                 {"steps", r.steps},
                 {"best_step", r.best_step},
                 {"best_valid_metric", r.best_metric},
                 {"metric", cfg.train.metric},
                 {"train_seconds", r.seconds},
                 {"stopped_early", r.stopped_early},
                 {"qat", cfg.quantization.enabled},
                 {"model", ex.path},
                 {"model_bytes", ex.model_bytes},
                 {"float_bytes", ex.float_bytes},
                 {"threads", cfg.train.threads},
                 {"init_from", init_from},
                 {"data", data_files(o)}};
  write_file_atomic(o.out_dir + "/summary.json", out.summary.dump(2) + "\n");
  out.lines.push_back(
      fmt("trained %lld steps in %.1fs; best step %lld: valid %s %.4f, roc_auc %.4f",
          static_cast<long long>(r.steps), r.seconds, static_cast<long long>(r.best_step),
          cfg.train.metric.c_str(), r.best_metric, r.best_valid.roc_auc));
  out.lines.push_back("best checkpoint: " + r.best_checkpoint);
  if (ex.path.empty()) {
    out.lines.push_back(model_note);
  } else {
    out.lines.push_back(fmt("int8 model: %s (%lld bytes; float32 %lld bytes)", ex.path.c_str(),
                            static_cast<long long>(ex.model_bytes),
                            static_cast<long long>(ex.float_bytes)));
  }
  return out;
}

void apply_pretrain_overrides(ExperimentConfig& cfg, const PretrainOverrides& o) {
  check_non_negative("steps", o.steps);
  check_non_negative("threads", o.threads);
  auto& pc = cfg.pretrain;
  cfg.has_pretrain = true;
  if (o.steps > 0) pc.steps = o.steps;
  if (o.threads > 0) pc.threads = o.threads;
  if (o.seed >= 0) pc.seed = static_cast<unsigned long>(o.seed);
  if (!o.heldout.empty()) pc.heldout = o.heldout == "none" ? "" : o.heldout;
}

RunSummary run_pretrain(const ExperimentConfig& cfg, const PretrainOptions& o) {
  PretrainResult r = pretrain_encoder(cfg, o);
  RunSummary out;
  if (!is_output_rank()) return out;  // data parallelism: rank 0 writes and reports
  out.summary = {{"steps", r.steps},
                 {"init_from", o.init_from},
                 {"heldout_loss", r.heldout_loss},
                 {"heldout_accuracy", r.heldout_accuracy},
                 {"train_loss", r.train_loss},
                 {"train_accuracy", r.train_accuracy},
                 {"seconds", r.seconds},
                 {"bytes_per_s", r.bytes_per_s},
                 {"threads", cfg.pretrain.threads},
                 {"checkpoint", r.checkpoint}};
  write_file_atomic(o.out_dir + "/summary.json", out.summary.dump(2) + "\n");
  out.lines.push_back(
      fmt("pretrained %lld steps in %.1fs (%.0f bytes/s); held-out loss %.4f, masked-byte "
          "accuracy %.4f",
          static_cast<long long>(r.steps), r.seconds, r.bytes_per_s, r.heldout_loss,
          r.heldout_accuracy));
  out.lines.push_back("checkpoint: " + r.checkpoint + " (bytelite train ... --init-from " +
                      o.out_dir + ")");
  return out;
}

nlohmann::json export_any(const std::string& checkpoint, const std::string& out_path) {
  struct stat st {};
  const std::string pt = checkpoint + "/model.pt";
  if (::stat(pt.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {  // a seq2seq training directory
    const int64_t bytes = export_seq2seq_checkpoint(checkpoint, out_path);
    return {{"task", "seq2seq"}, {"path", out_path}, {"model_bytes", bytes}};
  }
  ExportSummary s = export_checkpoint(checkpoint, out_path);
  return {{"task", "classify"},
          {"path", s.path},
          {"model_bytes", s.model_bytes},
          {"parameter_count", s.parameter_count},
          {"float_bytes", s.float_bytes}};
}

}  // namespace bytelite
