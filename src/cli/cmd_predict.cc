// predict: one JSONL line per input line, {"labels": [...], "scores": {label: probability}}.
// The input is split on '\n' only (a trailing '\r' is removed, so CRLF files work); every other
// byte, including NUL and invalid UTF-8, is part of the text. An empty line is a valid (empty)
// text and still gets an output line (C1, C2). A text cannot contain '\n' in this framing: use
// the library (Classifier::classify) for texts with newlines.
//
// With --model the int8 runtime classifies the input as a stream, in a pipeline (predict_model:
// read -> classify in batches of --batch-size lines on --threads threads -> write in input order),
// so memory does not grow with the input; a line's output does not depend on its batch or
// thread, so the output is identical for every --threads and --batch-size. With --checkpoint
// (bytelite-train: torch_parts.h) the libtorch model runs in length-sorted batches.
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bytelite/classifier.h"
#include "cli/commands.h"
#include "cli/line_reader.h"
#include "cli/predict_format.h"
#include "cli/torch_parts.h"
#include "core/atomic_file.h"
#include "core/errors.h"

namespace bytelite::cli {

namespace {
constexpr size_t kJobLines = 256;  // lines per pipeline job

// One job of the pipeline: consecutive input lines and, once classified, their output lines
// (one buffer each: nothing is allocated per line).
struct Job {
  size_t seq = 0;
  LineBlock in;
  std::string out;
  bool done = false;
};

void predict_model(const PredictArgs& a) {
  // Load the model before reading stdin, so a bad model fails fast.
  const std::shared_ptr<const Model> model = Model::load(a.model);
  if (model->info().is_seq2seq()) {
    throw ConfigError("predict: expected a classifier model, found a seq2seq model in " + a.model +
                      " (architecture " + model->info().architecture +
                      "; `bytelite generate --model " + a.model + "` runs it)");
  }
  const Classifier clf(model);
  const ModelInfo& info = clf.info();
  const std::vector<float> thresholds =
      override_thresholds(info.thresholds, a.threshold, info.multilabel, info.labels.size());
  const size_t C = info.labels.size();
  const PredictionFormatter formatter(info.labels, info.multilabel, thresholds, a.top_k);
  LineReader reader(a.input);
  std::unique_ptr<AtomicFileWriter> file;
  if (!a.output.empty() && a.output != "-") file = std::make_unique<AtomicFileWriter>(a.output);

  // The pipeline: this thread reads jobs of kJobLines lines, --threads workers classify them
  // (in forward passes of --batch-size lines) and format their output, one writer thread writes
  // finished jobs in input order. At most max_jobs jobs are in flight, so memory does not grow
  // with the input. A line's output does not depend on its job, batch or thread.
  const size_t workers = static_cast<size_t>(a.threads);
  const size_t max_jobs = 2 * workers + 2;
  std::mutex mu;
  std::condition_variable cv_todo, cv_done, cv_space;
  std::deque<Job*> todo;
  std::map<size_t, std::unique_ptr<Job>> jobs;  // in flight, by sequence number
  bool input_done = false, failed = false;
  std::exception_ptr error;
  size_t next_seq = 0;
  auto fail = [&](std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mu);
    if (!error) error = e;
    failed = true;
    cv_todo.notify_all();
    cv_done.notify_all();
    cv_space.notify_all();
  };
  auto work = [&]() {
    try {
      std::vector<float> probs;
      for (;;) {
        Job* job = nullptr;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv_todo.wait(lock, [&] { return failed || input_done || !todo.empty(); });
          if (failed || todo.empty()) return;
          job = todo.front();
          todo.pop_front();
        }
        // Only this thread touches the job until it is marked done.
        const size_t n = job->in.lines.size();
        probs.resize(n * C);
        clf.classify_probabilities(job->in.lines.data(), n, probs.data(), a.batch_size);
        job->in = LineBlock();  // free the input while the job waits for the writer
        formatter.append(probs.data(), n, job->out);
        std::lock_guard<std::mutex> lock(mu);
        job->done = true;
        cv_done.notify_all();
      }
    } catch (...) {
      fail(std::current_exception());
    }
  };
  auto write = [&]() {
    try {
      for (size_t seq = 0;; ++seq) {
        std::unique_ptr<Job> job;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv_done.wait(lock, [&] {
            if (failed) return true;
            auto it = jobs.find(seq);
            return (it != jobs.end() && it->second->done) || (input_done && seq == next_seq);
          });
          if (failed) return;
          auto it = jobs.find(seq);
          if (it == jobs.end()) return;  // every job written
          job = std::move(it->second);
          jobs.erase(it);
          cv_space.notify_all();
        }
        if (file) {
          file->write(job->out);
        } else {
          std::fwrite(job->out.data(), 1, job->out.size(), stdout);
        }
      }
    } catch (...) {
      fail(std::current_exception());
    }
  };
  std::vector<std::thread> pool;
  for (size_t w = 0; w < workers; ++w) pool.emplace_back(work);
  std::thread writer(write);
  try {
    for (;;) {
      auto job = std::make_unique<Job>();
      if (!reader.next(job->in, kJobLines)) break;
      std::unique_lock<std::mutex> lock(mu);
      cv_space.wait(lock, [&] { return failed || jobs.size() < max_jobs; });
      if (failed) break;
      job->seq = next_seq++;
      todo.push_back(job.get());
      jobs.emplace(job->seq, std::move(job));
      cv_todo.notify_one();
    }
  } catch (...) {
    fail(std::current_exception());
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    input_done = true;
    cv_todo.notify_all();
    cv_done.notify_all();
  }
  for (auto& t : pool) t.join();
  writer.join();
  if (error) std::rethrow_exception(error);
  if (file) file->commit();
}
}  // namespace

