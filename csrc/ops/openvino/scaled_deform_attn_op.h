// ai.argus::ScaledDeformAttn as an OpenVINO operation (docs/custom_ops.md), evaluated by
// the fused CPU kernel of csrc/ops/scaled_deform_attn.h.
#pragma once

#include <openvino/op/op.hpp>

#include <memory>
#include <mutex>
#include <vector>

#include "ops/scaled_deform_attn.h"

namespace argus::openvino {

class ScaledDeformAttn : public ov::op::Op {
 public:
  // Type "ScaledDeformAttn" of the "argus" opset (the name an IR file records).
  OPENVINO_OP("ScaledDeformAttn", "argus");

  ScaledDeformAttn() = default;
  // inputs: the node's 11 inputs, or 12 with gamma (see docs/custom_ops.md).
  ScaledDeformAttn(const ov::OutputVector& inputs, const ops::DeformAttnParams& params);

  void validate_and_infer_types() override;
  std::shared_ptr<ov::Node> clone_with_new_inputs(const ov::OutputVector& inputs) const override;
  bool visit_attributes(ov::AttributeVisitor& visitor) override;
  bool evaluate(ov::TensorVector& outputs, const ov::TensorVector& inputs) const override;
  bool has_evaluate() const override;

  ops::DeformAttnParams params() const;

 private:
  // The packed weights of `inputs`, cached while the weight inputs are constants at the
  // same addresses (a compiled model's initializers).
  std::shared_ptr<const ops::PackedDeformWeights> packed(const ov::TensorVector& inputs) const;
  bool weights_are_constant() const;

  int64_t n_heads_ = 0;
  int64_t n_levels_ = 0;
  int64_t n_points_ = 0;
  std::vector<int64_t> spatial_shapes_;
  int64_t token_scaling_ = 0;
  float eps_ = 1e-6f;

  mutable std::mutex cache_mutex_;
  mutable std::shared_ptr<const ops::PackedDeformWeights> cache_;
  mutable std::vector<const void*> cache_key_;
};

}  // namespace argus::openvino
