// argus_edge._core.kernels: the post-processing kernels (csrc/kernels/) over numpy.
//
// Arrays are converted to C-contiguous arrays of the kernel's dtype (a copy only when
// needed), every kernel runs with the GIL released, and bad shapes raise
// InvalidArgumentError (a ValueError) through argus::Error.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <climits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/transform.h"
#include "session/dense_map.h"
#include "kernels/box_decode.h"
#include "kernels/detections.h"
#include "kernels/heatmaps.h"
#include "kernels/masks.h"
#include "kernels/nms.h"
#include "kernels/segmentation.h"
#include "python/registers.h"

namespace py = pybind11;

namespace argus::python {
namespace {

namespace k = argus::kernels;
using py::ssize_t;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(Status::InvalidArgument, message);
}

std::string shape_of(const py::array& a) { return py::str(py::tuple(a.attr("shape"))); }

// `obj` as a C-contiguous array of T with `ndim` dimensions (-1: any).
template <typename T>
py::array_t<T, py::array::c_style> as_array(py::handle obj, const char* name, int ndim = -1) {
  auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(obj);
  if (!a) {
    PyErr_Clear();
    invalid(std::string(name) + " must be a numeric array");
  }
  if (ndim >= 0 && a.ndim() != ndim) {
    invalid(std::string(name) + " must have " + std::to_string(ndim) + " dimensions, got shape " +
            shape_of(a));
  }
  return a;
}

int to_int(ssize_t v, const char* what) {
  if (v < 0 || v > INT_MAX) invalid(std::string(what) + " is out of range");
  return static_cast<int>(v);
}

// (height, width) from a pair of positive ints.
std::pair<int, int> size_pair(const std::pair<long long, long long>& hw, const char* name) {
  if (hw.first <= 0 || hw.second <= 0 || hw.first > INT_MAX || hw.second > INT_MAX) {
    invalid(std::string(name) + " must be two positive ints (height, width)");
  }
  return {static_cast<int>(hw.first), static_cast<int>(hw.second)};
}

// A Transform from anything with its six attributes (Transform, training's Letterbox).
Transform transform_from(py::handle t, int input_h, int input_w) {
  if (t.is_none()) return Transform{1.0f, 1.0f, 0.0f, 0.0f, input_w, input_h};
  try {
    Transform out{t.attr("scale_x").cast<float>(),   t.attr("scale_y").cast<float>(),
                  t.attr("offset_x").cast<float>(),  t.attr("offset_y").cast<float>(),
                  t.attr("image_width").cast<int>(), t.attr("image_height").cast<int>()};
    if (!(out.scale_x > 0.0f) || !(out.scale_y > 0.0f) || out.image_width < 0 ||
        out.image_height < 0) {
      invalid("transform needs positive scales and non-negative image sizes");
    }
    return out;
  } catch (const py::error_already_set&) {
    invalid("transform must have scale_x, scale_y, offset_x, offset_y, image_width and "
            "image_height (argus_edge._core.Transform or Letterbox)");
  } catch (const py::cast_error&) {
    invalid("transform attributes must be numbers");
  }
}

py::array sigmoid_py(py::handle x) {
  auto a = as_array<float>(x, "x");
  py::array_t<float> out(std::vector<ssize_t>(a.shape(), a.shape() + a.ndim()));
  const float* src = a.data();
  float* dst = out.mutable_data();
  const ssize_t n = a.size();
  {
    py::gil_scoped_release release;
    for (ssize_t i = 0; i < n; ++i) dst[i] = k::sigmoid(src[i]);
  }
  return std::move(out);
}

py::array anchor_points_py(std::pair<long long, long long> input_hw, std::vector<int> strides) {
  const auto [h, w] = size_pair(input_hw, "input_hw");
  const std::vector<Point> pts = k::anchor_points(h, w, strides);
  py::array_t<float> out({static_cast<ssize_t>(pts.size()), ssize_t{2}});
  float* o = out.mutable_data();
  for (size_t i = 0; i < pts.size(); ++i) {
    o[2 * i] = pts[i].x;
    o[2 * i + 1] = pts[i].y;
  }
  return std::move(out);
}

py::array decode_boxes_py(py::handle points, py::handle ltrb,
                          std::pair<long long, long long> input_hw) {
  const auto [h, w] = size_pair(input_hw, "input_hw");
  auto p = as_array<float>(points, "points", 2);
  auto d = as_array<float>(ltrb, "ltrb", 2);
  if (p.shape(1) != 2 || d.shape(1) != 4 || p.shape(0) != d.shape(0)) {
    invalid("points must be (N, 2) and ltrb (N, 4), got " + shape_of(p) + " and " + shape_of(d));
  }
  const ssize_t n = p.shape(0);
  py::array_t<float> out({n, ssize_t{4}});
  std::vector<Point> pts(static_cast<size_t>(n));
  for (ssize_t i = 0; i < n; ++i) pts[i] = {p.data()[2 * i], p.data()[2 * i + 1]};
  float* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    for (ssize_t i = 0; i < n; ++i) {
      const Box b = k::decode_box(pts[i], d.data() + 4 * i, h, w);
      o[4 * i] = b.x1, o[4 * i + 1] = b.y1, o[4 * i + 2] = b.x2, o[4 * i + 3] = b.y2;
    }
  }
  return std::move(out);
}

