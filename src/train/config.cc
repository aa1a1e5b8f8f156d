#include "train/config.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "core/errors.h"

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

// Reads keys of one JSON object, checking types and ranges, and rejecting unknown keys.
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
  std::string key(const std::string& k) const { return prefix_.empty() ? k : prefix_ + "." + k; }

  void get_int(const std::string& k, int& out, long lo, long hi) {
    long v = out;
    get_long(k, v, lo, hi);
    out = static_cast<int>(v);
  }
  void get_long(const std::string& k, long& out, long lo, long hi) {
    seen_.insert(k);
    if (!j_.contains(k)) return;
    const json& v = j_.at(k);
    std::string exp = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (!v.is_number_integer()) fail(key(k), exp, v);
    long x = v.get<long>();
    if (x < lo || x > hi) fail(key(k), exp, v);
    out = x;
  }
  void get_ulong(const std::string& k, unsigned long& out) {
    long v = static_cast<long>(out);
    get_long(k, v, 0, (1L << 62));
    out = static_cast<unsigned long>(v);
  }
  void get_double(const std::string& k, double& out, double lo, double hi, bool lo_open = false) {
    seen_.insert(k);
    if (!j_.contains(k)) return;
    const json& v = j_.at(k);
    std::string exp =
        std::string("a number in ") + (lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + "]";
    if (!v.is_number()) fail(key(k), exp, v);
    double x = v.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi || (lo_open && x == lo)) fail(key(k), exp, v);
    out = x;
  }
  void get_bool(const std::string& k, bool& out) {
    seen_.insert(k);
    if (!j_.contains(k)) return;
    const json& v = j_.at(k);
    if (!v.is_boolean()) fail(key(k), "true or false", v);
    out = v.get<bool>();
  }
  void get_string(const std::string& k, std::string& out, const std::vector<std::string>& allowed) {
    seen_.insert(k);
    if (!j_.contains(k)) return;
    const json& v = j_.at(k);
    std::string exp = "one of";
    for (auto& a : allowed) exp += " \"" + a + "\"";
    if (allowed.empty()) exp = "a non-empty string";
    if (!v.is_string() || v.get<std::string>().empty()) fail(key(k), exp, v);
    std::string s = v.get<std::string>();
    if (!allowed.empty()) {
      bool ok = false;
      for (auto& a : allowed) ok = ok || a == s;
      if (!ok) fail(key(k), exp, v);
    }
    out = s;
  }
  void get_string_list(const std::string& k, std::vector<std::string>& out) {
    seen_.insert(k);
    if (!j_.contains(k)) return;
    const json& v = j_.at(k);
    if (v.is_string()) {
      out = {v.get<std::string>()};
      return;
    }
    if (!v.is_array() || v.empty()) fail(key(k), "a string or a non-empty array of strings", v);
    out.clear();
    for (auto& e : v) {
      if (!e.is_string()) fail(key(k), "an array of strings", v);
      out.push_back(e.get<std::string>());
    }
  }
  void get_double_list(const std::string& k, std::vector<double>& out) {
    seen_.insert(k);
    if (!j_.contains(k)) return;
    const json& v = j_.at(k);
    if (!v.is_array()) fail(key(k), "an array of positive numbers", v);
    out.clear();
    for (auto& e : v) {
      if (!e.is_number() || !(e.get<double>() > 0)) fail(key(k), "an array of positive numbers", v);
      out.push_back(e.get<double>());
    }
  }
  void get_int_list(const std::string& k, std::vector<int>& out, int lo, int hi) {
    seen_.insert(k);
    if (!j_.contains(k)) return;
    const json& v = j_.at(k);
    const std::string exp =
        "an array of integers in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    if (!v.is_array()) fail(key(k), exp, v);
    out.clear();
    for (auto& e : v) {
      if (!e.is_number_integer() || e.get<long>() < lo || e.get<long>() > hi) fail(key(k), exp, v);
      out.push_back(e.get<int>());
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
        throw ConfigError(source_ + ": unknown key \"" + key(it.key()) +
                          "\" (expected one of: " + known + ")");
      }
    }
  }

 private:
  static std::string num(double x) {
    std::ostringstream s;
    s << x;
    return s.str();
  }
  const json& j_;
  std::string prefix_, source_;
  std::set<std::string> seen_;
};

}  // namespace

