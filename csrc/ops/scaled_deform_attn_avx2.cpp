// AVX2 + FMA instantiation of the deformable attention building blocks (8 lanes).
// Compiled with -mavx2 -mfma (cmake/deform.cmake); only called after a CPU check.
#include <immintrin.h>

#include <cstdint>

namespace argus::ops::detail::avx2 {

struct VecAvx2 {
  using type = __m256;
  static constexpr int64_t W = 8;
  static type load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, type v) { _mm256_storeu_ps(p, v); }
  static type set1(float v) { return _mm256_set1_ps(v); }
  static type zero() { return _mm256_setzero_ps(); }
  static type add(type a, type b) { return _mm256_add_ps(a, b); }
  static type sub(type a, type b) { return _mm256_sub_ps(a, b); }
  static type mul(type a, type b) { return _mm256_mul_ps(a, b); }
  static type div(type a, type b) { return _mm256_div_ps(a, b); }
  static type fmadd(type a, type b, type c) { return _mm256_fmadd_ps(a, b, c); }
  static float sum(type v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

}  // namespace argus::ops::detail::avx2

#define ARGUS_DEFORM_NS avx2
#define ARGUS_DEFORM_VEC VecAvx2
#define ARGUS_DEFORM_MR 3
#include "ops/deform_kernels_impl.h"

namespace argus::ops::detail {

const Kernels& kernels_avx2() { return avx2::table(); }

}  // namespace argus::ops::detail
