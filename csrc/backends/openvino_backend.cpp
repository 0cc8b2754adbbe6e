// The OpenVINO backend; see openvino_backend.h.
#include "backends/openvino_backend.h"

#include <cstdlib>
#include <cstring>
#include <exception>

#include <openvino/openvino.hpp>

#include "core/status.h"

namespace argus {

namespace {

struct CompiledGraph {
  ov::CompiledModel compiled;
  std::mutex mutex;                   // guards idle
  std::vector<ov::InferRequest> idle;  // requests not in use by a run()
};

ov::element::Type precision_type(const std::string& hint) {
  if (hint == "f32") return ov::element::f32;
  if (hint == "bf16") return ov::element::bf16;
  if (hint == "f16") return ov::element::f16;
  throw Error(Status::InvalidArgument,
              "precision hint must be 'f32', 'bf16', 'f16' or empty, got '" + hint + "'");
}

// The extension libraries to load for graphs with custom nodes.
std::vector<std::string> extension_paths(const BackendOptions& options) {
  if (!options.extensions.empty()) return options.extensions;
  if (const char* env = std::getenv("ARGUS_OPENVINO_EXTENSION"); env && *env) return {env};
#ifdef ARGUS_OPENVINO_EXTENSION_PATH
  return {ARGUS_OPENVINO_EXTENSION_PATH};
#else
  return {};
#endif
}

// The blob of `role` in a variant's "blobs" object, checked.
ByteSpan variant_blob(const Bundle& bundle, const json::Value& variant, const char* role,
                      const std::string& where) {
  const json::Value* blobs = variant.find("blobs");
  const json::Value* name = blobs && blobs->is_object() ? blobs->find(role) : nullptr;
  if (!name || !name->is_string()) {
    throw Error(Status::Bundle, where + " has no '" + role + "' blob");
  }
  return bundle.blob(name->as_string());
}

}  // namespace

struct OpenVinoBackend::Impl {
  BackendOptions options;
  ov::Core core;
  bool extensions_loaded = false;
  std::unordered_map<std::string, std::unique_ptr<CompiledGraph>> graphs;

