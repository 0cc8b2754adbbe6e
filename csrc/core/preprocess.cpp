#include "core/preprocess.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/resize.h"
#include "core/status.h"

namespace argus {

void validate(const PreprocessParams& params) {
  if (params.out_height <= 0 || params.out_width <= 0) {
    throw Error(Status::InvalidArgument,
                "output size must be positive, got " + std::to_string(params.out_height) +
                    "x" + std::to_string(params.out_width) + " (height x width)");
  }
  if (params.policy != ResizePolicy::Letterbox && params.policy != ResizePolicy::Stretch) {
    throw Error(Status::InvalidArgument, "unknown resize policy");
  }
  for (int c = 0; c < 3; ++c) {
    if (!std::isfinite(params.mean[c])) {
      throw Error(Status::InvalidArgument, "mean must be finite");
    }
    if (!std::isfinite(params.std[c]) || params.std[c] == 0.0f) {
      throw Error(Status::InvalidArgument, "std must be finite and non-zero");
    }
  }
}

namespace {

// The rectangle of the output tensor the resized image occupies.
struct Placement {
  int x = 0, y = 0, width = 0, height = 0;
};

Placement compute_placement(int image_width, int image_height, const PreprocessParams& params) {
  if (params.policy == ResizePolicy::Stretch) {
    return {0, 0, params.out_width, params.out_height};
  }
  const double s = std::min(static_cast<double>(params.out_width) / image_width,
                            static_cast<double>(params.out_height) / image_height);
  // nearbyint in the default rounding mode rounds halves to even, like Python's round().
  Placement p;
  p.width = std::clamp(static_cast<int>(std::nearbyint(image_width * s)), 1, params.out_width);
  p.height = std::clamp(static_cast<int>(std::nearbyint(image_height * s)), 1, params.out_height);
  p.x = (params.out_width - p.width) / 2;
  p.y = (params.out_height - p.height) / 2;
  return p;
}

}  // namespace

Transform compute_transform(int image_width, int image_height, const PreprocessParams& params) {
  const Placement p = compute_placement(image_width, image_height, params);
  Transform t;
  t.scale_x = static_cast<float>(static_cast<double>(p.width) / image_width);
  t.scale_y = static_cast<float>(static_cast<double>(p.height) / image_height);
  t.offset_x = static_cast<float>(p.x);
  t.offset_y = static_cast<float>(p.y);
  t.image_width = image_width;
  t.image_height = image_height;
  return t;
}

void preprocess(const ImageView& image, const PreprocessParams& params, float* out_chw,
                Transform* out_transform) {
  image.validate();
  validate(params);
  if (out_chw == nullptr) throw Error(Status::InvalidArgument, "output buffer is null");

  const Placement p = compute_placement(image.width, image.height, params);
  const int out_w = params.out_width, out_h = params.out_height;
  const int64_t plane = static_cast<int64_t>(out_w) * out_h;

  // Input channel k goes to RGB plane k (RGB8) or 2 - k (BGR8).
  const bool bgr = image.format == PixelFormat::BGR8;
  PlanarF32Out dst;
  dst.row_stride = out_w;
  for (int k = 0; k < 3; ++k) {
    const int rgb = bgr ? 2 - k : k;
    dst.planes[k] = out_chw + rgb * plane + static_cast<int64_t>(p.y) * out_w + p.x;
  }
  if (p.width != out_w || p.height != out_h) std::fill(out_chw, out_chw + 3 * plane, 0.0f);
  resize_bilinear_aa_u8c3(image.data, image.height, image.width, image.stride_bytes, dst,
                          p.height, p.width);

  for (int c = 0; c < 3; ++c) {
    const float mean = params.mean[c], inv_std = 1.0f / params.std[c];
    for (int y = 0; y < p.height; ++y) {
      float* row = out_chw + c * plane + static_cast<int64_t>(p.y + y) * out_w + p.x;
      for (int x = 0; x < p.width; ++x) row[x] = (row[x] - mean) * inv_std;
    }
  }
  if (out_transform != nullptr) {
    *out_transform = compute_transform(image.width, image.height, params);
  }
}

}  // namespace argus
