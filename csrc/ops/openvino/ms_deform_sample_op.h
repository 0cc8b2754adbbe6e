// ai.argus::MSDeformSample as an OpenVINO operation (docs/custom_ops.md), evaluated by the
// CPU kernel of csrc/ops/ms_deform_sample.h. It holds no weights: the projections around
// it are the graph's own MatMuls, which the CPU plugin runs (and NNCF quantizes) as usual.
#pragma once

#include <openvino/op/op.hpp>

#include <memory>
#include <vector>

#include "ops/ms_deform_sample.h"

namespace argus::openvino {

class MSDeformSample : public ov::op::Op {
 public:
  // Type "MSDeformSample" of the "argus" opset (the name an IR file records).
  OPENVINO_OP("MSDeformSample", "argus");

  MSDeformSample() = default;
  // inputs: value (B, S, Dv), reference_points (Q, 2), offsets (B, Q, M·L·P·2),
  // logits (B, Q, M·L·P).
  MSDeformSample(const ov::OutputVector& inputs, const ops::DeformSampleParams& params);

  void validate_and_infer_types() override;
  std::shared_ptr<ov::Node> clone_with_new_inputs(const ov::OutputVector& inputs) const override;
  bool visit_attributes(ov::AttributeVisitor& visitor) override;
  bool evaluate(ov::TensorVector& outputs, const ov::TensorVector& inputs) const override;
  bool has_evaluate() const override;

  ops::DeformSampleParams params() const;

 private:
  int64_t n_heads_ = 0;
  int64_t n_levels_ = 0;
  int64_t n_points_ = 0;
  std::vector<int64_t> spatial_shapes_;
};

}  // namespace argus::openvino
