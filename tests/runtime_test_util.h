// Helpers of the runtime tests: QAT models without training (random weights, observed activation
// ranges) and a small trained QAT model shared by the test processes of a build.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "train/batcher.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/export.h"
#include "train/trainer.h"
#include "train_test_util.h"

namespace bytelite::testutil {

/// A small ByteQRNN config for tests.
inline ExperimentConfig small_config(int dim = 16, int layers = 2, int max_length = 128) {
  ExperimentConfig c;
  c.tokenizer.max_length = max_length;
  c.model.embedding_size = dim;
  c.model.bottleneck_size = dim;
  c.model.qrnn_state_size = dim;
  c.model.qrnn_layers = layers;
  c.quantization.warmup_steps = 0;
  c.train.threads = 2;
  c.train.early_stopping_patience = 0;
  return c;
}

/// Quantized values of a fake-quantized float tensor with params p: rne(v / s) + z.
inline std::vector<int> to_q(const torch::Tensor& v, const QuantParams& p) {
  auto c = v.contiguous().to(torch::kFloat);
  std::vector<int> q(c.numel());
  const float* d = c.data_ptr<float>();
  for (int64_t i = 0; i < c.numel(); ++i) {
    q[i] = static_cast<int>(std::nearbyint(d[i] / static_cast<float>(p.scale))) +
           static_cast<int>(p.zero_point);
  }
  return q;
}

/// OLID texts (first n of the training file), for observing ranges and as test inputs.
inline std::vector<std::string> olid_texts(const std::string& file, int n) {
  DataSpec spec;
  auto texts = read_texts(source_path(file), spec);
  if (static_cast<int>(texts.size()) > n) texts.resize(n);
  return texts;
}

/// A QAT model with random weights whose activation ranges were observed on real texts in
/// training mode (as the QAT warm-up does) and whose batch-norm statistics are non-trivial.
/// Exportable; no optimizer step is taken. Fast (well under a second).
inline LoadedCheckpoint random_qat_checkpoint(const ExperimentConfig& cfg, int seed,
                                              std::vector<std::string> labels = {"neg", "pos"},
                                              bool multilabel = false) {
  torch::manual_seed(seed);
  LoadedCheckpoint lc;
  lc.meta.config = cfg;
  lc.meta.label_names = std::move(labels);
  lc.meta.multilabel = multilabel;
  if (!multilabel && lc.meta.label_names.size() == 2) lc.meta.thresholds = {0.4f};
  lc.qat = std::make_shared<QatState>();
  lc.qat->enabled = true;
  lc.qat->active = false;  // observe only
  lc.model = build_model(lc.meta, lc.qat);
  ByteTokenizer tok(cfg.tokenizer.max_length);
  auto texts = olid_texts("data/olid/train.tsv", 96);
  std::vector<std::vector<int32_t>> seqs;
  for (const auto& t : texts) seqs.push_back(encode_text(tok, t));
  lc.model->train();
  torch::NoGradGuard ng;
  for (int b = 0; b < 3; ++b) {
    std::vector<int64_t> idx;
    for (int i = 0; i < 32; ++i) idx.push_back(b * 32 + i);
    Batch batch = make_batch(seqs, idx);
    lc.model->forward(batch.ids, batch.mask);
  }
  lc.qat->active = true;
  lc.model->eval();
  return lc;
}

inline int64_t mtime_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : -1;
}

/// A small QAT model trained on an OLID subset, exported to DIR/model.blt. The result is cached
/// under the build directory and reused while it is newer than the training library (trainer and
/// exporter) and was trained with the same config and data sizes; an exclusive lock serializes
/// concurrent test processes. Returns DIR (holding best.ckpt and model.blt).
inline std::string trained_qat_model(const std::string& tag, const ExperimentConfig& cfg,
                                     int n_train, int n_valid) {
  const std::string root = std::string(BYTELITE_BINARY_DIR) + "/test_artifacts";
  ::mkdir(root.c_str(), 0755);
  const std::string dir = root + "/" + tag;
  const int lock = ::open((dir + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  EXPECT_GE(lock, 0);
  ::flock(lock, LOCK_EX);
  const int64_t lib = mtime_of(std::string(BYTELITE_BINARY_DIR) + "/libbytelite_train.a");
  const std::string key =
      config_to_json(cfg).dump() + " " + std::to_string(n_train) + " " + std::to_string(n_valid);
  if (mtime_of(dir + "/model.blt") < lib || mtime_of(dir + "/best.ckpt") < lib ||
      read_all(dir + "/key.txt") != key) {
    std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
    head_tsv(source_path("data/olid/train.tsv"), dir + "/train.tsv", n_train);
    head_tsv(source_path("data/olid/valid.tsv"), dir + "/valid.tsv", n_valid);
    TrainOptions o{dir + "/train.tsv", dir + "/valid.tsv", dir, false, false};
    train_classifier(cfg, o);
    export_checkpoint(dir, dir + "/model.blt");
    write_file(dir + "/key.txt", key);
  }
  ::flock(lock, LOCK_UN);
  ::close(lock);
  return dir;
}

}  // namespace bytelite::testutil
