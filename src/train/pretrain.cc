#include "train/pretrain.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/byte_tokenizer.h"
#include "core/errors.h"
#include "core/progress.h"
#include "train/encoder_registry.h"
#include "train/trainer.h"

namespace bytelite {
namespace {

constexpr const char* kPretrainFormat = "bytelite-pretrain-checkpoint";
constexpr int kPretrainVersion = 1;

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, n) (n >= 1), by rejection so that every value is equally likely.
uint64_t below(uint64_t& s, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do {
    x = splitmix64(s);
  } while (x >= limit);
  return x % n;
}

// Splits `total` into `parts` segment lengths >= 1, uniformly over all such compositions:
// parts - 1 distinct cut points among the total - 1 gaps (a partial Fisher-Yates shuffle).
std::vector<int> random_composition(int total, int parts, uint64_t& s) {
  std::vector<int> gaps(total - 1);
  for (int i = 0; i < total - 1; ++i) gaps[i] = i + 1;
  for (int i = 0; i < parts - 1; ++i) {
    const int j = i + static_cast<int>(below(s, static_cast<uint64_t>(total - 1 - i)));
    std::swap(gaps[i], gaps[j]);
  }
  std::vector<int> cuts(gaps.begin(), gaps.begin() + (parts - 1));
  std::sort(cuts.begin(), cuts.end());
  std::vector<int> len(parts);
  int prev = 0;
  for (int i = 0; i < parts - 1; ++i) {
    len[i] = cuts[i] - prev;
    prev = cuts[i];
  }
  len[parts - 1] = total - prev;
  return len;
}

uint64_t mix_seed(uint64_t seed, int64_t step, int64_t row) {
  uint64_t s = seed ^ 0x5DEECE66Dull;
  uint64_t a = splitmix64(s);
  s = a ^ static_cast<uint64_t>(step) * 0xD1B54A32D192ED03ull;
  uint64_t b = splitmix64(s);
  s = b ^ static_cast<uint64_t>(row) * 0x8CB92BA72F3D8DD7ull;
  return splitmix64(s);
}

std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  return fmt(u == 0 ? "%.0f" : "%.1f", b) + " " + units[u];
}

// Pretraining options as TrainConfig, for learning_rate_at.
TrainConfig schedule_of(const PretrainConfig& p) {
  TrainConfig t;
  t.learning_rate = p.learning_rate;
  t.lr_warmup_steps = p.lr_warmup_steps;
  t.lr_schedule = p.lr_schedule;
  t.min_lr_ratio = p.min_lr_ratio;
  return t;
}

torch::serialize::InputArchive open_archive(const std::string& file) {
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(file);
  } catch (const c10::Error& e) {
    throw ModelFileError(file + ": expected a bytelite pretraining checkpoint (torch archive), " +
                         "found a file that cannot be read as one");
  }
  return ar;
}

std::string read_string(torch::serialize::InputArchive& ar, const std::string& key,
                        const std::string& file) {
  c10::IValue v;
  if (!ar.try_read(key, v) || !v.isString()) {
    throw ModelFileError(file + ": expected entry '" + key + "' in the pretraining checkpoint " +
                         "(written by 'bytelite pretrain'), found none");
  }
  return v.toStringRef();
}

struct PretrainCheckpoint {
  std::string file;
  ExperimentConfig config;
  nlohmann::json meta, trainer_state;
};

