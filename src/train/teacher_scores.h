// Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
// Network"): a teacher scores file gives, per text, the teacher's probability of each label, and
// the student trains on alpha * CE(hard labels) + (1 - alpha) * T^2 * KL(teacher_T || student_T).
// docs/distillation.md describes the file, the loss and how to use them.
//
// Teacher scores file (TSV, UTF-8 or any bytes; gzip-compressed when the name ends in .gz):
//   - line 1, the header: "text", then one column per label, named as the training data names its
//     labels (single-label: the class names; multi-label: the label columns), in any order;
//   - then one row per distinct text: the text, then one probability per header label, as a
//     decimal number (e.g. 0.8731); in the text field the bytes \ tab LF CR are written as the
//     escapes \\ \t \n \r (so every text of a TSV, CSV or JSONL training file fits on one line);
//     any other backslash sequence is an error; a CR before the LF that ends a line is dropped;
//   - single-label: a row's probabilities sum to 1 within 1e-3 (then are divided by their sum);
//     multi-label: each is the teacher's probability of that label, in [0, 1].
// Rows match training examples by their text's exact bytes (before the tokenizer's lower-casing
// and truncation). A text may appear only once. Rows whose text is not in the training data are
// ignored (one file can serve several subsets).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dataset.h"

namespace bytelite {

struct TeacherScores {
  std::string path;
  std::vector<std::string> labels;               // header order
  std::vector<float> probs;                      // [rows * labels.size()], header order
  std::vector<int64_t> lines;                    // 1-based line of each row
  std::unordered_map<std::string, int64_t> row;  // text -> row index
  size_t size() const { return lines.size(); }
};

/// Reads a teacher scores file. single_label: the rows must sum to 1 (within 1e-3) and are
/// renormalized to sum to exactly 1. Throws InputError with a one-line message
/// "<path>:<line>: expected ..., found ..." for: a file that cannot be read or has no rows, a
/// header that does not start with "text" or names no label or a label twice, a row with another
/// number of fields than the header, a bad escape, a value that is not a number, a non-finite
/// value, a probability outside [0, 1], a single-label row not summing to 1, a repeated text.
TeacherScores read_teacher_scores(const std::string& path, bool single_label);

/// The teacher's probabilities of every example of `data`, in data.label_names order:
/// [data.examples.size() * label_names.size()] row-major. Throws InputError naming
///  - the teacher file's header line if its label set differs from data.label_names
///    ("<teacher>:1: expected the labels of <data> ("a", "b") in any order, found ("a", "c")");
///  - the data file and line of the first example whose text has no row in the teacher file
///    ("<data>:<line>: expected a teacher score in <teacher> for this text, found none (text
///    ...)").
std::vector<float> teacher_targets(const TeacherScores& teacher, const Dataset& data);

/// The unlabelled pool of distillation (config train.distill_unlabelled; docs/distillation.md):
/// texts that train on the teacher's soft term only, never with a hard label.
struct UnlabelledPool {
  std::string path;
  std::vector<std::string> texts;  // the kept texts, in file order
  std::vector<int64_t> lines;      // 1-based line of each kept text
  std::vector<float> teacher;      // [texts.size() * labels] in the training data's label order
  int64_t read = 0;                // lines read (texts in the file)
  int64_t skipped_valid = 0;       // lines equal to a validation text (left out)
  int64_t skipped_train = 0;       // lines equal to a training text (left out: labelled already)
  int64_t skipped_repeat = 0;      // lines repeating an earlier kept line (left out)
  int64_t skipped_empty = 0;       // empty or blank-only lines (left out)
  size_t size() const { return texts.size(); }
};

/// Reads the pool file `path`: one text per line, the line's bytes up to LF (a CR stays part of
/// the text, as the teacher builder reads it), gzip-decompressed when the name ends in ".gz".
/// A line is left out (and counted) when it is empty or only blanks (space, tab, CR, FF, VT),
/// equals the text of a validation example
/// (`valid`, by exact bytes: a validation text never enters training), equals the text of a
/// training example (`train`: it trains with its label), or repeats an earlier kept line. Every
/// kept line needs a row in `teacher` (its probabilities are returned in train.label_names
/// order). Throws InputError, one line:
///  - "<path>: expected a readable file ..." / "... valid gzip data ..." when it cannot be read;
///  - "<path>:<line>: expected a teacher score in <teacher> for this text, found none (text ...)";
///  - "<teacher>:1: expected the labels of <train> ..." when the label sets differ;
///  - "<path>: expected at least one pool text (...), found none" when no line is kept (an
///    empty file, or every line left out; the message gives the counts).
UnlabelledPool read_unlabelled_pool(const std::string& path, const TeacherScores& teacher,
                                    const Dataset& train, const Dataset& valid);

/// The two terms of the distillation loss of a batch whose first `n_labelled` rows have hard
/// labels and whose other rows are pool rows (teacher only):
///   hard: as in distillation_loss, over rows [0, n_labelled) only (hard_targets holds those
///         rows: [n_labelled] class indices or [n_labelled, C] targets); a zero scalar when
///         n_labelled is 0;
///   soft: the mean over all rows (multi-label: over all rows x labels) of KL(p_T || q_T), as in
///         distillation_loss; no T^2 factor.
/// distillation_loss(...) = alpha * hard + (1 - alpha) * T^2 * soft with n_labelled = B.
/// Throws InvalidArgument if T <= 0 or n_labelled is outside [0, B].
struct DistillationTerms {
  torch::Tensor hard, soft;
};
DistillationTerms distillation_terms(const torch::Tensor& logits, const torch::Tensor& hard_targets,
                                     const torch::Tensor& teacher, int64_t n_labelled,
                                     bool multilabel, double temperature,
                                     const torch::Tensor& class_weights = {});

/// The distillation loss of one batch, a scalar (mean over the batch):
///   alpha * hard + (1 - alpha) * T^2 * soft
/// single-label (hard_targets int64 [B] class indices, teacher [B, C] rows summing to 1):
///   hard = cross-entropy of softmax(logits) (weighted by class_weights [C] if defined, as
///          torch's cross_entropy: sum_i w_yi CE_i / sum_i w_yi),
///   soft = mean over the batch of KL(p_T || q_T) = sum_c p_T,c (log p_T,c - log q_T,c), with
///          q_T = softmax(logits / T) and p_T = softmax(log(teacher) / T) (the teacher's
///          probabilities at temperature T; 0 log 0 = 0);
/// multi-label (hard_targets float [B, C] in [0, 1], teacher [B, C] in [0, 1]):
///   hard = binary cross-entropy with logits, mean over B * C,
///   soft = mean over B * C of the Bernoulli KL(p_T || q_T), q_T = sigmoid(logit / T),
///          p_T = sigmoid(logit(teacher) / T).
/// The T^2 factor keeps the soft term's gradient scale independent of T (Hinton et al. §2).
/// logits [B, C] float. Throws InvalidArgument if alpha is not in [0, 1] or T <= 0.
torch::Tensor distillation_loss(const torch::Tensor& logits, const torch::Tensor& hard_targets,
                                const torch::Tensor& teacher, bool multilabel, double alpha,
                                double temperature, const torch::Tensor& class_weights = {});

}  // namespace bytelite
