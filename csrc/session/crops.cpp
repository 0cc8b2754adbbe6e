// Image crops through affine warps; see crops.h.
#include "session/crops.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"

namespace argus::decode {

void crop_warps(const std::vector<Box>& boxes, int crop_h, int crop_w, double padding,
                std::vector<double>& warps) {
  const double aspect = double(crop_w) / double(crop_h);
  warps.assign(boxes.size() * 6, 0.0);
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Box& b = boxes[i];
    double w = double(b.x2) - b.x1, h = double(b.y2) - b.y1;
    const double cx = b.x1 + 0.5 * w - 0.5, cy = b.y1 + 0.5 * h - 0.5;
    if (w > aspect * h) {
      h = w / aspect;
    } else {
      w = h * aspect;
    }
    // A degenerate (zero-size) box still gets an invertible 1-pixel crop region.
    const double sw = std::max(w * padding, 1e-3), sh = std::max(h * padding, 1e-3);
    const double sx = (crop_w - 1.0) / sw, sy = (crop_h - 1.0) / sh;
    double* m = warps.data() + 6 * i;
    m[0] = sx, m[1] = 0.0, m[2] = (crop_w - 1.0) / 2.0 - sx * cx;
    m[3] = 0.0, m[4] = sy, m[5] = (crop_h - 1.0) / 2.0 - sy * cy;
  }
}

namespace {

// Bilinear sample of channel `c` at pixel-centre coordinates (x, y); outside pixels are 0.
float sample(const ImageView& image, int c, double x, double y) {
  const double fx = std::floor(x), fy = std::floor(y);
  const int x0 = int(fx), y0 = int(fy);
  const double ax = x - fx, ay = y - fy;
  double acc = 0.0;
  for (int dy = 0; dy < 2; ++dy) {
    const int yy = y0 + dy;
    if (yy < 0 || yy >= image.height) continue;
    const double wy = dy ? ay : 1.0 - ay;
    const uint8_t* row = image.row(yy);
    for (int dx = 0; dx < 2; ++dx) {
      const int xx = x0 + dx;
      if (xx < 0 || xx >= image.width) continue;
      acc += wy * (dx ? ax : 1.0 - ax) * row[3 * xx + c];
    }
  }
  return float(acc);
}

}  // namespace

void warp_crops(const ImageView& image, const std::vector<double>& warps, int crop_h,
                int crop_w, const PreprocessParams& norm, std::vector<float>& crops) {
  const size_t n = warps.size() / 6;
  const size_t plane = size_t(crop_h) * crop_w;
  crops.assign(n * 3 * plane, 0.0f);
  const bool bgr = image.format == PixelFormat::BGR8;
  for (size_t i = 0; i < n; ++i) {
    const double* m = warps.data() + 6 * i;
    const double det = m[0] * m[4] - m[1] * m[3];
    if (!(std::isfinite(det) && det != 0.0)) throw Error(Status::Internal, "singular crop");
    // crop -> image: inverse of [[a b c] [d e f]].
    const double ia = m[4] / det, ib = -m[1] / det, id = -m[3] / det, ie = m[0] / det;
    const double ic = -(ia * m[2] + ib * m[5]), iff = -(id * m[2] + ie * m[5]);
    for (int v = 0; v < crop_h; ++v) {
      for (int u = 0; u < crop_w; ++u) {
        const double x = ia * u + ib * v + ic, y = id * u + ie * v + iff;
        for (int c = 0; c < 3; ++c) {
          const float value = sample(image, bgr ? 2 - c : c, x, y);
          crops[(i * 3 + c) * plane + size_t(v) * crop_w + u] =
              (value - norm.mean[c]) / norm.std[c];
        }
      }
    }
  }
}

void flip_crops(std::vector<float>& crops, int64_t planes, int h, int w) {
  for (int64_t p = 0; p < planes; ++p) {
    for (int y = 0; y < h; ++y) {
      float* row = crops.data() + (p * h + y) * w;
      std::reverse(row, row + w);
    }
  }
}

}  // namespace argus::decode
