// The stored config keys of an encoder kind: the "model" section keys whose values a model file
// of that kind stores, each with the ModelInfo field its loader fills (what `bytelite info`
// prints, src/core/model_info_json.cc). Each kind's unit composes its list (its file in this
// folder) from the shared groups below and its own; model.encoder, model.bottleneck_size and
// model.pooling are every kind's.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
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

/// Key groups the kinds share, composed into each unit's list with concat_keys (in the order
/// `info` prints them): the byte embedding + GBST front, the PRADO/pQRNN projection settings,
/// the QRNN layers.
inline constexpr std::array<StoredModelKey, 4> kByteFrontKeys = {{
    {"embedding_size", &ModelInfo::embedding_size},
    {"gbst_max_block_width", &ModelInfo::gbst_max_block_width},
    {"gbst_conv_kernel_size", &ModelInfo::gbst_conv_kernel_size},
    {"gbst_downsample_rate", &ModelInfo::gbst_downsample_rate},
}};
inline constexpr std::array<StoredModelKey, 6> kProjectionKeys = {{
    {"projection_feature_size", &ModelInfo::projection_feature_size},
    {"projection_max_tokens", &ModelInfo::projection_max_tokens},
    {"projection_split_on_space", &ModelInfo::projection_split_on_space},
    {"projection_lowercase", &ModelInfo::projection_lowercase},
    {"projection_add_bos", &ModelInfo::projection_add_bos},
    {"projection_add_eos", &ModelInfo::projection_add_eos},
}};
inline constexpr std::array<StoredModelKey, 3> kQrnnKeys = {{
    {"qrnn_state_size", &ModelInfo::qrnn_state_size},
    {"qrnn_kernel_width", &ModelInfo::qrnn_kernel_width},
    {"qrnn_layers", &ModelInfo::qrnn_layers},
}};

namespace detail {
template <size_t N, size_t M, size_t... I, size_t... J>
constexpr std::array<StoredModelKey, N + M> concat_two(const std::array<StoredModelKey, N>& a,
                                                       const std::array<StoredModelKey, M>& b,
                                                       std::index_sequence<I...>,
                                                       std::index_sequence<J...>) {
  return {{a[I]..., b[J]...}};
}
}  // namespace detail

/// The groups one after the other, at compile time.
template <size_t N>
constexpr std::array<StoredModelKey, N> concat_keys(const std::array<StoredModelKey, N>& a) {
  return a;
}
template <size_t N, size_t M, size_t... Rest>
constexpr auto concat_keys(const std::array<StoredModelKey, N>& a,
                           const std::array<StoredModelKey, M>& b,
                           const std::array<StoredModelKey, Rest>&... rest) {
  return concat_keys(
      detail::concat_two(a, b, std::make_index_sequence<N>{}, std::make_index_sequence<M>{}),
      rest...);
}

}  // namespace bytelite::rt