py::tuple select_candidates_py(py::handle scores, float score_threshold, int64_t topk) {
  auto s = as_array<float>(scores, "scores", 2);
  const int64_t n = s.shape(0), c = s.shape(1);
  std::vector<int64_t> flat;
  {
    py::gil_scoped_release release;
    flat = k::select_candidates(s.data(), n, c, score_threshold, topk);
  }
  const ssize_t m = static_cast<ssize_t>(flat.size());
  py::array_t<int64_t> point(m), label(m);
  py::array_t<float> score(m);
  for (ssize_t i = 0; i < m; ++i) {
    point.mutable_data()[i] = flat[i] / c;
    label.mutable_data()[i] = flat[i] % c;
    score.mutable_data()[i] = s.data()[flat[i]];
  }
  return py::make_tuple(point, label, score);
}

py::array nms_py(py::handle boxes, py::handle scores, py::handle labels, double iou_threshold,
                 bool class_agnostic, int64_t max_detections,
                 std::optional<double> score_threshold) {
  // float64 throughout: float32 input converts exactly, float64 input stays exact.
  auto b = as_array<double>(boxes, "boxes");
  auto s = as_array<double>(scores, "scores", 1);
  const ssize_t n = s.shape(0);
  if (!((b.ndim() == 2 && b.shape(1) == 4 && b.shape(0) == n) || (n == 0 && b.size() == 0))) {
    invalid("boxes must be (N, 4) for N scores, got " + shape_of(b) + " and " + shape_of(s));
  }
  std::optional<py::array_t<int64_t, py::array::c_style>> lab;
  if (!labels.is_none() && !class_agnostic) {
    lab = as_array<int64_t>(labels, "labels", 1);
    if (lab->shape(0) != n) invalid("labels must be (N,), got " + shape_of(*lab));
  }
  k::NmsParams p;
  p.iou_threshold = iou_threshold;
  p.class_agnostic = class_agnostic || !lab;
  p.max_detections = max_detections;
  p.score_threshold = score_threshold;
  std::vector<int64_t> keep;
  {
    py::gil_scoped_release release;
    keep = k::nms(b.data(), s.data(), lab ? lab->data() : nullptr, n, p);
  }
  py::array_t<int64_t> out(static_cast<ssize_t>(keep.size()));
  std::copy(keep.begin(), keep.end(), out.mutable_data());
  return std::move(out);
}

