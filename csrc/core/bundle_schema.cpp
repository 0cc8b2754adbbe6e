// The manifest checks of .engine bundles (docs/bundle_format.md §1.2 and §3), with the
// messages of python/argus_edge/_bundle_format.py (Python type names and repr quoting).
#include <algorithm>
#include <charconv>
#include <cstdio>

#include "core/bundle_format.h"

namespace argus::bundle_format {
namespace {

using json::Type;
using json::Value;

[[noreturn]] void fail(const std::string& message) { throw Error(Status::Bundle, message); }

// Python's type(v).__name__ for the value json.loads would give.
std::string py_type(const Value& v) {
  switch (v.type()) {
    case Type::Null: return "NoneType";
    case Type::Bool: return "bool";
    case Type::Number: return v.is_integral() ? "int" : "float";
    case Type::String: return "str";
    case Type::Array: return "list";
    case Type::Object: return "dict";
  }
  return "object";
}

std::string py_number(const Value& v) {
  if (v.is_integer()) return std::to_string(v.as_int());
  char buf[64];
  const double d = v.as_double();
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string text(buf, r.ptr);
  if (v.is_integral()) return text;  // beyond int64: only shown rounded
  if (text.find_first_of(".en") == std::string::npos) text += ".0";  // Python: 100.0
  return text;
}

// Python's repr() of the value json.loads would give ('a', 1, 2.5, None, [..], {..}).
std::string py_value_repr(const Value* v) {
  if (v == nullptr || v->is_null()) return "None";
  switch (v->type()) {
    case Type::Bool: return v->as_bool() ? "True" : "False";
    case Type::Number: return py_number(*v);
    case Type::String: return py_repr(v->as_string());
    case Type::Array: {
      std::string out = "[";
      for (const Value& item : v->items()) {
        out += (out.size() > 1 ? ", " : "") + py_value_repr(&item);
      }
      return out + "]";
    }
    default: {
      std::string out = "{";
      for (size_t i = 0; i < v->size(); ++i) {
        out += (i ? ", " : "") + py_repr(v->keys()[i]) + ": " + py_value_repr(&v->items()[i]);
      }
      return out + "}";
    }
  }
}

// _expect(): `v` has type `kind` ("object", "array", "string" or "integer").
const Value& expect(const Value* v, const char* kind, const std::string& where) {
  const std::string k = kind;
  const bool ok = v != nullptr &&
                  ((k == "object" && v->is_object()) || (k == "array" && v->is_array()) ||
                   (k == "string" && v->is_string()) || (k == "integer" && v->is_integral()));
  if (!ok) {
    const bool missing = v == nullptr || v->is_null();
    fail(where + " must be a JSON " + k + ", " +
         (missing ? std::string("it is missing or null") : "got " + py_type(*v)));
  }
  return *v;
}

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// YYYY-MM-DDTHH:MM:SS[.fraction of 1-9 digits]Z, digits anywhere the pattern has them.
bool is_iso_utc(std::string_view s) {
  static constexpr std::string_view kPattern = "dddd-dd-ddTdd:dd:dd";
  if (s.size() < kPattern.size() + 1 || s.back() != 'Z') return false;
  for (size_t i = 0; i < kPattern.size(); ++i) {
    if (kPattern[i] == 'd' ? !is_ascii_digit(s[i]) : s[i] != kPattern[i]) return false;
  }
  const std::string_view rest = s.substr(kPattern.size(), s.size() - kPattern.size() - 1);
  if (rest.empty()) return true;
  if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10) return false;
  return std::all_of(rest.begin() + 1, rest.end(), is_ascii_digit);
}

bool is_safe_blob_name(std::string_view name) {
  const auto allowed = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_ascii_digit(c) || c == '.' ||
           c == '_' || c == '+' || c == '-';
  };
  return !name.empty() && name.size() <= 255 && name[0] != '.' &&
         std::all_of(name.begin(), name.end(), allowed);
}

bool is_lower_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return is_ascii_digit(c) || (c >= 'a' && c <= 'f');
         });
}

// A checked offset or size: non-negative (checked by the caller) and below 2^63.
uint64_t table_number(const Value& v, const std::string& name, const char* what) {
  if (!v.is_integer()) {
    fail("blob " + py_repr(name) + " " + what + " " + py_number(v) +
         " is larger than any file");
  }
  return static_cast<uint64_t>(v.as_int());
}

}  // namespace

std::unique_ptr<const json::Value> decode_manifest(std::string_view text) {
  if (text.size() > Bundle::kMaxManifestBytes) {
    fail("manifest of " + std::to_string(text.size()) + " bytes is larger than the " +
         std::to_string(Bundle::kMaxManifestBytes) + " bytes this reader accepts");
  }
  const char* reason = "";
  const size_t bad = json::find_invalid_utf8(text, &reason);
  if (bad != std::string_view::npos) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "manifest is not valid UTF-8: 'utf-8' codec can't decode byte 0x%02x in "
                  "position %zu: %s",
                  static_cast<unsigned>(static_cast<uint8_t>(text[bad])), bad, reason);
    fail(buf);
  }
  std::unique_ptr<const json::Value> value;
  try {
    value = json::parse(text);
  } catch (const Error& e) {
    fail(std::string("manifest is not valid JSON: ") + e.what());
  }
  if (!value->is_object()) fail("manifest must be a JSON object, got " + py_type(*value));
  return value;
}

