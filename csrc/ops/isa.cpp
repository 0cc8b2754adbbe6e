#include "ops/isa.h"

#include <cstdlib>

#include "core/status.h"

namespace argus::ops {
namespace {

bool cpu_has(Isa isa) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (isa) {
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
    default:
      return true;
  }
#else
  return isa == Isa::Auto || isa == Isa::Scalar;
#endif
}

bool compiled(Isa isa) noexcept {
  switch (isa) {
#ifdef ARGUS_HAVE_AVX2
    case Isa::Avx2: return true;
#endif
#ifdef ARGUS_HAVE_AVX512
    case Isa::Avx512: return true;
#endif
    case Isa::Auto:
    case Isa::Scalar: return true;
    default: return false;
  }
}

}  // namespace

const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::Auto: return "auto";
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "unknown";
}

Isa parse_isa(const std::string& name) {
  for (Isa isa : {Isa::Auto, Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (name == isa_name(isa)) return isa;
  }
  throw Error(Status::InvalidArgument,
              "unknown ISA '" + name + "' (expected auto, scalar, avx2 or avx512)");
}

bool isa_supported(Isa isa) noexcept { return compiled(isa) && cpu_has(isa); }

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (isa_supported(isa)) out.push_back(isa);
  }
  return out;
}

Isa resolve_isa(Isa requested) {
  if (requested == Isa::Auto) {
    const char* env = std::getenv("ARGUS_DEFORM_ISA");
    if (env == nullptr || *env == '\0') return supported_isas().back();
    requested = parse_isa(env);
    if (requested == Isa::Auto) return supported_isas().back();
  }
  if (!isa_supported(requested)) {
    throw Error(Status::BackendUnavailable,
                std::string("ISA ") + isa_name(requested) +
                    " is not available (not compiled in or not supported by this CPU)");
  }
  return requested;
}

}  // namespace argus::ops