// Detections -> the reference's dict (boxes, scores, labels).
py::dict detections_dict(const k::Detections& d) {
  const ssize_t m = static_cast<ssize_t>(d.size());
  py::array_t<float> boxes({m, ssize_t{4}}), scores(m);
  py::array_t<int64_t> labels(m);
  for (ssize_t i = 0; i < m; ++i) {
    const Box& b = d.boxes[i];
    float* o = boxes.mutable_data() + 4 * i;
    o[0] = b.x1, o[1] = b.y1, o[2] = b.x2, o[3] = b.y2;
    scores.mutable_data()[i] = d.scores[i];
    labels.mutable_data()[i] = d.labels[i];
  }
  py::dict out;
  out["boxes"] = boxes;
  out["scores"] = scores;
  out["labels"] = labels;
  return out;
}

py::array instance_masks_py(py::handle coeffs, py::handle protos, int h, int w,
                            const k::Detections& det, const Transform& t, double threshold) {
  auto c = as_array<float>(coeffs, "mask_coeffs", 2);
  auto p = as_array<float>(protos, "protos", 3);
  if (p.shape(1) != h / k::kProtoStride || p.shape(2) != w / k::kProtoStride ||
      c.shape(1) != p.shape(0)) {
    invalid("protos " + shape_of(p) + " and mask_coeffs " + shape_of(c) +
            " do not match the input (" + std::to_string(h) + ", " + std::to_string(w) + ")");
  }
  py::array_t<bool> masks({static_cast<ssize_t>(det.size()), ssize_t{t.image_height},
                           ssize_t{t.image_width}});
  auto* out = reinterpret_cast<uint8_t*>(masks.mutable_data());
  const k::MaskHeadOutputs mo{c.data(), p.data(), c.shape(0), c.shape(1)};
  {
    py::gil_scoped_release release;
    k::instance_masks(mo, h, w, det, t, threshold, out);
  }
  return std::move(masks);
}

py::dict decode_detections_py(py::handle cls_logits, py::handle box_ltrb,
                              std::pair<long long, long long> input_hw, std::vector<int> strides,
                              float score_threshold, double iou_threshold, int64_t pre_nms_topk,
                              int64_t max_detections, bool class_agnostic, py::handle mask_coeffs,
                              py::handle protos, double mask_threshold, py::handle transform) {
  const auto [h, w] = size_pair(input_hw, "input_hw");
  auto logits = as_array<float>(cls_logits, "cls_logits", 2);
  auto ltrb = as_array<float>(box_ltrb, "box_ltrb", 2);
  if (ltrb.shape(1) != 4 || ltrb.shape(0) != logits.shape(0)) {
    invalid("box_ltrb must be (N, 4) for cls_logits (N, C), got " + shape_of(ltrb) + " and " +
            shape_of(logits));
  }
  const Transform t = transform_from(transform, h, w);
  const k::DenseHeadOutputs outputs{logits.data(), ltrb.data(), logits.shape(0), logits.shape(1)};
  k::DetectionParams params{score_threshold, iou_threshold, pre_nms_topk, max_detections,
                            class_agnostic};
  k::Detections det;
  {
    py::gil_scoped_release release;
    det = k::decode_detections(outputs, h, w, strides, params, t);
  }
  py::dict result = detections_dict(det);
  if (!mask_coeffs.is_none() && !protos.is_none()) {
    result["masks"] = instance_masks_py(mask_coeffs, protos, h, w, det, t, mask_threshold);
  }
  return result;
}

py::array assemble_mask_logits_py(py::handle coeffs, py::handle protos) {
  auto p = as_array<float>(protos, "protos", 3);
  auto c = as_array<float>(coeffs, "coeffs");
  if (c.size() % std::max<ssize_t>(p.shape(0), 1) != 0 || p.shape(0) < 1) {
    invalid("coeffs " + shape_of(c) + " do not match protos " + shape_of(p));
  }
  const ssize_t n = c.size() / p.shape(0);
  py::array_t<float> out({n, p.shape(1), p.shape(2)});
  const int ph = to_int(p.shape(1), "protos height"), pw = to_int(p.shape(2), "protos width");
  float* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    k::assemble_mask_logits(c.data(), n, p.shape(0), p.data(), ph, pw, o);
  }
  return std::move(out);
}

