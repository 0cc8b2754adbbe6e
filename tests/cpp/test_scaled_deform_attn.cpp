// Checks of the MSDeformSample and fused ScaledDeformAttn kernels (no test framework: CTest
// runs this binary and a non-zero exit code is a failure):
// - the scalar kernel against a plain float64 implementation of docs/custom_ops.md, and
//   every ISA this CPU has against the scalar kernel (<= 1e-5 in the scaled domain, see
//   max_scaled_diff);
// - edge cases: samples outside the maps (zero padding, far away, non-finite offsets),
//   1x1 levels, Q = 1, B > 1, vector tails (D, Dh not multiples of 16), in-place output;
// - thread-count independence, argument validation, ISA selection, parallel_for.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "check.h"
#include "core/status.h"
#include "ops/isa.h"
#include "ops/ms_deform_sample.h"
#include "ops/scaled_deform_attn.h"

namespace {

using argus_test::check_throws;
using argus_test::g_failures;


using argus::ops::DeformAttnOptions;
using argus::ops::DeformAttnParams;
using argus::ops::DeformAttnWeights;
using argus::ops::Isa;
using argus::ops::PackedDeformWeights;

// One random node: shapes, attributes, weights and inputs.
struct Case {
  const char* name;
  int64_t batch, queries, channels, heads, head_dim, points;
  std::vector<int64_t> shapes;  // h0, w0, ...
  bool token_scaling, gamma;
  float query_scale = 1.0f, offset_std = 1.0f;
};

struct Node {
  DeformAttnParams params;
  std::vector<float> query, value, ref, norm_w, norm_b, off_w, off_b, attn_w, attn_b, out_w,
      out_b, gamma;
  int64_t batch, queries, d, dv, s;

