// Internal to the NMS kernel (nms.cpp): float64 boxes, the reference's IoU, and the two
// greedy suppression loops. Not part of the public kernel API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace argus::kernels::detail {

// numpy's maximum/minimum: NaN in either operand gives NaN.
inline double np_max(double a, double b) { return (a >= b || a != a) ? a : b; }
inline double np_min(double a, double b) { return (a <= b || a != a) ? a : b; }

// A box in float64 with its area max(0, w) * max(0, h), computed once.
struct BoxD {
  double x1, y1, x2, y2, area;
};

inline BoxD to_boxd(const double b[4]) {
  return {b[0], b[1], b[2], b[3], np_max(0.0, b[2] - b[0]) * np_max(0.0, b[3] - b[1])};
}

// The reference's exact float64 IoU expression. When the intersection has zero width or
// height the result is 0 whatever the other factor (0 * NaN and 0 * inf give a NaN
// union, which the reference also maps to 0), so the division is skipped.
inline double iou(const BoxD& a, const BoxD& b) {
  const double iw = np_max(0.0, np_min(a.x2, b.x2) - np_max(a.x1, b.x1));
  if (iw == 0.0) return 0.0;
  const double ih = np_max(0.0, np_min(a.y2, b.y2) - np_max(a.y1, b.y1));
  if (ih == 0.0) return 0.0;
  const double inter = iw * ih;
  const double uni = a.area + b.area - inter;
  return uni > 0.0 ? inter / uni : 0.0;
}

// Does kept box `a` suppress later box `b`? The reference keeps b when
// `iou <= threshold`; a NaN IoU (inf / inf) fails that test and suppresses, here too.
inline bool suppresses(const BoxD& a, const BoxD& b, double threshold) {
  return !(iou(a, b) <= threshold);
}

// Boxes in visiting order (descending score, ties by index) with dense class ids.
struct Candidates {
  std::vector<int64_t> index;  // input index of each candidate
  std::vector<BoxD> box;
  std::vector<int32_t> cls;    // 0..num_classes-1 (all 0 when class-agnostic)
  int32_t num_classes = 1;
};

// Greedy NMS comparing each candidate with every kept box of its class. Any input.
std::vector<int64_t> greedy_linear(const Candidates& c, double threshold, size_t limit);

// True when greedy_grid() gives greedy_linear()'s result: threshold >= 0 (boxes that do
// not intersect never suppress) and finite coordinates; and worth it (enough boxes).
bool grid_applies(const Candidates& c, double threshold);

// Greedy NMS comparing each candidate only with the kept boxes that share a cell of a
// uniform grid with it (or are too large to bucket). Same result as greedy_linear()
// whenever grid_applies(): boxes whose cell spans are disjoint do not intersect, since
// cell indices are a monotone function of the coordinates.
std::vector<int64_t> greedy_grid(const Candidates& c, double threshold, size_t limit);

}  // namespace argus::kernels::detail