py::array paste_masks_py(py::handle mask_logits, py::handle boxes, py::handle transform,
                         double mask_threshold) {
  auto m = as_array<float>(mask_logits, "mask_logits", 3);
  auto b = as_array<float>(boxes, "boxes");
  if (b.size() != 4 * m.shape(0)) {
    invalid("boxes must be (P, 4) for mask_logits (P, h, w), got " + shape_of(b));
  }
  if (transform.is_none()) invalid("paste_masks needs the image -> input transform");
  const Transform t = transform_from(transform, 0, 0);
  std::vector<Box> bx(static_cast<size_t>(m.shape(0)));
  for (size_t i = 0; i < bx.size(); ++i) {
    const float* r = b.data() + 4 * i;
    bx[i] = {r[0], r[1], r[2], r[3]};
  }
  py::array_t<bool> out({m.shape(0), ssize_t{t.image_height}, ssize_t{t.image_width}});
  auto* o = reinterpret_cast<uint8_t*>(out.mutable_data());
  const int h = to_int(m.shape(1), "mask height"), w = to_int(m.shape(2), "mask width");
  {
    py::gil_scoped_release release;
    k::paste_masks(m.data(), m.shape(0), h, w, bx.data(), t, mask_threshold, o);
  }
  return std::move(out);
}

py::array semantic_argmax_py(py::handle logits, std::pair<long long, long long> size) {
  const auto [out_h, out_w] = size_pair(size, "size");
  auto a = as_array<float>(logits, "logits");
  if (a.ndim() != 3 && a.ndim() != 4) invalid("logits must be (C, h, w) or (B, C, h, w)");
  const ssize_t nd = a.ndim(), batch = nd == 4 ? a.shape(0) : 1, c = a.shape(nd - 3);
  const int in_h = to_int(a.shape(nd - 2), "height"), in_w = to_int(a.shape(nd - 1), "width");
  std::vector<ssize_t> shape = {ssize_t{out_h}, ssize_t{out_w}};
  if (nd == 4) shape.insert(shape.begin(), batch);
  py::array_t<int32_t> out(shape);
  int32_t* o = out.mutable_data();
  const float* src = a.data();
  {
    py::gil_scoped_release release;
    for (ssize_t i = 0; i < batch; ++i) {
      k::semantic_argmax(src + i * c * in_h * in_w, c, in_h, in_w, out_h, out_w,
                         o + i * static_cast<ssize_t>(out_h) * out_w);
    }
  }
  return std::move(out);
}

py::array resize_depth_py(py::handle depth, std::pair<long long, long long> size) {
  const auto [out_h, out_w] = size_pair(size, "size");
  auto a = as_array<float>(depth, "depth");
  if (a.ndim() < 2) invalid("depth must be (..., h, w), got shape " + shape_of(a));
  const ssize_t nd = a.ndim();
  const int in_h = to_int(a.shape(nd - 2), "height"), in_w = to_int(a.shape(nd - 1), "width");
  std::vector<ssize_t> shape(a.shape(), a.shape() + nd);
  shape[nd - 2] = out_h;
  shape[nd - 1] = out_w;
  py::array_t<float> out(shape);
  const int64_t planes = in_h * in_w == 0 ? 0 : a.size() / (int64_t{in_h} * in_w);
  float* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    k::resize_bilinear_plain(a.data(), planes, in_h, in_w, o, out_h, out_w);
  }
  return std::move(out);
}

