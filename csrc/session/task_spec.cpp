// Reading the manifest's tasks; see task_spec.h.
#include "session/task_spec.h"

#include "core/status.h"
#include "session/manifest_read.h"

namespace argus {

namespace {

[[noreturn]] void fail(const std::string& task, const std::string& what) {
  throw Error(Status::Bundle, "task '" + task + "': " + what);
}

std::string required_string(const json::Value& entry, const char* key, const std::string& task) {
  const std::string value = manifest::string_or(&entry, key, "");
  if (value.empty()) fail(task, std::string("'") + key + "' must be a non-empty string");
  return value;
}

std::vector<ArraySpec> read_declared(const json::Value& entry, const std::string& task) {
  std::vector<ArraySpec> out;
  const json::Value* results = entry.find("results");
  if (!results || results->is_null()) return out;
  if (!results->is_array()) fail(task, "'results' must be an array");
  for (const json::Value& item : results->items()) {
    if (!item.is_object()) fail(task, item.path() + " must be an object");
    ArraySpec spec;
    spec.name = required_string(item, "name", task);
    spec.dtype = parse_dtype(required_string(item, "dtype", task));
    const json::Value* shape = item.find("shape");
    if (!shape || !shape->is_array()) fail(task, item.path() + ".shape must be an array");
    for (const json::Value& d : shape->items()) {
      if (d.is_integer() && d.as_int() >= 0) {
        spec.dims.push_back(std::to_string(d.as_int()));
      } else if (d.is_string() && !d.as_string().empty()) {
        spec.dims.push_back(d.as_string());
      } else {
        fail(task, d.path() + " must be a non-negative int or a dim name");
      }
    }
    out.push_back(std::move(spec));
  }
  return out;
}

std::vector<TaskNeed> read_needs(const json::Value& entry, const std::string& task) {
  std::vector<TaskNeed> out;
  const json::Value* needs = entry.find("needs");
  if (!needs || needs->is_null()) return out;
  if (!needs->is_array()) fail(task, "'needs' must be an array");
  for (const json::Value& item : needs->items()) {
    if (!item.is_object()) fail(task, item.path() + " must be an object");
    TaskNeed need;
    need.task = required_string(item, "task", task);
    if (need.task == task) fail(task, "a task cannot need itself");
    need.arrays = manifest::strings_or(&item, "arrays", {});
    need.entry = &item;
    out.push_back(std::move(need));
  }
  return out;
}

TaskSpec read_task(const Bundle& bundle, const std::string& name, const json::Value& entry) {
  if (!entry.is_object()) fail(name, "must be an object");
  TaskSpec spec;
  spec.name = name;
  spec.entry = &entry;
  spec.kind = manifest::string_or(&entry, "kind", "");  // "": a 1.0 key 1.0 did not know
  spec.graph = required_string(entry, "graph", name);
  spec.backbone = manifest::string_or(&entry, "backbone", "");
  for (const std::string* graph : {&spec.graph, &spec.backbone}) {
    if (!graph->empty() && !bundle.graphs().find(*graph)) {
      fail(name, "graph '" + *graph + "' is not an entry of 'graphs'");
    }
  }
  std::vector<int64_t> size = manifest::ints_or(&entry, "input_size", {});
  if (size.empty()) size = manifest::ints_or(&bundle.graph(spec.graph), "input_size", {});
  if (size.size() != 2 || size[0] <= 0 || size[1] <= 0 || size[0] > (1 << 16) ||
      size[1] > (1 << 16)) {
    fail(name, "has no valid input_size (two ints in 1..65536)");
  }
  spec.input_h = static_cast<int>(size[0]);
  spec.input_w = static_cast<int>(size[1]);
  spec.classes = manifest::strings_or(&entry, "classes", {});
  spec.params = manifest::object_or_null(&entry, "params");
  spec.needs = read_needs(entry, name);
  spec.declared = read_declared(entry, name);
  return spec;
}

}  // namespace

std::string results_json(const std::vector<ArraySpec>& specs) {
  std::string out = "[";
  for (const ArraySpec& s : specs) {
    if (out.size() > 1) out += ",";
    out += "{\"name\":" + json::quote(s.name) + ",\"dtype\":\"" + dtype_name(s.dtype) +
           "\",\"shape\":[";
    for (size_t i = 0; i < s.dims.size(); ++i) {
      const std::string& d = s.dims[i];
      const bool number = !d.empty() && d.find_first_not_of("0123456789") == std::string::npos;
      out += (i ? "," : "") + (number ? d : json::quote(d));
    }
    out += "]}";
  }
  return out + "]";
}

const TaskSpec* TaskTable::find(const std::string& name) const noexcept {
  for (const TaskSpec& t : tasks) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TaskTable read_tasks(const Bundle& bundle) {
  TaskTable table;
  const json::Value& tasks = bundle.tasks();
  for (size_t i = 0; i < tasks.size(); ++i) {
    const std::string& name = tasks.keys()[i];
    table.normalized.push_back(normalize_task(name, tasks.items()[i]));
    table.tasks.push_back(read_task(bundle, name, *table.normalized.back()));
  }
  for (TaskSpec& task : table.tasks) {
    for (TaskNeed& need : task.needs) {
      if (const TaskSpec* source = table.find(need.task)) need.classes = source->classes;
    }
  }
  return table;
}

}  // namespace argus
