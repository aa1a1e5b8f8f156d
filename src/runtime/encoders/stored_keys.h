// The stored config keys of an encoder kind: the "model" section keys whose values a model file
// of that kind stores, each with the ModelInfo field its loader fills (what `bytelite info`
// prints, src/core/model_info_json.cc). Each kind's unit declares its own list (its file in this
// folder); model.encoder, model.bottleneck_size and model.pooling are every kind's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "bytelite/encoder_kinds.h"
#include "bytelite/model.h"

namespace bytelite::rt {

/// A config key (`model.<name>`) and the ModelInfo field that holds its stored value.
struct StoredModelKey {
  const char* name;
  std::variant<int32_t ModelInfo::*, bool ModelInfo::*, std::string ModelInfo::*,
               std::vector<int32_t> ModelInfo::*>
      field;
};

/// The keys of a kind, beyond encoder, bottleneck_size and pooling: `count` entries at `keys`.
struct StoredModelKeys {
  const StoredModelKey* keys = nullptr;
  size_t count = 0;
};

/// The model-section keys that a model file of encoder kind k stores (its unit's list).
StoredModelKeys encoder_stored_keys(EncoderKind k);

}  // namespace bytelite::rt
