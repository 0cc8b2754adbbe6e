// argus_edge._core: the session area: argus::Session (csrc/session/session.h) with the
// backends libargus builds in or Python provides (the ONNX Runtime runner of argus_edge),
// the backend and decoder-kind registries, decoders written in Python, and results as
// named numpy arrays that own the C++ buffers (no copies).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/registry.h"
#include "core/status.h"
#include "python/image_arg.h"
#include "python/registers.h"
#include "python/session_values.h"
#include "session/decoder.h"
#include "session/session.h"

namespace py = pybind11;

namespace argus::python {
namespace {

// A Backend whose graphs a Python object runs:
//   load_graph(graph: str, variant: str, blobs: dict[str, memoryview]) -> None
//   run(graph: str, inputs: dict[str, ndarray]) -> dict[str, ndarray]   (float32 NCHW)
// The blobs are read-only views of the bundle, valid during load_graph only. The Session
// calls it without the GIL held; each call takes the GIL. Inputs are read-only views of
// the Session's buffers, valid during the call only.
class PyBackend final : public Backend {
 public:
  PyBackend(py::object impl, std::string name) : impl_(std::move(impl)), name_(std::move(name)) {}

  ~PyBackend() override {
    py::gil_scoped_acquire gil;
    impl_ = py::object();
  }

  const char* name() const noexcept override { return name_.c_str(); }

