#include "core/quote.h"

#include "runtime/ops/projection.h"

namespace bytelite {

namespace {

// s's first bytes (at most max_bytes, at a character boundary) escaped into out; returns the
// number of bytes of s consumed.
size_t escape_into(std::string& out, std::string_view s, size_t max_bytes, bool quotes) {
  static const char* kHex = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = rt::utf8_char_length(s, i);  // 1 for ASCII and for an invalid byte
    if (i + len > max_bytes) break;
    if (len > 1) {
      out.append(s.data() + i, len);
    } else if (quotes && (c == '"' || c == '\\')) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7F) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
    i += len;
  }
  return i;
}

}  // namespace

std::string quote_text(std::string_view s, size_t max_bytes) {
  std::string out = "\"";
  const size_t used = escape_into(out, s, max_bytes, true);
  out += used < s.size() ? "\"..." : "\"";
  return out;
}

std::string escape_text(std::string_view s, size_t max_bytes) {
  std::string out;
  if (escape_into(out, s, max_bytes, false) < s.size()) out += "...";
  return out;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = rt::utf8_char_length(s, i);
    if (len == 1 && static_cast<unsigned char>(s[i]) >= 0x80) return false;
    i += len;
  }
  return true;
}

}  // namespace bytelite