  DeformAttnWeights weights() const {
    return {norm_w.data(), norm_b.data(), off_w.data(), off_b.data(), attn_w.data(),
            attn_b.data(), out_w.data(),  out_b.data(), gamma.empty() ? nullptr : gamma.data()};
  }
};

std::vector<float> randn(std::mt19937& gen, int64_t n, float std, float mean = 0.0f) {
  std::normal_distribution<float> dist(mean, std);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return v;
}

Node make_node(const Case& c, unsigned seed) {
  std::mt19937 gen(seed);
  Node n;
  const int64_t levels = static_cast<int64_t>(c.shapes.size()) / 2;
  n.params = {{c.heads, levels, c.points, c.shapes}, c.token_scaling, 1e-6f};
  n.batch = c.batch, n.queries = c.queries, n.d = c.channels, n.dv = c.heads * c.head_dim;
  n.s = 0;
  for (int64_t l = 0; l < levels; ++l) n.s += c.shapes[2 * l] * c.shapes[2 * l + 1];
  const int64_t lp = c.heads * levels * c.points;
  n.query = randn(gen, c.batch * c.queries * n.d, c.query_scale);
  n.value = randn(gen, c.batch * n.s * n.dv, 1.0f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (int64_t i = 0; i < 2 * c.queries; ++i) n.ref.push_back(unit(gen));
  n.norm_w = randn(gen, n.d, 0.3f, 1.0f);
  n.norm_b = randn(gen, n.d, 0.3f);
  n.off_w = randn(gen, 2 * lp * n.d, c.offset_std / std::sqrt(static_cast<float>(n.d)));
  n.off_b = randn(gen, 2 * lp, c.offset_std);
  n.attn_w = randn(gen, lp * n.d, 0.3f);
  n.attn_b = randn(gen, lp, 0.3f);
  n.out_w = randn(gen, n.d * n.dv, 0.2f);
  n.out_b = randn(gen, n.d, 0.2f);
  if (c.gamma) n.gamma = randn(gen, n.d, 0.5f);
  return n;
}

// ---- double-precision reference, step by step as docs/custom_ops.md ---------------------
double bilinear(const Node& n, int64_t b, int64_t start, int64_t h, int64_t w, double x,
                double y, int64_t ch) {
  const double x0 = std::floor(x), y0 = std::floor(y);
  const double fx = x - x0, fy = y - y0;
  double acc = 0.0;
  for (int i = 0; i < 4; ++i) {
    const double xi = x0 + (i & 1), yi = y0 + (i >> 1);
    if (!(xi >= 0 && xi < static_cast<double>(w) && yi >= 0 && yi < static_cast<double>(h))) {
      continue;
    }
    const double wt = ((i & 1) ? fx : 1 - fx) * ((i >> 1) ? fy : 1 - fy);
    const int64_t row = start + static_cast<int64_t>(yi) * w + static_cast<int64_t>(xi);
    acc += wt * n.value[static_cast<size_t>((b * n.s + row) * n.dv + ch)];
  }
  return acc;
}

// Steps 2-5: x = s·query, LayerNorm, then the offset and logit projections (3·M·L·P).
std::vector<double> project(const Node& n, const std::vector<double>& x) {
  const auto& p = n.params;
  const int64_t d = n.d, lp = p.n_heads * p.n_levels * p.n_points;
  double mean = 0, var = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(d);
  for (double v : x) var += (v - mean) * (v - mean);
  var /= static_cast<double>(d);
  std::vector<double> xn(d), proj(3 * lp);
  for (int64_t c = 0; c < d; ++c) {
    xn[c] = (x[c] - mean) / std::sqrt(var + p.eps) * n.norm_w[c] + n.norm_b[c];
  }
  for (int64_t j = 0; j < 3 * lp; ++j) {
    const bool off = j < 2 * lp;
    double acc = off ? n.off_b[j] : n.attn_b[j - 2 * lp];
    const float* wrow = off ? &n.off_w[j * d] : &n.attn_w[(j - 2 * lp) * d];
    for (int64_t c = 0; c < d; ++c) acc += xn[c] * wrow[c];
    proj[j] = acc;
  }
  return proj;
}

// Steps 5-9 for head m: softmax, sampling locations, bilinear samples, weighted sum.
void sample_head(const Node& n, int64_t b, int64_t q, int64_t m, const std::vector<double>& proj,
                 double* o) {
  const auto& p = n.params;
  const int64_t lp = p.n_heads * p.n_levels * p.n_points, per_head = p.n_levels * p.n_points;
  const int64_t dh = n.dv / p.n_heads;
  const double* z = &proj[2 * lp + m * per_head];
  double top = z[0], total = 0;
  for (int64_t i = 1; i < per_head; ++i) top = std::max(top, z[i]);
  for (int64_t i = 0; i < per_head; ++i) total += std::exp(z[i] - top);
  int64_t start = 0;
  for (int64_t l = 0; l < p.n_levels; ++l) {
    const int64_t h = p.spatial_shapes[2 * l], w = p.spatial_shapes[2 * l + 1];
    const double hd = static_cast<double>(h), wd = static_cast<double>(w);
    for (int64_t pt = 0; pt < p.n_points; ++pt) {
      const int64_t i = (m * p.n_levels + l) * p.n_points + pt;
      const double a = std::exp(z[l * p.n_points + pt] - top) / total;
      const double px = (n.ref[2 * q] + proj[2 * i] / wd) * wd - 0.5;
      const double py = (n.ref[2 * q + 1] + proj[2 * i + 1] / hd) * hd - 0.5;
      if (!(px > -1 && px < wd && py > -1 && py < hd)) continue;
      for (int64_t k = 0; k < dh; ++k) {
        o[m * dh + k] += a * bilinear(n, b, start, h, w, px, py, m * dh + k);
      }
    }
    start += h * w;
  }
}

// The (D,) output of query q of image b given the token scale s (steps 2-13).
std::vector<double> reference_query(const Node& n, int64_t b, int64_t q, double s) {
  const int64_t d = n.d;
  std::vector<double> x(d), o(n.dv, 0.0), out(d);
  for (int64_t c = 0; c < d; ++c) x[c] = s * n.query[(b * n.queries + q) * d + c];
  const std::vector<double> proj = project(n, x);
  for (int64_t m = 0; m < n.params.n_heads; ++m) sample_head(n, b, q, m, proj, o.data());
  for (int64_t c = 0; c < d; ++c) {
    double acc = n.out_b[c];
    for (int64_t k = 0; k < n.dv; ++k) acc += o[k] * n.out_w[c * n.dv + k];
    out[c] = (x[c] + (n.gamma.empty() ? 1.0 : n.gamma[c]) * acc) / s;
  }
  return out;
}

struct Reference {
  std::vector<double> out;     // (B, Q, D)
  std::vector<double> scales;  // token scale s per image (1 without token scaling)
};

Reference reference(const Node& n) {
  Reference ref;
  for (int64_t b = 0; b < n.batch; ++b) {
    double s = 1.0;
    if (n.params.token_scaling) {
      double total = 0;
      for (int64_t q = 0; q < n.queries; ++q) {
        double sq = 0;
        for (int64_t c = 0; c < n.d; ++c) {
          const double v = n.query[(b * n.queries + q) * n.d + c];
          sq += v * v;
        }
        total += std::sqrt(sq);
      }
      const double mean = total / static_cast<double>(n.queries);
      s = std::sqrt(static_cast<double>(n.d)) / std::max(mean, 1e-6);
    }
    ref.scales.push_back(s);
    for (int64_t q = 0; q < n.queries; ++q) {
      const std::vector<double> row = reference_query(n, b, q, s);
      ref.out.insert(ref.out.end(), row.begin(), row.end());
    }
  }
  return ref;
}

// ---- runs and comparisons ---------------------------------------------------------------
std::vector<float> run(const Node& n, Isa isa, int threads = 0) {
  std::vector<float> out(n.query.size(), std::numeric_limits<float>::quiet_NaN());
  argus::ops::scaled_deform_attn(n.query.data(), n.value.data(), n.ref.data(), n.params,
                                 n.weights(), n.batch, n.queries, n.d, n.dv, out.data(),
                                 DeformAttnOptions{isa, threads});
  return out;
}

template <typename A, typename B>
double max_abs_diff(const A& a, const B& b) {
  double m = a.size() == b.size() ? 0.0 : std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    m = std::isnan(d) ? std::numeric_limits<double>::infinity() : std::max(m, d);
  }
  return m;
}

// max |a - b| · s over images, s = the token scale: the error in the node's scaled domain,
// where tokens have unit RMS. Outputs are y / s, so any float32 kernel's absolute error
// grows like 1 / s (an injector with token norms of 20·√D has outputs near 80, whose
// ulp is 7.6e-6); measured × s, 1e-5 is a tolerance every configuration can meet.
template <typename A, typename B>
double max_scaled_diff(const A& a, const B& b, const std::vector<double>& scales) {
  const size_t per_image = a.size() / scales.size();
  double m = a.size() == b.size() ? 0.0 : std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])) *
                     scales[i / per_image];
    m = std::isnan(d) ? std::numeric_limits<double>::infinity() : std::max(m, d);
  }
  return m;
}

