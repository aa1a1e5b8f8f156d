// Experiment driver (not the CLI): trains a ByteSeq2Seq with the MAtt decoder on the CMUdict
// G2P split in data/cmudict (QAT), exports it to the int8 runtime and reports the word error
// rate (a word is right if the hypothesis equals any of its reference pronunciations) and the
// phone error rate (phone edit distance to the closest reference / its length) of int8 beam
// search on a dev set held out from train.tsv (every 40th word) or on test.tsv.
//
//   seq2seq_g2p [key=value ...]
//     steps=3000 batch=64 lr=2e-3 dim=128 heads=4 ffn=256 enc_layers=2 dec_layers=2
//     qat_start=0.3 (fraction of steps) smoothing=0.1 dropout=0.1 threads=1 seed=1
//     eval=500 (words; 0 = all) split=dev|test beam=4 alpha=0.6 data=data/cmudict
//     save=PATH (torch archive of the trained model)
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bytelite/seq2seq.h"
#include "core/seq2seq_metrics.h"
#include "train/seq2seq.h"
#include "train/seq2seq_export.h"

namespace {

using Dict = std::map<std::string, std::vector<std::string>>;  // word -> pronunciations

Dict read_dict(const std::string& path) {
  Dict d;
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(1);
  }
  std::string line;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    d[line.substr(0, tab)].push_back(line.substr(tab + 1));
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt = {
      {"steps", "3000"},    {"batch", "64"},          {"lr", "2e-3"},      {"dim", "128"},
      {"heads", "4"},       {"ffn", "256"},           {"enc_layers", "2"}, {"dec_layers", "2"},
      {"qat_start", "0.3"}, {"smoothing", "0.1"},     {"dropout", "0.1"},  {"threads", "1"},
      {"seed", "1"},        {"eval", "500"},          {"split", "dev"},    {"beam", "4"},
      {"alpha", "0.6"},     {"data", "data/cmudict"}, {"save", ""}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const auto eq = a.find('=');
    if (eq == std::string::npos || opt.count(a.substr(0, eq)) == 0) {
      std::fprintf(stderr, "unknown argument %s (expected key=value)\n", a.c_str());
      return 1;
    }
    opt[a.substr(0, eq)] = a.substr(eq + 1);
  }
  auto num = [&](const char* k) { return std::stod(opt[k]); };
  torch::set_num_threads(static_cast<int>(num("threads")));
  torch::manual_seed(static_cast<uint64_t>(num("seed")));

  const Dict train_all = read_dict(opt["data"] + "/train.tsv");
  std::vector<std::pair<std::string, std::string>> train;
  Dict eval;
  int wi = 0;
  for (const auto& [w, prons] : train_all) {
    const bool dev = (wi++ % 40) == 0;
    if (dev) {
      eval[w] = prons;
    } else {
      for (const auto& p : prons) train.emplace_back(w, p);
    }
  }
  if (opt["split"] == "test") eval = read_dict(opt["data"] + "/test.tsv");
  std::printf("train pairs %zu, %s words %zu\n", train.size(), opt["split"].c_str(), eval.size());

  bytelite::Seq2SeqConfig c;
  c.dim = static_cast<int64_t>(num("dim"));
  c.num_heads = static_cast<int64_t>(num("heads"));
  c.intermediate_size = static_cast<int64_t>(num("ffn"));
  c.encoder_layers = static_cast<int64_t>(num("enc_layers"));
  c.decoder_layers = static_cast<int64_t>(num("dec_layers"));
  c.max_source = 40;
  c.max_target = 96;
  c.dropout = num("dropout");
  c.label_smoothing = num("smoothing");
  auto qat = std::make_shared<bytelite::QatState>();
  bytelite::ByteSeq2Seq model(c, qat);
  std::printf("parameters %lld\n", static_cast<long long>(model->parameter_count()));

  const int steps = static_cast<int>(num("steps")), bs = static_cast<int>(num("batch"));
  const double lr = num("lr");
  const int qat_start = static_cast<int>(num("qat_start") * steps);
  const int warmup = std::min(200, steps / 10);
  torch::optim::AdamW optim(model->parameters(), torch::optim::AdamWOptions(lr).weight_decay(0.01));
  std::mt19937 rng(static_cast<uint32_t>(num("seed")));
  model->train();
  const auto t0 = std::chrono::steady_clock::now();
  double run_loss = 0;
  for (int s = 0; s < steps; ++s) {
    qat->active = s >= qat_start;
    const double f = s < warmup ? (s + 1.0) / warmup
                                : 0.5 * (1 + std::cos(M_PI * (s - warmup) / (steps - warmup)));
    for (auto& g : optim.param_groups())
      static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr * std::max(f, 0.02));
    std::vector<std::pair<std::string, std::string>> batch;
    for (int i = 0; i < bs; ++i) batch.push_back(train[rng() % train.size()]);
    auto b = bytelite::make_seq2seq_batch(batch, c.max_source, c.max_target);
    auto loss = model->loss(model->forward(b.src, b.src_mask, b.dec_in), b.target, b.tgt_mask);
    optim.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    optim.step();
    run_loss += loss.item<double>();
    if ((s + 1) % 100 == 0) {
      const double el =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("step %d loss %.4f (%.0f s)\n", s + 1, run_loss / 100, el);
      std::fflush(stdout);
      run_loss = 0;
    }
  }
  model->eval();
  if (!opt["save"].empty()) {
    torch::save(model, opt["save"]);  // parameters and QAT ranges (buffers)
    std::printf("saved %s\n", opt["save"].c_str());
  }
  auto int8 = bytelite::export_seq2seq_model(*model);

  const size_t limit = num("eval") > 0 ? static_cast<size_t>(num("eval")) : eval.size();
  std::vector<std::string> words;
  std::vector<bytelite::Seq2SeqItem> items;
  for (const auto& [w, refs] : eval) {
    if (words.size() >= limit) break;
    words.push_back(w);
    items.push_back({"", refs});
  }
  bytelite::GenerateOptions o;
  o.beam_size = static_cast<int32_t>(num("beam"));
  o.length_penalty = num("alpha");
  const auto e0 = std::chrono::steady_clock::now();
  const auto outs = bytelite::generate_batch(int8, words, o);
  const double es_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
  for (size_t i = 0; i < outs.size(); ++i) items[i].hypothesis = outs[i].front().text;
  const bytelite::Seq2SeqScores sc = bytelite::score_seq2seq(items);
  std::printf("%s: %lld words, WER %.2f%%, PER %.2f%% (int8, beam %d, alpha %.2f; %.1f ms/word)\n",
              opt["split"].c_str(), static_cast<long long>(sc.sources), 100.0 * sc.wer,
              100.0 * sc.per, o.beam_size, o.length_penalty, 1000 * es_ / words.size());
  return 0;
}
