// argus::Session: one bundle, one backend, the task scheduling of DESIGN.md §1.
//
//   argus::Session session("model.engine");
//   argus::Results r = session.run(image, {"det", "sem"});
//   const argus::ResultArray& boxes = r.find("det")->at("boxes");
//
// Opening verifies the bundle, reads its tasks (task_spec.h), chooses the backend, the
// variant of every graph and the inference precision (backend_choice.h: the one rule the
// C API and Python share) and creates each task's decoder from its kind (decoder.h).
// run() validates the image and the task list, adds the tasks the requested ones need
// (run but not returned), orders them by their needs, preprocesses each image once per
// backbone (letterbox/stretch, mean/std, the 14/16 ViT rescale), runs every backbone
// graph the tasks use once per batch, then each task's decoder, which runs its head and
// turns the outputs into named typed arrays in image pixels.
//
// Tasks whose kind this libargus does not know, whose params are malformed or whose needs
// cannot be met do not stop the Session from opening: running them is an error that says
// why (task_error()).
//
// Ownership: the Session owns the bundle mapping, the compiled graphs and the decoders;
// Results own their data. Thread safety: run() may be called from several threads at once
// (graphs are compiled on first use under a lock; backends and decoders are thread-safe).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/bundle.h"
#include "core/image.h"
#include "core/json.h"
#include "session/backend_choice.h"
#include "session/result.h"
#include "session/task_spec.h"

namespace argus {

// How to open a Session; the same rule for every API (the C API's argus_session_params_t
// and argus_edge.Session map onto it).
struct SessionOptions {
  std::string backend = "auto";  // a backend registry name, or "auto"
  std::string precision;         // "" (most precise variant), "fp32", "fp16", "int8", "bf16"
  std::string variant;           // "": chosen by precision; else this variant of every graph
  // Engine settings: device, threads (>= 0), streams (>= 0), performance ("latency",
  // "throughput" or ""), extensions. The precision hint is set from the backend choice.
  BackendOptions backend_options;
  // Score threshold of the kinds that have one, in [0, 1]; < 0: the bundle's.
  double score_threshold = -1.0;
  // Run variants whose manifest records a failed INT8 accuracy gate (else GateFailed).
  bool accept_failed_gate = false;
};

// Backends a host application provides beside libargus's own (the Python binding's ONNX
// Runtime runner): factories by registry name, and names it cannot provide with why.
struct HostBackends {
  std::map<std::string, BackendFactory> factories;
  std::map<std::string, std::string> unavailable;
};

class Session {
 public:
  // Opens and verifies the bundle, chooses the backend and prepares the tasks (graphs
  // compile on first use). Throws Error(Bundle) / BundleNotFoundError for the file,
  // Error(InvalidArgument) for bad options (unknown backend or precision name, negative
  // threads or streams, a score threshold above 1 or NaN), Error(BackendUnavailable)
  // when no backend is eligible, Error(GateFailed) when the variants it would run failed
  // their INT8 accuracy gate and the options do not accept that.
  explicit Session(const std::string& bundle_path, const SessionOptions& options = {},
                   const HostBackends& host = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Task keys the bundle provides (sorted), and those of them that can run.
  std::vector<std::string> tasks() const;
  std::vector<std::string> runnable_tasks() const;
  // The task `name`; throws Error(UnknownTask) if the bundle has none.
  const TaskSpec& task(const std::string& name) const;
  // The arrays each result of `name` holds (its kind's declaration; empty when the kind
  // is unknown to this libargus).
  const std::vector<ArraySpec>& task_results(const std::string& name) const;
  // What its head runs on: "image" or "crops" ("" when it cannot run).
  std::string task_input(const std::string& name) const;
  // "" when `name` can run, else why not.
  std::string task_error(const std::string& name) const;
  // Class names of a task ("classes" of the manifest; empty if none).
  std::vector<std::string> class_names(const std::string& task) const;

  // The backend choice: backend, variants, precision and hint.
  const BackendChoice& choice() const;
  // Name of the backend running the graphs.
  std::string backend_name() const;
  // The bundle (manifest, version, path; valid while the Session lives).
  const Bundle& bundle() const;
  const json::Value& manifest() const;

  // Checks `tasks` as run() does: Error(UnknownTask) for a task not in the bundle (or an
  // empty list), Error(InvalidArgument) for a repeat, Error(Bundle) for a task that cannot
  // run (task_error()), naming it.
  void check_tasks(const std::vector<std::string>& tasks) const;

  // Throws Error(UnknownTask) for a task not in the bundle (or empty `tasks`),
  // Error(InvalidArgument) for a repeated task, Error(Image) for an unusable image,
  // Error(Bundle) for a task that cannot run (task_error()).
  Results run(const ImageView& image, const std::vector<std::string>& tasks);
  // Several images as one batch (each backbone and head runs once with batch n; crops of
  // all images run as one batch). With performance "throughput" the batch is split into
  // parts run at once as separate requests (one per stream: `streams`, else one per
  // hardware thread). Results in the order of `images`. Same errors as run() plus
  // Error(InvalidArgument) for an empty `images`.
  std::vector<Results> run_batch(const std::vector<ImageView>& images,
                                 const std::vector<std::string>& tasks);
  // Requests the session runs at once: 1, or in throughput mode one per stream.
  size_t parallel_requests() const;

  // How many times each graph has run since the Session was created (or since
  // reset_graph_calls): each backbone once per batch, each requested head once, the pose
  // graphs once per batch of crops (twice with flip test); and the wall-clock seconds
  // spent inside the backend for them.
  std::map<std::string, int64_t> graph_calls() const;
  std::map<std::string, double> graph_seconds() const;
  // Seconds run_batch spent in each stage since creation (or reset_graph_calls), summed
  // over calls and threads: "preprocess" (letterbox + normalization, the ViT rescale),
  // "graphs" (the backend, graph compilation on first use included) and "decode"
  // (everything else: decoding, crops, result arrays).
  std::map<std::string, double> stage_seconds() const;
  void reset_graph_calls();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace argus
