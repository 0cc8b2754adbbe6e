// Session values <-> Python; see session_values.h.
#include "python/session_values.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "backends/registry.h"
#include "core/status.h"
#include "session/decoder.h"

namespace py = pybind11;

namespace argus::python {

namespace {

// An ndarray that owns `values` (moved to the heap; freed with the array).
template <class T>
py::array take(std::vector<T>&& values, const std::vector<int64_t>& dims) {
  std::vector<py::ssize_t> shape(dims.begin(), dims.end());
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owned->data(), owner);
}

bool is_number(const std::string& dim) {
  return !dim.empty() && dim.find_first_not_of("0123456789") == std::string::npos;
}

template <class T>
ResultArray array_from(const std::string& name, const py::array& a) {
  auto typed = py::array_t<T, py::array::c_style>::ensure(a);
  std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
  const T* data = typed.data();
  return ResultArray::of(name, std::move(shape), std::vector<T>(data, data + typed.size()));
}

// One array a Python decoder returned, checked against its declaration.
ResultArray from_python(const ArraySpec& spec, const py::handle& value, const std::string& kind) {
  const py::array a = py::array::ensure(value);
  const bool ok = a && a.ndim() == static_cast<py::ssize_t>(spec.dims.size()) &&
                  std::string(py::str(a.dtype())) == dtype_name(spec.dtype);
  if (!ok) {
    throw Error(Status::Internal, "the Python decoder of kind '" + kind + "' returned '" +
                                      spec.name + "' that is not a " + dtype_name(spec.dtype) +
                                      " array of rank " + std::to_string(spec.dims.size()));
  }
  switch (spec.dtype) {
    case DType::Float32: return array_from<float>(spec.name, a);
    case DType::Int32: return array_from<int32_t>(spec.name, a);
    case DType::Int64: return array_from<int64_t>(spec.name, a);
    case DType::UInt8: return array_from<uint8_t>(spec.name, a);
  }
  throw Error(Status::Internal, "unknown dtype");
}

// A whole-image decoder kind whose decode step is a Python function.
class PyDecoder final : public ImageHeadDecoder {
 public:
  PyDecoder(const TaskSpec& spec, py::handle decode, std::vector<ArraySpec> results)
      : ImageHeadDecoder(spec), results_(std::move(results)) {
    py::gil_scoped_acquire gil;
    decode_ = new py::object(py::reinterpret_borrow<py::object>(decode));
    task_ = new py::object(task_spec_to_python(spec));
  }
  ~PyDecoder() override {
    if (!Py_IsInitialized()) return;  // at exit: leave the objects to the interpreter
    py::gil_scoped_acquire gil;
    delete decode_;
    delete task_;
  }

 private:
  void decode_image(const Tensors& head, const Transform& transform,
                    TaskResult& out) const override {
    py::gil_scoped_acquire gil;
    py::dict outputs;
    for (const auto& [name, t] : head) {
      std::vector<float> copy = t.data;
      outputs[py::str(name)] = take(std::move(copy), t.shape);
    }
    const py::object got = (*decode_)(outputs, py::cast(transform), *task_);
    if (!py::isinstance<py::dict>(got)) {
      throw Error(Status::Internal, "the Python decoder of kind '" + spec().kind +
                                        "' must return a dict of arrays");
    }
    const py::dict arrays = got;
    for (const ArraySpec& s : results_) {
      if (!arrays.contains(s.name)) {
        throw Error(Status::Internal, "the Python decoder of kind '" + spec().kind +
                                          "' returned no array '" + s.name + "'");
      }
      out.add(from_python(s, arrays[py::str(s.name)], spec().kind));
    }
  }

  std::vector<ArraySpec> results_;
  py::object* decode_ = nullptr;  // owned; deleted with the GIL held
  py::object* task_ = nullptr;
};

}  // namespace

