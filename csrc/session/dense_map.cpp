// Dense maps at image resolution in one pass; see dense_map.h.
#include "session/dense_map.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"

namespace argus::decode {

namespace {

// One axis: `map` pixels -> `input` pixels, of which the image covers
// [offset, offset + image * scale) rounded -> `image` pixels.
kernels::TwoStageAxis axis(int map, int input, float offset, float scale, int image) {
  const int start = std::clamp(static_cast<int>(std::lround(offset)), 0, input - 1);
  const int len = std::clamp(static_cast<int>(std::lround(float(image) * scale)), 1,
                             input - start);
  return {map, input, start, len, image};
}

}  // namespace

ImageAxes image_axes(int map_h, int map_w, int input_h, int input_w,
                     const Transform& transform) {
  if (map_h < 1 || map_w < 1 || input_h < 1 || input_w < 1 || transform.image_width < 1 ||
      transform.image_height < 1) {
    throw Error(Status::Internal, "dense map: sizes must be positive");
  }
  return {axis(map_h, input_h, transform.offset_y, transform.scale_y, transform.image_height),
          axis(map_w, input_w, transform.offset_x, transform.scale_x, transform.image_width)};
}

void labels_at_image(const float* logits, int64_t c, int map_h, int map_w, int input_h,
                     int input_w, const Transform& transform, int32_t* labels) {
  const ImageAxes a = image_axes(map_h, map_w, input_h, input_w, transform);
  kernels::argmax_two_stage(logits, c, a.y, a.x, labels);
}

void values_at_image(const float* map, int64_t planes, int map_h, int map_w, int input_h,
                     int input_w, const Transform& transform, float* values) {
  const ImageAxes a = image_axes(map_h, map_w, input_h, input_w, transform);
  kernels::resize_two_stage(map, planes, a.y, a.x, values);
}

}  // namespace argus::decode
