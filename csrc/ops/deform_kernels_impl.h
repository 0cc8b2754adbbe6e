// Internal: the building blocks of deform_kernels.h for one vector type. Included once by
// each of scaled_deform_attn_{scalar,avx2,avx512}.cpp after defining
//   ARGUS_DEFORM_NS   the namespace of this instantiation (scalar, avx2, avx512)
//   ARGUS_DEFORM_VEC  a vector type: W lanes, load/store/set1/zero/add/sub/mul/div/fmadd/sum
//   ARGUS_DEFORM_MR   rows of the GEMM micro-kernel
// Everything here lives in argus::ops::detail::ARGUS_DEFORM_NS and uses no C++ library
// template or inline function, so code compiled with one set of -m flags can never be
// merged by the linker into another ISA's path. Math functions are compiler builtins.
#pragma once

#include <cstdint>

#include "ops/deform_kernels.h"

namespace argus::ops::detail::ARGUS_DEFORM_NS {

using V = ARGUS_DEFORM_VEC;
using VT = typename V::type;
constexpr int64_t W = V::W;
constexpr int NV = static_cast<int>(kPanel / W);  // vectors per panel row
constexpr int MR = ARGUS_DEFORM_MR;
static_assert(kPanel % W == 0, "panel width must be a multiple of the vector width");

inline float sum_squares(const float* x, int64_t d) {
  VT acc = V::zero();
  int64_t c = 0;
  for (; c + W <= d; c += W) {
    const VT v = V::load(x + c);
    acc = V::fmadd(v, v, acc);
  }
  float s = V::sum(acc);
  for (; c < d; ++c) s += x[c] * x[c];
  return s;
}

void row_norms(const float* x, int64_t rows, int64_t d, float* norms) {
  for (int64_t r = 0; r < rows; ++r) norms[r] = __builtin_sqrtf(sum_squares(x + r * d, d));
}

// Writes scale·q to o and returns Σ o.
inline float scale_row(const float* q, int64_t d, float scale, float* o) {
  const VT vs = V::set1(scale);
  VT acc = V::zero();
  int64_t c = 0;
  for (; c + W <= d; c += W) {
    const VT x = V::mul(vs, V::load(q + c));
    V::store(o + c, x);
    acc = V::add(acc, x);
  }
  float s = V::sum(acc);
  for (; c < d; ++c) {
    o[c] = scale * q[c];
    s += o[c];
  }
  return s;
}

void scale_layer_norm(const float* query, int64_t rows, int64_t d, float scale,
                      const float* weight, const float* bias, float eps, float* out) {
  const float inv_d = 1.0f / static_cast<float>(d);
  for (int64_t r = 0; r < rows; ++r) {
    float* o = out + r * d;
    const float mean = scale_row(query + r * d, d, scale, o) * inv_d;
    const VT vm = V::set1(mean);
    VT acc = V::zero();
    int64_t c = 0;
    for (; c + W <= d; c += W) {
      const VT t = V::sub(V::load(o + c), vm);
      acc = V::fmadd(t, t, acc);
    }
    float var = V::sum(acc);
    for (; c < d; ++c) var += (o[c] - mean) * (o[c] - mean);
    const float rstd = 1.0f / __builtin_sqrtf(var * inv_d + eps);
    const VT vr = V::set1(rstd);
    for (c = 0; c + W <= d; c += W) {
      const VT t = V::mul(V::sub(V::load(o + c), vm), vr);
      V::store(o + c, V::fmadd(t, V::load(weight + c), V::load(bias + c)));
    }
    for (; c < d; ++c) o[c] = (o[c] - mean) * rstd * weight[c] + bias[c];
  }
}

// Rows of a GEMM's reduction handled per pass: a k-slice of a panel (kKBlock x kPanel
// floats, 16 KB) stays in L1 across the row tiles, and every output is a sum of short
// runs (rounding error grows with kKBlock + k / kKBlock terms, not with k).
constexpr int64_t kKBlock = 128;

// c[R x kPanel] (leading dimension ldc) = (first ? bias : c) + a[R x k0:k1] · panel[k0:k1].
template <int R>
inline void micro_tile(const float* a, int64_t lda, int64_t k0, int64_t k1, const float* panel,
                       const float* bias, bool first, float* c, int64_t ldc) {
  VT acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 32
    for (int j = 0; j < NV; ++j) acc[r][j] = V::zero();
  }
  for (int64_t i = k0; i < k1; ++i) {
    const float* bp = panel + i * kPanel;
    VT b[NV];
#pragma GCC unroll 32
    for (int j = 0; j < NV; ++j) b[j] = V::load(bp + j * W);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const VT av = V::set1(a[r * lda + i]);
#pragma GCC unroll 32
      for (int j = 0; j < NV; ++j) acc[r][j] = V::fmadd(av, b[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
#pragma GCC unroll 32
    for (int j = 0; j < NV; ++j) {
      const VT base = V::load(first ? bias + j * W : cr + j * W);
      V::store(cr + j * W, V::add(base, acc[r][j]));
    }
  }
}

// The last rows < MR rows of a panel.
template <int R>
inline void tail_tile(int64_t rows, const float* a, int64_t lda, int64_t k0, int64_t k1,
                      const float* panel, const float* bias, bool first, float* c, int64_t ldc) {
  if constexpr (R > 0) {
    if (rows == R) {
      micro_tile<R>(a, lda, k0, k1, panel, bias, first, c, ldc);
    } else {
      tail_tile<R - 1>(rows, a, lda, k0, k1, panel, bias, first, c, ldc);
    }
  }
}

void gemm_bias(const float* a, int64_t rows, int64_t k, const float* panels, const float* bias,
               int64_t n, float* c) {
  // Panel-outer, then k-slices, then row tiles: the slice stays in L1 for all rows.
  for (int64_t p = 0; p < n / kPanel; ++p) {
    const float* panel = panels + p * k * kPanel;
    const float* pb = bias + p * kPanel;
    float* cp = c + p * kPanel;
    for (int64_t k0 = 0; k0 < k; k0 += kKBlock) {
      const int64_t k1 = k0 + kKBlock < k ? k0 + kKBlock : k;
      int64_t r = 0;
      for (; r + MR <= rows; r += MR) {
        micro_tile<MR>(a + r * k, k, k0, k1, panel, pb, k0 == 0, cp + r * n, n);
      }
      tail_tile<MR - 1>(rows - r, a + r * k, k, k0, k1, panel, pb, k0 == 0, cp + r * n, n);
    }
  }
}

// acc[0, n) = Σ_i w[i] · rows[i][0, n) over `count` corners. Two vectors of channels per
// pass, each with two partial sums (four independent FMA chains), kept in registers over
// all corners: a head's samples are written once.
inline void weighted_rows(const float* const* rows, const float* w, int64_t count, int64_t n,
                          float* acc) {
  int64_t c = 0;
  for (; c + 2 * W <= n; c += 2 * W) {
    VT a0 = V::zero(), a1 = V::zero(), b0 = V::zero(), b1 = V::zero();
    int64_t i = 0;
    for (; i + 2 <= count; i += 2) {
      const VT w0 = V::set1(w[i]), w1 = V::set1(w[i + 1]);
      a0 = V::fmadd(w0, V::load(rows[i] + c), a0);
      a1 = V::fmadd(w0, V::load(rows[i] + c + W), a1);
      b0 = V::fmadd(w1, V::load(rows[i + 1] + c), b0);
      b1 = V::fmadd(w1, V::load(rows[i + 1] + c + W), b1);
    }
    if (i < count) {
      const VT w0 = V::set1(w[i]);
      a0 = V::fmadd(w0, V::load(rows[i] + c), a0);
      a1 = V::fmadd(w0, V::load(rows[i] + c + W), a1);
    }
    V::store(acc + c, V::add(a0, b0));
    V::store(acc + c + W, V::add(a1, b1));
  }
  for (; c + W <= n; c += W) {
    VT a0 = V::zero(), b0 = V::zero();
    int64_t i = 0;
    for (; i + 2 <= count; i += 2) {
      a0 = V::fmadd(V::set1(w[i]), V::load(rows[i] + c), a0);
      b0 = V::fmadd(V::set1(w[i + 1]), V::load(rows[i + 1] + c), b0);
    }
    if (i < count) a0 = V::fmadd(V::set1(w[i]), V::load(rows[i] + c), a0);
    V::store(acc + c, V::add(a0, b0));
  }
  for (; c < n; ++c) {
    float t = 0.0f;
    for (int64_t i = 0; i < count; ++i) t += w[i] * rows[i][c];
    acc[c] = t;
  }
}

// a = softmax(z) over n entries, max-subtracted.
inline void softmax(const float* z, int64_t n, float* a) {
  float top = z[0];
  for (int64_t i = 1; i < n; ++i) top = z[i] > top ? z[i] : top;
  float total = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    a[i] = __builtin_expf(z[i] - top);
    total += a[i];
  }
  for (int64_t i = 0; i < n; ++i) a[i] = a[i] / total;
}

// The four bilinear corners of one sampling point at pixel coordinates (x, y) of a h x w
// level, inside the open range (-1, w) x (-1, h) or at (-2, -2): appended to rows / wts at `at` as row
// pointers and weights. `level` points at channel m·Dh of the level's first pixel; a
// corner outside the map reads the zero row (zero padding). (x, y) = (-2, -2) puts every
// corner outside.
inline int64_t add_corners(const float* level, int64_t h, int64_t w, int64_t dv,
                           const float* zeros, float x, float y, float weight,
                           const float** rows, float* wts, int64_t at) {
  const float fx0 = __builtin_floorf(x), fy0 = __builtin_floorf(y);
  const int64_t x0 = static_cast<int64_t>(fx0), y0 = static_cast<int64_t>(fy0);
  const float fx = x - fx0, fy = y - fy0;
  // x0 < w and y0 < h hold for any x < w, y < h
  const bool left = x0 >= 0, right = (x0 + 1 >= 0) & (x0 + 1 < w);
  const bool top = y0 >= 0, bottom = (y0 + 1 >= 0) & (y0 + 1 < h);
  const int64_t i00 = y0 * w + x0;  // may be -1 - w: a pointer is formed only when inside
  rows[at] = (top & left) ? level + i00 * dv : zeros;
  rows[at + 1] = (top & right) ? level + (i00 + 1) * dv : zeros;
  rows[at + 2] = (bottom & left) ? level + (i00 + w) * dv : zeros;
  rows[at + 3] = (bottom & right) ? level + (i00 + w + 1) * dv : zeros;
  wts[at] = weight * ((1.0f - fx) * (1.0f - fy));
  wts[at + 1] = weight * (fx * (1.0f - fy));
  wts[at + 2] = weight * ((1.0f - fx) * fy);
  wts[at + 3] = weight * (fx * fy);
  return at + 4;
}

void sample_head(const SampleArgs& s, int64_t r, int64_t m) {
  const int64_t lp = s.levels * s.points;
  softmax(s.logits + r * s.ld_logits + m * lp, lp, s.softmax);
  float* corner_w = s.softmax + lp;
  const float rx = s.ref[2 * r], ry = s.ref[2 * r + 1];
  const int64_t dv = s.heads * s.head_dim;
  int64_t count = 0;
  for (int64_t l = 0; l < s.levels; ++l) {
    const int64_t h = s.shapes[2 * l], w = s.shapes[2 * l + 1];
    const float hf = static_cast<float>(h), wf = static_cast<float>(w);
    const float* level = s.value + s.level_starts[l] * dv + m * s.head_dim;
    const float* off = s.offsets + r * s.ld_offsets + (m * s.levels + l) * s.points * 2;
    for (int64_t p = 0; p < s.points; ++p) {
      // grid_sample(align_corners=False): pixel = loc · size − 0.5, loc = ref + Δ / size
      float x = (rx + off[2 * p] / wf) * wf - 0.5f;
      float y = (ry + off[2 * p + 1] / hf) * hf - 0.5f;
      // A point outside (-1, w) x (-1, h), or NaN, contributes 0: moved to (-2, -2), where
      // all four corners read the zero row. A select, not a branch: offsets are data, and
      // a mispredicted branch at the end of this dependency chain costs more than four
      // FMAs with zeros.
      const bool inside = (x > -1.0f) & (x < wf) & (y > -1.0f) & (y < hf);
      x = inside ? x : -2.0f;
      y = inside ? y : -2.0f;
      count = add_corners(level, h, w, dv, s.zeros, x, y, s.softmax[l * s.points + p],
                          s.corner_rows, corner_w, count);
    }
  }
  weighted_rows(s.corner_rows, corner_w, count, s.head_dim,
                s.out + r * s.heads * s.head_dim + m * s.head_dim);
}

void sample(const SampleArgs& s) {
  for (int64_t r = 0; r < s.rows; ++r) {
    for (int64_t m = 0; m < s.heads; ++m) sample_head(s, r, m);
  }
}

// Rounded like the reference (x = s·q, t = γ·A, (x + t) / s; no fused multiply-add): at
// large token norms s is small and 1 / s magnifies every rounding of x + t.
void residual(const float* query, const float* attn, int64_t ld_attn, const float* gamma,
              float scale, int64_t rows, int64_t d, float* out) {
  const VT vs = V::set1(scale);
  for (int64_t r = 0; r < rows; ++r) {
    const float* q = query + r * d;
    const float* a = attn + r * ld_attn;
    float* o = out + r * d;
    int64_t c = 0;
    for (; c + W <= d; c += W) {
      const VT x = V::mul(vs, V::load(q + c));
      const VT t = gamma ? V::mul(V::load(gamma + c), V::load(a + c)) : V::load(a + c);
      V::store(o + c, V::div(V::add(x, t), vs));
    }
    for (; c < d; ++c) o[c] = (scale * q[c] + (gamma ? gamma[c] * a[c] : a[c])) / scale;
  }
}

const Kernels& table() {
  static const Kernels kernels{row_norms, scale_layer_norm, gemm_bias, sample, residual, MR};
  return kernels;
}

}  // namespace argus::ops::detail::ARGUS_DEFORM_NS
