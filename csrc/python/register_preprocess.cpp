#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <climits>
#include <new>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "core/image.h"
#include "core/preprocess.h"
#include "core/resize.h"
#include "core/status.h"
#include "core/transform.h"
#include "python/image_arg.h"
#include "python/registers.h"

namespace py = pybind11;

namespace argus::python {
namespace {

[[noreturn]] void fail(Status status, const std::string& message) { throw Error(status, message); }

std::string type_name(py::handle h) { return py::str(py::type::handle_of(h).attr("__name__")); }

std::string shape_str(const py::array& a) { return py::str(py::tuple(a.attr("shape"))); }

// C-contiguous version of `a` (itself when it already is).
py::array c_contiguous(const py::array& a) {
  py::array out = py::array::ensure(a, py::array::c_style);
  if (!out) throw std::bad_alloc();  // ensure() only fails to allocate the copy
  return out;
}

// (out_h, out_w) from any length-2 sequence of integers.
std::pair<int, int> parse_size(py::handle size) {
  const std::string text = py::repr(size);
  if (!py::isinstance<py::sequence>(size) || py::isinstance<py::str>(size) ||
      py::len(size) != 2) {
    fail(Status::InvalidArgument, "size must be a (height, width) pair of ints, got " + text);
  }
  int hw[2];
  for (int i = 0; i < 2; ++i) {
    py::object v = py::reinterpret_borrow<py::sequence>(size)[i];
    if (py::isinstance<py::bool_>(v) || !PyIndex_Check(v.ptr())) {
      fail(Status::InvalidArgument, "size must hold ints, got " + text);
    }
    const auto index = py::reinterpret_steal<py::object>(PyNumber_Index(v.ptr()));
    const long long n = index ? PyLong_AsLongLong(index.ptr()) : -1;
    if (PyErr_Occurred() || n <= 0 || n > INT_MAX) {
      PyErr_Clear();
      fail(Status::InvalidArgument, "size must be positive, got " + text);
    }
    hw[i] = static_cast<int>(n);
  }
  return {hw[0], hw[1]};
}

// Three finite floats (mean or std) from any length-3 sequence of numbers.
void parse_triple(py::handle seq, const char* name, float out[3]) {
  if (!py::isinstance<py::sequence>(seq) || py::isinstance<py::str>(seq) ||
      py::len(seq) != 3) {
    fail(Status::InvalidArgument, std::string(name) + " must be 3 numbers (R, G, B), got " +
                                      std::string(py::repr(seq)));
  }
  for (int i = 0; i < 3; ++i) {
    const double v = PyFloat_AsDouble(py::reinterpret_borrow<py::sequence>(seq)[i].ptr());
    if (PyErr_Occurred()) {
      PyErr_Clear();
      fail(Status::InvalidArgument, std::string(name) + " must hold numbers, got " +
                                        std::string(py::repr(seq)));
    }
    out[i] = static_cast<float>(v);
  }
}

ResizePolicy parse_policy(const std::string& policy) {
  if (policy != "letterbox" && policy != "stretch") {
    fail(Status::InvalidArgument, "policy must be 'letterbox' or 'stretch', got '" + policy + "'");
  }
  return policy == "letterbox" ? ResizePolicy::Letterbox : ResizePolicy::Stretch;
}

// The geometry preprocess() applies, without an image: training code places its
// samples with it so that train-time and run-time letterboxing are one computation.
Transform transform_for_py(py::handle image_size, py::handle size, const std::string& policy) {
  PreprocessParams params;
  std::tie(params.out_height, params.out_width) = parse_size(size);
  params.policy = parse_policy(policy);
  const auto [image_h, image_w] = parse_size(image_size);
  return compute_transform(image_w, image_h, params);
}

py::tuple preprocess_py(py::handle image, py::handle size, const std::string& policy,
                        const std::string& color, py::handle mean, py::handle std) {
  PreprocessParams params;
  std::tie(params.out_height, params.out_width) = parse_size(size);
  params.policy = parse_policy(policy);
  const ImageArg img = image_arg(image, pixel_format(color), /*copy_strided=*/true);
  parse_triple(mean, "mean", params.mean);
  parse_triple(std, "std", params.std);
  validate(params);

  const ImageView& view = img.view;

  py::array_t<float> out({py::ssize_t{3}, py::ssize_t{params.out_height},
                          py::ssize_t{params.out_width}});
  float* out_data = out.mutable_data();
  Transform transform;
  {
    py::gil_scoped_release release;
    preprocess(view, params, out_data, &transform);
  }
  return py::make_tuple(out, transform);
}

py::array resize_bilinear_py(py::handle x, py::handle size) {
  if (!py::isinstance<py::array>(x)) {
    fail(Status::InvalidArgument, "x must be a numpy.ndarray of float32, got " + type_name(x));
  }
  py::array a = py::reinterpret_borrow<py::array>(x);
  if (!a.dtype().equal(py::dtype::of<float>())) {  // also rejects non-native byte order
    fail(Status::InvalidArgument,
         "x dtype must be float32, got " + std::string(py::str(a.dtype())));
  }
  if (a.ndim() != 3 && a.ndim() != 4) {
    fail(Status::InvalidArgument, "x must be (C, H, W) or (N, C, H, W), got shape " + shape_str(a));
  }
  const auto [out_h, out_w] = parse_size(size);
  const py::ssize_t nd = a.ndim(), in_h = a.shape(nd - 2), in_w = a.shape(nd - 1);
  if (in_h <= 0 || in_w <= 0 || in_h > INT_MAX || in_w > INT_MAX) {
    fail(Status::InvalidArgument, "x has an empty or too large spatial size");
  }
  a = c_contiguous(a);
  std::vector<py::ssize_t> shape(a.shape(), a.shape() + nd);
  shape[nd - 2] = out_h;
  shape[nd - 1] = out_w;
  py::array_t<float> out(shape);
  const int64_t planes = a.size() / (in_h * in_w);
  const float* src = static_cast<const float*>(a.data());
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    resize_bilinear_aa(src, planes, static_cast<int>(in_h), static_cast<int>(in_w), dst, out_h,
                       out_w);
  }
  return std::move(out);
}

// Maps (N, cols) coordinates back to the image in T; boxes (cols == 4) are clipped.
template <typename T>
py::array_t<T> to_image_typed(const Transform& t, py::handle coords, int cols) {
  auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(coords);
  if (!a || a.ndim() != 2 || a.shape(1) != cols) {
    PyErr_Clear();
    fail(Status::InvalidArgument, "expected an array of shape (N, " + std::to_string(cols) + ")");
  }
  py::array_t<T> out({a.shape(0), py::ssize_t{cols}});
  const T* in = a.data();
  T* o = out.mutable_data();
  const T sx = t.scale_x, sy = t.scale_y, ox = t.offset_x, oy = t.offset_y;
  const T w = static_cast<T>(t.image_width), h = static_cast<T>(t.image_height);
  for (py::ssize_t i = 0; i < a.size(); i += 2) {
    T x = (in[i] - ox) / sx, y = (in[i + 1] - oy) / sy;
    if (cols == 4) {
      x = std::min(std::max(x, T(0)), w);
      y = std::min(std::max(y, T(0)), h);
    }
    o[i] = x;
    o[i + 1] = y;
  }
  return out;
}

py::array to_image(const Transform& t, py::handle coords, int cols) {
  const bool f32 = py::isinstance<py::array>(coords) &&
                   py::reinterpret_borrow<py::array>(coords).dtype().equal(py::dtype::of<float>());
  if (f32) return to_image_typed<float>(t, coords, cols);
  return to_image_typed<double>(t, coords, cols);
}

Transform make_transform(float sx, float sy, float ox, float oy, int w, int h) {
  if (!(sx > 0.0f) || !(sy > 0.0f) || !std::isfinite(sx) || !std::isfinite(sy) ||
      !std::isfinite(ox) || !std::isfinite(oy) || w < 0 || h < 0) {
    fail(Status::InvalidArgument, "Transform needs positive finite scales, finite offsets "
                                  "and non-negative image sizes");
  }
  return Transform{sx, sy, ox, oy, w, h};
}

std::string transform_repr(const Transform& t) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "Transform(scale_x=%.7g, scale_y=%.7g, offset_x=%.7g, offset_y=%.7g, "
                "image_width=%d, image_height=%d)",
                t.scale_x, t.scale_y, t.offset_x, t.offset_y, t.image_width, t.image_height);
  return buf;
}

