// Ternary projection of hashed tokens: the input of PRADO and pQRNN (SeqFlowLite spec §1.5,
// §2.11; Kaliamoorthi et al. 2019 "PRADO", 2021 "pQRNN"). Each token of a text is hashed and the
// bits of the hash, two at a time, become feature values in {-1, 0, +1}: the model sees a fixed
// random code per distinct token (the n-gram identities a linear model sees) without a vocabulary.
//
// The training code computes its inputs with these functions (src/train/projection_input.h), so
// the two halves share one implementation; tests/golden/projection_golden.json holds values from an
// independent Python implementation over scikit-learn's MurmurHash3
// (scripts/golden/make_projection_golden.py) and test_projection compares them bit for bit.
//
// Definition (ours where the spec leaves it open; docs/distillation.md lists the differences):
//  1. Lower-casing (optional): ASCII bytes A-Z become a-z (UTF-8 safe; the original lower-cases
//     all of Unicode).
//  2. Tokens: with split_on_space, the maximal runs of bytes that are not ASCII whitespace
//     (space, \t, \n, \v, \f, \r); otherwise every character (a valid UTF-8 sequence of 1-4 bytes,
//     or a single byte where the bytes are not valid UTF-8), whitespace included.
//  3. At most max_tokens tokens: with add_bos the literal token "<BOS>" comes first, with add_eos
//     "<EOS>" last (never lower-cased), and text tokens past max_tokens - add_bos - add_eos are
//     dropped.
//  4. Token x, feature k in [0, feature_size): h = murmur3_32(x, seed = k / 16), the two bits
//     b = (h >> (2 * (k % 16))) & 3 give the value 0 -> 0, 1 -> +1, 2 -> -1, 3 -> 0 (so each value
//     is +1 or -1 with probability 1/4 and 0 with probability 1/2).
// Not implemented: the original's doc-size and word-novelty features and its vocabulary filter.
// No dependencies beyond the C++ standard library (part of libbytelite).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bytelite::rt {

struct ProjectionConfig {
  int feature_size = 64;       // values per token, in [1, limits::kMaxWidth]
  int max_tokens = 64;         // tokens per text (tags included), in [1 + add_bos + add_eos,
                               // limits::kMaxLength]
  bool split_on_space = true;  // tokens: whitespace-separated words, or characters
  bool lowercase = true;       // ASCII lower-casing before tokenization
  bool add_bos = false;        // "<BOS>" token first
  bool add_eos = false;        // "<EOS>" token last
};

/// Throws InvalidArgument ("projection <key>: expected ..., found ...") if a value of cfg is
/// outside the ranges above.
void check_projection_config(const ProjectionConfig& cfg);

/// MurmurHash3, x86 32-bit variant (Austin Appleby; the hash of scikit-learn's
/// `sklearn.utils.murmurhash3_32(bytes, seed, positive=True)`), of the bytes of `key`.
uint32_t murmur3_32(std::string_view key, uint32_t seed);

/// Byte length (1-4) of the character that starts at s[i] (i < s.size()): the length of a valid
/// UTF-8 sequence (no overlong forms, surrogates or code points above U+10FFFF), else 1.
size_t utf8_char_length(std::string_view s, size_t i);

/// The tokens of text (steps 1-3 above), in order; at most cfg.max_tokens. An empty or
/// all-whitespace text gives only the tags (no token without them).
std::vector<std::string> projection_tokens(std::string_view text, const ProjectionConfig& cfg);

/// Step 4 for one token: out[k] in {-1, 0, +1} for k in [0, feature_size).
void project_token(std::string_view token, int feature_size, int8_t* out);

/// The projection of text: *out is resized to [T, feature_size] row-major (token t, feature k),
/// values in {-1, 0, +1}; returns T = projection_tokens(text, cfg).size() (0 for an empty text
/// without tags). Throws InvalidArgument for a bad cfg (check_projection_config).
int64_t ternary_projection(std::string_view text, const ProjectionConfig& cfg,
                           std::vector<int8_t>* out);

/// The bytes that byte ids encode (include/bytelite/byte_tokenizer.h: byte v is id
/// v + kByteOffset; the special ids PAD, EOS and UNK carry no byte and are skipped), ids[0, n).
std::string bytes_of_ids(const int32_t* ids, int64_t n);

/// The input of the projection encoders (model.encoder "pqrnn", SeqFlowLite spec §1.5): the
/// ternary projection of the text that the byte ids ids[0, n) encode (bytes_of_ids: the text as
/// the byte tokenizer kept it, lower-cased and truncated by its settings), so that training and
/// the int8 runtime compute it from the same ids. *out is resized to [T, feature_size]
/// (row-major, values in {-1, 0, +1}); returns T >= 1: a text without any token (empty, only
/// whitespace, no tags) gives one all-zero row, as an empty text is one PAD id for the byte
/// encoders. Throws InvalidArgument for a bad cfg (check_projection_config).
int64_t ternary_projection_of_ids(const int32_t* ids, int64_t n, const ProjectionConfig& cfg,
                                  std::vector<int8_t>* out);

/// The word of each byte, for the "qrnn_proj" encoder (byte input plus word projection): out[i]
/// (i in [0, n)) is the row of ternary_projection_of_ids(ids, n, cfg) whose token contains the
/// byte of ids[i] (the tokenization of projection_tokens on bytes_of_ids: with add_bos the
/// first text token is row 1), or -1 where ids[i] carries no byte (PAD, EOS, UNK), is whitespace
/// between words (split_on_space) or lies past the last kept token (max_tokens). The tags
/// "<BOS>" / "<EOS>" contain no byte. out has n entries. Throws InvalidArgument for a bad cfg.
void byte_token_map(const int32_t* ids, int64_t n, const ProjectionConfig& cfg, int32_t* out);

}  // namespace bytelite::rt
