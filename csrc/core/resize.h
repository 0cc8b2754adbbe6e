// Separable antialiased bilinear resize.
//
// Numerically equivalent to
//   torch.nn.functional.interpolate(x, size, mode="bilinear", align_corners=False,
//                                   antialias=True)
// which is PIL's BILINEAR ("triangle") filter: output pixel i of an axis is centred on
// input coordinate (i + 0.5) * in / out; when downscaling by s = in / out > 1 the
// triangle is stretched to support s, when upscaling it is plain bilinear with
// half-pixel centres. Taps that fall outside the image are dropped and the remaining
// weights renormalised to sum 1 (edge clamping the way PyTorch does it).
//
// Both entry points compute each axis's weight table once per call, then run a
// horizontal pass followed by a vertical pass. out size == in size is the identity.
#pragma once

#include <cstdint>

namespace argus {

// Planar float32 -> planar float32. `src` holds `planes` contiguous in_h x in_w planes
// (C x H x W, or N*C planes), `dst` receives `planes` contiguous out_h x out_w planes.
// Throws Error(Status::InvalidArgument) on null pointers or non-positive sizes.
void resize_bilinear_aa(const float* src, int64_t planes, int in_h, int in_w, float* dst,
                        int out_h, int out_w);

// Destination of the uint8 entry point: three float32 planes (one per input channel,
// in input byte order) whose rows are `row_stride` floats apart. The planes may point
// into a bigger buffer, which is how preprocessing writes a letterboxed region and
// swaps BGR to RGB without a copy.
struct PlanarF32Out {
  float* planes[3] = {nullptr, nullptr, nullptr};
  int64_t row_stride = 0;
};

// uint8 interleaved HWC (3 channels, rows `src_stride_bytes` apart) -> three float32
// planes holding pixel values in 0..255 units. Throws Error(Status::InvalidArgument)
// on null pointers, non-positive sizes or a stride smaller than in_w*3 / out_w.
void resize_bilinear_aa_u8c3(const uint8_t* src, int in_h, int in_w, int64_t src_stride_bytes,
                             const PlanarF32Out& dst, int out_h, int out_w);

}  // namespace argus
