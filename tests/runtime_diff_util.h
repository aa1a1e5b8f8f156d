// Helpers of the differential tests (training graph vs int8 runtime) shared by the encoders'
// test files: the training trace as a list of fake-quantized ops, the per-op agreement tally,
// and the QRNN -> pooling -> head tail run op by op on the training graph's own inputs.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/models/classifier_net.h"
#include "runtime_test_util.h"

namespace bytelite::testutil {

/// One traced op of the training forward: its fake-quantized output [rows, cols] and the
/// quantization parameters of that output.
struct TorchOp {
  std::string name;
  torch::Tensor value;
  QuantParams params;
};

/// How many int8 values were compared, how many differ, and the largest difference (LSB).
struct Agreement {
  int64_t values = 0, mismatched = 0;
  int max_diff = 0;
};

inline void tally(Agreement& a, const std::vector<int>& want, const int8_t* got) {
  for (size_t i = 0; i < want.size(); ++i) {
    const int d = std::abs(want[i] - got[i]);
    a.values += 1;
    a.mismatched += d != 0 ? 1 : 0;
    a.max_diff = std::max(a.max_diff, d);
  }
}

inline std::vector<int8_t> to_int8(const TorchOp& op) {
  auto q = to_q(op.value, op.params);
  return std::vector<int8_t>(q.begin(), q.end());
}

/// Throws std::runtime_error when the trace has no op of that name.
inline const TorchOp& find_op(const std::vector<TorchOp>& ops, const std::string& name) {
  for (const auto& o : ops)
    if (o.name == name) return o;
  throw std::runtime_error("no torch op " + name);
}

/// Runs the runtime's QRNN layers, attention pooling (+ max concat) and head, each on the
/// training graph's own input to it (`in`: [L, C] int8, the encoder front's output), and tallies
/// each op's output against the training trace into iso[name].
inline void tally_isolated_qrnn_to_logits(const std::vector<TorchOp>& ops,
                                          const rt::ClassifierNet& net, rt::Isa isa,
                                          rt::OpScratch& s, std::vector<int8_t> in, int64_t L,
                                          int64_t C, std::map<std::string, Agreement>& iso) {
  auto check = [&](const std::string& name, const int8_t* got) {
    const TorchOp& op = find_op(ops, name);
    tally(iso[name], to_q(op.value, op.params), got);
  };
  for (size_t i = 0; i < net.qrnn.size(); ++i) {
    const std::string name = "qrnn" + std::to_string(i);
    rt::Trace qt;
    std::vector<int8_t> out(L * 2 * net.qrnn[i].state_size);
    rt::qrnn_layer(rt::OpContext{isa, s, &qt}, net.qrnn[i], in.data(), L, C, out.data(), name);
    for (const std::string& n : {name + ".fwd.gates", name}) check(n, qt.find(n)->data.data());
    in = to_int8(find_op(ops, name));
    C = 2 * net.qrnn[i].state_size;
  }
  std::vector<int8_t> pooled(C);
  rt::attention_pool(rt::OpContext{isa, s}, net.pool, in.data(), L, C, pooled.data());
  check("pool", pooled.data());
  auto pin = to_int8(find_op(ops, "pool"));
  if (net.pool.max_pool) {
    std::vector<int8_t> cat(2 * C);
    rt::attention_max_concat(rt::OpContext{isa, s}, net.pool, pin.data(), in.data(), L, C,
                             cat.data());
    check("pool_concat", cat.data());
    pin = to_int8(find_op(ops, "pool_concat"));
    C *= 2;
  }
  std::vector<int8_t> y(net.head.w.n);
  rt::dense(rt::OpContext{isa, s}, net.head, pin.data(), 1, C, y.data());
  check("logits", y.data());
}

/// Prints one row per op: values compared, isolated and end-to-end mismatch share and maximum.
inline void print_agreement(const std::vector<std::string>& order,
                            std::map<std::string, Agreement>& iso,
                            std::map<std::string, Agreement>& e2e) {
  std::printf("%-18s %10s %22s %22s\n", "op", "values", "isolated: differ, max",
              "end to end: differ, max");
  for (const auto& name : order) {
    const Agreement& a = e2e[name];
    const Agreement& b = iso[name];
    std::printf("%-18s %10lld %13.4f%% %6d LSB %13.4f%% %6d LSB\n", name.c_str(),
                static_cast<long long>(a.values), b.values ? 100.0 * b.mismatched / b.values : 0.0,
                b.max_diff, a.values ? 100.0 * a.mismatched / a.values : 0.0, a.max_diff);
  }
}

}  // namespace bytelite::testutil
