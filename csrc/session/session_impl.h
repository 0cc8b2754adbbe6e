// Internals of argus::Session shared by session*.cpp (not installed).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/bundle.h"
#include "core/preprocess.h"
#include "session/session.h"

namespace argus::session_detail {

// One task of the manifest, resolved.
struct TaskSpec {
  std::string name;
  std::string graph;
  std::string backbone;  // "" when the head takes the image itself
  int input_h = 0;
  int input_w = 0;
  const json::Value* spec = nullptr;         // the task object
  const json::Value* postprocess = nullptr;  // its "postprocess" object, or null
  double score_threshold = -1.0;             // SessionOptions override (< 0: none)
};

// Per-run state: the images of a batch and their backbone features, computed once per
// backbone graph for the whole batch.
// The decoded results of one image, by task.
using Decoded = std::map<std::string, TaskResult>;

struct Batch {
  std::vector<ImageView> images;
  std::map<std::string, Tensors> features;                 // by backbone graph name
  std::map<std::string, std::vector<Transform>> transforms;  // image -> input, per image
};

// Manifest readers with defaults (a wrong type is a Bundle error).
double number_or(const json::Value* object, const char* key, double fallback);
std::vector<int64_t> ints_or(const json::Value* object, const char* key,
                             std::vector<int64_t> fallback);
std::string string_or(const json::Value* object, const char* key, const std::string& fallback);

// Backbone inputs `images` (n,3,h,w) and `vit_images` (n,3,h/s*p,w/s*p) from normalized
// planes; runs the backbone graph.
struct ViTScale {
  int patch = 14;
  int stride = 16;
};
// `seconds` receives the time spent in backend.run (the graph alone).
Tensors run_backbone(Backend& backend, const std::string& graph, std::vector<float>& planes,
                     int64_t n, int h, int w, ViTScale vit, double* seconds);

// Decoders of one head's outputs into `out` (session_decode.cpp).
void decode_det(const TaskSpec& task, const Tensors& head, const Transform& transform, bool masks,
                TaskResult& out);
void decode_sem(const TaskSpec& task, const Tensors& head, const Transform& transform,
                TaskResult& out);
void decode_depth(const TaskSpec& task, const Tensors& head, const Transform& transform,
                  TaskResult& out);
void decode_cls(const TaskSpec& task, const Tensors& head, TaskResult& out);

// Image `i` of every batched tensor of `outputs` (batch n), as batch-1 tensors.
Tensors slice_batch(const Tensors& outputs, int64_t i, int64_t n);

// The tensor `name` of `outputs` with `rank` dims and batch 1 unless `any_batch`.
const Tensor& output(const Tensors& outputs, const std::string& name, size_t rank,
                     bool any_batch = false);

// Pose crops (session_pose.cpp): image -> crop affines of `boxes` and the normalized
// crops (n,3,h,w); `flip` mirrors the crops horizontally.
void pose_warps(const std::vector<Box>& boxes, int crop_h, int crop_w, double padding,
                std::vector<double>& warps);
void warp_crops(const ImageView& image, const std::vector<double>& warps, int crop_h,
                int crop_w, const PreprocessParams& norm, std::vector<float>& crops);
void flip_crops(std::vector<float>& crops, int64_t planes, int h, int w);

}  // namespace argus::session_detail