// Opens a pretraining checkpoint and loads its tensors into a ByteMlm built from its config.
PretrainCheckpoint read_pretrain_checkpoint(const std::string& path_or_dir, ByteMlm* model,
                                            QatStatePtr qat,
                                            torch::serialize::InputArchive* archive = nullptr) {
  PretrainCheckpoint pc;
  struct stat st {};
  if (::stat(path_or_dir.c_str(), &st) != 0) {
    throw ModelFileError("pretraining checkpoint '" + path_or_dir + "' not found (expected a " +
                         "file or the output directory of 'bytelite pretrain')");
  }
  pc.file = S_ISDIR(st.st_mode) ? path_or_dir + "/last.ckpt" : path_or_dir;
  if (::stat(pc.file.c_str(), &st) != 0) {
    throw ModelFileError("directory '" + path_or_dir + "' holds no last.ckpt (expected the " +
                         "output directory of 'bytelite pretrain')");
  }
  auto ar = open_archive(pc.file);
  try {
    pc.meta = nlohmann::json::parse(read_string(ar, "bytelite_pretrain_meta", pc.file));
    pc.trainer_state = nlohmann::json::parse(read_string(ar, "bytelite_trainer_state", pc.file));
  } catch (const nlohmann::json::exception&) {
    throw ModelFileError(pc.file + ": expected JSON metadata, found invalid JSON");
  }
  if (!pc.meta.is_object() || pc.meta.value("format", "") != kPretrainFormat) {
    throw ModelFileError(pc.file + ": expected a pretraining checkpoint ('" +
                         std::string(kPretrainFormat) + "'), found another kind of file");
  }
  if (pc.meta.value("version", 0) != kPretrainVersion) {
    throw ModelFileError(pc.file + ": expected pretraining checkpoint version " +
                         std::to_string(kPretrainVersion) + ", found " +
                         std::to_string(pc.meta.value("version", 0)));
  }
  pc.config = config_from_json(pc.meta.at("config"), pc.file);
  *model = ByteMlm(pc.config, std::move(qat));
  try {
    (*model)->load(ar);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw ModelFileError(pc.file + ": model tensors do not match the config (" +
                         msg.substr(0, msg.find('\n')) + ")");
  }
  if (archive != nullptr) *archive = std::move(ar);
  return pc;
}

}  // namespace

void choose_masked_spans(const uint8_t* valid, int L, double mask_rate, double mean_span,
                         uint64_t seed, uint8_t* masked) {
  std::fill(masked, masked + L, uint8_t{0});
  int n = 0;
  while (n < L && valid[n] != 0) ++n;
  if (n < 2) return;
  const int n_mask = std::clamp(static_cast<int>(std::lround(mask_rate * n)), 1, n - 1);
  const int n_keep = n - n_mask;
  // k spans need k - 1 inner gaps of at least one unmasked id.
  const int k = std::clamp(static_cast<int>(std::lround(n_mask / mean_span)), 1,
                           std::min(n_mask, n_keep + 1));
  uint64_t s = seed;
  const std::vector<int> spans = random_composition(n_mask, k, s);
  // k + 1 gaps, the first and last may be empty: a composition of n_keep + 2 into k + 1
  // positive parts, minus one from the first and the last.
  std::vector<int> gaps = random_composition(n_keep + 2, k + 1, s);
  gaps.front() -= 1;
  gaps.back() -= 1;
  int t = 0;
  for (int i = 0; i < k; ++i) {
    t += gaps[i];
    for (int j = 0; j < spans[i]; ++j) masked[t++] = 1;
  }
}

MaskedBatch mask_batch(const PackedBatch& batch, double mask_rate, double mean_span, uint64_t seed,
                       int64_t step, int64_t row_offset) {
  const int B = batch.rows, L = batch.seq_len;
  MaskedBatch mb;
  mb.ids = torch::empty({B, L}, torch::kInt64);
  mb.mask = torch::empty({B, L}, torch::kFloat);
  mb.targets = torch::full({B, L}, -100, torch::kInt64);
  auto ids = mb.ids.accessor<int64_t, 2>();
  auto mask = mb.mask.accessor<float, 2>();
  auto tg = mb.targets.accessor<int64_t, 2>();
  std::vector<uint8_t> m(L);
  for (int r = 0; r < B; ++r) {
    const int32_t* in = batch.ids.data() + static_cast<size_t>(r) * L;
    const uint8_t* valid = batch.mask.data() + static_cast<size_t>(r) * L;
    choose_masked_spans(valid, L, mask_rate, mean_span, mix_seed(seed, step, row_offset + r),
                        m.data());
    for (int t = 0; t < L; ++t) {
      mask[r][t] = valid[t] ? 1.0f : 0.0f;
      if (m[t]) {
        ids[r][t] = kMaskId;
        tg[r][t] = in[t];
        ++mb.masked;
      } else {
        ids[r][t] = in[t];
      }
    }
  }
  return mb;
}

