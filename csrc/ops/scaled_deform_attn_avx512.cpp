// AVX-512 (F/BW/VL) + FMA instantiation of the deformable attention building blocks
// (16 lanes). Compiled with -mavx512f -mavx512bw -mavx512vl -mfma (cmake/deform.cmake);
// only called after a CPU check.
#include <immintrin.h>

#include <cstdint>

namespace argus::ops::detail::avx512 {

struct VecAvx512 {
  using type = __m512;
  static constexpr int64_t W = 16;
  static type load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, type v) { _mm512_storeu_ps(p, v); }
  static type set1(float v) { return _mm512_set1_ps(v); }
  static type zero() { return _mm512_setzero_ps(); }
  static type add(type a, type b) { return _mm512_add_ps(a, b); }
  static type sub(type a, type b) { return _mm512_sub_ps(a, b); }
  static type mul(type a, type b) { return _mm512_mul_ps(a, b); }
  static type div(type a, type b) { return _mm512_div_ps(a, b); }
  static type fmadd(type a, type b, type c) { return _mm512_fmadd_ps(a, b, c); }
  static float sum(type v) {
    // Through memory: GCC 12's lane-extracting intrinsics (and _mm512_reduce_add_ps) trip
    // -Wmaybe-uninitialized inside its own headers. Called once per row: cost irrelevant.
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, v);
    __m256 h = _mm256_add_ps(_mm256_load_ps(lanes), _mm256_load_ps(lanes + 8));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

}  // namespace argus::ops::detail::avx512

#define ARGUS_DEFORM_NS avx512
#define ARGUS_DEFORM_VEC VecAvx512
#define ARGUS_DEFORM_MR 6
#include "ops/deform_kernels_impl.h"

namespace argus::ops::detail {

const Kernels& kernels_avx512() { return avx512::table(); }

}  // namespace argus::ops::detail
