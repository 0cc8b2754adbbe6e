// Internal: the per-ISA building blocks of the scaled deformable attention kernel.
//
// deform_kernels_impl.h holds one templated implementation; scaled_deform_attn_scalar.cpp,
// _avx2.cpp and _avx512.cpp each instantiate it with their vector type and their compile
// flags, inside their own namespace (no symbol can be shared between the flag sets).
// The driver (scaled_deform_attn.cpp) picks a table at run time.
#pragma once

#include <cstdint>

#include "ops/isa.h"

namespace argus::ops::detail {

// Width of one packed weight panel (columns): B is stored as panels of K x kPanel floats.
constexpr int64_t kPanel = 32;

// Sampling of one block of queries of one image (steps 5-10 of ScaledDeformAttn, the
// whole of MSDeformSample; docs/custom_ops.md).
struct SampleArgs {
  const float* offsets;        // rows x ld_offsets, M·L·P·2 used: (m, l, p, x/y) in pixels
  int64_t ld_offsets;
  const float* logits;         // rows x ld_logits, M·L·P used: (m, l, p) before the softmax
  int64_t ld_logits;
  const float* ref;            // rows x 2 reference points of these queries
  const float* value;          // S x Dv values of this image
  const int64_t* shapes;       // [h0, w0, h1, w1, ...]
  const int64_t* level_starts;  // first value row of each level
  int64_t rows, heads, levels, points, head_dim;
  float* out;                  // rows x Dv, head-major channels
  float* softmax;              // 5·L·P floats of scratch (weights, then corner weights)
  const float** corner_rows;   // 4·L·P pointers of scratch
  const float* zeros;          // head_dim zeros (the value of a corner outside the map)
};

struct Kernels {
  // norms[r] = sqrt(Σ_c x[r, c]²) for rows x d.
  void (*row_norms)(const float* x, int64_t rows, int64_t d, float* norms);
  // out = LayerNorm(scale · query) over d channels, per row; out is rows x d.
  void (*scale_layer_norm)(const float* query, int64_t rows, int64_t d, float scale,
                           const float* weight, const float* bias, float eps, float* out);
  // c (rows x n) = a (rows x k) · B + bias, B packed as n / kPanel panels of k x kPanel.
  void (*gemm_bias)(const float* a, int64_t rows, int64_t k, const float* panels,
                    const float* bias, int64_t n, float* c);
  void (*sample)(const SampleArgs& args);
  // out = (scale · query + gamma ⊙ attn) / scale per row (gamma null: 1); attn has
  // ld_attn columns.
  void (*residual)(const float* query, const float* attn, int64_t ld_attn, const float* gamma,
                   float scale, int64_t rows, int64_t d, float* out);
  int64_t row_tile;  // rows of the GEMM micro-kernel; query blocks are a multiple of it
};

const Kernels& kernels_scalar();
#ifdef ARGUS_HAVE_AVX2
const Kernels& kernels_avx2();
#endif
#ifdef ARGUS_HAVE_AVX512
const Kernels& kernels_avx512();
#endif

// The table of a concrete ISA (resolve_isa first); Scalar for one this build lacks.
const Kernels& kernels_for(Isa isa);

}  // namespace argus::ops::detail
