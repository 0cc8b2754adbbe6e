// argus::Session: opening (backend choice, task plans) and scheduling; see session.h.
#include "session/session.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "core/preprocess.h"
#include "core/resize.h"
#include "core/status.h"
#include "session/decoder.h"
#include "session/manifest_read.h"

namespace argus {

namespace {

// One task, ready to run (decoder set) or not (error set).
struct TaskPlan {
  TaskSpec spec;
  std::shared_ptr<const DecoderKind> kind;
  std::unique_ptr<const TaskDecoder> decoder;
  std::string error;
};

struct ViTScale {
  int patch = 14;
  int stride = 16;
};

// Per-run state: the images of a batch, their backbone features (once per backbone and
// input size), and every task's results so far.
struct Batch {
  std::vector<ImageView> images;
  std::map<std::string, Tensors> features;
  std::map<std::string, std::vector<Transform>> transforms;
  std::map<std::string, std::vector<TaskResult>> decoded;
  double preprocess_s = 0.0, graphs_s = 0.0;  // this batch's time in each stage
};

std::string feature_key(const TaskSpec& spec) {
  return spec.backbone + "@" + std::to_string(spec.input_h) + "x" + std::to_string(spec.input_w);
}

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string describe(const std::vector<ArraySpec>& specs) {
  std::string out;
  for (const ArraySpec& s : specs) {
    out += (out.empty() ? "" : ", ") + s.name + " " + dtype_name(s.dtype) + "[";
    for (size_t i = 0; i < s.dims.size(); ++i) out += (i ? "," : "") + s.dims[i];
    out += "]";
  }
  return out;
}

bool same_arrays(const std::vector<ArraySpec>& a, const std::vector<ArraySpec>& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](const ArraySpec& x, const ArraySpec& y) {
           return x.name == y.name && x.dtype == y.dtype && x.dims == y.dims;
         });
}

// Throws Error(Internal) unless `r` holds exactly the arrays its kind declares.
void check_result(const TaskResult& r, const std::vector<ArraySpec>& declared) {
  bool ok = r.arrays.size() == declared.size();
  for (size_t i = 0; ok && i < declared.size(); ++i) {
    const ResultArray& a = r.arrays[i];
    ok = a.name == declared[i].name && a.dtype() == declared[i].dtype &&
         a.shape.size() == declared[i].dims.size();
  }
  if (!ok) {
    std::string got;
    for (const ResultArray& a : r.arrays) got += (got.empty() ? "" : ", ") + a.name;
    throw Error(Status::Internal, "the '" + r.kind + "' decoder of task '" + r.task +
                                      "' returned [" + got + "], not its declared " +
                                      describe(declared));
  }
}

}  // namespace

struct Session::Impl {
  Bundle bundle;
  SessionOptions options;
  TaskTable table;
  BackendChoice choice;
  std::unique_ptr<Backend> backend;
  PreprocessParams norm;  // mean / std / policy; sizes set per task
  ViTScale vit;
  std::map<std::string, TaskPlan> plans;
  std::mutex load_mutex;
  std::set<std::string> loaded;
  mutable std::mutex calls_mutex;
  std::map<std::string, int64_t> calls;
  std::map<std::string, double> seconds;
  std::map<std::string, double> stages;  // preprocess / graphs / decode seconds

  Impl(Bundle b, const SessionOptions& o) : bundle(std::move(b)), options(o) {}
  void check_options() const;
  void read_preprocess();
  void open_backend(const HostBackends& host);
  void plan_tasks();
  void check_needs(TaskPlan& plan) const;
  void find_cycles();
  const TaskPlan& plan(const std::string& task) const;
  std::vector<const TaskPlan*> schedule(const std::vector<std::string>& requested) const;
  void count(const std::string& graph, double s);
  void count_stages(const Batch& batch, double total);
  void ensure_loaded(const std::string& graph);
  Tensors run_graph(const std::string& graph, const TensorViews& inputs, Batch& batch);
  Tensors run_backbone(const std::string& graph, std::vector<float>& planes, int64_t n, int h,
                       int w, Batch& batch);
  const Tensors& features(Batch& batch, const TaskSpec& spec);
  void run_task(Batch& batch, const TaskPlan& plan);
  // Throughput mode: how many parts run_batch splits `images` into, each its own request.
  size_t requests_in_flight(size_t images) const;
  size_t parallel_requests() const;
  std::vector<Results> run_part(const std::vector<ImageView>& images,
                                const std::vector<std::string>& tasks);
  class Context;
};

