// argus_edge._core: the compiled half of argus_edge. The public API is the pure-Python
// package on top of it; each register_* adds one area.
#include "python/registers.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "argus-edge C++ core (libargus bindings). Use the argus_edge package instead.";
  argus::python::register_errors(m);
  argus::python::register_preprocess(m);
  argus::python::register_bundle(m);
  argus::python::register_kernels(m);
  argus::python::register_deform(m);
  argus::python::register_session(m);
}
