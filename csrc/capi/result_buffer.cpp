// Packing of Session results into one buffer, and the argus_result_* accessors.
#include "capi/result_buffer.h"

#include <cstring>

#include "core/status.h"

namespace argus::capi {

namespace {

size_t align16(size_t n) { return (n + 15) & ~size_t{15}; }

// Reserves `bytes` at the end of the layout (when `present`) and returns its offset.
size_t reserve(size_t& end, size_t bytes, bool present) {
  if (!present) return TaskIndex::kNone;
  const size_t offset = end;
  end = align16(end + bytes);
  return offset;
}

TaskIndex layout(const TaskResult& r, size_t& end) {
  TaskIndex t;
  t.task = r.task;
  const bool dets = r.task == "det" || r.task == "inst" || r.task == "pose";
  t.num_detections = r.detections.size();
  t.detections = reserve(end, t.num_detections * sizeof(argus_detection_t), dets);
  t.num_masks = r.masks.empty() ? 0 : r.detections.size();
  t.masks = reserve(end, r.masks.size(), r.task == "inst");
  t.labels = reserve(end, r.label_map.size() * sizeof(int32_t), !r.label_map.empty());
  t.values = reserve(end, r.value_map.size() * sizeof(float), !r.value_map.empty());
  t.map_height = r.map_height;
  t.map_width = r.map_width;
  t.num_classes = r.class_labels.size();
  t.classes = reserve(end, t.num_classes * sizeof(argus_class_score_t), r.task == "cls");
  t.num_people = r.task == "pose" ? r.detections.size() : 0;
  t.num_keypoints = size_t(r.num_keypoints);
  t.keypoints = reserve(end, t.num_people * t.num_keypoints * sizeof(argus_keypoint_t),
                        r.task == "pose");
  return t;
}

void fill(const TaskResult& r, const TaskIndex& t, unsigned char* base) {
  if (t.detections != TaskIndex::kNone) {
    auto* d = reinterpret_cast<argus_detection_t*>(base + t.detections);
    for (size_t i = 0; i < t.num_detections; ++i) {
      const Box& b = r.detections.boxes[i];
      d[i] = {b.x1, b.y1, b.x2, b.y2, r.detections.scores[i],
              static_cast<int32_t>(r.detections.labels[i])};
    }
  }
  if (t.masks != TaskIndex::kNone && !r.masks.empty()) {
    std::memcpy(base + t.masks, r.masks.data(), r.masks.size());
  }
  if (t.labels != TaskIndex::kNone) {
    std::memcpy(base + t.labels, r.label_map.data(), r.label_map.size() * sizeof(int32_t));
  }
  if (t.values != TaskIndex::kNone) {
    std::memcpy(base + t.values, r.value_map.data(), r.value_map.size() * sizeof(float));
  }
  if (t.classes != TaskIndex::kNone) {
    auto* c = reinterpret_cast<argus_class_score_t*>(base + t.classes);
    for (size_t i = 0; i < t.num_classes; ++i) {
      c[i] = {static_cast<int32_t>(r.class_labels[i]), r.class_scores[i]};
    }
  }
  if (t.keypoints != TaskIndex::kNone) {
    auto* k = reinterpret_cast<argus_keypoint_t*>(base + t.keypoints);
    for (size_t i = 0; i < t.num_people * t.num_keypoints; ++i) {
      k[i] = {r.keypoints[2 * i], r.keypoints[2 * i + 1], r.keypoint_scores[i]};
    }
  }
}

}  // namespace

std::unique_ptr<argus_result> pack_results(const Results& results) {
  auto out = std::make_unique<argus_result>();
  size_t end = 0;
  for (const TaskResult& r : results.tasks) out->index.push_back(layout(r, end));
  out->size = end;
  out->buffer.reset(new unsigned char[end ? end : 1]);
  for (size_t i = 0; i < results.tasks.size(); ++i) {
    fill(results.tasks[i], out->index[i], out->buffer.get());
  }
  return out;
}

}  // namespace argus::capi

using argus::capi::TaskIndex;

