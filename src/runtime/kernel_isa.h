// Conversion between the public kernel-path enum (bytelite::KernelIsa, classifier.h) and the
// runtime's (rt::Isa, kernels.h), shared by Classifier and Seq2SeqGenerator.
#pragma once

#include <string>

#include "bytelite/classifier.h"
#include "bytelite/errors.h"
#include "runtime/kernels/kernels.h"

namespace bytelite::rt {

/// kAuto is best_isa() (the fastest supported path, or BYTELITE_ISA).
inline Isa to_rt_isa(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::kAvx512Vnni:
      return Isa::kAvx512Vnni;
    case KernelIsa::kAvx2:
      return Isa::kAvx2;
    case KernelIsa::kReference:
      return Isa::kReference;
    case KernelIsa::kAuto:
      break;
  }
  return best_isa();
}

inline KernelIsa from_rt_isa(Isa isa) {
  switch (isa) {
    case Isa::kAvx512Vnni:
      return KernelIsa::kAvx512Vnni;
    case Isa::kAvx2:
      return KernelIsa::kAvx2;
    case Isa::kReference:
      break;
  }
  return KernelIsa::kReference;
}

/// to_rt_isa, or ConfigError naming the supported paths if this CPU lacks the one asked for.
inline Isa supported_rt_isa(KernelIsa requested) {
  const Isa isa = to_rt_isa(requested);
  if (!isa_supported(isa)) {
    std::string supported;
    for (KernelIsa k : Classifier::available_isas())
      supported += (supported.empty() ? "" : ", ") + std::string(Classifier::isa_name(k));
    throw ConfigError("kernel path: expected one this CPU supports (" + supported + "), found " +
                      isa_name(isa));
  }
  return isa;
}

}  // namespace bytelite::rt
