#include "kernels/segmentation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.h"
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

// Folds one channel's row into the running argmax. Strictly greater keeps the first
// maximum; the first NaN wins and then stays.
// Selects, no branches: which channel wins is data, and a mispredicted branch per pixel
// and channel cost more than the compare (the loop vectorises).
void take_max(const float* row, int64_t k, int n, float* best, int32_t* labels) {
  const auto label = static_cast<int32_t>(k);
  for (int i = 0; i < n; ++i) {
    const float r = row[i], b = best[i];
    const bool take = (r > b) | ((r != r) & (b == b));  // r != r: NaN
    best[i] = take ? r : b;
    labels[i] = take ? label : labels[i];
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
      take_max(row.data(), k, out_w, best.data(), lab);
    }
  }
}

// ---- two stages in one pass ------------------------------------------------------------

namespace {

// The composed taps of one axis: output d reads source taps idx[4d..4d+3] with weights
// w[4d..4d+3] (repeated indices carry their share).
struct Taps4 {
  std::vector<int> idx;
  std::vector<float> w;
};

Taps4 compose(const TwoStageAxis& a) {
  if (a.in < 1 || a.mid < 1 || a.len < 1 || a.out < 1 || a.start < 0 ||
      a.start > a.mid - a.len) {
    throw Error(Status::InvalidArgument, "two-stage resize: bad axis sizes or window");
  }
  const bool fma = torch_uses_fma();
  const Taps first = linear_taps(a.in, a.mid, fma);    // map -> input
  const Taps second = linear_taps(a.len, a.out, fma);  // window of the input -> image
  Taps4 t;
  t.idx.resize(4 * static_cast<size_t>(a.out));
  t.w.resize(4 * static_cast<size_t>(a.out));
  for (int d = 0; d < a.out; ++d) {
    const int m[2] = {a.start + second.i0[d], a.start + second.i1[d]};
    const float lm[2] = {second.l0[d], second.l1[d]};
    for (int k = 0; k < 2; ++k) {
      const size_t o = 4 * static_cast<size_t>(d) + 2 * k;
      t.idx[o] = first.i0[m[k]];
      t.idx[o + 1] = first.i1[m[k]];
      t.w[o] = lm[k] * first.l0[m[k]];
      t.w[o + 1] = lm[k] * first.l1[m[k]];
    }
  }
  return t;
}

// Output row r of one plane: the 4 source rows combined (scratch: in_w floats), then the
// 4 columns of each output pixel.
void two_stage_row(const float* plane, int in_w, const Taps4& ty, const Taps4& tx, int r,
                   int out_w, float* scratch, float* dst) {
  const size_t o = 4 * static_cast<size_t>(r);
  const float* rows[4];
  for (int k = 0; k < 4; ++k) rows[k] = plane + static_cast<int64_t>(ty.idx[o + k]) * in_w;
  for (int m = 0; m < in_w; ++m) {
    scratch[m] = ty.w[o] * rows[0][m] + ty.w[o + 1] * rows[1][m] + ty.w[o + 2] * rows[2][m] +
                 ty.w[o + 3] * rows[3][m];
  }
  for (int x = 0; x < out_w; ++x) {
    const int* i = &tx.idx[4 * static_cast<size_t>(x)];
    const float* w = &tx.w[4 * static_cast<size_t>(x)];
    dst[x] = w[0] * scratch[i[0]] + w[1] * scratch[i[1]] + w[2] * scratch[i[2]] +
             w[3] * scratch[i[3]];
  }
}

}  // namespace

void resize_two_stage(const float* src, int64_t planes, const TwoStageAxis& y,
                      const TwoStageAxis& x, float* dst) {
  if (planes < 0) throw Error(Status::InvalidArgument, "two-stage resize: negative planes");
  const Taps4 ty = compose(y), tx = compose(x);
  if (planes == 0) return;
  if (src == nullptr || dst == nullptr) {
    throw Error(Status::InvalidArgument, "two-stage resize: null pointer");
  }
  const int64_t in_plane = static_cast<int64_t>(y.in) * x.in;
  const int64_t out_plane = static_cast<int64_t>(y.out) * x.out;
  // (plane, row) pairs are independent: split over threads.
  parallel_for(static_cast<size_t>(planes * y.out), 0, [&](size_t begin, size_t end) {
    std::vector<float> scratch(static_cast<size_t>(x.in));
    for (size_t t = begin; t < end; ++t) {
      const int64_t p = static_cast<int64_t>(t) / y.out;
      const int r = static_cast<int>(static_cast<int64_t>(t) % y.out);
      two_stage_row(src + p * in_plane, x.in, ty, tx, r, x.out, scratch.data(),
                    dst + p * out_plane + static_cast<int64_t>(r) * x.out);
    }
  });
}