// The TaskContext of one task in one batch.
class Session::Impl::Context final : public TaskContext {
 public:
  Context(Impl& impl, Batch& batch, const TaskPlan& plan)
      : impl_(impl), batch_(batch), spec_(plan.spec) {}

  size_t batch_size() const override { return batch_.images.size(); }
  const ImageView& image(size_t i) const override { return batch_.images.at(i); }
  const Tensors& features() override { return impl_.features(batch_, spec_); }
  const Transform& transform(size_t i) override {
    features();
    return batch_.transforms.at(feature_key(spec_)).at(i);
  }
  Tensors run_head(const TensorViews& inputs) override {
    return impl_.run_graph(spec_.graph, inputs, batch_);
  }
  Tensors run_backbone(std::vector<float>& planes, int64_t n) override {
    if (spec_.backbone.empty()) {
      throw Error(Status::Bundle, "task '" + spec_.name + "' has no backbone graph");
    }
    return impl_.run_backbone(spec_.backbone, planes, n, spec_.input_h, spec_.input_w, batch_);
  }
  const PreprocessParams& normalization() const override { return impl_.norm; }
  const TaskResult& needed(size_t need, size_t i) const override {
    return batch_.decoded.at(spec_.needs.at(need).task).at(i);
  }

 private:
  Impl& impl_;
  Batch& batch_;
  const TaskSpec& spec_;
};

void Session::Impl::check_options() const {
  const BackendOptions& b = options.backend_options;
  if (b.threads < 0) {
    throw Error(Status::InvalidArgument,
                "threads must be a non-negative int, got " + std::to_string(b.threads));
  }
  if (b.streams < 0) {
    throw Error(Status::InvalidArgument,
                "streams must be a non-negative int, got " + std::to_string(b.streams));
  }
  if (std::isnan(options.score_threshold) || options.score_threshold > 1.0) {
    throw Error(Status::InvalidArgument, "score_threshold must be <= 1 and not NaN");
  }
  if (!b.performance.empty() && b.performance != "latency" && b.performance != "throughput") {
    throw Error(Status::InvalidArgument, "performance must be 'latency', 'throughput' or "
                                         "empty, got '" + b.performance + "'");
  }
}

size_t Session::Impl::requests_in_flight(size_t images) const {
  return std::max<size_t>(1, std::min(images, parallel_requests()));
}

size_t Session::Impl::parallel_requests() const {
  if (options.backend_options.performance != "throughput") return 1;
  const int streams = options.backend_options.streams;
  return streams > 0 ? static_cast<size_t>(streams)
                     : std::max(1u, std::thread::hardware_concurrency());
}

void Session::Impl::read_preprocess() {
  const json::Value* pre = manifest::object_or_null(&bundle.manifest(), "preprocess");
  for (const char* key : {"mean", "std"}) {
    const json::Value* v = pre ? pre->find(key) : nullptr;
    if (!v || !v->is_array() || v->size() != 3) continue;
    for (size_t c = 0; c < 3; ++c) {
      (key[0] == 'm' ? norm.mean : norm.std)[c] = static_cast<float>(v->at(c).as_double());
    }
  }
  const std::string resize = manifest::string_or(pre, "resize", "letterbox");
  if (resize != "letterbox" && resize != "stretch") {
    throw Error(Status::Bundle, "unknown preprocess resize '" + resize + "'");
  }
  norm.policy = resize == "stretch" ? ResizePolicy::Stretch : ResizePolicy::Letterbox;
  const std::vector<int64_t> scale = manifest::ints_or(pre, "vit_scale", {14, 16});
  if (scale.size() != 2 || scale[0] <= 0 || scale[1] <= 0 || scale[0] > 1024 ||
      scale[1] > 1024) {
    throw Error(Status::Bundle, "preprocess vit_scale must be two ints in 1..1024");
  }
  vit = {static_cast<int>(scale[0]), static_cast<int>(scale[1])};
}

void Session::Impl::open_backend(const HostBackends& host) {
  std::set<std::string> used;
  for (const TaskSpec& t : table.tasks) {
    used.insert(t.graph);
    if (!t.backbone.empty()) used.insert(t.backbone);
  }
  HostAvailability available = host.unavailable;
  for (const auto& [name, factory] : host.factories) available[name] = "";
  BackendRequest request{options.backend, options.precision, options.variant,
                         options.backend_options.device, options.accept_failed_gate};
  choice = choose_backend(bundle, std::vector<std::string>(used.begin(), used.end()), request,
                          available);
  BackendOptions engine = options.backend_options;
  engine.precision_hint = choice.hint;
  const BackendInfo& info = *BackendRegistry::global().find(choice.backend);
  backend = info.create ? info.create(engine) : host.factories.at(choice.backend)(engine);
  if (!backend) throw Error(Status::BackendUnavailable, "backend '" + choice.backend + "' failed");
}

