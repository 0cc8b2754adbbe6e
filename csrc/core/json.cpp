#include "core/json.h"

#include <algorithm>
#include <cstdio>

#include "core/status.h"

namespace argus::json {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Status::Bundle, message); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_identifier(std::string_view key) {
  if (key.empty() || is_digit(key[0])) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
  });
}

}  // namespace

const char* type_name(Type type) noexcept {
  switch (type) {
    case Type::Null: return "null";
    case Type::Bool: return "bool";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "unknown";
}

void Value::type_error(Type expected) const {
  fail(path() + ": expected " + type_name(expected) + ", got " + type_name(type_));
}

bool Value::as_bool() const {
  if (type_ != Type::Bool) type_error(Type::Bool);
  return bool_;
}

double Value::as_double() const {
  if (type_ != Type::Number) type_error(Type::Number);
  return number_;
}

int64_t Value::as_int() const {
  if (!is_integer()) {
    if (type_ != Type::Number) fail(path() + ": expected integer, got " + type_name(type_));
    fail(path() + (integral_ ? ": integer out of the int64 range"
                             : ": expected integer, got a number with a fraction or exponent"));
  }
  return int_;
}

const std::string& Value::as_string() const {
  if (type_ != Type::String) type_error(Type::String);
  return string_;
}

size_t Value::size() const {
  if (type_ != Type::Array && type_ != Type::Object) {
    fail(path() + ": expected array or object, got " + type_name(type_));
  }
  return items_.size();
}

const Value& Value::at(size_t index) const {
  if (type_ != Type::Array) type_error(Type::Array);
  if (index >= items_.size()) {
    fail(path() + ": index " + std::to_string(index) + " out of range (size " +
         std::to_string(items_.size()) + ")");
  }
  return items_[index];
}

const Value* Value::find(std::string_view key) const {
  if (type_ != Type::Object) type_error(Type::Object);
  const auto it = std::lower_bound(sorted_.begin(), sorted_.end(), key,
                                   [&](uint32_t i, std::string_view k) { return keys_[i] < k; });
  if (it == sorted_.end() || keys_[*it] != key) return nullptr;
  return &items_[*it];
}

const Value& Value::at(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) fail(path() + ": missing key " + quote(key));
  return *v;
}

const std::vector<std::string>& Value::keys() const {
  if (type_ != Type::Object) type_error(Type::Object);
  return keys_;
}

const std::vector<Value>& Value::items() const {
  if (type_ != Type::Array && type_ != Type::Object) {
    fail(path() + ": expected array or object, got " + type_name(type_));
  }
  return items_;
}

std::string Value::path() const {
  std::vector<std::string> parts;
  for (const Value* v = this; v->parent_ != nullptr; v = v->parent_) {
    const Value& p = *v->parent_;
    if (p.type_ == Type::Array) {
      parts.push_back("[" + std::to_string(v->index_) + "]");
    } else {
      const std::string& key = p.keys_[v->index_];
      parts.push_back(is_identifier(key) ? "." + key : "[" + quote(key) + "]");
    }
  }
  std::string out = "$";
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += *it;
  return out;
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto u = static_cast<uint8_t>(c);
    const bool surrogate =  // WTF-8 of a lone \uD800-\uDFFF escape: not valid UTF-8
        u == 0xED && i + 2 < text.size() && static_cast<uint8_t>(text[i + 1]) >= 0xA0;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F || surrogate) {
      unsigned cp = u;
      if (surrogate) {
        cp = 0xD000u | ((static_cast<uint8_t>(text[i + 1]) & 0x3Fu) << 6) |
             (static_cast<uint8_t>(text[i + 2]) & 0x3Fu);
        i += 2;
      }
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", cp);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

namespace {

void dump_to(const Value& v, std::string& out) {
  switch (v.type()) {
    case Type::Null: out += "null"; return;
    case Type::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Type::Number: {
      if (v.is_integer()) {
        out += std::to_string(v.as_int());
        return;
      }
      const double d = v.as_double();
      if (d != d) fail(v.path() + ": NaN is not JSON");  // cannot come from parse()
      if (d == 1.0 / 0.0 || d == -1.0 / 0.0) {
        out += d > 0 ? "1e999" : "-1e999";
        return;
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      out += buf;
      return;
    }
    case Type::String: out += quote(v.as_string()); return;
    case Type::Array: {
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        dump_to(v.at(i), out);
      }
      out += ']';
      return;
    }
    case Type::Object: {
      out += '{';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += quote(v.keys()[i]);
        out += ':';
        dump_to(v.items()[i], out);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string dump(const Value& value) {
  std::string out;
  dump_to(value, out);
  return out;
}

}  // namespace argus::json