ByteMlmImpl::ByteMlmImpl(const ExperimentConfig& cfg, QatStatePtr qat) {
  if (encoder_kind(cfg.model).projection) {
    throw ConfigError(
        "model.encoder: expected an encoder whose positions are bytes for masked-"
        "byte pretraining, found \"" +
        cfg.model.encoder + "\" (projection input: its positions are tokens)");
  }
  encoder = register_module("encoder", ByteClassifier(cfg.model, 0, qat, cfg.tokenizer.max_length));
  bytes_per_position = encoder->bytes_per_position();
  mlm_head =
      register_module("mlm_head", QDense(encoder->encoder_width(), bytes_per_position * kVocabSize,
                                         false, Activation::kNone, qat, /*quantize_output=*/false));
}

torch::Tensor ByteMlmImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
  const int64_t B = ids.size(0), L = ids.size(1);
  auto [h, hm] = encoder->encode(ids, mask);
  auto logits = mlm_head->forward(h);  // [B, T', r * 259]
  return logits.reshape({B, h.size(1) * bytes_per_position, kVocabSize}).narrow(1, 0, L);
}

MlmLoss mlm_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  MlmLoss r;
  auto flat = logits.reshape({-1, kVocabSize});
  auto tg = targets.reshape({-1});
  r.loss = torch::nn::functional::cross_entropy(flat, tg);
  torch::NoGradGuard ng;
  auto sel = tg != -100;
  r.masked = sel.sum().item<int64_t>();
  if (r.masked > 0) {
    auto correct = (flat.argmax(-1) == tg).logical_and(sel).sum().item<int64_t>();
    r.accuracy = static_cast<double>(correct) / r.masked;
  }
  return r;
}

ByteMlm load_pretrain_checkpoint(const std::string& path_or_dir, ExperimentConfig* cfg,
                                 int64_t* step) {
  ByteMlm m{nullptr};
  auto qat = std::make_shared<QatState>();
  auto pc = read_pretrain_checkpoint(path_or_dir, &m, qat);
  qat->enabled = pc.config.quantization.enabled;
  qat->active = qat->enabled;
  qat->ema_decay = pc.config.quantization.ema_decay;
  m->eval();
  if (cfg != nullptr) *cfg = pc.config;
  if (step != nullptr) *step = pc.meta.value("step", int64_t{0});
  return m;
}

