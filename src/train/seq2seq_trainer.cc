#include "train/seq2seq_trainer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

#include "bytelite/encoder_kinds.h"
#include "bytelite/errors.h"
#include "bytelite/seq2seq.h"
#include "core/atomic_file.h"
#include "core/dataset.h"
#include "core/progress.h"
#include "core/seq2seq_metrics.h"
#include "train/pretrain.h"
#include "train/seq2seq.h"
#include "train/seq2seq_export.h"

namespace bytelite {

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Pairs of a data file; an empty source is a bad row (the runtime answers an empty source
// with an empty hypothesis without running the model, so it is never a training example).
std::vector<TextPair> read_pairs(const std::string& path, const DataSpec& spec, bool verbose) {
  if (spec.label_columns.size() != 1) {
    throw ConfigError(
        "data.label_columns: expected exactly one target column for task "
        "\"seq2seq\", found " +
        std::to_string(spec.label_columns.size()));
  }
  TextPairs t = read_text_pairs(path, spec.text_column, spec.label_columns[0], spec.format,
                                spec.skip_bad_rows);
  std::vector<TextPair> out;
  int64_t skipped = t.skipped_rows;
  for (auto& p : t.pairs) {
    if (p.source.empty()) {
      if (!spec.skip_bad_rows) {
        throw InputError(path + ":" + std::to_string(p.line) + ": column \"" + spec.text_column +
                         "\": expected a non-empty source, found an empty one");
      }
      ++skipped;
      continue;
    }
    out.push_back(std::move(p));
  }
  if (out.empty()) throw InputError(path + ": expected at least one usable row, found none");
  if (verbose && skipped > 0) {
    std::fprintf(stderr, "data: %s: skipped %lld bad rows\n", path.c_str(),
                 static_cast<long long>(skipped));
  }
  return out;
}

Pairs as_pairs(const std::vector<TextPair>& v) {
  Pairs out;
  out.reserve(v.size());
  for (const auto& p : v) out.emplace_back(p.source, p.target);
  return out;
}

Seq2SeqExportInfo export_info(const ExperimentConfig& cfg, int64_t step, std::string source) {
  Seq2SeqExportInfo info;
  info.source_column = cfg.data.text_column;
  info.target_column = cfg.data.label_columns.empty() ? "" : cfg.data.label_columns[0];
  info.training_step = step;
  info.source_checkpoint = std::move(source);
  info.beam_size = cfg.seq2seq.beam_size;
  info.length_penalty = cfg.seq2seq.length_penalty;
  return info;
}

// Validation loss over every pair (teacher forcing, eval mode: fake-quantized) and the int8
// beam-search scores on the first eval_sources distinct sources.
nlohmann::json evaluate_seq2seq(ByteSeq2Seq& model, const ExperimentConfig& cfg, const Pairs& valid,
                                const GroupedPairs& groups, int64_t step) {
  torch::NoGradGuard ng;
  model->eval();
  const Seq2SeqConfig& c = cfg.seq2seq;
  double loss_sum = 0, tokens = 0;
  for (size_t i = 0; i < valid.size(); i += 256) {
    const Pairs chunk(valid.begin() + static_cast<std::ptrdiff_t>(i),
                      valid.begin() + static_cast<std::ptrdiff_t>(std::min(valid.size(), i + 256)));
    auto b = make_seq2seq_batch(chunk, c.max_source, c.max_target);
    const double n = b.tgt_mask.sum().item<double>();
    loss_sum += model->loss(model->forward(b.src, b.src_mask, b.dec_in), b.target, b.tgt_mask)
                    .item<double>() *
                n;
    tokens += n;
  }
  nlohmann::json r = {{"step", step}, {"loss", loss_sum / std::max(1.0, tokens)}};
  if (c.eval_sources > 0 && model->qat->enabled) {
    auto m = export_seq2seq_model(*model, export_info(cfg, step, ""));
    const size_t n = std::min(groups.sources.size(), static_cast<size_t>(c.eval_sources));
    const std::vector<std::string> sources(groups.sources.begin(),
                                           groups.sources.begin() + static_cast<std::ptrdiff_t>(n));
    GenerateOptions o;
    o.beam_size = c.beam_size;
    o.length_penalty = c.length_penalty;
    const auto outs = generate_batch(m, sources, o);
    std::vector<std::string> hyps;
    for (const auto& g : outs) hyps.push_back(g.front().text);
    std::vector<Seq2SeqItem> items;
    for (size_t i = 0; i < hyps.size(); ++i) items.push_back({hyps[i], groups.references[i]});
    const Seq2SeqScores s = score_seq2seq(items);
    r["sources"] = s.sources;
    r["wer"] = s.wer;
    r["per"] = s.per;
    r["exact_match"] = s.exact_match;
    r["chrf"] = s.chrf;
  }
  model->train();
  return r;
}

constexpr const char* kConfigKey = "bytelite_seq2seq_config";

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string describe(const nlohmann::json& e) {
  std::string s = "valid loss " + fmt("%.4f", e.at("loss").get<double>());
  if (e.contains("wer")) {
    s += " wer " + fmt("%.2f%%", 100 * e.at("wer").get<double>()) + " per " +
         fmt("%.2f%%", 100 * e.at("per").get<double>()) + " (" +
         std::to_string(e.at("sources").get<int64_t>()) + " int8)";
  }
  return s;
}

// The seq2seq task: batches of train.batch_size pairs sampled uniformly with replacement
// (std::mt19937 seeded with train.seed, saved in the checkpoint), teacher-forced cross-entropy;
// evaluation: validation loss and int8 beam-search scores.
class Seq2SeqTask : public TrainTask {
 public:
  Seq2SeqTask(const ExperimentConfig& cfg, const TrainOptions& opts, ByteSeq2Seq& model,
              const Pairs& train, const Pairs& valid, const GroupedPairs& groups,
              std::string model_pt, int64_t steps, int rank, int world)
      : clock("train", steps, "steps"),
        cfg_(cfg),
        opts_(opts),
        model_(model),
        train_(train),
        valid_(valid),
        groups_(groups),
        model_pt_(std::move(model_pt)),
        steps_(steps),
        rank_(rank),
        world_(world),
        rng_(static_cast<uint32_t>(cfg.train.seed)) {}

  torch::nn::Module& module() override { return *model_; }
  std::vector<ParamGroup> parameter_groups() override {
    return {ParamGroup{model_->parameters(), cfg_.train.weight_decay}};
  }
  std::vector<torch::Tensor> frozen_parameters() override {
    return model_->classifier->parameters();
  }
  std::string init_from(const std::string& path) override {
    const ExperimentConfig enc = seq2seq_encoder_config(cfg_);
    int64_t pstep = 0, n = 0;
    // a mismatch (a tensor: ModelFileError; a key: ConfigError) also says what to pretrain with
    const nlohmann::json j = config_to_json(enc);
    const std::string hint = "; a pretraining config for this seq2seq encoder has \"tokenizer\": " +
                             j.at("tokenizer").dump() + " and \"model\": " + j.at("model").dump();
    try {
      n = init_encoder_from(model_->classifier, enc, path, &pstep);
    } catch (const ConfigError& e) {
      throw ConfigError(e.what() + hint);
    } catch (const ModelFileError& e) {
      throw ModelFileError(e.what() + hint);
    }
    return "init: " + std::to_string(n) + " encoder tensors from " + path + " (pretrained " +
           std::to_string(pstep) + " steps); the decoder starts fresh";
  }
  void write_meta(torch::serialize::OutputArchive& ar) override {
    // the config the module was built from, so that an export can refuse a config.json that
    // does not describe it
    ar.write(kConfigKey, c10::IValue(config_to_json(cfg_).dump()));
  }
  void check_resume(torch::serialize::InputArchive& ar, const std::string& path) override {
    c10::IValue saved_cfg;
    if (!ar.try_read(kConfigKey, saved_cfg) || !saved_cfg.isString()) {
      throw ModelFileError(path +
                           ": expected a config for --resume (a model.pt saved by 'bytelite "
                           "train' with this config), found none");
    }
    // A checkpoint that records its global batch (train/loop.h) may continue with another split
    // of it over ranks: its train.batch_size is then compared by the Trainer as batch x ranks.
    c10::IValue state;
    const bool has_global_batch =
        ar.try_read("bytelite_trainer_state", state) && state.isString() &&
        nlohmann::json::parse(state.toStringRef(), nullptr, false).contains("global_batch");
    nlohmann::json saved = nlohmann::json::parse(saved_cfg.toStringRef(), nullptr, false);
    nlohmann::json now = config_to_json(cfg_);
    if (has_global_batch && saved.is_object() && saved.contains("train")) {
      saved["train"].erase("batch_size");
      now["train"].erase("batch_size");
    }
    if (saved != now) {
      throw ConfigError(path +
                        ": --resume needs the config of the run it continues, found "
                        "another (compare " +
                        opts_.out_dir +
                        "/config.json; flags such as "
                        "--threads and --max-steps count too)");
    }
  }
  nlohmann::json state() override {
    std::ostringstream sampler;
    sampler << rng_;
    return {{"sampler", sampler.str()},
            {"last", last},
            {"run_loss", run_loss_},
            {"run_n", run_n_},
            {"last_loss", last_loss_}};
  }
  void restore(const nlohmann::json& st) override {
    // the running training loss (absent before issue 13: it restarts)
    run_loss_ = st.value("run_loss", 0.0);
    run_n_ = st.value("run_n", int64_t{0});
    last_loss_ = st.value("last_loss", 0.0);
    std::istringstream(st.at("sampler").get<std::string>()) >> rng_;
    last = st.at("last");
    last_eval = describe(last);
    if (opts_.verbose) {
      std::fprintf(stderr, "resume: %s at step %lld of %lld\n", model_pt_.c_str(),
                   static_cast<long long>(st.at("step").get<int64_t>()),
                   static_cast<long long>(steps_));
    }
  }
  torch::Tensor loss(int64_t) override {
    const Seq2SeqConfig& c = cfg_.seq2seq;
    // Data parallelism: every rank draws the global batch (batch_size x world size) from the
    // same sampler and keeps the draws i with i % world == rank.
    Pairs batch;
    for (int i = 0; i < cfg_.train.batch_size * world_; ++i) {
      const auto& pair = train_[rng_() % train_.size()];
      if (i % world_ == rank_) batch.push_back(pair);
    }
    auto b = make_seq2seq_batch(batch, c.max_source, c.max_target);
    auto loss = model_->loss(model_->forward(b.src, b.src_mask, b.dec_in), b.target, b.tgt_mask);
    if (world_ == 1) return loss;
    // the mean over the global batch's target tokens
    return loss * DataParallel::instance()->share_of(b.tgt_mask.sum().item<double>());
  }
  void after_step(int64_t step, double lv, double lr) override {
    last_loss_ = lv;
    run_loss_ += lv;
    ++run_n_;
    if (opts_.verbose) {
      clock.update(step, "loss " + fmt("%.4f", run_loss_ / run_n_) + " | lr " + fmt("%.2e", lr) +
                             " | " + last_eval);
    }
    if (step % 100 == 0) run_loss_ = 0, run_n_ = 0;
  }
  Evaluation evaluate(int64_t step, double) override {
    last = evaluate_seq2seq(model_, cfg_, valid_, groups_, step);
    last["train_loss"] = run_n_ > 0 ? run_loss_ / run_n_ : last_loss_;
    last["seconds"] = clock.elapsed_s();
    last_eval = describe(last);
    Evaluation e;
    e.record = last;
    return e;
  }
  std::string eval_summary(const Evaluation&) override { return last_eval; }

  Progress clock;
  nlohmann::json last;
  std::string last_eval = "no evaluation yet";

 private:
  const ExperimentConfig& cfg_;
  const TrainOptions& opts_;
  ByteSeq2Seq& model_;
  const Pairs& train_;
  const Pairs& valid_;
  const GroupedPairs& groups_;
  const std::string model_pt_;
  const int64_t steps_;
  const int rank_, world_;
  std::mt19937 rng_;
  double run_loss_ = 0, last_loss_ = 0;
  int64_t run_n_ = 0;
};

}  // namespace

ExperimentConfig seq2seq_encoder_config(const ExperimentConfig& cfg) {
  ExperimentConfig e;
  const EncoderKindInfo* kind = find_encoder_kind(cfg.seq2seq.encoder);
  e.model = kind != nullptr && kind->seq2seq_section ? seq2seq_encoder_model(cfg.seq2seq)
                                                     : cfg.seq2seq.encoder_model;
  e.tokenizer.max_length = static_cast<int>(cfg.seq2seq.max_source);
  e.tokenizer.lowercase_ascii = false;
  e.quantization = cfg.quantization;
  return e;
}

Seq2SeqTrainResult train_seq2seq(const ExperimentConfig& cfg, const TrainOptions& options,
                                 const std::string& init_from) {
  // Data parallelism (train/distributed.h): each rank computes its share of every global batch;
  // only rank 0 writes to OUT and prints progress.
  DataParallel* dp = DataParallel::instance();
  const int rank = dp ? dp->rank() : 0, world = dp ? dp->world_size() : 1;
  TrainOptions opts = options;
  opts.verbose = opts.verbose && rank == 0;
  if (cfg.task != "seq2seq") {
    throw ConfigError("train_seq2seq: expected task \"seq2seq\", found \"" + cfg.task + "\"");
  }
  const TrainConfig& tc = cfg.train;
  const Seq2SeqConfig& c = cfg.seq2seq;
  // The order of these calls (threads, seed, data, model, optimizer) fixes the random streams.
  torch::set_num_threads(tc.threads);
  torch::manual_seed(tc.seed);
  const Pairs train = as_pairs(read_pairs(opts.train_path, cfg.data, opts.verbose));
  const std::vector<TextPair> valid_rows = read_pairs(opts.valid_path, cfg.data, opts.verbose);
  const Pairs valid = as_pairs(valid_rows);
  const GroupedPairs groups = group_by_source(valid_rows);
  int64_t long_src = 0, long_tgt = 0;
  for (const auto& [s, t] : train) {
    long_src += static_cast<int64_t>(s.size()) > c.max_source;
    long_tgt += static_cast<int64_t>(t.size()) > c.max_target - 1;
  }
  if (rank == 0) {
    make_dirs(opts.out_dir);
    write_file_atomic(opts.out_dir + "/config.json", config_to_json(cfg).dump(2) + "\n");
  }

  auto qat = std::make_shared<QatState>();
  qat->enabled = cfg.quantization.enabled;
  qat->ema_decay = cfg.quantization.ema_decay;
  ByteSeq2Seq model(c, qat);
  const int64_t n = static_cast<int64_t>(train.size());
  const int64_t global_batch = int64_t{tc.batch_size} * world;
  const int64_t steps =
      tc.max_steps > 0 ? tc.max_steps
                       : static_cast<int64_t>(tc.epochs) * ((n + global_batch - 1) / global_batch);
  if (opts.verbose) {
    std::fprintf(stderr,
                 "seq2seq: %lld training pairs (%lld sources > %lld bytes and %lld targets > %lld "
                 "bytes truncated), %zu validation sources; %lld parameters; %lld steps of %d\n",
                 static_cast<long long>(n), static_cast<long long>(long_src),
                 static_cast<long long>(c.max_source), static_cast<long long>(long_tgt),
                 static_cast<long long>(c.max_target - 1), groups.sources.size(),
                 static_cast<long long>(model->parameter_count()), static_cast<long long>(steps),
                 tc.batch_size);
  }
  const std::string model_pt = opts.out_dir + "/model.pt";
  Seq2SeqTask task(cfg, opts, model, train, valid, groups, model_pt, steps, rank, world);
  TrainerSettings ts;
  ts.schedule = tc;
  ts.total_steps = ts.stop_step = steps;
  ts.eval_every =
      tc.eval_every_steps > 0 ? tc.eval_every_steps : (n + global_batch - 1) / global_batch;
  ts.freeze_steps = tc.freeze_encoder_steps;
  ts.init_from = init_from;
  ts.stop_after = opts.stop_after;
  ts.qat = qat;
  ts.qat_warmup_steps = cfg.quantization.warmup_steps;
  ts.checkpoint_path = model_pt;
  ts.log_path = opts.out_dir + "/train_log.jsonl";
  ts.resume = opts.resume;
  ts.verbose = opts.verbose;
  ts.on_eval = opts.on_eval;
  ts.config_json = rank_config_json(cfg);
  ts.data_files = {opts.train_path, opts.valid_path};
  ts.global_batch = global_batch;
  Trainer trainer(task, ts);
  const TrainerResult tr = trainer.run();

  Seq2SeqTrainResult r;
  r.steps = tr.steps;
  r.seconds = task.clock.elapsed_s();
  r.parameter_count = model->parameter_count();
  r.valid = task.last;
  if (tr.interrupted || rank != 0) return r;  // interrupted: OUT/model.pt resumes
  if (opts.verbose) task.clock.finish(steps, task.last_eval);
  model->eval();
  if (cfg.quantization.enabled) {
    r.model_path = opts.out_dir + "/model.blt";
    const std::string bytes = export_seq2seq_bytes(*model, export_info(cfg, steps, model_pt));
    write_file_atomic(r.model_path, bytes);
    r.model_bytes = static_cast<int64_t>(bytes.size());
  }
  return r;
}

int64_t export_seq2seq_checkpoint(const std::string& dir, const std::string& out_path) {
  const ExperimentConfig cfg = load_config(dir + "/config.json");
  if (cfg.task != "seq2seq") {
    throw ConfigError(dir + "/config.json: task: expected \"seq2seq\", found \"" + cfg.task + "\"");
  }
  auto qat = std::make_shared<QatState>();
  qat->enabled = cfg.quantization.enabled;
  ByteSeq2Seq model(cfg.seq2seq, qat);
  const std::string pt = dir + "/model.pt";
  // shapes the config implies, to check what the archive holds against
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected;
  for (const auto& t : model->named_parameters())
    expected.emplace_back(t.key(), t.value().sizes().vec());
  for (const auto& t : model->named_buffers())
    expected.emplace_back(t.key(), t.value().sizes().vec());
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(pt);
    model->load(archive);
  } catch (const c10::Error& e) {
    throw ModelFileError(pt + ": expected a seq2seq model saved by 'bytelite train' with " + dir +
                         "/config.json, found a file that does not load (" +
                         std::string(e.what_without_backtrace()).substr(0, 200) + ")");
  }
  auto shape = [](const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
  };
  const auto params = model->named_parameters();
  const auto buffers = model->named_buffers();
  for (const auto& [name, want] : expected) {
    const torch::Tensor* t = params.find(name);
    if (t == nullptr) t = buffers.find(name);
    if (t == nullptr || t->sizes().vec() != want) {
      throw ModelFileError(pt + ": tensor '" + name + "': expected shape " + shape(want) +
                           " (from " + dir + "/config.json), found " +
                           (t == nullptr ? std::string("none") : shape(t->sizes().vec())) +
                           " (config.json and model.pt come from different runs?)");
    }
  }
  c10::IValue saved;
  if (archive.try_read(kConfigKey, saved) && saved.isString() &&
      saved.toStringRef() != config_to_json(cfg).dump()) {
    throw ModelFileError(pt + ": expected the model of " + dir +
                         "/config.json, found one trained with another config (the config "
                         "saved in model.pt differs; config.json and model.pt come from "
                         "different runs?)");
  }
  model->eval();
  // the step of the saved model: the last line of OUT/train_log.jsonl (model.pt is saved with
  // every evaluation)
  int64_t step = 0;
  std::ifstream log(dir + "/train_log.jsonl");
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("step") && j["step"].is_number_integer()) {
      step = j["step"].get<int64_t>();
    }
  }
  const std::string bytes = export_seq2seq_bytes(*model, export_info(cfg, step, pt));
  write_file_atomic(out_path, bytes);
  return static_cast<int64_t>(bytes.size());
}

}  // namespace bytelite
