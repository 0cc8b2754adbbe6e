#include <new>
#include <string>

#include "core/bundle.h"
#include "core/status.h"
#include "python/registers.h"

namespace py = pybind11;

namespace argus::python {
namespace {

constexpr int kArgusError = -1;  // not a status: the ArgusError base class

// Raises STATUS_TO_ERROR[code] (or ArgusError) from argus_edge._errors. The module is
// imported at the first error, not at module init, so that _core does not depend on
// the order in which the package imports its parts.
void set_argus_error(int code, const char* message) {
  try {
    py::module_ errors = py::module_::import("argus_edge._errors");
    py::object cls = code == kArgusError
                         ? py::object(errors.attr("ArgusError"))
                         : py::object(errors.attr("STATUS_TO_ERROR")[py::int_(code)]);
    PyErr_SetString(cls.ptr(), message);
  } catch (const py::error_already_set&) {
    // argus_edge._errors is missing or broken: still report the original failure.
    PyErr_SetString(PyExc_RuntimeError, message);
  }
}

// BundleNotFoundError(message, filename): also a FileNotFoundError with its filename.
void set_not_found(const char* message, const std::string& path) {
  try {
    py::object cls = py::module_::import("argus_edge._errors").attr("BundleNotFoundError");
    py::object error = cls(message, path);
    PyErr_SetObject(cls.ptr(), error.ptr());
  } catch (const py::error_already_set&) {
    PyErr_SetString(PyExc_FileNotFoundError, message);
  }
}

}  // namespace

void register_errors(py::module_& /*m*/) {
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const argus::BundleNotFoundError& e) {
      set_not_found(e.what(), e.path());
    } catch (const argus::Error& e) {
      set_argus_error(e.code(), e.what());
    } catch (const py::error_already_set&) {
      throw;  // a Python error raised inside C++: pybind11 restores it as is
    } catch (const py::builtin_exception&) {
      throw;  // pybind11's own (TypeError, IndexError, ...): its translator handles them
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "argus: out of memory");
    } catch (const std::exception& e) {
      set_argus_error(kArgusError, e.what());
    }
  });
}

}  // namespace argus::python
