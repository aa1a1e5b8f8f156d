// Decoder step-time measurement shared by bench/bench_seq2seq.cc and `bytelite bench` on a
// seq2seq model (docs/seq2seq.md "Step time"): the MAtt decoder (fixed-size running-sum cache)
// and the baseline decoder (causal self-attention, growing key/value cache) decode the same
// number of steps over a random source memory, runs interleaved (MAtt, baseline, MAtt, ...) so
// that machine noise hits both alike; parents are a random permutation at every step (the beam
// reorder), input ids pseudo-random byte ids.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/ops/decoder.h"

namespace bytelite::rt {

struct StepBenchOptions {
  int32_t beam = 4;                         // slots per step, >= 1
  int64_t source_positions = 32;            // S, encoder output rows of the random memory, >= 1
  int runs = 30;                            // measured runs, >= 1
  int warmup_runs = 2;                      // runs before them, not measured
  std::vector<int64_t> steps{16, 64, 256};  // reported steps, each in [4, position rows]
  Isa isa = Isa::kReference;
  uint64_t seed = 3;
};

/// Seconds of one decoder step of the whole beam (beam output bytes) at each reported step t:
/// the median over runs of the mean of steps t-3..t. Both decoders run max(steps) steps per run.
struct StepBenchResult {
  std::vector<int64_t> steps;
  std::vector<double> matt_s, baseline_s;  // per reported step
};

/// Times `matt` and `base` (same width; each position table must have >= max(steps) rows; the
/// memory is random int8 at the params of each decoder's first cross-attention input). Throws
/// InvalidArgument for invalid options or too short position tables.
StepBenchResult time_decoder_steps(const MattDecoderRt& matt, const BaselineDecoderRt& base,
                                   const StepBenchOptions& options);

/// Wall time per op (ops.h Profile) of the whole model on options.isa: the encoder `enc` on one
/// source of min(options.source_positions, the encoder's longest source) pseudo-random byte ids,
/// then `steps` steps of `dec` (beam options.beam, parents a random permutation each step) over
/// that encoder output. dec's position table must have >= steps rows and its key/value layers
/// must take enc's output params (as a loaded model's do). Throws InvalidArgument otherwise.
Profile profile_seq2seq_ops(const Seq2SeqEncoderRt& enc, const MattDecoderRt& dec,
                            const StepBenchOptions& options, int64_t steps);

/// A copy of `dec` whose position table has at least `rows` rows: the rows of dec.position
/// followed by copies of its last row (stored in `table`, which must outlive the copy). The step
/// cost does not depend on the position row, so the copy times steps beyond the model's
/// max_target; its outputs beyond those rows are not the model's. The copy's other layers point
/// into the same weights as dec's.
MattDecoderRt extend_positions(const MattDecoderRt& dec, int64_t rows, std::vector<int8_t>& table);

}  // namespace bytelite::rt
