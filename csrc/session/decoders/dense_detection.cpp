// Kind "dense_detection": the one-stage anchor-free dense head (det). Head outputs
// cls_logits (1, N, C) and box_ltrb (1, N, 4); params as decode::read_dense_params.
// Results: boxes (n, 4), scores (n), labels (n).
#include "session/decoder.h"
#include "session/dense_head.h"

namespace argus::decoders {

namespace {

class DenseDetection final : public ImageHeadDecoder {
 public:
  DenseDetection(const TaskSpec& spec, const DecoderOptions& options)
      : ImageHeadDecoder(spec), params_(decode::read_dense_params(spec, options)) {}

 private:
  void decode_image(const Tensors& head, const Transform& transform,
                    TaskResult& out) const override {
    decode::add_detections(decode::decode_dense(head, spec(), params_, transform), out);
  }

  decode::DenseParams params_;
};

}  // namespace

void register_dense_detection(DecoderRegistry& registry) {
  registry.add({"dense_detection", decode::detection_arrays(),
                [](const TaskSpec& spec, const DecoderOptions& options) {
                  return std::make_unique<DenseDetection>(spec, options);
                }});
}

}  // namespace argus::decoders
