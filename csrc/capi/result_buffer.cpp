// Packing of Session results into one buffer, and the argus_result_* accessors.
#include "capi/result_buffer.h"

#include <cstring>

#include "core/status.h"

namespace argus::capi {

namespace {

size_t align16(size_t n) { return (n + 15) & ~size_t{15}; }

size_t reserve(size_t& end, size_t bytes) {
  const size_t offset = end;
  end = align16(end + bytes);
  return offset;
}

// The array `name` of `r` when it has this dtype and rank, else null.
const ResultArray* typed(const TaskResult& r, const char* name, DType dtype, size_t rank) {
  const ResultArray* a = r.find(name);
  return a && a->dtype() == dtype && a->shape.size() == rank ? a : nullptr;
}

// The (boxes, scores, labels) of `r` when they form a detection list, else false.
bool has_detections(const TaskResult& r, size_t& n) {
  const ResultArray* boxes = typed(r, "boxes", DType::Float32, 2);
  const ResultArray* scores = typed(r, "scores", DType::Float32, 1);
  const ResultArray* labels = typed(r, "labels", DType::Int64, 1);
  if (!boxes || !scores || !labels || boxes->shape[1] != 4) return false;
  n = static_cast<size_t>(scores->shape[0]);
  return boxes->shape[0] == scores->shape[0] && labels->shape[0] == scores->shape[0];
}

bool has_classes(const TaskResult& r, size_t& k) {
  const ResultArray* labels = typed(r, "class_labels", DType::Int64, 1);
  const ResultArray* scores = typed(r, "class_scores", DType::Float32, 1);
  if (!labels || !scores || labels->shape[0] != scores->shape[0]) return false;
  k = static_cast<size_t>(labels->shape[0]);
  return true;
}

TaskIndex layout(const TaskResult& r, size_t& end) {
  TaskIndex t;
  t.task = r.task;
  t.kind = r.kind;
  for (const ResultArray& a : r.arrays) {
    if (a.shape.size() > ARGUS_MAX_DIMS) {
      throw Error(Status::Internal, "result array '" + a.name + "' has too many dims");
    }
    t.arrays.push_back({a.name, static_cast<argus_dtype_t>(a.dtype()), a.shape,
                        reserve(end, a.bytes()), a.bytes()});
  }
  if (has_detections(r, t.num_detections)) {
    t.detections = reserve(end, t.num_detections * sizeof(argus_detection_t));
  }
  if (has_classes(r, t.num_classes)) {
    t.classes = reserve(end, t.num_classes * sizeof(argus_class_score_t));
  }
  return t;
}

void fill(const TaskResult& r, const TaskIndex& t, unsigned char* base) {
  for (size_t i = 0; i < r.arrays.size(); ++i) {
    if (t.arrays[i].bytes) std::memcpy(base + t.arrays[i].offset, r.arrays[i].raw(), t.arrays[i].bytes);
  }
  if (t.detections != TaskIndex::kNone) {
    const float* boxes = r.at("boxes").values<float>().data();
    const std::vector<float>& scores = r.at("scores").values<float>();
    const std::vector<int64_t>& labels = r.at("labels").values<int64_t>();
    auto* d = reinterpret_cast<argus_detection_t*>(base + t.detections);
    for (size_t i = 0; i < t.num_detections; ++i) {
      d[i] = {boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3], scores[i],
              static_cast<int32_t>(labels[i])};
    }
  }
  if (t.classes != TaskIndex::kNone) {
    const std::vector<int64_t>& labels = r.at("class_labels").values<int64_t>();
    const std::vector<float>& scores = r.at("class_scores").values<float>();
    auto* c = reinterpret_cast<argus_class_score_t*>(base + t.classes);
    for (size_t i = 0; i < t.num_classes; ++i) {
      c[i] = {static_cast<int32_t>(labels[i]), scores[i]};
    }
  }
}

}  // namespace

