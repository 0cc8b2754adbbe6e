// argus_result_t: the results of one argus_session_run packed into one buffer (every
// array of every task, 16-byte aligned), plus an index of where each lies. The typed
// accessors' array-of-structs views (argus_detection_t, argus_class_score_t) of the
// conventional arrays are packed beside them when a task has those arrays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "argus/argus.h"
#include "session/session.h"

namespace argus::capi {

struct ArrayIndex {
  std::string name;
  argus_dtype_t dtype = ARGUS_DTYPE_FLOAT32;
  std::vector<int64_t> shape;
  size_t offset = 0;  // in the buffer
  size_t bytes = 0;
};

// Where the arrays of one task lie (offsets in bytes; kNone: absent).
struct TaskIndex {
  static constexpr size_t kNone = static_cast<size_t>(-1);
  std::string task;
  std::string kind;
  std::vector<ArrayIndex> arrays;
  size_t detections = kNone, num_detections = 0;  // argus_detection_t[n]
  size_t classes = kNone, num_classes = 0;        // argus_class_score_t[k]

  const ArrayIndex* find(const char* name) const;
};

}  // namespace argus::capi

struct argus_result {
  std::vector<argus::capi::TaskIndex> index;
  std::unique_ptr<unsigned char[]> buffer;
  size_t size = 0;

  const argus::capi::TaskIndex* find(const char* task) const;
  template <class T>
  const T* at(size_t offset) const {
    return reinterpret_cast<const T*>(buffer.get() + offset);
  }
};

namespace argus::capi {

// Packs `results` (throws std::bad_alloc, or Error(Internal) for an array of more than
// ARGUS_MAX_DIMS dims).
std::unique_ptr<argus_result> pack_results(const Results& results);

}  // namespace argus::capi
