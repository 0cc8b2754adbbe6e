// Conversions between the session area's C++ values and Python objects, and decoder
// kinds written in Python (used by register_session.cpp).
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "core/json.h"
#include "session/result.h"
#include "session/task_spec.h"

namespace argus::python {

// A JSON value as dict / list / str / int / float / bool / None.
pybind11::object json_to_python(const json::Value& value);
// (kind, {name: ndarray}); the arrays take over the result's buffers.
pybind11::tuple result_to_python(TaskResult&& result);
// The generic fields of a task: name, kind, graph, backbone, input_size, classes, params,
// needs.
pybind11::dict task_spec_to_python(const TaskSpec& spec);
// [{"name", "dtype", "shape"}] (dims as ints or names).
pybind11::list array_specs_to_python(const std::vector<ArraySpec>& specs);
// The backend registry as a list of dicts, in "auto" order.
pybind11::list backends_to_python();
// {kind: array specs} of the decoder registry.
pybind11::dict decoder_kinds_to_python();
// Registers a Python decode function as a decoder kind of whole-image heads.
void register_python_decoder(const std::string& kind, const pybind11::list& results,
                             const pybind11::object& decode);

}  // namespace argus::python
