// Typed reads of optional manifest fields with defaults. A field that is present with
// the wrong type is an Error(Status::Bundle) naming its JSON path; absent or null fields
// give the fallback. `object` may be null (every field absent).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"

namespace argus::manifest {

double number_or(const json::Value* object, const char* key, double fallback);
bool bool_or(const json::Value* object, const char* key, bool fallback);
std::string string_or(const json::Value* object, const char* key, const std::string& fallback);
std::vector<int64_t> ints_or(const json::Value* object, const char* key,
                             std::vector<int64_t> fallback);
std::vector<std::string> strings_or(const json::Value* object, const char* key,
                                    std::vector<std::string> fallback);
// The member `key` when it is an object, null when absent; else Error(Bundle).
const json::Value* object_or_null(const json::Value* object, const char* key);

}  // namespace argus::manifest
