#include "train/checkpoint.h"

#include <sys/stat.h>

#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "train/batcher.h"

namespace bytelite {

namespace {
constexpr const char* kFormat = "bytelite-checkpoint";
constexpr int kVersion = 1;
}  // namespace

nlohmann::json meta_to_json(const ModelMeta& m) {
  return {{"format", kFormat},
          {"version", kVersion},
          {"config", config_to_json(m.config)},
          {"labels", m.label_names},
          {"multilabel", m.multilabel},
          {"thresholds", m.thresholds},
          {"valid_metrics", m.valid_metrics},
          {"step", m.step}};
}

ModelMeta meta_from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object() || j.value("format", "") != kFormat) {
    throw ModelFileError(source + ": expected a bytelite checkpoint, found no '" +
                         std::string(kFormat) + "' header");
  }
  int v = j.value("version", 0);
  if (v != kVersion) {
    throw ModelFileError(source + ": expected checkpoint version " + std::to_string(kVersion) +
                         ", found " + std::to_string(v));
  }
  ModelMeta m;
  m.config = config_from_json(j.at("config"), source);
  m.label_names = j.at("labels").get<std::vector<std::string>>();
  m.multilabel = j.at("multilabel").get<bool>();
  m.thresholds = j.at("thresholds").get<std::vector<float>>();
  m.valid_metrics = j.value("valid_metrics", nlohmann::json::object());
  m.step = j.value("step", 0);
  return m;
}

ByteClassifier build_model(const ModelMeta& meta, QatStatePtr qat) {
  return ByteClassifier(meta.config.model, static_cast<int64_t>(meta.label_names.size()), qat,
                        meta.config.tokenizer.max_length);
}

void save_checkpoint(const std::string& path, const ModelMeta& meta, ByteClassifier& model,
                     torch::optim::Optimizer* optimizer, const nlohmann::json& trainer_state) {
  torch::serialize::OutputArchive ar;
  model->save(ar);
  ar.write("bytelite_meta", c10::IValue(meta_to_json(meta).dump()));
  ar.write("bytelite_trainer_state",
           c10::IValue(trainer_state.is_null() ? std::string("{}") : trainer_state.dump()));
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    ar.write("bytelite_optimizer", opt);
  }
  std::ostringstream out;
  ar.save_to(out);
  write_file_atomic(path, out.str());
}

namespace {
std::string resolve(const std::string& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    throw ModelFileError("checkpoint '" + p + "' not found (expected a checkpoint file or a " +
                         "directory written by 'bytelite train')");
  }
  if (S_ISDIR(st.st_mode)) {
    std::string f = p + "/best.ckpt";
    if (::stat(f.c_str(), &st) != 0) {
      throw ModelFileError("directory '" + p + "' holds no best.ckpt (expected the output " +
                           "directory of 'bytelite train')");
    }
    return f;
  }
  return p;
}

torch::serialize::InputArchive open_archive(const std::string& file) {
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(file);
  } catch (const c10::Error& e) {
    throw ModelFileError(file + ": expected a bytelite checkpoint (torch archive), found a file " +
                         "that cannot be read as one");
  }
  return ar;
}

std::string read_string(torch::serialize::InputArchive& ar, const std::string& key,
                        const std::string& file) {
  c10::IValue v;
  if (!ar.try_read(key, v) || !v.isString()) {
    throw ModelFileError(file + ": expected entry '" + key + "' in the checkpoint, found none");
  }
  return v.toStringRef();
}
}  // namespace

LoadedCheckpoint load_checkpoint(const std::string& path_or_dir) {
  std::string file = resolve(path_or_dir);
  auto ar = open_archive(file);
  LoadedCheckpoint lc;
  nlohmann::json mj;
  try {
    mj = nlohmann::json::parse(read_string(ar, "bytelite_meta", file));
    lc.trainer_state = nlohmann::json::parse(read_string(ar, "bytelite_trainer_state", file));
  } catch (const nlohmann::json::exception& e) {
    throw ModelFileError(file + ": expected JSON metadata, found invalid JSON");
  }
  lc.meta = meta_from_json(mj, file);
  lc.qat = std::make_shared<QatState>();
  lc.qat->enabled = lc.meta.config.quantization.enabled;
  lc.qat->active = lc.qat->enabled;
  lc.qat->ema_decay = lc.meta.config.quantization.ema_decay;
  lc.model = build_model(lc.meta, lc.qat);
  try {
    lc.model->load(ar);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw ModelFileError(file + ": model tensors do not match the config (" +
                         msg.substr(0, msg.find('\n')) + ")");
  }
  lc.model->eval();
  return lc;
}

void load_optimizer_state(const std::string& path, torch::optim::Optimizer& optimizer) {
  auto ar = open_archive(path);
  torch::serialize::InputArchive opt;
  if (!ar.try_read("bytelite_optimizer", opt)) {
    throw ModelFileError(path + ": expected optimizer state for --resume, found none");
  }
  optimizer.load(opt);
}

std::vector<float> predict_probabilities(ByteClassifier& model, bool multilabel,
                                         const std::vector<std::vector<int32_t>>& seqs,
                                         int batch_size) {
  torch::NoGradGuard ng;
  const bool was_training = model->is_training();
  model->eval();
  const int64_t C = model->num_labels;
  std::vector<float> out(seqs.size() * C);
  for (const auto& idx : length_sorted_batches(seqs, batch_size)) {
    Batch b = make_batch(seqs, idx);
    auto logits = model->forward(b.ids, b.mask);
    auto p = (multilabel ? torch::sigmoid(logits) : torch::softmax(logits, -1)).contiguous();
    auto acc = p.accessor<float, 2>();
    for (size_t r = 0; r < idx.size(); ++r)
      for (int64_t c = 0; c < C; ++c) out[idx[r] * C + c] = acc[r][c];
  }
  if (was_training) model->train();
  return out;
}

}  // namespace bytelite
