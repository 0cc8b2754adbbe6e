// CUDA NMS: host API (host pointers in, host indices out), built with ARGUS_WITH_CUDA.
//
// Same contract and the same result as kernels::nms<float> (kernels/nms.h): boxes are
// sorted by score on the device (NaN last, ties by index), a 64 x 64-tile kernel writes
// for every box the bitmask of later boxes (same label unless class-agnostic) whose
// float64 IoU with it is > iou_threshold (the CPU's expression, compiled without FMA
// contraction), and the host walks the boxes in order, keeping a box unless a kept box's
// mask has its bit (torchvision's scheme), stopping at max_detections.
// Memory: n_kept_candidates^2 / 8 bytes of masks on the device and the host (50k boxes:
// ~313 MB). Thread safety: uses the current device and the default stream; concurrent
// calls are safe but serialise on the device.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/nms.h"

namespace argus::kernels::cuda {

// True when at least one CUDA device can be used.
bool device_available();

// Throws Error(InvalidArgument) like the CPU kernel, Error(BackendUnavailable) without a
// device and Error(Internal) on a CUDA runtime failure.
std::vector<int64_t> nms(const float* boxes, const float* scores, const int64_t* labels, int64_t n,
                         const NmsParams& params);

}  // namespace argus::kernels::cuda
