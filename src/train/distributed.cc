#include "train/distributed.h"

#include <glog/logging.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <unordered_map>

#include "core/errors.h"
#include "core/quote.h"

namespace bytelite {

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : std::string(v);
}

int env_int(const char* name, int fallback, long lo, long hi, const std::string& range) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  const bool starts_like_a_number = std::isdigit(static_cast<unsigned char>(v[0])) || v[0] == '-';
  if (!starts_like_a_number || end == v || *end != '\0' || x < lo || x > hi) {  // no " 5", "+5"
    throw ConfigError(std::string(name) + ": expected an integer in " + range + ", found '" +
                      escape_text(v, 60) + "'");
  }
  return static_cast<int>(x);
}

// The first line of an exception message from c10d / Gloo (they carry source paths and stack
// traces on later lines), at most 240 characters.
std::string first_line(const std::string& s) {
  std::string l = s.substr(0, s.find('\n'));
  if (l.size() > 240) l = l.substr(0, 237) + "...";
  return l;
}

std::string seconds(std::chrono::milliseconds t) {
  std::ostringstream o;
  o << static_cast<double>(t.count()) / 1000.0;
  return o.str();
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The first line where a and b differ, as "line N: 'x' vs 'y'".
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ha = static_cast<bool>(std::getline(sa, la));
    const bool hb = static_cast<bool>(std::getline(sb, lb));
    if (!ha && !hb) return "no line differs";
    if (!ha) la = "<end>";
    if (!hb) lb = "<end>";
    if (la != lb || !ha || !hb) {
      auto cut = [](std::string s) { return s.size() > 80 ? s.substr(0, 77) + "..." : s; };
      return "line " + std::to_string(line) + ": '" + cut(la) + "' vs '" + cut(lb) + "'";
    }
  }
}

}  // namespace

DistributedEnv distributed_env_from_environment() {
  DistributedEnv e;
  e.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 20, "[1, 1048576]");
  const std::string ranks =
      "[0, " + std::to_string(e.world_size) + ") (WORLD_SIZE " + std::to_string(e.world_size) + ")";
  e.rank = env_int("RANK", 0, 0, e.world_size - 1, ranks);
  e.local_rank = env_int("LOCAL_RANK", e.rank, 0, 1 << 20, "[0, 1048576]");
  e.master_addr = env_or("MASTER_ADDR", "127.0.0.1");
  e.master_port = env_int("MASTER_PORT", 29500, 1, 65535, "[1, 65535]");
  e.timeout = std::chrono::milliseconds(
      1000L * env_int("BYTELITE_DIST_TIMEOUT_S", 300, 1, 86400 * 7, "[1, 604800] seconds"));
  e.iface = env_or("BYTELITE_DIST_IFACE", "");
  e.sync_statistics = env_int("BYTELITE_DIST_SYNC_STATS", 1, 0, 1, "[0, 1]") == 1;
  e.overlap = env_int("BYTELITE_DIST_OVERLAP", 1, 0, 1, "[0, 1]") == 1;
  e.bucket_bytes =
      int64_t{1024} * env_int("BYTELITE_DIST_BUCKET_KB", 25600, 1, 1 << 20, "[1, 1048576] KiB");
  e.timing = env_int("BYTELITE_DIST_TIMING", 0, 0, 1, "[0, 1]") == 1;
  return e;
}

struct ProcessGroup::Impl {
  DistributedEnv env;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> async_pg;        // open_async_channel()
  std::vector<c10::intrusive_ptr<c10d::Work>> async_pending;  // started, not waited for
  std::string where;                                          // MASTER_ADDR:MASTER_PORT
  int64_t checks = 0;  // check_same calls so far (each uses fresh store keys)

  [[noreturn]] void fail(const std::string& what, const std::exception& e) const {
    throw TrainingError("distributed: rank " + std::to_string(env.rank) + ": expected all " +
                        std::to_string(env.world_size) + " ranks in " + what + " within " +
                        seconds(env.timeout) +
                        " s (BYTELITE_DIST_TIMEOUT_S), found an error (a rank died, hangs or "
                        "cannot be reached): " +
                        first_line(e.what()));
  }

