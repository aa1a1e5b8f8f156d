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
// Prints "error: <message>" and exits 1 on a bytelite::Error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/errors.h"
#include "train/distributed.h"

int main(int argc, char** argv) {
  using namespace bytelite;
  if (argc < 2) {
    std::fprintf(stderr, "usage: dist_worker allreduce|check VALUE|die|join\n");
    return 2;
  }
  const std::string mode = argv[1];
  try {
    torch::set_num_threads(1);
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
