// One function per area of the argus_edge._core module; module.cpp calls them in order.
#pragma once

#include <pybind11/pybind11.h>

namespace argus::python {

// Translates argus::Error to argus_edge._errors.STATUS_TO_ERROR[code],
// std::bad_alloc to MemoryError and other std::exception to ArgusError.
void register_errors(pybind11::module_& m);

// Transform, preprocess() and resize_bilinear().
void register_preprocess(pybind11::module_& m);

}  // namespace argus::python
