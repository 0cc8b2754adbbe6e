// Greedy non-maximum suppression, the C++ twin of training/heads/dense/nms.py.
//
// Conventions (identical to the numpy reference, so keep sets match exactly):
// * boxes are xyxy; IoU = inter / (area_a + area_b - inter) in float64, 0 when the union
//   is not > 0 (degenerate boxes: zero-area or inverted, never suppress each other;
//   inverted sides count as 0 width/height);
// * boxes are visited by descending score, ties by ascending index (a stable sort);
//   NaN scores are visited last (numpy sorts NaN last), NaN boxes suppress nothing;
// * a box is suppressed when its IoU with an already kept box is > iou_threshold
//   (equal is kept);
// * class-aware NMS is exact per-label greedy NMS (no coordinate-offset trick, whose
//   rounding can flip decisions near the threshold), merged in the same score order.
//
// Cost: O(n log n) sort, then each visited box is compared with the kept boxes of its
// class; the loop stops as soon as max_detections boxes are kept.
// Pure functions: safe to call concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace argus::kernels {

struct NmsParams {
  double iou_threshold = 0.5;  // IoU > threshold suppresses; any value (>= 1: keep all)
  bool class_agnostic = false;  // true: ignore labels (labels may then be null)
  // Boxes with score <= threshold (or NaN) are dropped first; nullopt: none dropped.
  std::optional<double> score_threshold;
  // Keep at most this many (0: none, < 0: no limit). Equals slicing the reference's
  // result with [:max_detections] for max_detections >= 0.
  int64_t max_detections = -1;
};

// Indices 0..n-1 by descending score, ties by ascending index, NaN last (stable).
template <typename T>
std::vector<int64_t> score_order(const T* scores, int64_t n);

// IoU of two xyxy boxes in float64 with the conventions above.
double box_iou(const double a[4], const double b[4]);

// Kept indices into the n inputs, by descending score (ties: lower index first).
// `boxes` (n, 4) row-major xyxy, `scores` (n), `labels` (n) any integers (may be null
// when params.class_agnostic). All caller-owned, read only during the call.
// T is float or double (IoU is float64 either way). Throws Error(InvalidArgument) on
// n < 0, null inputs or a NaN iou_threshold.
template <typename T>
std::vector<int64_t> nms(const T* boxes, const T* scores, const int64_t* labels, int64_t n,
                         const NmsParams& params);

}  // namespace argus::kernels
