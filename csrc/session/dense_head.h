// Shared by the dense_detection and prototype_masks kinds: their parameters and the
// decoding of the one-stage dense head's outputs (cls_logits, box_ltrb) into detections
// in image pixels (kernels/detections.h).
#pragma once

#include <vector>

#include "kernels/detections.h"
#include "session/decoder.h"

namespace argus::decode {

struct DenseParams {
  kernels::DetectionParams detection;  // thresholds and NMS
  std::vector<int> strides;            // of the head's levels, e.g. {8, 16, 32}
};

// The kind's params ("score_threshold", "iou_threshold", "pre_nms_topk",
// "max_detections", "class_agnostic", "strides"); options.score_threshold >= 0 overrides
// the score threshold. Throws Error(Status::Bundle) for out-of-range values.
DenseParams read_dense_params(const TaskSpec& spec, const DecoderOptions& options);

// One image's detections from its head outputs (batch 1).
kernels::Detections decode_dense(const Tensors& head, const TaskSpec& spec,
                                 const DenseParams& params, const Transform& transform);

// The arrays "boxes" (n, 4) float32, "scores" (n) float32 and "labels" (n) int64.
void add_detections(const kernels::Detections& detections, TaskResult& out);

// The ArraySpecs of those three arrays.
std::vector<ArraySpec> detection_arrays();

}  // namespace argus::decode