void check_case(const Case& c) {
  const Node n = make_node(c, 1234);
  const Reference expected = reference(n);
  const std::vector<float> scalar = run(n, Isa::Scalar);
  const double ref_err = max_scaled_diff(scalar, expected.out, expected.scales);
  std::printf("%-13s scalar vs float64: %.3g (max abs %.3g)\n", c.name, ref_err,
              max_abs_diff(scalar, expected.out));
  CHECK(ref_err <= 1e-5);
  for (Isa isa : argus::ops::supported_isas()) {
    if (isa == Isa::Scalar) continue;
    const std::vector<float> out = run(n, isa);
    const double err = max_scaled_diff(out, scalar, expected.scales);
    std::printf("%-13s %-6s vs scalar: %.3g (max abs %.3g)\n", c.name,
                argus::ops::isa_name(isa), err, max_abs_diff(out, scalar));
    CHECK(err <= 1e-5);
  }
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // name, B, Q, D, M, Dh, P, shapes, token_scaling, gamma, query scale, offset std
      {"injector", 2, 61, 40, 4, 9, 3, {6, 5, 3, 3, 2, 1}, true, true, 20.0f, 1.0f},
      {"extractor", 1, 50, 64, 4, 8, 4, {4, 7}, false, false, 1.0f, 1.0f},
      {"far_outside", 2, 30, 32, 2, 16, 4, {5, 6, 3, 2}, true, true, 5.0f, 12.0f},
      {"levels_1x1", 2, 20, 48, 3, 16, 2, {1, 1, 1, 1}, false, true, 1.0f, 0.7f},
      {"single_query", 3, 1, 33, 1, 17, 5, {2, 3, 4, 1}, true, false, 3.0f, 1.0f},
      {"wide", 2, 200, 96, 6, 16, 4, {12, 10, 6, 5, 3, 3}, true, true, 2.0f, 1.0f},
  };
  return all;
}

