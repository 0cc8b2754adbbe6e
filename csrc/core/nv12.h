// NV12 (camera ISP output) -> interleaved RGB8, BT.601 limited range.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"

namespace argus {

// A Y plane (width x height, rows y_stride bytes apart) and an interleaved UV plane
// (width/2 pairs x height/2 rows, rows uv_stride bytes apart); caller-owned.
struct Nv12View {
  const uint8_t* y = nullptr;
  const uint8_t* uv = nullptr;
  int width = 0;  // even, > 0
  int height = 0;  // even, > 0
  int64_t y_stride = 0;
  int64_t uv_stride = 0;
};

// Converts to RGB8 (rows width*3 bytes) in `rgb` (resized) and returns a view of it.
// R = 1.164(Y-16) + 1.596(V-128), G = 1.164(Y-16) - 0.392(U-128) - 0.813(V-128),
// B = 1.164(Y-16) + 2.017(U-128), rounded and clamped to 0..255 (chroma sited per 2x2
// block, nearest). Throws Error(Status::Image) for null planes, odd or non-positive
// sizes or too small strides.
ImageView nv12_to_rgb(const Nv12View& src, std::vector<uint8_t>& rgb);

}  // namespace argus
