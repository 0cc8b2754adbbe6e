// Dense maps at image resolution; see dense_map.h.
#include "session/dense_map.h"

#include <algorithm>
#include <cmath>

#include "kernels/segmentation.h"

namespace argus::decode {

std::vector<float> image_region(const Tensor& map, int input_h, int input_w,
                                const Transform& transform, int& rh, int& rw) {
  const int64_t c = map.dim(1);
  const int h = static_cast<int>(map.dim(2)), w = static_cast<int>(map.dim(3));
  std::vector<float> full(static_cast<size_t>(c) * input_h * input_w);
  kernels::resize_bilinear_plain(map.data.data(), c, h, w, full.data(), input_h, input_w);
  const int x0 = std::clamp(static_cast<int>(std::lround(transform.offset_x)), 0, input_w - 1);
  const int y0 = std::clamp(static_cast<int>(std::lround(transform.offset_y)), 0, input_h - 1);
  rw = std::clamp(static_cast<int>(std::lround(float(transform.image_width) * transform.scale_x)),
                  1, input_w - x0);
  rh = std::clamp(static_cast<int>(std::lround(float(transform.image_height) * transform.scale_y)),
                  1, input_h - y0);
  std::vector<float> region(static_cast<size_t>(c) * rh * rw);
  for (int64_t p = 0; p < c; ++p) {
    for (int y = 0; y < rh; ++y) {
      const float* src = full.data() + (p * input_h + y0 + y) * input_w + x0;
      std::copy(src, src + rw, region.data() + (p * rh + y) * rw);
    }
  }
  return region;
}

}  // namespace argus::decode
