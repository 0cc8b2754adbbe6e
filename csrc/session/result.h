// What a task returns: named, typed, row-major arrays (dtype, shape, data) plus the task
// key and its decoder kind. Every decoder kind, the C API (argus_result_array) and the
// Python binding read results through this one shape; no layer knows a task's fields.
//
// The names a kind uses are part of its contract (the manifest declares them, see
// task_spec.h); the C API's typed accessors read the conventional ones:
//   boxes (n, 4) float32 xyxy image pixels, scores (n) float32, labels (n) int64,
//   masks (n, h, w) uint8 0/1, label_map (h, w) int32, value_map (h, w) float32,
//   class_labels (k) int64, class_scores (k) float32, keypoints (n, k, 3) float32 x, y, score.
//
// Ownership: a ResultArray owns its values; moving a result moves the buffers (the Python
// binding hands them to numpy without a copy). Thread safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/status.h"

namespace argus {

// Element types of result arrays; the numbers are the C API's argus_dtype_t.
enum class DType : int { Float32 = 0, Int32 = 1, Int64 = 2, UInt8 = 3 };

// "float32", "int32", "int64", "uint8"; never null.
const char* dtype_name(DType dtype) noexcept;
// Bytes per element.
size_t dtype_size(DType dtype) noexcept;
// The DType named `name`; throws Error(Status::Bundle) for any other name.
DType parse_dtype(std::string_view name);

// One named array of a task result.
struct ResultArray {
  using Storage = std::variant<std::vector<float>, std::vector<int32_t>, std::vector<int64_t>,
                               std::vector<uint8_t>>;

  std::string name;
  std::vector<int64_t> shape;  // row-major; the product of the dims is the element count
  Storage data;

  // An array taking `values`; throws Error(Internal) if the shape's product differs from
  // values.size() or a dim is negative.
  template <class T>
  static ResultArray of(std::string name, std::vector<int64_t> shape, std::vector<T> values);

  DType dtype() const noexcept { return static_cast<DType>(data.index()); }
  size_t count() const noexcept;
  size_t bytes() const noexcept { return count() * dtype_size(dtype()); }
  // The first element (null when empty).
  const void* raw() const noexcept;

  // The values as T; throws Error(Internal) when the array holds another type.
  template <class T>
  const std::vector<T>& values() const;
};

struct TaskResult {
  std::string task;                 // the task key, as requested
  std::string kind;                 // the task's decoder kind
  std::vector<ResultArray> arrays;  // in the order the kind declares them

  // The array `name`, or null.
  const ResultArray* find(std::string_view name) const noexcept;
  // The array `name`; throws Error(Status::InvalidArgument) naming the arrays there are.
  const ResultArray& at(std::string_view name) const;
  // Appends an array (the decoder's output, in its declared order).
  void add(ResultArray array) { arrays.push_back(std::move(array)); }
};

// Everything one run returned for one image.
struct Results {
  int image_width = 0;
  int image_height = 0;
  std::vector<TaskResult> tasks;  // in the order they were requested

  // The result of `task`, or null.
  const TaskResult* find(std::string_view task) const noexcept;
};

// ---- implementation of the templates ------------------------------------------------

namespace result_detail {
[[noreturn]] void bad_shape(const std::string& name, size_t count, size_t elements);
[[noreturn]] void bad_type(const std::string& name, DType has, const char* wanted);
template <class T>
constexpr const char* type_of() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  if constexpr (std::is_same_v<T, int32_t>) return "int32";
  if constexpr (std::is_same_v<T, int64_t>) return "int64";
  return "uint8";
}
}  // namespace result_detail

template <class T>
ResultArray ResultArray::of(std::string name, std::vector<int64_t> shape, std::vector<T> values) {
  size_t count = 1;
  bool negative = false;
  for (int64_t d : shape) {
    negative |= d < 0;
    count *= static_cast<size_t>(d < 0 ? 0 : d);
  }
  if (negative || count != values.size()) result_detail::bad_shape(name, count, values.size());
  ResultArray a;
  a.name = std::move(name);
  a.shape = std::move(shape);
  a.data = std::move(values);
  return a;
}

template <class T>
const std::vector<T>& ResultArray::values() const {
  const auto* v = std::get_if<std::vector<T>>(&data);
  if (v == nullptr) result_detail::bad_type(name, dtype(), result_detail::type_of<T>());
  return *v;
}

}  // namespace argus
