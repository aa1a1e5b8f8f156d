#include "bytelite/classifier.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
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

// Inputs and outputs of one batched forward pass (one per thread; buffers only grow).
struct BatchBuffers {
  std::vector<int32_t> ids;
  std::vector<int64_t> lens;
  std::vector<int8_t> logits;
  std::vector<float> probabilities;     // classify_texts: [batch, C]
  std::vector<std::string_view> views;  // classify_texts: the batch's texts
};
BatchBuffers& thread_batch_buffers() {
  thread_local BatchBuffers b;
  return b;
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

void Classifier::classify_probabilities(const std::string_view* texts, size_t n,
                                        float* probabilities, int batch_size) const {
  if (batch_size < 1) {
    throw InvalidArgument("classify_probabilities: expected a batch size >= 1, found " +
                          std::to_string(batch_size));
  }
  const auto& net = model_->impl().net;
  const int64_t C = net.head.w.n;
  ByteTokenizer tok(info().max_length, info().lowercase_ascii);
  BatchBuffers& b = thread_batch_buffers();
  rt::Workspace& ws = thread_workspace();
  for (size_t lo = 0; lo < n; lo += static_cast<size_t>(batch_size)) {
    const size_t hi = std::min(n, lo + static_cast<size_t>(batch_size));
    b.ids.clear();
    b.lens.clear();
    for (size_t i = lo; i < hi; ++i) {
      const size_t before = b.ids.size();
      tok.encode_append(texts[i], b.ids);
      if (b.ids.size() == before) b.ids.push_back(kPadId);  // as encode()
      b.lens.push_back(static_cast<int64_t>(b.ids.size() - before));
    }
    const int64_t m = static_cast<int64_t>(hi - lo);
    rt::grow(b.logits, m * C);
    rt::classifier_forward_batch(rt::OpContext{to_rt(isa_), ws.ops}, net, b.ids.data(),
                                 b.lens.data(), m, ws, b.logits.data());
    for (int64_t i = 0; i < m; ++i) {
      rt::probabilities(b.logits.data() + i * C, C, net.multilabel, net.output_exp.data(),
                        net.output_sigmoid.data(),
                        probabilities + (static_cast<int64_t>(lo) + i) * C);
    }
  }
}

void Classifier::classify_texts(const std::string* texts, size_t n, Prediction* out,
                                int batch_size) const {
  if (batch_size < 1) {
    throw InvalidArgument("classify_texts: expected a batch size >= 1, found " +
                          std::to_string(batch_size));
  }
  const size_t C = static_cast<size_t>(model_->impl().net.head.w.n);
  const size_t bs = static_cast<size_t>(batch_size);
  std::vector<float>& probs = thread_batch_buffers().probabilities;
  std::vector<std::string_view>& views = thread_batch_buffers().views;
  for (size_t lo = 0; lo < n; lo += bs) {
    const size_t m = std::min(bs, n - lo);
    probs.resize(m * C);
    views.assign(texts + lo, texts + lo + m);
    classify_probabilities(views.data(), m, probs.data(), batch_size);
    for (size_t i = 0; i < m; ++i) {
      Prediction& p = out[lo + i];
      p.probabilities.assign(probs.begin() + static_cast<std::ptrdiff_t>(i * C),
                             probs.begin() + static_cast<std::ptrdiff_t>((i + 1) * C));
      p.labels = decide(p.probabilities, info().thresholds);
    }
  }
}

std::vector<Prediction> Classifier::classify_batch(const std::vector<std::string>& texts,
                                                   int threads, int batch_size) const {
  if (batch_size < 1) {
    throw InvalidArgument("classify_batch: expected a batch size >= 1, found " +
                          std::to_string(batch_size));
  }
  std::vector<Prediction> out(texts.size());
  const size_t n = texts.size();
  const size_t bs = static_cast<size_t>(batch_size);
  const size_t batches = (n + bs - 1) / bs;
  const size_t workers = std::max<size_t>(1, std::min<size_t>(std::max(threads, 1), batches));
  // Dynamic scheduling by batch; each batch is classified by one thread with its own workspace,
  // and a text's result does not depend on its batch, so the results do not depend on the
  // number of threads or the batch size.
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (;;) {
      const size_t b = next.fetch_add(1);
      if (b >= batches) return;
      const size_t lo = b * bs;
      classify_texts(texts.data() + lo, std::min(bs, n - lo), out.data() + lo, batch_size);
    }
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return out;
}

}  // namespace bytelite
