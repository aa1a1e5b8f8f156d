// The local launcher of data-parallel training (`bytelite train --nproc N`, `bytelite pretrain
// --nproc N`; docs/distributed.md): starts N ranks of the same command on this machine with
// torchrun's environment variables, as torchrun --standalone would.
#pragma once

namespace bytelite::cli {

/// Starts nproc copies of this executable with main's arguments minus `--nproc N`, each with
/// WORLD_SIZE=nproc, RANK=LOCAL_RANK=r, MASTER_ADDR (kept if set, else 127.0.0.1) and
/// MASTER_PORT (kept if set, else a free port of 127.0.0.1). Rank 0 writes the outputs and
/// prints progress (train/distributed.h); every rank prints its own errors. `--threads` and the
/// config's thread count apply to each rank. Waits for all; when a rank exits non-zero (or is
/// killed), sends SIGTERM to the others and returns that rank's status (128 + signal when
/// killed), after one line on stderr naming the rank. SIGINT / SIGTERM to the launcher are
/// passed to the ranks, and a rank gets SIGTERM when the launcher dies (PR_SET_PDEATHSIG), so no
/// rank outlives it. Returns 0 when every rank exits 0. Throws ConfigError when nproc exceeds
/// max(8, 4 x the online CPUs), when WORLD_SIZE is already set (a launcher such as torchrun
/// started this process) or when a rank cannot be started.
int launch_local_ranks(int nproc);

}  // namespace bytelite::cli
