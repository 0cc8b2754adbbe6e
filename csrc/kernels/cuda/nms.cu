#include "kernels/cuda/nms.h"

#include <thrust/device_ptr.h>
#include <thrust/execution_policy.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>

#include <algorithm>
#include <cmath>

#include "kernels/cuda/check.h"

namespace argus::kernels::cuda {
namespace {

using detail::check;
using detail::DeviceBuffer;

constexpr int kTile = 64;  // boxes per tile: one bit per box in a uint64 word

// Descending score, NaN last, ties by ascending index: the CPU's strict total order.
struct ScoreOrder {
  const float* scores;
  __device__ bool operator()(int64_t a, int64_t b) const {
    const float sa = scores[a], sb = scores[b];
    const bool na = isnan(sa), nb = isnan(sb);
    if (na != nb) return nb;
    if (!na && sa != sb) return sa > sb;
    return a < b;
  }
};

// numpy's maximum/minimum (NaN wins), as in the CPU kernel.
__device__ inline double np_max(double a, double b) { return (a >= b || a != a) ? a : b; }
__device__ inline double np_min(double a, double b) { return (a <= b || a != a) ? a : b; }

__device__ inline double area_of(const float* b) {
  return np_max(0.0, double(b[2]) - double(b[0])) * np_max(0.0, double(b[3]) - double(b[1]));
}

// IoU(kept candidate a, later box b) > threshold, the CPU's float64 expression and order.
__device__ inline bool overlaps(const float* a, const float* b, double threshold) {
  const double iw = np_max(0.0, np_min(a[2], b[2]) - np_max(a[0], b[0]));
  const double ih = np_max(0.0, np_min(a[3], b[3]) - np_max(a[1], b[1]));
  const double inter = iw * ih;
  const double uni = area_of(a) + area_of(b) - inter;
  const double iou = uni > 0.0 ? inter / uni : 0.0;
  return !(iou <= threshold);
}

// sorted_boxes (m, 4) in visiting order; mask (m, tiles): bit j of word t of row i set
// when box t * 64 + j comes after i, may be suppressed by it (same label or agnostic)
// and overlaps it.
__global__ void overlap_mask_kernel(const float* sorted_boxes, const int64_t* sorted_labels,
                                    int64_t m, int64_t tiles, double threshold, bool agnostic,
                                    unsigned long long* mask) {
  const int64_t row_tile = blockIdx.y, col_tile = blockIdx.x;
  if (row_tile > col_tile) return;
  __shared__ float tile_boxes[kTile * 4];
  __shared__ int64_t tile_labels[kTile];
  const int64_t col0 = col_tile * kTile;
  const int cols = static_cast<int>(m - col0 < kTile ? m - col0 : kTile);
  if (threadIdx.x < cols) {
    for (int c = 0; c < 4; ++c) tile_boxes[threadIdx.x * 4 + c] = sorted_boxes[(col0 + threadIdx.x) * 4 + c];
    tile_labels[threadIdx.x] = sorted_labels[col0 + threadIdx.x];
  }
  __syncthreads();
  const int64_t i = row_tile * kTile + threadIdx.x;
  if (i >= m) return;
  const float* box = sorted_boxes + i * 4;
  const int64_t label = sorted_labels[i];
  unsigned long long bits = 0;
  for (int j = (row_tile == col_tile ? threadIdx.x + 1 : 0); j < cols; ++j) {
    if ((agnostic || tile_labels[j] == label) && overlaps(box, tile_boxes + j * 4, threshold)) {
      bits |= 1ULL << j;
    }
  }
  mask[i * tiles + col_tile] = bits;
}

__global__ void gather_kernel(const float* boxes, const int64_t* labels, const int64_t* order,
                              int64_t m, float* sorted_boxes, int64_t* sorted_labels) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= m) return;
  const int64_t src = order[i];
  for (int c = 0; c < 4; ++c) sorted_boxes[i * 4 + c] = boxes[src * 4 + c];
  sorted_labels[i] = labels ? labels[src] : 0;
}

