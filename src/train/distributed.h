// Data-parallel training across processes and machines on libtorch's own distributed engine:
// c10d's ProcessGroupGloo over a TCPStore rendezvous (the engine PyTorch's
// DistributedDataParallel uses on CPU), with no communication code of bytelite's own
// (docs/distributed.md).
//
// Launching follows torchrun's environment conventions, so torchrun, Slurm or Kubernetes can
// start one `bytelite train ...` per rank:
//   WORLD_SIZE   number of ranks (unset or 1: one process, nothing distributed)
//   RANK         this process's rank in [0, WORLD_SIZE)
//   LOCAL_RANK   rank on this machine (informational; default RANK)
//   MASTER_ADDR  host of rank 0, which serves the rendezvous store (default 127.0.0.1)
//   MASTER_PORT  its TCP port (default 29500)
//   BYTELITE_DIST_TIMEOUT_S  seconds any collective, or the rendezvous, may wait for the other
//                ranks before every waiting rank fails with a one-line error (default 300)
//   BYTELITE_DIST_IFACE  network address this rank's Gloo device binds (default: MASTER_ADDR
//                when it is a loopback address, else this host's name)
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bytelite {

struct DistributedEnv {
  int world_size = 1;
  int rank = 0;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::chrono::milliseconds timeout{300000};
  std::string iface;  // BYTELITE_DIST_IFACE ("" = chosen as above)
  bool active() const { return world_size > 1; }
};

/// Reads the variables above. Throws ConfigError with a one-line message for a malformed value
/// (e.g. "RANK: expected an integer in [0, 2) (WORLD_SIZE 2), found '2'").
DistributedEnv distributed_env_from_environment();

/// One process's membership in the group. Every collective blocks until all ranks have joined
/// it; a rank that died, hangs or cannot be reached makes the others throw TrainingError
/// ("distributed: rank R: ...") within DistributedEnv::timeout instead of waiting forever.
class ProcessGroup {
 public:
  /// Rendezvous: rank 0 serves the store at MASTER_ADDR:MASTER_PORT, every rank connects, the
  /// ranks check that they agree on WORLD_SIZE, then the Gloo process group is built. Throws
  /// TrainingError (master unreachable, a rank missing after the timeout, WORLD_SIZE differing
  /// from rank 0's) with a one-line message.
  explicit ProcessGroup(const DistributedEnv& env);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int world_size() const;

  /// Sums every tensor over the ranks and divides by the world size, in place. Float tensors
  /// are packed into flat buckets of at most `bucket_bytes` (one allreduce per bucket, as DDP's
  /// Reducer buckets gradients), so a model's many small gradients cost few messages. Every rank
  /// must pass tensors of the same shapes in the same order. The result is identical on every
  /// rank (Gloo's ring allreduce sends every rank the same sums).
  void allreduce_mean(const std::vector<torch::Tensor>& tensors,
                      int64_t bucket_bytes = int64_t{25} << 20);
  /// Copies rank `root`'s tensors to every rank, in place (initial weights, QAT ranges).
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);
  /// Every rank passes its `value` of `what` (e.g. the config JSON, a data file's hash). When
  /// any differs from rank 0's, every rank throws ConfigError naming `what`, the first rank that
  /// differs and the first differing line of the two values.
  void check_same(const std::string& what, const std::string& value);
  /// Waits until every rank has reached the barrier.
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bytelite