const ArrayIndex* TaskIndex::find(const char* name) const {
  for (const ArrayIndex& a : arrays) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

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

using argus::capi::ArrayIndex;
using argus::capi::TaskIndex;

const TaskIndex* argus_result::find(const char* task) const {
  for (const TaskIndex& t : index) {
    if (t.task == task) return &t;
  }
  return nullptr;
}

namespace {

// The array `name` of `task` with `dtype` and `rank` (rank < 0: any); else a status.
argus_status_t lookup(const argus_result_t* r, const char* task, const char* name,
                      argus_dtype_t dtype, int rank, const ArrayIndex** out) noexcept {
  if (r == nullptr || task == nullptr || name == nullptr) return ARGUS_STATUS_INVALID_ARGUMENT;
  const TaskIndex* t = r->find(task);
  const ArrayIndex* a = t ? t->find(name) : nullptr;
  if (a == nullptr || a->dtype != dtype || (rank >= 0 && a->shape.size() != size_t(rank))) {
    return ARGUS_STATUS_UNKNOWN_TASK;
  }
  *out = a;
  return ARGUS_STATUS_OK;
}

void describe(const argus_result_t* r, const ArrayIndex& a, argus_array_t* array) noexcept {
  std::memset(array, 0, sizeof *array);
  array->name = a.name.c_str();
  array->dtype = a.dtype;
  array->ndim = static_cast<int32_t>(a.shape.size());
  for (size_t i = 0; i < a.shape.size(); ++i) array->shape[i] = a.shape[i];
  array->data = a.bytes ? r->at<void>(a.offset) : nullptr;
  array->num_bytes = a.bytes;
}

// The detections view of `task`; else a status.
argus_status_t detections_of(const argus_result_t* r, const char* task, const TaskIndex** out) {
  if (r == nullptr || task == nullptr) return ARGUS_STATUS_INVALID_ARGUMENT;
  const TaskIndex* t = r->find(task);
  if (t == nullptr || t->detections == TaskIndex::kNone) return ARGUS_STATUS_UNKNOWN_TASK;
  *out = t;
  return ARGUS_STATUS_OK;
}

}  // namespace

extern "C" {

const char* argus_dtype_string(argus_dtype_t dtype) {
  return argus::dtype_name(static_cast<argus::DType>(dtype));
}

size_t argus_dtype_size(argus_dtype_t dtype) {
  return argus::dtype_size(static_cast<argus::DType>(dtype));
}

argus_status_t argus_result_num_tasks(const argus_result_t* result, size_t* count) {
  if (!result || !count) return ARGUS_STATUS_INVALID_ARGUMENT;
  *count = result->index.size();
  return ARGUS_STATUS_OK;
}

argus_status_t argus_result_task(const argus_result_t* result, size_t index, const char** task,
                                 const char** kind) {
  if (!result || index >= result->index.size()) return ARGUS_STATUS_INVALID_ARGUMENT;
  if (task) *task = result->index[index].task.c_str();
  if (kind) *kind = result->index[index].kind.c_str();
  return ARGUS_STATUS_OK;
}

argus_status_t argus_result_array(const argus_result_t* result, const char* task,
                                  const char* name, argus_array_t* array) {
  if (!result || !task || !name || !array) return ARGUS_STATUS_INVALID_ARGUMENT;
  const TaskIndex* t = result->find(task);
  const ArrayIndex* a = t ? t->find(name) : nullptr;
  if (a == nullptr) return ARGUS_STATUS_UNKNOWN_TASK;
  describe(result, *a, array);
  return ARGUS_STATUS_OK;
}

argus_status_t argus_result_num_arrays(const argus_result_t* result, const char* task,
                                       size_t* count) {
  if (!result || !task || !count) return ARGUS_STATUS_INVALID_ARGUMENT;
  const TaskIndex* t = result->find(task);
  if (t == nullptr) return ARGUS_STATUS_UNKNOWN_TASK;
  *count = t->arrays.size();
  return ARGUS_STATUS_OK;
}

argus_status_t argus_result_array_at(const argus_result_t* result, const char* task,
                                     size_t index, argus_array_t* array) {
  if (!result || !task || !array) return ARGUS_STATUS_INVALID_ARGUMENT;
  const TaskIndex* t = result->find(task);
  if (t == nullptr) return ARGUS_STATUS_UNKNOWN_TASK;
  if (index >= t->arrays.size()) return ARGUS_STATUS_INVALID_ARGUMENT;
  describe(result, t->arrays[index], array);
  return ARGUS_STATUS_OK;
}

argus_status_t argus_result_num_detections(const argus_result_t* result, const char* task,
                                           size_t* count) {
  const TaskIndex* t = nullptr;
  if (!count) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = detections_of(result, task, &t);
  if (s == ARGUS_STATUS_OK) *count = t->num_detections;
  return s;
}

argus_status_t argus_result_detections(const argus_result_t* result, const char* task,
                                       const argus_detection_t** detections, size_t* count) {
  const TaskIndex* t = nullptr;
  if (!detections || !count) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = detections_of(result, task, &t);
  if (s != ARGUS_STATUS_OK) return s;
  *detections = result->at<argus_detection_t>(t->detections);
  *count = t->num_detections;
  return s;
}

argus_status_t argus_result_masks(const argus_result_t* result, const char* task,
                                  const uint8_t** masks, size_t* count, int32_t* height,
                                  int32_t* width) {
  const ArrayIndex* a = nullptr;
  if (!masks || !count || !height || !width) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = lookup(result, task, "masks", ARGUS_DTYPE_UINT8, 3, &a);
  if (s != ARGUS_STATUS_OK) return s;
  *masks = result->at<uint8_t>(a->offset);
  *count = static_cast<size_t>(a->shape[0]);
  *height = static_cast<int32_t>(a->shape[1]);
  *width = static_cast<int32_t>(a->shape[2]);
  return s;
}

argus_status_t argus_result_label_map(const argus_result_t* result, const char* task,
                                      const int32_t** labels, int32_t* height, int32_t* width) {
  const ArrayIndex* a = nullptr;
  if (!labels || !height || !width) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = lookup(result, task, "label_map", ARGUS_DTYPE_INT32, 2, &a);
  if (s != ARGUS_STATUS_OK) return s;
  *labels = result->at<int32_t>(a->offset);
  *height = static_cast<int32_t>(a->shape[0]);
  *width = static_cast<int32_t>(a->shape[1]);
  return s;
}

argus_status_t argus_result_value_map(const argus_result_t* result, const char* task,
                                      const float** values, int32_t* height, int32_t* width) {
  const ArrayIndex* a = nullptr;
  if (!values || !height || !width) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = lookup(result, task, "value_map", ARGUS_DTYPE_FLOAT32, 2, &a);
  if (s != ARGUS_STATUS_OK) return s;
  *values = result->at<float>(a->offset);
  *height = static_cast<int32_t>(a->shape[0]);
  *width = static_cast<int32_t>(a->shape[1]);
  return s;
}

argus_status_t argus_result_classes(const argus_result_t* result, const char* task,
                                    const argus_class_score_t** classes, size_t* count) {
  if (!result || !task || !classes || !count) return ARGUS_STATUS_INVALID_ARGUMENT;
  const TaskIndex* t = result->find(task);
  if (t == nullptr || t->classes == TaskIndex::kNone) return ARGUS_STATUS_UNKNOWN_TASK;
  *classes = result->at<argus_class_score_t>(t->classes);
  *count = t->num_classes;
  return ARGUS_STATUS_OK;
}

argus_status_t argus_result_keypoints(const argus_result_t* result, const char* task,
                                      const argus_keypoint_t** keypoints, size_t* num_people,
                                      size_t* num_keypoints) {
  const ArrayIndex* a = nullptr;
  if (!keypoints || !num_people || !num_keypoints) return ARGUS_STATUS_INVALID_ARGUMENT;
  const argus_status_t s = lookup(result, task, "keypoints", ARGUS_DTYPE_FLOAT32, 3, &a);
  if (s != ARGUS_STATUS_OK) return s;
  if (a->shape[2] != 3) return ARGUS_STATUS_UNKNOWN_TASK;
  static_assert(sizeof(argus_keypoint_t) == 3 * sizeof(float), "keypoint layout");
  *keypoints = result->at<argus_keypoint_t>(a->offset);
  *num_people = static_cast<size_t>(a->shape[0]);
  *num_keypoints = static_cast<size_t>(a->shape[1]);
  return s;
}

}  // extern "C"
