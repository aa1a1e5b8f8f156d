#include "core/runtime_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/progress.h"
#include "runtime/kernel_isa.h"
#include "runtime/models/classifier_net.h"

namespace bytelite {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
}  // namespace

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  return v[i];
}

RuntimeBenchResult bench_runtime(const Classifier& clf, const std::vector<std::string>& texts,
                                 const RuntimeBenchOptions& o,
                                 const std::vector<const Classifier*>& others,
                                 const std::vector<std::string>& compare_paths) {
  if (texts.empty()) throw InputError("bench: expected at least one text, found none");
  if (o.threads < 1 || o.repeat < 1 || o.batch_size < 1) {
    throw ConfigError("bench: expected threads, repeat and batch size >= 1, found " +
                      std::to_string(o.threads) + ", " + std::to_string(o.repeat) + " and " +
                      std::to_string(o.batch_size));
  }
  const ModelInfo& info = clf.info();
  RuntimeBenchResult r;
  const int64_t N = static_cast<int64_t>(texts.size());
  r.examples = N;
  r.max_length = info.max_length;
  r.threads = o.threads;
  r.isa = Classifier::isa_name(clf.isa());
  r.model_bytes = info.file_bytes;
  r.float_bytes = info.float_bytes;
  double bytes_in = 0;
  for (const auto& t : texts) bytes_in += std::min<double>(t.size(), info.max_length);
  r.mean_bytes = bytes_in / N;

  // Progress over every classification the benchmark makes: latency pass, throughput passes
  // (this model and the compared ones), profile pass.
  const int64_t units = N * o.repeat * (3 + static_cast<int64_t>(others.size())) + 2 * N;
  int64_t done = 0;
  Progress prog("bench", units, "ex", 2.0, o.quiet);
  for (int64_t i = 0; i < std::min<int64_t>(N, 32); ++i) clf.classify(texts[i]);  // warm-up
  std::vector<double> lat;
  lat.reserve(N * o.repeat);
  for (int rep = 0; rep < o.repeat; ++rep) {
    for (const auto& t : texts) {
      auto t0 = Clock::now();
      clf.classify(t);
      lat.push_back(seconds_since(t0));
      prog.update(++done);
    }
  }
  r.p50_ms = 1e3 * percentile(lat, 0.5);
  r.p99_ms = 1e3 * percentile(lat, 0.99);
  for (const Classifier* c : others)
    for (int64_t i = 0; i < std::min<int64_t>(N, 32); ++i) c->classify(texts[i]);
  double secs = 0, batched_secs = 0;
  std::vector<double> other_secs(others.size(), 0.0);
  for (int rep = 0; rep < o.repeat; ++rep) {
    auto t0 = Clock::now();
    clf.classify_batch(texts, o.threads, 1);
    secs += seconds_since(t0);
    prog.update(done += N);
    t0 = Clock::now();
    clf.classify_batch(texts, o.threads, o.batch_size);
    batched_secs += seconds_since(t0);
    prog.update(done += N);
    for (size_t k = 0; k < others.size(); ++k) {
      auto t1 = Clock::now();
      others[k]->classify_batch(texts, o.threads, 1);
      other_secs[k] += seconds_since(t1);
      prog.update(done += N);
    }
  }
  r.examples_per_s = N * o.repeat / secs;
  r.batch_size = o.batch_size;
  r.batched_examples_per_s = N * o.repeat / batched_secs;
  for (size_t k = 0; k < others.size(); ++k) {
    RuntimeBenchCompare c;
    c.model_path = k < compare_paths.size() ? compare_paths[k] : "";
    c.architecture = others[k]->info().architecture;
    c.examples_per_s = N * o.repeat / other_secs[k];
    c.ratio_to_model = c.examples_per_s / r.examples_per_s;
    r.compare.push_back(c);
  }
  // per-op profiles (one more pass each): one text per forward pass, then batched
  const rt::Isa isa = rt::to_rt_isa(clf.isa());
  const rt::ClassifierNet& net = clf.model().impl().net;
  auto shares = [](const rt::Profile& prof) {
    std::vector<std::pair<std::string, double>> out;
    double total = 0;
    for (double s : prof.seconds) total += s;
    for (int i = 0; i < rt::kOpCount; ++i) {
      if (prof.calls[i] == 0) continue;
      out.emplace_back(rt::op_name(static_cast<rt::Op>(i)),
                       total > 0 ? prof.seconds[i] / total : 0.0);
    }
    return out;
  };
  {
    rt::Profile prof;
    rt::Workspace ws;
    std::vector<int8_t> logits(info.labels.size());
    for (const auto& t : texts) {
      auto ids = clf.encode(t);
      rt::classifier_forward(rt::OpContext{isa, ws.ops, nullptr, &prof}, net, ids.data(),
                             static_cast<int64_t>(ids.size()), ws, logits.data());
      prog.update(++done);
    }
    r.op_share = shares(prof);
  }
  {
    rt::Profile prof;
    rt::Workspace ws;
    std::vector<int8_t> logits;
    std::vector<int32_t> ids;
    std::vector<int64_t> lens;
    for (int64_t lo = 0; lo < N; lo += o.batch_size) {
      const int64_t n = std::min<int64_t>(o.batch_size, N - lo);
      ids.clear();
      lens.clear();
      for (int64_t i = lo; i < lo + n; ++i) {
        auto e = clf.encode(texts[i]);
        ids.insert(ids.end(), e.begin(), e.end());
        lens.push_back(static_cast<int64_t>(e.size()));
      }
      logits.resize(n * info.labels.size());
      rt::classifier_forward_batch(rt::OpContext{isa, ws.ops, nullptr, &prof}, net, ids.data(),
                                   lens.data(), n, ws, logits.data());
      prog.update(done += n);
    }
    r.batched_op_share = shares(prof);
  }
  prog.finish(done);
  return r;
}