py::object json_to_python(const json::Value& v) {
  switch (v.type()) {
    case json::Type::Null: return py::none();
    case json::Type::Bool: return py::bool_(v.as_bool());
    case json::Type::Number:
      if (v.is_integer()) return py::int_(v.as_int());
      return py::float_(v.as_double());
    case json::Type::String: return py::str(v.as_string());
    case json::Type::Array: {
      py::list out;
      for (const json::Value& item : v.items()) out.append(json_to_python(item));
      return std::move(out);
    }
    case json::Type::Object: {
      py::dict out;
      for (size_t i = 0; i < v.size(); ++i) {
        out[py::str(v.keys()[i])] = json_to_python(v.items()[i]);
      }
      return std::move(out);
    }
  }
  return py::none();
}

py::tuple result_to_python(TaskResult&& result) {
  py::dict arrays;
  for (ResultArray& a : result.arrays) {
    arrays[py::str(a.name)] =
        std::visit([&](auto& values) { return take(std::move(values), a.shape); }, a.data);
  }
  return py::make_tuple(result.kind, arrays);
}

py::dict task_spec_to_python(const TaskSpec& spec) {
  py::dict d;
  d["name"] = spec.name;
  d["kind"] = spec.kind;
  d["graph"] = spec.graph;
  d["backbone"] = spec.backbone;
  d["input_size"] = py::make_tuple(spec.input_h, spec.input_w);
  d["classes"] = py::tuple(py::cast(spec.classes));
  d["params"] = spec.params ? json_to_python(*spec.params) : py::object(py::dict());
  py::list needs;
  for (const TaskNeed& n : spec.needs) needs.append(json_to_python(*n.entry));
  d["needs"] = needs;
  return d;
}

py::list array_specs_to_python(const std::vector<ArraySpec>& specs) {
  py::list out;
  for (const ArraySpec& s : specs) {
    py::list shape;
    for (const std::string& dim : s.dims) {
      shape.append(is_number(dim) ? py::object(py::int_(std::stoll(dim))) : py::str(dim));
    }
    py::dict d;
    d["name"] = s.name;
    d["dtype"] = dtype_name(s.dtype);
    d["shape"] = shape;
    out.append(d);
  }
  return out;
}

py::list backends_to_python() {
  py::list out;
  for (const BackendInfo& b : BackendRegistry::global().all()) {
    py::dict d;
    d["name"] = b.name;
    d["display_name"] = b.display_name;
    d["build_option"] = b.build_option;
    d["variant_prefix"] = b.variant_prefix;
    d["python_package"] = b.python_package;
    d["custom_ops"] = b.custom_ops;
    d["precision_hints"] = b.precision_hints;
    d["devices"] = py::tuple(py::cast(b.devices));
    d["built_in"] = static_cast<bool>(b.create);
    d["unavailable_reason"] = b.unavailable_reason();
    out.append(d);
  }
  return out;
}

py::dict decoder_kinds_to_python() {
  py::dict out;
  DecoderRegistry& registry = DecoderRegistry::global();
  for (const std::string& name : registry.names()) {
    out[py::str(name)] = array_specs_to_python(registry.find(name)->results);
  }
  return out;
}

void register_python_decoder(const std::string& kind, const py::list& results,
                             const py::object& decode) {
  if (!PyCallable_Check(decode.ptr())) {
    throw Error(Status::InvalidArgument, "decode must be callable");
  }
  std::vector<ArraySpec> specs;
  for (const py::handle& item : results) {
    const auto [name, dtype, dims] = py::cast<std::tuple<std::string, std::string,
                                                         std::vector<py::object>>>(item);
    ArraySpec spec{name, DType::Float32, {}};
    try {
      spec.dtype = parse_dtype(dtype);
    } catch (const Error& e) {
      throw Error(Status::InvalidArgument, e.what());
    }
    for (const py::object& d : dims) spec.dims.push_back(py::str(d));
    specs.push_back(std::move(spec));
  }
  // The function lives as long as the registry (the process): a leaked reference, so that
  // nothing touches Python after the interpreter is gone.
  PyObject* fn = decode.inc_ref().ptr();
  DecoderRegistry::global().add(
      {kind, specs, [fn, specs](const TaskSpec& spec, const DecoderOptions&) {
         return std::make_unique<PyDecoder>(spec, py::handle(fn), specs);
       }});
}

}  // namespace argus::python
