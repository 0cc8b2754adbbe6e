// NV12 -> RGB8; see nv12.h.
#include "core/nv12.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace argus {

namespace {

uint8_t clamp_u8(float v) {
  return static_cast<uint8_t>(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
}

void check(const Nv12View& s) {
  if (s.y == nullptr || s.uv == nullptr) throw Error(Status::Image, "NV12 plane is null");
  if (s.width <= 0 || s.height <= 0 || s.width % 2 || s.height % 2) {
    throw Error(Status::Image, "NV12 image must have positive even sizes, got " +
                                   std::to_string(s.width) + "x" + std::to_string(s.height));
  }
  if (s.y_stride < s.width || s.uv_stride < s.width) {
    throw Error(Status::Image, "NV12 stride is smaller than the width");
  }
}

}  // namespace

ImageView nv12_to_rgb(const Nv12View& src, std::vector<uint8_t>& rgb) {
  check(src);
  const int64_t row_bytes = int64_t{src.width} * 3;
  rgb.resize(static_cast<size_t>(row_bytes * src.height));
  for (int y = 0; y < src.height; ++y) {
    const uint8_t* yrow = src.y + y * src.y_stride;
    const uint8_t* uvrow = src.uv + (y / 2) * src.uv_stride;
    uint8_t* out = rgb.data() + y * row_bytes;
    for (int x = 0; x < src.width; ++x) {
      const float luma = 1.164f * (float(yrow[x]) - 16.0f);
      const float u = float(uvrow[x & ~1]) - 128.0f;
      const float v = float(uvrow[(x & ~1) + 1]) - 128.0f;
      out[3 * x + 0] = clamp_u8(luma + 1.596f * v);
      out[3 * x + 1] = clamp_u8(luma - 0.392f * u - 0.813f * v);
      out[3 * x + 2] = clamp_u8(luma + 2.017f * u);
    }
  }
  ImageView view;
  view.data = rgb.data();
  view.width = src.width;
  view.height = src.height;
  view.stride_bytes = row_bytes;
  view.format = PixelFormat::RGB8;
  return view;
}

}  // namespace argus
