// Driver of the MSDeformSample kernel: validation and the parallel loop over (image,
// query block); the sampling arithmetic is deform_kernels_impl.h's, per ISA.
#include "ops/ms_deform_sample.h"

#include <algorithm>
#include <string>

#include "core/parallel.h"
#include "core/status.h"
#include "ops/deform_kernels.h"

namespace argus::ops {
namespace detail {

const Kernels& kernels_for(Isa isa) {
  switch (isa) {
#ifdef ARGUS_HAVE_AVX512
    case Isa::Avx512: return kernels_avx512();
#endif
#ifdef ARGUS_HAVE_AVX2
    case Isa::Avx2: return kernels_avx2();
#endif
    default: return kernels_scalar();
  }
}

}  // namespace detail

namespace {

// Queries per task: enough work per task to amortise scheduling, small enough to balance.
constexpr int64_t kBlockRows = 32;

[[noreturn]] void invalid(const char* op, const std::string& message) {
  throw Error(Status::InvalidArgument, std::string(op) + ": " + message);
}

}  // namespace

void check_sample_params(const DeformSampleParams& p, int64_t value_channels, const char* op) {
  if (p.n_heads <= 0 || p.n_levels <= 0 || p.n_points <= 0) {
    invalid(op, "n_heads, n_levels and n_points must be positive");
  }
  if (value_channels <= 0) invalid(op, "value channels must be positive");
  if (value_channels % p.n_heads != 0) {
    invalid(op, "value channels " + std::to_string(value_channels) +
                    " not divisible by n_heads " + std::to_string(p.n_heads));
  }
  if (static_cast<int64_t>(p.spatial_shapes.size()) != 2 * p.n_levels) {
    invalid(op, "spatial_shapes must hold 2 * n_levels values");
  }
  for (int64_t v : p.spatial_shapes) {
    if (v <= 0) invalid(op, "spatial_shapes must be positive");
  }
}

std::vector<int64_t> level_starts(const DeformSampleParams& params) {
  std::vector<int64_t> starts{0};
  for (int64_t l = 0; l < params.n_levels; ++l) {
    const int64_t h = params.spatial_shapes[2 * l], w = params.spatial_shapes[2 * l + 1];
    starts.push_back(starts.back() + h * w);
  }
  return starts;
}

int64_t value_tokens(const DeformSampleParams& params) { return level_starts(params).back(); }

void ms_deform_sample(const float* value, const float* reference_points, const float* offsets,
                      const float* logits, const DeformSampleParams& params, int64_t batch,
                      int64_t queries, int64_t value_channels, float* output,
                      const DeformAttnOptions& options) {
  constexpr const char* kOp = "ms_deform_sample";
  check_sample_params(params, value_channels, kOp);
  if (batch < 0 || queries < 0) invalid(kOp, "batch and queries must be >= 0");
  const detail::Kernels& k = detail::kernels_for(resolve_isa(options.isa));
  if (batch == 0 || queries == 0) return;
  if (!value || !reference_points || !offsets || !logits || !output) {
    invalid(kOp, "null input or output");
  }
  const int64_t m = params.n_heads, lp = m * params.n_levels * params.n_points;
  const std::vector<int64_t> starts = level_starts(params);
  const int64_t dv = value_channels, s = starts.back();
  const int threads = options.num_threads > 0 ? options.num_threads : default_num_threads();
  const int64_t blocks = (queries + kBlockRows - 1) / kBlockRows;
  parallel_for(static_cast<size_t>(batch * blocks), threads, [&](size_t begin, size_t end) {
    const int64_t per_head = lp / m;
    std::vector<float> scratch(static_cast<size_t>(5 * per_head + dv / m), 0.0f);
    std::vector<const float*> corner_rows(static_cast<size_t>(4 * per_head));
    for (size_t t = begin; t < end; ++t) {
      const int64_t b = static_cast<int64_t>(t) / blocks;
      const int64_t q0 = static_cast<int64_t>(t) % blocks * kBlockRows;
      const int64_t row = b * queries + q0;
      const detail::SampleArgs args{
          offsets + row * 2 * lp, 2 * lp, logits + row * lp, lp, reference_points + 2 * q0,
          value + b * s * dv, params.spatial_shapes.data(), starts.data(),
          std::min(kBlockRows, queries - q0), m, params.n_levels, params.n_points, dv / m,
          output + row * dv, scratch.data(), corner_rows.data(),
          scratch.data() + 5 * per_head};
      k.sample(args);
    }
  });
}

}  // namespace argus::ops
