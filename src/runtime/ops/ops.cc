// The op names (one per rt::Op, in enum order) and the Trace of op outputs.
#include "runtime/ops/ops.h"

namespace bytelite::rt {

namespace {
// One name per op, in enum order (the static_assert keeps the table complete).
constexpr const char* kOpNames[] = {
    "embedding", "dense",      "conv",      "block_mean",        "block_score",   "width_softmax",
    "gbst_mix",  "downsample", "qrnn_pool", "attention_softmax", "attention_sum", "probabilities",
    "add",       "layer_norm", "attention", "query_pool",        "max_concat",    "uniform_average",
};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == kOpCount,
              "every Op needs a name in kOpNames");
}  // namespace

const char* op_name(Op op) {
  const int i = static_cast<int>(op);
  return i >= 0 && i < kOpCount ? kOpNames[i] : "unknown";
}

void Trace::add(const std::string& name, const int8_t* data, int64_t rows, int64_t cols,
                QParams q) {
  Entry e;
  e.name = name;
  e.rows = rows;
  e.cols = cols;
  e.q = q;
  e.data.assign(data, data + rows * cols);
  entries.push_back(std::move(e));
}

const Trace::Entry* Trace::find(const std::string& name) const {
  for (const auto& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace bytelite::rt
