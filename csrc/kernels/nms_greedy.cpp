#include "kernels/nms_greedy.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace argus::kernels::detail {
namespace {

constexpr size_t kGridMinBoxes = 64;  // below this the linear scan is as fast
constexpr int64_t kMaxSpan = 64;      // boxes spanning more cells are not bucketed
constexpr double kMaxCellsPerBox = 4.0;  // grid cells per candidate box at most
constexpr int kMaxSide = 1024;        // grid cells per axis at most

bool any_suppresses(const std::vector<BoxD>& kept, const BoxD& b, double threshold) {
  for (const BoxD& k : kept) {
    if (suppresses(k, b, threshold)) return true;
  }
  return false;
}

// Candidates with zero width or height: IoU 0 with everything.
inline bool degenerate(const BoxD& b) { return !(b.x2 > b.x1) || !(b.y2 > b.y1); }

// Kept boxes bucketed by the grid cells their extent covers.
class KeptGrid {
 public:
  explicit KeptGrid(const std::vector<BoxD>& boxes);
  bool suppressed(const BoxD& b, int32_t cls, double threshold) const;
  void add(const BoxD& b, int32_t cls);

 private:
  struct Span {
    int cx0, cx1, cy0, cy1;
    int64_t cells() const { return int64_t{cx1 - cx0 + 1} * (cy1 - cy0 + 1); }
  };
  int cell(double v, double origin, int side) const {
    if (side == 1) return 0;
    const double c = std::floor((v - origin) * inv_cell_);  // monotone in v
    return static_cast<int>(std::min(std::max(c, 0.0), static_cast<double>(side - 1)));
  }
  Span span(const BoxD& b) const {
    return {cell(b.x1, x0_, cols_), cell(b.x2, x0_, cols_), cell(b.y1, y0_, rows_),
            cell(b.y2, y0_, rows_)};
  }
  bool scan(const std::vector<int32_t>& ids, const BoxD& b, int32_t cls, double thr) const {
    for (int32_t id : ids) {
      if (kept_cls_[id] == cls && suppresses(kept_[id], b, thr)) return true;
    }
    return false;
  }

  double x0_ = 0.0, y0_ = 0.0, inv_cell_ = 1.0;
  int cols_ = 1, rows_ = 1;
  std::vector<std::vector<int32_t>> cells_;
  std::vector<int32_t> large_, all_;
  std::vector<BoxD> kept_;
  std::vector<int32_t> kept_cls_;
};

// Cell side: the median box side, grown until the grid has at most kMaxSide cells per
// axis and kMaxCellsPerBox cells per box.
KeptGrid::KeptGrid(const std::vector<BoxD>& boxes) {
  double x1 = INFINITY, y1 = INFINITY, x2 = -INFINITY, y2 = -INFINITY;
  std::vector<double> sides;
  for (const BoxD& b : boxes) {
    if (degenerate(b)) continue;
    x1 = std::min(x1, b.x1), y1 = std::min(y1, b.y1);
    x2 = std::max(x2, b.x2), y2 = std::max(y2, b.y2);
    sides.push_back(std::max(b.x2 - b.x1, b.y2 - b.y1));
  }
  if (sides.empty()) return;
  std::nth_element(sides.begin(), sides.begin() + sides.size() / 2, sides.end());
  const double w = x2 - x1, h = y2 - y1;
  double side = std::max({sides[sides.size() / 2], w / kMaxSide, h / kMaxSide,
                          std::sqrt(w * h / (kMaxCellsPerBox * static_cast<double>(sides.size())))});
  if (!(side > 0.0) || !std::isfinite(side) || !std::isfinite(w) || !std::isfinite(h)) {
    cells_.resize(1);  // one cell: every box spans it (huge coordinates)
    return;
  }
  x0_ = x1, y0_ = y1, inv_cell_ = 1.0 / side;
  cols_ = static_cast<int>(std::min(w * inv_cell_, double{kMaxSide})) + 1;
  rows_ = static_cast<int>(std::min(h * inv_cell_, double{kMaxSide})) + 1;
  cells_.resize(static_cast<size_t>(cols_) * rows_);
}

bool KeptGrid::suppressed(const BoxD& b, int32_t cls, double threshold) const {
  const Span s = span(b);
  if (s.cells() > kMaxSpan) return scan(all_, b, cls, threshold);
  if (scan(large_, b, cls, threshold)) return true;
  for (int cy = s.cy0; cy <= s.cy1; ++cy) {
    for (int cx = s.cx0; cx <= s.cx1; ++cx) {
      if (scan(cells_[static_cast<size_t>(cy) * cols_ + cx], b, cls, threshold)) return true;
    }
  }
  return false;
}

void KeptGrid::add(const BoxD& b, int32_t cls) {
  const auto id = static_cast<int32_t>(kept_.size());
  kept_.push_back(b);
  kept_cls_.push_back(cls);
  all_.push_back(id);
  const Span s = span(b);
  if (s.cells() > kMaxSpan) {
    large_.push_back(id);
    return;
  }
  for (int cy = s.cy0; cy <= s.cy1; ++cy) {
    for (int cx = s.cx0; cx <= s.cx1; ++cx) cells_[static_cast<size_t>(cy) * cols_ + cx].push_back(id);
  }
}

}  // namespace

std::vector<int64_t> greedy_linear(const Candidates& c, double threshold, size_t limit) {
  std::vector<std::vector<BoxD>> kept(static_cast<size_t>(c.num_classes));
  std::vector<int64_t> keep;
  for (size_t i = 0; i < c.index.size() && keep.size() < limit; ++i) {
    std::vector<BoxD>& same = kept[static_cast<size_t>(c.cls[i])];
    if (any_suppresses(same, c.box[i], threshold)) continue;
    same.push_back(c.box[i]);
    keep.push_back(c.index[i]);
  }
  return keep;
}

bool grid_applies(const Candidates& c, double threshold) {
  if (!(threshold >= 0.0) || c.box.size() < kGridMinBoxes ||
      c.box.size() > static_cast<size_t>(INT32_MAX)) {
    return false;
  }
  return std::all_of(c.box.begin(), c.box.end(), [](const BoxD& b) {
    return std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) && std::isfinite(b.y2);
  });
}

std::vector<int64_t> greedy_grid(const Candidates& c, double threshold, size_t limit) {
  KeptGrid grid(c.box);
  std::vector<int64_t> keep;
  for (size_t i = 0; i < c.index.size() && keep.size() < limit; ++i) {
    const BoxD& b = c.box[i];
    if (degenerate(b)) {  // IoU 0 with everything: kept, and suppresses nothing
      keep.push_back(c.index[i]);
      continue;
    }
    if (grid.suppressed(b, c.cls[i], threshold)) continue;
    grid.add(b, c.cls[i]);
    keep.push_back(c.index[i]);
  }
  return keep;
}

}  // namespace argus::kernels::detail
