// The runtime's encoder units in one table, one entry per kind of kEncoderKinds, in its order
// (include/bytelite/encoder_kinds.h); the static_asserts keep it complete and in order.
#include <iterator>

#include "runtime/encoders/encoder_unit.h"

namespace bytelite::rt {

// The units, each defined in its kind's file.
extern const RuntimeEncoderUnit kQrnnEncoderUnit;         // qrnn.cc
extern const RuntimeEncoderUnit kTransformerEncoderUnit;  // transformer.cc
extern const RuntimeEncoderUnit kFunnelEncoderUnit;       // transformer.cc
extern const RuntimeEncoderUnit kPqrnnEncoderUnit;        // pqrnn.cc
extern const RuntimeEncoderUnit kQrnnProjEncoderUnit;     // qrnn_proj.cc

namespace {

struct Entry {
  EncoderKind kind;
  const RuntimeEncoderUnit* unit;
};

constexpr Entry kUnits[] = {
    {EncoderKind::kQrnn, &kQrnnEncoderUnit},
    {EncoderKind::kTransformer, &kTransformerEncoderUnit},
    {EncoderKind::kFunnel, &kFunnelEncoderUnit},
    {EncoderKind::kPqrnn, &kPqrnnEncoderUnit},
    {EncoderKind::kQrnnProj, &kQrnnProjEncoderUnit},
};

static_assert(std::size(kUnits) == kNumEncoderKinds,
              "every encoder kind of kEncoderKinds needs its runtime unit in kUnits");

constexpr bool in_order() {
  for (size_t i = 0; i < std::size(kUnits); ++i) {
    if (kUnits[i].kind != kEncoderKinds[i].kind) return false;
  }
  return true;
}
static_assert(in_order(), "kUnits lists the kinds in the order of kEncoderKinds");

}  // namespace

const RuntimeEncoderUnit& runtime_encoder_unit(EncoderKind k) {
  return *kUnits[static_cast<int>(k)].unit;
}

StoredModelKeys encoder_stored_keys(EncoderKind k) { return runtime_encoder_unit(k).stored_keys; }

}  // namespace bytelite::rt
