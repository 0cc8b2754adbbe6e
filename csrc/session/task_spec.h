// The tasks of a bundle's manifest as the Session uses them (docs/bundle_format.md §3.5):
// each task names its decoder kind, the kind's parameters, the arrays it returns and
// what it needs from other tasks (format 1.1). Format 1.0 tasks, which had no kind, are
// read through the same form (task_entry.cpp).
//
// Ownership: a TaskTable owns the normalized JSON of its tasks; every json::Value pointer
// of its TaskSpecs points into it. Thread safety: immutable after read_tasks().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/bundle.h"
#include "core/json.h"
#include "session/result.h"

namespace argus {

// One array a decoder kind returns: its name, dtype and dims. A dim is a number ("4") or
// a name standing for a size known per result ("n" instances, "h"/"w" image height and
// width, "k" keypoints or top-k).
struct ArraySpec {
  std::string name;
  DType dtype = DType::Float32;
  std::vector<std::string> dims;
};

// `specs` as the manifest's "results" JSON array.
std::string results_json(const std::vector<ArraySpec>& specs);

// What one task needs from another (an entry of the manifest's "needs").
struct TaskNeed {
  std::string task;                   // the task whose results are read
  std::vector<std::string> arrays;    // which of its arrays (checked against its kind)
  const json::Value* entry = nullptr;  // the whole entry: kind-specific fields ("class", "crop")
  std::vector<std::string> classes;   // that task's class names (empty if it has none or
                                      // is not in the bundle)
};

// One task of the manifest.
struct TaskSpec {
  std::string name;                     // the task key ("det", "faces", ...)
  std::string kind;                     // the decoder kind ("dense_detection", ...)
  std::string graph;                    // the head graph
  std::string backbone;                 // the graph whose outputs feed the head ("" if none)
  int input_h = 0;                      // the head's input size (the image tasks' letterbox,
  int input_w = 0;                      // or the crop size of crop-based kinds)
  std::vector<std::string> classes;     // class names ("classes"), may be empty
  const json::Value* params = nullptr;  // the kind's parameters (an object), or null
  std::vector<TaskNeed> needs;
  std::vector<ArraySpec> declared;      // the manifest's "results" (1.x: none declared)
  const json::Value* entry = nullptr;   // the task object (normalized, task_entry.cpp)
};

// The tasks of one bundle.
struct TaskTable {
  std::vector<TaskSpec> tasks;                                // manifest order
  std::vector<std::unique_ptr<const json::Value>> normalized;  // the entries, as read

  // The task `name`, or null.
  const TaskSpec* find(const std::string& name) const noexcept;
};

// Every task of `bundle`, checked: types of the generic fields, graphs that exist,
// needs that name tasks of the bundle, an input size for every task. Throws
// Error(Status::Bundle) naming the task and field.
TaskTable read_tasks(const Bundle& bundle);

// A task entry in the form above (task_entry.cpp): "postprocess" and the entry's other
// kind fields merged into "params"; a 1.0 entry (no "kind") gets the kind of its task key
// ("" for keys 1.0 never had) and the 1.0 pose its person source as a need.
// Throws Error(Status::Bundle).
std::unique_ptr<const json::Value> normalize_task(const std::string& name,
                                                  const json::Value& entry);

}  // namespace argus
