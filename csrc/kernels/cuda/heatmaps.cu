#include "kernels/cuda/heatmaps.h"

#include <string>
#include <vector>

#include "kernels/cuda/check.h"

namespace argus::kernels::cuda {
namespace {

using detail::check;
using detail::DeviceBuffer;

constexpr int kThreads = 256;
constexpr double kLogClipLow = 1e-3, kLogClipHigh = 50.0;
constexpr double kFloat32Eps = 1.1920928955078125e-07;

struct MapGeometry {
  int h, w, kernel;
  bool refine;
  double fx, fy;  // UDP factors (hm - 1) / (in - 1)
};

// a beats b: NaN first, then larger value, then lower index (numpy argmax).
__device__ inline bool beats(float va, int64_t ia, float vb, int64_t ib) {
  const bool na = isnan(va), nb = isnan(vb);
  if (na != nb) return na;
  if (!na && va != vb) return va > vb;
  return ia < ib;
}

// Block-wide first argmax of a map; every thread gets the result.
__device__ int64_t block_argmax(const float* m, int64_t size, float* s_val, int64_t* s_idx) {
  float best = m[0];
  int64_t best_i = 0;
  for (int64_t i = threadIdx.x; i < size; i += blockDim.x) {
    if (beats(m[i], i, best, best_i)) best = m[i], best_i = i;
  }
  s_val[threadIdx.x] = best;
  s_idx[threadIdx.x] = best_i;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      const int o = threadIdx.x + stride;
      if (beats(s_val[o], s_idx[o], s_val[threadIdx.x], s_idx[threadIdx.x])) {
        s_val[threadIdx.x] = s_val[o];
        s_idx[threadIdx.x] = s_idx[o];
      }
    }
    __syncthreads();
  }
  const int64_t result = s_idx[0];
  __syncthreads();
  return result;
}

// Horizontal blur pass at (r, c) from the vertical pass `rows`, taps in ascending order.
__device__ inline double blurred_at(const double* rows, int w, const double* taps, int kernel,
                                    int r, int c) {
  const int border = (kernel - 1) / 2;
  double acc = 0.0;
  for (int i = max(0, border - c); i < kernel && c + i - border < w; ++i) {
    acc += taps[i] * rows[static_cast<int64_t>(r) * w + c + i - border];
  }
  return acc;
}

// Vertical pass into `rows` and the block max of the blurred map (NaN propagates).
__device__ double blur_max(const float* m, const MapGeometry& g, const double* taps,
                           double* rows, double* s_max) {
  const int border = (g.kernel - 1) / 2;
  const int64_t size = static_cast<int64_t>(g.h) * g.w;
  for (int64_t p = threadIdx.x; p < size; p += blockDim.x) {
    const int r = static_cast<int>(p / g.w), c = static_cast<int>(p % g.w);
    double acc = 0.0;
    for (int i = max(0, border - r); i < g.kernel && r + i - border < g.h; ++i) {
      acc += taps[i] * static_cast<double>(m[static_cast<int64_t>(r + i - border) * g.w + c]);
    }
    rows[p] = acc;
  }
  __syncthreads();
  double local = -INFINITY;
  for (int64_t p = threadIdx.x; p < size; p += blockDim.x) {
    const double v = blurred_at(rows, g.w, taps, g.kernel, static_cast<int>(p / g.w),
                                static_cast<int>(p % g.w));
    local = (isnan(v) || isnan(local)) ? NAN : fmax(local, v);
  }
  s_max[threadIdx.x] = local;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      const double a = s_max[threadIdx.x], b = s_max[threadIdx.x + stride];
      s_max[threadIdx.x] = (isnan(a) || isnan(b)) ? NAN : fmax(a, b);
    }
    __syncthreads();
  }
  return s_max[0];
}

__device__ double log_at(const double* rows, const MapGeometry& g, const double* taps,
                         double ratio, int x, int y) {
  x = min(max(x, 0), g.w - 1);
  y = min(max(y, 0), g.h - 1);
  const double v = blurred_at(rows, g.w, taps, g.kernel, y, x) * ratio;
  return log(v < kLogClipLow ? kLogClipLow : (v > kLogClipHigh ? kLogClipHigh : v));
}

// np.clip(v, -1, 1): NaN stays NaN, like the CPU kernel.
__device__ inline double clip_unit(double v) { return v < -1.0 ? -1.0 : (v > 1.0 ? 1.0 : v); }

