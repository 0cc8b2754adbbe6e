// Image arguments of the Python binding; see image_arg.h.
#include "python/image_arg.h"

#include <climits>
#include <new>

#include "core/status.h"

namespace py = pybind11;

namespace argus::python {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Status::Image, message); }

std::string shape_str(const py::array& a) { return py::str(py::tuple(a.attr("shape"))); }

}  // namespace

ImageArg image_arg(py::handle object, PixelFormat format, bool copy_strided) {
  if (!py::isinstance<py::array>(object)) {
    fail("image must be a numpy.ndarray of uint8 (H, W, 3), got " +
         std::string(py::str(py::type::handle_of(object).attr("__name__"))));
  }
  py::array a = py::reinterpret_borrow<py::array>(object);
  if (a.dtype().kind() != 'u' || a.itemsize() != 1) {
    fail("image dtype must be uint8, got " + std::string(py::str(a.dtype())));
  }
  if (a.ndim() != 3 || a.shape(2) != 3) {
    fail("image must have shape (H, W, 3), got " + shape_str(a));
  }
  if (a.shape(0) <= 0 || a.shape(1) <= 0) fail("image is empty: shape " + shape_str(a));
  if (a.shape(0) > INT_MAX || a.shape(1) > INT_MAX / 3) fail("image too large: " + shape_str(a));
  const bool rows_ok = a.strides(2) == 1 && a.strides(1) == 3 && a.strides(0) >= 3 * a.shape(1);
  if (!rows_ok) {
    if (!copy_strided) {
      fail("image pixels must be contiguous (3 bytes per pixel, rows top to bottom): use "
           "np.ascontiguousarray");
    }
    a = py::array::ensure(a, py::array::c_style);
    if (!a) throw std::bad_alloc();  // ensure() only fails to allocate the copy
  }
  ImageArg out{a, ImageView{}};
  out.view.data = static_cast<const uint8_t*>(a.data());
  out.view.height = static_cast<int>(a.shape(0));
  out.view.width = static_cast<int>(a.shape(1));
  out.view.stride_bytes = static_cast<int64_t>(a.strides(0));
  out.view.format = format;
  return out;
}

PixelFormat pixel_format(const std::string& color) {
  if (color == "RGB") return PixelFormat::RGB8;
  if (color == "BGR") return PixelFormat::BGR8;
  throw Error(Status::InvalidArgument, "color must be 'RGB' or 'BGR', got '" + color + "'");
}

}  // namespace argus::python
