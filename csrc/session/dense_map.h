// Shared by the kinds whose result is a map at image resolution (label_map, value_map):
// the head's (c, h, w) map resized to the input and cropped to where the image lies in it
// (letterbox padding removed).
#pragma once

#include <vector>

#include "backends/backend.h"
#include "core/transform.h"

namespace argus::decode {

// (c, rh, rw) planes of `map` (batch 1) covering exactly the image inside the
// (input_h, input_w) input; rh, rw receive the region's size.
std::vector<float> image_region(const Tensor& map, int input_h, int input_w,
                                const Transform& transform, int& rh, int& rw);

}  // namespace argus::decode
