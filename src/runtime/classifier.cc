#include "bytelite/classifier.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "bytelite/byte_tokenizer.h"
#include "bytelite/errors.h"
#include "runtime/kernel_isa.h"
#include "runtime/models/classifier_net.h"

namespace bytelite {

namespace {

rt::Isa to_rt(KernelIsa isa) { return rt::to_rt_isa(isa); }

rt::Workspace& thread_workspace() {
  thread_local rt::Workspace ws;
  return ws;
}

}  // namespace

Classifier::Classifier(std::shared_ptr<const Model> model, ClassifierOptions options)
    : model_(std::move(model)) {
  if (!model_) throw ConfigError("Classifier: expected a model, found a null pointer");
  if (model_->impl().seq2seq) {
    throw InvalidArgument("Classifier: expected a classifier model, found architecture " +
                          model_->info().architecture +
                          " (a seq2seq model: use Seq2SeqGenerator, bytelite/seq2seq.h)");
  }
  isa_ = rt::from_rt_isa(rt::supported_rt_isa(options.isa));
}

Classifier Classifier::load(const std::string& path, ClassifierOptions options) {
  return Classifier(Model::load(path), options);
}

const char* Classifier::isa_name(KernelIsa isa) {
  return isa == KernelIsa::kAuto ? "auto" : rt::isa_name(to_rt(isa));
}

std::vector<KernelIsa> Classifier::available_isas() {
  std::vector<KernelIsa> out{KernelIsa::kReference};
  if (rt::isa_supported(rt::Isa::kAvx2)) out.push_back(KernelIsa::kAvx2);
  if (rt::isa_supported(rt::Isa::kAvx512Vnni)) out.push_back(KernelIsa::kAvx512Vnni);
  return out;
}

std::vector<int32_t> Classifier::encode(std::string_view text) const {
  ByteTokenizer tok(info().max_length, info().lowercase_ascii);
  std::vector<int32_t> ids = tok.encode(text);
  if (ids.empty()) ids.push_back(kPadId);  // as src/train/batcher.cc encode_text
  return ids;
}

std::vector<int8_t> Classifier::logits(const std::vector<int32_t>& ids) const {
  const auto& net = model_->impl().net;
  if (ids.empty()) throw InputError("logits: expected at least one token id, found none");
  if (net.transformer && static_cast<int64_t>(ids.size()) > net.max_positions) {
    throw InputError("logits: expected at most " + std::to_string(net.max_positions) +
                     " token ids (the position embedding's length), found " +
                     std::to_string(ids.size()));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= net.vocab_size) {
      throw InputError("token id at position " + std::to_string(i) + ": expected an id in [0, " +
                       std::to_string(net.vocab_size - 1) + "], found " + std::to_string(ids[i]));
    }
  }
  std::vector<int8_t> out(static_cast<size_t>(net.head.w.n));
  rt::Workspace& ws = thread_workspace();
  rt::classifier_forward(rt::OpContext{to_rt(isa_), ws.ops}, net, ids.data(),
                         static_cast<int64_t>(ids.size()), ws, out.data());
  return out;
}

std::pair<float, int32_t> Classifier::logit_params() const {
  const auto& q = model_->impl().net.head.out;
  return {q.scale, q.zero_point};
}

std::vector<int32_t> Classifier::decide(const std::vector<float>& p,
                                        const std::vector<float>& thresholds) const {
  const int64_t C = static_cast<int64_t>(p.size());
  std::vector<int32_t> labels;
  if (info().multilabel) {
    for (int64_t c = 0; c < C; ++c) {
      const float t = c < static_cast<int64_t>(thresholds.size()) ? thresholds[c] : 0.5f;
      if (p[c] >= t) labels.push_back(static_cast<int32_t>(c));
    }
  } else if (C == 2 && thresholds.size() == 1) {
    labels.push_back(p[1] >= thresholds[0] ? 1 : 0);
  } else {
    labels.push_back(static_cast<int32_t>(std::max_element(p.begin(), p.end()) - p.begin()));
  }
  return labels;
}

Prediction Classifier::classify(std::string_view text) const {
  const auto& net = model_->impl().net;
  const std::vector<int32_t> ids = encode(text);
  const int64_t C = net.head.w.n;
  int8_t q[256];
  std::vector<int8_t> big;
  int8_t* logit = q;
  if (C > 256) {
    big.resize(C);
    logit = big.data();
  }
  rt::Workspace& ws = thread_workspace();
  rt::classifier_forward(rt::OpContext{to_rt(isa_), ws.ops}, net, ids.data(),
                         static_cast<int64_t>(ids.size()), ws, logit);
  Prediction pred;
  pred.probabilities.resize(C);
  rt::probabilities(logit, C, net.multilabel, net.output_exp.data(), net.output_sigmoid.data(),
                    pred.probabilities.data());
  pred.labels = decide(pred.probabilities, info().thresholds);
  return pred;
}

std::vector<Prediction> Classifier::classify_batch(const std::vector<std::string>& texts,
                                                   int threads) const {
  std::vector<Prediction> out(texts.size());
  const int64_t n = static_cast<int64_t>(texts.size());
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(threads, n));
  if (workers <= 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = classify(texts[i]);
    return out;
  }
  // Dynamic scheduling in chunks; each text is classified by exactly one thread with its own
  // workspace, so the results do not depend on the number of threads.
  std::atomic<int64_t> next{0};
  constexpr int64_t kChunk = 8;
  auto work = [&]() {
    for (;;) {
      const int64_t start = next.fetch_add(kChunk);
      if (start >= n) return;
      for (int64_t i = start; i < std::min(n, start + kChunk); ++i) out[i] = classify(texts[i]);
    }
  };
  std::vector<std::thread> pool;
  for (int64_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return out;
}

}  // namespace bytelite
