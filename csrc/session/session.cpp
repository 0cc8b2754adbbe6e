// argus::Session: manifest reading and task scheduling; see session.h.
#include "session/session.h"

#include <algorithm>

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

  Impl(Bundle b, const SessionOptions& o) : bundle(std::move(b)), options(o) {}
  void read_preprocess();
  void read_tasks();
  std::string variant_of(const std::string& graph) const;
  void ensure_loaded(const std::string& graph);
  Tensors run_graph(const std::string& graph, const TensorViews& inputs);
  const Tensors& features(Frame& frame, const TaskSpec& task);
  void run_task(Frame& frame, const TaskSpec& task, Results& results);
  void run_pose(Frame& frame, const TaskSpec& task, const TaskResult& persons,
                TaskResult& out);
  Tensor pose_heatmaps(const TaskSpec& task, std::vector<float>& crops, int64_t n);
  void decode_pose(const TaskSpec& task, const Tensor& heatmaps,
                   const std::vector<double>& warps, TaskResult& out);
  const TaskResult& persons_for(Frame& frame, const TaskSpec& pose, Results& results,
                                TaskResult& scratch);
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

Tensors Session::Impl::run_graph(const std::string& graph, const TensorViews& inputs) {
  ensure_loaded(graph);
  return backend->run(graph, inputs);
}

const Tensors& Session::Impl::features(Frame& frame, const TaskSpec& task) {
  if (task.backbone.empty()) {
    throw Error(Status::Bundle, "task '" + task.name + "' has no backbone graph");
  }
  auto it = frame.features.find(task.backbone);
  if (it != frame.features.end()) return it->second;
  PreprocessParams params = norm;
  params.out_height = task.input_h;
  params.out_width = task.input_w;
  std::vector<float> planes(size_t(3) * task.input_h * task.input_w);
  Transform transform;
  preprocess(frame.image, params, planes.data(), &transform);
  frame.transforms[task.backbone] = transform;
  ensure_loaded(task.backbone);
  Tensors feats = run_backbone(*backend, task.backbone, planes, 1, task.input_h,
                               task.input_w, vit);
  return frame.features.emplace(task.backbone, std::move(feats)).first->second;
}

namespace {

TensorViews views_of(const Tensors& tensors) {
  TensorViews views;
  for (const auto& [name, t] : tensors) views[name] = TensorView{t.data.data(), t.shape};
  return views;
}

}  // namespace

void Session::Impl::run_task(Frame& frame, const TaskSpec& task, Results& results) {
  TaskResult out;
  out.task = task.name;
  if (task.name == "pose") {
    TaskResult scratch;
    const TaskResult& persons = persons_for(frame, task, results, scratch);
    run_pose(frame, task, persons, out);
  } else {
    const Tensors head = run_graph(task.graph, views_of(features(frame, task)));
    const Transform& transform = frame.transforms.at(task.backbone);
    if (task.name == "det") {
      decode_det(task, head, transform, false, out);
    } else if (task.name == "inst") {
      decode_det(task, head, transform, true, out);
    } else if (task.name == "sem" || task.name == "parts") {
      decode_sem(task, head, transform, out);
    } else if (task.name == "depth") {
      decode_depth(task, head, transform, out);
    } else if (task.name == "cls") {
      decode_cls(task, head, out);
    } else {
      throw Error(Status::UnknownTask, "task '" + task.name + "' has no decoder in libargus");
    }
  }
  results.tasks.push_back(std::move(out));
}

const TaskResult& Session::Impl::persons_for(Frame& frame, const TaskSpec& pose,
                                             Results& results, TaskResult& scratch) {
  const std::string source = string_or(pose.postprocess, "person_source", "det");
  if (const TaskResult* done = results.find(source)) return *done;
  auto it = tasks.find(source);
  if (it == tasks.end()) {
    throw Error(Status::UnknownTask, "pose needs person boxes from task '" + source +
                                         "', which the bundle does not have");
  }
  Results tmp;
  run_task(frame, it->second, tmp);
  scratch = std::move(tmp.tasks.front());
  return scratch;
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

void Session::Impl::run_pose(Frame& frame, const TaskSpec& task, const TaskResult& persons,
                             TaskResult& out) {
  const json::Value* pp = task.postprocess;
  const std::string source = string_or(pp, "person_source", "det");
  const int64_t label = class_index(*tasks.at(source).spec,
                                    string_or(pp, "person_class", "person"));
  const kernels::Detections& all = persons.detections;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all.labels[i] != label) continue;
    out.detections.boxes.push_back(all.boxes[i]);
    out.detections.scores.push_back(all.scores[i]);
    out.detections.labels.push_back(all.labels[i]);
    out.detections.point_index.push_back(all.point_index[i]);
  }
  const json::Value* names = task.spec->find("keypoints");
  out.num_keypoints = names && names->is_array() ? int64_t(names->size()) : 0;
  const int64_t n = int64_t(out.detections.size());
  if (n == 0) return;
  std::vector<double> warps;
  pose_warps(out.detections.boxes, task.input_h, task.input_w,
             number_or(pp, "box_padding", 1.25), warps);
  std::vector<float> crops;
  warp_crops(frame.image, warps, task.input_h, task.input_w, norm, crops);
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
  decode_pose(task, heatmaps, warps, out);
}

Tensor Session::Impl::pose_heatmaps(const TaskSpec& task, std::vector<float>& crops,
                                    int64_t n) {
  ensure_loaded(task.backbone);
  const Tensors feats = run_backbone(*backend, task.backbone, crops, n, task.input_h,
                                     task.input_w, vit);
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

Results Session::run(const ImageView& image, const std::vector<std::string>& tasks) {
  image.validate();
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
  // pose last, so that a requested det is decoded once and reused for the persons.
  std::stable_partition(specs.begin(), specs.end(),
                        [](const TaskSpec* s) { return s->name != "pose"; });
  Frame frame;
  frame.image = image;
  Results results;
  results.image_width = image.width;
  results.image_height = image.height;
  for (const TaskSpec* spec : specs) impl_->run_task(frame, *spec, results);
  std::vector<TaskResult> ordered;
  for (const std::string& name : tasks) {
    for (TaskResult& r : results.tasks) {
      if (r.task == name) ordered.push_back(std::move(r));
    }
  }
  results.tasks = std::move(ordered);
  return results;
}

}  // namespace argus
