// Helpers shared by the seq2seq tests (libtorch side): byte ids of a source and the agreement
// between a QAT ByteSeq2Seq (eval, fake-quantized) and its int8 runtime decoding step by step
// with teacher forcing.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bytelite/byte_tokenizer.h"
#include "runtime/ops/decoder.h"
#include "train/seq2seq.h"
#include "train_test_util.h"

namespace bytelite::testutil {

/// Tokenizer ids of a source (byte + 3; an empty source is one PAD).
inline std::vector<int32_t> ids_of(const std::string& s) {
  std::vector<int32_t> v;
  for (unsigned char c : s) v.push_back(static_cast<int32_t>(c) + kByteOffset);
  if (v.empty()) v.push_back(kPadId);
  return v;
}

/// A short QAT training run as the seq2seq tests use it: AdamW 3e-3 (weight decay 0.01),
/// batches of `batch` pairs sampled with std::mt19937(5), sources up to 16 bytes and targets up
/// to 48 ids, fake quantization from step `qat_from`, gradient norm clipped at 1. Returns the
/// loss of every step; the model is left in eval mode.
inline std::vector<double> train_short_qat(
    ByteSeq2SeqImpl& model, QatState& qat,
    const std::vector<std::pair<std::string, std::string>>& train, int steps, int batch,
    int qat_from) {
  torch::optim::AdamW opt(model.parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0.01));
  model.train();
  std::vector<double> losses;
  std::mt19937 rng(5);
  for (int s = 0; s < steps; ++s) {
    if (s == qat_from) qat.active = true;
    std::vector<std::pair<std::string, std::string>> pairs;
    for (int i = 0; i < batch; ++i) pairs.push_back(train[rng() % train.size()]);
    auto b = make_seq2seq_batch(pairs, 16, 48);
    auto loss = model.loss(model.forward(b.src, b.src_mask, b.dec_in), b.target, b.tgt_mask);
    opt.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model.parameters(), 1.0);
    opt.step();
    losses.push_back(loss.item<double>());
  }
  model.eval();
  return losses;
}

struct QatInt8Agreement {
  int64_t positions = 0;  // target positions compared
  double argmax = 0;      // fraction of positions whose argmax ids agree
  double within1 = 0;     // fraction of logit codes within 1 LSB
  double mean_diff = 0;   // mean |code difference| in LSB
  int64_t max_diff = 0;   // largest |code difference|
};

/// The QAT model's logits (quantized to the runtime's logit params) against the int8 decoder
/// fed the same target prefix, over `pairs` in chunks of 20 (sources up to 16 bytes, targets up
/// to 48 ids). Prints one summary line prefixed by `label`.
inline QatInt8Agreement qat_vs_int8(ByteSeq2SeqImpl& model, const rt::Seq2SeqNet& net,
                                    const std::vector<std::pair<std::string, std::string>>& pairs,
                                    const std::string& label) {
  torch::NoGradGuard ng;
  const rt::QParams lq = net.decoder.logits.out;
  int64_t positions = 0, argmax_agree = 0, within1 = 0, max_code_diff = 0;
  double sum_code_diff = 0;
  rt::EncoderScratch es;
  std::vector<int8_t> enc;
  for (size_t i = 0; i < pairs.size(); i += 20) {
    const size_t n = std::min<size_t>(20, pairs.size() - i);
    const std::vector<std::pair<std::string, std::string>> chunk(
        pairs.begin() + static_cast<std::ptrdiff_t>(i),
        pairs.begin() + static_cast<std::ptrdiff_t>(i + n));
    auto b = make_seq2seq_batch(chunk, 16, 48);
    auto logits = model.forward(b.src, b.src_mask, b.dec_in);
    for (size_t j = 0; j < n; ++j) {
      auto src = ids_of(chunk[j].first);
      const int64_t S = rt::seq2seq_encode(rt::OpContext{rt::best_isa(), es.ops}, net.encoder,
                                           src.data(), static_cast<int64_t>(src.size()), enc, es);
      rt::MattDecoderSession s(net.decoder, 1, rt::best_isa());
      s.set_memory(enc.data(), S, net.encoder.out);
      const int64_t T = static_cast<int64_t>(b.tgt_mask[j].sum().item<float>());
      auto row = logits[j];
      for (int64_t t = 0; t < T; ++t) {
        const int32_t id = static_cast<int32_t>(b.dec_in[j][t].item<int64_t>());
        const int32_t p0 = 0;
        const int8_t* q = s.step(&id, &p0);
        auto codes = (row[t] / lq.scale).round() + lq.zero_point;  // fake-quantized logits
        auto ca = codes.accessor<float, 1>();
        int best_rt = 0, best_tr = 0;
        for (int c = 0; c < kVocabSize; ++c) {
          const int64_t d = std::llabs(static_cast<int64_t>(q[c]) - static_cast<int64_t>(ca[c]));
          max_code_diff = std::max(max_code_diff, d);
          sum_code_diff += static_cast<double>(d);
          within1 += d <= 1;
          if (q[c] > q[best_rt]) best_rt = c;
          if (ca[c] > ca[best_tr]) best_tr = c;
        }
        argmax_agree += best_rt == best_tr;
        ++positions;
      }
    }
  }
  QatInt8Agreement r;
  r.positions = positions;
  const double cells = static_cast<double>(std::max<int64_t>(1, positions) * kVocabSize);
  r.argmax =
      static_cast<double>(argmax_agree) / static_cast<double>(std::max<int64_t>(1, positions));
  r.within1 = static_cast<double>(within1) / cells;
  r.mean_diff = sum_code_diff / cells;
  r.max_diff = max_code_diff;
  std::printf(
      "%sQAT vs int8 decoder: %lld positions, argmax agreement %.4f, logit codes: mean |diff| "
      "%.4f, within 1 LSB %.4f, max |diff| %lld (scale %.4f)\n",
      label.c_str(), static_cast<long long>(positions), r.argmax, r.mean_diff, r.within1,
      static_cast<long long>(max_code_diff), lq.scale);
  return r;
}

}  // namespace bytelite::testutil