const TaskIndex* argus_result::find(const char* task) const {
  for (const TaskIndex& t : index) {
    if (t.task == task) return &t;
  }
  return nullptr;
}

namespace {

// The index of `task` when it has the array at member `field`; else a status.
argus_status_t lookup(const argus_result_t* r, const char* task, size_t TaskIndex::*field,
                      const TaskIndex** out) noexcept {
  if (r == nullptr || task == nullptr) return ARGUS_STATUS_INVALID_ARGUMENT;
  const TaskIndex* t = r->find(task);
  if (t == nullptr || t->*field == TaskIndex::kNone) return ARGUS_STATUS_UNKNOWN_TASK;
  *out = t;
  return ARGUS_STATUS_OK;
}

}  // namespace

extern "C" {

argus_status_t argus_result_num_detections(const argus_result_t* result, const char* task,
                                           size_t* count) {
  const TaskIndex* t = nullptr;
  if (!count) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = lookup(result, task, &TaskIndex::detections, &t);
  if (s == ARGUS_STATUS_OK) *count = t->num_detections;
  return s;
}

argus_status_t argus_result_detections(const argus_result_t* result, const char* task,
                                       const argus_detection_t** detections, size_t* count) {
  const TaskIndex* t = nullptr;
  if (!detections || !count) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = lookup(result, task, &TaskIndex::detections, &t);
  if (s != ARGUS_STATUS_OK) return s;
  *detections = result->at<argus_detection_t>(t->detections);
  *count = t->num_detections;
  return s;
}

argus_status_t argus_result_masks(const argus_result_t* result, const char* task,
                                  const uint8_t** masks, size_t* count, int32_t* height,
                                  int32_t* width) {
  const TaskIndex* t = nullptr;
  if (!masks || !count || !height || !width) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = lookup(result, task, &TaskIndex::masks, &t);
  if (s != ARGUS_STATUS_OK) return s;
  *masks = result->at<uint8_t>(t->masks);
  *count = t->num_masks;
  *height = t->map_height;
  *width = t->map_width;
  return s;
}

argus_status_t argus_result_label_map(const argus_result_t* result, const char* task,
                                      const int32_t** labels, int32_t* height, int32_t* width) {
  const TaskIndex* t = nullptr;
  if (!labels || !height || !width) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = lookup(result, task, &TaskIndex::labels, &t);
  if (s != ARGUS_STATUS_OK) return s;
  *labels = result->at<int32_t>(t->labels);
  *height = t->map_height;
  *width = t->map_width;
  return s;
}

argus_status_t argus_result_value_map(const argus_result_t* result, const char* task,
                                      const float** values, int32_t* height, int32_t* width) {
  const TaskIndex* t = nullptr;
  if (!values || !height || !width) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = lookup(result, task, &TaskIndex::values, &t);
  if (s != ARGUS_STATUS_OK) return s;
  *values = result->at<float>(t->values);
  *height = t->map_height;
  *width = t->map_width;
  return s;
}

argus_status_t argus_result_classes(const argus_result_t* result, const char* task,
                                    const argus_class_score_t** classes, size_t* count) {
  const TaskIndex* t = nullptr;
  if (!classes || !count) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = lookup(result, task, &TaskIndex::classes, &t);
  if (s != ARGUS_STATUS_OK) return s;
  *classes = result->at<argus_class_score_t>(t->classes);
  *count = t->num_classes;
  return s;
}

argus_status_t argus_result_keypoints(const argus_result_t* result, const char* task,
                                      const argus_keypoint_t** keypoints, size_t* num_people,
                                      size_t* num_keypoints) {
  const TaskIndex* t = nullptr;
  if (!keypoints || !num_people || !num_keypoints) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = lookup(result, task, &TaskIndex::keypoints, &t);
  if (s != ARGUS_STATUS_OK) return s;
  *keypoints = result->at<argus_keypoint_t>(t->keypoints);
  *num_people = t->num_people;
  *num_keypoints = t->num_keypoints;
  return s;
}

}  // extern "C"
