// Crops of image regions for kinds whose head runs on parts of the image (top-down
// pose): the C++ twin of training/data/affine.py (box_to_center_scale,
// get_affine_transform without rotation) and of cv2.warpAffine(INTER_LINEAR,
// BORDER_CONSTANT 0) followed by the mean/std normalization.
#pragma once

#include <vector>

#include "core/image.h"
#include "core/preprocess.h"
#include "core/transform.h"

namespace argus::decode {

// Image -> crop affines (6 doubles each, row-major 2x3) of `boxes`: each box padded by
// `padding` and widened or heightened to the crop's aspect, centred in a (crop_h, crop_w)
// crop with the UDP convention (pixel centres, size - 1).
void crop_warps(const std::vector<Box>& boxes, int crop_h, int crop_w, double padding,
                std::vector<double>& warps);
// The normalized crops (n, 3, crop_h, crop_w) of `image` through `warps`.
void warp_crops(const ImageView& image, const std::vector<double>& warps, int crop_h,
                int crop_w, const PreprocessParams& norm, std::vector<float>& crops);
// Mirrors `planes` planes of (h, w) horizontally, in place.
void flip_crops(std::vector<float>& crops, int64_t planes, int h, int w);

}  // namespace argus::decode
