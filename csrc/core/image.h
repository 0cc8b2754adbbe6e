// A non-owning view of an 8-bit, 3-channel interleaved image.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace argus {

enum class PixelFormat : int {
  RGB8 = 0,  // bytes R, G, B per pixel
  BGR8 = 1,  // bytes B, G, R per pixel (OpenCV's order)
};

// Rows are `stride_bytes` apart; the 3 bytes of a pixel and the pixels of a row are
// contiguous. The caller keeps `data` alive while the view is used.
struct ImageView {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int64_t stride_bytes = 0;
  PixelFormat format = PixelFormat::RGB8;

  static constexpr int kChannels = 3;

  // Throws Error(Status::Image) when the view cannot describe a usable image.
  void validate() const {
    if (data == nullptr) throw Error(Status::Image, "image data is null");
    if (width <= 0 || height <= 0) {
      throw Error(Status::Image, "image is empty: " + std::to_string(width) + "x" +
                                     std::to_string(height) + " (width x height)");
    }
    const int64_t row_bytes = static_cast<int64_t>(width) * kChannels;
    if (stride_bytes < row_bytes) {
      throw Error(Status::Image, "image row stride " + std::to_string(stride_bytes) +
                                     " bytes is smaller than width*3 = " +
                                     std::to_string(row_bytes));
    }
    if (format != PixelFormat::RGB8 && format != PixelFormat::BGR8) {
      throw Error(Status::Image, "unknown pixel format");
    }
  }

  const uint8_t* row(int y) const { return data + static_cast<int64_t>(y) * stride_bytes; }
};

}  // namespace argus