ExperimentConfig config_from_json(const json& j, const std::string& source) {
  ExperimentConfig c;
  Section top(j, "", source);
  if (const json* d = top.sub("data")) {
    Section s(*d, "data", source);
    std::string fmt = "auto";
    s.get_string("format", fmt, {"auto", "tsv", "csv", "jsonl"});
    c.data.format = fmt == "tsv"     ? DataFormat::kTsv
                    : fmt == "csv"   ? DataFormat::kCsv
                    : fmt == "jsonl" ? DataFormat::kJsonl
                                     : DataFormat::kAuto;
    s.get_string("text_column", c.data.text_column, {});
    s.get_string_list("label_columns", c.data.label_columns);
    s.get_bool("skip_bad_rows", c.data.skip_bad_rows);
    s.check_unknown();
  }
  if (const json* t = top.sub("tokenizer")) {
    Section s(*t, "tokenizer", source);
    s.get_int("max_length", c.max_length, 1, 1 << 20);
    s.get_bool("lowercase_ascii", c.lowercase_ascii);
    s.check_unknown();
  }
  if (const json* m = top.sub("model")) {
    Section s(*m, "model", source);
    auto& mc = c.model;
    s.get_string("encoder", mc.encoder, {"qrnn", "transformer", "funnel"});
    s.get_int("embedding_size", mc.embedding_size, 1, 4096);
    s.get_int("bottleneck_size", mc.bottleneck_size, 1, 4096);
    s.get_int("gbst_max_block_width", mc.gbst_max_block_width, 1, 16);
    s.get_int("gbst_conv_kernel_size", mc.gbst_conv_kernel_size, 1, 63);
    s.get_int("gbst_downsample_rate", mc.gbst_downsample_rate, 1, 16);
    s.get_int("qrnn_state_size", mc.qrnn_state_size, 1, 4096);
    s.get_int("qrnn_kernel_width", mc.qrnn_kernel_width, 1, 63);
    s.get_int("qrnn_layers", mc.qrnn_layers, 1, 16);
    s.get_double("qrnn_zoneout", mc.qrnn_zoneout, 0, 0.99);
    s.get_int("transformer_layers", mc.transformer_layers, 1, 32);
    s.get_int("num_heads", mc.num_heads, 1, 64);
    s.get_int("intermediate_size", mc.intermediate_size, 1, 16384);
    s.get_int_list("pool_windows", mc.pool_windows, 1, 16);
    s.get_string("attention_scale", mc.attention_scale, {"sqrt", "none"});
    s.get_string("layer_norm", mc.layer_norm, {"channel", "scalar"});
    s.get_string("norm_position", mc.norm_position, {"post", "pre"});
    s.get_string("pooling", mc.pooling, {"attention", "attention_max"});
    s.get_double("dropout", mc.dropout, 0, 0.99);
    s.check_unknown();
    if (mc.encoder != "qrnn" && mc.bottleneck_size % mc.num_heads != 0) {
      s.fail("model.num_heads",
             "a divisor of bottleneck_size (the model width, " +
                 std::to_string(mc.bottleneck_size) + ")",
             json(mc.num_heads));
    }
    if (mc.encoder == "funnel") {
      if (static_cast<int>(mc.pool_windows.size()) != mc.transformer_layers) {
        s.fail("model.pool_windows",
               "one window per layer (" + std::to_string(mc.transformer_layers) + " values)",
               m->contains("pool_windows") ? m->at("pool_windows") : json());
      }
    } else if (!mc.pool_windows.empty()) {
      s.fail("model.pool_windows", "no pool_windows unless encoder is \"funnel\"",
             m->at("pool_windows"));
    }
    if (mc.encoder == "funnel" && mc.norm_position == "pre") {
      s.fail("model.norm_position", "\"post\" for the funnel encoder", json("pre"));
    }
  }
  if (const json* q = top.sub("quantization")) {
    Section s(*q, "quantization", source);
    s.get_bool("enabled", c.quant.enabled);
    s.get_double("ema_decay", c.quant.ema_decay, 0, 1);
    s.get_int("warmup_steps", c.quant.warmup_steps, 0, 1 << 30);
    s.check_unknown();
  }
  if (const json* t = top.sub("train")) {
    Section s(*t, "train", source);
    auto& tc = c.train;
    s.get_int("batch_size", tc.batch_size, 1, 1 << 16);
    s.get_int("epochs", tc.epochs, 1, 1 << 20);
    s.get_long("max_steps", tc.max_steps, 0, 1L << 40);
    s.get_double("learning_rate", tc.learning_rate, 0, 1e30, true);
    s.get_double("weight_decay", tc.weight_decay, 0, 10);
    s.get_double("adam_beta1", tc.adam_beta1, 0, 0.999999);
    s.get_double("adam_beta2", tc.adam_beta2, 0, 0.999999);
    s.get_double("adam_eps", tc.adam_eps, 0, 1, true);
    s.get_int("lr_warmup_steps", tc.lr_warmup_steps, 0, 1 << 30);
    s.get_string("lr_schedule", tc.lr_schedule, {"cosine", "linear", "constant", "cosine_clamped"});
    s.get_double("min_lr_ratio", tc.min_lr_ratio, 0, 1);
    s.get_double("grad_clip", tc.grad_clip, 0, 1e9);
    s.get_string("class_weights", tc.class_weights, {"none", "balanced"});
    s.get_double_list("class_weight_values", tc.class_weight_values);
    s.get_int("eval_every_steps", tc.eval_every_steps, 0, 1 << 30);
    s.get_bool("bucket_by_length", tc.bucket_by_length);
    s.get_int("early_stopping_patience", tc.early_stopping_patience, 0, 1 << 20);
    s.get_int("freeze_encoder_steps", tc.freeze_encoder_steps, 0, 1 << 30);
    s.get_string("metric", tc.metric, {"macro_f1", "roc_auc"});
    s.get_ulong("seed", tc.seed);
    s.get_int("threads", tc.threads, 1, 1024);
    s.check_unknown();
  }
  if (const json* t = top.sub("pretrain")) {
    Section s(*t, "pretrain", source);
    auto& pc = c.pretrain;
    c.has_pretrain = true;
    s.get_int("seq_len", pc.seq_len, 8, 1 << 16);
    s.get_double("mask_rate", pc.mask_rate, 0, 0.5, true);
    s.get_double("mean_span", pc.mean_span, 1, 64);
    s.get_int("batch_size", pc.batch_size, 1, 1 << 16);
    s.get_long("steps", pc.steps, 1, 1L << 40);
    s.get_double("learning_rate", pc.learning_rate, 0, 1e30, true);
    s.get_double("weight_decay", pc.weight_decay, 0, 10);
    s.get_int("lr_warmup_steps", pc.lr_warmup_steps, 0, 1 << 30);
    s.get_string("lr_schedule", pc.lr_schedule, {"cosine", "linear", "constant"});
    s.get_double("min_lr_ratio", pc.min_lr_ratio, 0, 1);
    s.get_double("grad_clip", pc.grad_clip, 0, 1e9);
    s.get_int("eval_every_steps", pc.eval_every_steps, 1, 1 << 30);
    s.get_int("heldout_sequences", pc.heldout_sequences, 1, 1 << 24);
    s.get_string("heldout", pc.heldout, {});
    s.get_int("shuffle_capacity", pc.shuffle_capacity, 1, 1 << 24);
    s.get_ulong("seed", pc.seed);
    s.get_int("threads", pc.threads, 1, 1024);
    s.check_unknown();
    if (c.model.encoder != "qrnn" && pc.seq_len > c.max_length) {
      s.fail("pretrain.seq_len",
             "at most tokenizer.max_length (" + std::to_string(c.max_length) +
                 ", the rows of the position embedding of the " + c.model.encoder + " encoder)",
             json(pc.seq_len));
    }
  }
  top.get_string("task", c.task, {"classify", "seq2seq"});
  if (const json* t = top.sub("seq2seq")) {
    Section s(*t, "seq2seq", source);
    auto& q = c.seq2seq;
    s.get_string("encoder", q.encoder, {"transformer", "qrnn", "funnel"});
    s.get_long("dim", q.dim, 1, 4096);
    s.get_long("num_heads", q.heads, 1, 64);
    s.get_long("intermediate_size", q.intermediate, 1, 16384);
    s.get_long("encoder_layers", q.encoder_layers, 0, 32);
    s.get_long("decoder_layers", q.decoder_layers, 1, 32);
    s.get_long("gbst_max_block_width", q.gbst_max_block_width, 1, 16);
    s.get_long("gbst_conv_kernel_size", q.gbst_conv_kernel, 1, 63);
    s.get_long("gbst_downsample_rate", q.gbst_downsample_rate, 1, 16);
    s.get_long("max_source", q.max_source, 1, 1 << 16);
    s.get_long("max_target", q.max_target, 2, 1 << 16);
    s.get_double("dropout", q.dropout, 0, 0.99);
    s.get_double("label_smoothing", q.label_smoothing, 0, 0.99);
    s.get_int("beam_size", q.beam_size, 1, 1024);
    s.get_double("length_penalty", q.length_penalty, 0, 10);
    s.get_int("eval_sources", q.eval_sources, 0, 1 << 30);
    s.check_unknown();
    if (q.dim % q.heads != 0) {
      s.fail("seq2seq.num_heads", "a divisor of dim (" + std::to_string(q.dim) + ")",
             json(q.heads));
    }
    if (q.encoder != "transformer") {
      // the classifier's encoder, configured by the "model" section
      if (c.model.encoder != q.encoder) {
        s.fail("seq2seq.encoder",
               "the encoder of model.encoder (\"" + c.model.encoder +
                   "\"; set model.encoder to \"" + q.encoder + "\" for this seq2seq encoder)",
               json(q.encoder));
      }
      if (c.model.norm_position != "post") {
        s.fail("model.norm_position", "\"post\" for a seq2seq encoder",
               json(c.model.norm_position));
      }
      q.encoder_model = c.model;
    }
  } else if (c.task == "seq2seq") {
    top.fail("seq2seq", "a \"seq2seq\" section (the model) when task is \"seq2seq\"", json());
  }
  // sections another task reads are errors, not silently ignored settings
  if (c.task == "seq2seq" && j.contains("tokenizer")) {
    top.fail("tokenizer",
             "no \"tokenizer\" section when task is \"seq2seq\" (seq2seq.max_source limits the "
             "source bytes)",
             j.at("tokenizer"));
  }
  if (c.task == "seq2seq" && c.seq2seq.encoder == "transformer" && j.contains("model")) {
    top.fail("model",
             "no \"model\" section when task is \"seq2seq\" with seq2seq.encoder \"transformer\" "
             "(the seq2seq section describes the model; \"model\" configures a \"qrnn\" or "
             "\"funnel\" encoder)",
             j.at("model"));
  }
  if (c.task != "seq2seq" && j.contains("seq2seq")) {
    top.fail("seq2seq", "no \"seq2seq\" section unless task is \"seq2seq\"", j.at("seq2seq"));
  }
  top.sub("comment");  // free-form note, ignored
  top.check_unknown();
  return c;
}

