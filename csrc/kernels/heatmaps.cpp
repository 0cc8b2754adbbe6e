#include "kernels/heatmaps.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace argus::kernels {
namespace {

constexpr double kLogClipLow = 1e-3, kLogClipHigh = 50.0;  // mmpose's range
constexpr double kFloat32Eps = 1.1920928955078125e-07;     // np.finfo(np.float32).eps

// numpy's pairwise summation of float64 (what ndarray.sum() does on a contiguous row),
// so that the normalised blur taps are bit-identical to the reference's.
double pairwise_sum(const double* a, size_t n) {
  if (n < 8) {
    double res = 0.0;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    std::copy(a, a + 8, r);
    size_t i = 8;
    for (; i < n - n % 8; i += 8) {
      for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t half = n / 2;
  half -= half % 8;
  return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

}  // namespace

namespace detail {

// Gaussian taps, sigma by OpenCV's rule.
std::vector<double> dark_blur_taps(int kernel) {
  if (kernel < 1 || kernel % 2 != 1) {
    throw Error(Status::InvalidArgument,
                "the blur kernel size must be odd and positive, got " + std::to_string(kernel));
  }
  const int border = (kernel - 1) / 2;
  const double sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8;
  std::vector<double> taps(static_cast<size_t>(kernel));
  for (int i = 0; i < kernel; ++i) {
    const double d = i - border;
    taps[i] = std::exp(-(d * d) / (2 * (sigma * sigma)));
  }
  const double sum = pairwise_sum(taps.data(), taps.size());
  for (double& t : taps) t /= sum;
  return taps;
}

void invert_affine(const double* m, double inv[6]) {
  const double det = m[0] * m[4] - m[1] * m[3];
  if (!(det != 0.0) || !std::isfinite(det)) {
    throw Error(Status::InvalidArgument, "decode_heatmaps: a warp is singular or not finite");
  }
  inv[0] = m[4] / det;
  inv[1] = -m[1] / det;
  inv[3] = -m[3] / det;
  inv[4] = m[0] / det;
  inv[2] = -inv[0] * m[2] + -inv[1] * m[5];
  inv[5] = -inv[3] * m[2] + -inv[4] * m[5];
}

}  // namespace detail

namespace {

struct Peak {
  int x = 0, y = 0;
  float score = 0.0f;
};

// numpy argmax: first maximum in row-major order; the first NaN wins outright.
Peak argmax(const float* m, int h, int w) {
  int64_t best = 0;
  const int64_t size = static_cast<int64_t>(h) * w;
  for (int64_t i = 0; i < size; ++i) {
    if (std::isnan(m[i])) {
      best = i;
      break;
    }
    if (m[i] > m[best]) best = i;
  }
  return {static_cast<int>(best % w), static_cast<int>(best / w), m[best]};
}

// Per-thread work buffers.
struct Scratch {
  std::vector<double> rows, blurred;
};

// Zero-padded separable blur of a map into scratch.blurred (h x w), vertical pass
// first, taps accumulated in ascending order (out-of-range taps add exact zeros in the
// reference, skipping them changes nothing). Returns the max of the blurred map.
double blur(const float* m, int h, int w, const std::vector<double>& taps, Scratch& s) {
  const int kernel = static_cast<int>(taps.size()), border = (kernel - 1) / 2;
  s.rows.assign(static_cast<size_t>(h) * w, 0.0);
  s.blurred.assign(static_cast<size_t>(h) * w, 0.0);
  for (int r = 0; r < h; ++r) {
    double* dst = &s.rows[static_cast<size_t>(r) * w];
    for (int i = std::max(0, border - r); i < kernel && r + i - border < h; ++i) {
      const float* src = m + static_cast<int64_t>(r + i - border) * w;
      for (int c = 0; c < w; ++c) dst[c] += taps[i] * static_cast<double>(src[c]);
    }
  }
  double max_value = -INFINITY;
  for (int r = 0; r < h; ++r) {
    const double* src = &s.rows[static_cast<size_t>(r) * w];
    double* dst = &s.blurred[static_cast<size_t>(r) * w];
    // Tap-major loops (vectorisable) still add each pixel's taps in ascending order.
    for (int i = 0; i < kernel; ++i) {
      const int shift = i - border, c0 = std::max(0, -shift), c1 = std::min(w, w - shift);
      for (int c = c0; c < c1; ++c) dst[c] += taps[i] * src[c + shift];
    }
    for (int c = 0; c < w; ++c) {
      max_value = std::isnan(dst[c]) || std::isnan(max_value) ? NAN : std::max(max_value, dst[c]);
    }
  }
  return max_value;
}

double map_max(const float* m, int64_t size) {
  double v = -INFINITY;
  for (int64_t i = 0; i < size; ++i) {
    if (std::isnan(m[i])) return NAN;
    v = std::max(v, static_cast<double>(m[i]));
  }
  return v;
}

// Log of the rescaled blurred map at (x, y), edge-clamped (np.pad mode="edge").
struct LogMap {
  const std::vector<double>& blurred;
  int h, w;
  double ratio;
  double at(int x, int y) const {
    x = std::min(std::max(x, 0), w - 1);
    y = std::min(std::max(y, 0), h - 1);
    const double v = blurred[static_cast<size_t>(y) * w + x] * ratio;
    return std::log(v < kLogClipLow ? kLogClipLow : (v > kLogClipHigh ? kLogClipHigh : v));
  }
};

inline double clip_unit(double v) { return v < -1.0 ? -1.0 : (v > 1.0 ? 1.0 : v); }

// DARK (UDP form) refinement of a peak: heatmap coordinates (x, y) in float64.
void refine_dark(const float* m, int h, int w, const Peak& peak, const std::vector<double>& taps,
                 Scratch& s, double out[2]) {
  const double orig_max = map_max(m, static_cast<int64_t>(h) * w);
  const double new_max = blur(m, h, w, taps, s);
  const double ratio = new_max > 0 ? orig_max / new_max : 1.0;
  const LogMap lm{s.blurred, h, w, ratio};
  const int px = peak.x, py = peak.y;
  const double c = lm.at(px, py), xp = lm.at(px + 1, py), xm = lm.at(px - 1, py);
  const double yp = lm.at(px, py + 1), ym = lm.at(px, py - 1);
  const double gx = 0.5 * (xp - xm), gy = 0.5 * (yp - ym);
  double hxx = xp - 2 * c + xm, hyy = yp - 2 * c + ym;
  const double hxy = 0.5 * (lm.at(px + 1, py + 1) - xp - yp + 2 * c - xm - ym +
                            lm.at(px - 1, py - 1));
  hxx += kFloat32Eps;
  hyy += kFloat32Eps;
  const double det = hxx * hyy - hxy * hxy;
  double step_x = 0.0, step_y = 0.0;
  if (hxx < 0 && det > 0) {  // a true maximum of the log map: take the Newton step
    step_x = -(hyy * gx - hxy * gy) / det;
    step_y = -(hxx * gy - hxy * gx) / det;
  }
  out[0] = px + clip_unit(step_x);
  out[1] = py + clip_unit(step_y);
}

struct DecodeJob {
  const float* heatmaps;
  int64_t k;
  int h, w;
  const double* warps;
  const HeatmapDecodeParams* params;
  const std::vector<double>* taps;
  float* keypoints;
  float* scores;
};

// People [begin, end) of a job.
void decode_people(const DecodeJob& job, int64_t begin, int64_t end) {
  const HeatmapDecodeParams& p = *job.params;
  const int64_t plane = static_cast<int64_t>(job.h) * job.w;
  const double fx = (job.w - 1.0) / (p.input_w - 1.0), fy = (job.h - 1.0) / (p.input_h - 1.0);
  Scratch scratch;
  for (int64_t person = begin; person < end; ++person) {
    double inv[6];
    if (job.warps != nullptr) detail::invert_affine(job.warps + 6 * person, inv);
    for (int64_t kp = 0; kp < job.k; ++kp) {
      const int64_t map = person * job.k + kp;
      const float* m = job.heatmaps + map * plane;
      const Peak peak = argmax(m, job.h, job.w);
      double xy[2] = {static_cast<double>(peak.x), static_cast<double>(peak.y)};
      if (p.refine && peak.score > 0) refine_dark(m, job.h, job.w, peak, *job.taps, scratch, xy);
      double x = xy[0] / fx, y = xy[1] / fy;
      if (job.warps != nullptr) {
        const double ix = x * inv[0] + y * inv[1] + inv[2];
        y = x * inv[3] + y * inv[4] + inv[5];
        x = ix;
      }
      job.keypoints[2 * map] = static_cast<float>(x);
      job.keypoints[2 * map + 1] = static_cast<float>(y);
      job.scores[map] = peak.score;
    }
  }
}

void check_decode_args(const float* heatmaps, int64_t n, int64_t k, int h, int w,
                       const HeatmapDecodeParams& p, const float* keypoints,
                       const float* scores) {
  if (n < 0 || k < 0 || h < 2 || w < 2 || p.input_h < 2 || p.input_w < 2) {
    throw Error(Status::InvalidArgument,
                "decode_heatmaps: need n, k >= 0 and heatmap and input sides >= 2");
  }
  if (p.blur_kernel < 1 || p.blur_kernel % 2 != 1) {
    throw Error(Status::InvalidArgument, "decode_heatmaps: the blur kernel size must be odd "
                                         "and positive, got " + std::to_string(p.blur_kernel));
  }
  if (p.num_threads < 1) throw Error(Status::InvalidArgument, "decode_heatmaps: num_threads < 1");
  if (n * k > 0 && (!heatmaps || !keypoints || !scores)) {
    throw Error(Status::InvalidArgument, "decode_heatmaps: null pointer");
  }
}

}  // namespace

void decode_heatmaps(const float* heatmaps, int64_t n, int64_t k, int h, int w,
                     const double* warps, const HeatmapDecodeParams& params, float* keypoints,
                     float* scores) {
  check_decode_args(heatmaps, n, k, h, w, params, keypoints, scores);
  if (warps != nullptr) {  // validate every warp before any thread starts
    double inv[6];
    for (int64_t i = 0; i < n; ++i) detail::invert_affine(warps + 6 * i, inv);
  }
  const std::vector<double> taps = detail::dark_blur_taps(params.blur_kernel);
  const DecodeJob job{heatmaps, k, h, w, warps, &params, &taps, keypoints, scores};
  const int64_t threads = std::min<int64_t>(params.num_threads, n);
  if (threads <= 1) {
    decode_people(job, 0, n);
    return;
  }
  // A failure in a worker (out of memory) is rethrown here, never std::terminate.
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < threads; ++t) {
    pool.emplace_back([&job, &errors, t, n, threads] {
      try {
        decode_people(job, n * t / threads, n * (t + 1) / threads);
      } catch (...) {
        errors[static_cast<size_t>(t)] = std::current_exception();
      }
    });
  }
  for (std::thread& th : pool) th.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

void fuse_flip_heatmaps(const float* heatmaps, const float* flipped, int64_t n, int64_t k,
                        int h, int w, const int64_t* flip_index, float* out) {
  if (n < 0 || k < 0 || h < 1 || w < 1 || (n * k > 0 && (!heatmaps || !flipped || !out ||
                                                          !flip_index))) {
    throw Error(Status::InvalidArgument, "fuse_flip_heatmaps: bad sizes or null pointers");
  }
  std::vector<bool> seen(static_cast<size_t>(k), false);
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = flip_index[i];
    if (j < 0 || j >= k || seen[j]) {
      throw Error(Status::InvalidArgument, "fuse_flip_heatmaps: flip_index is not a permutation");
    }
    seen[j] = true;
  }
  const int64_t plane = static_cast<int64_t>(h) * w;
  for (int64_t p = 0; p < n; ++p) {
    for (int64_t i = 0; i < k; ++i) {
      const float* a = heatmaps + (p * k + i) * plane;
      const float* b = flipped + (p * k + flip_index[i]) * plane;
      float* o = out + (p * k + i) * plane;
      for (int64_t r = 0; r < h; ++r) {
        for (int c = 0; c < w; ++c) o[r * w + c] = 0.5f * (a[r * w + c] + b[r * w + (w - 1 - c)]);
      }
    }
  }
}

}  // namespace argus::kernels