py::array dense_to_image_py(py::handle map, std::pair<long long, long long> input_size,
                            py::handle transform, bool labels) {
  const auto [in_h, in_w] = size_pair(input_size, "input_size");
  auto a = as_array<float>(map, "map");
  if (a.ndim() != 3) invalid("map must be (C, h, w), got shape " + shape_of(a));
  const int h = to_int(a.shape(1), "height"), w = to_int(a.shape(2), "width");
  if (a.shape(0) < 1 || h < 1 || w < 1) invalid("map must not be empty");
  const Transform t = transform_from(transform, in_h, in_w);
  if (t.image_width < 1 || t.image_height < 1) invalid("the transform's image is empty");
  const ssize_t ih = t.image_height, iw = t.image_width;
  py::array out = labels ? py::array(py::array_t<int32_t>({ih, iw}))
                         : py::array(py::array_t<float>({a.shape(0), ih, iw}));
  {
    py::gil_scoped_release release;
    if (labels) {
      argus::decode::labels_at_image(a.data(), a.shape(0), h, w, in_h, in_w, t,
                                     static_cast<int32_t*>(out.mutable_data()));
    } else {
      argus::decode::values_at_image(a.data(), a.shape(0), h, w, in_h, in_w, t,
                                     static_cast<float*>(out.mutable_data()));
    }
  }
  return out;
}

py::tuple decode_heatmaps_py(py::handle heatmaps, std::pair<long long, long long> input_size,
                             py::handle warps, int blur_kernel, bool refine, int num_threads) {
  const auto [in_h, in_w] = size_pair(input_size, "input_size");
  auto hm = as_array<float>(heatmaps, "heatmaps", 4);
  const ssize_t n = hm.shape(0), kk = hm.shape(1);
  const int h = to_int(hm.shape(2), "heatmap height"), w = to_int(hm.shape(3), "heatmap width");
  std::optional<py::array_t<double, py::array::c_style>> wp;
  if (!warps.is_none()) {
    wp = as_array<double>(warps, "warps", 3);
    if (wp->shape(0) != n || wp->shape(1) != 2 || wp->shape(2) != 3) {
      invalid("warps must be (N, 2, 3) for N people, got " + shape_of(*wp));
    }
  }
  k::HeatmapDecodeParams p;
  p.input_h = in_h;
  p.input_w = in_w;
  p.blur_kernel = blur_kernel;
  p.refine = refine;
  p.num_threads = num_threads;
  py::array_t<float> kps({n, kk, ssize_t{2}}), scores({n, kk});
  float* kp_out = kps.mutable_data();
  float* score_out = scores.mutable_data();
  {
    py::gil_scoped_release release;
    k::decode_heatmaps(hm.data(), n, kk, h, w, wp ? wp->data() : nullptr, p, kp_out, score_out);
  }
  return py::make_tuple(kps, scores);
}

py::array fuse_flip_heatmaps_py(py::handle heatmaps, py::handle flipped, py::handle flip_index) {
  auto a = as_array<float>(heatmaps, "heatmaps", 4);
  auto b = as_array<float>(flipped, "flipped", 4);
  auto idx = as_array<int64_t>(flip_index, "flip_index", 1);
  for (int d = 0; d < 4; ++d) {
    if (a.shape(d) != b.shape(d)) {
      invalid("heatmaps " + shape_of(a) + " and flipped " + shape_of(b) + " differ in shape");
    }
  }
  if (idx.shape(0) != a.shape(1)) invalid("flip_index must have one entry per keypoint");
  py::array_t<float> out({a.shape(0), a.shape(1), a.shape(2), a.shape(3)});
  float* o = out.mutable_data();
  const int h = to_int(a.shape(2), "height"), w = to_int(a.shape(3), "width");
  {
    py::gil_scoped_release release;
    k::fuse_flip_heatmaps(a.data(), b.data(), a.shape(0), a.shape(1), h, w, idx.data(), o);
  }
  return std::move(out);
}

