// The backend factory: the engines compiled into this libargus.
#include "backends/backend.h"

#include "core/status.h"

#ifdef ARGUS_HAVE_OPENVINO
#include "backends/openvino_backend.h"
#endif

namespace argus {

bool backend_available(const std::string& backend) noexcept {
#ifdef ARGUS_HAVE_OPENVINO
  if (backend == "openvino") return true;
#endif
  (void)backend;
  return false;
}

std::unique_ptr<Backend> create_backend(const std::string& backend,
                                        const BackendOptions& options) {
  if (options.threads < 0 || options.streams < 0) {
    throw Error(Status::InvalidArgument, "backend threads and streams must be >= 0");
  }
#ifdef ARGUS_HAVE_OPENVINO
  if (backend == "openvino") return std::make_unique<OpenVinoBackend>(options);
#endif
  if (backend == "openvino") {
    throw Error(Status::BackendUnavailable,
                "backend 'openvino' is not built into this libargus "
                "(configure with -DARGUS_WITH_OPENVINO=ON)");
  }
  if (backend == "onnxruntime" || backend == "tensorrt") {
    throw Error(Status::BackendUnavailable,
                "backend '" + backend + "' is not implemented in libargus yet");
  }
  throw Error(Status::BackendUnavailable, "unknown backend '" + backend + "'");
}

}  // namespace argus
