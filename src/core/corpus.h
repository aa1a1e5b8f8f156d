// Corpus pipeline for self-supervised pretraining on unlabelled text: stream documents from
// plain-text, JSONL and gzip-compressed files of any size, shuffle them with a bounded buffer,
// and pack their bytes into fixed-length training sequences of byte ids.
//
//   files --CorpusReader--> documents --ShuffleBuffer--> documents --SequencePacker--> [B, L] ids
//
// PackedBatchStream chains the three. Nothing here links libtorch: batches are plain vectors.
//
// Formats (by file extension, or forced with CorpusOptions::format):
//  - text (.txt, .text): one document per line. Lines that are empty or hold only spaces, tabs
//    and CRs are skipped; every other line is one document, byte for byte, without its line end
//    (LF or CRLF; leading and trailing spaces are kept).
//  - JSONL (.jsonl, .ndjson, .json): one JSON object per non-blank line; the document is the string
//    value of CorpusOptions::text_field (default "text"); other keys are ignored. A text value
//    that is the empty string gives no document (not an error).
//  - either of them gzip-compressed: name ending in ".gz" (.txt.gz, .jsonl.gz). Decompressed as
//    a stream (zlib), never loaded whole; concatenated gzip members are read as one stream
//    (bytes after the last member that are not a gzip header are ignored, as zlib does).
//    A file not named .gz is read as is (zlib reads a gzip file transparently even then).
// A UTF-8 byte-order mark at the start of a file is dropped.
//
// Bytes, not characters: the model is byte level, so a text file may hold any bytes (invalid
// UTF-8, NUL) and they are passed through unchanged. JSON, however, must be valid UTF-8: a JSONL
// line with invalid UTF-8 is a bad line (below), like any other JSON syntax error.
//
// Errors: InputError with a one-line message naming the file and 1-based line and saying what
// was expected and what was found, e.g.
//   "corpus/a.jsonl:17: expected the key \"text\" in the JSON object, found keys \"body\", \"id\""
//   "corpus/b.txt.gz:90211: expected valid gzip data, found corrupt data (zlib: invalid block
//    type) near compressed byte 1048576"
// Bad lines (JSONL only: not JSON, not an object, text field missing or not a string, or longer
// than max_line_bytes) throw, or with skip_bad_lines are skipped and counted in
// CorpusReader::bad_lines(). File-level problems always throw: a missing or unreadable file, a
// .gz file that is not gzip data, corrupt or truncated gzip data, and a file that holds no
// document at all (or only bad lines). Invalid options throw ConfigError.
//
// Memory bound: the reader holds one line (at most max_doc_bytes for text files, whose longer
// lines are cut into pieces as they stream in; at most max_line_bytes for a JSONL line, which
// must be parsed whole, plus its parsed JSON) and a fixed 64 KiB read chunk and zlib's ~0.5 MiB
// of state and buffers. The shuffle buffer holds at most `capacity` documents of at most
// max_doc_bytes each; the packer one document and one sequence as int32 ids. So the pipeline
// stays below about
//   shuffle_capacity * max_doc_bytes + 2 * max_line_bytes + 4 * (max_doc_bytes + seq_len) + 1 MiB
// however large the files are (the documents' real sizes, not the bound, decide the typical use:
// 10,000 tweets take ~1 MB).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bytelite {

enum class CorpusFormat { kAuto, kText, kJsonl };

struct CorpusOptions {
  /// kAuto: per file, from the extension after any ".gz" (.txt/.text, .jsonl/.ndjson/.json).
  CorpusFormat format = CorpusFormat::kAuto;
  /// JSONL: the key whose string value is the document.
  std::string text_field = "text";
  /// Skip (and count) bad lines instead of throwing.
  bool skip_bad_lines = false;
  /// A document longer than this many bytes is split into consecutive pieces of at most this
  /// many bytes, each returned as a document of its own (split_long_docs), or truncated to its
  /// first piece. Cuts fall on a UTF-8 character boundary where one lies within the last 3
  /// bytes, so valid UTF-8 stays valid. >= 16.
  size_t max_doc_bytes = size_t{1} << 20;
  bool split_long_docs = true;
  /// JSONL: a line longer than this many bytes (it must be held whole to be parsed) is a bad
  /// line. >= max_doc_bytes is not required; >= 16.
  size_t max_line_bytes = size_t{16} << 20;
  /// Passes over the file list: >= 1, or 0 to cycle forever.
  int64_t epochs = 1;
  /// Each epoch visits the files in an order drawn from `seed` and the epoch number (the same
  /// order on every platform). Off: the order given.
  bool shuffle_files = true;
  uint64_t seed = 0;
  /// Sharding for data-parallel training (train/distributed.h): document k of the stream
  /// (counted over all epochs, in the order read, after long documents are split) is returned
  /// only by the reader with shard_index == k % shard_count; the others read past it. So the
  /// shards do not overlap and together hold every document. 0 <= shard_index < shard_count.
  int64_t shard_count = 1;
  int64_t shard_index = 0;
};

