// argus_edge._core: the bundle area, BundleReader over the C++ reader (core/bundle.h).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <utility>

#include "core/bundle.h"
#include "python/registers.h"

namespace py = pybind11;

namespace argus::python {
namespace {

// An open, verified bundle; blob views keep it (and so the file mapping) alive.
struct BundleReader {
  Bundle bundle;
  std::string path;  // as given, decoded with os.fsdecode
};

// BundleNotFoundError(message, filename), which is also a FileNotFoundError.
[[noreturn]] void raise_not_found(const std::string& message, const std::string& path) {
  py::object cls = py::module_::import("argus_edge._errors").attr("BundleNotFoundError");
  py::object error = cls(message, path);
  PyErr_SetObject(cls.ptr(), error.ptr());
  throw py::error_already_set();
}

std::unique_ptr<BundleReader> open_reader(const py::object& path, bool verify) {
  py::module_ os = py::module_::import("os");
  const std::string native = py::bytes(os.attr("fsencode")(path));  // str, bytes, PathLike
  const std::string shown = py::str(os.attr("fsdecode")(path));
  try {
    py::gil_scoped_release release;  // hashing a large bundle takes a while
    return std::make_unique<BundleReader>(BundleReader{Bundle::open(native, verify), shown});
  } catch (const BundleNotFoundError& e) {
    raise_not_found(e.what(), shown);
  }
}

// A read-only memoryview of blob `name`, sharing the mapping (no copy); its buffer
// owner is a uint8 array whose base is the reader, so the reader outlives the view.
py::memoryview blob_view(const py::object& self, const std::string& name) {
  const BundleReader& reader = self.cast<const BundleReader&>();
  const ByteSpan span = reader.bundle.blob(name);
  static const uint8_t kEmpty = 0;  // numpy wants a pointer even for 0 bytes
  py::array array(py::dtype::of<uint8_t>(), {static_cast<py::ssize_t>(span.size)}, {1},
                  span.size ? span.data : &kEmpty, self);
  array.attr("setflags")(py::arg("write") = false);
  return py::memoryview(array);
}

std::string reader_repr(const BundleReader& r) {
  const BundleVersion v = r.bundle.version();
  return "BundleReader(" + std::string(py::repr(py::str(r.path))) + ", version=" +
         std::to_string(v.major) + "." + std::to_string(v.minor) +
         ", blobs=" + std::to_string(r.bundle.blobs().size()) + ")";
}

}  // namespace

void register_bundle(py::module_& m) {
  py::class_<BundleReader>(m, "BundleReader",
                           "A verified, memory-mapped .engine bundle read by libargus.")
      .def(py::init(&open_reader), py::arg("path"), py::arg("verify") = true)
      .def_property_readonly("path", [](const BundleReader& r) { return r.path; })
      .def_property_readonly("size", [](const BundleReader& r) { return r.bundle.file_size(); })
      .def_property_readonly("version", [](const BundleReader& r) {
        return py::make_tuple(r.bundle.version().major, r.bundle.version().minor);
      })
      .def_property_readonly("manifest_json", [](const BundleReader& r) {
        const std::string_view text = r.bundle.manifest_text();
        return py::str(text.data(), text.size());
      })
      .def_property_readonly("sha256", [](const BundleReader& r) {
        py::gil_scoped_release release;
        return r.bundle.sha256();
      })
      .def("blob_names", [](const BundleReader& r) {
        py::list names;
        for (const BlobInfo& b : r.bundle.blobs()) names.append(py::str(b.name));
        return names;
      })
      .def("blob", &blob_view, py::arg("name"))
      .def("verify", [](const BundleReader& r) {
        py::gil_scoped_release release;
        r.bundle.verify();
      })
      .def("__repr__", &reader_repr);
}

}  // namespace argus::python
