// One rank of the loopback tests of src/train/distributed.h (tests/test_distributed.py starts
// several with torchrun's environment variables). Modes:
//   allreduce    allreduce_mean of tensors of several shapes (buckets of 64 KB, so several
//                buckets); checks the means against the exact values and prints a hash of the
//                result bytes (equal on every rank)
//   check VALUE  check_same("config", VALUE); prints "same"
//   die          one allreduce, then rank 1 exits with status 3 and rank 0 starts another
//   join         builds the group and passes a barrier
//   time N [R]   R (default 50) allreduce_means of N floats after 5 warm-up ones; rank 0 prints
//                the median and the minimum milliseconds (docs/distributed.md's measurements)
//   drift D      DataParallel: the same small module on every rank, rank 1 adds D to one weight,
//                then check_same_model (D = 0: prints "same"; else every rank fails naming rank 1)
//   syncbn       DataParallel::synchronize_statistics: a batch-norm QDense and an activation
//                quantizer on rank r's rows of one batch give the outputs, gradients and
//                statistics of one process on the whole batch (printed "max diff ..."; exit 4
//                beyond 1e-5)
//   reduce [twice]  DataParallel::start + reduce_step over 4 steps of a small module whose
//                parameters are each in their own bucket (run with BYTELITE_DIST_BUCKET_KB=1):
//                one Linear never used (its gradient stays undefined), one unused on rank 1 in
//                step 1 (the other ranks' gradient averaged with rank 1's zeros), rank 1 without a
//                backward pass in step 2; after each step every gradient must equal, byte for
//                byte, the mean of the ranks' gradients computed by a separate allreduce (exact
//                for 2 ranks: one addition per element); prints "rank R: 4 steps, gradients
//                exact" (exit 4 otherwise). "twice": every rank runs two backward passes in step
//                3, which overlap must refuse (the one-line TrainingError)
//   census CONFIG (no group) the model of a config (pretraining: the encoder and its prediction
//                head; seq2seq; else a 2-class classifier): the trained floats (the gradient
//                allreduced per step), and the batch-norm layers and activation quantizers whose
//                statistics are synchronized (4 and 1 small collectives per step each)
//   compare A B  (no group) loads two classifier checkpoints and prints the largest absolute
//                difference of their parameters and floating-point buffers, the largest absolute
//                value, and the tensor with the largest difference
//   same A B     (no group) every tensor of two torch archives (any task's last.ckpt: the
//                model's parameters and buffers and the optimizer's moments), by name: prints
//                "identical N tensors" when all N have the same dtype, shape and bytes, else
//                "differ NAME" for the first that does not (exit 4)
// Prints "error: <message>" and exits 1 on a bytelite::Error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/errors.h"
#include "train/checkpoint.h"
#include "train/classifier_model.h"
#include "train/config.h"
#include "train/distributed.h"
#include "train/layers.h"
#include "train/pretrain.h"
#include "train/seq2seq.h"

