// Dense det/inst head decoding for one image: the C++ twin of
// training/heads/dense/postprocess.py::postprocess_detections.
//
// Steps: score = sigmoid(logit) per (point, class); keep score > score_threshold; keep
// the pre_nms_topk best (ties: lower flat index point * C + class first); decode boxes
// from anchor points + ltrb (clipped to the input); NMS (nms.h); keep max_detections;
// map boxes to image pixels through the image -> input Transform (clipped to the image).
// For inst, instance_masks() then assembles, crops, thresholds and pastes the masks.
//
// Numerics: the sigmoid here is the correctly rounded float32 of the exact value
// (computed in float64). The numpy reference computes exp(-logaddexp(0, -x)) in float32,
// whose rounding depends on numpy's SIMD exp and is a few ULP (< 1e-6 relative) away;
// everything downstream of the scores is bit-exact with the reference.
//
// Pure functions: safe to call concurrently on different outputs.
#pragma once

#include <cstdint>
#include <vector>

#include "core/transform.h"
#include "kernels/nms.h"

namespace argus::kernels {

struct DetectionParams {
  float score_threshold = 0.05f;  // strict lower bound on sigmoid scores (compared in float32)
  double iou_threshold = 0.6;     // NMS: IoU > threshold suppresses
  int64_t pre_nms_topk = 1000;    // at most this many (point, class) candidates; <= 0: all
  int64_t max_detections = 100;   // detections kept after NMS (0: none, < 0: all)
  bool class_agnostic = false;    // NMS across classes
};

// The head's raw outputs for one image; caller-owned, row-major, read only.
struct DenseHeadOutputs {
  const float* cls_logits = nullptr;  // (num_points, num_classes)
  const float* box_ltrb = nullptr;    // (num_points, 4) distances in input pixels
  int64_t num_points = 0;
  int64_t num_classes = 0;
};

// Detections of one image, by descending score (ties: lower flat index first).
struct Detections {
  std::vector<Box> boxes;            // xyxy, image pixels, clipped to the image
  std::vector<float> scores;         // sigmoid scores
  std::vector<int64_t> labels;       // class index in [0, num_classes)
  std::vector<int64_t> point_index;  // anchor point of each detection (mask coefficient row)
  size_t size() const { return scores.size(); }
};

// Correctly rounded float32 logistic function; NaN stays NaN.
float sigmoid(float x);

// (point, class) candidates: scores (n, c) -> flat indices point * c + class with
// score > threshold, the `topk` best (<= 0: all) by descending score, ties by index.
// NaN scores never pass. Throws Error(InvalidArgument) on null input or negative sizes.
std::vector<int64_t> select_candidates(const float* scores, int64_t n, int64_t c,
                                       float score_threshold, int64_t topk);

// The whole pipeline above. `image_to_input` is the preprocessing transform (identity
// for an image that is the input: Transform{1, 1, 0, 0, input_w, input_h}).
// Throws Error(InvalidArgument) when num_points does not match the input size and
// strides, on null outputs, num_classes < 1, a non-positive transform scale or a NaN
// iou_threshold.
Detections decode_detections(const DenseHeadOutputs& outputs, int input_h, int input_w,
                             const std::vector<int>& strides, const DetectionParams& params,
                             const Transform& image_to_input);

// The inst head's prototype branch for one image; caller-owned, row-major, read only.
struct MaskHeadOutputs {
  const float* mask_coeffs = nullptr;  // (num_points, num_protos)
  const float* protos = nullptr;       // (num_protos, input_h / 4, input_w / 4)
  int64_t num_points = 0;
  int64_t num_protos = 0;
};

// Masks of `detections` at image resolution: writes every element of `out`
// (detections.size(), image_height, image_width) as 0/1 bytes (numpy bool layout).
// Throws Error(InvalidArgument) on null pointers, a point index out of range or
// mismatched sizes.
void instance_masks(const MaskHeadOutputs& outputs, int input_h, int input_w,
                    const Detections& detections, const Transform& image_to_input,
                    double mask_threshold, uint8_t* out);

}  // namespace argus::kernels
