// Kind "topdown_keypoints": top-down pose. Needs one task whose results hold boxes,
// scores and labels (need fields: "class", the class name of the people, default
// "person"; "crop": {"padding"}, default 1.25). Each box of that class is padded to the
// crop's aspect and warped (UDP affine) into a crop of the task's input size; the crops
// of the whole batch run through the task's backbone and head as one batch (twice with
// "flip_test": the mirrored crops, fused with the "flip_pairs" swapped); heatmaps are
// decoded with argmax + DARK ("refine": "dark", "blur_kernel" 11) back to image pixels.
// Results: boxes (n, 4), scores (n), labels (n) of the people, keypoints (n, k, 3) with
// x, y in image pixels and the heatmap maximum; k is the number of "keypoints" names
// (the heatmaps' channels when people were found).
#include <algorithm>

#include "core/status.h"
#include "kernels/heatmaps.h"
#include "session/crops.h"
#include "session/decoder.h"
#include "session/dense_head.h"
#include "session/manifest_read.h"

namespace argus::decoders {

namespace {

// `pairs` [[a, b], ...] (0-based) as the permutation of 0..k-1 swapping each pair.
std::vector<int64_t> flip_index(const json::Value* params, int64_t k) {
  std::vector<int64_t> index(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) index[static_cast<size_t>(i)] = i;
  const json::Value* pairs = params ? params->find("flip_pairs") : nullptr;
  if (!pairs || !pairs->is_array()) return index;
  for (const json::Value& pair : pairs->items()) {
    if (!pair.is_array() || pair.size() != 2) throw Error(Status::Bundle, "bad flip_pairs");
    const int64_t a = pair.at(size_t(0)).as_int(), b = pair.at(size_t(1)).as_int();
    if (a < 0 || b < 0 || a >= k || b >= k) throw Error(Status::Bundle, "bad flip_pairs");
    std::swap(index[static_cast<size_t>(a)], index[static_cast<size_t>(b)]);
  }
  return index;
}

class TopdownKeypoints final : public TaskDecoder {
 public:
  explicit TopdownKeypoints(const TaskSpec& spec);
  void run(TaskContext& context, std::vector<TaskResult>& out) const override;
  const char* input() const noexcept override { return "crops"; }

 private:
  // The people of image i (boxes, scores, labels of the needed task's person class).
  kernels::Detections people(const TaskContext& context, size_t i) const;
  Tensor heatmaps(TaskContext& context, std::vector<float>& crops, int64_t n) const;

