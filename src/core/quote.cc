#include "core/quote.h"

#include "runtime/ops/projection.h"

namespace bytelite {

std::string quote_text(std::string_view s, size_t max_bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = rt::utf8_char_length(s, i);  // 1 for ASCII and for an invalid byte
    if (i + len > max_bytes) break;
    if (len > 1) {
      out.append(s.data() + i, len);
    } else if (c == '"' || c == '\\') {
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
  out += i < s.size() ? "\"..." : "\"";
  return out;
}

}  // namespace bytelite
