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

double learning_rate_at(const TrainConfig& c, int64_t step, int64_t total) {
  const double peak = c.learning_rate;
  if (c.lr_schedule == "cosine_clamped") {
    // peak * max(f, min_lr_ratio), f the linear warm-up then a cosine decay to 0 (the G2P
    // recipe's schedule; the expressions are those of examples/seq2seq_g2p, so both give the
    // same float values)
    const int64_t w = c.lr_warmup_steps;
    const double f =
        step < w ? (static_cast<double>(step) + 1.0) / static_cast<double>(w)
                 : 0.5 * (1 + std::cos(M_PI * static_cast<double>(step - w) /
                                       static_cast<double>(std::max<int64_t>(1, total - w))));
    return peak * std::max(f, c.min_lr_ratio);
  }
  if (c.lr_warmup_steps > 0 && step < c.lr_warmup_steps) {
    return peak * static_cast<double>(step + 1) / c.lr_warmup_steps;
  }
  if (c.lr_schedule == "constant") return peak;
  const double span = std::max<int64_t>(1, total - c.lr_warmup_steps);
  const double t = std::clamp((step - c.lr_warmup_steps) / span, 0.0, 1.0);
  const double floor = c.min_lr_ratio * peak;
  if (c.lr_schedule == "linear") return floor + (peak - floor) * (1.0 - t);
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * t));
}

