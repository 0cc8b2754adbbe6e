// Image -> normalized float32 tensor, the input of every Argus graph.
#pragma once

#include "core/image.h"
#include "core/transform.h"

namespace argus {

enum class ResizePolicy : int {
  Letterbox = 0,  // keep the aspect ratio, centre the image, pad with the mean colour
  Stretch = 1,    // resize to exactly the output size
};

struct PreprocessParams {
  int out_height = 512;
  int out_width = 512;
  ResizePolicy policy = ResizePolicy::Letterbox;
  // Per RGB channel, in 0..255 pixel units: tensor = (pixel - mean) / std.
  float mean[3] = {123.675f, 116.28f, 103.53f};
  float std[3] = {58.395f, 57.12f, 57.375f};
};

// Throws Error(Status::InvalidArgument) for non-positive sizes, an unknown policy or a
// std that is zero or not finite.
void validate(const PreprocessParams& params);

// Where the image lands in the tensor for `params` (no pixel work).
// Stretch: scale = out / in per axis, offset 0. Letterbox: s = min(out_w / w, out_h / h),
// new size = max(1, round(size * s)) (halves round to even, like Python's round),
// offset = floor((out - new) / 2), scale = new / in per axis.
Transform compute_transform(int image_width, int image_height, const PreprocessParams& params);

// Writes 3 x out_height x out_width float32 planes, RGB order whatever the image's
// pixel format, into `out_chw` (caller-owned, contiguous). Letterbox padding is 0,
// i.e. the mean colour. `out_transform` may be null. Throws Error(Status::Image) for an
// invalid view and Error(Status::InvalidArgument) for invalid params or a null output.
void preprocess(const ImageView& image, const PreprocessParams& params, float* out_chw,
                Transform* out_transform);

}  // namespace argus
