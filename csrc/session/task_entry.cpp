// One task entry of the manifest in the form the Session reads (task_spec.h):
//
//   {"kind", "graph", "backbone", "input_size", "classes",
//    "params": {the "postprocess" object + the entry's other kind fields},
//    "results": [...], "needs": [...]}
//
// Format 1.1 entries name their "kind" and "needs"; the kind's parameters stay where 1.0
// had them ("postprocess", and pose's "keypoints", "skeleton", "flip_pairs" beside it), so
// that a 1.0 runtime still runs a 1.1 bundle's tasks. Format 1.0 entries have no kind:
// the runtime of 1.0 dispatched on the task key. This file is the one place that knows
// those keys: it gives such an entry the kind of its key and, for the 1.0 pose, the need
// its "person_source" / "person_class" / "box_padding" postprocess fields described.
#include <cstdio>
#include <map>
#include <string>

#include "core/status.h"
#include "session/manifest_read.h"
#include "session/task_spec.h"

namespace argus {

namespace {

struct V1Task {
  const char* kind;   // its decoder kind
  bool crops_people;  // ran on person crops from another task (the 1.0 pose)
};

// Every task key a 1.0 runtime knew.
const std::map<std::string, V1Task>& v1_tasks() {
  static const std::map<std::string, V1Task> tasks = {
      {"det", {"dense_detection", false}},  {"inst", {"prototype_masks", false}},
      {"sem", {"label_map", false}},        {"parts", {"label_map", false}},
      {"depth", {"value_map", false}},      {"cls", {"classification", false}},
      {"pose", {"topdown_keypoints", true}}};
  return tasks;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// The 1.0 person source of a crop-based task, with the 1.0 runtime's defaults.
std::string person_need(const json::Value* post) {
  return "[{\"task\":" + json::quote(manifest::string_or(post, "person_source", "det")) +
         ",\"arrays\":[\"boxes\",\"scores\",\"labels\"],\"class\":" +
         json::quote(manifest::string_or(post, "person_class", "person")) +
         ",\"crop\":{\"padding\":" + number(manifest::number_or(post, "box_padding", 1.25)) +
         "}}]";
}

// Keys that keep their place (the rest of the entry goes into "params").
bool generic_key(const std::string& key) {
  for (const char* k : {"kind", "graph", "backbone", "input_size", "classes", "outputs",
                        "results", "needs", "postprocess"}) {
    if (key == k) return true;
  }
  return false;
}

}  // namespace

std::unique_ptr<const json::Value> normalize_task(const std::string& name,
                                                  const json::Value& entry) {
  if (!entry.is_object()) throw Error(Status::Bundle, "task '" + name + "' must be an object");
  const auto known = v1_tasks().find(name);
  const V1Task v1 = known == v1_tasks().end() ? V1Task{"", false} : known->second;
  const bool has_kind = entry.find("kind") != nullptr;
  std::string text = "{";
  if (!has_kind) text += "\"kind\":" + json::quote(v1.kind) + ",";
  std::string params;
  const json::Value* post = manifest::object_or_null(&entry, "postprocess");
  for (size_t i = 0; post && i < post->size(); ++i) {
    params += (params.empty() ? "" : ",") + json::quote(post->keys()[i]) + ":" +
              json::dump(post->items()[i]);
  }
  for (size_t i = 0; i < entry.size(); ++i) {
    const std::string& key = entry.keys()[i];
    const std::string value = json::dump(entry.items()[i]);
    if (generic_key(key)) {
      if (key != "postprocess") text += json::quote(key) + ":" + value + ",";
    } else if (!post || !post->find(key)) {
      params += (params.empty() ? "" : ",") + json::quote(key) + ":" + value;
    }
  }
  text += "\"params\":{" + params + "}";
  if (!has_kind && !entry.find("needs") && v1.crops_people) {
    text += ",\"needs\":" + person_need(post);
  }
  return json::parse(text + "}");
}

}  // namespace argus