/// Streams documents (byte strings) from a list of files, epoch after epoch.
class CorpusReader {
 public:
  /// Checks the options (ConfigError) and that every file exists and is a regular file
  /// (InputError), and records the files' sizes. Opens nothing yet. paths must not be empty.
  CorpusReader(std::vector<std::string> paths, CorpusOptions options);
  ~CorpusReader();
  CorpusReader(const CorpusReader&) = delete;
  CorpusReader& operator=(const CorpusReader&) = delete;

  /// Stores the next document in *doc (non-empty, at most max_doc_bytes) and returns true;
  /// returns false once `epochs` passes are done (never, with epochs == 0). Throws InputError.
  bool next(std::string* doc);

  /// The file order of epoch `epoch` (0-based): a permutation of the paths.
  std::vector<std::string> file_order(int64_t epoch) const;

  const CorpusOptions& options() const { return options_; }
  const std::vector<std::string>& paths() const { return paths_; }

  // ---- counters (cumulative over all epochs) ----
  int64_t epoch() const { return epoch_; }          // 0-based epoch being read
  int64_t documents() const { return documents_; }  // read by every shard
  int64_t bad_lines() const { return bad_lines_; }
  int64_t split_documents() const { return split_documents_; }          // docs cut in pieces
  int64_t truncated_documents() const { return truncated_documents_; }  // docs cut short
  int64_t document_bytes() const { return document_bytes_; }            // bytes returned
  /// Bytes of the files as stored (compressed for .gz) consumed so far, over all epochs.
  int64_t bytes_read() const;
  /// Sum of the files' sizes as stored: one epoch's worth of bytes_read().
  int64_t epoch_bytes() const { return epoch_bytes_; }
  /// epochs * epoch_bytes(), or 0 when cycling forever.
  int64_t total_bytes() const;
  /// The largest line buffer held so far, in bytes (see the memory bound above).
  size_t peak_line_bytes() const { return peak_line_bytes_; }
  /// Seconds since construction; bytes_read() per second; seconds left (-1 if unknown).
  double elapsed_s() const;
  double bytes_per_s() const;
  double eta_s() const;
  /// One line for logs: "epoch 1/2 | 5.2/10.9 MB 47.3% | 3.1 MB/s (9.0 MB/s of text) |
  /// ETA 4s | 61829 docs".
  std::string progress_line() const;
  /// The file being read and its last line read ("" and 0 between files).
  const std::string& current_file() const;
  int64_t current_line() const;

 private:
  class Source;
  std::vector<size_t> order_indices(int64_t epoch) const;
  bool open_next_file();
  void close_file();
  bool next_document(std::string* doc);
  bool next_from_text(std::string* doc);
  bool next_from_jsonl(std::string* doc);
  bool emit_piece(std::string* doc);
  void bad_line(const std::string& message);

  std::vector<std::string> paths_;
  CorpusOptions options_;
  std::vector<int64_t> sizes_;
  int64_t epoch_bytes_ = 0;
  std::vector<size_t> order_;  // file indices of the current epoch
  size_t order_pos_ = 0;       // position in order_ of the open (or next) file
  int64_t epoch_ = 0;
  bool done_ = false;
  std::unique_ptr<Source> source_;
  CorpusFormat file_format_ = CorpusFormat::kText;
  int64_t line_no_ = 0;         // last line read from the open file (1-based)
  int64_t file_documents_ = 0;  // documents from the open file
  int64_t file_bad_lines_ = 0;
  int64_t bytes_closed_ = 0;  // bytes_read of files already closed
  std::string line_;
  std::string pending_;        // a long document's remaining pieces
  size_t pending_pos_ = 0;     // next byte of pending_ to return
  bool in_long_line_ = false;  // text: line_ holds the rest of a line longer than max_doc_bytes
  int64_t documents_ = 0;
  int64_t stream_documents_ = 0;  // documents of every shard, for the shard rule
  int64_t bad_lines_ = 0;
  int64_t split_documents_ = 0;
  int64_t truncated_documents_ = 0;
  int64_t document_bytes_ = 0;
  size_t peak_line_bytes_ = 0;
  double start_s_ = 0;
};

/// Reservoir-style shuffle buffer: holds up to `capacity` documents; once full, each pushed
/// document replaces a uniformly chosen buffered one, which comes out. Deterministic for a seed
/// (the same on every platform). A document comes out at most `capacity` positions earlier than
/// it went in and stays `capacity` pushes on average, so a file ordered by topic or language
/// needs a buffer large compared with its runs (data/pretrain/multilingual.jsonl.gz comes in
/// shuffled runs of 256 documents of one language: a buffer of 10,000 mixes about 40 runs).
class ShuffleBuffer {
 public:
  /// capacity >= 1 (ConfigError).
  ShuffleBuffer(size_t capacity, uint64_t seed);

