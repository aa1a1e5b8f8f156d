#include "train/trainer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>

#include "core/atomic_file.h"
#include "core/byte_tokenizer.h"
#include "core/errors.h"
#include "core/progress.h"
#include "train/batcher.h"
#include "train/checkpoint.h"
#include "train/encoder_registry.h"
#include "train/loop.h"
#include "train/pretrain.h"
#include "train/teacher_scores.h"

namespace bytelite {
namespace {

MetricInput metric_input(const EncodedDataset& d, const std::vector<float>& probs) {
  MetricInput in;
  in.multilabel = d.multilabel;
  in.num_labels = static_cast<int32_t>(d.num_labels);
  in.scores = probs;
  if (d.multilabel) {
    in.targets = d.targets;
  } else {
    in.labels = d.labels;
  }
  return in;
}

double metric_value(const EvalReport& r, const std::string& metric) {
  double v = metric == "roc_auc" ? r.roc_auc : r.macro_f1;
  return std::isnan(v) ? -1.0 : v;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

namespace {

// The classify task: single- or multi-label cross-entropy on shuffled (length-bucketed) epochs;
// evaluation on the validation set with decision thresholds chosen there; best.ckpt at each
// improvement of train.metric.
class ClassifyTask : public TrainTask {
 public:
  ClassifyTask(const ExperimentConfig& cfg, const TrainOptions& opts, const EncodedDataset& train,
               const EncodedDataset& valid, ModelMeta& meta, ByteClassifier& model,
               torch::Tensor class_weights, int64_t steps_per_epoch, int64_t total_steps, int rank,
               int world, const EncodedDataset* mixed = nullptr, int64_t pool_rows = 0)
      : cfg_(cfg),
        tc_(cfg.train),
        opts_(opts),
        train_(train),
        valid_(valid),
        meta_(meta),
        model_(model),
        class_weights_(std::move(class_weights)),
        steps_per_epoch_(steps_per_epoch),
        total_steps_(total_steps),
        best_path_(opts.out_dir + "/best.ckpt"),
        rank_(rank),
        world_(world),
        mixed_(mixed) {
    if (mixed_ != nullptr) {
      pool_size_ = static_cast<int64_t>(mixed_->size() - train_.size());
      pool_rows_ = pool_rows;
      // the global pool batch (pool_rows x world size) of each step, the same on every rank
      sampler_ = std::make_unique<PoolSampler>(pool_size_, pool_rows_ * world_, tc_.seed);
    }
  }

  torch::nn::Module& module() override { return *model_; }
  std::vector<ParamGroup> parameter_groups() override {
    ParamGroup decay{{}, tc_.weight_decay}, no_decay{{}, 0.0};
    for (const auto& p : model_->named_parameters())
      (p.value().dim() >= 2 ? decay : no_decay).params.push_back(p.value());
    return {decay, no_decay};
  }
  std::vector<torch::Tensor> frozen_parameters() override {
    std::vector<torch::Tensor> encoder;
    for (const auto& p : model_->named_parameters())
      if (!ByteClassifierImpl::is_head_tensor(p.key())) encoder.push_back(p.value());
    return encoder;
  }
  std::string init_from(const std::string& path) override {
    int64_t pstep = 0;
    const int64_t n = init_encoder_from(model_, cfg_, path, &pstep);
    return "init: " + std::to_string(n) + " encoder tensors from " + path + " (pretrained " +
           std::to_string(pstep) + " steps); pooling and head start fresh";
  }
  void write_meta(torch::serialize::OutputArchive& ar) override {
    ar.write("bytelite_meta", c10::IValue(meta_to_json(meta_).dump()));
  }
  void check_resume(torch::serialize::InputArchive& ar, const std::string& path) override {
    c10::IValue m;
    if (!ar.try_read("bytelite_meta", m) || !m.isString()) {
      throw ModelFileError(path + ": expected a classifier checkpoint ('bytelite_meta'), found " +
                           "another kind of file; start without --resume");
    }
    nlohmann::json j = nlohmann::json::parse(m.toStringRef(), nullptr, false);
    const ModelMeta saved = meta_from_json(j, path);
    if (saved.label_names != meta_.label_names) {
      throw ModelFileError(path + ": expected the labels of the training data, found " +
                           "different labels in the checkpoint");
    }
    meta_.thresholds = saved.thresholds;
    meta_.valid_metrics = saved.valid_metrics;
    meta_.step = saved.step;
  }
  nlohmann::json state() override { return {{"train_loss_ema", loss_ema_}}; }
  void restore(const nlohmann::json& st) override {
    const auto ema = st.find("train_loss_ema");  // absent before issue 13
    if (ema != st.end() && ema->is_number()) loss_ema_ = ema->get<double>();
    if (opts_.verbose) {
      std::fprintf(stderr, "resume: from %s at step %lld (best %s %.4f at step %lld)\n",
                   (opts_.out_dir + "/last.ckpt").c_str(),
                   static_cast<long long>(st.at("step").get<int64_t>()), tc_.metric.c_str(),
                   st.at("best_metric").get<double>(),
                   static_cast<long long>(st.at("best_step").get<int64_t>()));
    }
  }
  void begin(int64_t first_step) override {
    first_step_ = first_step;
    if (opts_.verbose) {
      std::fprintf(stderr,
                   "model: %s, %lld parameters, QAT %s; %lld steps (%lld per epoch), "
                   "batch %d, %d threads\n",
                   encoder_kind(cfg_.model).display,
                   static_cast<long long>(model_->parameter_count()),
                   cfg_.quantization.enabled ? "on" : "off", static_cast<long long>(total_steps_),
                   static_cast<long long>(steps_per_epoch_), tc_.batch_size, tc_.threads);
    }
    prog_ = std::make_unique<Progress>("train", total_steps_ * tc_.batch_size * world_, "ex", 2.0,
                                       !opts_.verbose);
  }
  torch::Tensor loss(int64_t step) override {
    epoch_ = step / steps_per_epoch_;
    if (epoch_ != batches_epoch_) {
      // the global batches (batch_size x world size) of the epoch, the same on every rank
      batches_ = epoch_batches(train_.ids, tc_.batch_size * world_, tc_.seed, epoch_,
                               tc_.bucket_by_length);
      batches_epoch_ = epoch_;
    }
    const std::vector<int64_t>& global = batches_[step % steps_per_epoch_];
    if (mixed_ != nullptr) return pool_loss(global, step);
    if (world_ == 1) return batch_loss(global);
    // Data parallelism: this rank's share (positions p % world == rank), its mean loss weighted
    // by n_rank x world / n_global so that the mean over the ranks is the global batch's loss.
    std::vector<int64_t> mine;
    for (int64_t p : shard_positions(static_cast<int64_t>(global.size()), rank_, world_))
      mine.push_back(global[p]);
    // A last batch smaller than the world leaves some ranks no example: they still run the
    // forward pass (its statistics are reduced over the ranks) on the batch's first example,
    // with weight 0.
    const double weight =
        static_cast<double>(mine.size()) * world_ / static_cast<double>(global.size());
    if (mine.empty()) mine.push_back(global[0]);
    return batch_loss(mine) * weight;
  }
  torch::Tensor batch_loss(const std::vector<int64_t>& indices) {
    Batch batch = make_batch(train_, indices, tc_.distortion_probability, tc_.seed, epoch_);
    auto logits = model_->forward(batch.ids, batch.mask);
    if (batch.teacher.defined()) {  // distillation (docs/distillation.md)
      return distillation_loss(logits, train_.multilabel ? batch.targets : batch.labels,
                               batch.teacher, train_.multilabel, tc_.distill_alpha,
                               tc_.distill_temperature, class_weights_);
    }
    if (train_.multilabel) return torch::binary_cross_entropy_with_logits(logits, batch.targets);
    return torch::nn::functional::cross_entropy(
        logits, batch.labels,
        torch::nn::functional::CrossEntropyFuncOptions().weight(class_weights_));
  }
  // Distillation with the unlabelled pool (docs/distillation.md): the labelled rows of the
  // step's global batch and the step's global pool rows, each sharded p % world as the labelled
  // batch; loss = alpha * CE(labelled rows) + (1 - alpha) * T^2 * KL(all rows), each term's mean
  // weighted by its rank share x world / its global count so that the mean over the ranks is the
  // global batch's loss. A rank always has pool rows (pool_rows per rank); one without labelled
  // rows (a last batch smaller than the world) has no hard term.
  torch::Tensor pool_loss(const std::vector<int64_t>& global, int64_t step) {
    const int64_t N = static_cast<int64_t>(train_.size());
    const std::vector<int64_t> global_pool = sampler_->step_rows(step);
    std::vector<int64_t> rows;
    for (int64_t p : shard_positions(static_cast<int64_t>(global.size()), rank_, world_))
      rows.push_back(global[p]);
    const int64_t n_lab = static_cast<int64_t>(rows.size());
    for (int64_t p : shard_positions(static_cast<int64_t>(global_pool.size()), rank_, world_))
      rows.push_back(N + global_pool[p]);
    const int64_t n_all = static_cast<int64_t>(rows.size());
    Batch batch = make_batch(*mixed_, rows, tc_.distortion_probability, tc_.seed, epoch_);
    auto logits = model_->forward(batch.ids, batch.mask);
    const torch::Tensor hard_targets =
        train_.multilabel ? batch.targets.narrow(0, 0, n_lab) : batch.labels.narrow(0, 0, n_lab);
    const DistillationTerms t =
        distillation_terms(logits, hard_targets, batch.teacher, n_lab, train_.multilabel,
                           tc_.distill_temperature, class_weights_);
    const double T = tc_.distill_temperature, a = tc_.distill_alpha;
    if (world_ == 1) return a * t.hard + (1.0 - a) * T * T * t.soft;
    const double w_hard = static_cast<double>(n_lab) * world_ / static_cast<double>(global.size());
    const double w_soft = static_cast<double>(n_all) * world_ /
                          static_cast<double>(global.size() + global_pool.size());
    return a * w_hard * t.hard + (1.0 - a) * T * T * w_soft * t.soft;
  }
  void after_step(int64_t step, double lv, double lr) override {
    loss_ema_ = std::isnan(loss_ema_) ? lv : 0.98 * loss_ema_ + 0.02 * lv;
    prog_->update((step - first_step_) * tc_.batch_size * world_,
                  "epoch " + std::to_string(epoch_ + 1) + " | loss " + fmt("%.4f", loss_ema_) +
                      " | lr " + fmt("%.2e", lr) + " | " + last_eval_);
  }
  Evaluation evaluate(int64_t step, double lr) override {
    auto probs = predict_probabilities(model_, train_.multilabel, valid_.ids);
    MetricInput in = metric_input(valid_, probs);
    thresholds_ = choose_thresholds(in);
    report_ = evaluate_report(in);
    const double m = metric_value(report_, tc_.metric);
    last_eval_ = "valid " + tc_.metric + " " + fmt("%.4f", m);
    Evaluation e;
    e.metric = m;
    e.record = {{"step", step},
                {"epoch", epoch_ + 1},
                {"train_loss", loss_ema_},
                {"lr", lr},
                {"valid", nlohmann::json::parse(report_to_json(report_))}};
    return e;
  }
  void on_best(int64_t step, const Evaluation&) override {
    best_report_ = report_;
    meta_.thresholds = thresholds_;
    meta_.valid_metrics = nlohmann::json::parse(report_to_json(report_));
    meta_.step = step;
    save_checkpoint(best_path_, meta_, model_, nullptr, nlohmann::json::object());
  }
  std::string eval_summary(const Evaluation&) override {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "epoch %lld | loss %.4f | valid macro_f1 %.4f roc_auc %.4f acc %.4f",
                  static_cast<long long>(epoch_ + 1), loss_ema_, report_.macro_f1, report_.roc_auc,
                  report_.accuracy);
    return buf;
  }
  void finish(int64_t step) {
    prog_->finish((step - first_step_) * tc_.batch_size * world_, last_eval_);
  }

  EvalReport best_report_;

 private:
  EvalReport evaluate_report(const MetricInput& in) {
    return bytelite::evaluate(in, thresholds_, meta_.label_names);
  }

  const ExperimentConfig& cfg_;
  const TrainConfig& tc_;
  const TrainOptions& opts_;
  const EncodedDataset& train_;
  const EncodedDataset& valid_;
  ModelMeta& meta_;
  ByteClassifier& model_;
  torch::Tensor class_weights_;
  const int64_t steps_per_epoch_, total_steps_;
  const std::string best_path_;
  const int rank_, world_;
  const EncodedDataset* mixed_;  // training rows, then the pool's rows (distillation pool)
  int64_t pool_size_ = 0, pool_rows_ = 0;
  std::unique_ptr<PoolSampler> sampler_;
  std::vector<std::vector<int64_t>> batches_;
  int64_t batches_epoch_ = -1, epoch_ = 0, first_step_ = 0;
  double loss_ema_ = NAN;
  std::string last_eval_ = "valid " + cfg_.train.metric + " -";
  std::vector<float> thresholds_;
  EvalReport report_;
  std::unique_ptr<Progress> prog_;
};

}  // namespace

TrainResult train_classifier(const ExperimentConfig& cfg, const TrainOptions& options,
                             const std::string& init_from) {
  const auto& tc = cfg.train;
  // Data parallelism (train/distributed.h): each rank computes its share of every global batch;
  // only rank 0 writes to OUT and prints progress.
  DataParallel* dp = DataParallel::instance();
  const int rank = dp ? dp->rank() : 0, world = dp ? dp->world_size() : 1;
  TrainOptions opts = options;
  opts.verbose = opts.verbose && rank == 0;
  torch::set_num_threads(tc.threads);
  // Denormal floats (tiny gradients late in training) are 10-100x slower on x86; flushing them
  // to zero changes no result that matters and keeps the step time flat.
  at::globalContext().setFlushDenormal(true);
  Progress clock("train", 0, "ex");

  // ---- data ----
  Dataset train_data = read_dataset(opts.train_path, cfg.data);
  if (train_data.examples.empty()) {
    throw InputError(opts.train_path + ": expected at least one training example, found none");
  }
  if (!train_data.multilabel && train_data.label_names.size() < 2) {
    throw InputError(opts.train_path + ": expected at least 2 classes in column '" +
                     cfg.data.label_columns[0] + "', found " +
                     std::to_string(train_data.label_names.size()));
  }
  Dataset valid_data = read_dataset(opts.valid_path, cfg.data, train_data.label_names);
  if (valid_data.examples.empty()) {
    throw InputError(opts.valid_path + ": expected at least one validation example, found none");
  }
  ByteTokenizer tok(cfg.tokenizer.max_length, cfg.tokenizer.lowercase_ascii);
  EncodedDataset train = encode_dataset(train_data, tok);
  EncodedDataset valid = encode_dataset(valid_data, tok);
  UnlabelledPool pool;
  EncodedDataset mixed;
  if (!tc.distill_scores.empty()) {  // distillation (docs/distillation.md)
    const TeacherScores teacher = read_teacher_scores(tc.distill_scores, !train.multilabel);
    train.teacher = teacher_targets(teacher, train_data);
    if (!tc.distill_unlabelled.empty()) {
      // the unlabelled pool: the training rows followed by the pool's (soft term only)
      pool = read_unlabelled_pool(tc.distill_unlabelled, teacher, train_data, valid_data);
      mixed = train;
      for (const std::string& text : pool.texts) {
        bool trunc = false;
        mixed.ids.push_back(encode_text(tok, text, &trunc));
        if (train.multilabel) {
          mixed.targets.insert(mixed.targets.end(), static_cast<size_t>(train.num_labels), 0.0f);
        } else {
          mixed.labels.push_back(0);  // never read: pool rows have no hard term
        }
      }
      mixed.teacher.insert(mixed.teacher.end(), pool.teacher.begin(), pool.teacher.end());
    }
  }
  const int64_t C = train.num_labels;
  // pool rows per rank and step (distillation pool)
  const int64_t pool_rows =
      tc.distill_unlabelled_batch > 0 ? tc.distill_unlabelled_batch : tc.batch_size;
  if (opts.verbose) {
    std::fprintf(stderr, "data: %zu train / %zu valid examples, %lld labels (%s)\n", train.size(),
                 valid.size(), static_cast<long long>(C),
                 train.multilabel ? "multi-label" : "single-label");
    for (auto* d : {&train_data, &valid_data}) {
      if (d->skipped_rows > 0)
        std::fprintf(stderr, "data: skipped %lld bad rows in %s (--skip-bad-rows)\n",
                     static_cast<long long>(d->skipped_rows), d->path.c_str());
    }
    if (pool.size() > 0) {
      std::fprintf(stderr,
                   "distill: pool %s: %lld lines, %zu texts kept; left out: %lld validation "
                   "texts, %lld training texts, %lld repeats, %lld empty; %lld pool rows per "
                   "batch\n",
                   pool.path.c_str(), static_cast<long long>(pool.read), pool.size(),
                   static_cast<long long>(pool.skipped_valid),
                   static_cast<long long>(pool.skipped_train),
                   static_cast<long long>(pool.skipped_repeat),
                   static_cast<long long>(pool.skipped_empty), static_cast<long long>(pool_rows));
    }
    const int64_t tr = train.truncated + valid.truncated;
    if (tr > 0) {
      std::fprintf(stderr,
                   "note: truncated %lld of %zu examples (%.1f%%) to %d bytes "
                   "(tokenizer.max_length)\n",
                   static_cast<long long>(tr), train.size() + valid.size(),
                   100.0 * tr / (train.size() + valid.size()), cfg.tokenizer.max_length);
    }
  }

  // ---- model ----
  torch::manual_seed(tc.seed);
  auto qat = std::make_shared<QatState>();
  qat->enabled = cfg.quantization.enabled;
  qat->ema_decay = cfg.quantization.ema_decay;
  ModelMeta meta;
  meta.config = cfg;
  meta.label_names = train_data.label_names;
  meta.multilabel = train.multilabel;
  ByteClassifier model = build_model(meta, qat);

  // class weights
  torch::Tensor class_weights;
  if (!train.multilabel) {
    if (!tc.class_weight_values.empty()) {
      if (static_cast<int64_t>(tc.class_weight_values.size()) != C) {
        throw ConfigError("train.class_weight_values: expected " + std::to_string(C) +
                          " values (one per class), found " +
                          std::to_string(tc.class_weight_values.size()));
      }
      class_weights = torch::tensor(tc.class_weight_values, torch::kDouble).to(torch::kFloat);
    } else if (tc.class_weights == "balanced") {
      std::vector<double> counts(C, 0.0);
      for (auto l : train.labels) counts[l] += 1;
      std::vector<float> w(C);
      for (int64_t c = 0; c < C; ++c)
        w[c] = static_cast<float>(train.size() / (C * std::max(1.0, counts[c])));
      class_weights = torch::tensor(w);
    }
  }

  const int64_t N = static_cast<int64_t>(train.size());
  const int64_t global_batch = int64_t{tc.batch_size} * world;
  const int64_t steps_per_epoch = (N + global_batch - 1) / global_batch;
  const int64_t total_steps = tc.max_steps > 0 ? tc.max_steps : tc.epochs * steps_per_epoch;
  if (rank == 0) make_dirs(opts.out_dir);
  const std::string best_path = opts.out_dir + "/best.ckpt";

  if (pool.size() > 0 && pool_rows * world > static_cast<int64_t>(pool.size())) {
    // each pool text at most once per step (docs/distillation.md)
    throw InputError(pool.path + ": expected at least " + std::to_string(pool_rows * world) +
                     " kept texts (train.distill_unlabelled_batch, or train.batch_size when it "
                     "is 0, x " +
                     std::to_string(world) + " ranks: pool rows per step), found " +
                     std::to_string(pool.size()));
  }
  ClassifyTask task(cfg, opts, train, valid, meta, model, class_weights, steps_per_epoch,
                    total_steps, rank, world, pool.size() > 0 ? &mixed : nullptr, pool_rows);
  TrainerSettings ts;
  ts.what = "training";
  ts.lr_key = "train.learning_rate";
  ts.schedule = tc;
  ts.total_steps = ts.stop_step = total_steps;
  ts.eval_every = tc.eval_every_steps > 0 ? tc.eval_every_steps : steps_per_epoch;
  ts.freeze_steps = tc.freeze_encoder_steps;
  ts.init_from = init_from;
  ts.early_stopping_patience = tc.early_stopping_patience;
  ts.stop_after = opts.stop_after;
  ts.qat = qat;
  ts.qat_warmup_steps = cfg.quantization.warmup_steps;
  ts.checkpoint_path = opts.out_dir + "/last.ckpt";
  ts.log_path = opts.out_dir + "/train_log.jsonl";
  ts.resume = opts.resume;
  ts.verbose = opts.verbose;
  ts.on_eval = opts.on_eval;
  ts.config_json = rank_config_json(cfg);
  ts.data_files = {opts.train_path, opts.valid_path};
  if (!tc.distill_scores.empty()) ts.data_files.push_back(tc.distill_scores);
  if (!tc.distill_unlabelled.empty()) ts.data_files.push_back(tc.distill_unlabelled);
  ts.global_batch = global_batch;
  Trainer trainer(task, ts);
  const TrainerResult tr = trainer.run();
  task.finish(tr.steps);

  TrainResult res;
  res.steps = tr.steps;
  res.best_step = tr.best_step;
  res.best_metric = tr.best_metric;
  res.best_checkpoint = best_path;
  if (rank != 0) return res;  // rank 0 reports and writes the outputs
  EvalReport best_report = task.best_report_;
  if (tr.best_step > 0 && best_report.examples == 0) {
    // Resumed after the best evaluation: reload its report from the checkpoint.
    auto lc = load_checkpoint(best_path);
    auto probs = predict_probabilities(lc.model, lc.meta.multilabel, valid.ids);
    best_report = evaluate(metric_input(valid, probs), lc.meta.thresholds, lc.meta.label_names);
  }
  res.best_valid = best_report;
  res.seconds = clock.elapsed_s();
  res.parameter_count = model->parameter_count();
  for (const auto& p : model->parameters()) {
    res.int8_bytes += p.dim() >= 2 ? p.numel() + 4 * p.size(0) : 4 * p.numel();
  }
  res.stopped_early = tr.stopped_early;
  res.best_checkpoint = best_path;
  if (tr.best_step > 0) {
    auto lc = load_checkpoint(best_path);
    write_file_atomic(opts.out_dir + "/config.json", meta_to_json(lc.meta).dump(2) + "\n");
  }
  return res;
}

}  // namespace bytelite
