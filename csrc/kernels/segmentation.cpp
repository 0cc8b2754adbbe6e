#include "kernels/segmentation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/status.h"

namespace argus::kernels {
namespace {

// PyTorch's linear interpolation taps along one axis (UpSample.h,
// compute_source_index_and_lambda with align_corners=False).
struct Taps {
  std::vector<int> i0, i1;
  std::vector<float> l0, l1;
};

// `contract`: evaluate scale * (d + 0.5) - 0.5 as one fma, as FMA builds of PyTorch do.
Taps linear_taps(int in, int out, bool contract) {
  Taps t;
  t.i0.resize(out);
  t.i1.resize(out);
  t.l0.resize(out);
  t.l1.resize(out);
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int d = 0; d < out; ++d) {
    if (in == out) {
      t.i0[d] = t.i1[d] = d;
      t.l0[d] = 1.0f;
      t.l1[d] = 0.0f;
      continue;
    }
    const float centre = static_cast<float>(d) + 0.5f;
    float src = contract ? std::fma(scale, centre, -0.5f) : scale * centre - 0.5f;
    if (src < 0.0f) src = 0.0f;
    const int i0 = std::min(static_cast<int>(std::floor(src)), in - 1);
    const float l1 = std::min(std::max(src - static_cast<float>(i0), 0.0f), 1.0f);
    t.i0[d] = i0;
    t.i1[d] = i0 < in - 1 ? i0 + 1 : i0;
    t.l1[d] = l1;
    t.l0[d] = 1.0f - l1;
  }
  return t;
}

// One output row of one plane, PyTorch's expression without contraction (its
// DEFAULT-capability build, CPUs without AVX2/FMA).
void interpolate_row_plain(const float* plane, int in_w, const Taps& tx, const Taps& ty, int y,
                           int out_w, float* dst) {
  const float* r0 = plane + static_cast<int64_t>(ty.i0[y]) * in_w;
  const float* r1 = plane + static_cast<int64_t>(ty.i1[y]) * in_w;
  const float l0y = ty.l0[y], l1y = ty.l1[y];
  for (int x = 0; x < out_w; ++x) {
    const int a = tx.i0[x], b = tx.i1[x];
    const float l0x = tx.l0[x], l1x = tx.l1[x];
    const float top = l0x * r0[a] + l1x * r0[b];
    const float bottom = l0x * r1[a] + l1x * r1[b];
    dst[x] = l0y * top + l1y * bottom;
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ARGUS_SEG_FMA_TARGET __attribute__((target("fma")))
#else
#define ARGUS_SEG_FMA_TARGET
#endif

// The same row as PyTorch's AVX2/AVX512 kernels compute it: built with -mfma, GCC
// contracts `a * b + c * d` into fma(a, b, c * d). Measured bit-exact against
// torch 2.13 (AVX512 capability) on this machine's CPUs.
ARGUS_SEG_FMA_TARGET void interpolate_row_fma(const float* plane, int in_w, const Taps& tx,
                                              const Taps& ty, int y, int out_w, float* dst) {
  const float* r0 = plane + static_cast<int64_t>(ty.i0[y]) * in_w;
  const float* r1 = plane + static_cast<int64_t>(ty.i1[y]) * in_w;
  const float l0y = ty.l0[y], l1y = ty.l1[y];
  for (int x = 0; x < out_w; ++x) {
    const int a = tx.i0[x], b = tx.i1[x];
    const float l0x = tx.l0[x], l1x = tx.l1[x];
    const float top = __builtin_fmaf(l0x, r0[a], l1x * r0[b]);
    const float bottom = __builtin_fmaf(l0x, r1[a], l1x * r1[b]);
    dst[x] = __builtin_fmaf(l0y, top, l1y * bottom);
  }
}

using RowFn = void (*)(const float*, int, const Taps&, const Taps&, int, int, float*);

// PyTorch runs its FMA-built kernels exactly when the CPU has AVX2 and FMA.
bool torch_uses_fma() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return fma;
#elif defined(__aarch64__)
  return true;  // GCC contracts by default there (not verified on ARM)
#else
  return false;
#endif
}

// Taps of both axes and the row kernel, with or without contraction.
struct Resampler {
  Taps tx, ty;
  RowFn row;
  Resampler(int in_h, int in_w, int out_h, int out_w)
      : tx(linear_taps(in_w, out_w, torch_uses_fma())),
        ty(linear_taps(in_h, out_h, torch_uses_fma())),
        row(torch_uses_fma() ? interpolate_row_fma : interpolate_row_plain) {}
};

void check_sizes(const void* src, const void* dst, int in_h, int in_w, int out_h, int out_w) {
  if (in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1) {
    throw Error(Status::InvalidArgument, "bilinear resize: sizes must be positive");
  }
  if (src == nullptr || dst == nullptr) {
    throw Error(Status::InvalidArgument, "bilinear resize: null pointer");
  }
}

}  // namespace

void resize_bilinear_plain(const float* src, int64_t planes, int in_h, int in_w, float* dst,
                           int out_h, int out_w) {
  if (planes < 0) throw Error(Status::InvalidArgument, "bilinear resize: negative plane count");
  if (planes == 0) return;
  check_sizes(src, dst, in_h, in_w, out_h, out_w);
  const Resampler rs(in_h, in_w, out_h, out_w);
  const int64_t in_plane = static_cast<int64_t>(in_h) * in_w;
  const int64_t out_plane = static_cast<int64_t>(out_h) * out_w;
  for (int64_t p = 0; p < planes; ++p) {
    for (int y = 0; y < out_h; ++y) {
      rs.row(src + p * in_plane, in_w, rs.tx, rs.ty, y, out_w,
                      dst + p * out_plane + static_cast<int64_t>(y) * out_w);
    }
  }
}

void semantic_argmax(const float* logits, int64_t c, int in_h, int in_w, int out_h, int out_w,
                     int32_t* labels) {
  if (c < 1 || c > std::numeric_limits<int32_t>::max()) {
    throw Error(Status::InvalidArgument, "semantic_argmax: need at least one class");
  }
  check_sizes(logits, labels, in_h, in_w, out_h, out_w);
  const Resampler rs(in_h, in_w, out_h, out_w);
  const int64_t in_plane = static_cast<int64_t>(in_h) * in_w;
  std::vector<float> row(static_cast<size_t>(out_w)), best(static_cast<size_t>(out_w));
  for (int y = 0; y < out_h; ++y) {
    int32_t* lab = labels + static_cast<int64_t>(y) * out_w;
    rs.row(logits, in_w, rs.tx, rs.ty, y, out_w, best.data());
    std::fill(lab, lab + out_w, 0);
    for (int64_t k = 1; k < c; ++k) {
      rs.row(logits + k * in_plane, in_w, rs.tx, rs.ty, y, out_w, row.data());
      for (int x = 0; x < out_w; ++x) {
        // Strictly greater keeps the first maximum; the first NaN wins and then stays.
        const bool take = row[x] > best[x] || (std::isnan(row[x]) && !std::isnan(best[x]));
        if (take) {
          best[x] = row[x];
          lab[x] = static_cast<int32_t>(k);
        }
      }
    }
  }
}

}  // namespace argus::kernels
