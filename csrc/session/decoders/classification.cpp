// Kind "classification": image classes (cls). The head's logits (1, C) → softmax → the
// "topk" (5) most probable, best first (ties: lower index first). Params: "topk",
// "output". Results: class_labels (k) int64, class_scores (k) float32.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/status.h"
#include "session/decoder.h"
#include "session/manifest_read.h"

namespace argus::decoders {

namespace {

class Classification final : public ImageHeadDecoder {
 public:
  explicit Classification(const TaskSpec& spec) : ImageHeadDecoder(spec) {
    const double k = manifest::number_or(spec.params, "topk", 5);
    if (!(k >= 1 && k <= 1e6) || k != std::floor(k)) {
      throw Error(Status::Bundle, "task '" + spec.name + "': topk must be an integer >= 1");
    }
    topk_ = static_cast<int64_t>(k);
  }

 private:
  void decode_image(const Tensors& head, const Transform&, TaskResult& out) const override {
    const Tensor& logits = decode::sole_output(head, spec(), 2);
    const int64_t c = logits.dim(1);
    const float* x = logits.data.data();
    const float peak = c > 0 ? *std::max_element(x, x + c) : 0.0f;
    std::vector<double> probs(static_cast<size_t>(c));
    double sum = 0.0;
    for (int64_t i = 0; i < c; ++i) sum += probs[i] = std::exp(double(x[i]) - peak);
    std::vector<int64_t> order(static_cast<size_t>(c));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return probs[a] > probs[b]; });
    const int64_t k = std::min(c, topk_);
    std::vector<int64_t> labels(order.begin(), order.begin() + k);
    std::vector<float> scores;
    for (int64_t label : labels) scores.push_back(static_cast<float>(probs[label] / sum));
    out.add(ResultArray::of("class_labels", {k}, std::move(labels)));
    out.add(ResultArray::of("class_scores", {k}, std::move(scores)));
  }

  int64_t topk_ = 5;
};

}  // namespace

void register_classification(DecoderRegistry& registry) {
  registry.add({"classification",
                {{"class_labels", DType::Int64, {"k"}}, {"class_scores", DType::Float32, {"k"}}},
                [](const TaskSpec& spec, const DecoderOptions&) {
                  return std::make_unique<Classification>(spec);
                }});
}

}  // namespace argus::decoders
