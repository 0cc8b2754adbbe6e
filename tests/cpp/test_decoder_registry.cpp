// A task kind added at run time, end to end, without touching any dispatch code: two toy
// decoder kinds are registered in the C++ DecoderRegistry, a bundle whose manifest names
// them (tests/cpp/test_capi_fixture.py writes toy.engine: the tiny bundle plus task "toy"
// of kind "toy_logits" on the cls head, and task "counter" of kind "toy_count", which
// needs "det"), run through the C++ Session and read back through the C API's generic
// accessors (argus_result_array and the enumeration calls).
//
//   test_decoder_registry TOY_BUNDLE
#include <argus/argus.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "session/decoder.h"
#include "session/session.h"

namespace {

using argus::ArraySpec;
using argus::DType;
using argus::ResultArray;
using argus::TaskResult;

// "toy_logits": the head's raw logits and their argmax.
class ToyLogits final : public argus::ImageHeadDecoder {
 public:
  using ImageHeadDecoder::ImageHeadDecoder;

 private:
  void decode_image(const argus::Tensors& head, const argus::Transform&,
                    TaskResult& out) const override {
    const argus::Tensor& logits = argus::decode::sole_output(head, spec(), 2);
    std::vector<float> values = logits.data;
    const int64_t top = std::max_element(values.begin(), values.end()) - values.begin();
    const int64_t c = static_cast<int64_t>(values.size());
    out.add(ResultArray::of("logits", {c}, std::move(values)));
    out.add(ResultArray::of("top", {1}, std::vector<int64_t>{top}));
  }
};

// "toy_count": how many boxes the task it needs found (runs no graph).
class ToyCount final : public argus::TaskDecoder {
 public:
  void run(argus::TaskContext& context, std::vector<TaskResult>& out) const override {
    for (size_t i = 0; i < context.batch_size(); ++i) {
      const int64_t n = context.needed(0, i).at("boxes").shape[0];
      out[i].add(ResultArray::of("count", {1}, std::vector<int64_t>{n}));
    }
  }
};

void register_toys() {
  argus::DecoderRegistry& registry = argus::DecoderRegistry::global();
  registry.add({"toy_logits",
                {{"logits", DType::Float32, {"c"}}, {"top", DType::Int64, {"1"}}},
                [](const argus::TaskSpec& spec, const argus::DecoderOptions&) {
                  return std::make_unique<ToyLogits>(spec);
                }});
  registry.add({"toy_count", {{"count", DType::Int64, {"1"}}},
                [](const argus::TaskSpec&, const argus::DecoderOptions&) {
                  return std::make_unique<ToyCount>();
                }});
}

std::vector<unsigned char> g_pixels(60 * 80 * 3);

argus_image_t image() {
  argus_image_t im;
  std::memset(&im, 0, sizeof im);
  im.data = g_pixels.data();
  im.width = 80;
  im.height = 60;
  im.stride = 80 * 3;
  im.format = ARGUS_PIXEL_RGB8;
  return im;
}

// Before the kinds exist: the session opens, the toy tasks say why they cannot run.
void check_unknown_kind(const char* bundle) {
  argus_session_t* s = nullptr;
  CHECK(argus_session_create(bundle, nullptr, &s) == ARGUS_STATUS_OK);
  const char* tasks[] = {"toy"};
  const char* others[] = {"cls", "det"};
  argus_result_t* r = nullptr;
  CHECK(argus_session_run(s, nullptr, tasks, 1, &r) == ARGUS_STATUS_INVALID_ARGUMENT);
  const argus_image_t im = image();
  CHECK(argus_session_run(s, &im, tasks, 1, &r) == ARGUS_STATUS_BUNDLE && r == nullptr);
  CHECK(std::strstr(argus_last_error(), "toy_logits") != nullptr);
  CHECK(argus_session_run(s, &im, others, 2, &r) == ARGUS_STATUS_OK);  // the rest still runs
  argus_result_release(r);
  argus_session_destroy(s);
}

// The C API's generic accessors on the toy kinds.
void check_c_api(const char* bundle) {
  argus_session_t* s = nullptr;
  CHECK(argus_session_create(bundle, nullptr, &s) == ARGUS_STATUS_OK);
  const char* kind = nullptr;
  CHECK(argus_session_task_kind(s, "toy", &kind) == ARGUS_STATUS_OK && std::strcmp(kind, "toy_logits") == 0);
  const char* tasks[] = {"toy", "cls", "counter", "det"};
  const argus_image_t im = image();
  argus_result_t* r = nullptr;
  CHECK(argus_session_run(s, &im, tasks, 4, &r) == ARGUS_STATUS_OK);
  if (r == nullptr) return;
  size_t count = 0;
  const char *task = nullptr, *task_kind = nullptr;
  CHECK(argus_result_num_tasks(r, &count) == ARGUS_STATUS_OK && count == 4);
  CHECK(argus_result_task(r, 2, &task, &task_kind) == ARGUS_STATUS_OK);
  CHECK(std::strcmp(task, "counter") == 0 && std::strcmp(task_kind, "toy_count") == 0);
  CHECK(argus_result_task(r, 4, &task, nullptr) == ARGUS_STATUS_INVALID_ARGUMENT);
  argus_array_t logits, top, n;
  CHECK(argus_result_array(r, "toy", "logits", &logits) == ARGUS_STATUS_OK);
  CHECK(logits.dtype == ARGUS_DTYPE_FLOAT32 && logits.ndim == 1 && logits.shape[0] == 5);
  CHECK(logits.num_bytes == 5 * sizeof(float) && std::strcmp(logits.name, "logits") == 0);
  CHECK(argus_result_array(r, "toy", "top", &top) == ARGUS_STATUS_OK);
  CHECK(top.dtype == ARGUS_DTYPE_INT64 && top.ndim == 1 && top.shape[0] == 1);
  CHECK(argus_result_array(r, "toy", "nope", &top) == ARGUS_STATUS_UNKNOWN_TASK);
  // The toy decoder saw the cls head's logits: their argmax and softmax are cls's top-1.
  const auto* x = static_cast<const float*>(logits.data);
  const int64_t best = *static_cast<const int64_t*>(top.data);
  double sum = 0.0;
  for (int i = 0; i < 5; ++i) sum += std::exp(double(x[i]) - x[best]);
  const argus_class_score_t* classes = nullptr;
  CHECK(argus_result_classes(r, "cls", &classes, &count) == ARGUS_STATUS_OK && count == 5);
  CHECK(classes[0].label == best);
  CHECK_NEAR(classes[0].score, 1.0 / sum, 1e-6);
  // counter needs det: its count is det's number of detections.
  CHECK(argus_result_array(r, "counter", "count", &n) == ARGUS_STATUS_OK);
  CHECK(argus_result_num_detections(r, "det", &count) == ARGUS_STATUS_OK);
  CHECK(*static_cast<const int64_t*>(n.data) == static_cast<int64_t>(count));
  CHECK(argus_result_num_arrays(r, "det", &count) == ARGUS_STATUS_OK && count == 3);
  argus_array_t boxes;
  CHECK(argus_result_array_at(r, "det", 0, &boxes) == ARGUS_STATUS_OK);
  CHECK(std::strcmp(boxes.name, "boxes") == 0 && boxes.ndim == 2 && boxes.shape[1] == 4);
  argus_result_release(r);
  // A task that is only needed runs but is not returned.
  const char* counter[] = {"counter"};
  CHECK(argus_session_run(s, &im, counter, 1, &r) == ARGUS_STATUS_OK);
  CHECK(argus_result_num_tasks(r, &count) == ARGUS_STATUS_OK && count == 1);
  CHECK(argus_result_array(r, "det", "boxes", &boxes) == ARGUS_STATUS_UNKNOWN_TASK);
  argus_result_release(r);
  argus_session_destroy(s);
}

// The same through the C++ Session.
void check_cpp(const char* bundle) {
  argus::Session session(bundle);
  CHECK(session.task("toy").kind == "toy_logits");
  CHECK(session.task_results("counter").size() == 1);
  CHECK(session.task_error("toy").empty() && session.task_input("toy") == "image");
  argus::ImageView view;
  view.data = g_pixels.data();
  view.width = 80;
  view.height = 60;
  view.stride_bytes = 80 * 3;
  session.reset_graph_calls();
  const argus::Results r = session.run(view, {"counter"});
  CHECK(r.tasks.size() == 1 && r.tasks[0].kind == "toy_count");
  CHECK(session.graph_calls().size() == 2);  // the backbone and det's head, nothing else
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test_decoder_registry TOY_BUNDLE\n");
    return 2;
  }
  for (size_t i = 0; i < g_pixels.size(); ++i) g_pixels[i] = static_cast<unsigned char>(i * 7);
  argus_session_t* probe = nullptr;
  if (argus_session_create(argv[1], nullptr, &probe) == ARGUS_STATUS_BACKEND_UNAVAILABLE) {
    std::printf("OpenVINO not built in: %s\n", argus_last_error());
    return 0;
  }
  argus_session_destroy(probe);
  check_unknown_kind(argv[1]);
  register_toys();
  check_c_api(argv[1]);
  check_cpp(argv[1]);
  if (argus_test::g_failures) {
    std::fprintf(stderr, "%d check(s) failed\n", argus_test::g_failures);
    return 1;
  }
  std::printf("decoder registry checks passed\n");
  return 0;
}