namespace {

// Output rows per task of argmax_two_stage: the band's source rows, resized along x once
// per class, are shared by its output rows.
constexpr int kArgmaxBand = 64;

// The labels of output rows [r0, r1): per class, the band's source rows resized along x
// (the gathers), then each output row as 4 of those rows combined (contiguous, vectorised)
// and folded into the running argmax.
void argmax_band(const float* logits, int64_t c, const TwoStageAxis& x, const Taps4& ty,
                 const Taps4& tx, int64_t in_plane, int r0, int r1, int32_t* labels) {
  const size_t o0 = 4 * static_cast<size_t>(r0), o1 = 4 * static_cast<size_t>(r1);
  const int s0 = *std::min_element(ty.idx.begin() + o0, ty.idx.begin() + o1);
  const int s1 = *std::max_element(ty.idx.begin() + o0, ty.idx.begin() + o1);
  const int out_w = x.out;
  std::vector<float> rows(static_cast<size_t>(s1 - s0 + 1) * out_w);
  std::vector<float> row(static_cast<size_t>(out_w));
  std::vector<float> best(static_cast<size_t>(r1 - r0) * out_w);
  for (int64_t k = 0; k < c; ++k) {
    const float* plane = logits + k * in_plane;
    for (int sr = s0; sr <= s1; ++sr) {
      const float* src = plane + static_cast<int64_t>(sr) * x.in;
      float* dst = rows.data() + static_cast<size_t>(sr - s0) * out_w;
      for (int d = 0; d < out_w; ++d) {
        const int* i = &tx.idx[4 * static_cast<size_t>(d)];
        const float* w = &tx.w[4 * static_cast<size_t>(d)];
        dst[d] = w[0] * src[i[0]] + w[1] * src[i[1]] + w[2] * src[i[2]] + w[3] * src[i[3]];
      }
    }
    for (int r = r0; r < r1; ++r) {
      const size_t o = 4 * static_cast<size_t>(r);
      const float* a[4];
      for (int j = 0; j < 4; ++j) {
        a[j] = rows.data() + static_cast<size_t>(ty.idx[o + j] - s0) * out_w;
      }
      const float w0 = ty.w[o], w1 = ty.w[o + 1], w2 = ty.w[o + 2], w3 = ty.w[o + 3];
      float* b = best.data() + static_cast<size_t>(r - r0) * out_w;
      int32_t* lab = labels + static_cast<int64_t>(r) * out_w;
      float* dst = k == 0 ? b : row.data();
      for (int m = 0; m < out_w; ++m) {
        dst[m] = w0 * a[0][m] + w1 * a[1][m] + w2 * a[2][m] + w3 * a[3][m];
      }
      if (k == 0) {
        std::fill(lab, lab + out_w, 0);
      } else {
        take_max(row.data(), k, out_w, b, lab);
      }
    }
  }
}

}  // namespace

void argmax_two_stage(const float* logits, int64_t c, const TwoStageAxis& y,
                      const TwoStageAxis& x, int32_t* labels) {
  if (c < 1 || c > std::numeric_limits<int32_t>::max()) {
    throw Error(Status::InvalidArgument, "argmax_two_stage: need at least one class");
  }
  const Taps4 ty = compose(y), tx = compose(x);
  if (logits == nullptr || labels == nullptr) {
    throw Error(Status::InvalidArgument, "argmax_two_stage: null pointer");
  }
  const int64_t in_plane = static_cast<int64_t>(y.in) * x.in;
  const size_t bands = static_cast<size_t>((y.out + kArgmaxBand - 1) / kArgmaxBand);
  parallel_for(bands, 0, [&](size_t begin, size_t end) {
    for (size_t band = begin; band < end; ++band) {
      const int r0 = static_cast<int>(band) * kArgmaxBand;
      argmax_band(logits, c, x, ty, tx, in_plane, r0, std::min(y.out, r0 + kArgmaxBand),
                  labels);
    }
  });
}

}  // namespace argus::kernels
