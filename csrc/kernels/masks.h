// Instance masks from prototypes, at image resolution: the C++ twin of
// training/heads/dense/mask_paste.py.
//
// logits = coefficients . prototypes (stride 4 of the input). Each image pixel whose
// centre lies in [x1, x2) x [y1, y2) of its detection's box samples the logits
// bilinearly at that centre mapped image -> input -> prototype pixels (edge-clamped, the
// align_corners=False convention) and is foreground when the sample exceeds
// logit(mask_threshold) (compared in float32, as numpy does). Pixels outside the box are
// background. Given the same logits, masks are bit-exact with the reference.
//
// Pure functions: safe to call concurrently with distinct outputs.
#pragma once

#include <cstdint>

#include "core/transform.h"

namespace argus::kernels {

constexpr int kProtoStride = 4;  // prototypes are at 1/4 of the input resolution

// (p, k) coefficients x (k, h, w) prototypes -> (p, h, w) float32 logits in `out`.
// Accumulates in float32 over k in order (numpy uses BLAS sgemm: results agree to a
// few float32 ULP of sum |c * proto|, not bit-exactly). All buffers caller-owned.
// Throws Error(InvalidArgument) on null pointers or non-positive sizes (p may be 0).
void assemble_mask_logits(const float* coeffs, int64_t p, int64_t k, const float* protos,
                          int h, int w, float* out);

// logit(p) = log(p / (1 - p)) as float32; -inf for p <= 0, +inf for p >= 1.
float mask_logit_threshold(double mask_threshold);

// Pastes (p, h, w) prototype-resolution logits into (p, image_height, image_width)
// 0/1 bytes (every byte written); `boxes` (p) are xyxy in image pixels, `image_to_input`
// the preprocessing transform. Throws Error(InvalidArgument) on null pointers,
// non-positive sizes or a non-positive transform scale.
void paste_masks(const float* logits, int64_t p, int h, int w, const Box* boxes,
                 const Transform& image_to_input, double mask_threshold, uint8_t* out);

}  // namespace argus::kernels