  // A Gloo process group of the ranks on `store` (one worker thread).
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo(const c10::intrusive_ptr<c10d::Store>& st) {
    std::string iface = env.iface;
    if (iface.empty()) iface = is_loopback(env.master_addr) ? env.master_addr : "";
    try {
      auto opts = c10d::ProcessGroupGloo::Options::create(env.timeout);
      opts->devices.push_back(iface.empty()
                                  ? c10d::ProcessGroupGloo::createDefaultDevice()
                                  : c10d::ProcessGroupGloo::createDeviceForHostname(iface));
      opts->threads = 1;
      return c10::make_intrusive<c10d::ProcessGroupGloo>(st, env.rank, env.world_size, opts);
    } catch (const std::exception& e) {
      fail("the Gloo rendezvous at " + where, e);
    }
  }

  void wait(const c10::intrusive_ptr<c10d::Work>& w, const std::string& what) const {
    try {
      w->wait(env.timeout);
    } catch (const std::exception& e) {
      fail(what, e);
    }
  }
};

ProcessGroup::ProcessGroup(const DistributedEnv& env) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.env = env;
  // c10d logs its own multi-line errors through glog before throwing; the exceptions carry the
  // same text, which the one-line errors below quote. Keep stderr to those lines.
  FLAGS_minloglevel = std::max(FLAGS_minloglevel, 3);
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(env.master_port);
  so.isServer = env.rank == 0;
  so.numWorkers = static_cast<std::size_t>(env.world_size);
  so.waitWorkers = false;
  so.timeout = env.timeout;
  try {
    m.store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
  } catch (const std::exception& e) {
    throw TrainingError("distributed: rank " + std::to_string(env.rank) +
                        ": expected the rendezvous store of rank 0 at " + where +
                        " (MASTER_ADDR:" + "MASTER_PORT) within " + seconds(env.timeout) +
                        " s, found an error: " + first_line(e.what()));
  }
  // Every rank must agree with rank 0 on WORLD_SIZE before the group is built.
  const std::string ws = std::to_string(env.world_size);
  try {
    if (env.rank == 0) {
      m.store->set("bytelite/world_size", std::vector<uint8_t>(ws.begin(), ws.end()));
    } else {
      const std::vector<uint8_t> v = m.store->get("bytelite/world_size");
      const std::string theirs(v.begin(), v.end());
      if (theirs != ws) {
        throw ConfigError("WORLD_SIZE: expected " + theirs + " (rank 0's), found " + ws +
                          " on rank " + std::to_string(env.rank));
      }
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    m.fail("the rendezvous at " + where, e);
  }
  m.where = where;
  m.pg = m.gloo(m.store);
}

void ProcessGroup::open_async_channel() {
  Impl& m = *impl_;
  if (m.async_pg) return;
  m.async_pg = m.gloo(c10::make_intrusive<c10d::PrefixStore>("async", m.store));
}

void ProcessGroup::allreduce_sum_async(const torch::Tensor& t) {
  Impl& m = *impl_;
  TORCH_CHECK(m.async_pg, "allreduce_sum_async before open_async_channel");
  std::vector<at::Tensor> v{t};
  m.async_pending.push_back(m.async_pg->allreduce(v));
}

void ProcessGroup::wait_async() {
  Impl& m = *impl_;
  // (cleared first: after a failure the process stops, and nothing may wait on them again)
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  works.swap(m.async_pending);
  for (const auto& w : works) m.wait(w, "a gradient allreduce");
}

ProcessGroup::~ProcessGroup() = default;

int ProcessGroup::rank() const { return impl_->env.rank; }
int ProcessGroup::world_size() const { return impl_->env.world_size; }

void ProcessGroup::allreduce_mean(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  Impl& m = *impl_;
  const double inv = 1.0 / m.env.world_size;
  size_t i = 0;
  while (i < tensors.size()) {
    // One bucket: consecutive tensors of the same dtype up to bucket_bytes (at least one).
    std::vector<torch::Tensor> bucket{tensors[i]};
    int64_t bytes = tensors[i].numel() * static_cast<int64_t>(tensors[i].element_size());
    size_t j = i + 1;
    while (j < tensors.size() && tensors[j].scalar_type() == tensors[i].scalar_type()) {
      const int64_t b = tensors[j].numel() * static_cast<int64_t>(tensors[j].element_size());
      if (bytes + b > bucket_bytes) break;
      bucket.push_back(tensors[j]);
      bytes += b;
      ++j;
    }
    std::vector<torch::Tensor> flat_views;
    for (const auto& t : bucket) flat_views.push_back(t.detach().reshape({-1}));
    std::vector<at::Tensor> flat{torch::cat(flat_views)};
    m.wait(m.pg->allreduce(flat), "an allreduce");
    flat[0].mul_(inv);
    int64_t off = 0;
    torch::NoGradGuard no_grad;
    for (auto& t : bucket) {
      const int64_t n = t.numel();
      t.copy_(flat[0].narrow(0, off, n).view(t.sizes()));
      off += n;
    }
    i = j;
  }
}