CLI::App* add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Classify lines of text (one JSONL result per line)");
  cmd->add_option("--checkpoint", a->checkpoint, "Checkpoint file or training output directory");
  cmd->add_option("--model", a->model, "Int8 model file (runtime; instead of --checkpoint)");
  cmd->add_option("--input", a->input, "Input text file, one example per line (default: stdin)");
  cmd->add_option("--output", a->output, "Output JSONL file (default: stdout)");
  cmd->add_option("--top-k", a->top_k,
                  "Scores of the K most probable labels only, most probable first (0 = every "
                  "label, in label order)")
      ->check(kNonNegative);
  cmd->add_option("--threshold", a->threshold,
                  "Decision threshold instead of the model's: two labels: the second label iff "
                  "its probability >= T; multi-label: each label with probability >= T; "
                  "otherwise argmax (-1 = the model's thresholds)");
  cmd->add_option("--threads", a->threads, "Threads (intra-op for checkpoints, lines for models)")
      ->check(kPositive);
  cmd->add_option("--batch-size", a->batch_size,
                  "Examples per forward pass (checkpoints: default 64; models: default 1; the "
                  "output does not depend on it)")
      ->check(kPositive);
  cmd->callback([a, cmd]() {
    if (a->checkpoint.empty() == a->model.empty()) {
      throw ConfigError(
          "predict: expected exactly one of --checkpoint DIR and --model FILE, found " +
          std::string(a->checkpoint.empty() ? "neither" : "both"));
    }
    if (a->threshold != -1 && !(a->threshold >= 0 && a->threshold <= 1)) {
      throw ConfigError("--threshold: expected a probability in [0, 1], found " +
                        std::to_string(a->threshold));
    }
    if (!a->model.empty()) {
      if (cmd->count("--batch-size") == 0) a->batch_size = Classifier::kDefaultBatchSize;
      predict_model(*a);
    } else {
      predict_checkpoint(*a);
    }
  });
  return cmd;
}

}  // namespace bytelite::cli
