// Typed manifest reads; see manifest_read.h.
#include "session/manifest_read.h"

#include "core/status.h"

namespace argus::manifest {

namespace {

const json::Value* member(const json::Value* object, const char* key) {
  const json::Value* v = object ? object->find(key) : nullptr;
  return v && !v->is_null() ? v : nullptr;
}

[[noreturn]] void wrong(const json::Value& v, const char* what) {
  throw Error(Status::Bundle, v.path() + " must be " + what);
}

}  // namespace

double number_or(const json::Value* object, const char* key, double fallback) {
  const json::Value* v = member(object, key);
  if (!v) return fallback;
  if (!v->is_number()) wrong(*v, "a number");
  return v->as_double();
}

bool bool_or(const json::Value* object, const char* key, bool fallback) {
  const json::Value* v = member(object, key);
  if (!v) return fallback;
  if (!v->is_bool()) wrong(*v, "true or false");
  return v->as_bool();
}

std::string string_or(const json::Value* object, const char* key, const std::string& fallback) {
  const json::Value* v = member(object, key);
  if (!v) return fallback;
  if (!v->is_string()) wrong(*v, "a string");
  return v->as_string();
}

std::vector<int64_t> ints_or(const json::Value* object, const char* key,
                             std::vector<int64_t> fallback) {
  const json::Value* v = member(object, key);
  if (!v) return fallback;
  if (!v->is_array()) wrong(*v, "an array of ints");
  std::vector<int64_t> out;
  for (const json::Value& item : v->items()) {
    if (!item.is_integer()) wrong(item, "an int");
    out.push_back(item.as_int());
  }
  return out;
}

std::vector<std::string> strings_or(const json::Value* object, const char* key,
                                    std::vector<std::string> fallback) {
  const json::Value* v = member(object, key);
  if (!v) return fallback;
  if (!v->is_array()) wrong(*v, "an array of strings");
  std::vector<std::string> out;
  for (const json::Value& item : v->items()) {
    if (!item.is_string()) wrong(item, "a string");
    out.push_back(item.as_string());
  }
  return out;
}

const json::Value* object_or_null(const json::Value* object, const char* key) {
  const json::Value* v = member(object, key);
  if (v && !v->is_object()) wrong(*v, "an object");
  return v;
}

}  // namespace argus::manifest