// MSDeformSample on a case's queries: offsets and logits are the (float-rounded) projections
// of the unscaled queries; the float64 reference samples with exactly those values.
void check_sample_case(const Case& c) {
  const Node n = make_node(c, 4321);
  const auto& p = n.params;
  const int64_t lp = p.n_heads * p.n_levels * p.n_points;
  std::vector<float> offsets, logits;
  std::vector<double> expected;
  for (int64_t b = 0; b < n.batch; ++b) {
    for (int64_t q = 0; q < n.queries; ++q) {
      std::vector<double> x(n.d);
      for (int64_t c2 = 0; c2 < n.d; ++c2) x[c2] = n.query[(b * n.queries + q) * n.d + c2];
      std::vector<double> proj = project(n, x);
      for (int64_t j = 0; j < 3 * lp; ++j) {
        const float f = static_cast<float>(proj[j]);
        proj[j] = f;
        (j < 2 * lp ? offsets : logits).push_back(f);
      }
      std::vector<double> o(n.dv, 0.0);
      for (int64_t m = 0; m < p.n_heads; ++m) sample_head(n, b, q, m, proj, o.data());
      expected.insert(expected.end(), o.begin(), o.end());
    }
  }
  for (Isa isa : argus::ops::supported_isas()) {
    std::vector<float> out(expected.size(), std::numeric_limits<float>::quiet_NaN());
    argus::ops::ms_deform_sample(n.value.data(), n.ref.data(), offsets.data(), logits.data(), p,
                                 n.batch, n.queries, n.dv, out.data(), DeformAttnOptions{isa, 0});
    const double err = max_abs_diff(out, expected);
    std::printf("%-13s %-6s sample vs float64: %.3g\n", c.name, argus::ops::isa_name(isa), err);
    CHECK(err <= 1e-5);
  }
  using argus::Status;
  check_throws(Status::InvalidArgument, [&] {
    argus::ops::ms_deform_sample(n.value.data(), n.ref.data(), offsets.data(), logits.data(), p,
                                 n.batch, n.queries, n.dv + 1, nullptr);
  }, "sample: Dv % M");
  check_throws(Status::InvalidArgument, [&] {
    argus::ops::ms_deform_sample(nullptr, n.ref.data(), offsets.data(), logits.data(), p, 1, 1,
                                 n.dv, nullptr);
  }, "sample: null value");
}

// Offsets of +-inf, NaN and 1e30 pixels: such points contribute nothing.
void test_non_finite_offsets() {
  Node n = make_node({"nonfinite", 1, 4, 16, 2, 8, 2, {3, 3}, false, false}, 7);
  const float bad[] = {std::numeric_limits<float>::infinity(), -1e30f,
                       std::numeric_limits<float>::quiet_NaN(), 1e30f};
  for (size_t i = 0; i < n.off_b.size(); ++i) n.off_b[i] = bad[i % 4];
  std::fill(n.off_w.begin(), n.off_w.end(), 0.0f);
  const std::vector<float> out = run(n, Isa::Auto);
  // every point is outside: attention output = output_bias, y = x + bias
  for (int64_t q = 0; q < n.queries; ++q) {
    for (int64_t c = 0; c < n.d; ++c) {
      const size_t i = static_cast<size_t>(q * n.d + c);
      CHECK(std::fabs(out[i] - (n.query[i] + n.out_b[static_cast<size_t>(c)])) <= 1e-5f);
    }
  }
}

void test_in_place_and_threads() {
  const Node n = make_node(cases()[5], 99);
  const std::vector<float> one = run(n, Isa::Auto, 1);
  const std::vector<float> two = run(n, Isa::Auto, 2);
  const std::vector<float> many = run(n, Isa::Auto, 7);
  CHECK(max_abs_diff(one, two) == 0.0 && max_abs_diff(one, many) == 0.0);
  std::vector<float> inout = n.query;
  argus::ops::scaled_deform_attn(inout.data(), n.value.data(), n.ref.data(), n.params,
                                 n.weights(), n.batch, n.queries, n.d, n.dv, inout.data());
  CHECK(max_abs_diff(inout, one) == 0.0);
  // packed once, run twice
  const PackedDeformWeights packed(n.params, n.weights(), n.d, n.dv);
  std::vector<float> out(n.query.size());
  argus::ops::scaled_deform_attn(n.query.data(), n.value.data(), n.ref.data(), packed, n.batch,
                                 n.queries, out.data());
  CHECK(max_abs_diff(out, one) == 0.0);
}