void Session::Impl::plan_tasks() {
  DecoderOptions decoder_options;
  decoder_options.score_threshold = options.score_threshold;
  for (const TaskSpec& spec : table.tasks) {
    TaskPlan& plan = plans[spec.name];
    plan.spec = spec;
    plan.kind = DecoderRegistry::global().find(spec.kind);
    if (!plan.kind) {
      plan.error = spec.kind.empty()
                       ? "it names no decoder kind (re-export it with this argus-edge)"
                       : "its decoder kind '" + spec.kind + "' is not one this libargus "
                         "provides (it has: " + [] {
                           std::string k;
                           for (const std::string& n : DecoderRegistry::global().names()) {
                             k += (k.empty() ? "" : ", ") + n;
                           }
                           return k;
                         }() + ")";
      continue;
    }
    if (!spec.declared.empty() && !same_arrays(spec.declared, plan.kind->results)) {
      plan.error = "it declares the results " + describe(spec.declared) + ", but kind '" +
                   spec.kind + "' of this libargus returns " + describe(plan.kind->results);
      continue;
    }
    try {
      plan.decoder = plan.kind->create(spec, decoder_options);
    } catch (const Error& e) {
      plan.error = e.what();
    }
  }
  for (auto& [name, plan] : plans) check_needs(plan);
  find_cycles();
}

void Session::Impl::check_needs(TaskPlan& plan) const {
  for (const TaskNeed& need : plan.spec.needs) {
    auto it = plans.find(need.task);
    if (it == plans.end()) {
      plan.error = "it needs task '" + need.task + "', which the bundle does not have";
    } else if (!it->second.kind) {
      plan.error = "it needs task '" + need.task + "', whose kind is unknown";
    } else {
      for (const std::string& array : need.arrays) {
        const auto& results = it->second.kind->results;
        if (std::none_of(results.begin(), results.end(),
                         [&](const ArraySpec& s) { return s.name == array; })) {
          plan.error = "it needs array '" + array + "' of task '" + need.task +
                       "', whose kind '" + it->second.spec.kind + "' has none";
        }
      }
    }
    if (!plan.error.empty()) plan.decoder.reset();
  }
}

void Session::Impl::find_cycles() {
  // Depth-first over needs; a task met again while on the path closes a cycle.
  std::map<std::string, int> state;  // 0 new, 1 on the path, 2 done
  std::function<bool(const std::string&)> visit = [&](const std::string& name) {
    if (state[name] == 2 || !plans.count(name)) return false;
    if (state[name] == 1) return true;
    state[name] = 1;
    bool cycle = false;
    for (const TaskNeed& need : plans.at(name).spec.needs) cycle |= visit(need.task);
    state[name] = 2;
    if (cycle) {
      plans.at(name).error = "its needs form a cycle";
      plans.at(name).decoder.reset();
    }
    return cycle;
  };
  for (const auto& [name, plan] : plans) visit(name);
}

const TaskPlan& Session::Impl::plan(const std::string& task) const {
  auto it = plans.find(task);
  if (it == plans.end()) {
    std::string known;
    for (const auto& [name, p] : plans) known += (known.empty() ? "'" : ", '") + name + "'";
    throw Error(Status::UnknownTask, "the bundle has no task '" + task + "' (it has " +
                                         (known.empty() ? "none" : known) + ")");
  }
  return it->second;
}

std::vector<const TaskPlan*> Session::Impl::schedule(
    const std::vector<std::string>& requested) const {
  std::vector<const TaskPlan*> order;
  std::set<std::string> seen;
  std::function<void(const std::string&)> add = [&](const std::string& name) {
    if (!seen.insert(name).second) return;
    const TaskPlan& p = plan(name);
    if (!p.decoder) {
      throw Error(Status::Bundle, "task '" + name + "' cannot run: " + p.error);
    }
    for (const TaskNeed& need : p.spec.needs) add(need.task);
    order.push_back(&p);
  };
  for (const std::string& name : requested) add(name);
  return order;
}

void Session::Impl::count(const std::string& graph, double s) {
  std::lock_guard<std::mutex> lock(calls_mutex);
  ++calls[graph];
  seconds[graph] += s;
}

