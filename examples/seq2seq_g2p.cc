// Experiment driver (not the CLI): trains a ByteSeq2Seq with the MAtt decoder on the CMUdict
// G2P split in data/cmudict (QAT) with the library's training loop (train_seq2seq, the Trainer of
// src/train/loop.h), which exports the int8 model file; then reports the word error rate (a word
// is right if the hypothesis equals any of its reference pronunciations) and the phone error rate
// (phone edit distance to the closest reference / its length) of int8 beam search on the dev set
// (g2p_valid.tsv) or the test set (g2p_test.tsv).
//
//   seq2seq_g2p [key=value ...]
//     steps=3000 batch=64 lr=2e-3 dim=128 heads=4 ffn=256 enc_layers=2 dec_layers=2
//     qat_start=0.3 (fraction of steps) smoothing=0.1 dropout=0.1 threads=1 seed=1
//     eval=500 (words; 0 = all) split=dev|test beam=4 alpha=0.6 data=data/cmudict
//     out=runs/g2p_example (the run directory: model.pt, model.blt, train_log.jsonl)
// The recipe is that of configs/g2p_cmudict_24k.json (warm-up min(200, steps / 10), a cosine
// clamped at 2% of the peak, weight decay 0.01, clipping at norm 1).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bytelite/model.h"
#include "bytelite/seq2seq.h"
#include "core/dataset.h"
#include "core/seq2seq_metrics.h"
#include "train/config.h"
#include "train/seq2seq_trainer.h"

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt = {{"steps", "3000"},
                                            {"batch", "64"},
                                            {"lr", "2e-3"},
                                            {"dim", "128"},
                                            {"heads", "4"},
                                            {"ffn", "256"},
                                            {"enc_layers", "2"},
                                            {"dec_layers", "2"},
                                            {"qat_start", "0.3"},
                                            {"smoothing", "0.1"},
                                            {"dropout", "0.1"},
                                            {"threads", "1"},
                                            {"seed", "1"},
                                            {"eval", "500"},
                                            {"split", "dev"},
                                            {"beam", "4"},
                                            {"alpha", "0.6"},
                                            {"data", "data/cmudict"},
                                            {"out", "runs/g2p_example"}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const auto eq = a.find('=');
    if (eq == std::string::npos || opt.count(a.substr(0, eq)) == 0) {
      std::fprintf(stderr, "unknown argument %s (expected key=value)\n", a.c_str());
      return 1;
    }
    opt[a.substr(0, eq)] = a.substr(eq + 1);
  }
  try {
    const long steps = std::stol(opt["steps"]);
    const nlohmann::json j = {
        {"task", "seq2seq"},
        {"data", {{"text_column", "word"}, {"label_columns", {"pronunciation"}}}},
        {"seq2seq",
         {{"dim", std::stol(opt["dim"])},
          {"num_heads", std::stol(opt["heads"])},
          {"intermediate_size", std::stol(opt["ffn"])},
          {"encoder_layers", std::stol(opt["enc_layers"])},
          {"decoder_layers", std::stol(opt["dec_layers"])},
          {"gbst_max_block_width", 1},
          {"gbst_conv_kernel_size", 3},
          {"gbst_downsample_rate", 1},
          {"max_source", 40},
          {"max_target", 96},
          {"dropout", std::stod(opt["dropout"])},
          {"label_smoothing", std::stod(opt["smoothing"])},
          {"beam_size", std::stol(opt["beam"])},
          {"length_penalty", std::stod(opt["alpha"])},
          {"eval_sources", 0}}},  // scored below, once
        {"quantization",
         {{"enabled", true},
          {"ema_decay", 0.99},
          {"warmup_steps", static_cast<long>(std::stod(opt["qat_start"]) * steps)}}},
        {"train",
         {{"batch_size", std::stol(opt["batch"])},
          {"max_steps", steps},
          {"learning_rate", std::stod(opt["lr"])},
          {"weight_decay", 0.01},
          {"lr_warmup_steps", std::min(200L, steps / 10)},
          {"lr_schedule", "cosine_clamped"},
          {"min_lr_ratio", 0.02},
          {"grad_clip", 1.0},
          {"eval_every_steps", steps},
          {"seed", std::stol(opt["seed"])},
          {"threads", std::stol(opt["threads"])}}}};
    const bytelite::ExperimentConfig cfg = bytelite::config_from_json(j, "seq2seq_g2p");
    bytelite::TrainOptions o;
    o.train_path = opt["data"] + "/g2p_train.tsv";
    o.valid_path = opt["data"] + "/g2p_valid.tsv";
    o.out_dir = opt["out"];
    const bytelite::Seq2SeqTrainResult r = bytelite::train_seq2seq(cfg, o);
    std::printf("trained %lld steps in %.0f s; %lld parameters; %s\n",
                static_cast<long long>(r.steps), r.seconds,
                static_cast<long long>(r.parameter_count), r.model_path.c_str());

    const std::string eval_path =
        opt["data"] + (opt["split"] == "test" ? "/g2p_test.tsv" : "/g2p_valid.tsv");
    const bytelite::GroupedPairs eval = bytelite::group_by_source(
        bytelite::read_text_pairs(eval_path, "word", "pronunciation").pairs);
    const size_t limit = std::stol(opt["eval"]) > 0 ? std::stoul(opt["eval"]) : eval.sources.size();
    const size_t n = std::min(limit, eval.sources.size());
    const std::vector<std::string> words(eval.sources.begin(),
                                         eval.sources.begin() + static_cast<std::ptrdiff_t>(n));
    bytelite::GenerateOptions g;
    g.beam_size = std::stoi(opt["beam"]);
    g.length_penalty = std::stod(opt["alpha"]);
    const auto e0 = std::chrono::steady_clock::now();
    const auto outs = bytelite::generate_batch(bytelite::Model::load(r.model_path), words, g);
    const double es = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
    std::vector<bytelite::Seq2SeqItem> items;
    for (size_t i = 0; i < n; ++i) items.push_back({outs[i].front().text, eval.references[i]});
    const bytelite::Seq2SeqScores sc = bytelite::score_seq2seq(items);
    std::printf(
        "%s: %lld words, WER %.2f%%, PER %.2f%% (int8, beam %d, alpha %.2f; %.1f ms/word)\n",
        opt["split"].c_str(), static_cast<long long>(sc.sources), 100.0 * sc.wer, 100.0 * sc.per,
        g.beam_size, g.length_penalty, 1000 * es / std::max<size_t>(1, n));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seq2seq_g2p: %s\n", e.what());
    return 1;
  }
  return 0;
}
