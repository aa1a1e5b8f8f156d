#include "cli/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/handoff.h"
#include "core/errors.h"

namespace bytelite::cli {

namespace {

std::vector<pid_t> g_ranks;  // pids of the running ranks (0: exited), for the signal handler

void forward_signal(int sig) {
  for (pid_t p : g_ranks)
    if (p > 0) ::kill(p, sig);
}

// A TCP port of 127.0.0.1 that was free a moment ago (rank 0's store binds it next).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw ConfigError(std::string("--nproc: expected a free TCP port on 127.0.0.1, found error: ") +
                      std::strerror(errno));
  }
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

}  // namespace

int launch_local_ranks(int nproc) {
  // Each rank is a whole training process (libtorch, its data, its threads): far more ranks
  // than cores only thrashes the machine, and a typo such as --nproc 1000 would start 1000.
  const long cores = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
  const long limit = std::max(8L, 4 * cores);
  if (nproc > limit) {
    throw ConfigError("--nproc: expected at most " + std::to_string(limit) +
                      " ranks on this machine (4 per CPU core, at least 8; " +
                      std::to_string(cores) + " cores), found " + std::to_string(nproc));
  }
  const char* ws = std::getenv("WORLD_SIZE");
  if (ws != nullptr && *ws != '\0') {
    throw ConfigError(std::string("--nproc: expected no WORLD_SIZE in the environment (it is set "
                                  "by a launcher such as torchrun for each rank), found "
                                  "WORLD_SIZE=") +
                      ws);
  }
  // main's arguments without --nproc N / --nproc=N
  std::vector<std::string> args;
  const std::vector<std::string> all = remembered_arguments();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == "--nproc") {
      ++i;
      continue;
    }
    if (all[i].rfind("--nproc=", 0) == 0) continue;
    args.push_back(all[i]);
  }
  const char* addr = std::getenv("MASTER_ADDR");
  const char* port = std::getenv("MASTER_PORT");
  const std::string master_addr = addr != nullptr && *addr != '\0' ? addr : "127.0.0.1";
  const std::string master_port =
      port != nullptr && *port != '\0' ? port : std::to_string(free_port());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  g_ranks.assign(static_cast<size_t>(nproc), 0);
  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  const pid_t launcher = ::getpid();
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      forward_signal(SIGTERM);
      throw ConfigError(std::string("--nproc: expected to start rank ") + std::to_string(r) +
                        ", found error: " + std::strerror(errno));
    }
    if (pid == 0) {
      // a rank must not outlive its launcher (killed with SIGKILL, or while starting ranks)
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) ::_exit(128 + SIGTERM);  // it died before prctl
      const std::string w = std::to_string(nproc), rk = std::to_string(r);
      ::setenv("WORLD_SIZE", w.c_str(), 1);
      ::setenv("RANK", rk.c_str(), 1);
      ::setenv("LOCAL_RANK", rk.c_str(), 1);
      ::setenv("MASTER_ADDR", master_addr.c_str(), 1);
      ::setenv("MASTER_PORT", master_port.c_str(), 1);
      ::execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "bytelite: error: --nproc: expected to start rank %d, found error: %s\n",
                   r, std::strerror(errno));
      ::_exit(127);
    }
    g_ranks[static_cast<size_t>(r)] = pid;
  }
  int status = 0, failed = -1, left = nproc;
  while (left > 0) {
    int st = 0;
    const pid_t pid = ::waitpid(-1, &st, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    int r = 0;
    while (r < nproc && g_ranks[static_cast<size_t>(r)] != pid) ++r;
    if (r == nproc) continue;
    g_ranks[static_cast<size_t>(r)] = 0;
    --left;
    const int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (code != 0 && failed < 0) {
      failed = r;
      status = code;
      forward_signal(SIGTERM);  // the others would wait for it until the timeout
    }
  }
  if (failed >= 0) {
    std::fprintf(stderr,
                 "bytelite: error: --nproc %d: expected every rank to exit 0, found rank %d "
                 "exiting with status %d (the other ranks were stopped)\n",
                 nproc, failed, status);
  }
  return status;
}

}  // namespace bytelite::cli
