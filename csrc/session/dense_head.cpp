// Dense detection head decoding; see dense_head.h.
#include "session/dense_head.h"

#include <cmath>

#include "core/status.h"
#include "session/manifest_read.h"

namespace argus::decode {

namespace {

// A count parameter: an integral number that fits comfortably in int64.
int64_t count_param(const json::Value* params, const char* key, int64_t fallback) {
  const double v = manifest::number_or(params, key, static_cast<double>(fallback));
  if (!(std::fabs(v) <= 9007199254740992.0) || v != std::floor(v)) {
    throw Error(Status::Bundle, std::string("params.") + key + " must be an integer");
  }
  return static_cast<int64_t>(v);
}

}  // namespace

DenseParams read_dense_params(const TaskSpec& spec, const DecoderOptions& options) {
  DenseParams p;
  kernels::DetectionParams& d = p.detection;
  const json::Value* params = spec.params;
  const double score = options.score_threshold >= 0.0
                           ? options.score_threshold
                           : manifest::number_or(params, "score_threshold", d.score_threshold);
  const double iou = manifest::number_or(params, "iou_threshold", d.iou_threshold);
  if (!std::isfinite(score) || !std::isfinite(iou)) {
    throw Error(Status::Bundle, "task '" + spec.name + "': thresholds must be finite");
  }
  d.score_threshold = static_cast<float>(score);
  d.iou_threshold = iou;
  d.pre_nms_topk = count_param(params, "pre_nms_topk", d.pre_nms_topk);
  d.max_detections = count_param(params, "max_detections", d.max_detections);
  d.class_agnostic = manifest::bool_or(params, "class_agnostic", false);
  for (int64_t s : manifest::ints_or(params, "strides", {8, 16, 32})) {
    if (s <= 0 || s > 1024) {
      throw Error(Status::Bundle, "task '" + spec.name + "': strides must be in 1..1024");
    }
    p.strides.push_back(static_cast<int>(s));
  }
  return p;
}

kernels::Detections decode_dense(const Tensors& head, const TaskSpec& spec,
                                 const DenseParams& params, const Transform& transform) {
  const Tensor& logits = output(head, "cls_logits", 3);
  const Tensor& ltrb = output(head, "box_ltrb", 3);
  kernels::DenseHeadOutputs dense{logits.data.data(), ltrb.data.data(), logits.dim(1),
                                  logits.dim(2)};
  return kernels::decode_detections(dense, spec.input_h, spec.input_w, params.strides,
                                    params.detection, transform);
}

void add_detections(const kernels::Detections& detections, TaskResult& out) {
  const auto n = static_cast<int64_t>(detections.size());
  std::vector<float> boxes;
  boxes.reserve(static_cast<size_t>(n) * 4);
  for (const Box& b : detections.boxes) boxes.insert(boxes.end(), {b.x1, b.y1, b.x2, b.y2});
  out.add(ResultArray::of("boxes", {n, 4}, std::move(boxes)));
  out.add(ResultArray::of("scores", {n}, detections.scores));
  out.add(ResultArray::of("labels", {n}, detections.labels));
}

std::vector<ArraySpec> detection_arrays() {
  return {{"boxes", DType::Float32, {"n", "4"}},
          {"scores", DType::Float32, {"n"}},
          {"labels", DType::Int64, {"n"}}};
}

}  // namespace argus::decode