  void load_graph(const Bundle& bundle, const std::string& graph,
                  const std::string& variant) override {
    py::gil_scoped_acquire gil;
    py::dict blobs;
    const json::Value& roles = bundle.graph(graph).at("variants").at(variant).at("blobs");
    for (size_t i = 0; i < roles.size(); ++i) {
      static const uint8_t kEmpty = 0;  // a pointer even for an empty blob
      const ByteSpan span = bundle.blob(roles.items()[i].as_string());
      blobs[py::str(roles.keys()[i])] = py::memoryview::from_memory(
          static_cast<const void*>(span.size ? span.data : &kEmpty),
          static_cast<py::ssize_t>(span.size));
    }
    impl_.attr("load_graph")(graph, variant, blobs);
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

// providers: {backend name: factory(options: dict) -> backend object, or str: why the
// host cannot provide it}.
HostBackends host_backends(const py::dict& providers) {
  HostBackends host;
  for (const auto& [key, value] : providers) {
    const std::string name = py::cast<std::string>(key);
    if (py::isinstance<py::str>(value)) {
      host.unavailable[name] = py::cast<std::string>(value);
      continue;
    }
    auto factory = std::make_shared<py::object>(py::reinterpret_borrow<py::object>(value));
    host.factories[name] = [factory, name](const BackendOptions& o) -> std::unique_ptr<Backend> {
      py::gil_scoped_acquire gil;
      py::dict options;
      options["device"] = o.device;
      options["threads"] = o.threads;
      options["streams"] = o.streams;
      options["performance"] = o.performance;
      py::object impl = (*factory)(options);
      auto backend = std::make_unique<PyBackend>(std::move(impl), name);
      return backend;
    };
  }
  return host;
}

std::unique_ptr<Session> open_session(const py::object& path, const std::string& backend,
                                      const std::string& precision, const std::string& variant,
                                      const std::string& device, int threads, int streams,
                                      const std::vector<std::string>& extensions,
                                      double score_threshold, const py::dict& providers,
                                      bool accept_failed_gate, const std::string& performance) {
  SessionOptions o;
  o.backend = backend;
  o.precision = precision;
  o.variant = variant;
  o.backend_options.device = device;
  o.backend_options.threads = threads;
  o.backend_options.streams = streams;
  o.backend_options.extensions = extensions;
  o.score_threshold = score_threshold;
  o.accept_failed_gate = accept_failed_gate;
  o.backend_options.performance = performance;
  const std::string native = py::bytes(py::module_::import("os").attr("fsencode")(path));
  HostBackends host = host_backends(providers);
  std::unique_ptr<Session> session;
  {
    py::gil_scoped_release release;  // verifying a large bundle takes a while
    session = std::make_unique<Session>(native, o, host);
  }
  // The factories hold Python objects: drop them with the GIL held.
  host.factories.clear();
  return session;
}

// Task names from None (every task that can run), a str or a sequence of str.
std::vector<std::string> task_names(const Session& session, const py::handle& tasks) {
  if (tasks.is_none()) return session.runnable_tasks();
  if (py::isinstance<py::str>(tasks)) return {py::cast<std::string>(tasks)};
  std::vector<std::string> names;
  for (const py::handle& t : tasks) {
    if (!py::isinstance<py::str>(t)) {
      throw Error(Status::InvalidArgument,
                  "task names are strings, got " + std::string(py::repr(t)));
    }
    names.push_back(py::cast<std::string>(t));
  }
  return names;
}

py::list run_batch(Session& session, const py::list& images, const py::handle& tasks,
                   const py::object& color) {
  const std::vector<std::string> names = task_names(session, tasks);
  std::vector<ImageArg> args;
  std::vector<ImageView> views;
  for (size_t i = 0; i < images.size(); ++i) {
    const py::handle c = py::isinstance<py::str>(color) ? py::handle(color) : color[py::int_(i)];
    args.push_back(image_arg(images[i], pixel_format(py::cast<std::string>(c)), false));
    views.push_back(args.back().view);
  }
  std::vector<Results> results;
  {
    py::gil_scoped_release release;  // `args` keeps the pixels alive
    results = session.run_batch(views, names);
  }
  py::list out;
  for (Results& r : results) {
    py::dict tasks_out;
    for (TaskResult& t : r.tasks) {
      const std::string name = t.task;
      tasks_out[py::str(name)] = result_to_python(std::move(t));
    }
    out.append(py::make_tuple(py::make_tuple(r.image_height, r.image_width), tasks_out));
  }
  return out;
}

py::dict task_info(const Session& session, const std::string& name) {
  const TaskSpec& spec = session.task(name);
  py::dict d = task_spec_to_python(spec);
  d["input"] = session.task_input(name);
  d["results"] = array_specs_to_python(session.task_results(name));
  d["error"] = session.task_error(name);
  return d;
}

py::dict choice_dict(const Session& session) {
  const BackendChoice& c = session.choice();
  py::dict d;
  d["backend"] = c.backend;
  d["variant"] = c.variant;
  d["precision"] = c.precision;
  d["inference_precision"] = c.inference_precision();
  d["variants"] = c.variants;
  d["failed_gate"] = c.failed_gate;
  return d;
}

void register_session_class(py::module_& m) {
  py::class_<Session>(m, "Session",
                      "argus::Session: one bundle on one backend (csrc/session/session.h).")
      .def(py::init(&open_session), py::arg("path"), py::arg("backend") = "auto", py::kw_only(),
           py::arg("precision") = "", py::arg("variant") = "", py::arg("device") = "CPU",
           py::arg("threads") = 0, py::arg("streams") = 0,
           py::arg("extensions") = std::vector<std::string>{},
           py::arg("score_threshold") = -1.0, py::arg("providers") = py::dict(),
           py::arg("accept_failed_gate") = false, py::arg("performance") = "",
           "Opens a bundle; the backend, variants and precision follow the one rule of "
           "csrc/session/backend_choice.h. `providers` maps backend names to factories "
           "(options dict -> object with load_graph(graph, variant, blobs) and "
           "run(graph, inputs)) or to why Python cannot provide them.")
      .def_property_readonly("backend", &Session::backend_name)
      .def_property_readonly("choice", &choice_dict)
      .def_property_readonly("tasks", &Session::tasks)
      .def_property_readonly("runnable_tasks", &Session::runnable_tasks)
      .def("task_info", &task_info, py::arg("task"))
      .def_property_readonly("manifest",
                             [](const Session& s) { return json_to_python(s.manifest()); })
      .def_property_readonly("format_version",
                             [](const Session& s) {
                               const BundleVersion v = s.bundle().version();
                               return py::make_tuple(v.major, v.minor);
                             })
      .def("class_names", &Session::class_names, py::arg("task"))
      .def(
          "check_tasks",
          [](const Session& s, const py::handle& tasks) {
            std::vector<std::string> names = task_names(s, tasks);
            s.check_tasks(names);
            return names;
          },
          py::arg("tasks") = py::none(),
          "The task names run_batch would run for `tasks`, checked as it checks them.")
      .def("run_batch", &run_batch, py::arg("images"), py::arg("tasks") = py::none(),
           py::arg("color") = "RGB",
           "Runs `tasks` (None: every task that can run) on a list of (H, W, 3) uint8 "
           "images as one batch; `color` is 'RGB', 'BGR' or one of those per image. Returns "
           "one ((height, width), {task: (kind, {array name: ndarray})}) per image.")
      .def("graph_calls", &Session::graph_calls)
      .def("graph_seconds", &Session::graph_seconds)
      .def("stage_seconds", &Session::stage_seconds)
      .def_property_readonly("parallel_requests", &Session::parallel_requests)
      .def("reset_graph_calls", &Session::reset_graph_calls);
}

}  // namespace

void register_session(py::module_& m) {
  m.def("backends", &backends_to_python,
        "The backend registry (csrc/backends/registry.h), in 'auto' order: one dict each.");
  m.def("decoder_kinds", &decoder_kinds_to_python,
        "The decoder kinds of this libargus: {kind: [its result arrays]}.");
  m.def("register_decoder", &register_python_decoder, py::arg("kind"), py::arg("results"),
        py::arg("decode"),
        "Registers a decoder kind written in Python for whole-image heads: "
        "decode(outputs: dict[str, ndarray], transform: Transform, task: dict) -> "
        "dict[str, ndarray], called once per image with the head's outputs (batch 1). "
        "`results` declares its arrays: [(name, dtype, dims)], dtype one of float32, int32, "
        "int64, uint8, dims numbers or names.");
  m.def(
      "normalize_task",
      [](const std::string& name, const std::string& entry_json) {
        const std::unique_ptr<const json::Value> entry = json::parse(entry_json);
        return json_to_python(*normalize_task(name, *entry));
      },
      py::arg("name"), py::arg("entry_json"),
      "A manifest task entry (JSON text) as the Session reads it: its kind (a format 1.0 "
      "entry gets its task key's), 'params' and 'needs' (csrc/session/task_entry.cpp).");
  m.def(
      "failed_gate",
      [](const std::string& manifest_json, const std::string& graph, const std::string& variant) {
        return failed_gate(*json::parse(manifest_json), graph, variant);
      },
      py::arg("manifest_json"), py::arg("graph"), py::arg("variant"),
      "Why `variant` of `graph` failed its INT8 accuracy gate, '' when it passed or records "
      "none (csrc/session/backend_choice.h: the rule Session applies).");
  m.attr("version") = ARGUS_VERSION;
  register_session_class(m);
}

}  // namespace argus::python