double RuntimeBenchResult::size_ratio() const {
  return float_bytes > 0 ? static_cast<double>(model_bytes) / static_cast<double>(float_bytes) : 0;
}

std::string RuntimeBenchResult::to_json() const {
  nlohmann::ordered_json j = {
      {"model", model_path},
      {"examples", examples},
      {"mean_bytes", mean_bytes},
      {"threads", threads},
      {"isa", isa},
      {"examples_per_s", examples_per_s},
      {"batch_size", batch_size},
      {"batched_examples_per_s", batched_examples_per_s},
      {"batch_speedup", examples_per_s > 0 ? batched_examples_per_s / examples_per_s : 0},
      {"p50_ms", p50_ms},
      {"p99_ms", p99_ms},
      {"model_bytes", model_bytes},
      {"float_bytes", float_bytes},
      {"size_ratio", size_ratio()}};
  nlohmann::ordered_json ops = nlohmann::ordered_json::object();
  for (const auto& [name, share] : op_share) ops[name] = share;
  j["op_time_share"] = ops;
  nlohmann::ordered_json bops = nlohmann::ordered_json::object();
  for (const auto& [name, share] : batched_op_share) bops[name] = share;
  j["batched_op_time_share"] = bops;
  if (!compare.empty()) {
    nlohmann::ordered_json cmp = nlohmann::ordered_json::array();
    for (const auto& c : compare) {
      cmp.push_back({{"model", c.model_path},
                     {"architecture", c.architecture},
                     {"examples_per_s", c.examples_per_s},
                     {"ratio_to_model", c.ratio_to_model}});
    }
    j["compare"] = cmp;
  }
  return j.dump();
}

std::string RuntimeBenchResult::to_text() const {
  std::string s;
  char buf[1024];
  std::snprintf(buf, sizeof buf, "texts: %lld from %s (mean %.0f bytes after truncation to %d)\n",
                static_cast<long long>(examples), data_path.c_str(), mean_bytes, max_length);
  s += buf;
  std::snprintf(buf, sizeof buf, "%-28s %12s %10s %10s\n", "", "examples/s", "p50 ms", "p99 ms");
  s += buf;
  std::snprintf(buf, sizeof buf, "%-28s %12.1f %10.3f %10.3f\n",
                ("int8 runtime (" + isa + ", " + std::to_string(threads) + " thr)").c_str(),
                examples_per_s, p50_ms, p99_ms);
  s += buf;
  std::snprintf(buf, sizeof buf, "%-28s %12.1f  (%.2fx one text per forward pass)\n",
                ("int8, batches of " + std::to_string(batch_size)).c_str(), batched_examples_per_s,
                examples_per_s > 0 ? batched_examples_per_s / examples_per_s : 0.0);
  s += buf;
  for (const auto& c : compare) {
    std::snprintf(buf, sizeof buf, "%-28s %12.1f  (%.2fx --model; %s, %s)\n", "int8, --compare",
                  c.examples_per_s, c.ratio_to_model, c.architecture.c_str(), c.model_path.c_str());
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "size: model %lld bytes, float32 %lld bytes (ratio %.3f)\n",
                static_cast<long long>(model_bytes), static_cast<long long>(float_bytes),
                size_ratio());
  s += buf;
  s += "int8 time per op:";
  for (const auto& [name, share] : op_share) {
    std::snprintf(buf, sizeof buf, " %s %.1f%%", name.c_str(), 100.0 * share);
    s += buf;
  }
  s += "\nint8 time per op, batches of " + std::to_string(batch_size) + ":";
  for (const auto& [name, share] : batched_op_share) {
    std::snprintf(buf, sizeof buf, " %s %.1f%%", name.c_str(), 100.0 * share);
    s += buf;
  }
  return s + "\n";
}

}  // namespace bytelite