std::vector<std::string> encoder_config_differences(const ExperimentConfig& a,
                                                    const ExperimentConfig& b) {
  std::vector<std::string> keys = {"encoder",
                                   "embedding_size",
                                   "bottleneck_size",
                                   "gbst_max_block_width",
                                   "gbst_conv_kernel_size",
                                   "gbst_downsample_rate"};
  // the keys of both encoders' kinds (each kind's unit lists its own; train/encoder_registry.h)
  for (const ModelConfig* mc : {&a.model, &b.model}) {
    for (const std::string& k : train_encoder_unit(*mc).keys) {
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
  }
  const auto ja = config_to_json(a), jb = config_to_json(b);
  std::vector<std::string> diffs;
  auto cmp = [&](const std::string& sec, const std::string& k) {
    const auto va = ja.at(sec).value(k, nlohmann::json()),
               vb = jb.at(sec).value(k, nlohmann::json());
    if (va != vb) diffs.push_back(sec + "." + k + ": " + va.dump() + " vs " + vb.dump());
  };
  cmp("tokenizer", "lowercase_ascii");
  if (encoder_kind(a.model).attention) cmp("tokenizer", "max_length");  // position rows
  for (const auto& k : keys) cmp("model", k);
  return diffs;
}

int64_t init_encoder_from(ByteClassifier& model, const ExperimentConfig& cfg,
                          const std::string& path_or_dir, int64_t* pretrain_step) {
  ByteMlm mlm{nullptr};
  // Building the checkpoint's model draws initial weights from torch's default generator:
  // restore its state, so that fine-tuning draws the same dropout masks as a run from scratch.
  auto gen = at::detail::getDefaultCPUGenerator();
  const auto rng_state = gen.get_state();
  auto pc = read_pretrain_checkpoint(path_or_dir, &mlm, std::make_shared<QatState>());
  gen.set_state(rng_state);
  const auto diffs = encoder_config_differences(cfg, pc.config);
  std::string hint;
  for (const auto& d : diffs) hint += (hint.empty() ? "" : "; ") + d;
  if (!hint.empty()) hint = " (the configs differ: " + hint + ", fine-tuning vs pretraining)";
  // Source tensors: "encoder.<name>" of the pretraining model.
  std::map<std::string, torch::Tensor> src;
  for (const auto& p : mlm->encoder->named_parameters()) src[p.key()] = p.value();
  for (const auto& b : mlm->encoder->named_buffers()) src[b.key()] = b.value();
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  std::set<std::string> used;
  auto take = [&](const std::string& name, const torch::Tensor& dst) {
    if (ByteClassifierImpl::is_head_tensor(name)) return;
    auto it = src.find(name);
    if (it == src.end()) {
      throw ModelFileError(pc.file + ": expected the encoder tensor '" + name + "' (shape " +
                           shape_str(dst) + " in the fine-tuning model), found none in the " +
                           "pretraining checkpoint" + hint);
    }
    if (it->second.sizes() != dst.sizes()) {
      throw ModelFileError(pc.file + ": encoder tensor '" + name + "': expected shape " +
                           shape_str(dst) + " (the fine-tuning model), found " +
                           shape_str(it->second) + " in the pretraining checkpoint" + hint);
    }
    used.insert(name);
    copies.emplace_back(dst, it->second);
  };
  for (const auto& p : model->named_parameters()) take(p.key(), p.value());
  for (const auto& b : model->named_buffers()) take(b.key(), b.value());
  for (const auto& s : src) {
    if (!used.count(s.first)) {
      throw ModelFileError(pc.file + ": the pretraining checkpoint holds the encoder tensor '" +
                           s.first + "' (shape " + shape_str(s.second) +
                           "), which the fine-tuning model does not have" + hint);
    }
  }
  if (!diffs.empty()) {
    throw ConfigError("--init-from " + pc.file + ": the model config must match the " +
                      "pretraining config's encoder" + hint);
  }
  torch::NoGradGuard ng;
  for (auto& c : copies) c.first.copy_(c.second);
  if (pretrain_step != nullptr) *pretrain_step = pc.meta.value("step", int64_t{0});
  return static_cast<int64_t>(copies.size());
}

int64_t init_pretraining_from(ByteMlm& model, const ExperimentConfig& cfg,
                              const std::string& path_or_dir, int64_t* pretrain_step) {
  ByteMlm src{nullptr};
  // Building the checkpoint's model draws initial weights: keep torch's generator as it was.
  auto gen = at::detail::getDefaultCPUGenerator();
  const auto rng_state = gen.get_state();
  auto pc = read_pretrain_checkpoint(path_or_dir, &src, std::make_shared<QatState>());
  gen.set_state(rng_state);
  std::string diffs;
  for (const auto& d : encoder_config_differences(cfg, pc.config))
    diffs += (diffs.empty() ? "" : "; ") + d;
  if (!diffs.empty()) {
    throw ConfigError("--init-from " + pc.file + ": the model config must match the " +
                      "checkpoint's encoder (the configs differ: " + diffs +
                      ", this run vs the checkpoint)");
  }
  // Same encoder config, so the same tensors (encoder.* and mlm_head.*) with the same shapes.
  std::map<std::string, torch::Tensor> from;
  for (const auto& p : src->named_parameters()) from[p.key()] = p.value();
  for (const auto& b : src->named_buffers()) from[b.key()] = b.value();
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  auto take = [&](const std::string& name, const torch::Tensor& dst) {
    auto it = from.find(name);
    if (it == from.end() || it->second.sizes() != dst.sizes()) {
      throw ModelFileError(pc.file + ": tensor '" + name + "': expected shape " + shape_str(dst) +
                           " (this run's model), found " +
                           (it == from.end() ? std::string("none") : shape_str(it->second)) +
                           " in the pretraining checkpoint");
    }
    copies.emplace_back(dst, it->second);
  };
  for (const auto& p : model->named_parameters()) take(p.key(), p.value());
  for (const auto& b : model->named_buffers()) take(b.key(), b.value());
  torch::NoGradGuard ng;
  for (auto& c : copies) c.first.copy_(c.second);
  if (pretrain_step != nullptr) *pretrain_step = pc.meta.value("step", int64_t{0});
  return static_cast<int64_t>(copies.size());
}

namespace {

// The pretrain task: masked byte spans of the packed corpus stream (replayed on --resume, so a
// resumed run sees the same batches), the held-out loss at each evaluation.
class PretrainTask : public TrainTask {
 public:
  PretrainTask(const ExperimentConfig& cfg, const PretrainOptions& opts, ByteMlm& model,
               PackedBatchStream& stream, const std::vector<MaskedBatch>& heldout,
               std::string last_path, int64_t stop, std::function<double()> elapsed, int rank,
               int world)
      : cfg_(cfg),
        pc_(cfg.pretrain),
        opts_(opts),
        model_(model),
        stream_(stream),
        heldout_(heldout),
        last_path_(std::move(last_path)),
        stop_(stop),
        elapsed_(std::move(elapsed)),
        rank_(rank),
        world_(world),
        bytes_per_step(static_cast<double>(cfg.pretrain.batch_size) * cfg.pretrain.seq_len * world),
        tty_(isatty(fileno(stderr)) != 0),
        live_(Progress("pretrain", 0, "steps", 2.0, !opts.verbose).enabled()) {}

  torch::nn::Module& module() override { return *model_; }
  std::vector<ParamGroup> parameter_groups() override {
    ParamGroup decay{{}, pc_.weight_decay}, no_decay{{}, 0.0};
    for (const auto& p : model_->named_parameters())
      (p.value().dim() >= 2 ? decay : no_decay).params.push_back(p.value());
    return {decay, no_decay};
  }
  std::vector<torch::Tensor> frozen_parameters() override { return model_->encoder->parameters(); }
  std::string init_from(const std::string& path) override {
    int64_t pstep = 0;
    const int64_t n = init_pretraining_from(model_, cfg_, path, &pstep);
    return "init: " + std::to_string(n) + " tensors (encoder and prediction head) from " + path +
           " (pretrained " + std::to_string(pstep) + " steps); the optimizer and schedule start " +
           "fresh";
  }
  void write_meta(torch::serialize::OutputArchive& ar) override {
    nlohmann::json meta = {{"format", kPretrainFormat},
                           {"version", kPretrainVersion},
                           {"config", config_to_json(cfg_)},
                           {"corpus", opts_.corpus},
                           {"step", step_}};
    if (world_ > 1) meta["world_size"] = world_;  // data parallelism: batch_size is per rank
    ar.write("bytelite_pretrain_meta", c10::IValue(meta.dump()));
  }
  void check_resume(torch::serialize::InputArchive& ar, const std::string& path) override {
    c10::IValue m;
    nlohmann::json meta;
    if (ar.try_read("bytelite_pretrain_meta", m) && m.isString())
      meta = nlohmann::json::parse(m.toStringRef(), nullptr, false);
    if (!meta.is_object() || meta.value("format", "") != kPretrainFormat) {
      throw ModelFileError(path + ": expected a pretraining checkpoint ('" +
                           std::string(kPretrainFormat) + "'), found another kind of file");
    }
    const ExperimentConfig saved = config_from_json(meta.at("config"), path);
    const auto ja = config_to_json(cfg_), jb = config_to_json(saved);
    for (const char* sec : {"tokenizer", "model", "quantization"}) {
      if (ja.at(sec) != jb.at(sec)) {
        throw ConfigError(path + ": --resume needs the same \"" + std::string(sec) +
                          "\" section as the checkpoint's config, found " + ja.at(sec).dump() +
                          " vs " + jb.at(sec).dump());
      }
    }
    // the global batch (per-rank batch_size x world size) may be split over another world size
    const int64_t saved_world = meta.value("world_size", int64_t{1});
    const int64_t saved_batch = saved.pretrain.batch_size * saved_world;
    if (saved_batch != int64_t{pc_.batch_size} * world_) {
      throw ConfigError(path + ": --resume needs the checkpoint's global batch of " +
                        std::to_string(saved_batch) + " sequences (pretrain.batch_size " +
                        std::to_string(saved.pretrain.batch_size) + " x " +
                        std::to_string(saved_world) + " ranks), found " +
                        std::to_string(pc_.batch_size) + " x " + std::to_string(world_));
    }
    for (const char* k : {"seq_len", "mask_rate", "mean_span", "seed", "shuffle_capacity"}) {
      if (ja.at("pretrain").at(k) != jb.at("pretrain").at(k)) {
        throw ConfigError(path + ": --resume needs the checkpoint's pretrain." + k + " (" +
                          jb.at("pretrain").at(k).dump() + "), found " +
                          ja.at("pretrain").at(k).dump());
      }
    }
    if (meta.value("corpus", std::vector<std::string>{}) != opts_.corpus && opts_.verbose) {
      std::fprintf(stderr, "note: the corpus files differ from the checkpoint's %s\n",
                   meta.value("corpus", nlohmann::json::array()).dump().c_str());
    }
  }
  nlohmann::json state() override {
    return {{"heldout_loss", heldout_loss},
            {"heldout_accuracy", heldout_acc},
            {"train_loss_ema", loss_ema},
            {"train_accuracy_ema", acc_ema}};
  }
  void restore(const nlohmann::json& st) override {
    // the moving averages (absent before issue 13: they restart)
    if (st.value("train_loss_ema", nlohmann::json()).is_number())
      loss_ema = st.at("train_loss_ema").get<double>();
    if (st.value("train_accuracy_ema", nlohmann::json()).is_number())
      acc_ema = st.at("train_accuracy_ema").get<double>();
    step_ = st.at("step").get<int64_t>();
    if (st.at("heldout_loss").is_number()) heldout_loss = st.at("heldout_loss").get<double>();
    if (st.at("heldout_accuracy").is_number())
      heldout_acc = st.at("heldout_accuracy").get<double>();
    // The corpus stream is deterministic: replay it to the saved position.
    const double r0 = elapsed_();
    PackedBatch skip;
    for (int64_t i = 0; i < step_; ++i) stream_.next(&skip);
    if (opts_.verbose) {
      std::fprintf(stderr, "resume: from %s at step %lld; replayed %lld corpus batches in %.1fs\n",
                   last_path_.c_str(), static_cast<long long>(step_), static_cast<long long>(step_),
                   elapsed_() - r0);
    }
  }
  void begin(int64_t first_step) override {
    first_step_ = first_step;
    loop_start_ = std::chrono::steady_clock::now();
    if (!opts_.verbose) return;
    int64_t params = 0;
    for (const auto& p : model_->encoder->parameters()) params += p.numel();
    std::fprintf(
        stderr,
        "pretrain: %s encoder, %lld parameters (+%lld in the prediction head, %lld "
        "bytes per position), QAT %s; masked spans: rate %.3f, mean length %.1f; "
        "%lld steps of %d x %d bytes, %d threads; held-out: %zu batches\n",
        cfg_.model.encoder.c_str(), static_cast<long long>(params),
        static_cast<long long>(model_->mlm_head->weight.numel() + model_->mlm_head->bias.numel()),
        static_cast<long long>(model_->bytes_per_position),
        cfg_.quantization.enabled ? "on" : "off", pc_.mask_rate, pc_.mean_span,
        static_cast<long long>(pc_.steps), pc_.batch_size, pc_.seq_len, pc_.threads,
        heldout_.size());
  }
  torch::Tensor loss(int64_t step) override {
    PackedBatch batch;
    if (!stream_.next(&batch)) throw InputError("pretrain: the corpus stream ended");
    MaskedBatch mb = mask_batch(batch, pc_.mask_rate, pc_.mean_span, pc_.seed, step,
                                int64_t{rank_} * pc_.batch_size);
    auto r = mlm_loss(model_->forward(mb.ids, mb.mask), mb.targets);
    accuracy_ = r.accuracy;
    if (world_ == 1) return r.loss;
    // the mean over the global batch's masked bytes
    return r.loss * DataParallel::instance()->share_of(static_cast<double>(r.masked));
  }
  void after_step(int64_t step, double lv, double lr) override {
    step_ = step;
    lr_ = lr;
    loss_ema = std::isnan(loss_ema) ? lv : 0.98 * loss_ema + 0.02 * lv;
    acc_ema = std::isnan(acc_ema) ? accuracy_ : 0.98 * acc_ema + 0.02 * accuracy_;
    // live progress lines: on a terminal (or BYTELITE_PROGRESS=lines), as core/progress.h
    if (live_ && elapsed_() - last_log_ >= (tty_ ? 2.0 : 10.0)) {
      last_log_ = elapsed_();
      std::fprintf(stderr, "%s%s%s", tty_ ? "\r" : "", progress_line().c_str(),
                   tty_ ? "\033[K" : "\n");
      std::fflush(stderr);
    }
  }
  Evaluation evaluate(int64_t step, double lr) override {
    if (!heldout_.empty()) {
      torch::NoGradGuard ng;
      model_->eval();
      double loss_sum = 0, correct = 0;
      int64_t n = 0;
      for (const auto& hb : heldout_) {
        auto r = mlm_loss(model_->forward(hb.ids, hb.mask), hb.targets);
        loss_sum += r.loss.item<double>() * r.masked;
        correct += r.accuracy * r.masked;
        n += r.masked;
      }
      heldout_loss = loss_sum / std::max<int64_t>(1, n);
      heldout_acc = correct / std::max<int64_t>(1, n);
      model_->train();
    }
    Evaluation e;
    e.record = {{"step", step},
                {"train_loss", loss_ema},
                {"train_accuracy", acc_ema},
                {"lr", lr},
                {"bytes", static_cast<double>(step) * bytes_per_step},
                {"seconds", elapsed_()}};
    if (!heldout_.empty()) {
      e.record["heldout_loss"] = heldout_loss;
      e.record["heldout_accuracy"] = heldout_acc;
    }
    return e;
  }
  std::string eval_summary(const Evaluation&) override {
    char buf[512];
    std::snprintf(buf, sizeof buf, "loss %.4f acc %.4f | held-out loss %.4f acc %.4f | saved %s",
                  loss_ema, acc_ema, heldout_loss, heldout_acc, last_path_.c_str());
    return buf;
  }
  double loop_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - loop_start_).count();
  }
  std::string progress_line() const {
    const CorpusReader& rd = stream_.reader();
    const double el = loop_s();
    const double done = static_cast<double>(step_ - first_step_);
    const double rate = el > 0 ? done * bytes_per_step / el : 0;
    const double eta = done > 0 ? (stop_ - step_) * el / done : -1;
    char buf[512];
    std::snprintf(
        buf, sizeof buf,
        "[pretrain] step %lld/%lld %.1f%% | %s/s | ETA %s | loss %.4f | masked-byte "
        "acc %.4f | lr %.2e | held-out loss %.4f acc %.4f | corpus epoch %lld, %s "
        "of %s, %lld docs",
        static_cast<long long>(step_), static_cast<long long>(stop_),
        100.0 * step_ / std::max<int64_t>(1, stop_), human_bytes(rate).c_str(),
        eta < 0 ? "?" : Progress::format_duration(eta).c_str(), loss_ema, acc_ema, lr_,
        heldout_loss, heldout_acc, static_cast<long long>(rd.epoch() + 1),
        human_bytes(static_cast<double>(rd.bytes_read() - rd.epoch() * rd.epoch_bytes())).c_str(),
        human_bytes(static_cast<double>(rd.epoch_bytes())).c_str(),
        static_cast<long long>(rd.documents()));
    return buf;
  }

  double heldout_loss = NAN, heldout_acc = NAN;
  double loss_ema = NAN, acc_ema = NAN;

 private:
  const ExperimentConfig& cfg_;
  const PretrainConfig& pc_;
  const PretrainOptions& opts_;
  ByteMlm& model_;
  PackedBatchStream& stream_;
  const std::vector<MaskedBatch>& heldout_;
  const std::string last_path_;
  const int64_t stop_;
  std::function<double()> elapsed_;
  const int rank_, world_;

 public:
  const double bytes_per_step;

 private:
  const bool tty_;
  const bool live_;
  int64_t step_ = 0, first_step_ = 0;
  double lr_ = 0, accuracy_ = 0, last_log_ = 0;
  std::chrono::steady_clock::time_point loop_start_ = std::chrono::steady_clock::now();
};

}  // namespace

