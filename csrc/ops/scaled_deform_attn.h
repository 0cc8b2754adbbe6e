// The fused kernel of the ai.argus::ScaledDeformAttn node (version 1, docs/custom_ops.md;
// graphs exported since argus-edge 0.3 use MSDeformSample instead, ms_deform_sample.h, and
// this node stays for the bundles that hold it): Argus
// token scaling, query LayerNorm, offset and attention-weight projections, softmax over
// levels x points, bilinear sampling (zero padding, align_corners=False), weighted sum,
// output projection, layer scale, residual and unscaling, in float32.
//
// Work is split over (batch x blocks of queries) on argus::parallel_for; inside a block
// the projections are register-tiled GEMMs and the sampling is vectorised over the head
// channels, with AVX-512, AVX2 or portable code chosen at run time (see ops/isa.h).
#pragma once

#include <cstdint>
#include <vector>

#include "ops/isa.h"
#include "ops/ms_deform_sample.h"

namespace argus::ops {

// The node's attributes: the sampling ones of MSDeformSample, plus its own.
struct DeformAttnParams : DeformSampleParams {
  bool token_scaling = false;  // Argus token scaling around the attention
  float eps = 1e-6f;           // query LayerNorm epsilon
};

// The node's weight inputs 3..11, borrowed (not copied) float32 arrays in nn.Linear
// layout (weight is (out, in)). D = query channels, Dv = value channels.
struct DeformAttnWeights {
  const float* norm_weight = nullptr;    // (D,)
  const float* norm_bias = nullptr;      // (D,)
  const float* offset_weight = nullptr;  // (M·L·P·2, D)
  const float* offset_bias = nullptr;    // (M·L·P·2,)
  const float* attn_weight = nullptr;    // (M·L·P, D)
  const float* attn_bias = nullptr;      // (M·L·P,)
  const float* output_weight = nullptr;  // (D, Dv)
  const float* output_bias = nullptr;    // (D,)
  const float* gamma = nullptr;          // (D,), or null for gamma = 1
};

// Weights repacked for the kernel (column panels of the transposed projections) plus
// the validated attributes. Immutable once built; share it between threads and calls
// (a graph's weights are constants: pack once, run many times).
class PackedDeformWeights {
 public:
  // Copies and repacks `weights`. Throws Error(InvalidArgument) for non-positive M, L,
  // P, D or Dv, a spatial_shapes that is not L positive (h, w) pairs, Dv not divisible
  // by M, a negative or non-finite eps, or a null weight pointer (gamma may be null).
  PackedDeformWeights(const DeformAttnParams& params, const DeformAttnWeights& weights,
                      int64_t channels, int64_t value_channels);

  const DeformAttnParams& params() const noexcept { return params_; }
  int64_t channels() const noexcept { return channels_; }              // D
  int64_t value_channels() const noexcept { return value_channels_; }  // Dv
  int64_t value_tokens() const noexcept { return value_tokens_; }      // S = Σ h·w

  // Internal layout, read by the kernel: the offset and logit projections are one GEMM
  // with M·L·P·3 columns (offsets, then logits), padded to whole panels; the output
  // projection has D columns, padded likewise. level_starts()[l] = Σ_{k<l} h_k·w_k, for
  // l = 0..L (the last is S).
  int64_t proj_cols() const noexcept { return proj_cols_; }
  int64_t out_cols() const noexcept { return out_cols_; }
  const std::vector<int64_t>& level_starts() const noexcept { return level_starts_; }
  const float* norm_weight() const noexcept { return norm_weight_.data(); }
  const float* norm_bias() const noexcept { return norm_bias_.data(); }
  const float* proj_panels() const noexcept { return proj_panels_.data(); }
  const float* proj_bias() const noexcept { return proj_bias_.data(); }
  const float* out_panels() const noexcept { return out_panels_.data(); }
  const float* out_bias() const noexcept { return out_bias_.data(); }
  const float* gamma() const noexcept { return gamma_.empty() ? nullptr : gamma_.data(); }

 private:
  DeformAttnParams params_;
  int64_t channels_, value_channels_, value_tokens_ = 0, proj_cols_ = 0, out_cols_ = 0;
  std::vector<int64_t> level_starts_;
  std::vector<float> norm_weight_, norm_bias_, proj_panels_, proj_bias_, out_panels_,
      out_bias_, gamma_;
};

// Runs the node on one batch.
//   query:            (B, Q, D) float32, unscaled; also the residual
//   value:            (B, S, Dv) float32, S = weights.value_tokens()
//   reference_points: (Q, 2) float32 normalised (x, y), the same for every image
//   output:           (B, Q, D) float32, written; may be the same buffer as `query`
// All arrays are dense row-major and caller-owned. B = 0 or Q = 0 does nothing.
// Sampling locations may be anything, including far outside the maps or non-finite
// (such a point contributes 0). Throws Error(InvalidArgument) for negative B or Q or a
// null pointer with B·Q > 0, and as resolve_isa for an unavailable ISA.
// Thread safety: concurrent calls are fine (they share nothing mutable).
void scaled_deform_attn(const float* query, const float* value, const float* reference_points,
                        const PackedDeformWeights& weights, int64_t batch, int64_t queries,
                        float* output, const DeformAttnOptions& options = {});

// One-shot form: packs `weights` for this call only.
void scaled_deform_attn(const float* query, const float* value, const float* reference_points,
                        const DeformAttnParams& params, const DeformAttnWeights& weights,
                        int64_t batch, int64_t queries, int64_t channels,
                        int64_t value_channels, float* output,
                        const DeformAttnOptions& options = {});

}  // namespace argus::ops
