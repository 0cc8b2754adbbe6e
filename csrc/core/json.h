// A small, strict JSON (RFC 8259) parser into an immutable DOM, for bundle manifests.
//
// Stricter than RFC 8259 in the ways docs/bundle_format.md §1.2 requires, and otherwise
// accepting what Python's json.loads accepts:
// - the text must be valid UTF-8 (no overlong forms, no surrogates, nothing > U+10FFFF);
// - an object must not hold the same key twice (compared after decoding escapes);
// - NaN, Infinity and -Infinity are not JSON; numbers that overflow a double (1e400)
//   are accepted as +-infinity, as Python does;
// - nesting is limited to kMaxDepth arrays/objects (the recursion is bounded by it);
// - \u escapes are decoded, surrogate pairs combined; a lone surrogate escape (which
//   Python accepts) is stored as its 3-byte generalized UTF-8 form (WTF-8);
// - only whitespace may follow the value; a byte-order mark is an error.
//
// Errors are argus::Error(Status::Bundle, ...): parse errors end in ": line L column C
// (char N)" like Python's (N counts code points); accessor type mismatches name the
// value's JSON path ("$.a[2].b").
//
// Thread safety: a parsed Value is immutable; const access from any number of threads
// is safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace argus::json {

// Deepest nesting of arrays and objects parse() accepts. Python's reader is limited by
// its interpreter recursion limit (about 990 at top level, less inside an application's
// call stack); 512 stays below it everywhere and far above any manifest.
constexpr int kMaxDepth = 512;

enum class Type : uint8_t { Null, Bool, Number, String, Array, Object };

// "null", "bool", "number", "string", "array" or "object".
const char* type_name(Type type) noexcept;

// One JSON value. Values are created only by parse(), owned by their parent (the root
// by the unique_ptr parse() returns), and never change afterwards; references into the
// tree stay valid as long as the root lives. Values are not copyable.
class Value {
 public:
  Value() = default;
  Value(Value&&) noexcept = default;
  Value& operator=(Value&&) noexcept = default;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;

  Type type() const noexcept { return type_; }
  bool is_null() const noexcept { return type_ == Type::Null; }
  bool is_bool() const noexcept { return type_ == Type::Bool; }
  bool is_number() const noexcept { return type_ == Type::Number; }
  bool is_string() const noexcept { return type_ == Type::String; }
  bool is_array() const noexcept { return type_ == Type::Array; }
  bool is_object() const noexcept { return type_ == Type::Object; }
  // A number written without fraction or exponent ("12", "-0"), whatever its size.
  bool is_integral() const noexcept { return type_ == Type::Number && integral_; }
  // An integral number that fits int64_t exactly (as_int() succeeds).
  bool is_integer() const noexcept { return is_integral() && fits_int64_; }

  // Accessors: each throws Error(Status::Bundle, "<path>: expected <type>, got <type>")
  // when the value has another type.
  bool as_bool() const;
  double as_double() const;  // any number (integers above 2^53 are rounded)
  int64_t as_int() const;    // an integer (is_integer()); also refuses "1.0" and "1e3"
  const std::string& as_string() const;  // UTF-8 (WTF-8 for lone surrogate escapes)

  // Arrays and objects: number of elements / members.
  size_t size() const;
  // Array element `index`; throws Error(Status::Bundle) if out of range.
  const Value& at(size_t index) const;
  // Object member `key`, or null when absent (throws if this is not an object).
  const Value* find(std::string_view key) const;
  // Object member `key`; throws Error(Status::Bundle, "<path>: missing key ...").
  const Value& at(std::string_view key) const;
  // Object keys and array/object elements in document order (parallel for objects).
  const std::vector<std::string>& keys() const;
  const std::vector<Value>& items() const;

  // Where this value sits in the document, like $.graphs.det.variants["onnx-fp32"][0].
  std::string path() const;

 private:
  friend class Parser;
  [[noreturn]] void type_error(Type expected) const;

  Type type_ = Type::Null;
  bool bool_ = false;
  bool integral_ = false;
  bool fits_int64_ = false;
  uint32_t index_ = 0;              // position in the parent's items()
  const Value* parent_ = nullptr;   // null for the root
  double number_ = 0.0;
  int64_t int_ = 0;
  std::string string_;              // String value
  std::vector<Value> items_;        // Array elements or Object values
  std::vector<std::string> keys_;   // Object keys, parallel to items_
  std::vector<uint32_t> sorted_;    // Object: indices of items_ ordered by key
};

// Offset of the first byte of `text` that starts no valid UTF-8 sequence (overlong forms,
// surrogates U+D800..U+DFFF and code points above U+10FFFF are invalid), or
// std::string_view::npos when all of it is valid. `reason` (optional) receives a static
// string: "invalid start byte", "invalid continuation byte" or "unexpected end of data".
size_t find_invalid_utf8(std::string_view text, const char** reason = nullptr) noexcept;

// Parses a complete JSON text (UTF-8 bytes, no NUL terminator needed; at most 4 GiB).
// The tree is returned as a unique_ptr so that it never moves (children point to their
// parents). Throws Error(Status::Bundle, "<what>: line L column C (char N)") on any
// violation ("invalid UTF-8: ..." first if the text is not valid UTF-8).
std::unique_ptr<const Value> parse(std::string_view text);

// `text` as a JSON string literal with quotes and escapes (for messages and paths); the
// result is valid UTF-8 when `text` came from parse() (lone surrogates are escaped).
std::string quote(std::string_view text);

// `value` as compact JSON text that parse() reads back to an equal value (integers
// exactly, other numbers to 17 significant digits, infinities as 1e999 / -1e999).
std::string dump(const Value& value);

}  // namespace argus::json
