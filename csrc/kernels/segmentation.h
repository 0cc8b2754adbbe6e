// Dense per-pixel outputs back at image size: semantic labels (argmax of bilinearly
// resized logits) and depth maps (bilinear resize).
//
// Both reproduce torch.nn.functional.interpolate(x, size, mode="bilinear",
// align_corners=False) without antialiasing (training/heads/upernet.py and depth.py
// `predict`): per axis, scale = in / out in float32, source = scale * (dst + 0.5) - 0.5
// clamped at 0, i0 = min(floor(source), in - 1), i1 = min(i0 + 1, in - 1),
// lambda1 = clamp(source - i0, 0, 1), lambda0 = 1 - lambda1; the value is
// l0y * (l0x * x00 + l1x * x01) + l1y * (l0x * x10 + l1x * x11) in float32. PyTorch's
// AVX2/AVX512 kernels are compiled with FMA and contract that expression; on a CPU with
// AVX2 + FMA this file evaluates the same contracted form (runtime dispatch), else the
// plain one, so results are bit-exact with torch's generic kernel on x86-64 (verified on
// torch 2.13). PyTorch switches to a channels-last kernel with another summation order
// when out_h + out_w <= 128 (small outputs); there values agree to ~1 float32 ULP.
// Argmax ties go to the lowest channel (torch.argmax); a NaN logit wins like a maximum.
//
// The two-stage forms decode a head's map straight to the image: per axis, the map is
// resized to the letterboxed input (stage 1), the image's window of the input is resized
// to the image (stage 2). The composition of the two linear interpolations has at most 4
// taps per output pixel, so it is computed in one pass, row by row, with no intermediate
// map at the input's size: the same values as running both stages (float32 rounding
// aside: the sums are ordered differently).
//
// Pure functions: safe to call concurrently with distinct outputs.
#pragma once

#include <cstdint>

namespace argus::kernels {

// Resizes `planes` contiguous in_h x in_w float32 planes of `src` to out_h x out_w
// planes in `dst` (caller-owned, no aliasing). Throws Error(InvalidArgument) on
// non-positive sizes or null pointers.
void resize_bilinear_plain(const float* src, int64_t planes, int in_h, int in_w, float* dst,
                           int out_h, int out_w);

// One axis of a two-stage resize: `in` map pixels -> `mid` input pixels, whose window
// [start, start + len) -> `out` image pixels. Needs in, mid, len, out >= 1 and the window
// inside [0, mid).
struct TwoStageAxis {
  int in = 0, mid = 0, start = 0, len = 0, out = 0;
};

// (planes, y.in, x.in) -> (planes, y.out, x.out). Throws Error(InvalidArgument) on bad
// axes or null pointers. Rows run on argus::parallel_for (default_num_threads(); results
// do not depend on the thread count).
void resize_two_stage(const float* src, int64_t planes, const TwoStageAxis& y,
                      const TwoStageAxis& x, float* dst);

// (c, y.in, x.in) logits -> (y.out, x.out) int32 labels: argmax over channels of the
// two-stage resized logits (ties and NaN as semantic_argmax). Rows run on
// argus::parallel_for, as resize_two_stage.
void argmax_two_stage(const float* logits, int64_t c, const TwoStageAxis& y,
                      const TwoStageAxis& x, int32_t* labels);

// (c, in_h, in_w) logits -> (out_h, out_w) int32 labels in [0, c): argmax over channels
// of the bilinearly resized logits, computed row by row (no full-size float buffer).
// Throws Error(InvalidArgument) on c < 1, non-positive sizes or null pointers.
void semantic_argmax(const float* logits, int64_t c, int in_h, int in_w, int out_h, int out_w,
                     int32_t* labels);

}  // namespace argus::kernels
