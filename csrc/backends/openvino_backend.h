// The OpenVINO backend (compiled with ARGUS_WITH_OPENVINO): IR blobs read from memory,
// compiled with the device / threads / streams / precision options, run through a pool
// of infer requests so that run() is thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/backend.h"

namespace argus {

class OpenVinoBackend final : public Backend {
 public:
  explicit OpenVinoBackend(const BackendOptions& options);
  ~OpenVinoBackend() override;

  const char* name() const noexcept override { return "openvino"; }
  void load_graph(const Bundle& bundle, const std::string& graph,
                  const std::string& variant) override;
  Tensors run(const std::string& graph, const TensorViews& inputs) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace argus
