// The backend interface: one inference engine running the graphs of a bundle. Which
// engines exist, what they can run and how one is created: backends/registry.h.
//
// A backend compiles graphs from a bundle's blobs (load_graph) and then runs them by name
// with named float32 tensors (run). Tensors are NCHW float32, which is all the Argus
// graphs take and give.
//
// Ownership: a Backend may keep pointers into the bundle's blobs instead of copying them
// (OpenVINO reads a graph's weights in place from the bundle's mapping: one copy of them
// fewer), so the Bundle must outlive the Backend; the Session owns both and destroys the
// Backend first.
// Thread safety: load_graph is not thread-safe (call it before any run); run() may be
// called from any number of threads at once (each call takes its own infer request).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/bundle.h"

namespace argus {

struct BackendOptions {
  std::string device = "CPU";       // engine device name ("CPU", "GPU", ...)
  int threads = 0;                  // inference threads; 0: the engine's default
  int streams = 0;                  // parallel streams; 0: the engine's default
  // What the engine optimizes for: "latency" (one request at a time), "throughput"
  // (several requests in flight, e.g. OpenVINO's THROUGHPUT hint), "": its default.
  std::string performance;
  // Inference precision of engines that take one ("f32", "bf16", "f16"; "": the
  // engine's default). The Session sets it from its backend choice (session/backend_choice.h).
  std::string precision_hint = "f32";
  // Engine extension libraries (the argus OpenVINO extension) loaded for graphs that
  // list `custom_ops`; empty: ARGUS_OPENVINO_EXTENSION's path if built in.
  std::vector<std::string> extensions;
};

// A float32 tensor owned by someone else (inputs).
struct TensorView {
  const float* data = nullptr;
  std::vector<int64_t> shape;
};

// A float32 tensor that owns its data (outputs).
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  int64_t dim(size_t i) const { return i < shape.size() ? shape[i] : 0; }
};

using TensorViews = std::map<std::string, TensorView>;
using Tensors = std::map<std::string, Tensor>;

class Backend {
 public:
  virtual ~Backend() = default;

  // Its name in the backend registry, as written in the manifest's variants.
  virtual const char* name() const noexcept = 0;

  // Compiles variant `variant` of graph `graph` of `bundle` (a no-op when loaded).
  // Throws Error(Status::Bundle) for a malformed variant, Error(BackendUnavailable) when
  // the variant is for another engine or needs an extension that is not available.
  virtual void load_graph(const Bundle& bundle, const std::string& graph,
                          const std::string& variant) = 0;

  // Runs a loaded graph. Throws Error(InvalidArgument) for an unknown graph or input
  // name or shape, Error(Internal) when the engine fails.
  virtual Tensors run(const std::string& graph, const TensorViews& inputs) = 0;
};

}  // namespace argus
