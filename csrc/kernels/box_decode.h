// Anchor points and box decoding of the dense det/inst head.
//
// Mirrors training/heads/dense/points.py and postprocess.py::decode_boxes, float32 for
// float32. Coordinates are input-tensor pixels, continuous pixel-edge convention (the
// input spans [0, W] x [0, H]). Point order is the head's flat output order:
// level-major (strides as given), then row-major within a level; the point of cell
// (row i, column j) of stride s sits at ((j + 0.5) * s, (i + 0.5) * s).
//
// Pure functions: no state, safe to call from any number of threads.
#pragma once

#include <cstdint>
#include <vector>

#include "core/transform.h"

namespace argus::kernels {

// Number of points of an input of input_h x input_w pixels with `strides`.
// Throws Error(Status::InvalidArgument) when a side is not a positive multiple of every
// stride or a stride is not positive.
int64_t num_anchor_points(int input_h, int input_w, const std::vector<int>& strides);

// Every point, in output order (num_anchor_points() of them). Same errors.
std::vector<Point> anchor_points(int input_h, int input_w, const std::vector<int>& strides);

// Box of a point and its (left, top, right, bottom) distances in input pixels:
// (x - l, y - t, x + r, y + b) with x clipped to [0, input_w] and y to [0, input_h].
// Inverted boxes (negative distances) are not repaired, as in the reference.
Box decode_box(Point point, const float ltrb[4], int input_h, int input_w);

// decode_box for `n` points: `points` (n), `ltrb` (n, 4) row-major, `out` (n) boxes;
// all caller-owned, `out` must not alias the inputs.
void decode_boxes(const Point* points, const float* ltrb, int64_t n, int input_h, int input_w,
                  Box* out);

}  // namespace argus::kernels
