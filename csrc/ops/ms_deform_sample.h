// The kernel of the ai.argus::MSDeformSample node (docs/custom_ops.md): the gather-bound
// core of multi-scale deformable attention. Per query and head: a softmax over the
// levels x points logits, sampling locations from the reference point and the pixel
// offsets, bilinear sampling of each level (zero padding, align_corners=False) and the
// attention-weighted sum, in float32. The projections that produce the offsets and logits
// and the output projection after it are ordinary MatMuls outside the node, which every
// backend runs (and quantizes) at full speed.
//
// Work is split over (batch x blocks of queries) on argus::parallel_for; the sampling is
// vectorised over the head channels, with AVX-512, AVX2 or portable code chosen at run
// time (see ops/isa.h). The same sampling code serves ScaledDeformAttn (version 1).
#pragma once

#include <cstdint>
#include <vector>

#include "ops/isa.h"

namespace argus::ops {

// The sampling attributes shared by MSDeformSample and ScaledDeformAttn.
struct DeformSampleParams {
  int64_t n_heads = 0;                  // M
  int64_t n_levels = 0;                 // L
  int64_t n_points = 0;                 // P
  std::vector<int64_t> spatial_shapes;  // [h0, w0, h1, w1, ...], 2·L positive values
};

struct DeformAttnOptions {
  Isa isa = Isa::Auto;  // Auto: ARGUS_DEFORM_ISA or the best the CPU has
  int num_threads = 0;  // 0: argus::default_num_threads()
};

// Throws Error(InvalidArgument), messages prefixed by `op`, for non-positive M, L or P,
// non-positive value_channels or one not divisible by M, or a spatial_shapes that is not
// L positive (h, w) pairs.
void check_sample_params(const DeformSampleParams& params, int64_t value_channels,
                         const char* op);

// The first value row of each level, then S = Σ_l h_l·w_l: L + 1 values (params already
// checked).
std::vector<int64_t> level_starts(const DeformSampleParams& params);

// S = Σ_l h_l·w_l, the value tokens of all levels (params already checked).
int64_t value_tokens(const DeformSampleParams& params);

// Runs MSDeformSample on one batch.
//   value:            (B, S, Dv) float32, head-major channels (m·Dh + k), S = value_tokens
//   reference_points: (Q, 2) float32 normalised (x, y), the same for every image
//   offsets:          (B, Q, M·L·P·2) float32, (m, l, p, x/y) in pixels of level l
//   logits:           (B, Q, M·L·P) float32, (m, l, p), softmax-ed jointly over (l, p)
//   output:           (B, Q, Dv) float32, written
// All arrays are dense row-major and caller-owned. B = 0 or Q = 0 does nothing. Offsets
// may be anything, including non-finite (such a point contributes 0). Throws
// Error(InvalidArgument) as check_sample_params, for negative B or Q or a null pointer
// with B·Q > 0, and as resolve_isa for an unavailable ISA. Concurrent calls are fine.
void ms_deform_sample(const float* value, const float* reference_points, const float* offsets,
                      const float* logits, const DeformSampleParams& params, int64_t batch,
                      int64_t queries, int64_t value_channels, float* output,
                      const DeformAttnOptions& options = {});

}  // namespace argus::ops
