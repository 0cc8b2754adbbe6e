// Shared by the kinds whose result is a map at image resolution (label_map, value_map):
// the head's (c, h, w) map, computed on the (input_h, input_w) letterboxed input, decoded
// to the image's pixels in one pass (kernels/segmentation.h, *_two_stage): the composition
// of the reference decoding's two bilinear resizes (the map to the input, as the heads'
// `predict` does; the image's window of it to the image), without the intermediate
// C-channel map at the input's size. Against running the two resizes: labels equal on
// >= 99.5 % of pixels, values within 1e-5 of the map's range
// (tests/test_kernels.py::test_one_pass_dense_decoding_matches_two_resizes).
#pragma once

#include <cstdint>

#include "core/transform.h"
#include "kernels/segmentation.h"

namespace argus::decode {

// The axes from a (map_h, map_w) map computed on a (input_h, input_w) input to the image
// `transform` placed in that input: the image's window is its placement, rounded to
// input pixels (the preprocessing places images at whole pixels).
struct ImageAxes {
  kernels::TwoStageAxis y, x;
};
ImageAxes image_axes(int map_h, int map_w, int input_h, int input_w, const Transform& transform);

// (c, map_h, map_w) logits -> (image_height, image_width) labels.
void labels_at_image(const float* logits, int64_t c, int map_h, int map_w, int input_h,
                     int input_w, const Transform& transform, int32_t* labels);

// (planes, map_h, map_w) -> (planes, image_height, image_width) bilinear values.
void values_at_image(const float* map, int64_t planes, int map_h, int map_w, int input_h,
                     int input_w, const Transform& transform, float* values);

}  // namespace argus::decode
