// One function per area of the argus_edge._core module; module.cpp calls them in order.
#pragma once

#include <pybind11/pybind11.h>

namespace argus::python {

// Translates argus::Error to argus_edge._errors.STATUS_TO_ERROR[code],
// std::bad_alloc to MemoryError and other std::exception to ArgusError.
void register_errors(pybind11::module_& m);

// Transform, preprocess() and resize_bilinear().
void register_preprocess(pybind11::module_& m);

// The C++ bundle reader (csrc/core/bundle.h).
void register_bundle(pybind11::module_& m);

// Post-processing kernels: box decoding, NMS, masks, heatmap decoding (csrc/kernels/).
void register_kernels(pybind11::module_& m);

// The fused scaled deformable attention kernel (csrc/ops/).
void register_deform(pybind11::module_& m);

// argus::Session with a libargus or a Python backend (csrc/session/).
void register_session(pybind11::module_& m);

}  // namespace argus::python