void check_manifest(const Value& m, BundleVersion version) {
  const Value* format = m.find("format");
  if (format == nullptr || !format->is_string() || format->as_string() != "argus-engine") {
    fail("'format' must be 'argus-engine', got " + py_value_repr(format));
  }
  const Value* fv = m.find("format_version");
  const auto same = [&](size_t i, uint16_t want) {
    return fv->at(i).is_integer() && fv->at(i).as_int() == want;
  };
  if (fv == nullptr || !fv->is_array() || fv->size() != 2 || !same(0, version.major) ||
      !same(1, version.minor)) {
    fail("'format_version' " + py_value_repr(fv) + " does not match the header's [" +
         std::to_string(version.major) + ", " + std::to_string(version.minor) + "]");
  }
  expect(m.find("sdk_version"), "string", "'sdk_version'");
  const std::string& created = expect(m.find("created"), "string", "'created'").as_string();
  if (!is_iso_utc(created)) {
    fail("'created' must be ISO 8601 UTC like 2026-11-22T17:00:00Z, got " + py_repr(created));
  }
  for (const char* key : {"model", "preprocess", "graphs", "tasks", "provenance"}) {
    expect(m.find(key), "object", py_repr(key));
  }
  const Value& model = m.at("model");
  expect(model.find("name"), "string", "'model.name'");
  expect(model.find("config"), "object", "'model.config'");
}

std::vector<BlobInfo> parse_blob_table(const Value* table) {
  const Value& entries = expect(table, "array", "'blobs'");
  std::vector<BlobInfo> out;
  std::vector<std::string> seen;  // sorted names
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string where = "blobs[" + std::to_string(i) + "]";
    const Value& item = expect(&entries.at(i), "object", where);
    const Value& name = expect(item.find("name"), "string", where + " 'name'");
    const Value& offset = expect(item.find("offset"), "integer", where + " 'offset'");
    const Value& size = expect(item.find("size"), "integer", where + " 'size'");
    const Value& sha = expect(item.find("sha256"), "string", where + " 'sha256'");
    const Value& media = expect(item.find("media_type"), "string", where + " 'media_type'");
    const std::string& n = name.as_string();
    if (!is_safe_blob_name(n)) {
      fail("unsafe blob name " + py_repr(n) + ": use 1-255 characters of A-Z a-z 0-9 ._+- "
           "not starting with '.' (no path separators)");
    }
    const auto pos = std::lower_bound(seen.begin(), seen.end(), n);
    if (pos != seen.end() && *pos == n) fail("duplicate blob name " + py_repr(n));
    if (offset.as_double() < 0 || size.as_double() < 0) {
      fail("blob " + py_repr(n) + " has a negative offset or size");
    }
    if (!is_lower_hex64(sha.as_string())) {
      fail("blob " + py_repr(n) + " 'sha256' is not 64 lowercase hex digits");
    }
    seen.insert(pos, n);
    out.push_back(BlobInfo{n, table_number(offset, n, "offset"), table_number(size, n, "size"),
                           sha.as_string(), media.as_string()});
  }
  return out;
}

void check_references(const Value& m, const std::vector<BlobInfo>& blobs) {
  std::vector<std::string_view> names;
  for (const BlobInfo& b : blobs) names.push_back(b.name);
  std::sort(names.begin(), names.end());
  const Value& graphs = m.at("graphs");
  for (size_t g = 0; g < graphs.size(); ++g) {
    const std::string where = "graph " + py_repr(graphs.keys()[g]);
    const Value& graph = expect(&graphs.items()[g], "object", where);
    const Value& variants = expect(graph.find("variants"), "object", where + " 'variants'");
    for (size_t v = 0; v < variants.size(); ++v) {
      const std::string vwhere = where + " variant " + py_repr(variants.keys()[v]);
      const Value& variant = expect(&variants.items()[v], "object", vwhere);
      expect(variant.find("backend"), "string", vwhere + " 'backend'");
      expect(variant.find("precision"), "string", vwhere + " 'precision'");
      const Value& roles = expect(variant.find("blobs"), "object", vwhere + " 'blobs'");
      for (size_t r = 0; r < roles.size(); ++r) {
        const Value& blob = roles.items()[r];
        if (!blob.is_string() ||
            !std::binary_search(names.begin(), names.end(), std::string_view(blob.as_string()))) {
          fail(vwhere + " role " + py_repr(roles.keys()[r]) + " names blob " +
               py_value_repr(&blob) + ", which the bundle does not contain");
        }
      }
    }
  }
  const Value& tasks = m.at("tasks");
  for (size_t t = 0; t < tasks.size(); ++t) {
    const std::string where = "task " + py_repr(tasks.keys()[t]);
    const Value& task = expect(&tasks.items()[t], "object", where);
    for (const char* key : {"graph", "backbone"}) {
      const Value* ref = task.find(key);
      if (ref == nullptr && std::string_view(key) == "backbone") continue;
      if (ref == nullptr || !ref->is_string() || graphs.find(ref->as_string()) == nullptr) {
        fail(where + " " + key + " " + py_value_repr(ref) + " is not an entry of 'graphs'");
      }
    }
    if (const Value* kind = task.find("kind")) expect(kind, "string", where + " 'kind'");
    if (const Value* needs = task.find("needs")) {  // format 1.1
      expect(needs, "array", where + " 'needs'");
      for (size_t i = 0; i < needs->size(); ++i) {
        const std::string nwhere = where + " needs[" + std::to_string(i) + "]";
        const Value* ref = expect(&needs->at(i), "object", nwhere).find("task");
        if (ref == nullptr || !ref->is_string() || tasks.find(ref->as_string()) == nullptr) {
          fail(nwhere + " task " + py_value_repr(ref) + " is not an entry of 'tasks'");
        }
      }
    }
  }
}

}  // namespace argus::bundle_format
