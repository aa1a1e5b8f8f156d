#include "train/distributed.h"

#include <glog/logging.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "core/errors.h"

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
  if (end == v || *end != '\0' || x < lo || x > hi) {
    throw ConfigError(std::string(name) + ": expected an integer in " + range + ", found '" + v +
                      "'");
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
  return e;
}

struct ProcessGroup::Impl {
  DistributedEnv env;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  int64_t checks = 0;  // check_same calls so far (each uses fresh store keys)

  [[noreturn]] void fail(const std::string& what, const std::exception& e) const {
    throw TrainingError("distributed: rank " + std::to_string(env.rank) + ": expected all " +
                        std::to_string(env.world_size) + " ranks in " + what + " within " +
                        seconds(env.timeout) +
                        " s (BYTELITE_DIST_TIMEOUT_S), found an error (a rank died, hangs or "
                        "cannot be reached): " +
                        first_line(e.what()));
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
  std::string iface = env.iface;
  if (iface.empty()) iface = is_loopback(env.master_addr) ? env.master_addr : "";
  try {
    auto opts = c10d::ProcessGroupGloo::Options::create(env.timeout);
    opts->devices.push_back(iface.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                          : c10d::ProcessGroupGloo::createDeviceForHostname(iface));
    opts->threads = 1;
    m.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(m.store, env.rank, env.world_size, opts);
  } catch (const std::exception& e) {
    m.fail("the Gloo rendezvous at " + where, e);
  }
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
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params = module.parameters();
  auto defined = torch::zeros({static_cast<int64_t>(params.size())}, torch::kFloat);
  std::vector<torch::Tensor> tensors;
  tensors.reserve(params.size() + 8);
  for (size_t i = 0; i < params.size(); ++i) {
    auto& p = params[i];
    if (p.grad().defined()) {
      defined[static_cast<int64_t>(i)] = 1.0f;
    } else {
      p.mutable_grad() = torch::zeros_like(p);
    }
    tensors.push_back(p.mutable_grad());
  }
  tensors.push_back(defined);
  for (const auto& b : module.buffers())
    if (b.is_floating_point()) tensors.push_back(b);
  auto loss = torch::full({1}, local_loss, torch::kDouble);
  tensors.push_back(loss);
  group_.allreduce_mean(tensors);
  auto d = defined.accessor<float, 1>();
  for (size_t i = 0; i < params.size(); ++i)
    if (d[static_cast<int64_t>(i)] == 0.0f) params[i].mutable_grad().reset();
  return loss.item<double>();
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