void test_validation() {
  const Node n = make_node(cases()[0], 5);
  const auto with = [&](const std::function<void(DeformAttnParams&, int64_t&)>& edit) {
    return [&n, edit] {
      DeformAttnParams p = n.params;
      int64_t dv = n.dv;
      edit(p, dv);
      PackedDeformWeights(p, n.weights(), n.d, dv);
    };
  };
  using argus::Status;
  check_throws(Status::InvalidArgument, with([](auto& p, auto&) { p.n_heads = 0; }), "heads 0");
  check_throws(Status::InvalidArgument, with([](auto&, auto& dv) { dv = 37; }), "Dv % M");
  check_throws(Status::InvalidArgument, with([](auto& p, auto&) { p.spatial_shapes.pop_back(); }),
               "odd spatial_shapes");
  check_throws(Status::InvalidArgument, with([](auto& p, auto&) { p.spatial_shapes[0] = 0; }),
               "zero height");
  check_throws(Status::InvalidArgument, with([](auto& p, auto&) { p.eps = -1.0f; }), "eps < 0");
  check_throws(Status::InvalidArgument, [&] {
    DeformAttnWeights w = n.weights();
    w.attn_bias = nullptr;
    PackedDeformWeights(n.params, w, n.d, n.dv);
  }, "null weight");
  const PackedDeformWeights packed(n.params, n.weights(), n.d, n.dv);
  check_throws(Status::InvalidArgument, [&] {
    argus::ops::scaled_deform_attn(nullptr, n.value.data(), n.ref.data(), packed, 1, 1, nullptr);
  }, "null query");
  check_throws(Status::InvalidArgument, [&] {
    argus::ops::scaled_deform_attn(nullptr, nullptr, nullptr, packed, -1, 1, nullptr);
  }, "negative batch");
  argus::ops::scaled_deform_attn(nullptr, nullptr, nullptr, packed, 0, 5, nullptr);  // no-op
}

void test_isa_selection() {
  using argus::Status;
  const std::vector<Isa> isas = argus::ops::supported_isas();
  CHECK(!isas.empty() && isas.front() == Isa::Scalar);
  CHECK(argus::ops::parse_isa("avx2") == Isa::Avx2);
  check_throws(Status::InvalidArgument, [] { argus::ops::parse_isa("sse9"); }, "parse sse9");
  ::setenv("ARGUS_DEFORM_ISA", "scalar", 1);
  CHECK(argus::ops::resolve_isa(Isa::Auto) == Isa::Scalar);
  ::setenv("ARGUS_DEFORM_ISA", "bogus", 1);
  check_throws(Status::InvalidArgument, [] { argus::ops::resolve_isa(Isa::Auto); }, "env bogus");
  ::unsetenv("ARGUS_DEFORM_ISA");
  CHECK(argus::ops::resolve_isa(Isa::Auto) == isas.back());
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    if (!argus::ops::isa_supported(isa)) {
      check_throws(Status::BackendUnavailable, [isa] { argus::ops::resolve_isa(isa); }, "no isa");
    }
  }
  std::printf("ISAs on this machine:");
  for (Isa isa : isas) std::printf(" %s", argus::ops::isa_name(isa));
  std::printf("\n");
  std::fflush(stdout);
}

void test_parallel_for() {
  for (int threads : {1, 2, 3, 8}) {
    std::vector<std::atomic<int>> hits(1000);
    argus::parallel_for(hits.size(), threads, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) hits[i]++;
      // nested calls run inline and must not deadlock
      argus::parallel_for(3, threads, [](size_t, size_t) {});
    });
    for (const auto& h : hits) CHECK(h.load() == 1);
  }
  bool thrown = false;
  try {
    argus::parallel_for(100, 2, [](size_t begin, size_t) {
      if (begin == 0) throw std::runtime_error("boom");
    });
  } catch (const std::runtime_error&) {
    thrown = true;
  }
  CHECK(thrown);
  CHECK(argus::default_num_threads() >= 1);
}

}  // namespace

int main() {
  for (const Case& c : cases()) check_case(c);
  for (const Case& c : cases()) check_sample_case(c);
  test_non_finite_offsets();
  test_in_place_and_threads();
  test_validation();
  test_isa_selection();
  test_parallel_for();
  if (g_failures) {
    std::fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  std::printf("all ms_deform_sample and scaled_deform_attn checks passed\n");
  return 0;
}