void ProcessGroup::allreduce_sum(const torch::Tensor& t) {
  std::vector<at::Tensor> v{t};
  impl_->wait(impl_->pg->allreduce(v), "an allreduce");
}

void ProcessGroup::allreduce_max(const torch::Tensor& t) {
  std::vector<at::Tensor> v{t};
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::MAX;
  impl_->wait(impl_->pg->allreduce(v, o), "an allreduce");
}

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  Impl& m = *impl_;
  c10d::BroadcastOptions o;
  o.rootRank = root;
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    std::vector<at::Tensor> v{t.detach()};
    m.wait(m.pg->broadcast(v, o), "a broadcast");
  }
}

void ProcessGroup::check_same(const std::string& what, const std::string& value) {
  Impl& m = *impl_;
  const std::string key = "bytelite/check/" + std::to_string(m.checks++);
  std::string ref;
  try {
    if (m.env.rank == 0) {
      m.store->set(key + "/0", std::vector<uint8_t>(value.begin(), value.end()));
      ref = value;
    } else {
      const std::vector<uint8_t> v = m.store->get(key + "/0");
      ref.assign(v.begin(), v.end());
    }
  } catch (const std::exception& e) {
    m.fail("the check of " + what, e);
  }
  // The lowest rank whose value differs from rank 0's (world_size if none), known to all.
  std::vector<at::Tensor> first{
      torch::full({1}, ref == value ? m.env.world_size : m.env.rank, torch::kInt64)};
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::MIN;
  m.wait(m.pg->allreduce(first, o), "the check of " + what);
  const int64_t bad = first[0].item<int64_t>();
  if (bad >= m.env.world_size) return;
  std::string theirs;
  try {
    if (m.env.rank == bad) {
      m.store->set(key + "/diff", std::vector<uint8_t>(value.begin(), value.end()));
      theirs = value;
    } else {
      const std::vector<uint8_t> v = m.store->get(key + "/diff");
      theirs.assign(v.begin(), v.end());
    }
  } catch (const std::exception& e) {
    m.fail("the check of " + what, e);
  }
  throw ConfigError("distributed: expected every rank to have rank 0's " + what + ", found rank " +
                    std::to_string(bad) + "'s different at " + first_difference(theirs, ref) +
                    " (rank " + std::to_string(bad) + "'s vs rank 0's)");
}

void ProcessGroup::barrier() {
  Impl& m = *impl_;
  m.wait(m.pg->barrier(), "a barrier");
}

