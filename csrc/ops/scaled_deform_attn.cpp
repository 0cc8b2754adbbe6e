// Driver of the fused ScaledDeformAttn kernel: validation, weight packing, the per-image
// token scale, and the parallel loop over (image, query block). The arithmetic lives in
// deform_kernels_impl.h, instantiated once per ISA.
#include "ops/scaled_deform_attn.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/parallel.h"
#include "core/status.h"
#include "ops/deform_kernels.h"

namespace argus::ops {
namespace {

using detail::Kernels;
using detail::kernels_for;
using detail::kPanel;

// Queries per task: a multiple of every micro-kernel's row tile (6, 4, 3), small enough
// that a block's activations stay in L2 next to one weight panel.
constexpr int64_t kBlockRows = 48;
constexpr float kTokenScaleEps = 1e-6f;  // fixed by the model (token_scale), not an attribute

[[noreturn]] void invalid(const std::string& message) {
  throw Error(Status::InvalidArgument, "scaled_deform_attn: " + message);
}

int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

void check_params(const DeformAttnParams& p, int64_t channels, int64_t value_channels) {
  check_sample_params(p, value_channels, "scaled_deform_attn");
  if (channels <= 0) invalid("D must be positive");
  if (!std::isfinite(p.eps) || p.eps < 0.0f) invalid("eps must be finite and >= 0");
}

void check_weights(const DeformAttnWeights& w) {
  const float* required[] = {w.norm_weight, w.norm_bias,     w.offset_weight, w.offset_bias,
                             w.attn_weight, w.attn_bias,     w.output_weight, w.output_bias};
  for (const float* p : required) {
    if (p == nullptr) invalid("null weight pointer");
  }
}

// Packs the rows of an (n, k) matrix, transposed, as panels of k x kPanel columns:
// panel p holds rows [p·kPanel, (p+1)·kPanel), zero past n. row(i) returns row i.
template <typename RowFn>
std::vector<float> pack_panels(int64_t n, int64_t k, int64_t n_padded, RowFn row) {
  std::vector<float> out(static_cast<size_t>(n_padded * k), 0.0f);
  for (int64_t p = 0; p < n_padded / kPanel; ++p) {
    float* panel = out.data() + p * k * kPanel;
    for (int64_t j = 0; j < kPanel && p * kPanel + j < n; ++j) {
      const float* src = row(p * kPanel + j);
      for (int64_t i = 0; i < k; ++i) panel[i * kPanel + j] = src[i];
    }
  }
  return out;
}

}  // namespace

PackedDeformWeights::PackedDeformWeights(const DeformAttnParams& params,
                                         const DeformAttnWeights& weights, int64_t channels,
                                         int64_t value_channels)
    : params_(params), channels_(channels), value_channels_(value_channels) {
  check_params(params, channels, value_channels);
  check_weights(weights);
  const int64_t lp = params.n_heads * params.n_levels * params.n_points;
  const int64_t d = channels;
  level_starts_ = ops::level_starts(params);  // L + 1 values: the kernel reads the first L
  value_tokens_ = level_starts_.back();
  proj_cols_ = round_up(3 * lp, kPanel);
  out_cols_ = round_up(d, kPanel);
  proj_panels_ = pack_panels(3 * lp, d, proj_cols_, [&](int64_t i) {
    return i < 2 * lp ? weights.offset_weight + i * d : weights.attn_weight + (i - 2 * lp) * d;
  });
  proj_bias_.assign(static_cast<size_t>(proj_cols_), 0.0f);
  std::copy(weights.offset_bias, weights.offset_bias + 2 * lp, proj_bias_.begin());
  std::copy(weights.attn_bias, weights.attn_bias + lp, proj_bias_.begin() + 2 * lp);
  out_panels_ = pack_panels(d, value_channels, out_cols_,
                            [&](int64_t i) { return weights.output_weight + i * value_channels; });
  out_bias_.assign(static_cast<size_t>(out_cols_), 0.0f);
  std::copy(weights.output_bias, weights.output_bias + d, out_bias_.begin());
  norm_weight_.assign(weights.norm_weight, weights.norm_weight + d);
  norm_bias_.assign(weights.norm_bias, weights.norm_bias + d);
  if (weights.gamma != nullptr) gamma_.assign(weights.gamma, weights.gamma + d);
}

namespace {

// s = sqrt(D) / max(mean_q ‖query[b, q]‖₂, 1e-6) per image (step 1 of the contract).
std::vector<float> token_scales(const Kernels& k, const float* query, int64_t batch,
                                int64_t queries, int64_t d, int threads) {
  std::vector<float> norms(static_cast<size_t>(batch * queries));
  parallel_for(norms.size(), threads, [&](size_t begin, size_t end) {
    k.row_norms(query + static_cast<int64_t>(begin) * d, static_cast<int64_t>(end - begin), d,
                norms.data() + begin);
  });
  std::vector<float> scales(static_cast<size_t>(batch));
  const float sqrt_d = static_cast<float>(std::sqrt(static_cast<double>(d)));
  for (int64_t b = 0; b < batch; ++b) {
    // blocked sum: rounding error grows with the number of blocks, not of queries
    float total = 0.0f;
    for (int64_t q0 = 0; q0 < queries; q0 += 64) {
      float part = 0.0f;
      for (int64_t q = q0; q < std::min(queries, q0 + 64); ++q) part += norms[b * queries + q];
      total += part;
    }
    const float mean = total / static_cast<float>(queries);
    scales[static_cast<size_t>(b)] = sqrt_d / std::max(mean, kTokenScaleEps);
  }
  return scales;
}

// Per-thread working memory for one query block.
struct BlockBuffers {
  explicit BlockBuffers(const PackedDeformWeights& w) {
    const auto& p = w.params();
    const int64_t head_dim = w.value_channels() / p.n_heads;
    const int64_t sizes[] = {kBlockRows * w.channels(), kBlockRows * w.proj_cols(),
                             kBlockRows * w.value_channels(), kBlockRows * w.out_cols(),
                             5 * p.n_levels * p.n_points, head_dim};
    corner_rows.resize(static_cast<size_t>(4 * p.n_levels * p.n_points));
    int64_t total = 0;
    for (int64_t s : sizes) total += s;
    storage.assign(static_cast<size_t>(total), 0.0f);
    float* at = storage.data();
    float** parts[] = {&normed, &proj, &sampled, &attn, &softmax, &zeros};
    for (int i = 0; i < 6; ++i) {
      *parts[i] = at;
      at += sizes[i];
    }
  }
  std::vector<float> storage;
  std::vector<const float*> corner_rows;
  float *normed, *proj, *sampled, *attn, *softmax, *zeros;
};

struct RunArgs {
  const float* query;
  const float* value;
  const float* ref;
  const PackedDeformWeights* w;
  const std::vector<float>* scales;  // empty: no token scaling
  int64_t queries;
  float* output;
};

void run_block(const Kernels& k, const RunArgs& a, int64_t b, int64_t q0, BlockBuffers& buf) {
  const PackedDeformWeights& w = *a.w;
  const DeformAttnParams& p = w.params();
  const int64_t d = w.channels(), dv = w.value_channels();
  const int64_t rows = std::min(kBlockRows, a.queries - q0);
  const float scale = a.scales->empty() ? 1.0f : (*a.scales)[static_cast<size_t>(b)];
  const float* query = a.query + (b * a.queries + q0) * d;
  k.scale_layer_norm(query, rows, d, scale, w.norm_weight(), w.norm_bias(), p.eps, buf.normed);
  k.gemm_bias(buf.normed, rows, d, w.proj_panels(), w.proj_bias(), w.proj_cols(), buf.proj);
  const int64_t lp = p.n_heads * p.n_levels * p.n_points;
  detail::SampleArgs s{buf.proj, w.proj_cols(), buf.proj + 2 * lp, w.proj_cols(), a.ref + 2 * q0,
                       a.value + b * w.value_tokens() * dv, p.spatial_shapes.data(),
                       w.level_starts().data(), rows, p.n_heads, p.n_levels, p.n_points,
                       dv / p.n_heads, buf.sampled, buf.softmax, buf.corner_rows.data(),
                       buf.zeros};
  k.sample(s);
  k.gemm_bias(buf.sampled, rows, dv, w.out_panels(), w.out_bias(), w.out_cols(), buf.attn);
  k.residual(query, buf.attn, w.out_cols(), w.gamma(), scale, rows, d,
             a.output + (b * a.queries + q0) * d);
}

}  // namespace

void scaled_deform_attn(const float* query, const float* value, const float* reference_points,
                        const PackedDeformWeights& weights, int64_t batch, int64_t queries,
                        float* output, const DeformAttnOptions& options) {
  if (batch < 0 || queries < 0) invalid("batch and queries must be >= 0");
  const Kernels& k = kernels_for(resolve_isa(options.isa));
  if (batch == 0 || queries == 0) return;
  if (!query || !value || !reference_points || !output) invalid("null input or output");
  const int threads = options.num_threads > 0 ? options.num_threads : default_num_threads();
  const std::vector<float> scales =
      weights.params().token_scaling
          ? token_scales(k, query, batch, queries, weights.channels(), threads)
          : std::vector<float>();
  const RunArgs args{query, value, reference_points, &weights, &scales, queries, output};
  const int64_t blocks = (queries + kBlockRows - 1) / kBlockRows;
  parallel_for(static_cast<size_t>(batch * blocks), threads, [&](size_t begin, size_t end) {
    BlockBuffers buffers(weights);
    for (size_t t = begin; t < end; ++t) {
      const int64_t task = static_cast<int64_t>(t);
      run_block(k, args, task / blocks, task % blocks * kBlockRows, buffers);
    }
  });
}

void scaled_deform_attn(const float* query, const float* value, const float* reference_points,
                        const DeformAttnParams& params, const DeformAttnWeights& weights,
                        int64_t batch, int64_t queries, int64_t channels,
                        int64_t value_channels, float* output, const DeformAttnOptions& options) {
  const PackedDeformWeights packed(params, weights, channels, value_channels);
  scaled_deform_attn(query, value, reference_points, packed, batch, queries, output, options);
}

}  // namespace argus::ops