// Visiting order of the n boxes on the device, copied to the host.
std::vector<int64_t> device_order(const DeviceBuffer<float>& scores, int64_t n,
                                  DeviceBuffer<int64_t>& order) {
  thrust::device_ptr<int64_t> first(order.get());
  thrust::sequence(thrust::device, first, first + n);
  thrust::sort(thrust::device, first, first + n, ScoreOrder{scores.get()});
  check(cudaGetLastError(), "sort");
  std::vector<int64_t> host(static_cast<size_t>(n));
  order.to_host(host.data(), host.size());
  return host;
}

void validate(const float* boxes, const float* scores, const int64_t* labels, int64_t n,
              const NmsParams& p) {
  if (n < 0) throw Error(Status::InvalidArgument, "nms: negative box count");
  if (n > 0 && (boxes == nullptr || scores == nullptr)) {
    throw Error(Status::InvalidArgument, "nms: boxes and scores must not be null");
  }
  if (n > 0 && labels == nullptr && !p.class_agnostic) {
    throw Error(Status::InvalidArgument, "nms: class-aware NMS needs labels");
  }
  if (std::isnan(p.iou_threshold)) throw Error(Status::InvalidArgument, "nms: iou_threshold is NaN");
}

// Greedy walk over the masks (host): torchvision's sequential reduction.
std::vector<int64_t> reduce(const std::vector<unsigned long long>& mask, const std::vector<int64_t>& order,
                            int64_t m, int64_t tiles, size_t limit) {
  std::vector<unsigned long long> removed(static_cast<size_t>(tiles), 0ULL);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < m && keep.size() < limit; ++i) {
    if (removed[i / kTile] >> (i % kTile) & 1ULL) continue;
    keep.push_back(order[i]);
    const unsigned long long* row = &mask[static_cast<size_t>(i * tiles)];
    for (int64_t t = i / kTile; t < tiles; ++t) removed[t] |= row[t];
  }
  return keep;
}

}  // namespace

bool device_available() {
  int count = 0;
  const bool ok = cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
  if (!ok) cudaGetLastError();
  return ok;
}

std::vector<int64_t> nms(const float* boxes, const float* scores, const int64_t* labels, int64_t n,
                         const NmsParams& params) {
  validate(boxes, scores, labels, n, params);
  if (n == 0 || params.max_detections == 0) return {};
  detail::require_device();
  const DeviceBuffer<float> d_boxes(boxes, 4 * n), d_scores(scores, n);
  const bool agnostic = params.class_agnostic;
  const DeviceBuffer<int64_t> d_labels(agnostic ? nullptr : labels, agnostic ? 0 : n);
  DeviceBuffer<int64_t> d_order(n);
  const std::vector<int64_t> order = device_order(d_scores, n, d_order);
  int64_t m = n;  // candidates above the score threshold form a prefix of the order
  if (params.score_threshold) {
    const double thr = *params.score_threshold;
    m = std::find_if(order.begin(), order.end(), [&](int64_t i) {
          return !(static_cast<double>(scores[i]) > thr);
        }) - order.begin();
  }
  if (m == 0) return {};
  DeviceBuffer<float> sorted_boxes(4 * m);
  DeviceBuffer<int64_t> sorted_labels(m);
  gather_kernel<<<static_cast<unsigned>((m + 255) / 256), 256>>>(
      d_boxes.get(), agnostic ? nullptr : d_labels.get(), d_order.get(), m, sorted_boxes.get(),
      sorted_labels.get());
  check(cudaGetLastError(), "gather");
  const int64_t tiles = (m + kTile - 1) / kTile;
  DeviceBuffer<unsigned long long> d_mask(static_cast<size_t>(m * tiles));
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(tiles));
  overlap_mask_kernel<<<grid, kTile>>>(sorted_boxes.get(), sorted_labels.get(), m, tiles,
                                       params.iou_threshold, agnostic, d_mask.get());
  check(cudaGetLastError(), "overlap mask");
  std::vector<unsigned long long> mask(static_cast<size_t>(m * tiles), 0ULL);
  d_mask.to_host(mask.data(), mask.size());  // synchronises: the default stream
  const size_t limit = params.max_detections < 0 ? static_cast<size_t>(m)
                                                 : static_cast<size_t>(params.max_detections);
  return reduce(mask, order, m, tiles, limit);
}

}  // namespace argus::kernels::cuda
