// The one training loop of bytelite (issue 13): a Trainer that owns what every task shares, and
// a TrainTask interface for what differs. The idea (one Train loop, a scheduler, a serialized
// training state) follows marian's training/training.h and scheduler.h.
//
// The Trainer owns: the AdamW optimizer built from the task's parameter groups, the learning-rate
// schedule (learning_rate_at, trainer.h), the QAT switch (quantization.warmup_steps), --init-from
// (on a fresh run, the task's init_from() before the step-0 checkpoint; ignored with --resume),
// LP-FT freezing (the task's frozen parameters get no update during the first freeze_steps steps),
// global gradient-norm clipping, the non-finite loss / gradient-norm stop, the evaluation cadence,
// best-metric tracking and early stopping, --stop-after, the progress line after each evaluation
// ("[eval] step N | <the task's summary>[ | best so far (saved)]", on stderr), the JSONL log
// (OUT/..._log.jsonl, one record per evaluation, rewritten atomically) and the one resumable
// checkpoint format below.
// Tasks (classify: train/trainer.cc, pretrain: train/pretrain.cc, seq2seq:
// train/seq2seq_trainer.cc) supply data, model, batch -> loss, evaluation, progress text, their
// own files (best.ckpt, model.blt) and extra state.
//
// Resumable checkpoint (one format for all tasks; a torch archive written atomically):
//   the module's tensors (parameters and buffers, by name, as torch::nn::Module::save writes them);
//   the task's description under its own key (write_meta: "bytelite_meta" for classifiers,
//   "bytelite_pretrain_meta", "bytelite_seq2seq_config");
//   "bytelite_trainer_state": JSON {"step", "rng_state" (libtorch's CPU generator, bytes), "log"
//   (the JSONL log so far), "best_metric", "best_step", "bad_evals", plus the task's state fields
//   (e.g. "sampler": a std::mt19937 in its stream form)};
//   "bytelite_optimizer": the optimizer's archive (AdamW moments and step counts).
// Older checkpoints: classifier and pretraining last.ckpt of before issue 13 have the same layout
// without "log" (the log file on disk is kept and appended to); seq2seq model.pt of before issue 13
// used the keys "bytelite_seq2seq_trainer_state" ("torch_rng" for "rng_state") and
// "bytelite_seq2seq_optimizer", which are read as well. Anything else is rejected with a one-line
// ModelFileError.
//
// Data parallelism (docs/distributed.md): with WORLD_SIZE > 1 in the environment (torchrun's
// variables) the Trainer joins the process group (DataParallel), checks at the start that every
// rank has the same config and data and copies rank 0's weights to all, averages gradients, the
// floating-point buffers (QAT ranges, batch-norm statistics) and the loss over the ranks after
// each backward pass, and checks at each evaluation that every rank holds the same model. Every
// rank evaluates (the same model on the same data, so the same best-checkpoint and
// early-stopping decisions); only rank 0 writes the log and the checkpoints. Tasks give each rank
// its share of the global batch.
//
// Reproducibility: the same config, data, seed and thread count give the same weights; a run
// stopped (--stop-after, or killed after a save) and resumed gives the weights of an
// uninterrupted one (same thread count), since the checkpoint holds every random stream.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/config.h"
#include "train/distributed.h"
#include "train/fake_quant.h"

