// Top-down pose heatmap decoding: the C++ twin of training/heads/pose_codec.py
// (decode_udp_heatmaps, fuse_flip_test).
//
// Per (person, keypoint) map: integer argmax (first maximum in row-major order; a NaN
// wins like numpy's argmax); if the peak value is > 0 and `refine`, DARK refinement in
// UDP form: Gaussian blur of the whole map (zero padding, sigma from OpenCV's rule
// 0.3 * ((k - 1) / 2 - 1) + 0.8, rescaled to the original maximum), log of the result
// clipped to [1e-3, 50], central differences on the edge-padded log map at the peak,
// Newton step -H^-1 g taken only where the Hessian is negative definite, each component
// clipped to +-1 pixel. Heatmap pixels map to crop pixels by the UDP factor
// (in - 1) / (hm - 1) per axis, then to the image through the inverse of each person's
// image -> crop affine. All refinement arithmetic is float64 like the reference;
// keypoints agree with it to float32 rounding (exp/log may differ by 1 ULP).
//
// Pure functions; `num_threads` > 1 splits people over std::threads.
#pragma once

#include <cstdint>
#include <vector>

namespace argus::kernels {

struct HeatmapDecodeParams {
  int input_h = 256;    // crop height the heatmaps were predicted for (>= 2)
  int input_w = 192;    // crop width (>= 2)
  int blur_kernel = 11;  // odd, >= 1 (11 for sigma = 2)
  bool refine = true;    // false: integer argmax only
  int num_threads = 1;   // >= 1
};

// heatmaps (n, k, h, w) float32 (h, w >= 2); warps (n, 2, 3) float64 image -> crop
// affines, or null for crop-pixel output; writes keypoints (n, k, 2) float32 (x, y) and
// scores (n, k) float32 (the raw map maxima). All caller-owned, no aliasing.
// Throws Error(InvalidArgument) on bad sizes, an even or non-positive blur kernel,
// null pointers or a singular / non-finite warp.
void decode_heatmaps(const float* heatmaps, int64_t n, int64_t k, int h, int w,
                     const double* warps, const HeatmapDecodeParams& params, float* keypoints,
                     float* scores);

// Flip-test fusion: out = 0.5 * (heatmaps + flipped[:, flip_index, :, ::-1]) in float32.
// flip_index (k) is a permutation of 0..k-1 (left/right pairs swapped). `out` may alias
// `heatmaps` but not `flipped`. Throws Error(InvalidArgument) on a bad flip_index.
void fuse_flip_heatmaps(const float* heatmaps, const float* flipped, int64_t n, int64_t k,
                        int h, int w, const int64_t* flip_index, float* out);

// Shared with the CUDA kernels (kernels/cuda/heatmaps.h) so both compute identical values.
namespace detail {

// Normalised DARK blur taps of an odd kernel size (the reference's float64 values: numpy's
// pairwise sum for the normalisation). Throws Error(InvalidArgument) unless kernel is odd
// and >= 1.
std::vector<double> dark_blur_taps(int kernel);

// Inverse of a 2x3 affine (row-major); throws Error(InvalidArgument) when it is singular
// or not finite.
void invert_affine(const double* matrix, double inverse[6]);

}  // namespace detail
}  // namespace argus::kernels