// The gradient buckets of reduce_step (DDP's Reducer, cut to what the Trainer needs). start()
// lays them out once: the trainable parameters in reverse registration order (the order the
// backward pass tends to finish their gradients), consecutive ones of one dtype per bucket up to
// bucket_bytes, each bucket one flat tensor. Each step every bucket is allreduced once on the
// async channel, in bucket order on every rank, so the ranks' sums pair up whatever order the
// hooks fire in. With overlap, a post hook on each parameter's gradient accumulator (which runs
// right after the backward pass wrote `.grad`) copies `.grad` into its slot; the bucket whose last
// slot this filled is marked ready, and every ready bucket whose predecessors were all started is
// started. Without overlap nothing happens during the backward pass. After it, start_rest()
// fills the slots no hook filled (parameters that got no gradient this step: `.grad` if defined,
// else zeros) and starts the remaining buckets in order; finish() waits, divides by the world
// size and writes the means into `.grad` (a tensor of zeros first where `.grad` was undefined;
// reduce_step resets the gradients no rank computed). The flat tensors hold `.grad`'s values
// exactly and the buckets are the same in both modes, so both give the same sums, bit for bit.
class DataParallel::GradientBuckets {
 public:
  GradientBuckets(ProcessGroup& group, torch::nn::Module& module, int64_t bucket_bytes,
                  bool overlap)
      : group_(group) {
    std::vector<torch::Tensor> params;
    std::unordered_map<const void*, bool> seen;  // a tensor registered twice: one slot
    for (const auto& p : module.parameters()) {
      if (!p.requires_grad() || seen[p.unsafeGetTensorImpl()]) continue;
      seen[p.unsafeGetTensorImpl()] = true;
      params.push_back(p);
    }
    std::reverse(params.begin(), params.end());
    for (const auto& p : params) {
      const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
      if (buckets_.empty() || buckets_.back().dtype != p.scalar_type() ||
          (buckets_.back().bytes + bytes > bucket_bytes && !buckets_.back().slots.empty())) {
        buckets_.emplace_back();
        buckets_.back().dtype = p.scalar_type();
      }
      Bucket& b = buckets_.back();
      slots_.push_back({p, buckets_.size() - 1, b.numel, p.numel()});
      b.slots.push_back(slots_.size() - 1);
      b.numel += p.numel();
      b.bytes += bytes;
    }
    for (auto& b : buckets_) b.flat = torch::zeros({b.numel}, torch::TensorOptions(b.dtype));
    reset();
    if (!overlap) return;
    for (size_t i = 0; i < slots_.size(); ++i) {
      std::shared_ptr<torch::autograd::Node> acc =
          torch::autograd::impl::grad_accumulator(slots_[i].param);
      const uintptr_t key = acc->add_post_hook(std::make_unique<Hook>(this, i));
      hooks_.emplace_back(std::move(acc), key);
    }
  }

  ~GradientBuckets() {
    for (auto& h : hooks_) h.first->del_post_hook(h.second);
  }
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  // After the backward pass: fills the slots no hook filled and starts the remaining buckets.
  void start_rest() {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < slots_.size(); ++i)
      if (!filled_[i]) fill(i);
    start_ready();
  }

  // Waits for every bucket, divides by the world size, writes the means into `.grad`, and
  // readies the buckets for the next step.
  void finish() {
    group_.wait_async();
    const double inv = 1.0 / group_.world_size();
    for (auto& b : buckets_) {
      b.flat.mul_(inv);
      for (size_t i : b.slots) {
        torch::Tensor& p = slots_[i].param;
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        p.mutable_grad().copy_(b.flat.narrow(0, slots_[i].offset, slots_[i].numel).view(p.sizes()));
      }
    }
    const bool late = late_;
    reset();
    if (late) {
      throw TrainingError(
          "distributed: expected each parameter's gradient once per step before its bucket's "
          "allreduce started, found one arriving later (a second backward pass in one step); "
          "set BYTELITE_DIST_OVERLAP=0");
    }
  }

  void record(std::chrono::steady_clock::time_point t, double after_ms, double wait_ms) {
    if (steps_ > 0)
      periods_.push_back(std::chrono::duration<double, std::milli>(t - last_).count());
    last_ = t;
    ++steps_;
    after_ms_ += after_ms;
    wait_ms_ += wait_ms;
  }

  std::string summary() const {
    std::vector<double> p = periods_;
    std::sort(p.begin(), p.end());
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "%lld steps, overlap %s, %zu buckets (%.2f per step started during the "
                  "backward pass), median step period %.2f ms, after the backward pass %.3f "
                  "ms/step (waiting for the gradient buckets %.3f ms/step)",
                  static_cast<long long>(steps_), hooks_.empty() ? "off" : "on", buckets_.size(),
                  steps_ ? static_cast<double>(early_) / static_cast<double>(steps_) : 0.0,
                  p.empty() ? 0.0 : p[p.size() / 2], steps_ ? after_ms_ / steps_ : 0.0,
                  steps_ ? wait_ms_ / steps_ : 0.0);
    return buf;
  }

 private:
  struct Slot {
    torch::Tensor param;
    size_t bucket;
    int64_t offset, numel;
  };
  struct Bucket {
    c10::ScalarType dtype = c10::ScalarType::Float;
    std::vector<size_t> slots;
    int64_t numel = 0, bytes = 0;
    torch::Tensor flat;
    size_t pending = 0;  // slots not filled this step
  };

  // The accumulator's post hook: `.grad` now holds this step's gradient of slot i.
  struct Hook : public torch::autograd::FunctionPostHook {
    Hook(GradientBuckets* owner, size_t slot) : owner_(owner), slot_(slot) {}
    torch::autograd::variable_list operator()(
        const torch::autograd::variable_list& outputs,
        const torch::autograd::variable_list& /*inputs*/) override {
      owner_->ready(slot_);
      return outputs;
    }
    GradientBuckets* owner_;
    size_t slot_;
  };

  void ready(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    if (filled_[i]) {
      // accumulated again: fine until its bucket has been started
      if (next_ > slots_[i].bucket) {
        late_ = true;
      } else {
        fill(i);
        ++buckets_[slots_[i].bucket].pending;  // fill() counted it again
      }
      return;
    }
    fill(i);
    const size_t before = next_;
    start_ready();
    early_ += static_cast<int64_t>(next_ - before);
  }

  // Copies slot i's `.grad` (zeros when undefined) into its bucket.
  void fill(size_t i) {
    torch::NoGradGuard no_grad;
    const Slot& s = slots_[i];
    Bucket& b = buckets_[s.bucket];
    torch::Tensor dst = b.flat.narrow(0, s.offset, s.numel);
    const torch::Tensor& g = s.param.grad();
    if (g.defined()) {
      dst.copy_(g.reshape({-1}));
    } else {
      dst.zero_();
    }
    filled_[i] = true;
    --b.pending;
  }

  // Starts, in order, every bucket whose slots are all filled and whose predecessors started.
  void start_ready() {
    while (next_ < buckets_.size() && buckets_[next_].pending == 0) {
      group_.allreduce_sum_async(buckets_[next_].flat);
      ++next_;
    }
  }

  void reset() {
    filled_.assign(slots_.size(), false);
    for (auto& b : buckets_) b.pending = b.slots.size();
    next_ = 0;
    late_ = false;
  }

  ProcessGroup& group_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, uintptr_t>> hooks_;
  std::mutex mu_;  // the hooks run on the backward pass's thread
  std::vector<bool> filled_;
  size_t next_ = 0;  // the first bucket not started this step
  bool late_ = false;
  int64_t early_ = 0;  // buckets started by a hook (during a backward pass), all steps
  int64_t steps_ = 0;
  double after_ms_ = 0, wait_ms_ = 0;
  std::chrono::steady_clock::time_point last_;
  std::vector<double> periods_;
};

