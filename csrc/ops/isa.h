// SIMD instruction sets the fused kernels are compiled for, and the run-time choice.
#pragma once

#include <string>
#include <vector>

namespace argus::ops {

enum class Isa : int {
  Auto = 0,    // the environment variable ARGUS_DEFORM_ISA if set, else the best supported
  Scalar = 1,  // portable C++ (whatever the compiler makes of it for baseline x86-64)
  Avx2 = 2,    // AVX2 + FMA
  Avx512 = 3,  // AVX-512 F/BW/VL + FMA
};

// "auto", "scalar", "avx2" or "avx512".
const char* isa_name(Isa isa) noexcept;

// Inverse of isa_name; throws Error(InvalidArgument) for any other string.
Isa parse_isa(const std::string& name);

// Compiled into this build and supported by this CPU and OS (Auto and Scalar: always).
bool isa_supported(Isa isa) noexcept;

// The supported instruction sets, Scalar first, best last.
std::vector<Isa> supported_isas();

// The concrete ISA a kernel runs with: Auto becomes ARGUS_DEFORM_ISA (when set) or the
// best supported one. Throws Error(InvalidArgument) for an unknown ARGUS_DEFORM_ISA and
// Error(BackendUnavailable) for an instruction set this build or CPU does not have.
Isa resolve_isa(Isa requested);

}  // namespace argus::ops