  void load_extensions(const std::string& graph);
  ov::AnyMap compile_config() const;
  ov::InferRequest acquire(CompiledGraph& g);
  void release(CompiledGraph& g, ov::InferRequest request);
};

void OpenVinoBackend::Impl::load_extensions(const std::string& graph) {
  if (extensions_loaded) return;
  const std::vector<std::string> paths = extension_paths(options);
  if (paths.empty()) {
    throw Error(Status::BackendUnavailable,
                "graph '" + graph + "' uses custom nodes and no argus OpenVINO extension "
                "is available (set ARGUS_OPENVINO_EXTENSION or the extensions option)");
  }
  for (const std::string& path : paths) {
    try {
      core.add_extension(path);
    } catch (const std::exception& e) {
      throw Error(Status::BackendUnavailable,
                  "cannot load the OpenVINO extension '" + path + "': " + e.what());
    }
  }
  extensions_loaded = true;
}

ov::AnyMap OpenVinoBackend::Impl::compile_config() const {
  ov::AnyMap config;
  if (!options.precision_hint.empty()) {
    config.emplace(ov::hint::inference_precision(precision_type(options.precision_hint)));
  }
  if (options.threads > 0) config.emplace(ov::inference_num_threads(options.threads));
  if (options.streams > 0) config.emplace(ov::num_streams(options.streams));
  if (!options.performance.empty()) {
    config.emplace(ov::hint::performance_mode(options.performance == "throughput"
                                                  ? ov::hint::PerformanceMode::THROUGHPUT
                                                  : ov::hint::PerformanceMode::LATENCY));
  }
  return config;
}

ov::InferRequest OpenVinoBackend::Impl::acquire(CompiledGraph& g) {
  {
    std::lock_guard<std::mutex> lock(g.mutex);
    if (!g.idle.empty()) {
      ov::InferRequest request = std::move(g.idle.back());
      g.idle.pop_back();
      return request;
    }
  }
  return g.compiled.create_infer_request();
}

void OpenVinoBackend::Impl::release(CompiledGraph& g, ov::InferRequest request) {
  std::lock_guard<std::mutex> lock(g.mutex);
  g.idle.push_back(std::move(request));
}

OpenVinoBackend::OpenVinoBackend(const BackendOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  if (!options.precision_hint.empty()) precision_type(options.precision_hint);
  if (options.device.empty()) throw Error(Status::InvalidArgument, "device is empty");
}

OpenVinoBackend::~OpenVinoBackend() = default;

void OpenVinoBackend::load_graph(const Bundle& bundle, const std::string& graph,
                                 const std::string& variant_name) {
  if (impl_->graphs.count(graph)) return;
  const json::Value& spec = bundle.graph(graph);
  const json::Value* variants = spec.find("variants");
  const json::Value* variant = variants ? variants->find(variant_name) : nullptr;
  const std::string where = "graph '" + graph + "' variant '" + variant_name + "'";
  if (!variant || !variant->is_object()) throw Error(Status::Bundle, where + " is missing");
  const json::Value* backend = variant->find("backend");
  if (!backend || !backend->is_string() || backend->as_string() != name()) {
    throw Error(Status::BackendUnavailable, where + " is not a variant of backend '" +
                                                std::string(name()) + "'");
  }
  const json::Value* custom = spec.find("custom_ops");
  if (custom && custom->is_array() && custom->size() > 0) impl_->load_extensions(graph);
  const ByteSpan xml = variant_blob(bundle, *variant, "xml", where);
  const ByteSpan bin = variant_blob(bundle, *variant, "bin", where);
  auto g = std::make_unique<CompiledGraph>();
  try {
    // The weights are read in place from the bundle's mapping (64-byte aligned blobs):
    // no copy of the .bin. The Session owns the bundle and destroys its backend first, so
    // the mapping outlives every constant that points into it.
    ov::Tensor weights(ov::element::u8, ov::Shape{bin.size},
                       const_cast<uint8_t*>(bin.data));
    std::shared_ptr<ov::Model> model = impl_->core.read_model(
        std::string(reinterpret_cast<const char*>(xml.data), xml.size), weights);
    g->compiled = impl_->core.compile_model(model, impl_->options.device,
                                            impl_->compile_config());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(Status::BackendUnavailable, where + ": OpenVINO cannot compile it: " + e.what());
  }
  impl_->graphs.emplace(graph, std::move(g));
}

namespace {

void set_inputs(ov::InferRequest& request, const ov::CompiledModel& compiled,
                const std::string& graph, const TensorViews& inputs) {
  for (const ov::Output<const ov::Node>& port : compiled.inputs()) {
    const std::string& name = port.get_any_name();
    auto it = inputs.find(name);
    if (it == inputs.end() || it->second.data == nullptr) {
      throw Error(Status::InvalidArgument, "graph '" + graph + "' needs input '" + name + "'");
    }
    ov::Shape shape;
    for (int64_t d : it->second.shape) {
      if (d <= 0) throw Error(Status::InvalidArgument, "input '" + name + "' has an empty dim");
      shape.push_back(static_cast<size_t>(d));
    }
    request.set_tensor(port, ov::Tensor(ov::element::f32, shape,
                                        const_cast<float*>(it->second.data)));
  }
}

Tensors get_outputs(ov::InferRequest& request, const ov::CompiledModel& compiled) {
  Tensors out;
  for (const ov::Output<const ov::Node>& port : compiled.outputs()) {
    ov::Tensor t = request.get_tensor(port);
    if (t.get_element_type() != ov::element::f32) {
      throw Error(Status::Internal, "output '" + port.get_any_name() + "' is not float32");
    }
    Tensor& dst = out[port.get_any_name()];
    for (size_t d : t.get_shape()) dst.shape.push_back(static_cast<int64_t>(d));
    const float* src = t.data<const float>();
    dst.data.assign(src, src + t.get_size());
  }
  return out;
}

}  // namespace

Tensors OpenVinoBackend::run(const std::string& graph, const TensorViews& inputs) {
  auto it = impl_->graphs.find(graph);
  if (it == impl_->graphs.end()) {
    throw Error(Status::InvalidArgument, "graph '" + graph + "' is not loaded");
  }
  CompiledGraph& g = *it->second;
  ov::InferRequest request;
  try {
    request = impl_->acquire(g);
    set_inputs(request, g.compiled, graph, inputs);
    request.infer();
    Tensors out = get_outputs(request, g.compiled);
    impl_->release(g, std::move(request));
    return out;
  } catch (const Error&) {
    throw;  // the request is dropped: it may hold tensors of this call's inputs
  } catch (const std::exception& e) {
    throw Error(Status::Internal, "OpenVINO failed to run graph '" + graph + "': " + e.what());
  }
}

}  // namespace argus