namespace bytelite {

/// One optimizer parameter group: its tensors and its decoupled weight decay.
struct ParamGroup {
  std::vector<torch::Tensor> params;
  double weight_decay = 0;
};

/// What a task's evaluation gives the Trainer.
struct Evaluation {
  nlohmann::json record;  // the JSONL log line (an object; must hold "step")
  double metric = NAN;    // higher is better; NaN: the task selects no best checkpoint
};

/// A training task. The Trainer calls, in this order: parameter_groups() once; on --resume
/// check_resume(), then restore(); else init_from() (with TrainerSettings::init_from), start();
/// then begin(); then per step loss(), after_step();
/// at each evaluation evaluate(), on_best() when the metric improved, write_meta() with each save,
/// eval_summary() for the progress line.
class TrainTask {
 public:
  virtual ~TrainTask() = default;
  /// The module trained and saved (its parameters are clipped together).
  virtual torch::nn::Module& module() = 0;
  /// AdamW parameter groups (every trained parameter in exactly one).
  virtual std::vector<ParamGroup> parameter_groups() = 0;
  /// LP-FT: parameters frozen during the first freeze_steps steps (every task: its encoder).
  virtual std::vector<torch::Tensor> frozen_parameters() { return {}; }
  /// --init-from (a fresh run only; TrainerSettings::init_from): copies weights from the
  /// checkpoint at path into module() before the step-0 checkpoint, leaving libtorch's generator
  /// as it was. Returns the line printed (verbose; "" = none). Throws ModelFileError /
  /// ConfigError when the checkpoint does not fit the task's model (naming the tensor or key).
  virtual std::string init_from(const std::string& path) = 0;
  /// Writes the task's description into a checkpoint (the module's tensors are already in).
  virtual void write_meta(torch::serialize::OutputArchive& archive) = 0;
  /// --resume: throws ConfigError / ModelFileError when the checkpoint at path (its archive)
  /// does not belong to this run.
  virtual void check_resume(torch::serialize::InputArchive& archive, const std::string& path) = 0;
  /// Extra state saved in the checkpoint's trainer state (keys other than the Trainer's).
  virtual nlohmann::json state() { return nlohmann::json::object(); }
  /// --resume: restores the task's state (the whole trainer state; "step" is the next step's
  /// 0-based index) after the module, optimizer and libtorch generator were restored.
  virtual void restore(const nlohmann::json& state) { (void)state; }
  /// A fresh run, before the step-0 checkpoint is saved.
  virtual void start() {}
  /// After start() or restore(), before the first step of this run (first_step: 0-based).
  virtual void begin(int64_t first_step) { (void)first_step; }
  /// The scalar loss of the next batch; step is 0-based. The module is in train mode.
  virtual torch::Tensor loss(int64_t step) = 0;
  /// After the optimizer step; step counts the steps done (1-based), loss is the step's loss.
  virtual void after_step(int64_t step, double loss, double lr) = 0;
  /// Evaluates at step (steps done); the module must be back in train mode on return.
  virtual Evaluation evaluate(int64_t step, double lr) = 0;
  /// The metric improved at step: save the best model.
  virtual void on_best(int64_t step, const Evaluation& e) { (void)step, (void)e; }
  /// The task's part of the progress line the Trainer prints after an evaluation, e.g.
  /// "loss 0.6526 | valid macro_f1 0.5805 roc_auc 0.6134" (the Trainer adds "[eval] step N | "
  /// before it and " | best so far (saved)" after it when the metric improved).
  virtual std::string eval_summary(const Evaluation& e) = 0;
};

struct TrainerSettings {
  std::string what = "training";               // in messages: "training" | "pretraining"
  std::string lr_key = "train.learning_rate";  // the config key named by the non-finite stop
  TrainConfig schedule;                        // learning_rate_at's fields, adam_* and grad_clip
  int64_t total_steps = 0;                     // the schedule's length
  int64_t stop_step = 0;                       // the last step of this run (<= total_steps)
  int64_t eval_every = 0;                      // evaluate every this many steps and at stop_step
  int64_t freeze_steps = 0;                    // LP-FT (TrainTask::frozen_parameters)
  std::string init_from;            // --init-from: TrainTask::init_from on a fresh run ("" = none)
  int early_stopping_patience = 0;  // evaluations without improvement (0 = off)
  int64_t stop_after = 0;           // stop at the first evaluation at or after this step (0 = off)
  QatStatePtr qat;                  // active from qat_warmup_steps on (null: no QAT)
  int64_t qat_warmup_steps = 0;
  std::string checkpoint_path;  // the resumable checkpoint (last.ckpt, model.pt)
  std::string log_path;         // the JSONL log
  bool resume = false;
  bool verbose = true;
  std::function<void(const nlohmann::json& record)> on_eval = nullptr;
  // Data parallelism (train/distributed.h; active when WORLD_SIZE > 1): the config every rank
  // must share (without the per-rank thread counts), the data files whose contents every rank
  // must share, and the global batch (per-rank batch x WORLD_SIZE), saved in the checkpoint so
  // that --resume with another world size checks it is unchanged (0: not checked).
  std::string config_json;
  std::vector<std::string> data_files;
  int64_t global_batch = 0;
};

struct TrainerResult {
  int64_t first_step = 0;  // the step this run started from (> 0 after --resume)
  int64_t steps = 0;       // steps done in total
  int64_t best_step = 0;   // 0: no best (no evaluation with a metric)
  double best_metric = -1e30;
  bool stopped_early = false;  // early stopping
  bool interrupted = false;    // --stop-after before stop_step
};

class Trainer {
 public:
  Trainer(TrainTask& task, TrainerSettings settings);
  /// Runs from step 0 (or the checkpoint's step with resume) to stop_step. Throws
  /// TrainingError when the loss or the gradient norm is not finite (naming the step, the value,
  /// the learning rate and the last checkpoint), ModelFileError / ConfigError (resume), and
  /// whatever the task and on_eval throw.
  TrainerResult run();
  torch::optim::Optimizer& optimizer() { return *optimizer_; }

 private:
  void save(int64_t step);
  void load();
  bool writes_outputs() const;

  TrainTask& task_;
  TrainerSettings s_;
  DataParallel* dp_ = nullptr;  // null: one process
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::string log_;
  double best_metric_ = -1e30;
  int64_t best_step_ = 0;
  int bad_evals_ = 0;
  int64_t step_ = 0;
};

/// Learning rate at a 0-based step for the schedule in cfg (total = planned steps): linear
/// warm-up over lr_warmup_steps, then "cosine" / "linear" decay to min_lr_ratio * learning_rate,
/// "constant", or "cosine_clamped" (peak * max(f, min_lr_ratio), f the warm-up then a cosine to 0).
double learning_rate_at(const TrainConfig& cfg, int64_t step, int64_t total);

/// libtorch's default CPU generator state as bytes (for JSON), and back.
std::vector<int> torch_rng_bytes();
void set_torch_rng_bytes(const std::vector<int>& bytes);

}  // namespace bytelite
