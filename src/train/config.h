// Experiment configuration (JSON). One file describes the data columns, the tokenizer, the model,
// quantization-aware training and the optimizer; configs/byteqrnn_olid.json is the reference.
// Unknown keys are errors (they are almost always typos); every value is range-checked and a
// bad one gives ConfigError("<file>: <key>: expected ..., found ...").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/dataset.h"

namespace bytelite {

struct ModelConfig {
  std::string encoder =
      "qrnn";  // "qrnn" | "transformer" | "funnel" | "pqrnn" (spec §1.2-1.5) | "qrnn_proj"
  int embedding_size = 64;        // F: byte embedding width
  int bottleneck_size = 64;       // Bn: width after the bottleneck dense layer (= GBST width)
  int gbst_max_block_width = 4;   // GBST block widths 1..this (Charformer: 4)
  int gbst_conv_kernel_size = 5;  // causal conv before block scoring
  int gbst_downsample_rate = 2;   // mean-pool rate after GBST (1 = none)
  int qrnn_state_size = 64;       // S per direction; the encoder output is 2S wide
  int qrnn_kernel_width = 3;      // gate convolution width k
  int qrnn_layers = 2;            // bidirectional QRNN layers
  double qrnn_zoneout = 0.1;      // zoneout probability p of layer 0; layer i uses p^(i+1)
  // ByteTransformer / ByteFunnelTransformer (spec §1.3, §1.4, §2.8, §2.9); model width D is
  // bottleneck_size (the GBST output width).
  int transformer_layers = 2;            // encoder layers
  int num_heads = 4;                     // attention heads; D must be a multiple
  int intermediate_size = 256;           // feed-forward width I
  std::vector<int> pool_windows;         // funnel: query mean-pool window before each layer
  std::string attention_scale = "sqrt";  // "sqrt" (logits / sqrt(D/H)) | "none" (the original)
  std::string layer_norm = "channel";    // "channel" (gamma, beta [D]) | "scalar" (the original)
  std::string norm_position = "post";    // "post" (the original) | "pre" (training only)
  // pQRNN (encoder "pqrnn", spec §1.5, §2.11): the ternary projection of the text's hashed
  // tokens (src/runtime/ops/projection.h) replaces the byte embedding and GBST; then the
  // bottleneck (bottleneck_size) and the QRNN layers (qrnn_*) as in ByteQRNN. ByteQRNN with
  // word projection (encoder "qrnn_proj"): the same settings project each byte's word, whose
  // word vector is added to the byte path before GBST (train/encoder_registry.cc).
  int projection_feature_size = 64;       // values per token (the bottleneck's input width)
  int projection_max_tokens = 64;         // tokens per text, tags included; more are dropped
  bool projection_split_on_space = true;  // tokens: whitespace-separated words (else characters)
  bool projection_lowercase = true;       // ASCII A-Z -> a-z before tokenization
  bool projection_add_bos = false;        // "<BOS>" token first
  bool projection_add_eos = false;        // "<EOS>" token last
  std::string pooling = "attention";      // "attention" | "attention_max" (concat with max pooling)
  double dropout = 0.1;  // dropout on GBST output, between QRNN layers and before the head
};

struct TokenizerConfig {
  int max_length = 256;  // bytes per example; longer texts are truncated (counted, reported)
  bool lowercase_ascii = false;  // map bytes A-Z to a-z (see ByteTokenizer)
};

struct QuantConfig {
  bool enabled = true;      // quantization-aware training on/off
  double ema_decay = 0.99;  // activation range EMA: r <- decay * r + (1 - decay) * batch
  int warmup_steps = 300;   // steps that only observe ranges before fake quantization starts
};

struct TrainConfig {
  int batch_size = 32;
  int epochs = 10;
  long max_steps = 0;           // > 0 overrides epochs
  double learning_rate = 2e-3;  // peak learning rate (AdamW)
  double weight_decay = 0.01;   // decoupled weight decay (AdamW)
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_eps = 1e-8;
  int lr_warmup_steps = 200;  // linear warm-up from 0
  // decay after warm-up: "cosine" | "linear" (from peak to min_lr_ratio * peak) | "constant" |
  // "cosine_clamped" (peak * max(cosine decay to 0, min_lr_ratio))
  std::string lr_schedule = "cosine";
  double min_lr_ratio = 0.05;               // final lr = min_lr_ratio * learning_rate
  double grad_clip = 1.0;                   // max global L2 norm of gradients (0 = off)
  std::string class_weights = "none";       // "none" | "balanced" (single-label only)
  std::vector<double> class_weight_values;  // explicit weights, one per class (overrides)
  int eval_every_steps = 0;                 // 0 = once per epoch
  bool bucket_by_length = true;             // batches of similar-length texts (less padding)
  int early_stopping_patience = 4;  // evaluations without improvement before stopping (0 = off)
  // Steps at the start during which the encoder's parameters get no update and the rest trains
  // (classify: pooling and head; seq2seq: the decoder) (linear probing, then fine-tuning:
  // "LP-FT", Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features and Underperform
  // Out-of-Distribution"). For use with --init-from; 0 = off. Encoder buffers (activation
  // ranges, batch-norm statistics) still update.
  int freeze_encoder_steps = 0;
  std::string metric = "macro_f1";  // validation metric for best checkpoint: macro_f1 | roc_auc
  // Text distortion of the training texts (train/text_distortion.h; spec §2.11): per word, with
  // this probability, delete, move or re-insert a character. 0 = off.
  double distortion_probability = 0;
  // Distillation (train/teacher_scores.h; docs/distillation.md): a teacher scores file ("" = off)
  // and the loss alpha * CE(hard) + (1 - alpha) * T^2 * KL(teacher_T || student_T).
  std::string distill_scores;
  double distill_alpha = 0.5;
  double distill_temperature = 1.0;
  // Distillation on an unlabelled pool (docs/distillation.md): a text file, one text per line
  // (.gz allowed; "" = off), whose texts train on the teacher's soft term only, and the number
  // of pool rows added to each batch (0 = batch_size).
  std::string distill_unlabelled;
  int distill_unlabelled_batch = 0;
  unsigned long seed = 1;
  int threads = 2;
};

// Self-supervised pretraining of the encoder (train/pretrain.h, docs/pretraining.md): masked
// byte spans predicted by a light head. Only read by `bytelite pretrain`.
struct PretrainConfig {
  int seq_len = 256;        // ids per packed training sequence (corpus.h SequencePacker)
  double mask_rate = 0.15;  // fraction of each sequence's valid ids that are masked
  double mean_span = 3.0;   // mean length of a masked span, in ids
  int batch_size = 32;      // sequences per step
  long steps = 20000;       // planned optimizer steps (the learning-rate schedule's length)
  double learning_rate = 2e-3;
  double weight_decay = 0.01;
  int lr_warmup_steps = 500;
  std::string lr_schedule = "cosine";  // "cosine" | "linear" | "constant"
  double min_lr_ratio = 0.05;
  double grad_clip = 1.0;
  // LP-FT for continued pretraining (--init-from): steps that train only the prediction head
  // (the encoder's parameters get no update; its buffers still do). 0 = off.
  int freeze_encoder_steps = 0;
  int eval_every_steps = 500;    // held-out loss (and a checkpoint) every this many steps
  int heldout_sequences = 256;   // held-out sequences evaluated (the first ones of the file)
  std::string heldout;           // held-out corpus file ("" = none)
  int shuffle_capacity = 10000;  // documents in the corpus shuffle buffer
  unsigned long seed = 1;
  int threads = 2;
};

// Byte-to-byte sequence-to-sequence model (train/seq2seq.h; docs/seq2seq.md): the JSON section
// "seq2seq", used when "task" is "seq2seq".
struct Seq2SeqConfig {
  // "transformer": the built-in encoder below (width D); "qrnn" | "funnel": the classifier's
  // encoder (ByteClassifier with num_labels 0) built from encoder_model (the config's "model"
  // section, whose encoder must be the same); its output width E (2 * qrnn_state_size or
  // bottleneck_size) is the input of the decoder's key/value layers.
  std::string encoder = "transformer";
  ModelConfig encoder_model;        // encoder "qrnn" | "funnel"
  int64_t dim = 64;                 // D (decoder width; built-in encoder width and embedding width)
  int64_t num_heads = 4;            // encoder and decoder cross-attention heads
  int64_t intermediate_size = 128;  // feed-forward width
  int64_t encoder_layers = 2;
  int64_t decoder_layers = 2;
  int64_t gbst_max_block_width = 1;  // 1: GBST is a causal conv + identity mixture
  int64_t gbst_conv_kernel_size = 3;
  int64_t gbst_downsample_rate = 1;
  int64_t max_source = 64;  // rows of the encoder position table
  int64_t max_target = 64;  // rows of the decoder position table (start id + target ids)
  double dropout = 0.0;
  double label_smoothing = 0.0;
  // generation and evaluation during training
  int beam_size = 4;            // beam search width (stored in the model file as the default)
  double length_penalty = 0.6;  // GNMT alpha (stored in the model file as the default)
  int eval_sources = 500;       // validation sources decoded with the int8 model at each evaluation
};

struct ExperimentConfig {
  std::string task = "classify";  // "classify" | "seq2seq" (source/target pairs)
  DataSpec data;
  TokenizerConfig tokenizer;
  ModelConfig model;
  QuantConfig quantization;
  TrainConfig train;
  PretrainConfig pretrain;
  bool has_pretrain = false;  // the file had a "pretrain" section (written back only then)
  Seq2SeqConfig seq2seq;      // task "seq2seq"
};

// Every key above is declared once, in src/train/config.cc (its JSON name equals the struct
// member's name; its range, default and one-line doc sit beside it). Parsing, serialization,
// `--set section.key=value` overrides and the key table of docs/config.md derive from that list.

/// Parses and validates. `source` names the file in error messages. Throws ConfigError
/// ("<source>: <section.key>: expected ..., found ...", or an unknown key with the known ones).
ExperimentConfig config_from_json(const nlohmann::json& j, const std::string& source);
/// Reads a JSON config file. Throws ConfigError if it cannot be opened or parsed.
nlohmann::json load_config_json(const std::string& path);
/// load_config_json + apply_config_override for each override + config_from_json.
ExperimentConfig load_config(const std::string& path,
                             const std::vector<std::string>& overrides = {});
/// Sets one key of a config JSON object from "section.key=value" ("task=seq2seq" for the top
/// level). The value is JSON if it parses as JSON (3, 0.5, true, [1,2], "x"), else the text as a
/// string; it is validated later by config_from_json. Throws InvalidArgument naming the closest
/// declared key if the key is not one of them or there is no '='. (load_config attributes a bad
/// value given this way to "--set <assignment>", not to the file.)
void apply_config_override(nlohmann::json& j, const std::string& assignment);
/// Every key with its value (omitting optional keys at their default and sections the task does
/// not read); config_from_json(config_to_json(c)) == c.
nlohmann::json config_to_json(const ExperimentConfig& c);

/// One declared key, for documentation: default as JSON, valid values in words.
struct ConfigKeyDoc {
  std::string section, name, default_value, range, doc;
};
std::vector<ConfigKeyDoc> config_key_docs();
/// The table of docs/config.md: one row per key (`section.key` | default | valid values | meaning).
std::string config_keys_markdown();
/// The text of src/core/config_keys.inc: one C++ initializer {"section", "key", "doc"} per key,
/// for the runtime half (core/model_info_json.h: what `bytelite info` prints).
std::string config_keys_runtime_table();

}  // namespace bytelite
