// Seq2SeqGenerator (include/bytelite/seq2seq.h): tokenizer, int8 encoder, MAtt decoder session
// and the quantized beam search (docs/seq2seq.md, docs/beam_search.md).
#include "bytelite/seq2seq.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "bytelite/beam_search.h"
#include "bytelite/byte_tokenizer.h"
#include "bytelite/errors.h"
#include "runtime/kernel_isa.h"
#include "runtime/models/classifier_net.h"
#include "runtime/ops/decoder.h"

namespace bytelite {

namespace {

constexpr int32_t kMaxBeam = 1024;  // as the model file's beam_size (runtime/model.cc)

[[noreturn]] void invalid(const std::string& msg) { throw InvalidArgument(msg); }

const rt::Seq2SeqNet& checked_net(const std::shared_ptr<const Model>& model) {
  if (!model) invalid("Seq2SeqGenerator: expected a model, found a null pointer");
  if (!model->impl().seq2seq) {
    invalid(
        "Seq2SeqGenerator: expected a seq2seq model (architecture byteseq2seq), found " +
        (model->info().architecture.empty() ? std::string("none") : model->info().architecture));
  }
  return *model->impl().seq2seq;
}

// Defaults filled in from the model, then every value checked.
GenerateOptions resolve(const ModelInfo& info, GenerateOptions o) {
  const std::string p = "generate options: ";
  if (o.beam_size < 0 || o.beam_size > kMaxBeam) {
    invalid(p + "beam_size must be in [1, " + std::to_string(kMaxBeam) +
            "] (0 = the model's default), found " + std::to_string(o.beam_size));
  }
  if (o.beam_size == 0) o.beam_size = info.beam_size;
  if (o.n_best < 1 || o.n_best > o.beam_size) {
    invalid(p + "n_best must be in [1, beam_size = " + std::to_string(o.beam_size) + "], found " +
            std::to_string(o.n_best));
  }
  if (o.max_len < 0 || o.max_len > info.max_target) {
    invalid(p + "max_len must be in [1, max_target = " + std::to_string(info.max_target) +
            "] (0 = max_target), found " + std::to_string(o.max_len));
  }
  if (o.max_len == 0) o.max_len = info.max_target;
  if (!std::isfinite(o.length_penalty)) {
    invalid(p + "length_penalty must be finite (negative = the model's default), found " +
            std::to_string(o.length_penalty));
  }
  if (o.length_penalty < 0) o.length_penalty = info.length_penalty;
  if (o.length_penalty > 10) {
    invalid(p +
            "length_penalty must be in [0, 10] (GNMT alpha; negative = the model's default), "
            "found " +
            std::to_string(o.length_penalty));
  }
  o.isa = rt::from_rt_isa(rt::supported_rt_isa(o.isa));
  return o;
}

}  // namespace

struct Seq2SeqGenerator::State {
  std::shared_ptr<const Model> model;
  const rt::Seq2SeqNet& net;
  GenerateOptions options;
  rt::Isa isa;
  ByteTokenizer tokenizer;
  BeamSearch search;
  rt::MattDecoderSession session;
  rt::EncoderScratch scratch;
  std::vector<int8_t> enc;

  State(std::shared_ptr<const Model> m, const rt::Seq2SeqNet& n, const GenerateOptions& o)
      : model(std::move(m)),
        net(n),
        options(o),
        isa(rt::to_rt_isa(o.isa)),
        tokenizer(model->info().max_length, model->info().lowercase_ascii),
        search(beam_options(o)),
        session(n.decoder, o.beam_size, isa) {}

