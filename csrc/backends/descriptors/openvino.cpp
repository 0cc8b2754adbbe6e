// The OpenVINO backend: IR variants ("openvino-<precision>"), any OpenVINO device, the
// fused ai.argus kernels through libargus's extension, precision hints (f32 / bf16).
#include "backends/registry.h"

#ifdef ARGUS_HAVE_OPENVINO
#include "backends/openvino_backend.h"
#endif

namespace argus::backend_descriptors {

void register_openvino(BackendRegistry& registry) {
  BackendInfo info;
  info.name = "openvino";
  info.display_name = "OpenVINO";
  info.build_option = "ARGUS_WITH_OPENVINO";
  info.variant_prefix = "openvino";
  info.python_package = "openvino";
  info.order = 10;
  info.custom_ops = true;
  info.precision_hints = true;
#ifdef ARGUS_HAVE_OPENVINO
  info.create = [](const BackendOptions& options) {
    return std::make_unique<OpenVinoBackend>(options);
  };
#endif
  registry.add(std::move(info));
}

}  // namespace argus::backend_descriptors