ExperimentConfig load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot open config file '" + path + "'");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw ConfigError(path + ": expected valid JSON, found a syntax error (" + e.what() + ")");
  }
  return config_from_json(j, path);
}

json config_to_json(const ExperimentConfig& c) {
  json j;
  const char* fmt = c.data.format == DataFormat::kTsv     ? "tsv"
                    : c.data.format == DataFormat::kCsv   ? "csv"
                    : c.data.format == DataFormat::kJsonl ? "jsonl"
                                                          : "auto";
  j["data"] = {{"format", fmt},
               {"text_column", c.data.text_column},
               {"label_columns", c.data.label_columns},
               {"skip_bad_rows", c.data.skip_bad_rows}};
  const bool seq2seq = c.task == "seq2seq";
  if (!seq2seq) {
    j["tokenizer"] = {{"max_length", c.max_length}, {"lowercase_ascii", c.lowercase_ascii}};
  }
  const auto& m = c.model;
  j["model"] = {{"encoder", m.encoder},
                {"embedding_size", m.embedding_size},
                {"bottleneck_size", m.bottleneck_size},
                {"gbst_max_block_width", m.gbst_max_block_width},
                {"gbst_conv_kernel_size", m.gbst_conv_kernel_size},
                {"gbst_downsample_rate", m.gbst_downsample_rate},
                {"qrnn_state_size", m.qrnn_state_size},
                {"qrnn_kernel_width", m.qrnn_kernel_width},
                {"qrnn_layers", m.qrnn_layers},
                {"qrnn_zoneout", m.qrnn_zoneout},
                {"transformer_layers", m.transformer_layers},
                {"num_heads", m.num_heads},
                {"intermediate_size", m.intermediate_size},
                {"attention_scale", m.attention_scale},
                {"layer_norm", m.layer_norm},
                {"norm_position", m.norm_position},
                {"pooling", m.pooling},
                {"dropout", m.dropout}};
  if (!m.pool_windows.empty()) j["model"]["pool_windows"] = m.pool_windows;
  if (seq2seq && c.seq2seq.encoder == "transformer") j.erase("model");
  j["quantization"] = {{"enabled", c.quant.enabled},
                       {"ema_decay", c.quant.ema_decay},
                       {"warmup_steps", c.quant.warmup_steps}};
  const auto& t = c.train;
  j["train"] = {{"batch_size", t.batch_size},
                {"epochs", t.epochs},
                {"max_steps", t.max_steps},
                {"learning_rate", t.learning_rate},
                {"weight_decay", t.weight_decay},
                {"adam_beta1", t.adam_beta1},
                {"adam_beta2", t.adam_beta2},
                {"adam_eps", t.adam_eps},
                {"lr_warmup_steps", t.lr_warmup_steps},
                {"lr_schedule", t.lr_schedule},
                {"min_lr_ratio", t.min_lr_ratio},
                {"grad_clip", t.grad_clip},
                {"class_weights", t.class_weights},
                {"class_weight_values", t.class_weight_values},
                {"eval_every_steps", t.eval_every_steps},
                {"bucket_by_length", t.bucket_by_length},
                {"early_stopping_patience", t.early_stopping_patience},
                {"freeze_encoder_steps", t.freeze_encoder_steps},
                {"metric", t.metric},
                {"seed", t.seed},
                {"threads", t.threads}};
  if (c.task == "seq2seq") {
    const auto& q = c.seq2seq;
    j["task"] = c.task;
    j["seq2seq"] = {{"dim", q.dim},
                    {"num_heads", q.heads},
                    {"intermediate_size", q.intermediate},
                    {"encoder_layers", q.encoder_layers},
                    {"decoder_layers", q.decoder_layers},
                    {"gbst_max_block_width", q.gbst_max_block_width},
                    {"gbst_conv_kernel_size", q.gbst_conv_kernel},
                    {"gbst_downsample_rate", q.gbst_downsample_rate},
                    {"max_source", q.max_source},
                    {"max_target", q.max_target},
                    {"dropout", q.dropout},
                    {"label_smoothing", q.label_smoothing},
                    {"beam_size", q.beam_size},
                    {"length_penalty", q.length_penalty},
                    {"eval_sources", q.eval_sources}};
    if (q.encoder != "transformer") j["seq2seq"]["encoder"] = q.encoder;
  }
  if (c.has_pretrain) {
    const auto& p = c.pretrain;
    j["pretrain"] = {{"seq_len", p.seq_len},
                     {"mask_rate", p.mask_rate},
                     {"mean_span", p.mean_span},
                     {"batch_size", p.batch_size},
                     {"steps", p.steps},
                     {"learning_rate", p.learning_rate},
                     {"weight_decay", p.weight_decay},
                     {"lr_warmup_steps", p.lr_warmup_steps},
                     {"lr_schedule", p.lr_schedule},
                     {"min_lr_ratio", p.min_lr_ratio},
                     {"grad_clip", p.grad_clip},
                     {"eval_every_steps", p.eval_every_steps},
                     {"heldout_sequences", p.heldout_sequences},
                     {"shuffle_capacity", p.shuffle_capacity},
                     {"seed", p.seed},
                     {"threads", p.threads}};
    if (!p.heldout.empty()) j["pretrain"]["heldout"] = p.heldout;
  }
  return j;
}

}  // namespace bytelite
