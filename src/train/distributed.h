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
//   BYTELITE_DIST_SYNC_STATS  1 (default): batch-norm statistics and activation ranges of the
//                training forward pass are those of the global batch (small collectives inside
//                the forward and backward passes); 0: each rank's own batch (as PyTorch DDP without
//                SyncBatchNorm), fewer latency-bound messages; either way the buffers are averaged
//                after every step, so every rank holds the same model
//   BYTELITE_DIST_IFACE  network address this rank's Gloo device binds (default: MASTER_ADDR
//                when it is a loopback address, else this host's name)
//   BYTELITE_DIST_OVERLAP  1 (default): each gradient bucket's allreduce starts during the
//                backward pass as soon as the bucket's last gradient is accumulated (DDP's
//                Reducer); 0: the same buckets are allreduced after the backward pass. Both give
//                bit-identical gradients (same buckets, same sums; docs/distributed.md)
//   BYTELITE_DIST_BUCKET_KB  the largest gradient bucket, in KiB (default 25600 = 25 MiB, DDP's
//                default; at least one parameter per bucket)
//   BYTELITE_DIST_TIMING  1: at the end of a training run each rank prints one line with the
//                median step period and the time spent reducing after the backward pass
//                (docs/distributed.md's overlap measurements); default 0
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "train/config.h"
#include "train/fake_quant.h"

namespace bytelite {

struct DistributedEnv {
  int world_size = 1;
  int rank = 0;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::chrono::milliseconds timeout{300000};
  std::string iface;                         // BYTELITE_DIST_IFACE ("" = chosen as above)
  bool sync_statistics = true;               // BYTELITE_DIST_SYNC_STATS
  bool overlap = true;                       // BYTELITE_DIST_OVERLAP
  int64_t bucket_bytes = int64_t{25} << 20;  // BYTELITE_DIST_BUCKET_KB x 1024
  bool timing = false;                       // BYTELITE_DIST_TIMING
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
  /// In place: the elementwise sum (max) of a float tensor over the ranks, one allreduce.
  void allreduce_sum(const torch::Tensor& t);
  void allreduce_max(const torch::Tensor& t);
  /// Copies rank `root`'s tensors to every rank, in place (initial weights, QAT ranges).
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);
  /// Every rank passes its `value` of `what` (e.g. the config JSON, a data file's hash). When
  /// any differs from rank 0's, every rank throws ConfigError naming `what`, the first rank that
  /// differs and the first differing line of the two values.
  void check_same(const std::string& what, const std::string& value);
  /// Waits until every rank has reached the barrier.
  void barrier();

  /// Builds the group's second channel: another Gloo context over the same ranks (its own
  /// connections and worker thread, rendezvous under the store prefix "async/"), so that
  /// allreduces started on it proceed while this thread computes, and their order is independent
  /// of the blocking collectives above (which may run inside the backward pass: synchronized
  /// batch-norm statistics). Collective: every rank must call it, at the same point; later calls
  /// do nothing. Throws TrainingError as the constructor does.
  void open_async_channel();
  /// Starts the elementwise sum over the ranks of the contiguous float tensor t, in place, on
  /// the second channel, and returns without waiting; t must stay alive and untouched until
  /// wait_async() returns. Every rank must start the same sums (shapes) in the same order;
  /// the channel runs them one at a time in that order. Requires open_async_channel().
  void allreduce_sum_async(const torch::Tensor& t);
  /// Waits for every sum started by allreduce_sum_async and not yet waited for. Throws
  /// TrainingError (one line) when one failed or a rank did not join it within the timeout.
  void wait_async();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Data parallelism for the one training loop (train/loop.h), the same for every task: one
/// process per rank, each computing the loss of its share of the global batch; the Trainer calls
/// the hooks below so that every rank holds the same model after every step.
///
/// Batches (docs/distributed.md): the config's batch_size is per rank; the global batch is
/// batch_size x WORLD_SIZE. The learning rate and the schedule are those of the global batch
/// (nothing is rescaled: raising WORLD_SIZE with a fixed per-rank batch raises the global batch,
/// and the config's learning rate is then the one to retune, e.g. linearly with the global batch
/// and a warm-up, Goyal et al. 2017).
class DataParallel {
 public:
  /// The process's data parallelism, built (rendezvous included) on the first call from the
  /// torchrun environment (distributed_env_from_environment); null when WORLD_SIZE is unset or
  /// 1, so a single process runs exactly as without it. Throws what ProcessGroup throws.
  static DataParallel* instance();

  int rank() const { return group_.rank(); }
  int world_size() const { return group_.world_size(); }
  bool sync_statistics() const { return sync_statistics_; }
  ProcessGroup& group() { return group_; }

