// argus::Session: manifest reading and task scheduling; see session.h.
#include "session/session.h"

#include <algorithm>
#include <chrono>

#include "core/status.h"
#include "kernels/heatmaps.h"
#include "session/session_impl.h"

namespace argus {

using namespace session_detail;

const TaskResult* Results::find(const std::string& task) const {
  for (const TaskResult& r : tasks) {
    if (r.task == task) return &r;
  }
  return nullptr;
}

struct Session::Impl {
  Bundle bundle;
  SessionOptions options;
  std::unique_ptr<Backend> backend;
  PreprocessParams norm;  // mean / std / policy; sizes set per graph
  ViTScale vit;
  std::map<std::string, TaskSpec> tasks;
  std::mutex load_mutex;
  std::set<std::string> loaded;
  mutable std::mutex calls_mutex;
  std::map<std::string, int64_t> calls;
  std::map<std::string, double> seconds;

  Impl(Bundle b, const SessionOptions& o) : bundle(std::move(b)), options(o) {}
  void read_preprocess();
  void read_tasks();
  std::string variant_of(const std::string& graph) const;
  void ensure_loaded(const std::string& graph);
  void count(const std::string& graph, double seconds);
  Tensors run_graph(const std::string& graph, const TensorViews& inputs);
  Tensors backbone(const std::string& graph, std::vector<float>& planes, int64_t n, int h,
                   int w);
  const Tensors& features(Batch& batch, const TaskSpec& task);
  void run_head(Batch& batch, const TaskSpec& task, std::vector<Decoded>& out);
  void run_pose(Batch& batch, const TaskSpec& task, std::vector<Decoded>& decoded);
  Tensor pose_heatmaps(const TaskSpec& task, std::vector<float>& crops, int64_t n);
  void decode_pose(const TaskSpec& task, const Tensor& heatmaps,
                   const std::vector<double>& warps, TaskResult& out);
};

void Session::Impl::read_preprocess() {
  const json::Value* pre = bundle.manifest().find("preprocess");
  for (int c = 0; c < 3; ++c) {
    const json::Value* m = pre ? pre->find("mean") : nullptr;
    const json::Value* s = pre ? pre->find("std") : nullptr;
    if (m && m->is_array() && m->size() == 3) norm.mean[c] = float(m->at(c).as_double());
    if (s && s->is_array() && s->size() == 3) norm.std[c] = float(s->at(c).as_double());
  }
  const std::string resize = string_or(pre, "resize", "letterbox");
  if (resize != "letterbox" && resize != "stretch") {
    throw Error(Status::Bundle, "unknown preprocess resize '" + resize + "'");
  }
  norm.policy = resize == "stretch" ? ResizePolicy::Stretch : ResizePolicy::Letterbox;
  const std::vector<int64_t> scale = ints_or(pre, "vit_scale", {14, 16});
  if (scale.size() != 2 || scale[0] <= 0 || scale[1] <= 0) {
    throw Error(Status::Bundle, "preprocess vit_scale must be two positive ints");
  }
  vit = {int(scale[0]), int(scale[1])};
}

void Session::Impl::read_tasks() {
  const json::Value& all = bundle.tasks();
  for (const std::string& name : all.keys()) {
    const json::Value& t = all.at(name);
    TaskSpec spec;
    spec.name = name;
    spec.spec = &t;
    spec.graph = string_or(&t, "graph", "");
    spec.backbone = string_or(&t, "backbone", "");
    const json::Value* pp = t.find("postprocess");
    spec.postprocess = pp && pp->is_object() ? pp : nullptr;
    std::vector<int64_t> size = ints_or(&t, "input_size", {});
    if (size.empty()) size = ints_or(&bundle.graph(spec.graph), "input_size", {});
    if (size.size() != 2 || size[0] <= 0 || size[1] <= 0) {
      throw Error(Status::Bundle, "task '" + name + "' has no valid input_size");
    }
    spec.input_h = int(size[0]);
    spec.input_w = int(size[1]);
    spec.score_threshold = options.score_threshold;
    tasks.emplace(name, std::move(spec));
  }
}

std::string Session::Impl::variant_of(const std::string& graph) const {
  const json::Value* variants = bundle.graph(graph).find("variants");
  if (!variants || !variants->is_object()) {
    throw Error(Status::Bundle, "graph '" + graph + "' has no variants");
  }
  if (!options.variant.empty()) {
    if (!variants->find(options.variant)) {
      throw Error(Status::BackendUnavailable,
                  "graph '" + graph + "' has no variant '" + options.variant + "'");
    }
    return options.variant;
  }
  const std::string preferred = options.backend + "-fp32";
  if (variants->find(preferred)) return preferred;
  for (const std::string& name : variants->keys()) {
    if (string_or(&variants->at(name), "backend", "") == options.backend) return name;
  }
  throw Error(Status::BackendUnavailable,
              "graph '" + graph + "' has no variant for backend '" + options.backend + "'");
}

void Session::Impl::ensure_loaded(const std::string& graph) {
  std::lock_guard<std::mutex> lock(load_mutex);
  if (!loaded.count(graph)) {
    backend->load_graph(bundle, graph, variant_of(graph));
    loaded.insert(graph);
  }
}

void Session::Impl::count(const std::string& graph, double s) {
  std::lock_guard<std::mutex> lock(calls_mutex);
  ++calls[graph];
  seconds[graph] += s;
}

namespace {
double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

Tensors Session::Impl::run_graph(const std::string& graph, const TensorViews& inputs) {
  ensure_loaded(graph);
  const auto start = std::chrono::steady_clock::now();
  Tensors out = backend->run(graph, inputs);
  count(graph, since(start));
  return out;
}

Tensors Session::Impl::backbone(const std::string& graph, std::vector<float>& planes,
                                int64_t n, int h, int w) {
  ensure_loaded(graph);
  double seconds = 0.0;
  Tensors out = run_backbone(*backend, graph, planes, n, h, w, vit, &seconds);
  count(graph, seconds);
  return out;
}

const Tensors& Session::Impl::features(Batch& batch, const TaskSpec& task) {
  if (task.backbone.empty()) {
    throw Error(Status::Bundle, "task '" + task.name + "' has no backbone graph");
  }
  auto it = batch.features.find(task.backbone);
  if (it != batch.features.end()) return it->second;
  PreprocessParams params = norm;
  params.out_height = task.input_h;
  params.out_width = task.input_w;
  const size_t n = batch.images.size();
  const size_t plane = size_t(3) * task.input_h * task.input_w;
  std::vector<float> planes(n * plane);
  std::vector<Transform>& transforms = batch.transforms[task.backbone];
  transforms.assign(n, Transform{});
  for (size_t i = 0; i < n; ++i) {
    preprocess(batch.images[i], params, planes.data() + i * plane, &transforms[i]);
  }
  Tensors feats = backbone(task.backbone, planes, int64_t(n), task.input_h, task.input_w);
  return batch.features.emplace(task.backbone, std::move(feats)).first->second;
}

namespace {

TensorViews views_of(const Tensors& tensors) {
  TensorViews views;
  for (const auto& [name, t] : tensors) views[name] = TensorView{t.data.data(), t.shape};
  return views;
}

}  // namespace

void Session::Impl::run_head(Batch& batch, const TaskSpec& task, std::vector<Decoded>& out) {
  const Tensors head = run_graph(task.graph, views_of(features(batch, task)));
  const int64_t n = int64_t(batch.images.size());
  for (int64_t i = 0; i < n; ++i) {
    const Tensors one = n == 1 ? Tensors{} : slice_batch(head, i, n);
    const Tensors& h = n == 1 ? head : one;
    const Transform& transform = batch.transforms.at(task.backbone)[size_t(i)];
    TaskResult r;
    r.task = task.name;
    if (task.name == "det") {
      decode_det(task, h, transform, false, r);
    } else if (task.name == "inst") {
      decode_det(task, h, transform, true, r);
    } else if (task.name == "sem" || task.name == "parts") {
      decode_sem(task, h, transform, r);
    } else if (task.name == "depth") {
      decode_depth(task, h, transform, r);
    } else if (task.name == "cls") {
      decode_cls(task, h, r);
    } else {
      throw Error(Status::UnknownTask, "task '" + task.name + "' has no decoder in libargus");
    }
    out[size_t(i)][task.name] = std::move(r);
  }
}

namespace {

// Index of `name` in task `source`'s classes.
int64_t class_index(const json::Value& source, const std::string& name) {
  const json::Value* classes = source.find("classes");
  if (classes && classes->is_array()) {
    for (size_t i = 0; i < classes->size(); ++i) {
      const json::Value& c = classes->at(i);
      if (c.is_string() && c.as_string() == name) return int64_t(i);
    }
  }
  throw Error(Status::Bundle, "pose: the person task has no class '" + name + "'");
}

// `owner`'s flip_pairs [[a, b], ...] (0-based) -> the permutation swapping each pair.
std::vector<int64_t> flip_index(const json::Value* owner, int64_t k) {
  std::vector<int64_t> index(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) index[i] = i;
  const json::Value* pairs = owner ? owner->find("flip_pairs") : nullptr;
  if (!pairs || !pairs->is_array()) return index;
  for (const json::Value& pair : pairs->items()) {
    if (!pair.is_array() || pair.size() != 2) throw Error(Status::Bundle, "bad flip_pairs");
    const int64_t a = pair.at(size_t(0)).as_int(), b = pair.at(size_t(1)).as_int();
    if (a < 0 || b < 0 || a >= k || b >= k) throw Error(Status::Bundle, "bad flip_pairs");
    std::swap(index[a], index[b]);
  }
  return index;
}

}  // namespace

void Session::Impl::run_pose(Batch& batch, const TaskSpec& task,
                             std::vector<Decoded>& decoded) {
  const json::Value* pp = task.postprocess;
  const std::string source = string_or(pp, "person_source", "det");
  const int64_t label = class_index(*tasks.at(source).spec,
                                    string_or(pp, "person_class", "person"));
  const json::Value* names = task.spec->find("keypoints");
  const int64_t num_names = names && names->is_array() ? int64_t(names->size()) : 0;
  // Person boxes of every image; the crops of all images run as one batch.
  std::vector<double> warps;
  std::vector<float> crops;
  std::vector<size_t> first(batch.images.size() + 1, 0);
  for (size_t i = 0; i < batch.images.size(); ++i) {
    TaskResult out;
    out.task = task.name;
    out.num_keypoints = num_names;
    const kernels::Detections& all = decoded[i].at(source).detections;
    for (size_t j = 0; j < all.size(); ++j) {
      if (all.labels[j] != label) continue;
      out.detections.boxes.push_back(all.boxes[j]);
      out.detections.scores.push_back(all.scores[j]);
      out.detections.labels.push_back(all.labels[j]);
      out.detections.point_index.push_back(all.point_index[j]);
    }
    first[i + 1] = first[i] + out.detections.size();
    if (out.detections.size() > 0) {
      std::vector<double> w;
      std::vector<float> c;
      pose_warps(out.detections.boxes, task.input_h, task.input_w,
                 number_or(pp, "box_padding", 1.25), w);
      warp_crops(batch.images[i], w, task.input_h, task.input_w, norm, c);
      warps.insert(warps.end(), w.begin(), w.end());
      crops.insert(crops.end(), c.begin(), c.end());
    }
    decoded[i][task.name] = std::move(out);
  }
  const int64_t n = int64_t(first.back());
  if (n == 0) return;
  Tensor heatmaps = pose_heatmaps(task, crops, n);
  const json::Value* flip = pp ? pp->find("flip_test") : nullptr;
  if (flip && flip->is_bool() && flip->as_bool()) {
    flip_crops(crops, n * 3, task.input_h, task.input_w);
    const Tensor flipped = pose_heatmaps(task, crops, n);
    const json::Value* pairs_owner = task.spec->find("flip_pairs") ? task.spec : pp;
    const std::vector<int64_t> index = flip_index(pairs_owner, heatmaps.dim(1));
    kernels::fuse_flip_heatmaps(heatmaps.data.data(), flipped.data.data(), n,
                                heatmaps.dim(1), int(heatmaps.dim(2)), int(heatmaps.dim(3)),
                                index.data(), heatmaps.data.data());
  }
  TaskResult all;
  decode_pose(task, heatmaps, warps, all);
  const size_t k = size_t(all.num_keypoints);
  for (size_t i = 0; i < batch.images.size(); ++i) {
    TaskResult& out = decoded[i][task.name];
    out.num_keypoints = all.num_keypoints;
    out.keypoints.assign(all.keypoints.begin() + ptrdiff_t(first[i] * k * 2),
                         all.keypoints.begin() + ptrdiff_t(first[i + 1] * k * 2));
    out.keypoint_scores.assign(all.keypoint_scores.begin() + ptrdiff_t(first[i] * k),
                               all.keypoint_scores.begin() + ptrdiff_t(first[i + 1] * k));
  }
}

Tensor Session::Impl::pose_heatmaps(const TaskSpec& task, std::vector<float>& crops,
                                    int64_t n) {
  const Tensors feats = backbone(task.backbone, crops, n, task.input_h, task.input_w);
  const Tensors head = run_graph(task.graph, views_of(feats));
  const Tensor& heatmaps = output(head, "heatmaps", 4, true);
  if (heatmaps.dim(0) != n) throw Error(Status::Internal, "pose batch size mismatch");
  return heatmaps;
}

void Session::Impl::decode_pose(const TaskSpec& task, const Tensor& heatmaps,
                                const std::vector<double>& warps, TaskResult& out) {
  const json::Value* pp = task.postprocess;
  kernels::HeatmapDecodeParams params;
  params.input_h = task.input_h;
  params.input_w = task.input_w;
  params.blur_kernel = int(number_or(pp, "blur_kernel", 11));
  params.refine = string_or(pp, "refine", "dark") == "dark";
  const int64_t n = heatmaps.dim(0), k = heatmaps.dim(1);
  out.num_keypoints = k;
  out.keypoints.resize(size_t(n * k * 2));
  out.keypoint_scores.resize(size_t(n * k));
  kernels::decode_heatmaps(heatmaps.data.data(), n, k, int(heatmaps.dim(2)),
                           int(heatmaps.dim(3)), warps.data(), params, out.keypoints.data(),
                           out.keypoint_scores.data());
}

Session::Session(const std::string& bundle_path, const SessionOptions& options)
    : impl_(std::make_unique<Impl>(Bundle::open(bundle_path), options)) {
  impl_->backend = create_backend(options.backend, options.backend_options);
  impl_->read_preprocess();
  impl_->read_tasks();
}

Session::Session(const std::string& bundle_path, std::unique_ptr<Backend> backend,
                 const SessionOptions& options)
    : impl_(std::make_unique<Impl>(Bundle::open(bundle_path), options)) {
  if (!backend) throw Error(Status::InvalidArgument, "backend is null");
  impl_->backend = std::move(backend);
  impl_->options.backend = impl_->backend->name();
  impl_->read_preprocess();
  impl_->read_tasks();
}

Session::~Session() = default;

std::vector<std::string> Session::tasks() const {
  std::vector<std::string> names;
  for (const auto& [name, spec] : impl_->tasks) names.push_back(name);
  return names;
}

std::vector<std::string> Session::class_names(const std::string& task) const {
  auto it = impl_->tasks.find(task);
  if (it == impl_->tasks.end()) throw Error(Status::UnknownTask, "unknown task '" + task + "'");
  std::vector<std::string> names;
  const json::Value* classes = it->second.spec->find("classes");
  if (classes && classes->is_array()) {
    for (const json::Value& c : classes->items()) names.push_back(c.is_string() ? c.as_string() : "");
  }
  return names;
}

std::string Session::backend_name() const { return impl_->backend->name(); }

const json::Value& Session::manifest() const { return impl_->bundle.manifest(); }

std::map<std::string, int64_t> Session::graph_calls() const {
  std::lock_guard<std::mutex> lock(impl_->calls_mutex);
  return impl_->calls;
}

std::map<std::string, double> Session::graph_seconds() const {
  std::lock_guard<std::mutex> lock(impl_->calls_mutex);
  return impl_->seconds;
}

void Session::reset_graph_calls() {
  std::lock_guard<std::mutex> lock(impl_->calls_mutex);
  impl_->calls.clear();
  impl_->seconds.clear();
}

Results Session::run(const ImageView& image, const std::vector<std::string>& tasks) {
  return std::move(run_batch({image}, tasks).front());
}

std::vector<Results> Session::run_batch(const std::vector<ImageView>& images,
                                        const std::vector<std::string>& tasks) {
  if (images.empty()) throw Error(Status::InvalidArgument, "no image given");
  for (const ImageView& image : images) image.validate();
  if (tasks.empty()) throw Error(Status::UnknownTask, "no task requested");
  std::vector<const TaskSpec*> specs;
  for (const std::string& name : tasks) {
    auto it = impl_->tasks.find(name);
    if (it == impl_->tasks.end()) {
      throw Error(Status::UnknownTask, "the bundle has no task '" + name + "'");
    }
    for (const TaskSpec* s : specs) {
      if (s->name == name) throw Error(Status::InvalidArgument, "task '" + name + "' repeated");
    }
    specs.push_back(&it->second);
  }
  // The heads to run: the requested ones but pose, plus pose's person source (decoded
  // once, returned only when requested); pose last, on those boxes.
  const TaskSpec* pose = nullptr;
  std::vector<const TaskSpec*> heads;
  for (const TaskSpec* s : specs) {
    if (s->name == "pose") {
      pose = s;
    } else {
      heads.push_back(s);
    }
  }
  if (pose) {
    const std::string source = string_or(pose->postprocess, "person_source", "det");
    auto it = impl_->tasks.find(source);
    if (it == impl_->tasks.end()) {
      throw Error(Status::UnknownTask, "pose needs person boxes from task '" + source +
                                           "', which the bundle does not have");
    }
    if (std::none_of(heads.begin(), heads.end(),
                     [&](const TaskSpec* s) { return s->name == source; })) {
      heads.push_back(&it->second);
    }
  }
  Batch batch;
  batch.images = images;
  std::vector<Decoded> decoded(images.size());
  for (const TaskSpec* spec : heads) impl_->run_head(batch, *spec, decoded);
  if (pose) impl_->run_pose(batch, *pose, decoded);
  std::vector<Results> results(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    results[i].image_width = images[i].width;
    results[i].image_height = images[i].height;
    for (const std::string& name : tasks) {
      results[i].tasks.push_back(std::move(decoded[i].at(name)));
    }
  }
  return results;
}

}  // namespace argus
