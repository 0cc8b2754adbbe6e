// The TensorRT backend: plans and explicit-quantization QDQ ONNX ("tensorrt-<precision>")
// built on the target. Not available on these machines: no package gives the TensorRT
// headers or builder.
#include "backends/registry.h"

namespace argus::backend_descriptors {

void register_tensorrt(BackendRegistry& registry) {
  BackendInfo info;
  info.name = "tensorrt";
  info.display_name = "TensorRT";
  info.build_option = "ARGUS_WITH_TENSORRT";
  info.variant_prefix = "tensorrt";
  info.order = 30;
  registry.add(std::move(info));
}

}  // namespace argus::backend_descriptors