void register_detection_kernels(py::module_& m) {
  m.def("sigmoid", &sigmoid_py, py::arg("x"),
        "Correctly rounded float32 logistic function of any array.");
  m.def("anchor_points", &anchor_points_py, py::arg("input_hw"), py::arg("strides"),
        "Anchor points (N, 2) float32 of the dense head, in output order.");
  m.def("decode_boxes", &decode_boxes_py, py::arg("points"), py::arg("ltrb"), py::arg("input_hw"),
        "Points (N, 2) + ltrb (N, 4) -> xyxy (N, 4) float32 clipped to the input.");
  m.def("select_candidates", &select_candidates_py, py::arg("scores"),
        py::arg("score_threshold"), py::arg("topk"),
        "(point_index, label, score) of the (point, class) pairs above the threshold.");
  m.def("nms", &nms_py, py::arg("boxes"), py::arg("scores"), py::arg("labels") = py::none(),
        py::arg("iou_threshold") = 0.5, py::arg("class_agnostic") = false,
        py::arg("max_detections") = -1, py::arg("score_threshold") = py::none(),
        "Greedy NMS; int64 kept indices by descending score (ties: lower index).");
  m.def("decode_detections", &decode_detections_py, py::arg("cls_logits"), py::arg("box_ltrb"),
        py::arg("input_hw"), py::arg("strides"), py::kw_only(),
        py::arg("score_threshold") = 0.05f, py::arg("iou_threshold") = 0.6,
        py::arg("pre_nms_topk") = 1000, py::arg("max_detections") = 100,
        py::arg("class_agnostic") = false, py::arg("mask_coeffs") = py::none(),
        py::arg("protos") = py::none(), py::arg("mask_threshold") = 0.5,
        py::arg("transform") = py::none(),
        "Dense-head outputs of one image -> dict(boxes, scores, labels[, masks]).");
  m.def("assemble_mask_logits", &assemble_mask_logits_py, py::arg("coeffs"), py::arg("protos"),
        "(P, K) coefficients x (K, h, w) prototypes -> (P, h, w) float32 logits.");
  m.def("paste_masks", &paste_masks_py, py::arg("mask_logits"), py::arg("boxes"),
        py::arg("transform"), py::arg("mask_threshold") = 0.5,
        "Prototype-resolution logits -> (P, H_img, W_img) bool masks cropped to their boxes.");
}

void register_dense_kernels(py::module_& m) {
  m.def("semantic_argmax", &semantic_argmax_py, py::arg("logits"), py::arg("size"),
        "Argmax over classes of bilinearly resized logits -> int32 labels at size.");
  m.def("resize_depth", &resize_depth_py, py::arg("depth"), py::arg("size"),
        "Bilinear (align_corners=False, no antialias) resize of the last two axes.");
  m.def("dense_to_image", &dense_to_image_py, py::arg("map"), py::arg("input_size"),
        py::arg("transform"), py::arg("labels") = false,
        "A head's (C, h, w) map computed on the letterboxed input_size -> the image's pixels "
        "in one pass (the Session's label_map / value_map decoding): (H, W) int32 argmax "
        "labels, or (C, H, W) float32 values.");
  m.def("decode_heatmaps", &decode_heatmaps_py, py::arg("heatmaps"), py::arg("input_size"),
        py::arg("warps") = py::none(), py::arg("blur_kernel") = 11, py::arg("refine") = true,
        py::arg("num_threads") = 1,
        "UDP heatmaps (N, K, h, w) -> (keypoints (N, K, 2), scores (N, K)) float32.");
  m.def("fuse_flip_heatmaps", &fuse_flip_heatmaps_py, py::arg("heatmaps"), py::arg("flipped"),
        py::arg("flip_index"), "Flip-test fusion 0.5 * (h + flipped[:, flip_index, :, ::-1]).");
}

}  // namespace

void register_kernels(py::module_& m) {
  py::module_ kernels = m.def_submodule(
      "kernels", "Post-processing kernels: box decoding, NMS, masks, segmentation, heatmaps.");
  register_detection_kernels(kernels);
  register_dense_kernels(kernels);
}

}  // namespace argus::python
