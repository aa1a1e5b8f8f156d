#include "train/loop.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>

#include "bytelite/errors.h"
#include "core/atomic_file.h"

namespace bytelite {

namespace {
constexpr const char* kStateKey = "bytelite_trainer_state";
constexpr const char* kOptimizerKey = "bytelite_optimizer";
// the keys of seq2seq model.pt files written before issue 13
constexpr const char* kOldSeq2SeqStateKey = "bytelite_seq2seq_trainer_state";
constexpr const char* kOldSeq2SeqOptimizerKey = "bytelite_seq2seq_optimizer";
}  // namespace

double learning_rate_at(const TrainConfig& c, int64_t step, int64_t total) {
  const double peak = c.learning_rate;
  if (c.lr_schedule == "cosine_clamped") {
    // peak * max(f, min_lr_ratio), f the linear warm-up then a cosine decay to 0 (the G2P
    // recipe's schedule)
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

std::vector<int> torch_rng_bytes() {
  const auto s = at::detail::getDefaultCPUGenerator().get_state();
  return std::vector<int>(s.data_ptr<uint8_t>(), s.data_ptr<uint8_t>() + s.numel());
}

void set_torch_rng_bytes(const std::vector<int>& bytes) {
  auto s = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  std::copy(bytes.begin(), bytes.end(), s.data_ptr<uint8_t>());
  auto gen = at::detail::getDefaultCPUGenerator();
  gen.set_state(s);
}

Trainer::Trainer(TrainTask& task, TrainerSettings settings)
    : task_(task), s_(std::move(settings)), dp_(DataParallel::instance()) {
  const TrainConfig& c = s_.schedule;
  torch::optim::AdamWOptions defaults(c.learning_rate);
  defaults.betas({c.adam_beta1, c.adam_beta2}).eps(c.adam_eps);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (auto& g : task_.parameter_groups()) {
    auto o = defaults;
    o.weight_decay(g.weight_decay);
    groups.emplace_back(std::move(g.params), std::make_unique<torch::optim::AdamWOptions>(o));
  }
  optimizer_ = std::make_unique<torch::optim::AdamW>(std::move(groups), defaults);
}

bool Trainer::writes_outputs() const { return dp_ == nullptr || dp_->rank() == 0; }

void Trainer::save(int64_t step) {
  if (!writes_outputs()) return;
  torch::serialize::OutputArchive ar;
  task_.module().save(ar);
  task_.write_meta(ar);
  nlohmann::json st = task_.state();
  st["step"] = step;
  st["rng_state"] = torch_rng_bytes();
  st["log"] = log_;
  st["best_metric"] = best_metric_;
  st["best_step"] = best_step_;
  st["bad_evals"] = bad_evals_;
  if (s_.global_batch > 0) st["global_batch"] = s_.global_batch;
  ar.write(kStateKey, c10::IValue(st.dump()));
  torch::serialize::OutputArchive oa;
  optimizer_->save(oa);
  ar.write(kOptimizerKey, oa);
  std::ostringstream out;
  ar.save_to(out);
  write_file_atomic(s_.checkpoint_path, out.str());
}

void Trainer::load() {
  const std::string& path = s_.checkpoint_path;
  auto bad = [&](const std::string& found) {
    return ModelFileError(path + ": expected a resumable checkpoint of this run (model, " +
                          "optimizer and trainer state, written by bytelite), found " + found +
                          "; start without --resume or give the OUT of the run to continue");
  };
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(path);
  } catch (const c10::Error&) {
    throw bad("a file that cannot be read as one (missing or not a torch archive)");
  }
  task_.check_resume(ar, path);
  try {
    task_.module().load(ar);
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    throw bad("model tensors that do not match the config (" + msg.substr(0, msg.find('\n')) + ")");
  }
  c10::IValue state;
  torch::serialize::InputArchive oa;
  const bool current = ar.try_read(kStateKey, state);
  if (!(current || ar.try_read(kOldSeq2SeqStateKey, state)) || !state.isString()) {
    throw bad("no trainer state");
  }
  if (!ar.try_read(current ? kOptimizerKey : kOldSeq2SeqOptimizerKey, oa)) {
    throw bad("no optimizer state");
  }
  nlohmann::json st;
  try {
    st = nlohmann::json::parse(state.toStringRef());
    optimizer_->load(oa);
    step_ = st.at("step").get<int64_t>();
    set_torch_rng_bytes(
        st.at(st.contains("rng_state") ? "rng_state" : "torch_rng").get<std::vector<int>>());
    if (st.contains("log")) {
      log_ = st.at("log").get<std::string>();
    } else {  // before issue 13: the log file on disk is the log so far
      std::ifstream in(s_.log_path, std::ios::binary);
      std::ostringstream os;
      os << in.rdbuf();
      log_ = os.str();
    }
    if (st.contains("best_metric")) best_metric_ = st.at("best_metric").get<double>();
    if (st.contains("best_step")) best_step_ = st.at("best_step").get<int64_t>();
    if (st.contains("bad_evals")) bad_evals_ = st.at("bad_evals").get<int>();
    const int64_t gb = st.value("global_batch", int64_t{0});
    if (gb > 0 && s_.global_batch > 0 && gb != s_.global_batch) {
      throw ConfigError(path + ": --resume needs the checkpoint's global batch of " +
                        std::to_string(gb) + " (batch size x WORLD_SIZE), found " +
                        std::to_string(s_.global_batch) + " (WORLD_SIZE " +
                        std::to_string(dp_ ? dp_->world_size() : 1) + ")");
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("a trainer state that does not read (") + e.what() + ")");
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    throw bad("an optimizer state that does not match (" + msg.substr(0, msg.find('\n')) + ")");
  }
  task_.restore(st);
}

TrainerResult Trainer::run() {
  TrainerResult res;
  if (s_.resume) {
    load();
  } else {
    if (writes_outputs()) std::remove(s_.log_path.c_str());
    if (!s_.init_from.empty()) {
      const std::string line = task_.init_from(s_.init_from);
      if (s_.verbose && writes_outputs() && !line.empty()) std::fprintf(stderr, "%s\n", line.c_str());
    }
    task_.start();
    save(0);  // a NaN at step 1 still leaves a last good checkpoint
  }
  if (dp_) {
    dp_->start(task_.module(), s_.config_json, s_.data_files);
    if (s_.qat && dp_->sync_statistics()) dp_->synchronize_statistics(*s_.qat);
  }
  res.first_step = step_;
  task_.begin(step_);
  int64_t last_saved = step_;
  const std::vector<torch::Tensor> params = task_.module().parameters();
  const std::vector<torch::Tensor> frozen =
      s_.freeze_steps > 0 ? task_.frozen_parameters() : std::vector<torch::Tensor>{};
  const double max_norm = s_.schedule.grad_clip > 0 ? s_.schedule.grad_clip : 1e30;
  while (step_ < s_.stop_step) {
    if (s_.qat) s_.qat->active = s_.qat->enabled && step_ >= s_.qat_warmup_steps;
    const double lr = learning_rate_at(s_.schedule, step_, s_.total_steps);
    for (auto& g : optimizer_->param_groups()) g.options().set_lr(lr);
    task_.module().train();
    torch::Tensor loss = task_.loss(step_);
    double lv = loss.item<double>();
    auto diverged = [&](const std::string& what, double v) {
      char buf[640];
      std::snprintf(buf, sizeof buf,
                    "step %lld: %s is %g (learning rate %.3g); %s stopped. The last good "
                    "checkpoint is %s (step %lld); lower %s and rerun, or continue with --resume",
                    static_cast<long long>(step_ + 1), what.c_str(), v, lr, s_.what.c_str(),
                    s_.checkpoint_path.c_str(), static_cast<long long>(last_saved),
                    s_.lr_key.c_str());
      return TrainingError(buf);
    };
    if (!dp_ && !std::isfinite(lv)) throw diverged("the loss", lv);
    optimizer_->zero_grad();
    // (a rank whose share of the batch is empty has a constant loss and no gradient)
    if (!dp_ || loss.requires_grad()) loss.backward();
    if (dp_) {
      // Data parallelism: the mean gradient, buffers and loss of all ranks, after backward and
      // before freezing and clipping, so every rank clips and steps the same gradients (and
      // every rank stops together on a non-finite loss).
      lv = dp_->reduce_step(task_.module(), lv);
      if (!std::isfinite(lv)) throw diverged("the loss", lv);
    }
    if (step_ < s_.freeze_steps) {
      // LP-FT: an undefined gradient makes AdamW skip the tensor (no moment update, no weight
      // decay) and leaves it out of the clipped norm.
      for (auto t : frozen) t.mutable_grad().reset();
    }
    const double gn = torch::nn::utils::clip_grad_norm_(params, max_norm);
    if (!std::isfinite(gn)) throw diverged("the gradient norm", gn);
    optimizer_->step();
    ++step_;
    task_.after_step(step_, lv, lr);

    if (step_ % s_.eval_every != 0 && step_ != s_.stop_step) continue;
    Evaluation e = task_.evaluate(step_, lr);
    const bool improved = !std::isnan(e.metric) && e.metric > best_metric_;
    if (dp_) dp_->check_same_model(task_.module(), step_);
    if (improved) {
      best_metric_ = e.metric;
      best_step_ = step_;
      bad_evals_ = 0;
      if (writes_outputs()) task_.on_best(step_, e);
    } else if (!std::isnan(e.metric)) {
      ++bad_evals_;
    }
    log_ += e.record.dump() + "\n";
    if (writes_outputs()) write_file_atomic(s_.log_path, log_);
    save(step_);
    last_saved = step_;
    if (s_.on_eval) s_.on_eval(e.record);
    if (s_.verbose && writes_outputs()) {
      // on a terminal the line first clears the live progress line of core/progress.h
      std::fprintf(stderr, "%s[eval] step %lld | %s%s\n", isatty(fileno(stderr)) ? "\r\033[K" : "",
                   static_cast<long long>(step_), task_.eval_summary(e).c_str(),
                   improved ? " | best so far (saved)" : "");
    }
    if (s_.early_stopping_patience > 0 && bad_evals_ >= s_.early_stopping_patience) {
      res.stopped_early = true;
      if (s_.verbose && writes_outputs())
        std::fprintf(stderr, "early stopping: no improvement in %d evaluations\n", bad_evals_);
      break;
    }
    if (s_.stop_after > 0 && step_ >= s_.stop_after && step_ < s_.stop_step) {
      res.interrupted = true;  // as if killed after this save: --resume continues
      break;
    }
  }
  if (dp_) dp_->report_timing();
  res.steps = step_;
  res.best_step = best_step_;
  res.best_metric = best_metric_;
  return res;
}

}  // namespace bytelite
