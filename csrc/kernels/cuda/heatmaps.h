// CUDA heatmap decoding: host API (host pointers in and out), built with ARGUS_WITH_CUDA.
//
// Same contract as kernels::decode_heatmaps (kernels/heatmaps.h): one thread block per
// (person, keypoint) map finds the first maximum, blurs the map (vertical pass into a
// float64 scratch map, horizontal pass + block max), and its first thread takes the DARK
// Newton step and maps the point to the crop and the image. Blur taps and warp inverses
// are computed on the host by the CPU code (identical values); the arithmetic order is
// the CPU's, without FMA contraction. Scores match exactly; keypoints to float32
// rounding (device log may differ from glibc's by 1 ULP). `params.num_threads` is
// ignored. Thread safety: current device, default stream.
#pragma once

#include <cstdint>

#include "kernels/heatmaps.h"

namespace argus::kernels::cuda {

// Throws Error(InvalidArgument) like the CPU kernel, Error(BackendUnavailable) without a
// device and Error(Internal) on a CUDA runtime failure.
void decode_heatmaps(const float* heatmaps, int64_t n, int64_t k, int h, int w,
                     const double* warps, const HeatmapDecodeParams& params, float* keypoints,
                     float* scores);

}  // namespace argus::kernels::cuda
