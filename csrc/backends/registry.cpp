// The backend registry; see registry.h.
#include "backends/registry.h"

#include <algorithm>

#include "core/status.h"

namespace argus {

std::string BackendInfo::unavailable_reason() const {
  if (create) return "";
  if (!missing.empty()) return missing;
  return "libargus was built without -D" + build_option + "=ON";
}

const BackendRegistry& BackendRegistry::global() {
  static const BackendRegistry* registry = [] {
    auto* r = new BackendRegistry();  // never destroyed: sessions may outlive statics
    register_builtin_backends(*r);
    return r;
  }();
  return *registry;
}

void BackendRegistry::add(BackendInfo info) {
  if (info.name.empty() || find(info.name)) {
    throw Error(Status::InvalidArgument, "backend '" + info.name + "' is empty or repeated");
  }
  const auto at = std::upper_bound(backends_.begin(), backends_.end(), info.order,
                                   [](int order, const BackendInfo& b) { return order < b.order; });
  backends_.insert(at, std::move(info));
}

const BackendInfo* BackendRegistry::find(std::string_view name) const noexcept {
  for (const BackendInfo& b : backends_) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

std::string BackendRegistry::names_text() const {
  std::string out = "(";
  for (const BackendInfo& b : backends_) out += (out.size() > 1 ? ", '" : "'") + b.name + "'";
  return out + ")";
}

}  // namespace argus
