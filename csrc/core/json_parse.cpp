// The JSON parser behind json::parse() (see json.h for the rules it enforces).
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>

#include "core/json.h"
#include "core/status.h"

namespace argus::json {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Status::Bundle, message); }

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of the UTF-8 sequence starting at text[i] if it is valid, else 0 and *reason
// says why, in the words of Python's decoder.
size_t utf8_sequence_length(std::string_view text, size_t i, const char** reason) noexcept {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    *reason = "invalid start byte";
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= text.size()) {
      *reason = "unexpected end of data";
      return 0;
    }
    const uint8_t min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
    if (byte(i + k) < min || byte(i + k) > max) {
      *reason = "invalid continuation byte";
      return 0;
    }
  }
  return len;
}

// Appends code point `cp` (< 0x110000; surrogates too, as WTF-8) in UTF-8.
void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decimal exponent of the leading significant digit of a JSON number (v ~ 10^result);
// used only to tell overflow from underflow, so the exponent is clamped.
int64_t decimal_exponent(std::string_view number) {
  size_t i = number[0] == '-' ? 1 : 0;
  int64_t lead = 0;
  bool found = false;
  const size_t int_start = i;
  while (i < number.size() && is_digit(number[i])) ++i;
  const size_t nonzero = number.find_first_not_of('0', int_start);
  if (nonzero < i) {
    lead = static_cast<int64_t>(i - nonzero) - 1;
    found = true;
  }
  if (i < number.size() && number[i] == '.') {
    const size_t frac = ++i;
    while (i < number.size() && is_digit(number[i])) ++i;
    const size_t first = number.find_first_not_of('0', frac);
    if (!found && first < i) lead = -static_cast<int64_t>(first - frac) - 1;
  }
  int64_t exponent = 0;
  if (i < number.size()) {  // 'e' or 'E'
    const bool negative = number[++i] == '-';
    if (number[i] == '-' || number[i] == '+') ++i;
    for (; i < number.size(); ++i) {
      exponent = std::min<int64_t>(exponent * 10 + (number[i] - '0'), int64_t{1} << 40);
    }
    if (negative) exponent = -exponent;
  }
  return lead + exponent;
}

}  // namespace

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::unique_ptr<const Value> run() {
    if (text_.size() > std::numeric_limits<uint32_t>::max()) {
      fail("JSON text is larger than 4 GiB");
    }
    const char* reason = "";
    const size_t bad = find_invalid_utf8(text_, &reason);
    if (bad != std::string_view::npos) {
      char buf[120];
      std::snprintf(buf, sizeof buf,
                    "invalid UTF-8: can't decode byte 0x%02x in position %zu: %s",
                    static_cast<unsigned>(static_cast<uint8_t>(text_[bad])), bad, reason);
      fail(buf);
    }
    if (text_.substr(0, 3) == "\xef\xbb\xbf") error("Unexpected UTF-8 BOM", 0);
    auto root = std::make_unique<Value>();
    skip_ws();
    parse_value(*root, 0);
    skip_ws();
    if (pos_ != text_.size()) error("Extra data", pos_);
    link(*root);
    return root;
  }

 private:
  // Throws "<what>: line L column C (char N)" like Python's json module: N counts code
  // points from the start of the text, C from the start of the line.
  [[noreturn]] void error(const std::string& what, size_t at) const {
    size_t line = 1, column = 1, chars = 0;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      if ((static_cast<uint8_t>(text_[i]) & 0xC0) == 0x80) continue;  // continuation byte
      ++chars;
      ++column;
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      }
    }
    fail(what + ": line " + std::to_string(line) + " column " + std::to_string(column) +
         " (char " + std::to_string(chars) + ")");
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_ws() {
    while (pos_ < text_.size() && is_ws(text_[pos_])) ++pos_;
  }

  void parse_value(Value& out, int depth) {
    switch (peek()) {
      case '{': return parse_object(out, depth + 1);
      case '[': return parse_array(out, depth + 1);
      case '"':
        out.type_ = Type::String;
        return parse_string(out.string_);
      default: break;
    }
    if (peek() == '-' || is_digit(peek())) return parse_number(out);
    parse_literal(out);
  }

  void parse_literal(Value& out) {
    const std::string_view rest = text_.substr(pos_);
    const auto starts = [&](std::string_view word) { return rest.substr(0, word.size()) == word; };
    if (starts("true") || starts("false")) {
      out.type_ = Type::Bool;
      out.bool_ = starts("true");
      pos_ += out.bool_ ? 4 : 5;
    } else if (starts("null")) {
      out.type_ = Type::Null;
      pos_ += 4;
    } else if (starts("NaN") || starts("Infinity")) {
      error(std::string(starts("NaN") ? "NaN" : "Infinity") + " is not a JSON value", pos_);
    } else {
      error("Expecting value", pos_);
    }
  }

  void check_depth(int depth) const {
    if (depth > kMaxDepth) {
      error("nested too deeply (more than " + std::to_string(kMaxDepth) +
                " levels of arrays and objects)",
            pos_);
    }
  }

  void parse_array(Value& out, int depth) {
    check_depth(depth);
    out.type_ = Type::Array;
    ++pos_;  // '['
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      return;
    }
    for (;;) {
      out.items_.emplace_back();
      parse_value(out.items_.back(), depth);
      skip_ws();
      if (peek() == ']') {
        ++pos_;
        return;
      }
      if (peek() != ',') error("Expecting ',' delimiter", pos_);
      ++pos_;
      skip_ws();
    }
  }

  void parse_object(Value& out, int depth) {
    check_depth(depth);
    const size_t start = pos_;
    out.type_ = Type::Object;
    ++pos_;  // '{'
    skip_ws();
    if (peek() == '}') {
      ++pos_;
      return;
    }
    for (;;) {
      if (peek() != '"') error("Expecting property name enclosed in double quotes", pos_);
      out.keys_.emplace_back();
      parse_string(out.keys_.back());
      skip_ws();
      if (peek() != ':') error("Expecting ':' delimiter", pos_);
      ++pos_;
      skip_ws();
      out.items_.emplace_back();
      parse_value(out.items_.back(), depth);
      skip_ws();
      if (peek() == '}') break;
      if (peek() != ',') error("Expecting ',' delimiter", pos_);
      ++pos_;
      skip_ws();
    }
    ++pos_;
    index_keys(out, start);
  }

  // Sorts the member indices by key (for find()) and refuses duplicate keys.
  void index_keys(Value& obj, size_t start) const {
    const std::vector<std::string>& keys = obj.keys_;
    obj.sorted_.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) obj.sorted_[i] = static_cast<uint32_t>(i);
    std::stable_sort(obj.sorted_.begin(), obj.sorted_.end(),
                     [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
    for (size_t i = 1; i < keys.size(); ++i) {
      if (keys[obj.sorted_[i]] == keys[obj.sorted_[i - 1]]) {
        error("duplicate key " + quote(keys[obj.sorted_[i]]) + " in the object at", start);
      }
    }
  }

  uint32_t parse_hex4(size_t at) const {
    if (text_.size() - at < 4) error("Invalid \\uXXXX escape", at);
    uint32_t v = 0;
    for (size_t i = at; i < at + 4; ++i) {
      const char c = text_[i];
      const int d = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                          : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) error("Invalid \\uXXXX escape", at);
      v = v * 16 + static_cast<uint32_t>(d);
    }
    return v;
  }

  // A \u escape at pos_ (just after the backslash's 'u'); combines surrogate pairs.
  void parse_unicode_escape(std::string& out) {
    uint32_t cp = parse_hex4(pos_);
    pos_ += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF && text_.substr(pos_, 2) == "\\u") {
      const uint32_t low = parse_hex4(pos_ + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        pos_ += 6;
      }
    }
    append_utf8(out, cp);
  }

  void parse_escape(std::string& out) {
    const size_t at = pos_ - 1;  // the backslash
    if (pos_ >= text_.size()) error("Unterminated string", at);
    const char c = text_[pos_++];
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': parse_unicode_escape(out); break;
      default: error("Invalid \\escape", at);
    }
  }

  void parse_string(std::string& out) {
    const size_t start = pos_++;  // the opening quote
    for (;;) {
      size_t run = pos_;
      while (run < text_.size() && text_[run] != '"' && text_[run] != '\\' &&
             static_cast<uint8_t>(text_[run]) >= 0x20) {
        ++run;
      }
      out.append(text_.data() + pos_, run - pos_);
      pos_ = run;
      if (pos_ >= text_.size()) error("Unterminated string starting at", start);
      const char c = text_[pos_++];
      if (c == '"') return;
      if (c == '\\') {
        parse_escape(out);
      } else {
        error("Invalid control character at", pos_ - 1);
      }
    }
  }

  void parse_number(Value& out);
  void link(Value& v);

  std::string_view text_;
  size_t pos_ = 0;
};

// RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
void Parser::parse_number(Value& out) {
  const size_t start = pos_;
  if (peek() == '-') ++pos_;
  if (peek() == '0') {
    ++pos_;
  } else if (is_digit(peek())) {
    while (is_digit(peek())) ++pos_;
  } else {
    error(text_.substr(pos_, 8) == "Infinity" ? "-Infinity is not a JSON value"
                                              : "Expecting value",
          start);
  }
  const size_t int_end = pos_;
  if (peek() == '.' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1])) {
    pos_ += 2;
    while (is_digit(peek())) ++pos_;
  }
  if (peek() == 'e' || peek() == 'E') {
    size_t e = pos_ + 1;
    if (e < text_.size() && (text_[e] == '+' || text_[e] == '-')) ++e;
    if (e < text_.size() && is_digit(text_[e])) {
      while (e < text_.size() && is_digit(text_[e])) ++e;
      pos_ = e;
    }
  }
  out.type_ = Type::Number;
  out.integral_ = pos_ == int_end;
  const char* first = text_.data() + start;
  const char* last = text_.data() + pos_;
  if (out.integral_) {
    int64_t v = 0;
    const auto r = std::from_chars(first, last, v);
    out.fits_int64_ = r.ec == std::errc() && r.ptr == last;
    out.int_ = out.fits_int64_ ? v : 0;
  }
  const auto r = std::from_chars(first, last, out.number_);
  if (r.ec == std::errc::result_out_of_range) {
    // Python's float() gives +-inf on overflow and +-0 on underflow.
    const double magnitude = decimal_exponent(text_.substr(start, pos_ - start)) > 0
                                 ? std::numeric_limits<double>::infinity() : 0.0;
    out.number_ = text_[start] == '-' ? -magnitude : magnitude;
  }
}

void Parser::link(Value& v) {
  for (size_t i = 0; i < v.items_.size(); ++i) {
    v.items_[i].parent_ = &v;
    v.items_[i].index_ = static_cast<uint32_t>(i);
    link(v.items_[i]);  // depth is bounded by kMaxDepth
  }
}

size_t find_invalid_utf8(std::string_view text, const char** reason) noexcept {
  const char* why = "";
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t len = utf8_sequence_length(text, i, &why);
    if (len == 0) {
      if (reason != nullptr) *reason = why;
      return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

std::unique_ptr<const Value> parse(std::string_view text) { return Parser(text).run(); }

}  // namespace argus::json
