// Export of a QAT ByteSeq2Seq (src/train/seq2seq.h) to an int8 model file (architecture
// "byteseq2seq", schema/bytelite_model.fbs ByteSeq2Seq), with the conventions of every model
// file (train/fb_writer.h): dense weights quantized per output channel exactly as
// fake_quant_weight does, int32 biases with extra fractional bits, embedding tables quantized
// with their activation quantizer's params, activation params from every ActQuant's range.
// The tied embedding is both the decoder's input table (activation params) and the int8 weight
// matrix of the logits layer (per-row weight scales). The runtime reads the file back into
// rt::Seq2SeqNet (src/runtime/ops/decoder.h) through Model::load / Model::from_bytes.
#pragma once

#include <memory>
#include <string>

#include "bytelite/model.h"
#include "runtime/ops/decoder.h"
#include "train/seq2seq.h"

namespace bytelite {

/// What the file records besides the tensors.
struct Seq2SeqExportInfo {
  std::string source_column = "source", target_column = "target";  // data columns (for eval)
  std::string source_checkpoint;  // the checkpoint exported ("" if in memory)
  int64_t training_step = 0;
  int beam_size = 4;            // generation defaults stored in the file
  double length_penalty = 0.6;  // GNMT alpha
};

/// The complete model file (header + payload). Throws ModelFileError if QAT is disabled or an
/// activation range was never observed.
std::string export_seq2seq_bytes(ByteSeq2SeqImpl& model, const Seq2SeqExportInfo& info = {});

/// export_seq2seq_bytes, loaded and validated by the runtime (Model::from_bytes).
std::shared_ptr<const Model> export_seq2seq_model(ByteSeq2SeqImpl& model,
                                                  const Seq2SeqExportInfo& info = {});

/// The runtime network of export_seq2seq_model (shares ownership of the loaded model).
std::shared_ptr<const rt::Seq2SeqNet> export_seq2seq(ByteSeq2SeqImpl& model);

}  // namespace bytelite
