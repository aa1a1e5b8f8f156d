// Quoting user text inside one-line error messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bytelite {

/// `s` as a double-quoted, one-line, valid UTF-8 string for an error message: `"` and `\` are
/// backslash-escaped, tab / LF / CR become \t \n \r, other control bytes (< 0x20, 0x7F) and every
/// byte that is not part of a valid UTF-8 sequence become \xNN; valid multi-byte characters are
/// kept. At most `max_bytes` bytes of `s` are shown, cut at a character boundary, with "..."
/// after the closing quote when cut.
std::string quote_text(std::string_view s, size_t max_bytes = 60);

/// The same escaping without the quotes (and without escaping `"` and `\`), for text that is
/// already part of a message, such as a parser's own error text or a command-line argument:
/// control bytes and bytes that are not valid UTF-8 become \xNN (tab / LF / CR: \t \n \r).
/// At most `max_bytes` bytes of `s`, cut at a character boundary, then "..." when cut.
std::string escape_text(std::string_view s, size_t max_bytes = 400);

/// True when `s` is valid UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace bytelite
