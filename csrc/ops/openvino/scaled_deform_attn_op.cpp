#include "ops/openvino/scaled_deform_attn_op.h"

#include <openvino/op/constant.hpp>

#include <string>

namespace argus::openvino {
namespace {

constexpr size_t kRequiredInputs = 11;  // gamma (input 11) is optional
constexpr size_t kGammaInput = 11;

}  // namespace

ScaledDeformAttn::ScaledDeformAttn(const ov::OutputVector& inputs,
                                   const ops::DeformAttnParams& params)
    : Op(inputs),
      n_heads_(params.n_heads),
      n_levels_(params.n_levels),
      n_points_(params.n_points),
      spatial_shapes_(params.spatial_shapes),
      token_scaling_(params.token_scaling ? 1 : 0),
      eps_(params.eps) {
  constructor_validate_and_infer_types();
}

ops::DeformAttnParams ScaledDeformAttn::params() const {
  return {{n_heads_, n_levels_, n_points_, spatial_shapes_}, token_scaling_ != 0, eps_};
}

void ScaledDeformAttn::validate_and_infer_types() {
  const size_t n = get_input_size();
  NODE_VALIDATION_CHECK(this, n == kRequiredInputs || n == kRequiredInputs + 1,
                        "ScaledDeformAttn takes 11 inputs, or 12 with gamma; got ", n);
  for (size_t i = 0; i < n; ++i) {
    const auto& type = get_input_element_type(i);
    NODE_VALIDATION_CHECK(this, type.is_dynamic() || type == ov::element::f32,
                          "ScaledDeformAttn input ", i, " must be f32, got ", type);
  }
  NODE_VALIDATION_CHECK(this, n_heads_ > 0 && n_levels_ > 0 && n_points_ > 0,
                        "n_heads, n_levels and n_points must be positive");
  NODE_VALIDATION_CHECK(this, spatial_shapes_.size() == static_cast<size_t>(2 * n_levels_),
                        "spatial_shapes must hold 2 * n_levels values");
  const ov::PartialShape& query = get_input_partial_shape(0);
  NODE_VALIDATION_CHECK(this, query.rank().compatible(3), "query must be (B, Q, D)");
  NODE_VALIDATION_CHECK(this, get_input_partial_shape(1).rank().compatible(3),
                        "value must be (B, S, Dv)");
  NODE_VALIDATION_CHECK(this, get_input_partial_shape(2).rank().compatible(2),
                        "reference_points must be (Q, 2)");
  set_output_type(0, ov::element::f32, query);
}

std::shared_ptr<ov::Node> ScaledDeformAttn::clone_with_new_inputs(
    const ov::OutputVector& inputs) const {
  return std::make_shared<ScaledDeformAttn>(inputs, params());
}

bool ScaledDeformAttn::visit_attributes(ov::AttributeVisitor& visitor) {
  visitor.on_attribute("n_heads", n_heads_);
  visitor.on_attribute("n_levels", n_levels_);
  visitor.on_attribute("n_points", n_points_);
  visitor.on_attribute("spatial_shapes", spatial_shapes_);
  visitor.on_attribute("token_scaling", token_scaling_);
  visitor.on_attribute("eps", eps_);
  return true;
}

bool ScaledDeformAttn::has_evaluate() const {
  return get_input_element_type(0) == ov::element::f32;
}

bool ScaledDeformAttn::weights_are_constant() const {
  for (size_t i = 3; i < get_input_size(); ++i) {
    if (!ov::as_type_ptr<ov::op::v0::Constant>(input_value(i).get_node_shared_ptr())) {
      return false;
    }
  }
  return true;
}

std::shared_ptr<const ops::PackedDeformWeights> ScaledDeformAttn::packed(
    const ov::TensorVector& inputs) const {
  std::vector<const void*> key;
  for (size_t i = 3; i < inputs.size(); ++i) key.push_back(inputs[i].data());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_ && key == cache_key_) return cache_;
  const ov::Shape& query = inputs[0].get_shape();
  const ov::Shape& value = inputs[1].get_shape();
  const auto ptr = [&](size_t i) { return inputs[i].data<const float>(); };
  const int64_t d = static_cast<int64_t>(query.at(2)), dv = static_cast<int64_t>(value.at(2));
  const int64_t lp = n_heads_ * n_levels_ * n_points_;
  const size_t expected[] = {size_t(d), size_t(d), size_t(2 * lp * d), size_t(2 * lp),
                             size_t(lp * d), size_t(lp), size_t(d * dv), size_t(d), size_t(d)};
  for (size_t i = 3; i < inputs.size(); ++i) {
    OPENVINO_ASSERT(inputs[i].get_size() == expected[i - 3], "ScaledDeformAttn: input ", i,
                    " has ", inputs[i].get_size(), " values, expected ", expected[i - 3]);
  }
  const ops::DeformAttnWeights w{ptr(3), ptr(4), ptr(5), ptr(6), ptr(7), ptr(8), ptr(9), ptr(10),
                                 inputs.size() > kGammaInput ? ptr(kGammaInput) : nullptr};
  auto fresh = std::make_shared<const ops::PackedDeformWeights>(params(), w, d, dv);
  if (weights_are_constant()) {
    cache_ = fresh;
    cache_key_ = std::move(key);
  }
  return fresh;
}

bool ScaledDeformAttn::evaluate(ov::TensorVector& outputs, const ov::TensorVector& inputs) const {
  OPENVINO_ASSERT(inputs.size() >= kRequiredInputs && outputs.size() == 1,
                  "ScaledDeformAttn: wrong number of tensors");
  const ov::Shape query = inputs[0].get_shape();
  const ov::Shape& value = inputs[1].get_shape();
  const ov::Shape& ref = inputs[2].get_shape();
  OPENVINO_ASSERT(query.size() == 3 && value.size() == 3 && value[0] == query[0],
                  "ScaledDeformAttn: query must be (B, Q, D) and value (B, S, Dv), got ", query,
                  " and ", value);
  OPENVINO_ASSERT(ref == ov::Shape({query[1], 2}), "ScaledDeformAttn: reference_points must be ",
                  ov::Shape({query[1], 2}), ", got ", ref);
  const auto weights = packed(inputs);
  OPENVINO_ASSERT(static_cast<int64_t>(value[1]) == weights->value_tokens(),
                  "ScaledDeformAttn: value has ", value[1], " tokens, spatial_shapes give ",
                  weights->value_tokens());
  outputs[0].set_shape(query);
  ops::scaled_deform_attn(inputs[0].data<const float>(), inputs[1].data<const float>(),
                          inputs[2].data<const float>(), *weights,
                          static_cast<int64_t>(query[0]), static_cast<int64_t>(query[1]),
                          outputs[0].data<float>());
  return true;
}

}  // namespace argus::openvino
