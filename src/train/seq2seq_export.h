// In-memory export of a QAT ByteSeq2Seq (src/train/seq2seq.h) to the int8 runtime structs of
// src/runtime/ops/decoder.h, with the same conventions as the model-file export
// (src/train/export.h): dense weights quantized per output channel exactly as
// fake_quant_weight does, int32 biases with extra fractional bits, embedding tables quantized
// with their activation quantizer's params, activation params from every ActQuant's range.
// The tied embedding is both the decoder's input table (activation params) and the int8 weight
// matrix of the logits layer (per-row weight scales). No file format yet: the result lives in
// memory (docs/seq2seq.md).
#pragma once

#include <memory>

#include "runtime/ops/decoder.h"
#include "train/seq2seq.h"

namespace bytelite {

/// Throws ModelFileError if QAT is disabled or an activation range was never observed.
std::unique_ptr<rt::Seq2SeqNet> export_seq2seq(ByteSeq2SeqImpl& model);

/// The runtime params of an observed activation quantizer (float scale, as the fake quantizer).
rt::QParams runtime_params(const ActQuantImpl& q, const std::string& name);

}  // namespace bytelite
