// The affine map between an input image and the tensor preprocessing made from it.
//
// Coordinates are continuous pixel-edge coordinates: pixel (i, j) covers
// [i, i + 1) x [j, j + 1), so the image's full extent is [0, width] x [0, height] and
// a box maps exactly (no half-pixel shifts).
#pragma once

#include <algorithm>

namespace argus {

struct Point {
  float x = 0.0f;
  float y = 0.0f;
};

// Axis-aligned box, corners (x1, y1) top-left and (x2, y2) bottom-right.
struct Box {
  float x1 = 0.0f, y1 = 0.0f, x2 = 0.0f, y2 = 0.0f;
};

// tensor = image * scale + offset, per axis.
struct Transform {
  float scale_x = 1.0f;
  float scale_y = 1.0f;
  float offset_x = 0.0f;  // tensor pixels of padding left of the image
  float offset_y = 0.0f;  // tensor pixels of padding above the image
  int image_width = 0;    // size of the source image, for clipping
  int image_height = 0;

  Point to_tensor(Point p) const { return {p.x * scale_x + offset_x, p.y * scale_y + offset_y}; }

  Point to_image(Point p) const {
    return {(p.x - offset_x) / scale_x, (p.y - offset_y) / scale_y};
  }

  // Maps a tensor-space box back to the image and clips it to [0, w] x [0, h].
  Box to_image(Box b) const {
    const Point a = to_image(Point{b.x1, b.y1});
    const Point c = to_image(Point{b.x2, b.y2});
    const float w = static_cast<float>(image_width);
    const float h = static_cast<float>(image_height);
    return {std::clamp(a.x, 0.0f, w), std::clamp(a.y, 0.0f, h), std::clamp(c.x, 0.0f, w),
            std::clamp(c.y, 0.0f, h)};
  }
};

}  // namespace argus
