// The OpenVINO extension library argus_openvino_ext: the MSDeformSample and
// ScaledDeformAttn (version 1) operations (so that IR files holding them load) and the
// ONNX frontend conversions of the ai.argus nodes.
//
//   core.add_extension("libargus_openvino_ext.so")   # Python; C++: ov::Core::add_extension
//   model = core.read_model("backbone_custom.onnx")
//
// The kernel's parallel_for runs on OpenVINO's own TBB arena here, so the fused node uses
// the threads the plugin was configured with (INFERENCE_NUM_THREADS). libargus's own pool
// would compete with TBB's spinning workers: measured on 2 cores, that made the node ~1.6x
// slower than with this runner.
#include <openvino/core/extension.hpp>
#include <openvino/core/op_extension.hpp>
#include <openvino/frontend/onnx/extension/conversion.hpp>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <string>

#include "core/parallel.h"
#include "ops/openvino/ms_deform_sample_op.h"
#include "ops/openvino/scaled_deform_attn_op.h"

namespace argus::openvino {
namespace {

constexpr char kDomain[] = "ai.argus";
constexpr char kFusedOpType[] = "ScaledDeformAttn";
constexpr char kSampleOpType[] = "MSDeformSample";
constexpr int kGammaInput = 11;

void tbb_runner(std::size_t n, int num_threads, const ParallelBody& body) {
  const auto threads = static_cast<std::size_t>(
      std::min(num_threads, tbb::this_task_arena::max_concurrency()));
  const std::size_t grain = (n + 4 * threads - 1) / (4 * threads);
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, n, grain),
      [&](const tbb::blocked_range<std::size_t>& r) { body(r.begin(), r.end()); },
      tbb::simple_partitioner());
}

const bool kRunnerInstalled = (set_parallel_runner(&tbb_runner), true);

// An input the ONNX graph leaves empty ("") reaches converters as the frontend's NullNode.
bool is_absent(const ov::Output<ov::Node>& input) {
  return std::string(input.get_node()->get_type_name()) == "NullNode";
}

// The sampling attributes shared by both nodes.
ops::DeformSampleParams sample_params(const ov::frontend::NodeContext& node) {
  return {node.get_attribute<int64_t>("n_heads"), node.get_attribute<int64_t>("n_levels"),
          node.get_attribute<int64_t>("n_points"),
          node.get_attribute<std::vector<int64_t>>("spatial_shapes")};
}

// ai.argus::MSDeformSample (version 1) -> MSDeformSample.
ov::OutputVector convert_sample_node(const ov::frontend::NodeContext& node) {
  ov::OutputVector inputs;
  for (size_t i = 0; i < node.get_input_size(); ++i) {
    inputs.push_back(node.get_input(static_cast<int>(i)));
  }
  return std::make_shared<MSDeformSample>(inputs, sample_params(node))->outputs();
}

// ai.argus::ScaledDeformAttn (version 1) -> ScaledDeformAttn; attribute defaults as in
// docs/custom_ops.md (token_scaling 0, eps 1e-6); gamma may be absent or empty.
ov::OutputVector convert_fused_node(const ov::frontend::NodeContext& node) {
  ov::OutputVector inputs;
  for (size_t i = 0; i < node.get_input_size(); ++i) {
    ov::Output<ov::Node> input = node.get_input(static_cast<int>(i));
    if (static_cast<int>(i) == kGammaInput && is_absent(input)) continue;
    inputs.push_back(input);
  }
  ops::DeformAttnParams params;
  static_cast<ops::DeformSampleParams&>(params) = sample_params(node);
  params.token_scaling = node.get_attribute<int64_t>("token_scaling", 0) != 0;
  params.eps = node.get_attribute<float>("eps", 1e-6f);
  return std::make_shared<ScaledDeformAttn>(inputs, params)->outputs();
}

}  // namespace
}  // namespace argus::openvino

OPENVINO_CREATE_EXTENSIONS(std::vector<ov::Extension::Ptr>({
    std::make_shared<ov::OpExtension<argus::openvino::MSDeformSample>>(),
    std::make_shared<ov::OpExtension<argus::openvino::ScaledDeformAttn>>(),
    std::make_shared<ov::frontend::onnx::ConversionExtension>(
        argus::openvino::kSampleOpType, argus::openvino::kDomain,
        argus::openvino::convert_sample_node),
    std::make_shared<ov::frontend::onnx::ConversionExtension>(
        argus::openvino::kFusedOpType, argus::openvino::kDomain,
        argus::openvino::convert_fused_node),
}));