DataParallel::DataParallel(const DistributedEnv& env)
    : group_(env), env_(env), sync_statistics_(env.sync_statistics) {}

DataParallel::~DataParallel() = default;

DataParallel* DataParallel::instance() {
  // Built once, on the first call; never destroyed before exit (the Gloo threads must outlive
  // every collective, and a group cannot be rebuilt on the same store keys).
  static DataParallel* dp = []() -> DataParallel* {
    const DistributedEnv env = distributed_env_from_environment();
    if (!env.active()) return nullptr;
    return new DataParallel(env);
  }();
  return dp;
}

bool is_output_rank() {
  DataParallel* dp = DataParallel::instance();
  return dp == nullptr || dp->rank() == 0;
}

std::vector<int64_t> shard_positions(int64_t n, int rank, int world) {
  std::vector<int64_t> out;
  for (int64_t p = rank; p < n; p += world) out.push_back(p);
  return out;
}

std::string rank_config_json(const ExperimentConfig& cfg) {
  nlohmann::json j = config_to_json(cfg);
  for (const char* sec : {"train", "pretrain"})
    if (j.contains(sec) && j[sec].is_object()) j[sec].erase("threads");
  return j.dump(2);
}

std::string data_files_digest(const std::vector<std::string>& paths) {
  std::string out;
  std::vector<char> buf(1 << 20);
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": expected a readable data file, found none");
    uLong crc = crc32(0L, Z_NULL, 0);
    int64_t size = 0;
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const std::streamsize got = in.gcount();
      if (got <= 0) break;
      crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(got));
      size += got;
    }
    char line[64];
    std::snprintf(line, sizeof line, ": %lld bytes, crc32 %08lx\n", static_cast<long long>(size),
                  static_cast<unsigned long>(crc));
    // the file's name without its directory: machines may keep the data in other places
    out += path.substr(path.find_last_of('/') + 1) + line;
  }
  return out;
}

