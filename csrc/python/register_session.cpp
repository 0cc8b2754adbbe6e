// argus_edge._core: the session area: argus::Session (csrc/session/session.h) with a
// libargus backend or a backend written in Python (the ONNX Runtime runner of
// argus_edge), results as numpy arrays that own the C++ buffers (no copies).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "core/status.h"
#include "session/session.h"
#include "python/registers.h"

namespace py = pybind11;

namespace argus::python {
namespace {

// A Backend whose graphs a Python object runs:
//   name: str                                   (the manifest's variant "backend")
//   load_graph(graph: str, variant: str) -> None
//   run(graph: str, inputs: dict[str, ndarray]) -> dict[str, ndarray]   (float32 NCHW)
// The Session calls it without the GIL held; each call takes the GIL. The inputs are
// read-only views of the Session's buffers, valid during the call only.
class PyBackend final : public Backend {
 public:
  explicit PyBackend(py::object impl)
      : impl_(std::move(impl)), name_(py::str(impl_.attr("name"))) {}

  ~PyBackend() override {
    py::gil_scoped_acquire gil;
    impl_ = py::object();
  }

  const char* name() const noexcept override { return name_.c_str(); }

  void load_graph(const Bundle& /*bundle*/, const std::string& graph,
                  const std::string& variant) override {
    py::gil_scoped_acquire gil;
    impl_.attr("load_graph")(graph, variant);
  }

  Tensors run(const std::string& graph, const TensorViews& inputs) override {
    py::gil_scoped_acquire gil;
    py::dict feeds;
    py::capsule borrowed(&inputs, [](void*) {});  // the Session owns the data
    for (const auto& [name, view] : inputs) {
      std::vector<py::ssize_t> shape(view.shape.begin(), view.shape.end());
      py::array_t<float> array(shape, view.data, borrowed);
      array.attr("setflags")(py::arg("write") = false);
      feeds[py::str(name)] = std::move(array);
    }
    py::object result = impl_.attr("run")(graph, feeds);
    Tensors outputs;
    for (const auto& [key, value] : py::cast<py::dict>(result)) {
      auto array = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(value);
      if (!array) throw Error(Status::Internal, "backend output is not a float32 array");
      Tensor t;
      t.shape.assign(array.shape(), array.shape() + array.ndim());
      t.data.assign(array.data(), array.data() + array.size());
      outputs.emplace(py::cast<std::string>(key), std::move(t));
    }
    return outputs;
  }