  /// At the start of a run (fresh or resumed), before the first step: checks that every rank
  /// has the same config (`config_json`; each rank's own thread count may differ and should be
  /// left out by the caller) and the same data files (their sizes and CRC-32s, so a stale copy on
  /// one machine is named), then copies rank 0's parameters and buffers to every rank, and gives
  /// each rank its own libtorch random stream (dropout): rank r reseeds with a number drawn from
  /// the (common) stream plus r. Then lays out the gradient buckets of `module` (reduce_step)
  /// and, with overlap, registers a post hook on each trainable parameter's gradient
  /// accumulator (replacing those of an earlier start()). Throws ConfigError naming the
  /// difference, TrainingError.
  void start(torch::nn::Module& module, const std::string& config_json,
             const std::vector<std::string>& data_files);

  /// The weight of a rank's mean loss over `local_count` items (tokens, masked bytes) that makes
  /// the mean over the ranks of weighted losses the mean over all ranks' items:
  /// local_count x world / (sum of local_count over the ranks); 0 when no rank has an item. One
  /// allreduce; every rank must call it.
  double share_of(double local_count);

  /// Sets qat's sync_min_max and sync_sum (fake_quant.h) to reductions over the ranks, so that
  /// activation ranges are observed and batch-norm statistics computed on the global batch.
  void synchronize_statistics(QatState& qat);

  /// After backward, before clipping: replaces every parameter's gradient by the mean over the
  /// ranks (a gradient no rank computed stays undefined; one only some ranks computed counts as
  /// zero on the others), every floating-point buffer (QAT activation ranges and their
  /// "observed" flags, batch-norm statistics) by its mean, and returns the mean of
  /// `local_loss`. Tasks weight each rank's loss so that this mean is the loss of the global
  /// batch (e.g. classify: n_rank x W / n_global).
  /// The gradients of the trainable (requires_grad) parameters travel in the buckets that
  /// start() laid out (reverse registration order, at most DistributedEnv::bucket_bytes each),
  /// one allreduce per bucket on the async channel, started during the backward pass (overlap)
  /// or here (BYTELITE_DIST_OVERLAP=0), always in bucket order; here the remaining buckets are
  /// started, all are waited for and divided by the world size, and the values are written into
  /// `.grad`. The definedness flags, the buffers and the loss follow in one allreduce_mean.
  /// Parameters with requires_grad false are in no bucket and keep their `.grad` (undefined).
  /// Throws TrainingError as the collectives do, and when a parameter's gradient arrived after
  /// its bucket had been started (a second backward pass in one step; not done by the Trainer).
  double reduce_step(torch::nn::Module& module, double local_loss);

  /// BYTELITE_DIST_TIMING=1: prints to stderr "distributed timing: rank R: ..." (the steps, the
  /// median step period in ms, the mean ms reduce_step took after the backward pass and the
  /// mean ms of it spent waiting for the gradient buckets, overlap on or off). Otherwise nothing.
  void report_timing() const;

  /// Checks that every rank holds bytewise the same parameters and buffers (a hash of them,
  /// compared as check_same does); called at each evaluation. Throws ConfigError ("... rank R's
  /// different ...") when a rank drifted.
  void check_same_model(torch::nn::Module& module, int64_t step);

 private:
  explicit DataParallel(const DistributedEnv& env);
  ~DataParallel();
  ProcessGroup group_;
  DistributedEnv env_;
  bool sync_statistics_;
  class GradientBuckets;
  std::unique_ptr<GradientBuckets> buckets_;  // laid out by start()
};

/// Whether this process writes the run's outputs (checkpoints, logs, summary, exported model,
/// progress): true without data parallelism and on rank 0.
bool is_output_rank();

/// The rank's share of a global batch of n examples under data parallelism: the positions p of
/// the batch with p % world == rank (so example p of an epoch's shuffle goes to rank p % world;
/// nothing is dropped: the last, shorter batch of an epoch is split the same way and a rank may
/// get none of it). Without data parallelism: 0..n-1.
std::vector<int64_t> shard_positions(int64_t n, int rank, int world);

/// The config as every rank must share it (DataParallel::start): config_to_json without
/// train.threads and pretrain.threads, which are each rank's own.
std::string rank_config_json(const ExperimentConfig& cfg);

/// "NAME: SIZE bytes, crc32 XXXXXXXX" for each file (NAME: the path without its directory, so
/// machines may keep the data in different directories), one per line (DataParallel::start's data
/// check). Throws InputError for a file that cannot be read.
std::string data_files_digest(const std::vector<std::string>& paths);

}  // namespace bytelite
