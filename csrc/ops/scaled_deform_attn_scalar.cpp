// Portable instantiation of the deformable attention building blocks (one lane).
#include <cstdint>

namespace argus::ops::detail::scalar {

struct VecScalar {
  using type = float;
  static constexpr int64_t W = 1;
  static type load(const float* p) { return *p; }
  static void store(float* p, type v) { *p = v; }
  static type set1(float v) { return v; }
  static type zero() { return 0.0f; }
  static type add(type a, type b) { return a + b; }
  static type sub(type a, type b) { return a - b; }
  static type mul(type a, type b) { return a * b; }
  static type div(type a, type b) { return a / b; }
  static type fmadd(type a, type b, type c) { return a * b + c; }
  static float sum(type v) { return v; }
};

}  // namespace argus::ops::detail::scalar

#define ARGUS_DEFORM_NS scalar
#define ARGUS_DEFORM_VEC VecScalar
#define ARGUS_DEFORM_MR 4
#include "ops/deform_kernels_impl.h"

namespace argus::ops::detail {

const Kernels& kernels_scalar() { return scalar::table(); }

}  // namespace argus::ops::detail