void register_transform(py::module_& m) {
  py::class_<Transform>(m, "Transform",
                        "Affine map image -> tensor: tensor = image * scale + offset.")
      .def(py::init(&make_transform), py::arg("scale_x"), py::arg("scale_y"), py::arg("offset_x"),
           py::arg("offset_y"), py::arg("image_width"), py::arg("image_height"))
      .def_readonly("scale_x", &Transform::scale_x)
      .def_readonly("scale_y", &Transform::scale_y)
      .def_readonly("offset_x", &Transform::offset_x)
      .def_readonly("offset_y", &Transform::offset_y)
      .def_readonly("image_width", &Transform::image_width)
      .def_readonly("image_height", &Transform::image_height)
      .def_property_readonly("matrix", [](const Transform& t) {
        py::array_t<double> a({2, 3});
        double* d = a.mutable_data();
        const double v[6] = {t.scale_x, 0.0, t.offset_x, 0.0, t.scale_y, t.offset_y};
        std::copy(v, v + 6, d);
        return a;
      })
      .def("to_image_points", [](const Transform& t, py::handle p) { return to_image(t, p, 2); },
           py::arg("points"))
      .def("to_image_boxes", [](const Transform& t, py::handle b) { return to_image(t, b, 4); },
           py::arg("boxes"))
      .def("__repr__", &transform_repr);
}

}  // namespace

void register_preprocess(py::module_& m) {
  register_transform(m);
  m.def("preprocess", &preprocess_py, py::arg("image"), py::arg("size"),
        py::arg("policy") = "letterbox", py::arg("color") = "RGB",
        py::arg("mean") = py::make_tuple(123.675, 116.28, 103.53),
        py::arg("std") = py::make_tuple(58.395, 57.12, 57.375),
        "uint8 (H, W, 3) image -> (float32 (3, H, W) RGB tensor, Transform).");
  m.def("transform_for", &transform_for_py, py::arg("image_size"), py::arg("size"),
        py::arg("policy") = "letterbox",
        "The Transform preprocess() would use for an image of image_size (H, W).");
  m.def("resize_bilinear", &resize_bilinear_py, py::arg("x"), py::arg("size"),
        "Antialiased bilinear resize of float32 (C, H, W) or (N, C, H, W) arrays.");
}

}  // namespace argus::python
