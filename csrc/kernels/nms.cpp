#include "kernels/nms.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "core/status.h"
#include "kernels/nms_greedy.h"

namespace argus::kernels {
namespace {

using detail::Candidates;

void check_args(const void* boxes, const void* scores, const int64_t* labels, int64_t n,
                const NmsParams& params) {
  if (n < 0) throw Error(Status::InvalidArgument, "nms: negative box count");
  if (n > 0 && (boxes == nullptr || scores == nullptr)) {
    throw Error(Status::InvalidArgument, "nms: boxes and scores must not be null");
  }
  if (n > 0 && labels == nullptr && !params.class_agnostic) {
    throw Error(Status::InvalidArgument, "nms: class-aware NMS needs labels");
  }
  if (std::isnan(params.iou_threshold)) {
    throw Error(Status::InvalidArgument, "nms: iou_threshold is NaN");
  }
}

// Dense class ids 0..C-1 for arbitrary integer labels (all 0 when class-agnostic).
std::vector<int32_t> dense_classes(const int64_t* labels, int64_t n, bool agnostic,
                                   int32_t* num_classes) {
  std::vector<int32_t> cls(static_cast<size_t>(n), 0);
  *num_classes = 1;
  if (agnostic) return cls;
  std::unordered_map<int64_t, int32_t> ids;
  for (int64_t i = 0; i < n; ++i) {
    auto it = ids.emplace(labels[i], static_cast<int32_t>(ids.size())).first;
    cls[i] = it->second;
  }
  *num_classes = static_cast<int32_t>(std::max<size_t>(1, ids.size()));
  return cls;
}

}  // namespace

template <typename T>
std::vector<int64_t> score_order(const T* scores, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::iota(order.begin(), order.end(), int64_t{0});
  // A strict total order (NaN last, then index), so std::sort is deterministic and
  // equals numpy's stable argsort of -scores.
  std::sort(order.begin(), order.end(), [scores](int64_t a, int64_t b) {
    const double sa = static_cast<double>(scores[a]), sb = static_cast<double>(scores[b]);
    const bool na = std::isnan(sa), nb = std::isnan(sb);
    if (na != nb) return nb;
    if (!na && sa != sb) return sa > sb;
    return a < b;
  });
  return order;
}

double box_iou(const double a[4], const double b[4]) {
  return detail::iou(detail::to_boxd(a), detail::to_boxd(b));
}

template <typename T>
std::vector<int64_t> nms(const T* boxes, const T* scores, const int64_t* labels, int64_t n,
                         const NmsParams& params) {
  check_args(boxes, scores, labels, n, params);
  if (n == 0 || params.max_detections == 0) return {};
  std::vector<int64_t> order = score_order(scores, n);
  if (params.score_threshold) {
    const double thr = *params.score_threshold;
    // Scores above the threshold form a prefix of the order (NaN is last and fails too).
    const auto end = std::find_if(order.begin(), order.end(), [&](int64_t i) {
      return !(static_cast<double>(scores[i]) > thr);
    });
    order.erase(end, order.end());
  }
  Candidates c;
  c.index = std::move(order);
  c.box.reserve(c.index.size());
  for (int64_t i : c.index) {
    const double b[4] = {static_cast<double>(boxes[4 * i]), static_cast<double>(boxes[4 * i + 1]),
                         static_cast<double>(boxes[4 * i + 2]),
                         static_cast<double>(boxes[4 * i + 3])};
    c.box.push_back(detail::to_boxd(b));
  }
  const std::vector<int32_t> cls = dense_classes(labels, n, params.class_agnostic, &c.num_classes);
  c.cls.reserve(c.index.size());
  for (int64_t i : c.index) c.cls.push_back(cls[i]);
  const size_t limit = params.max_detections < 0 ? c.index.size()
                                                 : static_cast<size_t>(params.max_detections);
  const double thr = params.iou_threshold;
  return detail::grid_applies(c, thr) ? detail::greedy_grid(c, thr, limit)
                                      : detail::greedy_linear(c, thr, limit);
}

template std::vector<int64_t> score_order<float>(const float*, int64_t);
template std::vector<int64_t> score_order<double>(const double*, int64_t);
template std::vector<int64_t> nms<float>(const float*, const float*, const int64_t*, int64_t,
                                         const NmsParams&);
template std::vector<int64_t> nms<double>(const double*, const double*, const int64_t*, int64_t,
                                          const NmsParams&);

}  // namespace argus::kernels
