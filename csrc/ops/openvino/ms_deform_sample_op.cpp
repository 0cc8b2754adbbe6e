#include "ops/openvino/ms_deform_sample_op.h"

#include <string>

namespace argus::openvino {
namespace {

constexpr size_t kInputs = 4;

}  // namespace

MSDeformSample::MSDeformSample(const ov::OutputVector& inputs,
                               const ops::DeformSampleParams& params)
    : Op(inputs),
      n_heads_(params.n_heads),
      n_levels_(params.n_levels),
      n_points_(params.n_points),
      spatial_shapes_(params.spatial_shapes) {
  constructor_validate_and_infer_types();
}

ops::DeformSampleParams MSDeformSample::params() const {
  return {n_heads_, n_levels_, n_points_, spatial_shapes_};
}

void MSDeformSample::validate_and_infer_types() {
  NODE_VALIDATION_CHECK(this, get_input_size() == kInputs, "MSDeformSample takes 4 inputs, got ",
                        get_input_size());
  for (size_t i = 0; i < kInputs; ++i) {
    const auto& type = get_input_element_type(i);
    NODE_VALIDATION_CHECK(this, type.is_dynamic() || type == ov::element::f32,
                          "MSDeformSample input ", i, " must be f32, got ", type);
  }
  NODE_VALIDATION_CHECK(this, n_heads_ > 0 && n_levels_ > 0 && n_points_ > 0,
                        "n_heads, n_levels and n_points must be positive");
  NODE_VALIDATION_CHECK(this, spatial_shapes_.size() == static_cast<size_t>(2 * n_levels_),
                        "spatial_shapes must hold 2 * n_levels values");
  const ov::PartialShape& value = get_input_partial_shape(0);
  const ov::PartialShape& offsets = get_input_partial_shape(2);
  NODE_VALIDATION_CHECK(this, value.rank().compatible(3), "value must be (B, S, Dv)");
  NODE_VALIDATION_CHECK(this, get_input_partial_shape(1).rank().compatible(2),
                        "reference_points must be (Q, 2)");
  NODE_VALIDATION_CHECK(this, offsets.rank().compatible(3), "offsets must be (B, Q, M*L*P*2)");
  NODE_VALIDATION_CHECK(this, get_input_partial_shape(3).rank().compatible(3),
                        "logits must be (B, Q, M*L*P)");
  ov::PartialShape out = ov::PartialShape::dynamic(3);
  if (value.rank().is_static() && offsets.rank().is_static()) {
    out = ov::PartialShape{offsets[0], offsets[1], value[2]};
  }
  set_output_type(0, ov::element::f32, out);
}

std::shared_ptr<ov::Node> MSDeformSample::clone_with_new_inputs(
    const ov::OutputVector& inputs) const {
  return std::make_shared<MSDeformSample>(inputs, params());
}

bool MSDeformSample::visit_attributes(ov::AttributeVisitor& visitor) {
  visitor.on_attribute("n_heads", n_heads_);
  visitor.on_attribute("n_levels", n_levels_);
  visitor.on_attribute("n_points", n_points_);
  visitor.on_attribute("spatial_shapes", spatial_shapes_);
  return true;
}

bool MSDeformSample::has_evaluate() const {
  return get_input_element_type(0) == ov::element::f32;
}

bool MSDeformSample::evaluate(ov::TensorVector& outputs, const ov::TensorVector& inputs) const {
  OPENVINO_ASSERT(inputs.size() == kInputs && outputs.size() == 1,
                  "MSDeformSample: wrong number of tensors");
  const ops::DeformSampleParams p = params();
  const ov::Shape& value = inputs[0].get_shape();
  const ov::Shape& offsets = inputs[2].get_shape();
  OPENVINO_ASSERT(value.size() == 3 && offsets.size() == 3 && offsets[0] == value[0],
                  "MSDeformSample: value must be (B, S, Dv) and offsets (B, Q, M*L*P*2), got ",
                  value, " and ", offsets);
  const size_t b = value[0], q = offsets[1];
  const auto lp = static_cast<size_t>(p.n_heads * p.n_levels * p.n_points);
  OPENVINO_ASSERT(offsets[2] == 2 * lp, "MSDeformSample: offsets must have ", 2 * lp,
                  " channels, got ", offsets[2]);
  OPENVINO_ASSERT(inputs[3].get_shape() == ov::Shape({b, q, lp}), "MSDeformSample: logits must be ",
                  ov::Shape({b, q, lp}), ", got ", inputs[3].get_shape());
  OPENVINO_ASSERT(inputs[1].get_shape() == ov::Shape({q, 2}),
                  "MSDeformSample: reference_points must be ", ov::Shape({q, 2}), ", got ",
                  inputs[1].get_shape());
  ops::check_sample_params(p, static_cast<int64_t>(value[2]), "MSDeformSample");
  OPENVINO_ASSERT(static_cast<int64_t>(value[1]) == ops::value_tokens(p), "MSDeformSample: value has ",
                  value[1], " tokens, spatial_shapes give ", ops::value_tokens(p));
  outputs[0].set_shape({b, q, value[2]});
  ops::ms_deform_sample(inputs[0].data<const float>(), inputs[1].data<const float>(),
                        inputs[2].data<const float>(), inputs[3].data<const float>(), p,
                        static_cast<int64_t>(b), static_cast<int64_t>(q),
                        static_cast<int64_t>(value[2]), outputs[0].data<float>());
  return true;
}

}  // namespace argus::openvino
