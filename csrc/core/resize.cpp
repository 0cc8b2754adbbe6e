#include "core/resize.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/status.h"

namespace argus {
namespace {

// Taps of one axis: output i reads inputs first[i] .. first[i] + count[i] - 1 with the
// weights at weights[i * taps ...] (zero-padded to `taps`).
struct AxisWeights {
  int taps = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<float> weights;
};

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Mirrors PyTorch's _compute_weights_aa (bilinear: interp_size 2), including the
// truncating casts that pick the window and the renormalisation at the borders.
AxisWeights compute_axis_weights(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double support = scale >= 1.0 ? scale : 1.0;
  const double inv_scale = scale >= 1.0 ? 1.0 / scale : 1.0;

  AxisWeights axis;
  axis.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.first.resize(out_size);
  axis.count.resize(out_size);
  axis.weights.assign(static_cast<size_t>(out_size) * axis.taps, 0.0f);
  std::vector<double> w(axis.taps);
  for (int i = 0; i < out_size; ++i) {
    const double center = scale * (i + 0.5);
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t hi = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_size);
    const int n = static_cast<int>(std::min<int64_t>(hi - lo, axis.taps));
    double total = 0.0;
    for (int j = 0; j < n; ++j) {
      w[j] = triangle((static_cast<double>(j + lo) - center + 0.5) * inv_scale);
      total += w[j];
    }
    float* dst = &axis.weights[static_cast<size_t>(i) * axis.taps];
    for (int j = 0; j < n; ++j) dst[j] = static_cast<float>(total != 0.0 ? w[j] / total : 0.0);
    axis.first[i] = static_cast<int>(lo);
    axis.count[i] = std::max(n, 0);
  }
  return axis;
}

void check_sizes(int in_h, int in_w, int out_h, int out_w) {
  if (in_h <= 0 || in_w <= 0 || out_h <= 0 || out_w <= 0) {
    throw Error(Status::InvalidArgument,
                "resize sizes must be positive, got " + std::to_string(in_h) + "x" +
                    std::to_string(in_w) + " -> " + std::to_string(out_h) + "x" +
                    std::to_string(out_w));
  }
}

// dst row (out_w floats) = sum_k wy[k] * rows[first + k]; rows are out_w floats apart.
void vertical_row(const float* rows, int out_w, const AxisWeights& wy, int y,
                  float* __restrict dst) {
  std::fill(dst, dst + out_w, 0.0f);
  const float* w = &wy.weights[static_cast<size_t>(y) * wy.taps];
  for (int k = 0; k < wy.count[y]; ++k) {
    const float wk = w[k];
    const float* __restrict in = rows + static_cast<int64_t>(wy.first[y] + k) * out_w;
    for (int x = 0; x < out_w; ++x) dst[x] += wk * in[x];
  }
}

}  // namespace

void resize_bilinear_aa(const float* src, int64_t planes, int in_h, int in_w, float* dst,
                        int out_h, int out_w) {
  check_sizes(in_h, in_w, out_h, out_w);
  if (planes < 0) throw Error(Status::InvalidArgument, "resize: negative plane count");
  if (planes == 0) return;
  if (src == nullptr || dst == nullptr) {
    throw Error(Status::InvalidArgument, "resize: null buffer");
  }
  const AxisWeights wx = compute_axis_weights(in_w, out_w);
  const AxisWeights wy = compute_axis_weights(in_h, out_h);
  std::vector<float> tmp(static_cast<size_t>(in_h) * out_w);
  for (int64_t p = 0; p < planes; ++p) {
    const float* plane = src + p * in_h * static_cast<int64_t>(in_w);
    for (int y = 0; y < in_h; ++y) {
      const float* row = plane + static_cast<int64_t>(y) * in_w;
      float* out = &tmp[static_cast<size_t>(y) * out_w];
      for (int x = 0; x < out_w; ++x) {
        const float* w = &wx.weights[static_cast<size_t>(x) * wx.taps];
        const float* in = row + wx.first[x];
        float acc = 0.0f;
        for (int k = 0; k < wx.count[x]; ++k) acc += w[k] * in[k];
        out[x] = acc;
      }
    }
    float* out_plane = dst + p * out_h * static_cast<int64_t>(out_w);
    for (int y = 0; y < out_h; ++y) {
      vertical_row(tmp.data(), out_w, wy, y, out_plane + static_cast<int64_t>(y) * out_w);
    }
  }
}

void resize_bilinear_aa_u8c3(const uint8_t* src, int in_h, int in_w, int64_t src_stride_bytes,
                             const PlanarF32Out& dst, int out_h, int out_w) {
  check_sizes(in_h, in_w, out_h, out_w);
  if (src == nullptr || !dst.planes[0] || !dst.planes[1] || !dst.planes[2]) {
    throw Error(Status::InvalidArgument, "resize: null buffer");
  }
  if (src_stride_bytes < static_cast<int64_t>(in_w) * 3 || dst.row_stride < out_w) {
    throw Error(Status::InvalidArgument, "resize: row stride smaller than a row");
  }
  const AxisWeights wx = compute_axis_weights(in_w, out_w);
  const AxisWeights wy = compute_axis_weights(in_h, out_h);
  // Horizontal pass: interleaved uint8 rows -> one float plane per channel.
  const size_t plane_size = static_cast<size_t>(in_h) * out_w;
  std::vector<float> tmp(plane_size * 3);
  for (int y = 0; y < in_h; ++y) {
    const uint8_t* row = src + static_cast<int64_t>(y) * src_stride_bytes;
    const size_t o = static_cast<size_t>(y) * out_w;
    for (int x = 0; x < out_w; ++x) {
      const float* w = &wx.weights[static_cast<size_t>(x) * wx.taps];
      const uint8_t* in = row + static_cast<int64_t>(wx.first[x]) * 3;
      float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f;
      for (int k = 0; k < wx.count[x]; ++k) {
        a0 += w[k] * in[3 * k + 0];
        a1 += w[k] * in[3 * k + 1];
        a2 += w[k] * in[3 * k + 2];
      }
      tmp[o + x] = a0;
      tmp[plane_size + o + x] = a1;
      tmp[2 * plane_size + o + x] = a2;
    }
  }
  // Vertical pass, straight into the destination planes.
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < out_h; ++y) {
      vertical_row(&tmp[c * plane_size], out_w, wy, y,
                   dst.planes[c] + static_cast<int64_t>(y) * dst.row_stride);
    }
  }
}

}  // namespace argus
