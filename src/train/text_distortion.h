// Text distortion, a training augmentation (SeqFlowLite spec §2.11, the `distortion_probability`
// of the original's projection op): each word of a text is, with probability p, edited once by
// one of three edits chosen with equal probability:
//   - delete:  a random character is removed (and remembered as the "last removed" one);
//   - move:    a random character is moved to another random position (words of >= 3 characters;
//              shorter words are left unchanged);
//   - insert:  the last removed character of this text is inserted at a random position (before
//              the first deletion of a text there is none and the word is left unchanged).
// Definitions (ours; the spec leaves them open):
//   - a word is a maximal run of bytes that are not ASCII whitespace (space, \t, \n, \v, \f, \r);
//     whitespace is never changed, so the word boundaries stay where they were (a deleted
//     one-character word leaves its surrounding whitespace);
//   - a character is one UTF-8 encoded code point (a valid 2-4 byte sequence) or, where the bytes
//     are not valid UTF-8, a single byte. Edits move whole characters, so a valid UTF-8 text stays
//     valid UTF-8;
//   - the "last removed" character is per text (the original keeps it per op instance) and stays
//     after an insertion (as in the original), so it can be inserted again and a text can grow
//     by one character per insertion.
// Random numbers: std::mt19937_64 (its sequence is fixed by the C++ standard) with our own
// uniform mappings (no std::*_distribution, whose output differs between standard libraries),
// so a (text, p, seed) triple gives the same result everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bytelite {

/// What distort_text did, for statistics and tests.
struct DistortionCounts {
  int64_t words = 0;      // words seen
  int64_t selected = 0;   // words drawn for an edit (probability p each)
  int64_t deleted = 0;    // delete edits applied
  int64_t moved = 0;      // move edits applied
  int64_t inserted = 0;   // insert edits applied
  int64_t unchanged = 0;  // selected words left as they were (move on < 3 characters, insert
                          // before any deletion)
};

/// Distorts the words of `text` (bytes, any content) with probability `probability` in [0, 1]
/// per word, using a generator seeded with `seed`. probability 0 returns the text unchanged.
/// Adds to *counts when given. Throws InvalidArgument if probability is not in [0, 1].
std::string distort_text(std::string_view text, double probability, uint64_t seed,
                         DistortionCounts* counts = nullptr);

/// The seed of one training example's distortion in one epoch: a mix (SplitMix64 finalizer) of
/// the training seed, the epoch and the example's index in the training file, so the distortion
/// of an example does not depend on the batch order, the thread count or --resume.
uint64_t distortion_seed(uint64_t seed, int64_t epoch, int64_t example);

}  // namespace bytelite