PretrainResult pretrain_encoder(const ExperimentConfig& cfg, const PretrainOptions& options) {
  const PretrainConfig& pc = cfg.pretrain;
  if (options.corpus.empty()) throw ConfigError("pretrain: expected at least one corpus file");
  // Data parallelism (train/distributed.h): each rank reads its shard of the corpus stream;
  // only rank 0 writes to OUT and prints progress.
  DataParallel* dp = DataParallel::instance();
  const int rank = dp ? dp->rank() : 0, world = dp ? dp->world_size() : 1;
  PretrainOptions opts = options;
  opts.verbose = opts.verbose && rank == 0;
  torch::set_num_threads(pc.threads);
  at::globalContext().setFlushDenormal(true);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&]() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };

  // ---- data ----
  PackedBatchOptions so;
  so.corpus.epochs = 0;  // cycle; the loop stops after the planned steps
  so.corpus.seed = pc.seed;
  so.packer.seq_len = pc.seq_len;
  so.packer.lowercase_ascii = cfg.tokenizer.lowercase_ascii;
  so.shuffle_capacity = static_cast<size_t>(pc.shuffle_capacity);
  so.batch_size = pc.batch_size;
  so.keep_last = false;
  so.corpus.shard_count = world;
  so.corpus.shard_index = rank;
  PackedBatchStream stream(opts.corpus, so);

  // Held-out: the first heldout_sequences sequences of the file in file order, masked once with
  // a fixed seed, so every evaluation sees the same inputs.
  std::vector<MaskedBatch> heldout;
  if (!pc.heldout.empty()) {
    PackedBatchOptions ho = so;
    ho.corpus.epochs = 1;
    ho.corpus.shuffle_files = false;
    ho.corpus.shard_count = 1;  // every rank evaluates the whole held-out set
    ho.corpus.shard_index = 0;
    ho.shuffle_capacity = 1;
    ho.batch_size = std::min(pc.batch_size, pc.heldout_sequences);
    ho.keep_last = true;
    PackedBatchStream hs({pc.heldout}, ho);
    PackedBatch b;
    int64_t rows = 0;
    while (rows < pc.heldout_sequences && hs.next(&b)) {
      heldout.push_back(mask_batch(b, pc.mask_rate, pc.mean_span, pc.seed ^ 0xA5A5A5A5ull,
                                   -1 - static_cast<int64_t>(heldout.size())));
      rows += b.rows;
    }
  }

  // ---- model ----
  torch::manual_seed(pc.seed);
  auto qat = std::make_shared<QatState>();
  qat->enabled = cfg.quantization.enabled;
  qat->ema_decay = cfg.quantization.ema_decay;
  ByteMlm model(cfg, qat);

  const std::string last_path = opts.out_dir + "/last.ckpt";
  if (rank == 0) {
    make_dirs(opts.out_dir);
    write_file_atomic(opts.out_dir + "/config.json", config_to_json(cfg).dump(2) + "\n");
  }

  const int64_t total = pc.steps;
  const int64_t stop = opts.max_steps > 0 ? std::min<int64_t>(opts.max_steps, total) : total;
  PretrainTask task(cfg, opts, model, stream, heldout, last_path, stop, elapsed, rank, world);
  TrainerSettings ts;
  ts.what = "pretraining";
  ts.lr_key = "pretrain.learning_rate";
  ts.schedule = schedule_of(pc);
  ts.schedule.adam_beta1 = cfg.train.adam_beta1;
  ts.schedule.adam_beta2 = cfg.train.adam_beta2;
  ts.schedule.adam_eps = cfg.train.adam_eps;
  ts.schedule.grad_clip = pc.grad_clip;
  ts.total_steps = total;
  ts.stop_step = stop;
  ts.eval_every = pc.eval_every_steps;
  ts.freeze_steps = pc.freeze_encoder_steps;
  ts.init_from = opts.init_from;
  ts.stop_after = opts.stop_after;
  ts.qat = qat;
  ts.qat_warmup_steps = cfg.quantization.warmup_steps;
  ts.checkpoint_path = last_path;
  ts.log_path = opts.out_dir + "/pretrain_log.jsonl";
  ts.resume = opts.resume;
  ts.verbose = opts.verbose;
  ts.on_eval = opts.on_eval;
  ts.config_json = rank_config_json(cfg);
  ts.data_files = opts.corpus;
  if (!pc.heldout.empty()) ts.data_files.push_back(pc.heldout);
  ts.global_batch = int64_t{pc.batch_size} * world;
  Trainer trainer(task, ts);
  const TrainerResult tr = trainer.run();

  PretrainResult res;
  res.steps = tr.steps;
  res.heldout_loss = task.heldout_loss;
  res.heldout_accuracy = task.heldout_acc;
  res.train_loss = task.loss_ema;
  res.train_accuracy = task.acc_ema;
  res.seconds = elapsed();
  res.bytes_per_s =
      task.loop_s() > 0 ? (tr.steps - tr.first_step) * task.bytes_per_step / task.loop_s() : 0;
  res.checkpoint = last_path;
  if (opts.verbose) std::fprintf(stderr, "%s\n", task.progress_line().c_str());
  return res;
}

}  // namespace bytelite
