#include "kernels/masks.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/status.h"

namespace argus::kernels {
namespace {

// Bilinear taps along one axis: sample position u of each pixel, clamped to the source.
struct AxisTaps {
  int64_t first = 0;  // first image pixel of the span
  std::vector<int> i0, i1;
  std::vector<float> w1;
  size_t size() const { return i0.size(); }
};

// Pixels whose centres c + 0.5 lie in [lo, hi), within [0, n), and their taps.
AxisTaps axis_taps(double lo, double hi, int n, double scale, double offset, int n_src) {
  AxisTaps taps;
  // Clamping to [-1, n + 1] first changes no result and keeps the casts defined.
  const auto pixel = [n](double v) {
    return static_cast<int64_t>(std::ceil(std::min(std::max(v - 0.5, -1.0), n + 1.0)));
  };
  taps.first = std::max<int64_t>(0, pixel(lo));
  const int64_t last = std::min<int64_t>(n, pixel(hi));
  for (int64_t px = taps.first; px < last; ++px) {
    double u = ((static_cast<double>(px) + 0.5) * scale + offset) / kProtoStride - 0.5;
    u = std::min(std::max(u, 0.0), static_cast<double>(n_src - 1));
    const int i0 = static_cast<int>(std::floor(u));
    taps.i0.push_back(i0);
    taps.i1.push_back(std::min(i0 + 1, n_src - 1));
    taps.w1.push_back(static_cast<float>(u - i0));
  }
  return taps;
}

// True when the box's span along an axis is a usable [lo, hi) (NaN boxes paste nothing).
bool finite_box(const Box& b) {
  return std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) && std::isfinite(b.y2);
}

// One mask: vertical interpolation of whole prototype rows, then horizontal taps.
void paste_one(const float* m, int h, int w, const Box& box, const Transform& t, float cut,
               uint8_t* out) {
  const int img_w = t.image_width, img_h = t.image_height;
  if (!finite_box(box)) return;
  const AxisTaps cols = axis_taps(box.x1, box.x2, img_w, t.scale_x, t.offset_x, w);
  const AxisTaps rows = axis_taps(box.y1, box.y2, img_h, t.scale_y, t.offset_y, h);
  if (cols.size() == 0 || rows.size() == 0) return;
  std::vector<float> vert(static_cast<size_t>(w));
  for (size_t r = 0; r < rows.size(); ++r) {
    const float wy = rows.w1[r], wy0 = 1.0f - wy;
    const float* a = m + static_cast<int64_t>(rows.i0[r]) * w;
    const float* b = m + static_cast<int64_t>(rows.i1[r]) * w;
    for (int x = 0; x < w; ++x) vert[x] = a[x] * wy0 + b[x] * wy;
    uint8_t* dst = out + (rows.first + static_cast<int64_t>(r)) * img_w + cols.first;
    for (size_t c = 0; c < cols.size(); ++c) {
      const float wx = cols.w1[c];
      const float v = vert[cols.i0[c]] * (1.0f - wx) + vert[cols.i1[c]] * wx;
      dst[c] = v > cut ? 1 : 0;
    }
  }
}

}  // namespace

void assemble_mask_logits(const float* coeffs, int64_t p, int64_t k, const float* protos,
                          int h, int w, float* out) {
  if (p < 0 || k < 1 || h < 1 || w < 1 || (p > 0 && (!coeffs || !protos || !out))) {
    throw Error(Status::InvalidArgument, "assemble_mask_logits: bad shapes or null pointers");
  }
  const int64_t hw = static_cast<int64_t>(h) * w;
  for (int64_t i = 0; i < p; ++i) {
    float* dst = out + i * hw;
    std::fill(dst, dst + hw, 0.0f);
    for (int64_t j = 0; j < k; ++j) {
      const float c = coeffs[i * k + j];
      const float* src = protos + j * hw;
      for (int64_t q = 0; q < hw; ++q) dst[q] += c * src[q];
    }
  }
}

float mask_logit_threshold(double mask_threshold) {
  const double p = mask_threshold;
  if (p <= 0.0) return -INFINITY;
  if (p >= 1.0) return INFINITY;
  return static_cast<float>(std::log(p / (1.0 - p)));
}

void paste_masks(const float* logits, int64_t p, int h, int w, const Box* boxes,
                 const Transform& image_to_input, double mask_threshold, uint8_t* out) {
  const Transform& t = image_to_input;
  if (p < 0 || h < 1 || w < 1 || t.image_width < 0 || t.image_height < 0 ||
      (p > 0 && (!logits || !boxes || !out))) {
    throw Error(Status::InvalidArgument, "paste_masks: bad shapes or null pointers");
  }
  if (!(t.scale_x > 0.0f) || !(t.scale_y > 0.0f)) {
    throw Error(Status::InvalidArgument, "paste_masks: transform scales must be positive");
  }
  const float cut = mask_logit_threshold(mask_threshold);
  const int64_t plane = static_cast<int64_t>(t.image_height) * t.image_width;
  const int64_t hw = static_cast<int64_t>(h) * w;
  if (p > 0) std::memset(out, 0, static_cast<size_t>(p * plane));
  for (int64_t i = 0; i < p; ++i) paste_one(logits + i * hw, h, w, boxes[i], t, cut, out + i * plane);
}

}  // namespace argus::kernels