  TaskSpec spec_;
  int64_t person_label_ = -1;
  double padding_ = 1.25;
  bool flip_test_ = false;
  int64_t num_names_ = 0;
  kernels::HeatmapDecodeParams decode_;
};

TopdownKeypoints::TopdownKeypoints(const TaskSpec& spec) : spec_(spec) {
  if (spec.needs.size() != 1) {
    throw Error(Status::Bundle, "task '" + spec.name + "': a topdown_keypoints task needs "
                                "exactly one task that gives boxes");
  }
  const TaskNeed& need = spec.needs.front();
  const std::string person = manifest::string_or(need.entry, "class", "person");
  const auto it = std::find(need.classes.begin(), need.classes.end(), person);
  if (it == need.classes.end()) {
    throw Error(Status::Bundle, "task '" + spec.name + "': its person task '" + need.task +
                                    "' has no class '" + person + "'");
  }
  person_label_ = it - need.classes.begin();
  padding_ = manifest::number_or(manifest::object_or_null(need.entry, "crop"), "padding", 1.25);
  if (!(padding_ > 0.0 && padding_ < 100.0)) {
    throw Error(Status::Bundle, "task '" + spec.name + "': crop padding must be in (0, 100)");
  }
  flip_test_ = manifest::bool_or(spec.params, "flip_test", false);
  num_names_ = static_cast<int64_t>(manifest::strings_or(spec.params, "keypoints", {}).size());
  decode_.input_h = spec.input_h;
  decode_.input_w = spec.input_w;
  const double blur = manifest::number_or(spec.params, "blur_kernel", 11);
  if (!(blur >= 1 && blur <= 99)) {
    throw Error(Status::Bundle, "task '" + spec.name + "': blur_kernel must be in 1..99");
  }
  decode_.blur_kernel = static_cast<int>(blur);
  decode_.refine = manifest::string_or(spec.params, "refine", "dark") == "dark";
}

kernels::Detections TopdownKeypoints::people(const TaskContext& context, size_t i) const {
  const TaskResult& source = context.needed(0, i);
  const std::vector<float>& boxes = source.at("boxes").values<float>();
  const std::vector<float>& scores = source.at("scores").values<float>();
  const std::vector<int64_t>& labels = source.at("labels").values<int64_t>();
  kernels::Detections out;
  for (size_t j = 0; j < labels.size(); ++j) {
    if (labels[j] != person_label_) continue;
    out.boxes.push_back(Box{boxes[4 * j], boxes[4 * j + 1], boxes[4 * j + 2], boxes[4 * j + 3]});
    out.scores.push_back(scores[j]);
    out.labels.push_back(labels[j]);
  }
  return out;
}

Tensor TopdownKeypoints::heatmaps(TaskContext& context, std::vector<float>& crops,
                                  int64_t n) const {
  const Tensors features = context.run_backbone(crops, n);
  Tensors head = context.run_head(decode::views_of(features));
  Tensor maps = decode::output(head, "heatmaps", 4, true);
  if (maps.dim(0) != n) throw Error(Status::Internal, "pose batch size mismatch");
  return maps;
}

void TopdownKeypoints::run(TaskContext& context, std::vector<TaskResult>& out) const {
  const size_t images = context.batch_size();
  std::vector<kernels::Detections> found(images);
  std::vector<double> warps;
  std::vector<float> crops;
  for (size_t i = 0; i < images; ++i) {
    found[i] = people(context, i);
    if (found[i].size() == 0) continue;
    std::vector<double> w;
    std::vector<float> c;
    decode::crop_warps(found[i].boxes, spec_.input_h, spec_.input_w, padding_, w);
    decode::warp_crops(context.image(i), w, spec_.input_h, spec_.input_w,
                       context.normalization(), c);
    warps.insert(warps.end(), w.begin(), w.end());
    crops.insert(crops.end(), c.begin(), c.end());
  }
  const int64_t n = static_cast<int64_t>(warps.size() / 6);
  int64_t k = num_names_;
  std::vector<float> points, scores;
  if (n > 0) {
    Tensor maps = heatmaps(context, crops, n);
    k = maps.dim(1);
    if (flip_test_) {
      decode::flip_crops(crops, n * 3, spec_.input_h, spec_.input_w);
      const Tensor flipped = heatmaps(context, crops, n);
      const std::vector<int64_t> index = flip_index(spec_.params, k);
      kernels::fuse_flip_heatmaps(maps.data.data(), flipped.data.data(), n, k,
                                  static_cast<int>(maps.dim(2)), static_cast<int>(maps.dim(3)),
                                  index.data(), maps.data.data());
    }
    points.resize(static_cast<size_t>(n * k * 2));
    scores.resize(static_cast<size_t>(n * k));
    kernels::decode_heatmaps(maps.data.data(), n, k, static_cast<int>(maps.dim(2)),
                             static_cast<int>(maps.dim(3)), warps.data(), decode_,
                             points.data(), scores.data());
  }
  size_t first = 0;  // the first person of image i in the batch
  for (size_t i = 0; i < images; ++i) {
    const size_t m = found[i].size();
    std::vector<float> keypoints(m * static_cast<size_t>(k) * 3);
    for (size_t j = 0; j < m * static_cast<size_t>(k); ++j) {
      const size_t src = first * static_cast<size_t>(k) + j;
      keypoints[3 * j] = points[2 * src];
      keypoints[3 * j + 1] = points[2 * src + 1];
      keypoints[3 * j + 2] = scores[src];
    }
    decode::add_detections(found[i], out[i]);
    out[i].add(ResultArray::of("keypoints", {static_cast<int64_t>(m), k, 3},
                               std::move(keypoints)));
    first += m;
  }
}

}  // namespace

void register_topdown_keypoints(DecoderRegistry& registry) {
  std::vector<ArraySpec> results = decode::detection_arrays();
  results.push_back({"keypoints", DType::Float32, {"n", "k", "3"}});
  registry.add({"topdown_keypoints", std::move(results),
                [](const TaskSpec& spec, const DecoderOptions&) {
                  return std::make_unique<TopdownKeypoints>(spec);
                }});
}

}  // namespace argus::decoders
