// argus_result_t: the results of one argus_session_run packed into one buffer
// (all arrays of all tasks, 16-byte aligned), plus a small index of where each lies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "argus/argus.h"
#include "session/session.h"

namespace argus::capi {

// Where the arrays of one task lie in the buffer (offsets in bytes; SIZE_MAX: absent).
struct TaskIndex {
  static constexpr size_t kNone = static_cast<size_t>(-1);
  std::string task;
  size_t detections = kNone, num_detections = 0;
  size_t masks = kNone, num_masks = 0;
  size_t labels = kNone, values = kNone;
  int32_t map_height = 0, map_width = 0;
  size_t classes = kNone, num_classes = 0;
  size_t keypoints = kNone, num_people = 0, num_keypoints = 0;
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

// Packs `results` (throws std::bad_alloc only).
std::unique_ptr<argus_result> pack_results(const Results& results);

}  // namespace argus::capi
