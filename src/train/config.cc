#include "train/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "bytelite/encoder_kinds.h"
#include "core/errors.h"
#include "core/quote.h"
#include "runtime/model_limits.h"
#include "train/encoder_registry.h"

namespace bytelite {
namespace {

using nlohmann::json;

std::string type_name(const json& v) {
  if (v.is_number_integer()) return "integer " + v.dump();
  if (v.is_number()) return "number " + v.dump();
  if (v.is_string()) return "string " + v.dump();
  if (v.is_boolean()) return std::string("boolean ") + (v.get<bool>() ? "true" : "false");
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

std::string num(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

enum class Kind { kInt, kNumber, kBool, kString, kStrings, kInts, kPositiveNumbers };

// One configuration key, declared once in keys() below: its JSON name (= the struct member's
// name), value range, default (read off a default-constructed ExperimentConfig) and one-line
// doc. Parsing, serialization, --set overrides and the documentation table are derived from it.
struct Key {
  const char* section;  // JSON section ("" = top level) = the ExperimentConfig member
  const char* name;     // JSON key = the member of that section's struct
  Kind kind;
  double lo = 0, hi = 0;  // kInt, kNumber, kInts: inclusive range (lo exclusive if lo_open)
  bool lo_open = false;
  std::vector<std::string> choices;  // kString: allowed values (empty: any non-empty string)
  const char* doc = "";
  std::function<json(const ExperimentConfig&)> get;
  std::function<void(ExperimentConfig&, const json&)> set;  // value already validated
  // written by config_to_json unless this returns true (optional keys left at their default)
  std::function<bool(const ExperimentConfig&)> omit = nullptr;

  std::string path() const { return *section ? std::string(section) + "." + name : name; }

  // What a valid value looks like, as error messages and the documentation say it.
  std::string expected() const {
    switch (kind) {
      case Kind::kInt:
        return "an integer in [" + std::to_string(static_cast<long long>(lo)) + ", " +
               std::to_string(static_cast<long long>(hi)) + "]";
      case Kind::kNumber:
        return std::string("a number in ") + (lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + "]";
      case Kind::kBool:
        return "true or false";
      case Kind::kString: {
        if (choices.empty()) return "a non-empty string";
        std::string e = "one of";
        for (auto& c : choices) e += " \"" + c + "\"";
        return e;
      }
      case Kind::kStrings:
        return "a string or a non-empty array of strings";
      case Kind::kInts:
        return "an array of integers in [" + std::to_string(static_cast<long long>(lo)) + ", " +
               std::to_string(static_cast<long long>(hi)) + "]";
      case Kind::kPositiveNumbers:
        return "an array of positive numbers";
    }
    return "";
  }

  // Whether `v` is a valid value (type and range).
  bool valid(const json& v) const {
    switch (kind) {
      case Kind::kInt: {
        if (!v.is_number_integer()) return false;
        const double x = v.is_number_unsigned() ? static_cast<double>(v.get<unsigned long long>())
                                                : static_cast<double>(v.get<long long>());
        return x >= lo && x <= hi;
      }
      case Kind::kNumber: {
        if (!v.is_number()) return false;
        const double x = v.get<double>();
        return std::isfinite(x) && x >= lo && x <= hi && !(lo_open && x == lo);
      }
      case Kind::kBool:
        return v.is_boolean();
      case Kind::kString: {
        if (!v.is_string() || v.get<std::string>().empty()) return false;
        if (choices.empty()) return true;
        for (auto& c : choices)
          if (c == v.get<std::string>()) return true;
        return false;
      }
      case Kind::kStrings: {
        if (v.is_string()) return true;
        if (!v.is_array() || v.empty()) return false;
        for (auto& e : v)
          if (!e.is_string()) return false;
        return true;
      }
      case Kind::kInts: {
        if (!v.is_array()) return false;
        for (auto& e : v)
          if (!e.is_number_integer() || e.get<long long>() < lo || e.get<long long>() > hi)
            return false;
        return true;
      }
      case Kind::kPositiveNumbers: {
        if (!v.is_array()) return false;
        for (auto& e : v)
          if (!e.is_number() || !(e.get<double>() > 0)) return false;
        return true;
      }
    }
    return false;
  }
};

// Accessors of the member SECTION.FIELD of ExperimentConfig (the key's name is #FIELD, so the
// JSON key and the struct member cannot drift apart).
#define BL_ACCESS_GET(SECTION, FIELD) \
  [](const ExperimentConfig& c) { return json(c.SECTION.FIELD); }
#define BL_ACCESS(SECTION, FIELD)                                         \
  BL_ACCESS_GET(SECTION, FIELD), [](ExperimentConfig& c, const json& v) { \
    c.SECTION.FIELD = v.get<std::decay_t<decltype(c.SECTION.FIELD)>>();   \
  }
#define BL_INT(SECTION, FIELD, LO, HI, DOC)                      \
  Key {                                                          \
#SECTION, #FIELD, Kind::kInt, double(LO), double(HI), false, \
        {}, DOC, BL_ACCESS(SECTION, FIELD)                       \
  }
#define BL_NUM(SECTION, FIELD, LO, HI, DOC) \
  Key { #SECTION, #FIELD, Kind::kNumber, LO, HI, false, {}, DOC, BL_ACCESS(SECTION, FIELD) }
#define BL_NUM_OPEN(SECTION, FIELD, LO, HI, DOC) \
  Key { #SECTION, #FIELD, Kind::kNumber, LO, HI, true, {}, DOC, BL_ACCESS(SECTION, FIELD) }
#define BL_BOOL(SECTION, FIELD, DOC) \
  Key { #SECTION, #FIELD, Kind::kBool, 0, 0, false, {}, DOC, BL_ACCESS(SECTION, FIELD) }
#define BL_STR(SECTION, FIELD, CHOICES, DOC) \
  Key { #SECTION, #FIELD, Kind::kString, 0, 0, false, CHOICES, DOC, BL_ACCESS(SECTION, FIELD) }

using Strings = std::vector<std::string>;

// The registered encoder kinds' config names (include/bytelite/encoder_kinds.h).
Strings encoder_names() {
  Strings s;
  for (const EncoderKindInfo& k : kEncoderKinds) s.push_back(k.name);
  return s;
}

// "qrnn (ByteQRNN), transformer (ByteTransformer) or funnel (ByteFunnelTransformer)"
std::string encoder_names_doc() {
  std::string s;
  for (size_t i = 0; i < kNumEncoderKinds; ++i) {
    if (i > 0) s += i + 1 == kNumEncoderKinds ? " or " : ", ";
    s += std::string(kEncoderKinds[i].name) + " (" + kEncoderKinds[i].display + ")";
  }
  return s;
}
// Whether seq2seq.encoder is the kind the seq2seq section configures (an unknown name is not:
// the key's own check reports it).
bool seq2seq_encoder_in_section(const Seq2SeqConfig& q) {
  const EncoderKindInfo* k = find_encoder_kind(q.encoder);
  return k != nullptr && k->seq2seq_section;
}

constexpr long long kSteps = 1LL << 30;  // bound of step counts and step-based settings

// Every key of the config file, in the order of the documentation.
const std::vector<Key>& keys() {
  using namespace limits;
  static const std::string encoder_doc = encoder_names_doc();
  static const std::vector<Key> k = [] {
    std::vector<Key> v = {
        // ---- data ----
        Key{"data", "format", Kind::kString, 0, 0, false, Strings{"auto", "tsv", "csv", "jsonl"},
            "file format; auto: by extension (.tsv, .csv, .jsonl)",
            [](const ExperimentConfig& c) {
              switch (c.data.format) {
                case DataFormat::kTsv:
                  return json("tsv");
                case DataFormat::kCsv:
                  return json("csv");
                case DataFormat::kJsonl:
                  return json("jsonl");
                default:
                  return json("auto");
              }
            },
            [](ExperimentConfig& c, const json& v) {
              const std::string f = v.get<std::string>();
              c.data.format = f == "tsv"     ? DataFormat::kTsv
                              : f == "csv"   ? DataFormat::kCsv
                              : f == "jsonl" ? DataFormat::kJsonl
                                             : DataFormat::kAuto;
            }},
        BL_STR(data, text_column, Strings{}, "column holding the text (seq2seq: the source)"),
        Key{"data",
            "label_columns",
            Kind::kStrings,
            0,
            0,
            false,
            {},
            "label column(s): one = single-label, several = multi-label (targets in [0, 1]); "
            "seq2seq: the target column",
            BL_ACCESS_GET(data, label_columns),
            [](ExperimentConfig& c, const json& v) {
              c.data.label_columns =
                  v.is_string() ? Strings{v.get<std::string>()} : v.get<Strings>();
            }},
        BL_BOOL(data, skip_bad_rows, "skip and count malformed rows instead of stopping"),
        // ---- tokenizer ----
        BL_INT(tokenizer, max_length, 1, kMaxLength,
               "bytes per example; longer texts are truncated at the end (counted, reported)"),
        BL_BOOL(tokenizer, lowercase_ascii, "map bytes A-Z to a-z (UTF-8 safe)"),
        // ---- model ----
        Key{"model", "encoder", Kind::kString, 0, 0, false, encoder_names(), encoder_doc.c_str(),
            BL_ACCESS(model, encoder)},
        BL_INT(model, embedding_size, 1, kMaxWidth, "byte embedding width F"),
        BL_INT(model, bottleneck_size, 1, kMaxWidth,
               "width after the bottleneck dense layer (GBST width; Transformer width D)"),
        BL_INT(model, gbst_max_block_width, 1, kMaxGbstBlockWidth, "GBST block widths 1..W"),
        BL_INT(model, gbst_conv_kernel_size, 1, kMaxKernel, "GBST causal convolution width"),
        BL_INT(model, gbst_downsample_rate, 1, kMaxDownsample,
               "mean-pool rate after GBST (1 = none)"),
        BL_INT(model, qrnn_state_size, 1, kMaxWidth,
               "QRNN state S per direction (encoder output 2S)"),
        BL_INT(model, qrnn_kernel_width, 1, kMaxKernel, "QRNN gate convolution width k"),
        BL_INT(model, qrnn_layers, 1, kMaxQrnnLayers, "bidirectional QRNN layers"),
        BL_NUM(model, qrnn_zoneout, 0.0, 0.99, "zoneout p of layer 0; layer i uses p^(i+1)"),
        BL_INT(model, transformer_layers, 1, kMaxTransformerLayers,
               "Transformer / funnel layers of width bottleneck_size"),
        BL_INT(model, num_heads, 1, kMaxHeads, "attention heads (a divisor of bottleneck_size)"),
        BL_INT(model, intermediate_size, 1, kMaxIntermediate, "feed-forward width"),
        Key{"model",
            "pool_windows",
            Kind::kInts,
            1,
            kMaxPoolWindow,
            false,
            {},
            "funnel: query mean-pool window before each layer (one per layer; only for funnel)",
            BL_ACCESS(model, pool_windows),
            [](const ExperimentConfig& c) { return c.model.pool_windows.empty(); }},
        BL_STR(model, attention_scale, (Strings{"sqrt", "none"}),
               "attention logits / sqrt(D/H), or unscaled as the original (docs/deviations.md)"),
        BL_STR(model, layer_norm, (Strings{"channel", "scalar"}),
               "per-channel gamma and beta, or scalar as the original"),
        BL_STR(model, norm_position, (Strings{"post", "pre"}),
               "post-LN, or pre-LN (training only: export rejects it)"),
        BL_INT(
            model, projection_feature_size, 1, kMaxWidth,
            "pqrnn, qrnn_proj: ternary projection values per token (the bottleneck's input width)"),
        BL_INT(model, projection_max_tokens, 1, kMaxLength,
               "pqrnn, qrnn_proj: tokens per text, tags included (later tokens are dropped)"),
        BL_BOOL(
            model, projection_split_on_space,
            "pqrnn, qrnn_proj: tokens are whitespace-separated words (false: UTF-8 characters)"),
        BL_BOOL(model, projection_lowercase,
                "pqrnn, qrnn_proj: ASCII A-Z -> a-z before tokenization"),
        BL_BOOL(model, projection_add_bos, "pqrnn, qrnn_proj: a \"<BOS>\" token first"),
        BL_BOOL(model, projection_add_eos, "pqrnn, qrnn_proj: an \"<EOS>\" token last"),
        BL_STR(model, pooling, (Strings{"attention", "attention_max"}),
               "attention pooling, or attention pooling concatenated with max pooling"),
        BL_NUM(model, dropout, 0.0, 0.99,
               "dropout on the GBST output, between QRNN layers and before the head"),
        // ---- quantization ----
        BL_BOOL(quantization, enabled, "quantization-aware training (needed for the int8 model)"),
        BL_NUM(quantization, ema_decay, 0.0, 1.0,
               "activation-range EMA: r <- decay r + (1 - decay) batch range"),
        BL_INT(quantization, warmup_steps, 0, kSteps,
               "steps that only observe ranges before fake quantization starts"),
        // ---- train ----
        BL_INT(train, batch_size, 1, 1 << 16, "examples per step"),
        BL_INT(train, epochs, 1, 1 << 20, "passes over the training data"),
        BL_INT(train, max_steps, 0, 1LL << 40, "optimizer steps; > 0 overrides epochs"),
        BL_NUM_OPEN(train, learning_rate, 0.0, 1e30, "peak learning rate (AdamW)"),
        BL_NUM(train, weight_decay, 0.0, 10.0, "decoupled weight decay (AdamW)"),
        BL_NUM(train, adam_beta1, 0.0, 0.999999, "AdamW beta1"),
        BL_NUM(train, adam_beta2, 0.0, 0.999999, "AdamW beta2"),
        BL_NUM_OPEN(train, adam_eps, 0.0, 1.0, "AdamW epsilon"),
        BL_INT(train, lr_warmup_steps, 0, kSteps, "linear warm-up steps from 0"),
        BL_STR(train, lr_schedule, (Strings{"cosine", "linear", "constant", "cosine_clamped"}),
               "decay after warm-up to min_lr_ratio x peak (cosine_clamped: max(cosine to 0, "
               "min_lr_ratio))"),
        BL_NUM(train, min_lr_ratio, 0.0, 1.0, "final learning rate / peak"),
        BL_NUM(train, grad_clip, 0.0, 1e9, "max global L2 norm of the gradients (0 = off)"),
        BL_STR(train, class_weights, (Strings{"none", "balanced"}),
               "loss weights per class (single-label)"),
        Key{"train",
            "class_weight_values",
            Kind::kPositiveNumbers,
            0,
            0,
            false,
            {},
            "explicit loss weights, one per class (overrides class_weights)",
            BL_ACCESS(train, class_weight_values)},
        BL_INT(train, eval_every_steps, 0, kSteps, "validation every N steps (0 = each epoch)"),
        BL_BOOL(train, bucket_by_length, "batches of similar-length texts (less padding)"),
        BL_INT(train, early_stopping_patience, 0, 1 << 20,
               "evaluations without improvement before stopping (0 = off)"),
        BL_INT(train, freeze_encoder_steps, 0, kSteps,
               "with --init-from: steps that leave the encoder's parameters as loaded and train "
               "the rest (classify: pooling and head; seq2seq: the decoder; LP-FT, Kumar et al. "
               "2022)"),
        BL_STR(train, metric, (Strings{"macro_f1", "roc_auc"}),
               "validation metric that picks the best checkpoint"),
        Key{"train",
            "distortion_probability",
            Kind::kNumber,
            0.0,
            1.0,
            false,
            {},
            "text distortion: per word, the probability of deleting, moving or re-inserting a "
            "character (0 = off; docs/distillation.md)",
            BL_ACCESS(train, distortion_probability),
            [](const ExperimentConfig& c) { return c.train.distortion_probability == 0.0; }},
        Key{"train",
            "distill_scores",
            Kind::kString,
            0,
            0,
            false,
            {},
            "teacher scores file for distillation (none when absent; docs/distillation.md)",
            BL_ACCESS(train, distill_scores),
            [](const ExperimentConfig& c) { return c.train.distill_scores.empty(); }},
        Key{"train",
            "distill_alpha",
            Kind::kNumber,
            0.0,
            1.0,
            false,
            {},
            "distillation: weight of the hard-label loss (1 - alpha: the teacher's)",
            BL_ACCESS(train, distill_alpha),
            [](const ExperimentConfig& c) { return c.train.distill_alpha == 0.5; }},
        Key{"train",
            "distill_temperature",
            Kind::kNumber,
            0.0,
            100.0,
            true,
            {},
            "distillation: temperature T of teacher and student probabilities",
            BL_ACCESS(train, distill_temperature),
            [](const ExperimentConfig& c) { return c.train.distill_temperature == 1.0; }},
        Key{"train",
            "distill_unlabelled",
            Kind::kString,
            0,
            0,
            false,
            {},
            "distillation: unlabelled pool, a text file with one text per line (.gz allowed) "
            "whose texts train on the teacher's soft term only (none when absent; "
            "docs/distillation.md)",
            BL_ACCESS(train, distill_unlabelled),
            [](const ExperimentConfig& c) { return c.train.distill_unlabelled.empty(); }},
        Key{"train",
            "distill_unlabelled_batch",
            Kind::kInt,
            0,
            double(1 << 16),
            false,
            {},
            "distillation: pool rows added to each batch (0 = train.batch_size)",
            BL_ACCESS(train, distill_unlabelled_batch),
            [](const ExperimentConfig& c) { return c.train.distill_unlabelled_batch == 0; }},
        BL_INT(train, seed, 0, 1LL << 62, "random seed"),
        BL_INT(train, threads, 1, 1024, "intra-op threads"),
        // ---- pretrain (bytelite pretrain; docs/pretraining.md) ----
        BL_INT(pretrain, seq_len, 8, 1 << 16, "ids per packed training sequence"),
        BL_NUM_OPEN(pretrain, mask_rate, 0.0, 0.5, "fraction of each sequence's ids masked"),
        BL_NUM(pretrain, mean_span, 1.0, 64.0, "mean length of a masked span, in ids"),
        BL_INT(pretrain, batch_size, 1, 1 << 16, "sequences per step"),
        BL_INT(pretrain, steps, 1, 1LL << 40, "planned optimizer steps (the schedule's length)"),
        BL_NUM_OPEN(pretrain, learning_rate, 0.0, 1e30, "peak learning rate (AdamW)"),
        BL_NUM(pretrain, weight_decay, 0.0, 10.0, "decoupled weight decay (AdamW)"),
        BL_INT(pretrain, lr_warmup_steps, 0, kSteps, "linear warm-up steps from 0"),
        BL_STR(pretrain, lr_schedule, (Strings{"cosine", "linear", "constant"}),
               "decay after warm-up to min_lr_ratio x peak"),
        BL_NUM(pretrain, min_lr_ratio, 0.0, 1.0, "final learning rate / peak"),
        BL_NUM(pretrain, grad_clip, 0.0, 1e9, "max global L2 norm of the gradients (0 = off)"),
        Key{"pretrain",
            "freeze_encoder_steps",
            Kind::kInt,
            0,
            kSteps,
            false,
            {},
            "with --init-from: steps that train only the prediction head (LP-FT; 0 = off)",
            BL_ACCESS(pretrain, freeze_encoder_steps),
            [](const ExperimentConfig& c) { return c.pretrain.freeze_encoder_steps == 0; }},
        BL_INT(pretrain, eval_every_steps, 1, kSteps,
               "held-out loss and a checkpoint every N steps"),
        BL_INT(pretrain, heldout_sequences, 1, 1 << 24, "held-out sequences evaluated"),
        Key{"pretrain",
            "heldout",
            Kind::kString,
            0,
            0,
            false,
            {},
            "held-out corpus file (none when absent)",
            BL_ACCESS(pretrain, heldout),
            [](const ExperimentConfig& c) { return c.pretrain.heldout.empty(); }},
        BL_INT(pretrain, shuffle_capacity, 1, 1 << 24, "documents in the shuffle buffer"),
        BL_INT(pretrain, seed, 0, 1LL << 62, "random seed"),
        BL_INT(pretrain, threads, 1, 1024, "intra-op threads"),
        // ---- top level ----
        Key{"", "task", Kind::kString, 0, 0, false, Strings{"classify", "seq2seq"},
            "classify (texts -> labels) or seq2seq (source -> target bytes)",
            [](const ExperimentConfig& c) { return json(c.task); },
            [](ExperimentConfig& c, const json& v) { c.task = v.get<std::string>(); }},
        // ---- seq2seq (task "seq2seq"; docs/seq2seq.md) ----
        Key{"seq2seq", "encoder", Kind::kString, 0, 0, false, encoder_names(),
            "transformer: configured here (width dim); qrnn or funnel: the \"model\" section's "
            "encoder",
            BL_ACCESS(seq2seq, encoder),
            [](const ExperimentConfig& c) { return seq2seq_encoder_in_section(c.seq2seq); }},
        BL_INT(seq2seq, dim, 1, kMaxWidth, "decoder width D (and built-in encoder width)"),
        BL_INT(seq2seq, num_heads, 1, kMaxHeads, "attention heads (a divisor of dim)"),
        BL_INT(seq2seq, intermediate_size, 1, kMaxIntermediate, "feed-forward width"),
        BL_INT(seq2seq, encoder_layers, 0, kMaxTransformerLayers, "built-in encoder layers"),
        BL_INT(seq2seq, decoder_layers, 1, kMaxTransformerLayers,
               "merged-attention decoder layers"),
        BL_INT(seq2seq, gbst_max_block_width, 1, kMaxGbstBlockWidth,
               "built-in encoder: GBST block widths 1..W"),
        BL_INT(seq2seq, gbst_conv_kernel_size, 1, kMaxKernel,
               "built-in encoder: GBST convolution width"),
        BL_INT(seq2seq, gbst_downsample_rate, 1, kMaxDownsample,
               "built-in encoder: GBST mean-pool rate"),
        BL_INT(seq2seq, max_source, 1, kMaxPositions, "source bytes (encoder position rows)"),
        BL_INT(seq2seq, max_target, 2, kMaxPositions,
               "decoder position rows (start id + target ids)"),
        BL_NUM(seq2seq, dropout, 0.0, 0.99, "dropout"),
        BL_NUM(seq2seq, label_smoothing, 0.0, 0.99, "label smoothing of the target bytes"),
        BL_INT(seq2seq, beam_size, 1, kMaxBeam, "beam width (stored in the model as default)"),
        BL_NUM(seq2seq, length_penalty, 0.0, 10.0,
               "GNMT length penalty alpha (stored in the model as default)"),
        BL_INT(seq2seq, eval_sources, 0, kSteps,
               "validation sources decoded with the int8 model at each evaluation"),
    };
    return v;
  }();
  return k;
}

#undef BL_ACCESS
#undef BL_ACCESS_GET
#undef BL_INT
#undef BL_NUM
#undef BL_NUM_OPEN
#undef BL_BOOL
#undef BL_STR

// The sections, in the order they are read (errors name the first bad key in this order).
const std::vector<std::string> kSections = {"data",  "tokenizer", "model",  "quantization",
                                            "train", "pretrain",  "seq2seq"};

// Reads the declared keys of one JSON object, rejecting unknown ones.
class Section {
 public:
  Section(const json& j, std::string prefix, std::string source)
      : j_(j), prefix_(std::move(prefix)), source_(std::move(source)) {
    if (!j_.is_object()) fail(prefix_.empty() ? "(top level)" : prefix_, "an object", j_);
  }

  [[noreturn]] void fail(const std::string& key, const std::string& expected,
                         const json& found) const {
    throw ConfigError(source_ + ": " + key + ": expected " + expected + ", found " +
                      type_name(found));
  }

  // Every declared key of this section that the object holds, validated and stored.
  void read_declared(ExperimentConfig& c) {
    for (const Key& k : keys()) {
      if (prefix_ != k.section) continue;
      seen_.insert(k.name);
      if (!j_.contains(k.name)) continue;
      const json& v = j_.at(k.name);
      if (!k.valid(v)) fail(k.path(), k.expected(), v);
      k.set(c, v);
    }
  }
  const json* sub(const std::string& k) {
    seen_.insert(k);
    return j_.contains(k) ? &j_.at(k) : nullptr;
  }
  void check_unknown() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.count(it.key())) {
        std::string known;
        for (auto& s : seen_) known += (known.empty() ? "" : ", ") + s;
        const std::string key = prefix_.empty() ? it.key() : prefix_ + "." + it.key();
        throw ConfigError(source_ + ": unknown key \"" + key + "\" (expected one of: " + known +
                          ")");
      }
    }
  }

 private:
  const json& j_;
  std::string prefix_, source_;
  std::set<std::string> seen_;
};

// Checks that involve several keys of a section (or of earlier sections), after it was read.
void check_section(const std::string& name, const ExperimentConfig& c, const json& j,
                   const Section& s) {
  const auto& mc = c.model;
  if (name == "model") {
    // the encoder kind's own checks (train/encoder_registry.h)
    train_encoder_unit(mc).check(
        mc, j, [&s](const std::string& key, const std::string& expected, const json& found) {
          s.fail(key, expected, found);
        });
  } else if (name == "train") {
    for (const char* k : {"distill_alpha", "distill_temperature"}) {
      if (c.train.distill_scores.empty() && j.contains(k)) {
        s.fail(std::string("train.") + k, "no value unless train.distill_scores names a file",
               j.at(k));
      }
    }
    if (!c.train.distill_unlabelled.empty()) {
      if (c.train.distill_scores.empty()) {
        s.fail("train.distill_unlabelled",
               "no value unless train.distill_scores names a file (the pool's teacher scores)",
               j.at("distill_unlabelled"));
      }
      if (c.train.distill_alpha == 1.0) {
        s.fail("train.distill_alpha",
               "a value below 1 with train.distill_unlabelled (at 1 the pool rows have no weight)",
               j.contains("distill_alpha") ? j.at("distill_alpha") : json(c.train.distill_alpha));
      }
    } else if (j.contains("distill_unlabelled_batch")) {
      s.fail("train.distill_unlabelled_batch",
             "no value unless train.distill_unlabelled names a file",
             j.at("distill_unlabelled_batch"));
    }
  } else if (name == "pretrain") {
    if (encoder_kind(mc).projection) {
      s.fail("model.encoder",
             "an encoder whose positions are bytes for masked-byte pretraining (not " + mc.encoder +
                 ": projection input, its positions are tokens)",
             json(mc.encoder));
    }
    if (encoder_kind(mc).attention && c.pretrain.seq_len > c.tokenizer.max_length) {
      s.fail("pretrain.seq_len",
             "at most tokenizer.max_length (" + std::to_string(c.tokenizer.max_length) +
                 ", the rows of the position embedding of the " + mc.encoder + " encoder)",
             json(c.pretrain.seq_len));
    }
  } else if (name == "seq2seq") {
    const auto& q = c.seq2seq;
    if (q.dim % q.num_heads != 0) {
      s.fail("seq2seq.num_heads", "a divisor of dim (" + std::to_string(q.dim) + ")",
             json(q.num_heads));
    }
    const EncoderKindInfo* qk = find_encoder_kind(q.encoder);
    if (qk != nullptr && qk->projection) {
      s.fail("seq2seq.encoder", "a byte encoder (the decoder attends to byte positions)",
             json(q.encoder));
    }
    if (qk != nullptr && qk->word_projection) {
      s.fail("seq2seq.encoder", "an encoder without word projection (not supported in seq2seq)",
             json(q.encoder));
    }
    if (!seq2seq_encoder_in_section(q)) {
      // the encoder configured by the "model" section
      if (find_encoder_kind(mc.encoder) != find_encoder_kind(q.encoder)) {
        s.fail("seq2seq.encoder",
               "the encoder of model.encoder (\"" + mc.encoder + "\"; set model.encoder to \"" +
                   q.encoder + "\" for this seq2seq encoder)",
               json(q.encoder));
      }
      if (mc.norm_position != "post") {
        s.fail("model.norm_position", "\"post\" for a seq2seq encoder", json(mc.norm_position));
      }
    }
  }
}

const Key* find_key(const std::string& section, const std::string& name) {
  for (const Key& k : keys())
    if (section == k.section && name == k.name) return &k;
  return nullptr;
}

}  // namespace

ExperimentConfig config_from_json(const json& j, const std::string& source) {
  ExperimentConfig c;
  Section top(j, "", source);
  for (const std::string& name : kSections) {
    if (name == "seq2seq") top.read_declared(c);  // "task" decides what seq2seq means
    const json* sj = top.sub(name);
    if (sj == nullptr) continue;
    Section s(*sj, name, source);
    s.read_declared(c);
    s.check_unknown();
    check_section(name, c, *sj, s);
    if (name == "pretrain") c.has_pretrain = true;
    if (name == "seq2seq" && !seq2seq_encoder_in_section(c.seq2seq)) {
      c.seq2seq.encoder_model = c.model;
    }
  }
  if (c.task == "seq2seq" && !j.contains("seq2seq")) {
    top.fail("seq2seq", "a \"seq2seq\" section (the model) when task is \"seq2seq\"", json());
  }
  // sections another task reads are errors, not silently ignored settings
  if (c.task == "seq2seq" && j.contains("tokenizer")) {
    top.fail("tokenizer",
             "no \"tokenizer\" section when task is \"seq2seq\" (seq2seq.max_source limits the "
             "source bytes)",
             j.at("tokenizer"));
  }
  if (c.task == "seq2seq" && seq2seq_encoder_in_section(c.seq2seq) && j.contains("model")) {
    top.fail("model",
             "no \"model\" section when task is \"seq2seq\" with seq2seq.encoder \"" +
                 c.seq2seq.encoder +
                 "\" (the seq2seq section describes the model; \"model\" configures "
                 "the other encoders)",
             j.at("model"));
  }
  if (c.task != "seq2seq" && j.contains("seq2seq")) {
    top.fail("seq2seq", "no \"seq2seq\" section unless task is \"seq2seq\"", j.at("seq2seq"));
  }
  top.sub("comment");  // free-form note, ignored
  top.check_unknown();
  return c;
}

json load_config_json(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw ConfigError(path + ": expected a readable JSON config file, found a directory");
  }
  std::ifstream in(path);
  if (!in) {
    throw ConfigError(path + ": expected a readable JSON config file, found one that cannot be " +
                      "opened (" + std::strerror(errno) + ")");
  }
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw ConfigError(path + ": expected valid JSON, found a syntax error (" +
                      escape_text(e.what()) + ")");
  }
}

ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  json j = load_config_json(path);
  for (const auto& o : overrides) apply_config_override(j, o);
  try {
    return config_from_json(j, path);
  } catch (const ConfigError& e) {
    // A bad value given by --set is the flag's error, not the file's: "<path>: <key>: ..."
    // becomes "--set <key>=...: ..." for the last override of that key.
    const std::string msg = e.what();
    for (auto o = overrides.rbegin(); o != overrides.rend(); ++o) {
      const std::string prefix = path + ": " + o->substr(0, o->find('=')) + ": ";
      if (msg.rfind(prefix, 0) == 0) {
        throw ConfigError("--set " + escape_text(*o, 120) + ": " + msg.substr(prefix.size()));
      }
    }
    throw;
  }
}

namespace {
// Levenshtein distance (insertions, deletions, substitutions), for "closest key" suggestions.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The declared key a mistyped one most likely meant, as "; closest key: K" (empty if none is
// close): one with the same name in another section ("epochs" -> "train.epochs"), else the
// nearest by edit distance (first in declaration order) if at most max(2, a third) of it differs.
std::string closest_key(const std::string& section, const std::string& name) {
  const std::string given = section.empty() ? name : section + "." + name;
  const Key* best = nullptr;
  size_t best_d = SIZE_MAX;
  for (const Key& k : keys()) {
    const size_t d = k.name == name ? 0 : edit_distance(given, k.path());
    if (d < best_d) best = &k, best_d = d;
  }
  if (best_d > std::max<size_t>(2, given.size() / 3)) return "";
  return "; closest key: " + best->path();
}
}  // namespace

void apply_config_override(json& j, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  const std::string key = assignment.substr(0, eq);
  const size_t dot = key.find('.');
  const std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
  const std::string name = dot == std::string::npos ? key : key.substr(dot + 1);
  const std::string shown = escape_text(assignment, 120);
  if (eq == std::string::npos) {
    throw InvalidArgument("--set: expected section.key=value, found '" + shown + "' (no '='" +
                          closest_key(section, name) + ")");
  }
  if (key.empty() || find_key(section, name) == nullptr) {
    throw InvalidArgument("--set: expected section.key=value with one of the " +
                          std::to_string(keys().size()) + " config keys (docs/config.md" +
                          closest_key(section, name) + "), found '" + shown + "'");
  }
  if (!is_valid_utf8(assignment)) {  // the JSON library would refuse it later, less clearly
    throw InvalidArgument("--set " + shown +
                          ": expected a value in UTF-8, found bytes that are not");
  }
  const std::string text = assignment.substr(eq + 1);
  // JSON if it parses (3, 0.5, true, ["a","b"], "x"), otherwise the bare text as a string
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;
  if (!j.is_object()) j = json::object();
  if (section.empty()) {
    j[name] = value;
  } else {
    if (!j.contains(section) || !j.at(section).is_object()) j[section] = json::object();
    j[section][name] = value;
  }
}

json config_to_json(const ExperimentConfig& c) {
  const bool seq2seq = c.task == "seq2seq";
  auto section_written = [&](const std::string& s) {
    if (s == "tokenizer") return !seq2seq;
    if (s == "model") return !(seq2seq && seq2seq_encoder_in_section(c.seq2seq));
    if (s == "pretrain") return c.has_pretrain;
    if (s == "seq2seq" || s.empty()) return seq2seq;  // top level: "task"
    return true;
  };
  json j;
  for (const Key& k : keys()) {
    if (!section_written(k.section) || (k.omit && k.omit(c))) continue;
    if (*k.section) {
      j[k.section][k.name] = k.get(c);
    } else {
      j[k.name] = k.get(c);
    }
  }
  return j;
}

std::vector<ConfigKeyDoc> config_key_docs() {
  const ExperimentConfig defaults;
  std::vector<ConfigKeyDoc> out;
  for (const Key& k : keys()) {
    ConfigKeyDoc d;
    d.section = k.section;
    d.name = k.name;
    d.default_value = k.get(defaults).dump();
    d.range = k.expected();
    d.doc = k.doc;
    out.push_back(std::move(d));
  }
  return out;
}

std::string config_keys_runtime_table() {
  auto quoted = [](const std::string& t) {
    std::string q = "\"";
    for (char ch : t) {
      if (ch == '"' || ch == '\\') q += '\\';
      q += ch;
    }
    return q + "\"";
  };
  std::string out =
      "// Generated from the config-key declaration (src/train/config.cc) for the runtime half,\n"
      "// which has no libtorch: section, key and one-line doc of every key, in declaration "
      "order.\n"
      "// Do not edit: BYTELITE_UPDATE_DOCS=1 ctest -R ConfigKeys rewrites it (test\n"
      "// ConfigKeys.RuntimeTableIsTheDeclaration).\n";
  for (const ConfigKeyDoc& d : config_key_docs()) {
    out += "{" + quoted(d.section) + ", " + quoted(d.name) + ", " + quoted(d.doc) + "},\n";
  }
  return out;
}

std::string config_keys_markdown() {
  std::string md = "| key | default | valid values | meaning |\n|---|---|---|---|\n";
  for (const ConfigKeyDoc& d : config_key_docs()) {
    std::string range = d.range, doc = d.doc;
    for (std::string* cell : {&range, &doc})  // a table cell holds no '|'
      for (char& ch : *cell)
        if (ch == '|') ch = '/';
    md += "| `" + (d.section.empty() ? d.name : d.section + "." + d.name) + "` | `" +
          d.default_value + "` | " + range + " | " + doc + " |\n";
  }
  return md;
}

}  // namespace bytelite
