// argus::Session: one bundle, one backend, the task scheduling of DESIGN.md §1.
//
//   argus::Session session("model.engine");
//   argus::Results r = session.run(image, {"det", "sem"});
//
// run() preprocesses the image per the manifest (letterbox/stretch, mean/std, the 14/16
// ViT rescale), runs each backbone graph the requested tasks need once, then only the
// requested heads, and decodes their outputs with the kernels into image-pixel results.
// `pose` is top-down: person boxes come from `det` (run even when not requested; only
// requested tasks are returned), each box is padded by the manifest's box_padding to the
// pose input's aspect and warped (UDP affine) into a crop; all crops run as one batch.
// run_batch() runs several images as one batch through the backbone and each head.
//
// Backends: the one named in SessionOptions::backend (created by create_backend), or one
// the caller supplies (e.g. the Python binding's ONNX Runtime backend); the Session picks
// each graph's variant for that backend's name().
//
// Ownership: the Session owns the bundle mapping and the compiled graphs; Results own
// their data. Thread safety: run() may be called from several threads at once (graphs
// are compiled on first use under a lock; the backend's run() is thread-safe).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/image.h"
#include "core/json.h"
#include "kernels/detections.h"

namespace argus {

struct SessionOptions {
  std::string backend = "openvino";  // engine of the variants to run
  std::string variant;               // variant name; "": "<backend>-fp32", else the first
  BackendOptions backend_options;
  // det/inst score threshold; < 0: the bundle's postprocess.score_threshold.
  double score_threshold = -1.0;
};

// The decoded output of one task; which fields are filled depends on the task.
struct TaskResult {
  std::string task;
  // det, inst, pose (the person boxes): boxes in image pixels, scores, labels.
  kernels::Detections detections;
  std::vector<uint8_t> masks;        // inst: (n, map_height, map_width) 0/1 bytes
  std::vector<int32_t> label_map;    // sem: (map_height, map_width) class indices
  std::vector<float> value_map;      // depth: (map_height, map_width) values
  int map_height = 0;                // image height for inst/sem/depth, else 0
  int map_width = 0;
  std::vector<int64_t> class_labels;  // cls: top-k class indices, best first
  std::vector<float> class_scores;    // cls: their softmax probabilities
  int64_t num_keypoints = 0;          // pose: k
  std::vector<float> keypoints;       // pose: (n, k, 2) x, y in image pixels
  std::vector<float> keypoint_scores;  // pose: (n, k) heatmap maxima
};

struct Results {
  int image_width = 0;
  int image_height = 0;
  std::vector<TaskResult> tasks;  // in the order they were requested

  // The result of `task`, or null.
  const TaskResult* find(const std::string& task) const;
};

class Session {
 public:
  // Opens and verifies the bundle and creates the backend (graphs compile on first use).
  // Throws Error(Bundle) / BundleNotFoundError, Error(BackendUnavailable).
  Session(const std::string& bundle_path, const SessionOptions& options = {});
  // The same with a caller-supplied backend (options.backend is ignored; the variants
  // are chosen for backend->name()). Throws Error(InvalidArgument) for a null backend.
  Session(const std::string& bundle_path, std::unique_ptr<Backend> backend,
          const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Task keys the bundle provides (sorted).
  std::vector<std::string> tasks() const;
  // Class names of a task ("classes" of the manifest; empty if none).
  std::vector<std::string> class_names(const std::string& task) const;

  // Name of the backend running the graphs ("openvino", ...).
  std::string backend_name() const;
  // The bundle's manifest (valid while the Session lives).
  const json::Value& manifest() const;

  // Throws Error(UnknownTask) for a task not in the bundle (or empty `tasks`),
  // Error(InvalidArgument) for a repeated task, Error(Image) for an unusable image.
  Results run(const ImageView& image, const std::vector<std::string>& tasks);
  // Several images as one batch (backbone and heads run once with batch n; pose crops of
  // all images run as one batch). Results in the order of `images`. Same errors as run()
  // plus Error(InvalidArgument) for an empty `images`.
  std::vector<Results> run_batch(const std::vector<ImageView>& images,
                                 const std::vector<std::string>& tasks);

  // How many times each graph has run since the Session was created (or since
  // reset_graph_calls): the backbone once per batch, each requested head once, the pose
  // graphs once per batch of crops (twice with flip test).
  std::map<std::string, int64_t> graph_calls() const;
  // Wall-clock seconds spent inside the backend per graph over the same calls.
  std::map<std::string, double> graph_seconds() const;
  void reset_graph_calls();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace argus
