// Images handed to argus_edge._core: the one rule for what a numpy image may be
// (preprocess() and Session.run_batch() both use it; the pure-Python layer only converts
// paths, PIL images and frames into arrays).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "core/image.h"

namespace argus::python {

// An image argument: the array (kept alive while the view is used) and its view.
struct ImageArg {
  pybind11::array array;
  ImageView view;
};

// `object` as an image: a numpy uint8 (H, W, 3) array, H, W >= 1, whose 3 bytes per pixel
// and pixels within a row are contiguous (any row stride >= 3 W). Another layout is
// copied when `copy_strided`, else refused. Throws Error(Status::Image) naming what is
// wrong (type, dtype, shape, empty, layout).
ImageArg image_arg(pybind11::handle object, PixelFormat format, bool copy_strided);

// "RGB" or "BGR"; else Error(Status::InvalidArgument).
PixelFormat pixel_format(const std::string& color);

}  // namespace argus::python
