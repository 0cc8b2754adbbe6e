// Kind "label_map": per-pixel classes (sem, parts). The head's logits (1, C, h, w) are
// sampled at the image's pixels in one pass and argmax'd over C (session/dense_map.h).
// Params: "output" (the head output to read when it has several). Result: label_map
// (h, w) int32 at image resolution.
#include "session/decoder.h"
#include "session/dense_map.h"

namespace argus::decoders {

namespace {

class LabelMap final : public ImageHeadDecoder {
 public:
  using ImageHeadDecoder::ImageHeadDecoder;

 private:
  void decode_image(const Tensors& head, const Transform& transform,
                    TaskResult& out) const override {
    const Tensor& logits = decode::sole_output(head, spec(), 4);
    const int h = transform.image_height, w = transform.image_width;
    std::vector<int32_t> labels(static_cast<size_t>(h) * static_cast<size_t>(w));
    decode::labels_at_image(logits.data.data(), logits.dim(1), static_cast<int>(logits.dim(2)),
                            static_cast<int>(logits.dim(3)), spec().input_h, spec().input_w,
                            transform, labels.data());
    out.add(ResultArray::of("label_map", {h, w}, std::move(labels)));
  }
};

}  // namespace

void register_label_map(DecoderRegistry& registry) {
  registry.add({"label_map", {{"label_map", DType::Int32, {"h", "w"}}},
                [](const TaskSpec& spec, const DecoderOptions&) {
                  return std::make_unique<LabelMap>(spec);
                }});
}

}  // namespace argus::decoders