void DataParallel::start(torch::nn::Module& module, const std::string& config_json,
                         const std::vector<std::string>& data_files) {
  group_.check_same("config", config_json);
  group_.check_same("data files", data_files_digest(data_files));
  std::vector<torch::Tensor> all = module.parameters();
  for (const auto& b : module.buffers()) all.push_back(b);
  group_.broadcast(all, 0);
  // Each rank its own dropout stream, derived from the common one (so a resumed run of the same
  // world size draws the same streams again).
  const int64_t base =
      torch::randint(std::numeric_limits<int32_t>::max(), {1}, torch::kInt64).item<int64_t>();
  torch::manual_seed(static_cast<uint64_t>(base) * 1000003ull + static_cast<uint64_t>(rank()));
  group_.open_async_channel();
  buckets_.reset();  // (an earlier run's hooks go first)
  buckets_ = std::make_unique<GradientBuckets>(group_, module, env_.bucket_bytes, env_.overlap);
}

namespace {

// The sum over the ranks; its backward pass sums the gradients over the ranks (the gradient of
// the sum of every rank's loss with respect to this rank's input).
struct AllreduceSum : public torch::autograd::Function<AllreduceSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& x) {
    torch::Tensor y = x.detach().clone().contiguous();
    DataParallel::instance()->group().allreduce_sum(y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                 torch::autograd::variable_list grad) {
    torch::Tensor g = grad[0].contiguous().clone();
    DataParallel::instance()->group().allreduce_sum(g);
    return {g};
  }
};

}  // namespace

double DataParallel::share_of(double local_count) {
  auto t = torch::full({1}, local_count, torch::kDouble);
  group_.allreduce_sum(t);
  const double total = t.item<double>();
  return total > 0 ? local_count * world_size() / total : 0.0;
}

void DataParallel::synchronize_statistics(QatState& qat) {
  qat.sync_min_max = [this](float* lo, float* hi) {
    auto t = torch::tensor({-*lo, *hi});
    group_.allreduce_max(t);
    *lo = -t[0].item<float>();
    *hi = t[1].item<float>();
  };
  qat.sync_sum = [](const torch::Tensor& x) { return AllreduceSum::apply(x); };
}

double DataParallel::reduce_step(torch::nn::Module& module, double local_loss) {
  const auto t0 = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params = module.parameters();
  // Which gradients this rank computed (before the buckets give every trainable parameter one).
  auto defined = torch::zeros({static_cast<int64_t>(params.size())}, torch::kFloat);
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].grad().defined()) defined[static_cast<int64_t>(i)] = 1.0f;
  TORCH_CHECK(buckets_, "DataParallel::reduce_step before start");
  buckets_->start_rest();
  // While the gradient buckets travel on the async channel: the flags, buffers and loss.
  std::vector<torch::Tensor> tensors{defined};
  for (const auto& b : module.buffers())
    if (b.is_floating_point()) tensors.push_back(b);
  auto loss = torch::full({1}, local_loss, torch::kDouble);
  tensors.push_back(loss);
  group_.allreduce_mean(tensors);
  const auto t1 = std::chrono::steady_clock::now();
  buckets_->finish();
  auto d = defined.accessor<float, 1>();
  for (size_t i = 0; i < params.size(); ++i)
    if (d[static_cast<int64_t>(i)] == 0.0f) params[i].mutable_grad().reset();
  const auto t2 = std::chrono::steady_clock::now();
  buckets_->record(t0, std::chrono::duration<double, std::milli>(t2 - t0).count(),
                   std::chrono::duration<double, std::milli>(t2 - t1).count());
  return loss.item<double>();
}

void DataParallel::report_timing() const {
  if (!env_.timing || !buckets_) return;
  std::fprintf(stderr, "distributed timing: rank %d: %s\n", rank(), buckets_->summary().c_str());
}

void DataParallel::check_same_model(torch::nn::Module& module, int64_t step) {
  uLong crc = crc32(0L, Z_NULL, 0);
  auto add = [&](const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    crc = crc32(crc, static_cast<const Bytef*>(c.data_ptr()),
                static_cast<uInt>(c.numel() * static_cast<int64_t>(c.element_size())));
  };
  for (const auto& p : module.named_parameters()) add(p.value());
  for (const auto& b : module.named_buffers()) add(b.value());
  char v[32];
  std::snprintf(v, sizeof v, "crc32 %08lx", static_cast<unsigned long>(crc));
  group_.check_same("model (parameters and buffers) after step " + std::to_string(step), v);
}

}  // namespace bytelite
