// The ONNX Runtime backend: ONNX variants ("onnx-<precision>"), CPU. libargus has no
// engine of its own for it yet (the wheel ships no headers); the Python package runs
// these variants through its onnxruntime runner (a host-provided backend).
#include "backends/registry.h"

namespace argus::backend_descriptors {

void register_onnxruntime(BackendRegistry& registry) {
  BackendInfo info;
  info.name = "onnxruntime";
  info.display_name = "ONNX Runtime";
  info.build_option = "ARGUS_WITH_ONNXRUNTIME";
  info.variant_prefix = "onnx";
  info.python_package = "onnxruntime";
  info.order = 20;
  info.devices = {"CPU"};
  info.missing = "libargus has no ONNX Runtime engine of its own (argus_edge.Session in "
                 "Python runs these variants with the onnxruntime package)";
  registry.add(std::move(info));
}

}  // namespace argus::backend_descriptors
