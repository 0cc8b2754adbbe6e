// Session helpers: manifest readers, the backbone run and the per-task decoders.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/resize.h"
#include "core/status.h"
#include "kernels/segmentation.h"
#include "session/session_impl.h"

namespace argus::session_detail {

double number_or(const json::Value* object, const char* key, double fallback) {
  const json::Value* v = object ? object->find(key) : nullptr;
  if (!v || v->is_null()) return fallback;
  if (!v->is_number()) throw Error(Status::Bundle, v->path() + " must be a number");
  return v->as_double();
}

std::vector<int64_t> ints_or(const json::Value* object, const char* key,
                             std::vector<int64_t> fallback) {
  const json::Value* v = object ? object->find(key) : nullptr;
  if (!v || v->is_null()) return fallback;
  if (!v->is_array()) throw Error(Status::Bundle, v->path() + " must be an array of ints");
  std::vector<int64_t> out;
  for (const json::Value& item : v->items()) {
    if (!item.is_integer()) throw Error(Status::Bundle, item.path() + " must be an int");
    out.push_back(item.as_int());
  }
  return out;
}

std::string string_or(const json::Value* object, const char* key, const std::string& fallback) {
  const json::Value* v = object ? object->find(key) : nullptr;
  if (!v || v->is_null()) return fallback;
  if (!v->is_string()) throw Error(Status::Bundle, v->path() + " must be a string");
  return v->as_string();
}

const Tensor& output(const Tensors& outputs, const std::string& name, size_t rank,
                     bool any_batch) {
  auto it = outputs.find(name);
  if (it == outputs.end()) throw Error(Status::Bundle, "graph has no output '" + name + "'");
  const Tensor& t = it->second;
  if (t.shape.size() != rank || (!any_batch && t.shape[0] != 1)) {
    throw Error(Status::Internal, "output '" + name + "' has an unexpected shape");
  }
  return t;
}

Tensors slice_batch(const Tensors& outputs, int64_t i, int64_t n) {
  Tensors out;
  for (const auto& [name, t] : outputs) {
    if (t.shape.empty() || t.shape[0] != n) {
      throw Error(Status::Internal, "output '" + name + "' does not have the batch size");
    }
    const size_t per = t.data.size() / size_t(n);
    Tensor s;
    s.shape = t.shape;
    s.shape[0] = 1;
    s.data.assign(t.data.begin() + ptrdiff_t(per * size_t(i)),
                  t.data.begin() + ptrdiff_t(per * size_t(i + 1)));
    out.emplace(name, std::move(s));
  }
  return out;
}

Tensors run_backbone(Backend& backend, const std::string& graph, std::vector<float>& planes,
                     int64_t n, int h, int w, ViTScale vit, double* seconds) {
  const int vh = h / vit.stride * vit.patch;
  const int vw = w / vit.stride * vit.patch;
  if (vh <= 0 || vw <= 0) throw Error(Status::Bundle, "input too small for the ViT rescale");
  std::vector<float> vit_planes(size_t(n) * 3 * vh * vw);
  resize_bilinear_aa(planes.data(), n * 3, h, w, vit_planes.data(), vh, vw);
  TensorViews inputs;
  inputs["images"] = TensorView{planes.data(), {n, 3, h, w}};
  inputs["vit_images"] = TensorView{vit_planes.data(), {n, 3, vh, vw}};
  const auto start = std::chrono::steady_clock::now();
  Tensors out = backend.run(graph, inputs);
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

void decode_det(const TaskSpec& task, const Tensors& head, const Transform& transform,
                bool masks, TaskResult& out) {
  const Tensor& logits = output(head, "cls_logits", 3);
  const Tensor& ltrb = output(head, "box_ltrb", 3);
  const json::Value* pp = task.postprocess;
  kernels::DetectionParams params;
  params.score_threshold = float(task.score_threshold >= 0.0
                                     ? task.score_threshold
                                     : number_or(pp, "score_threshold", params.score_threshold));
  params.iou_threshold = number_or(pp, "iou_threshold", params.iou_threshold);
  params.pre_nms_topk = int64_t(number_or(pp, "pre_nms_topk", double(params.pre_nms_topk)));
  params.max_detections =
      int64_t(number_or(pp, "max_detections", double(params.max_detections)));
  const json::Value* agnostic = pp ? pp->find("class_agnostic") : nullptr;
  params.class_agnostic = agnostic && agnostic->is_bool() && agnostic->as_bool();
  std::vector<int> strides;
  for (int64_t s : ints_or(pp, "strides", {8, 16, 32})) strides.push_back(int(s));
  kernels::DenseHeadOutputs dense{logits.data.data(), ltrb.data.data(), logits.dim(1),
                                  logits.dim(2)};
  out.detections = kernels::decode_detections(dense, task.input_h, task.input_w, strides,
                                              params, transform);
  if (!masks) return;
  const Tensor& coeffs = output(head, "mask_coeffs", 3);
  const Tensor& protos = output(head, "protos", 4);
  kernels::MaskHeadOutputs mask_out{coeffs.data.data(), protos.data.data(), coeffs.dim(1),
                                    coeffs.dim(2)};
  out.map_height = transform.image_height;
  out.map_width = transform.image_width;
  out.masks.resize(out.detections.size() * size_t(out.map_height) * size_t(out.map_width));
  kernels::instance_masks(mask_out, task.input_h, task.input_w, out.detections, transform,
                          number_or(pp, "mask_threshold", 0.5), out.masks.data());
}

namespace {

// The (c, h, w) head map resized to the input, cropped to where the image lies in it:
// (c, rh, rw) planes covering exactly the image (letterbox padding removed).
std::vector<float> image_region(const Tensor& map, const TaskSpec& task,
                                const Transform& transform, int& rh, int& rw) {
  const int64_t c = map.dim(1);
  const int h = int(map.dim(2)), w = int(map.dim(3));
  std::vector<float> full(size_t(c) * task.input_h * task.input_w);
  kernels::resize_bilinear_plain(map.data.data(), c, h, w, full.data(), task.input_h,
                                 task.input_w);
  const int x0 = std::clamp(int(std::lround(transform.offset_x)), 0, task.input_w - 1);
  const int y0 = std::clamp(int(std::lround(transform.offset_y)), 0, task.input_h - 1);
  rw = std::clamp(int(std::lround(float(transform.image_width) * transform.scale_x)), 1,
                  task.input_w - x0);
  rh = std::clamp(int(std::lround(float(transform.image_height) * transform.scale_y)), 1,
                  task.input_h - y0);
  std::vector<float> region(size_t(c) * rh * rw);
  for (int64_t p = 0; p < c; ++p) {
    for (int y = 0; y < rh; ++y) {
      const float* src = full.data() + (p * task.input_h + y0 + y) * task.input_w + x0;
      std::copy(src, src + rw, region.data() + (p * rh + y) * rw);
    }
  }
  return region;
}

}  // namespace

void decode_sem(const TaskSpec& task, const Tensors& head, const Transform& transform,
                TaskResult& out) {
  const Tensor& logits = output(head, "logits", 4);
  int rh = 0, rw = 0;
  const std::vector<float> region = image_region(logits, task, transform, rh, rw);
  out.map_height = transform.image_height;
  out.map_width = transform.image_width;
  out.label_map.resize(size_t(out.map_height) * out.map_width);
  kernels::semantic_argmax(region.data(), logits.dim(1), rh, rw, out.map_height,
                           out.map_width, out.label_map.data());
}

void decode_depth(const TaskSpec& task, const Tensors& head, const Transform& transform,
                  TaskResult& out) {
  const Tensor& depth = output(head, "depth", 4);
  if (depth.dim(1) != 1) throw Error(Status::Internal, "depth output must have 1 channel");
  int rh = 0, rw = 0;
  const std::vector<float> region = image_region(depth, task, transform, rh, rw);
  out.map_height = transform.image_height;
  out.map_width = transform.image_width;
  out.value_map.resize(size_t(out.map_height) * out.map_width);
  kernels::resize_bilinear_plain(region.data(), 1, rh, rw, out.value_map.data(),
                                 out.map_height, out.map_width);
}

void decode_cls(const TaskSpec& task, const Tensors& head, TaskResult& out) {
  const Tensor& logits = output(head, "logits", 2);
  const int64_t c = logits.dim(1);
  const float* x = logits.data.data();
  const float peak = *std::max_element(x, x + c);
  std::vector<double> probs(static_cast<size_t>(c));
  double sum = 0.0;
  for (int64_t i = 0; i < c; ++i) sum += probs[i] = std::exp(double(x[i]) - peak);
  std::vector<int64_t> order(static_cast<size_t>(c));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return probs[a] > probs[b]; });
  const int64_t k = std::min<int64_t>(c, int64_t(number_or(task.postprocess, "topk", 5)));
  for (int64_t i = 0; i < k; ++i) {
    out.class_labels.push_back(order[i]);
    out.class_scores.push_back(float(probs[order[i]] / sum));
  }
}

}  // namespace argus::session_detail