// The DARK step at integer peak (px, py), written to xy (first thread only).
__device__ void dark_step(const double* rows, const MapGeometry& g, const double* taps,
                          double ratio, int px, int py, double* xy) {
  const double c = log_at(rows, g, taps, ratio, px, py);
  const double xp = log_at(rows, g, taps, ratio, px + 1, py);
  const double xm = log_at(rows, g, taps, ratio, px - 1, py);
  const double yp = log_at(rows, g, taps, ratio, px, py + 1);
  const double ym = log_at(rows, g, taps, ratio, px, py - 1);
  const double gx = 0.5 * (xp - xm), gy = 0.5 * (yp - ym);
  double hxx = xp - 2 * c + xm, hyy = yp - 2 * c + ym;
  const double hxy = 0.5 * (log_at(rows, g, taps, ratio, px + 1, py + 1) - xp - yp + 2 * c - xm -
                            ym + log_at(rows, g, taps, ratio, px - 1, py - 1));
  hxx += kFloat32Eps;
  hyy += kFloat32Eps;
  const double det = hxx * hyy - hxy * hxy;
  double sx = 0.0, sy = 0.0;
  if (hxx < 0 && det > 0) {
    sx = -(hyy * gx - hxy * gy) / det;
    sy = -(hxx * gy - hxy * gx) / det;
  }
  xy[0] = px + clip_unit(sx);
  xy[1] = py + clip_unit(sy);
}

// One block per (person, keypoint) map. inverses (n, 6) or null; rows_scratch (maps, h*w).
__global__ void decode_kernel(const float* heatmaps, int64_t k, MapGeometry g, const double* taps,
                              const double* inverses, double* rows_scratch, float* keypoints,
                              float* scores) {
  __shared__ float s_val[kThreads];
  __shared__ int64_t s_idx[kThreads];
  __shared__ double s_max[kThreads];
  const int64_t map = blockIdx.x;
  const int64_t size = static_cast<int64_t>(g.h) * g.w;
  const float* m = heatmaps + map * size;
  const int64_t best = block_argmax(m, size, s_val, s_idx);
  const float score = m[best];
  const int px = static_cast<int>(best % g.w), py = static_cast<int>(best / g.w);
  double xy[2] = {static_cast<double>(px), static_cast<double>(py)};
  if (g.refine && score > 0) {  // uniform over the block: every thread has the same peak
    double* rows = rows_scratch + map * size;
    const double new_max = blur_max(m, g, taps, rows, s_max);
    const double ratio = new_max > 0 ? static_cast<double>(score) / new_max : 1.0;
    if (threadIdx.x == 0) dark_step(rows, g, taps, ratio, px, py, xy);
  }
  if (threadIdx.x != 0) return;
  double x = xy[0] / g.fx, y = xy[1] / g.fy;
  if (inverses != nullptr) {
    const double* inv = inverses + (map / k) * 6;
    const double ix = x * inv[0] + y * inv[1] + inv[2];
    y = x * inv[3] + y * inv[4] + inv[5];
    x = ix;
  }
  keypoints[2 * map] = static_cast<float>(x);
  keypoints[2 * map + 1] = static_cast<float>(y);
  scores[map] = score;
}

void validate(const float* heatmaps, int64_t n, int64_t k, int h, int w,
              const HeatmapDecodeParams& p, const float* keypoints, const float* scores) {
  if (n < 0 || k < 0 || h < 2 || w < 2 || p.input_h < 2 || p.input_w < 2) {
    throw Error(Status::InvalidArgument,
                "decode_heatmaps: need n, k >= 0 and heatmap and input sides >= 2");
  }
  if (n * k > 0 && (!heatmaps || !keypoints || !scores)) {
    throw Error(Status::InvalidArgument, "decode_heatmaps: null pointer");
  }
}

}  // namespace

void decode_heatmaps(const float* heatmaps, int64_t n, int64_t k, int h, int w,
                     const double* warps, const HeatmapDecodeParams& params, float* keypoints,
                     float* scores) {
  validate(heatmaps, n, k, h, w, params, keypoints, scores);
  const std::vector<double> taps = kernels::detail::dark_blur_taps(params.blur_kernel);
  std::vector<double> inverses;
  if (warps != nullptr) {
    inverses.resize(static_cast<size_t>(6 * n));
    for (int64_t i = 0; i < n; ++i) kernels::detail::invert_affine(warps + 6 * i, &inverses[6 * i]);
  }
  const int64_t maps = n * k, size = static_cast<int64_t>(h) * w;
  if (maps == 0) return;
  detail::require_device();
  const DeviceBuffer<float> d_maps(heatmaps, static_cast<size_t>(maps * size));
  const DeviceBuffer<double> d_taps(taps.data(), taps.size());
  const DeviceBuffer<double> d_inv(inverses.data(), inverses.size());
  DeviceBuffer<double> d_rows(params.refine ? static_cast<size_t>(maps * size) : 0);
  DeviceBuffer<float> d_kp(static_cast<size_t>(2 * maps)), d_scores(static_cast<size_t>(maps));
  const MapGeometry g{h, w, params.blur_kernel, params.refine, (w - 1.0) / (params.input_w - 1.0),
                      (h - 1.0) / (params.input_h - 1.0)};
  decode_kernel<<<static_cast<unsigned>(maps), kThreads>>>(
      d_maps.get(), k, g, d_taps.get(), warps ? d_inv.get() : nullptr, d_rows.get(), d_kp.get(),
      d_scores.get());
  check(cudaGetLastError(), "decode_heatmaps launch");
  d_kp.to_host(keypoints, static_cast<size_t>(2 * maps));
  d_scores.to_host(scores, static_cast<size_t>(maps));
}

}  // namespace argus::kernels::cuda
