// argus_edge._core: the deform area — the ai.argus::MSDeformSample kernel
// (csrc/ops/ms_deform_sample.h) and the fused ai.argus::ScaledDeformAttn kernel
// (csrc/ops/scaled_deform_attn.h) on NumPy arrays, and the ISA selection it uses.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "ops/isa.h"
#include "ops/ms_deform_sample.h"
#include "ops/scaled_deform_attn.h"
#include "python/registers.h"

namespace py = pybind11;

namespace argus::python {
namespace {

// float32, C-contiguous (converted from any numeric array, like np.asarray(a, np.float32)).
using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;

[[noreturn]] void invalid(const std::string& message, const char* op = "scaled_deform_attn") {
  throw Error(Status::InvalidArgument, std::string(op) + ": " + message);
}

std::string shape_of(const F32& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    s += (i ? ", " : "") + std::to_string(a.shape(i));
  }
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// Checks that `a` has exactly `dims` (entries < 0 are free) and returns it.
const float* expect(const F32& a, const char* name, std::vector<int64_t> dims,
                    const char* op = "scaled_deform_attn") {
  bool ok = a.ndim() == static_cast<py::ssize_t>(dims.size());
  for (size_t i = 0; ok && i < dims.size(); ++i) {
    ok = dims[i] < 0 || a.shape(static_cast<py::ssize_t>(i)) == dims[i];
  }
  if (!ok) {
    std::string want = "(";
    for (size_t i = 0; i < dims.size(); ++i) {
      want += (i ? ", " : "") + (dims[i] < 0 ? std::string("*") : std::to_string(dims[i]));
    }
    invalid(std::string(name) + " must have shape " + want + (dims.size() == 1 ? ",)" : ")") +
            ", got " + shape_of(a), op);
  }
  return a.data();
}

py::array_t<float> run(const F32& query, const F32& value, const F32& ref, const F32& norm_w,
                       const F32& norm_b, const F32& off_w, const F32& off_b, const F32& attn_w,
                       const F32& attn_b, const F32& out_w, const F32& out_b,
                       const py::object& gamma_obj, int64_t n_heads, int64_t n_levels,
                       int64_t n_points, const std::vector<int64_t>& spatial_shapes,
                       bool token_scaling, float eps, const std::string& isa, int num_threads) {
  if (query.ndim() != 3 || value.ndim() != 3) invalid("query and value must be 3-D (B, N, C)");
  const int64_t b = query.shape(0), q = query.shape(1), d = query.shape(2);
  const int64_t dv = value.shape(2);
  if (n_heads <= 0 || n_levels <= 0 || n_points <= 0) {
    invalid("n_heads, n_levels and n_points must be positive");
  }
  const int64_t lp = n_heads * n_levels * n_points;
  ops::DeformAttnParams params{{n_heads, n_levels, n_points, spatial_shapes}, token_scaling, eps};
  F32 gamma = gamma_obj.is_none() ? F32() : F32::ensure(gamma_obj);
  if (!gamma_obj.is_none() && !gamma) throw py::error_already_set();
  const ops::DeformAttnWeights w{
      expect(norm_w, "norm_weight", {d}),        expect(norm_b, "norm_bias", {d}),
      expect(off_w, "offset_weight", {2 * lp, d}), expect(off_b, "offset_bias", {2 * lp}),
      expect(attn_w, "attn_weight", {lp, d}),    expect(attn_b, "attn_bias", {lp}),
      expect(out_w, "output_weight", {d, dv}),   expect(out_b, "output_bias", {d}),
      gamma_obj.is_none() ? nullptr : expect(gamma, "gamma", {d})};
  const ops::PackedDeformWeights packed(params, w, d, dv);
  expect(value, "value", {b, packed.value_tokens(), dv});
  expect(ref, "reference_points", {q, 2});
  const ops::DeformAttnOptions options{ops::parse_isa(isa), num_threads};
  py::array_t<float> out({b, q, d});
  {
    py::gil_scoped_release release;
    ops::scaled_deform_attn(query.data(), value.data(), ref.data(), packed, b, q,
                            out.mutable_data(), options);
  }
  return out;
}

py::array_t<float> run_sample(const F32& value, const F32& ref, const F32& offsets,
                              const F32& logits, int64_t n_heads, int64_t n_levels,
                              int64_t n_points, const std::vector<int64_t>& spatial_shapes,
                              const std::string& isa, int num_threads) {
  const ops::DeformSampleParams params{n_heads, n_levels, n_points, spatial_shapes};
  constexpr const char* kOp = "ms_deform_sample";
  if (value.ndim() != 3 || offsets.ndim() != 3) {
    invalid("value and offsets must be 3-D (B, N, C)", kOp);
  }
  const int64_t b = value.shape(0), dv = value.shape(2), q = offsets.shape(1);
  ops::check_sample_params(params, dv, kOp);
  const int64_t lp = n_heads * n_levels * n_points;
  expect(value, "value", {b, ops::value_tokens(params), dv}, kOp);
  expect(ref, "reference_points", {q, 2}, kOp);
  expect(offsets, "offsets", {b, q, 2 * lp}, kOp);
  expect(logits, "logits", {b, q, lp}, kOp);
  const ops::DeformAttnOptions options{ops::parse_isa(isa), num_threads};
  py::array_t<float> out({b, q, dv});
  {
    py::gil_scoped_release release;
    ops::ms_deform_sample(value.data(), ref.data(), offsets.data(), logits.data(), params, b, q,
                          dv, out.mutable_data(), options);
  }
  return out;
}

std::vector<std::string> isa_names() {
  std::vector<std::string> names;
  for (ops::Isa isa : ops::supported_isas()) names.emplace_back(ops::isa_name(isa));
  return names;
}

}  // namespace

void register_deform(py::module_& m) {
  m.def("scaled_deform_attn", &run, py::arg("query"), py::arg("value"),
        py::arg("reference_points"), py::arg("norm_weight"), py::arg("norm_bias"),
        py::arg("offset_weight"), py::arg("offset_bias"), py::arg("attn_weight"),
        py::arg("attn_bias"), py::arg("output_weight"), py::arg("output_bias"),
        py::arg("gamma") = py::none(), py::kw_only(), py::arg("n_heads"), py::arg("n_levels"),
        py::arg("n_points"), py::arg("spatial_shapes"), py::arg("token_scaling") = false,
        py::arg("eps") = 1e-6f, py::arg("isa") = "auto", py::arg("num_threads") = 0,
        "The fused ai.argus::ScaledDeformAttn node (docs/custom_ops.md) on float32 arrays; "
        "see _core.pyi.");
  m.def("ms_deform_sample", &run_sample, py::arg("value"), py::arg("reference_points"),
        py::arg("offsets"), py::arg("logits"), py::kw_only(), py::arg("n_heads"),
        py::arg("n_levels"), py::arg("n_points"), py::arg("spatial_shapes"),
        py::arg("isa") = "auto", py::arg("num_threads") = 0,
        "The ai.argus::MSDeformSample node (docs/custom_ops.md) on float32 arrays; see "
        "_core.pyi.");
  m.def("deform_isas", &isa_names,
        "Instruction sets the deform kernel can use here, 'scalar' first, best last.");
  m.def(
      "deform_isa",
      [](const std::string& isa) { return ops::isa_name(ops::resolve_isa(ops::parse_isa(isa))); },
      py::arg("isa") = "auto", "The instruction set a request resolves to (see _core.pyi).");
}

}  // namespace argus::python