int main(int argc, char** argv) {
  using namespace bytelite;
  if (argc < 2) {
    std::fprintf(stderr, "usage: dist_worker allreduce|check VALUE|die|join\n");
    return 2;
  }
  const std::string mode = argv[1];
  try {
    torch::set_num_threads(1);
    if (mode == "census" && argc > 2) {
      const ExperimentConfig cfg = load_config(argv[2], {});
      auto qat = std::make_shared<QatState>();
      std::shared_ptr<torch::nn::Module> m;
      std::string what;
      if (cfg.task == "seq2seq") {
        m = ByteSeq2Seq(cfg.seq2seq, qat).ptr(), what = "seq2seq";
      } else if (cfg.has_pretrain) {
        m = ByteMlm(cfg, qat).ptr(), what = "pretraining (encoder + head)";
      } else {
        m = ByteClassifier(cfg.model, 2, qat, cfg.tokenizer.max_length).ptr(), what = "classifier";
      }
      int64_t floats = 0, bn = 0, aq = 0;
      for (const auto& p : m->parameters()) floats += p.numel();
      for (const auto& c : m->modules()) {
        if (auto* d = c->as<QDenseImpl>()) bn += d->batch_norm ? 1 : 0;
        if (c->as<ActQuantImpl>() != nullptr) ++aq;
      }
      std::printf(
          "%s: %s: %lld trained floats, %lld batch-norm layers, %lld activation "
          "quantizers\n",
          argv[2], what.c_str(), static_cast<long long>(floats), static_cast<long long>(bn),
          static_cast<long long>(aq));
      return 0;
    }
    if (mode == "compare" && argc > 3) {
      auto a = load_checkpoint(argv[2]), b = load_checkpoint(argv[3]);
      double diff = 0, mx = 0;
      std::string worst;
      auto note = [&](const std::string& name, const torch::Tensor& x, const torch::Tensor& y) {
        const double d = (x - y).abs().max().item<double>();
        if (d > diff) diff = d, worst = name;
        mx = std::max(mx, x.abs().max().item<double>());
      };
      auto ta = a.model->named_parameters(), tb = b.model->named_parameters();
      for (const auto& p : ta) note(p.key(), p.value(), tb[p.key()]);
      auto ba = a.model->named_buffers(), bb = b.model->named_buffers();
      for (const auto& p : ba)
        if (p.value().is_floating_point()) note(p.key(), p.value(), bb[p.key()]);
      std::printf("max_abs_diff %.9g max_abs %.9g in %s\n", diff, mx,
                  worst.empty() ? "-" : worst.c_str());
      return 0;
    }
    if (mode == "same" && argc > 3) {
      // name -> tensor of every tensor in an archive, nested archives as "outer/inner". The
      // optimizer keys its state by parameter addresses ("0x..."), which differ between runs:
      // they are renamed after the parameter-group entry that lists them ("params/3").
      using Tensors = std::map<std::string, torch::Tensor>;
      std::function<void(torch::serialize::InputArchive&, const std::string&, Tensors&,
                         std::map<std::string, std::string>&)>
          walk = [&](torch::serialize::InputArchive& ar, const std::string& prefix, Tensors& out,
                     std::map<std::string, std::string>& where) {
            for (const std::string& k : ar.keys()) {
              torch::Tensor t;
              torch::serialize::InputArchive sub;
              c10::IValue v;
              if (ar.try_read(k, t)) {
                out[prefix + k] = t.contiguous();
              } else if (ar.try_read(k, sub)) {
                walk(sub, prefix + k + "/", out, where);
              } else if (ar.try_read(k, v) && v.isString() && v.toStringRef().rfind("0x", 0) == 0) {
                where[v.toStringRef()] = prefix + k;
              }
            }
          };
      auto load = [&](const char* path) {
        torch::serialize::InputArchive ar;
        ar.load_from(path);
        Tensors raw, out;
        std::map<std::string, std::string> where;
        walk(ar, "", raw, where);
        for (auto& [name, t] : raw) {
          std::string n = name;
          for (const auto& [ptr, entry] : where) {
            const size_t at = n.find("/" + ptr + "/");
            if (at != std::string::npos) n.replace(at + 1, ptr.size(), "[" + entry + "]");
          }
          out[n] = t;
        }
        return out;
      };
      const Tensors ta = load(argv[2]), tb = load(argv[3]);
      for (const auto& [name, x] : ta) {
        auto it = tb.find(name);
        const bool same = it != tb.end() && it->second.scalar_type() == x.scalar_type() &&
                          it->second.sizes() == x.sizes() &&
                          std::memcmp(x.data_ptr(), it->second.data_ptr(),
                                      static_cast<size_t>(x.numel()) * x.element_size()) == 0;
        if (!same) {
          std::printf("differ %s\n", name.c_str());
          return 4;
        }
      }
      if (ta.size() != tb.size()) {
        std::printf("differ (%zu vs %zu tensors)\n", ta.size(), tb.size());
        return 4;
      }
      std::printf("identical %zu tensors\n", ta.size());
      return 0;
    }
    if (mode == "reduce") {
      DataParallel* dp = DataParallel::instance();
      const int W = dp->world_size(), r = dp->rank();
      torch::manual_seed(3);
      struct Net : torch::nn::Module {
        // registered first, so last in the (reversed) bucket order: never used
        torch::nn::Linear dead = register_module("dead", torch::nn::Linear(8, 8));
        torch::nn::Linear l1 = register_module("l1", torch::nn::Linear(16, 64));
        torch::nn::Linear l2 = register_module("l2", torch::nn::Linear(64, 32));
        torch::nn::Linear extra = register_module("extra", torch::nn::Linear(16, 32));
      };
      Net net;
      dp->start(net, "reduce", {});
      const std::vector<torch::Tensor> params = net.parameters();
      for (int step = 0; step < 4; ++step) {
        for (const auto& p : params) {
          if (p.grad().defined()) p.mutable_grad().detach_(), p.mutable_grad().zero_();
        }
        torch::manual_seed(100 + 10 * step + r);
        auto x = torch::randn({5, 16});
        auto y = net.l2(torch::relu(net.l1(x)));
        if (!(step == 1 && r == 1)) y = y + net.extra(x);
        auto loss = (y * torch::randn({5, 32})).sum();
        if (step == 3 && argc > 2 && std::string(argv[2]) == "twice") {
          loss.backward({}, /*retain_graph=*/true);
          loss.backward();
        } else if (!(step == 2 && r == 1)) {
          loss.backward();
        }
        // the expected means, from each rank's own gradients, by one allreduce of their
        // concatenation (a gradient a rank did not compute: zeros, flag 0)
        std::vector<torch::Tensor> flat;
        for (const auto& p : params)
          flat.push_back(p.grad().defined() ? p.grad().reshape(-1).clone()
                                            : torch::zeros({p.numel()}));
        auto want = torch::cat(flat);
        auto flags = torch::zeros({static_cast<int64_t>(params.size())});
        for (size_t i = 0; i < params.size(); ++i)
          if (params[i].grad().defined()) flags[static_cast<int64_t>(i)] = 1.0f;
        dp->group().allreduce_sum(want);
        dp->group().allreduce_sum(flags);
        want.mul_(1.0 / W);
        dp->reduce_step(net, 1.0);
        int64_t off = 0;
        for (size_t i = 0; i < params.size(); ++i) {
          const int64_t n = params[i].numel();
          const torch::Tensor& g = params[i].grad();
          const bool none = flags[static_cast<int64_t>(i)].item<float>() == 0.0f;
          const torch::Tensor w = want.narrow(0, off, n).contiguous();
          off += n;
          bool ok = none ? !g.defined() : g.defined();
          if (ok && !none) {
            const torch::Tensor gc = g.reshape(-1).contiguous();
            ok = std::memcmp(gc.data_ptr(), w.data_ptr(), static_cast<size_t>(n) * 4) == 0;
          }
          if (!ok) {
            std::fprintf(stderr,
                         "rank %d: step %d: parameter %zu: expected %s, found another gradient\n",
                         r, step, i, none ? "no gradient" : "the exact mean");
            return 4;
          }
        }
      }
      dp->report_timing();
      std::printf("rank %d: 4 steps, gradients exact\n", r);
      return 0;
    }
    if (mode == "drift" || mode == "syncbn") {
      DataParallel* dp = DataParallel::instance();
      const int W = dp->world_size(), r = dp->rank();
      torch::manual_seed(7);
      if (mode == "drift") {
        torch::nn::Linear lin(4, 3);
        const double d = argc > 2 ? std::stod(argv[2]) : 0.0;
        if (r == 1) {
          torch::NoGradGuard ng;
          lin->weight[0][0].add_(d);
        }
        dp->check_same_model(*lin, 5);
        std::printf("rank %d same\n", r);
        return 0;
      }
      // syncbn: 2 * W rows; one process on all rows vs rank r on rows 2r, 2r + 1. Batch norm
      // without fake quantization (whose rounding could turn a last-bit difference of the sums
      // into a step); the activation range of an observing quantizer must be exactly equal.
      auto qat = std::make_shared<QatState>();
      qat->enabled = false;
      QDense ref(5, 3, true, Activation::kRelu, qat, false);
      QDense mine(5, 3, true, Activation::kRelu, qat, false);
      auto obs = std::make_shared<QatState>();  // enabled, not active: observes ranges only
      ActQuant ref_q(obs), mine_q(obs);
      {
        torch::NoGradGuard ng;
        auto mp = mine->named_parameters();
        for (const auto& p : ref->named_parameters()) mp[p.key()].copy_(p.value());
      }
      auto x = torch::randn({2 * W, 5});
      auto w = torch::randn({2 * W, 3});
      auto full = ref->forward(x);  // no synchronization yet: one process on the global batch
      (full * w).sum().backward();
      ref_q->forward(x);
      dp->synchronize_statistics(*qat);
      dp->synchronize_statistics(*obs);
      auto part = mine->forward(x.narrow(0, 2 * r, 2));
      (part * w.narrow(0, 2 * r, 2)).sum().backward();
      mine_q->forward(x.narrow(0, 2 * r, 2));
      // the sum of the ranks' gradients is the gradient of the global batch's loss
      auto g = torch::cat(
          {mine->weight.grad().reshape(-1), mine->bn_gamma.grad(), mine->bn_beta.grad()});
      dp->group().allreduce_sum(g);
      auto gref =
          torch::cat({ref->weight.grad().reshape(-1), ref->bn_gamma.grad(), ref->bn_beta.grad()});
      double diff = (part - full.narrow(0, 2 * r, 2)).abs().max().item<double>();
      diff = std::max(diff, (g - gref).abs().max().item<double>());
      diff = std::max(diff, (mine->bn_mean - ref->bn_mean).abs().max().item<double>());
      diff = std::max(diff, (mine->bn_var - ref->bn_var).abs().max().item<double>());
      const auto ra = ref_q->named_buffers()["range"], rb = mine_q->named_buffers()["range"];
      if (!torch::equal(ra, rb)) {
        std::fprintf(stderr, "rank %d: expected the global batch's range, found another\n", r);
        return 4;
      }
      std::printf("rank %d max diff %.3g\n", r, diff);
      return diff <= 1e-5 ? 0 : 4;
    }
    const DistributedEnv env = distributed_env_from_environment();
    ProcessGroup pg(env);
    const int W = pg.world_size(), r = pg.rank();
    if (mode == "allreduce") {
      std::vector<std::vector<int64_t>> shapes = {{3}, {1000}, {7, 11}, {1}, {70000}, {5, 5}};
      std::vector<torch::Tensor> ts;
      for (size_t k = 0; k < shapes.size(); ++k) {
        // rank r holds (r + 1) * x with x = 0.5 * (index + k): the mean is x * (W + 1) / 2,
        // exact in float for these sizes.
        auto x = torch::arange(torch::tensor(shapes[k]).prod().item<int64_t>(), torch::kFloat)
                     .add(static_cast<double>(k))
                     .mul(0.5)
                     .reshape(shapes[k]);
        ts.push_back(x.mul(r + 1));
      }
      pg.allreduce_mean(ts, 64 << 10);
      uint64_t h = 1469598103934665603ull;
      for (size_t k = 0; k < shapes.size(); ++k) {
        auto x = torch::arange(torch::tensor(shapes[k]).prod().item<int64_t>(), torch::kFloat)
                     .add(static_cast<double>(k))
                     .mul(0.5)
                     .reshape(shapes[k]);
        auto want = x.mul((W + 1) / 2.0);
        if (!torch::equal(ts[k], want)) {
          std::fprintf(stderr, "rank %d: tensor %zu: expected the exact mean, found another\n", r,
                       k);
          return 4;
        }
        const auto* p = reinterpret_cast<const unsigned char*>(ts[k].data_ptr<float>());
        for (int64_t b = 0; b < ts[k].numel() * 4; ++b) h = (h ^ p[b]) * 1099511628211ull;
      }
      std::printf("rank %d hash %016llx\n", r, static_cast<unsigned long long>(h));
    } else if (mode == "check") {
      pg.check_same("config", argc > 2 ? argv[2] : "");
      std::printf("rank %d same\n", r);
    } else if (mode == "die") {
      std::vector<torch::Tensor> t{torch::ones({16})};
      pg.allreduce_mean(t);
      if (r == 1) _exit(3);
      pg.allreduce_mean(t);
      std::printf("rank %d finished\n", r);
    } else if (mode == "time") {
      const int64_t n = argc > 2 ? std::stoll(argv[2]) : 264836;
      const int reps = argc > 3 ? std::stoi(argv[3]) : 50;
      std::vector<torch::Tensor> t{torch::ones({n})};
      for (int k = 0; k < 5; ++k) pg.allreduce_mean(t);
      std::vector<double> ms;
      for (int k = 0; k < reps; ++k) {
        pg.barrier();
        const auto t0 = std::chrono::steady_clock::now();
        pg.allreduce_mean(t);
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
      }
      std::sort(ms.begin(), ms.end());
      if (r == 0) {
        std::printf("allreduce_mean of %lld floats over %d ranks: median %.3f ms, min %.3f ms\n",
                    static_cast<long long>(n), W, ms[ms.size() / 2], ms.front());
      }
    } else if (mode == "join") {
      pg.barrier();
      std::printf("rank %d joined\n", r);
    } else {
      std::fprintf(stderr, "dist_worker: unknown mode %s\n", mode.c_str());
      return 2;
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