  /// Adds doc. If the buffer was full, first moves a random buffered document into *out and
  /// returns true; otherwise returns false (*out untouched).
  bool push(std::string doc, std::string* out);
  /// Removes a random buffered document into *out (to drain at the end); false if empty.
  bool pop(std::string* out);

  size_t size() const { return docs_.size(); }
  size_t capacity() const { return capacity_; }
  bool full() const { return docs_.size() >= capacity_; }
  /// Bytes held by the buffered documents.
  size_t bytes() const { return bytes_; }

 private:
  uint64_t below(uint64_t n);

  size_t capacity_;
  uint64_t state_;
  std::vector<std::string> docs_;
  size_t bytes_ = 0;
};

struct PackerOptions {
  /// Ids per training sequence, >= 2.
  int seq_len = 512;
  /// Id appended after every document: a special id in [0, kByteOffset) (default EOS = 1).
  int32_t separator_id = 1;
  /// Map 'A'..'Z' to 'a'..'z' as ByteTokenizer(lowercase_ascii) does.
  bool lowercase_ascii = false;
};

/// Packs documents into sequences of exactly seq_len ids: each document's bytes as ids
/// (byte + 3, as ByteTokenizer) followed by the separator, one stream cut every seq_len ids.
/// A document longer than the room left continues in the next sequence; no byte is dropped or
/// repeated. The mask is 1 for byte and separator ids and 0 for PAD (only in a flushed last
/// sequence). Example, seq_len 4, documents "ab" and "cde" (E = EOS = 1, P = PAD = 0):
///   ids [100 101 E 102] mask [1 1 1 1], then flush: ids [103 104 E P] mask [1 1 1 0].
class SequencePacker {
 public:
  /// ConfigError for seq_len < 2 or a separator outside [0, kByteOffset).
  explicit SequencePacker(PackerOptions options);

  /// Appends a document (any bytes; an empty one adds only a separator).
  void add(std::string_view doc);
  /// Whether a full sequence is ready.
  bool ready() const;
  /// Moves the next full sequence into ids/mask (seq_len each) and returns true; false if fewer
  /// than seq_len ids are pending.
  bool next(std::vector<int32_t>* ids, std::vector<uint8_t>* mask);
  /// Moves the pending partial sequence, padded with PAD (mask 0), and returns true; false if
  /// nothing is pending. Call after the last add() and next().
  bool flush(std::vector<int32_t>* ids, std::vector<uint8_t>* mask);

  const PackerOptions& options() const { return options_; }
  /// Ids waiting to be returned.
  size_t pending() const { return pending_.size() - pos_; }
  int64_t documents() const { return documents_; }  // read by every shard
  int64_t sequences() const { return sequences_; }

 private:
  void take(size_t n, std::vector<int32_t>* ids, std::vector<uint8_t>* mask);

  PackerOptions options_;
  std::vector<int32_t> pending_;
  size_t pos_ = 0;
  int64_t documents_ = 0;
  int64_t sequences_ = 0;
};

/// A batch of packed sequences, row-major: ids[r * seq_len + t], r < rows, t < seq_len.
struct PackedBatch {
  int rows = 0;  // <= batch_size (fewer only in a finite stream's last batch)
  int seq_len = 0;
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;  // 1: a byte or separator id; 0: PAD
};

struct PackedBatchOptions {
  CorpusOptions corpus;
  PackerOptions packer;
  /// Documents in the shuffle buffer; 1 turns shuffling off. >= 1.
  size_t shuffle_capacity = 10000;
  /// Sequences per batch, >= 1.
  int batch_size = 32;
  /// Finite streams: keep the padded last sequence and a last batch of fewer rows. Off: drop
  /// them, so every batch is full and unpadded.
  bool keep_last = true;
};

/// files -> CorpusReader -> ShuffleBuffer -> SequencePacker -> batches [batch_size, seq_len].
/// The shuffle buffer's seed is derived from corpus.seed. With corpus.epochs == 0 it never ends.
class PackedBatchStream {
 public:
  PackedBatchStream(std::vector<std::string> paths, PackedBatchOptions options);

  /// Fills *batch and returns true, or returns false at the end of a finite stream.
  bool next(PackedBatch* batch);

  const CorpusReader& reader() const { return reader_; }
  const SequencePacker& packer() const { return packer_; }
  const ShuffleBuffer& shuffle() const { return shuffle_; }
  int64_t batches() const { return batches_; }

 private:
  bool next_sequence(std::vector<int32_t>* ids, std::vector<uint8_t>* mask);

  PackedBatchOptions options_;
  CorpusReader reader_;
  ShuffleBuffer shuffle_;
  SequencePacker packer_;
  bool drained_ = false;
  int64_t batches_ = 0;
  std::string doc_;
  std::string out_;
};

}  // namespace bytelite