TrainResult train_classifier(const ExperimentConfig& cfg, const TrainOptions& opts,
                             const std::string& init_from) {
  const auto& tc = cfg.train;
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
  if (!tc.distill_scores.empty()) {  // distillation (docs/distillation.md)
    train.teacher =
        teacher_targets(read_teacher_scores(tc.distill_scores, !train.multilabel), train_data);
  }
  const int64_t C = train.num_labels;
  if (opts.verbose) {
    std::fprintf(stderr, "data: %zu train / %zu valid examples, %lld labels (%s)\n", train.size(),
                 valid.size(), static_cast<long long>(C),
                 train.multilabel ? "multi-label" : "single-label");
    for (auto* d : {&train_data, &valid_data}) {
      if (d->skipped_rows > 0)
        std::fprintf(stderr, "data: skipped %lld bad rows in %s (--skip-bad-rows)\n",
                     static_cast<long long>(d->skipped_rows), d->path.c_str());
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

  // ---- model, optimizer ----
  torch::manual_seed(tc.seed);
  auto qat = std::make_shared<QatState>();
  qat->enabled = cfg.quantization.enabled;
  qat->ema_decay = cfg.quantization.ema_decay;
  ModelMeta meta;
  meta.config = cfg;
  meta.label_names = train_data.label_names;
  meta.multilabel = train.multilabel;
  ByteClassifier model = build_model(meta, qat);
  if (!init_from.empty() && !opts.resume) {
    int64_t pstep = 0;
    const int64_t n = init_encoder_from(model, cfg, init_from, &pstep);
    if (opts.verbose) {
      std::fprintf(stderr,
                   "init: %lld encoder tensors from %s (pretrained %lld steps); pooling and "
                   "head start fresh\n",
                   static_cast<long long>(n), init_from.c_str(), static_cast<long long>(pstep));
    }
  }
  std::vector<torch::Tensor> decay, no_decay, encoder_params;
  for (const auto& p : model->named_parameters()) {
    (p.value().dim() >= 2 ? decay : no_decay).push_back(p.value());
    if (!ByteClassifierImpl::is_head_tensor(p.key())) encoder_params.push_back(p.value());
  }
  torch::optim::AdamWOptions ao(tc.learning_rate);
  ao.betas({tc.adam_beta1, tc.adam_beta2}).eps(tc.adam_eps).weight_decay(tc.weight_decay);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(ao));
  auto ao0 = ao;
  ao0.weight_decay(0.0);
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(ao0));
  torch::optim::AdamW optimizer(std::move(groups), ao);

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
  const int64_t steps_per_epoch = (N + tc.batch_size - 1) / tc.batch_size;
  const int64_t total_steps = tc.max_steps > 0 ? tc.max_steps : tc.epochs * steps_per_epoch;
  const int64_t eval_every = tc.eval_every_steps > 0 ? tc.eval_every_steps : steps_per_epoch;

  make_dirs(opts.out_dir);
  const std::string last_path = opts.out_dir + "/last.ckpt";
  const std::string best_path = opts.out_dir + "/best.ckpt";
  const std::string log_path = opts.out_dir + "/train_log.jsonl";

  int64_t step = 0;
  double best_metric = -1e30;
  int64_t best_step = 0;
  int bad_evals = 0;
  EvalReport best_report;
  bool stopped_early = false;
  const std::string metric_name = tc.metric;

  auto trainer_state = [&]() {
    auto rng = at::detail::getDefaultCPUGenerator().get_state();
    std::vector<int> rng_bytes(rng.data_ptr<uint8_t>(), rng.data_ptr<uint8_t>() + rng.numel());
    return nlohmann::json{{"step", step},
                          {"best_metric", best_metric},
                          {"best_step", best_step},
                          {"bad_evals", bad_evals},
                          {"rng_state", rng_bytes}};
  };

  if (opts.resume) {
    auto lc = load_checkpoint(last_path);
    if (lc.meta.label_names != meta.label_names) {
      throw ModelFileError(last_path + ": expected the labels of the training data, found " +
                           "different labels in the checkpoint");
    }
    {
      torch::NoGradGuard ng;
      auto src = lc.model->named_parameters();
      for (auto& p : model->named_parameters()) p.value().copy_(src[p.key()]);
      auto srcb = lc.model->named_buffers();
      for (auto& b : model->named_buffers()) b.value().copy_(srcb[b.key()]);
    }
    load_optimizer_state(last_path, optimizer);
    const auto& ts = lc.trainer_state;
    step = ts.at("step").get<int64_t>();
    best_metric = ts.at("best_metric").get<double>();
    best_step = ts.at("best_step").get<int64_t>();
    bad_evals = ts.at("bad_evals").get<int>();
    auto bytes = ts.at("rng_state").get<std::vector<int>>();
    auto rng = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
    std::copy(bytes.begin(), bytes.end(), rng.data_ptr<uint8_t>());
    auto gen = at::detail::getDefaultCPUGenerator();
    gen.set_state(rng);
    if (opts.verbose) {
      std::fprintf(stderr, "resume: from %s at step %lld (best %s %.4f at step %lld)\n",
                   last_path.c_str(), static_cast<long long>(step), metric_name.c_str(),
                   best_metric, static_cast<long long>(best_step));
    }
  } else {
    std::remove(log_path.c_str());
    save_checkpoint(last_path, meta, model, &optimizer, trainer_state());
  }

  if (opts.verbose) {
    std::fprintf(stderr,
                 "model: %s, %lld parameters, QAT %s; %lld steps (%lld per epoch), "
                 "batch %d, %d threads\n",
                 encoder_kind(cfg.model).display, static_cast<long long>(model->parameter_count()),
                 cfg.quantization.enabled ? "on" : "off", static_cast<long long>(total_steps),
                 static_cast<long long>(steps_per_epoch), tc.batch_size, tc.threads);
  }

  std::vector<torch::Tensor> params = model->parameters();
  Progress prog("train", total_steps * tc.batch_size, "ex", opts.verbose ? 2.0 : 1e9);
  const int64_t first_step = step;
  double loss_ema = NAN;
  std::string last_eval = "valid " + metric_name + " -";
  int64_t last_good_step = step;

  while (step < total_steps && !stopped_early) {
    const int64_t epoch = step / steps_per_epoch;
    const auto batches =
        epoch_batches(train.ids, tc.batch_size, tc.seed, epoch, tc.bucket_by_length);
    for (int64_t bi = step % steps_per_epoch; bi < steps_per_epoch && step < total_steps; ++bi) {
      Batch batch = make_batch(train, batches[bi], tc.distortion_probability, tc.seed, epoch);
      qat->active = qat->enabled && step >= cfg.quantization.warmup_steps;
      const double lr = learning_rate_at(tc, step, total_steps);
      for (auto& g : optimizer.param_groups()) g.options().set_lr(lr);
      model->train();
      auto logits = model->forward(batch.ids, batch.mask);
      torch::Tensor loss;
      if (batch.teacher.defined()) {
        loss = distillation_loss(logits, train.multilabel ? batch.targets : batch.labels,
                                 batch.teacher, train.multilabel, tc.distill_alpha,
                                 tc.distill_temperature, class_weights);
      } else if (train.multilabel) {
        loss = torch::binary_cross_entropy_with_logits(logits, batch.targets);
      } else {
        loss = torch::nn::functional::cross_entropy(
            logits, batch.labels,
            torch::nn::functional::CrossEntropyFuncOptions().weight(class_weights));
      }
      const double lv = loss.item<double>();
      auto diverged = [&](const std::string& what, double v) {
        char buf[512];
        std::snprintf(buf, sizeof buf,
                      "step %lld: %s is %g (learning rate %.3g); training stopped. The last good "
                      "checkpoint is %s (step %lld); lower train.learning_rate and rerun, or "
                      "continue with --resume",
                      static_cast<long long>(step + 1), what.c_str(), v, lr, last_path.c_str(),
                      static_cast<long long>(last_good_step));
        return TrainingError(buf);
      };
      if (!std::isfinite(lv)) throw diverged("the loss", lv);
      optimizer.zero_grad();
      loss.backward();
      if (step < tc.freeze_encoder_steps) {
        // LP-FT: an undefined gradient makes AdamW skip the tensor (no moment update, no weight
        // decay) and leaves it out of the clipped norm.
        for (auto& t : encoder_params) t.mutable_grad().reset();
      }
      const double max_norm = tc.grad_clip > 0 ? tc.grad_clip : 1e30;
      const double gn = torch::nn::utils::clip_grad_norm_(params, max_norm);
      if (!std::isfinite(gn)) throw diverged("the gradient norm", gn);
      optimizer.step();
      ++step;
      loss_ema = std::isnan(loss_ema) ? lv : 0.98 * loss_ema + 0.02 * lv;
      prog.update((step - first_step) * tc.batch_size,
                  "epoch " + std::to_string(epoch + 1) + " | loss " + fmt("%.4f", loss_ema) +
                      " | lr " + fmt("%.2e", lr) + " | " + last_eval);

      if (step % eval_every == 0 || step == total_steps) {
        auto probs = predict_probabilities(model, train.multilabel, valid.ids);
        MetricInput in = metric_input(valid, probs);
        auto thresholds = choose_thresholds(in);
        EvalReport report = evaluate(in, thresholds, meta.label_names);
        const double m = metric_value(report, metric_name);
        last_eval = "valid " + metric_name + " " + fmt("%.4f", m);
        const bool improved = m > best_metric;
        if (improved) {
          best_metric = m;
          best_step = step;
          best_report = report;
          bad_evals = 0;
          meta.thresholds = thresholds;
          meta.valid_metrics = nlohmann::json::parse(report_to_json(report));
          meta.step = step;
          save_checkpoint(best_path, meta, model, nullptr, nlohmann::json::object());
        } else {
          ++bad_evals;
        }
        save_checkpoint(last_path, meta, model, &optimizer, trainer_state());
        last_good_step = step;
        {
          const nlohmann::json record = {{"step", step},
                                         {"epoch", epoch + 1},
                                         {"train_loss", loss_ema},
                                         {"lr", lr},
                                         {"valid", nlohmann::json::parse(report_to_json(report))}};
          {
            std::ofstream log(log_path, std::ios::app);
            log << record.dump() << "\n";
          }
          if (opts.on_eval) opts.on_eval(record);
        }
        if (opts.verbose) {
          std::fprintf(stderr,
                       "\r\033[K[eval] step %lld epoch %lld | loss %.4f | valid macro_f1 %.4f "
                       "roc_auc %.4f acc %.4f%s\n",
                       static_cast<long long>(step), static_cast<long long>(epoch + 1), loss_ema,
                       report.macro_f1, report.roc_auc, report.accuracy,
                       improved ? " | best so far (saved)" : "");
        }
        if (tc.early_stopping_patience > 0 && bad_evals >= tc.early_stopping_patience) {
          stopped_early = true;
          if (opts.verbose)
            std::fprintf(stderr, "early stopping: no improvement in %d evaluations\n", bad_evals);
          break;
        }
      }
    }
  }
  prog.finish((step - first_step) * tc.batch_size, last_eval);

  TrainResult res;
  res.steps = step;
  res.best_step = best_step;
  res.best_metric = best_metric;
  if (best_step > 0 && best_report.examples == 0) {
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
  res.stopped_early = stopped_early;
  res.best_checkpoint = best_path;
  if (best_step > 0) {
    auto lc = load_checkpoint(best_path);
    write_file_atomic(opts.out_dir + "/config.json", meta_to_json(lc.meta).dump(2) + "\n");
  }
  return res;
}

}  // namespace bytelite