void Session::Impl::count_stages(const Batch& batch, double total) {
  std::lock_guard<std::mutex> lock(calls_mutex);
  stages["preprocess"] += batch.preprocess_s;
  stages["graphs"] += batch.graphs_s;
  stages["decode"] += std::max(0.0, total - batch.preprocess_s - batch.graphs_s);
}

void Session::Impl::ensure_loaded(const std::string& graph) {
  std::lock_guard<std::mutex> lock(load_mutex);
  if (!loaded.count(graph)) {
    backend->load_graph(bundle, graph, choice.variants.at(graph));
    loaded.insert(graph);
  }
}

Tensors Session::Impl::run_graph(const std::string& graph, const TensorViews& inputs,
                                 Batch& batch) {
  const auto load = std::chrono::steady_clock::now();
  ensure_loaded(graph);  // a first use's compile counts in the stage, not graph_seconds
  const auto start = std::chrono::steady_clock::now();
  Tensors out = backend->run(graph, inputs);
  const double s = since(start);
  count(graph, s);
  batch.graphs_s += since(load);
  return out;
}

Tensors Session::Impl::run_backbone(const std::string& graph, std::vector<float>& planes,
                                    int64_t n, int h, int w, Batch& batch) {
  const int vh = h / vit.stride * vit.patch;
  const int vw = w / vit.stride * vit.patch;
  if (vh <= 0 || vw <= 0) throw Error(Status::Bundle, "input too small for the ViT rescale");
  const auto start = std::chrono::steady_clock::now();
  std::vector<float> vit_planes(static_cast<size_t>(n) * 3 * vh * vw);
  resize_bilinear_aa(planes.data(), n * 3, h, w, vit_planes.data(), vh, vw);
  batch.preprocess_s += since(start);
  TensorViews inputs;
  inputs["images"] = TensorView{planes.data(), {n, 3, h, w}};
  inputs["vit_images"] = TensorView{vit_planes.data(), {n, 3, vh, vw}};
  return run_graph(graph, inputs, batch);
}

const Tensors& Session::Impl::features(Batch& batch, const TaskSpec& spec) {
  if (spec.backbone.empty()) {
    throw Error(Status::Bundle, "task '" + spec.name + "' has no backbone graph");
  }
  const std::string key = feature_key(spec);
  auto it = batch.features.find(key);
  if (it != batch.features.end()) return it->second;
  PreprocessParams params = norm;
  params.out_height = spec.input_h;
  params.out_width = spec.input_w;
  const size_t n = batch.images.size();
  const size_t plane = size_t(3) * spec.input_h * spec.input_w;
  std::vector<float> planes(n * plane);
  std::vector<Transform>& transforms = batch.transforms[key];
  transforms.assign(n, Transform{});
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) {
    preprocess(batch.images[i], params, planes.data() + i * plane, &transforms[i]);
  }
  batch.preprocess_s += since(start);
  Tensors feats = run_backbone(spec.backbone, planes, static_cast<int64_t>(n), spec.input_h,
                               spec.input_w, batch);
  return batch.features.emplace(key, std::move(feats)).first->second;
}

void Session::Impl::run_task(Batch& batch, const TaskPlan& plan) {
  std::vector<TaskResult> out(batch.images.size());
  for (TaskResult& r : out) {
    r.task = plan.spec.name;
    r.kind = plan.spec.kind;
  }
  Context context(*this, batch, plan);
  plan.decoder->run(context, out);
  for (const TaskResult& r : out) check_result(r, plan.kind->results);
  batch.decoded[plan.spec.name] = std::move(out);
}

Session::Session(const std::string& bundle_path, const SessionOptions& options,
                 const HostBackends& host)
    : impl_(std::make_unique<Impl>(Bundle::open(bundle_path), options)) {
  impl_->check_options();
  impl_->read_preprocess();
  impl_->table = read_tasks(impl_->bundle);
  impl_->open_backend(host);
  impl_->plan_tasks();
}

Session::~Session() = default;

std::vector<std::string> Session::tasks() const {
  std::vector<std::string> names;
  for (const auto& [name, plan] : impl_->plans) names.push_back(name);
  return names;
}

std::vector<std::string> Session::runnable_tasks() const {
  std::vector<std::string> names;
  for (const auto& [name, plan] : impl_->plans) {
    if (plan.decoder) names.push_back(name);
  }
  return names;
}

const TaskSpec& Session::task(const std::string& name) const { return impl_->plan(name).spec; }

const std::vector<ArraySpec>& Session::task_results(const std::string& name) const {
  static const std::vector<ArraySpec> kNone;
  const TaskPlan& p = impl_->plan(name);
  return p.kind ? p.kind->results : kNone;
}