  static BeamSearchOptions beam_options(const GenerateOptions& o) {
    BeamSearchOptions b;
    b.beam_size = o.beam_size;
    b.n_best = o.n_best;
    b.max_len = o.max_len;
    b.length_penalty = o.length_penalty;
    b.num_classes = kVocabSize;
    b.sos_id = kPadId;  // the decoder's start id (kSeq2SeqStartId)
    b.eos_id = kEosId;
    // PAD and UNK are never training targets: a hypothesis holds byte ids and EOS only, so its
    // text has exactly one byte per id before EOS
    b.class_mask.assign(kVocabSize, true);
    b.class_mask[kPadId] = false;
    b.class_mask[kUnkId] = false;
    return b;
  }
};

Seq2SeqGenerator::Seq2SeqGenerator(std::shared_ptr<const Model> model, GenerateOptions options) {
  const rt::Seq2SeqNet& net = checked_net(model);
  const GenerateOptions resolved = resolve(model->info(), options);
  s_ = std::make_unique<State>(std::move(model), net, resolved);
}

Seq2SeqGenerator::~Seq2SeqGenerator() = default;
Seq2SeqGenerator::Seq2SeqGenerator(Seq2SeqGenerator&&) noexcept = default;
Seq2SeqGenerator& Seq2SeqGenerator::operator=(Seq2SeqGenerator&&) noexcept = default;

const GenerateOptions& Seq2SeqGenerator::options() const { return s_->options; }
const ModelInfo& Seq2SeqGenerator::info() const { return s_->model->info(); }
const Model& Seq2SeqGenerator::model() const { return *s_->model; }

std::vector<int32_t> Seq2SeqGenerator::encode(std::string_view source) const {
  return s_->tokenizer.encode(source);
}

std::vector<Generation> Seq2SeqGenerator::generate(std::string_view source) {
  State& s = *s_;
  const std::vector<int32_t> ids = s.tokenizer.encode(source);
  if (ids.empty()) return {Generation{}};  // nothing to translate: one empty hypothesis
  const int64_t S =
      rt::seq2seq_encode(rt::OpContext{s.isa, s.scratch.ops}, s.net.encoder, ids.data(),
                         static_cast<int64_t>(ids.size()), s.enc, s.scratch);
  s.session.set_memory(s.enc.data(), S, s.net.encoder.out);
  rt::MattBeamDecoder decoder(s.session);
  std::vector<Hypothesis> hyps = s.search.search(decoder);
  std::vector<Generation> out;
  out.reserve(hyps.size());
  for (Hypothesis& h : hyps) {
    Generation g;
    g.text = ByteTokenizer::decode(h.ids);
    g.ids = std::move(h.ids);
    g.score = h.score;
    g.log_prob = h.log_prob;
    g.finished = h.finished;
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<std::vector<Generation>> generate_batch(
    std::shared_ptr<const Model> model, const std::vector<std::string>& sources,
    const GenerateOptions& options, int threads,
    const std::function<void(int64_t done)>& progress) {
  if (threads < 1)
    invalid("generate_batch: threads must be >= 1, found " + std::to_string(threads));
  const int64_t n = static_cast<int64_t>(sources.size());
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(threads, n));
  // Every generator is built (options validated) before any decoding starts.
  std::vector<Seq2SeqGenerator> gens;
  gens.reserve(workers);
  for (int64_t w = 0; w < workers; ++w) gens.emplace_back(model, options);
  std::vector<std::vector<Generation>> out(sources.size());
  // Dynamic scheduling, one source at a time; each source is decoded by exactly one generator
  // and a generator's result does not depend on what it decoded before, so the output does not
  // depend on the number of threads.
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  int64_t done = 0;
  std::exception_ptr error;
  auto work = [&](Seq2SeqGenerator& g) {
    try {
      for (;;) {
        if (failed.load()) return;
        const int64_t i = next.fetch_add(1);
        if (i >= n) return;
        out[i] = g.generate(sources[i]);
        if (progress) {
          std::lock_guard<std::mutex> lock(mu);
          progress(++done);
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
      failed.store(true);
    }
  };
  std::vector<std::thread> pool;
  for (int64_t w = 1; w < workers; ++w) pool.emplace_back(work, std::ref(gens[w]));
  work(gens[0]);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return out;
}

}  // namespace bytelite