 private:
  py::object impl_;
  std::string name_;
};

// An ndarray that owns `values` (moved to the heap; freed with the array).
template <class T, class U = T>
py::array take(std::vector<T>&& values, std::vector<py::ssize_t> shape) {
  static_assert(sizeof(T) % sizeof(U) == 0, "element type must tile the vector's type");
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<U>(shape, reinterpret_cast<const U*>(owned->data()), owner);
}

py::dict task_dict(TaskResult&& r) {
  const auto n = py::ssize_t(r.detections.size());
  py::dict d;
  d["task"] = r.task;
  d["boxes"] = take<Box, float>(std::move(r.detections.boxes), {n, 4});
  d["scores"] = take(std::move(r.detections.scores), {n});
  d["labels"] = take(std::move(r.detections.labels), {n});
  const py::ssize_t h = r.map_height, w = r.map_width;
  if (!r.masks.empty() || r.task == "inst") d["masks"] = take(std::move(r.masks), {n, h, w});
  if (!r.label_map.empty()) d["label_map"] = take(std::move(r.label_map), {h, w});
  if (!r.value_map.empty()) d["value_map"] = take(std::move(r.value_map), {h, w});
  if (r.task == "cls") {
    const auto k = py::ssize_t(r.class_labels.size());
    d["class_labels"] = take(std::move(r.class_labels), {k});
    d["class_scores"] = take(std::move(r.class_scores), {k});
  }
  if (r.task == "pose") {
    const auto k = py::ssize_t(r.num_keypoints);
    d["keypoints"] = take(std::move(r.keypoints), {n, k, 2});
    d["keypoint_scores"] = take(std::move(r.keypoint_scores), {n, k});
  }
  return d;
}

// A (H, W, 3) uint8 array with 3 contiguous bytes per pixel as an ImageView.
ImageView image_view(const py::handle& object, PixelFormat format) {
  if (!py::isinstance<py::array>(object)) {
    throw Error(Status::Image, "image must be a numpy array, got " +
                                   std::string(py::str(py::type::of(object).attr("__name__"))));
  }
  py::array a = py::reinterpret_borrow<py::array>(object);
  if (!a.dtype().is(py::dtype::of<uint8_t>())) {
    throw Error(Status::Image, "image dtype must be uint8, got " + std::string(py::str(a.dtype())));
  }
  if (a.ndim() != 3 || a.shape(2) != 3) {
    throw Error(Status::Image, "image must have shape (height, width, 3)");
  }
  if (a.strides(2) != 1 || a.strides(1) != 3 || a.strides(0) < 0) {
    throw Error(Status::Image, "image pixels must be contiguous (3 bytes per pixel, "
                               "rows top to bottom): use np.ascontiguousarray");
  }
  if (a.shape(0) > INT32_MAX || a.shape(1) > INT32_MAX) throw Error(Status::Image, "image too large");
  ImageView view;
  view.data = static_cast<const uint8_t*>(a.data());
  view.height = int(a.shape(0));
  view.width = int(a.shape(1));
  view.stride_bytes = int64_t(a.strides(0));
  view.format = format;
  return view;
}

PixelFormat pixel_format(const std::string& color) {
  if (color == "RGB") return PixelFormat::RGB8;
  if (color == "BGR") return PixelFormat::BGR8;
  throw Error(Status::InvalidArgument, "color must be 'RGB' or 'BGR', got '" + color + "'");
}

std::unique_ptr<Session> open_session(const std::string& path, const py::object& backend,
                                      SessionOptions options) {
  if (py::isinstance<py::str>(backend)) {
    options.backend = py::cast<std::string>(backend);
    py::gil_scoped_release release;  // verifying a large bundle takes a while
    return std::make_unique<Session>(path, options);
  }
  auto impl = std::make_unique<PyBackend>(backend);
  py::gil_scoped_release release;
  return std::make_unique<Session>(path, std::move(impl), options);
}

py::list run_batch(Session& session, const py::list& images,
                   const std::vector<std::string>& tasks, const std::string& color) {
  const PixelFormat format = pixel_format(color);
  std::vector<ImageView> views;
  for (const py::handle& image : images) views.push_back(image_view(image, format));
  std::vector<Results> results;
  {
    py::gil_scoped_release release;  // `images` (held by the caller) keeps the pixels
    results = session.run_batch(views, tasks);
  }
  py::list out;
  for (Results& r : results) {
    py::dict tasks_out;
    for (TaskResult& t : r.tasks) {
      const std::string name = t.task;
      tasks_out[py::str(name)] = task_dict(std::move(t));
    }
    out.append(py::make_tuple(py::make_tuple(r.image_height, r.image_width), tasks_out));
  }
  return out;
}

}  // namespace

void register_session(py::module_& m) {
  m.def("backend_available", &backend_available, py::arg("backend"),
        "Whether libargus was built with the backend (\"openvino\", ...).");

  py::class_<Session>(m, "Session",
                      "argus::Session: one bundle on one backend (csrc/session/session.h).")
      .def(py::init([](const py::object& path, const py::object& backend, const std::string& device,
                       int threads, int streams, const std::string& precision_hint,
                       const std::string& variant, const std::vector<std::string>& extensions,
                       double score_threshold) {
             SessionOptions o;
             o.variant = variant;
             o.score_threshold = score_threshold;
             o.backend_options.device = device;
             o.backend_options.threads = threads;
             o.backend_options.streams = streams;
             o.backend_options.precision_hint = precision_hint;
             o.backend_options.extensions = extensions;
             const std::string native =
                 py::bytes(py::module_::import("os").attr("fsencode")(path));
             return open_session(native, backend, o);
           }),
           py::arg("path"), py::arg("backend") = "openvino", py::kw_only(),
           py::arg("device") = "CPU", py::arg("threads") = 0, py::arg("streams") = 0,
           py::arg("precision_hint") = "f32", py::arg("variant") = "",
           py::arg("extensions") = std::vector<std::string>{},
           py::arg("score_threshold") = -1.0,
           "Opens a bundle. `backend` is a libargus backend name or a Python object with "
           "`name`, `load_graph(graph, variant)` and `run(graph, inputs) -> outputs`.")
      .def_property_readonly("backend", &Session::backend_name)
      .def_property_readonly("tasks", &Session::tasks)
      .def("class_names", &Session::class_names, py::arg("task"))
      .def("run_batch", &run_batch, py::arg("images"), py::arg("tasks"),
           py::arg("color") = "RGB",
           "Runs `tasks` on a list of (H, W, 3) uint8 images as one batch. Returns one "
           "((height, width), {task: {name: ndarray}}) per image.")
      .def("graph_calls", &Session::graph_calls)
      .def("graph_seconds", &Session::graph_seconds)
      .def("reset_graph_calls", &Session::reset_graph_calls);
}

}  // namespace argus::python
