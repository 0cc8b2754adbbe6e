// Result arrays; see result.h.
#include "session/result.h"

namespace argus {

const char* dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
  }
  return "unknown";
}

size_t dtype_size(DType dtype) noexcept {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Int32: return 4;
    case DType::Int64: return 8;
    case DType::UInt8: return 1;
  }
  return 0;
}

DType parse_dtype(std::string_view name) {
  for (DType d : {DType::Float32, DType::Int32, DType::Int64, DType::UInt8}) {
    if (name == dtype_name(d)) return d;
  }
  throw Error(Status::Bundle, "unknown dtype '" + std::string(name) +
                                  "' (expected float32, int32, int64 or uint8)");
}

size_t ResultArray::count() const noexcept {
  return std::visit([](const auto& v) { return v.size(); }, data);
}

const void* ResultArray::raw() const noexcept {
  return std::visit([](const auto& v) -> const void* { return v.empty() ? nullptr : v.data(); },
                    data);
}

const ResultArray* TaskResult::find(std::string_view name) const noexcept {
  for (const ResultArray& a : arrays) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

const ResultArray& TaskResult::at(std::string_view name) const {
  if (const ResultArray* a = find(name)) return *a;
  std::string names;
  for (const ResultArray& a : arrays) names += (names.empty() ? "" : ", ") + a.name;
  throw Error(Status::InvalidArgument, "task '" + task + "' (" + kind + ") has no array '" +
                                           std::string(name) + "' (it has: " + names + ")");
}

const TaskResult* Results::find(std::string_view task) const noexcept {
  for (const TaskResult& r : tasks) {
    if (r.task == task) return &r;
  }
  return nullptr;
}

namespace result_detail {

void bad_shape(const std::string& name, size_t count, size_t elements) {
  throw Error(Status::Internal, "result array '" + name + "': shape holds " +
                                    std::to_string(count) + " elements, data " +
                                    std::to_string(elements));
}

void bad_type(const std::string& name, DType has, const char* wanted) {
  throw Error(Status::Internal, "result array '" + name + "' is " + dtype_name(has) + ", not " +
                                    wanted);
}

}  // namespace result_detail

}  // namespace argus