std::string Session::task_input(const std::string& name) const {
  const TaskPlan& p = impl_->plan(name);
  return p.decoder ? p.decoder->input() : "";
}

std::string Session::task_error(const std::string& name) const {
  return impl_->plan(name).error;
}

std::vector<std::string> Session::class_names(const std::string& task) const {
  return impl_->plan(task).spec.classes;
}

const BackendChoice& Session::choice() const { return impl_->choice; }

size_t Session::parallel_requests() const { return impl_->parallel_requests(); }

std::string Session::backend_name() const { return impl_->backend->name(); }

const Bundle& Session::bundle() const { return impl_->bundle; }

const json::Value& Session::manifest() const { return impl_->bundle.manifest(); }

std::map<std::string, int64_t> Session::graph_calls() const {
  std::lock_guard<std::mutex> lock(impl_->calls_mutex);
  return impl_->calls;
}

std::map<std::string, double> Session::graph_seconds() const {
  std::lock_guard<std::mutex> lock(impl_->calls_mutex);
  return impl_->seconds;
}

std::map<std::string, double> Session::stage_seconds() const {
  std::lock_guard<std::mutex> lock(impl_->calls_mutex);
  std::map<std::string, double> out = {{"preprocess", 0.0}, {"graphs", 0.0}, {"decode", 0.0}};
  for (const auto& [stage, s] : impl_->stages) out[stage] = s;
  return out;
}

void Session::reset_graph_calls() {
  std::lock_guard<std::mutex> lock(impl_->calls_mutex);
  impl_->calls.clear();
  impl_->seconds.clear();
  impl_->stages.clear();
}

Results Session::run(const ImageView& image, const std::vector<std::string>& tasks) {
  return std::move(run_batch({image}, tasks).front());
}

void Session::check_tasks(const std::vector<std::string>& tasks) const {
  if (tasks.empty()) throw Error(Status::UnknownTask, "no task requested");
  for (size_t i = 0; i < tasks.size(); ++i) {
    impl_->plan(tasks[i]);  // UnknownTask first, then repeats
    if (std::find(tasks.begin(), tasks.begin() + static_cast<ptrdiff_t>(i), tasks[i]) !=
        tasks.begin() + static_cast<ptrdiff_t>(i)) {
      throw Error(Status::InvalidArgument, "task '" + tasks[i] + "' repeated");
    }
  }
  impl_->schedule(tasks);  // Bundle: a task (or one it needs) that cannot run
}

std::vector<Results> Session::run_batch(const std::vector<ImageView>& images,
                                        const std::vector<std::string>& tasks) {
  if (images.empty()) throw Error(Status::InvalidArgument, "no image given");
  for (const ImageView& image : images) image.validate();
  check_tasks(tasks);
  const size_t parts = impl_->requests_in_flight(images.size());
  if (parts == 1) return impl_->run_part(images, tasks);
  // Throughput mode: contiguous parts of the batch, each run as its own request on its
  // own thread (the engine's streams run them at once), results in image order.
  std::vector<std::vector<Results>> done(parts);
  std::vector<std::exception_ptr> errors(parts);
  std::vector<std::thread> threads;
  const size_t n = images.size();
  auto part = [&](size_t p) {
    try {
      const auto first = images.begin() + static_cast<ptrdiff_t>(p * n / parts);
      const auto last = images.begin() + static_cast<ptrdiff_t>((p + 1) * n / parts);
      done[p] = impl_->run_part(std::vector<ImageView>(first, last), tasks);
    } catch (...) {
      errors[p] = std::current_exception();
    }
  };
  for (size_t p = 1; p < parts; ++p) {
    try {
      threads.emplace_back(part, p);
    } catch (...) {  // no thread (resources): run the part here instead
      part(p);
    }
  }
  part(0);
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  std::vector<Results> results;
  for (std::vector<Results>& part : done) {
    for (Results& r : part) results.push_back(std::move(r));
  }
  return results;
}

std::vector<Results> Session::Impl::run_part(const std::vector<ImageView>& images,
                                             const std::vector<std::string>& tasks) {
  const auto start = std::chrono::steady_clock::now();
  Batch batch;
  batch.images = images;
  for (const TaskPlan* plan : schedule(tasks)) run_task(batch, *plan);
  count_stages(batch, since(start));
  std::vector<Results> results(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    results[i].image_width = images[i].width;
    results[i].image_height = images[i].height;
    for (const std::string& name : tasks) {
      results[i].tasks.push_back(std::move(batch.decoded.at(name)[i]));
    }
  }
  return results;
}

}  // namespace argus
