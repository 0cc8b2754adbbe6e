// Kind "label_map": per-pixel classes (sem, parts). The head's logits (1, C, h, w) are
// resized to the input, cropped to the image and resized to it, then argmax over C.
// Params: "output" (the head output to read when it has several). Result: label_map
// (h, w) int32 at image resolution.
#include "kernels/segmentation.h"
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
    int rh = 0, rw = 0;
    const std::vector<float> region =
        decode::image_region(logits, spec().input_h, spec().input_w, transform, rh, rw);
    const int h = transform.image_height, w = transform.image_width;
    std::vector<int32_t> labels(static_cast<size_t>(h) * static_cast<size_t>(w));
    kernels::semantic_argmax(region.data(), logits.dim(1), rh, rw, h, w, labels.data());
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
