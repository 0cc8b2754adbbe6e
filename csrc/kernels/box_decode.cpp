#include "kernels/box_decode.h"

#include <algorithm>
#include <string>

#include "core/status.h"

namespace argus::kernels {
namespace {

void check_grid(int input_h, int input_w, const std::vector<int>& strides) {
  if (input_h <= 0 || input_w <= 0) {
    throw Error(Status::InvalidArgument, "input size must be positive, got " +
                                             std::to_string(input_h) + "x" +
                                             std::to_string(input_w));
  }
  for (int s : strides) {
    if (s <= 0 || input_h % s != 0 || input_w % s != 0) {
      throw Error(Status::InvalidArgument,
                  "input size " + std::to_string(input_h) + "x" + std::to_string(input_w) +
                      " is not a multiple of stride " + std::to_string(s));
    }
  }
}

// np.clip(v, lo, hi) for float32: NaN stays NaN.
inline float clip(float v, float lo, float hi) { return v < lo ? lo : (hi < v ? hi : v); }

}  // namespace

int64_t num_anchor_points(int input_h, int input_w, const std::vector<int>& strides) {
  check_grid(input_h, input_w, strides);
  int64_t n = 0;
  for (int s : strides) n += static_cast<int64_t>(input_h / s) * (input_w / s);
  return n;
}

std::vector<Point> anchor_points(int input_h, int input_w, const std::vector<int>& strides) {
  std::vector<Point> points;
  points.reserve(static_cast<size_t>(num_anchor_points(input_h, input_w, strides)));
  for (int s : strides) {
    const float fs = static_cast<float>(s);
    for (int i = 0; i < input_h / s; ++i) {
      for (int j = 0; j < input_w / s; ++j) {
        points.push_back({(static_cast<float>(j) + 0.5f) * fs, (static_cast<float>(i) + 0.5f) * fs});
      }
    }
  }
  return points;
}

Box decode_box(Point point, const float ltrb[4], int input_h, int input_w) {
  const float w = static_cast<float>(input_w), h = static_cast<float>(input_h);
  return {clip(point.x - ltrb[0], 0.0f, w), clip(point.y - ltrb[1], 0.0f, h),
          clip(point.x + ltrb[2], 0.0f, w), clip(point.y + ltrb[3], 0.0f, h)};
}

void decode_boxes(const Point* points, const float* ltrb, int64_t n, int input_h, int input_w,
                  Box* out) {
  if (n > 0 && (points == nullptr || ltrb == nullptr || out == nullptr)) {
    throw Error(Status::InvalidArgument, "decode_boxes: null pointer");
  }
  for (int64_t i = 0; i < n; ++i) out[i] = decode_box(points[i], ltrb + 4 * i, input_h, input_w);
}

}  // namespace argus::kernels
