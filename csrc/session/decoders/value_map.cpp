// Kind "value_map": one value per pixel (depth). The head's (1, 1, h, w) map is sampled
// at the image's pixels in one pass (bilinear; session/dense_map.h). Params: "output" (the
// head output to read when it has several). Result: value_map (h, w) float32.
#include "core/status.h"
#include "session/decoder.h"
#include "session/dense_map.h"

namespace argus::decoders {

namespace {

class ValueMap final : public ImageHeadDecoder {
 public:
  using ImageHeadDecoder::ImageHeadDecoder;

 private:
  void decode_image(const Tensors& head, const Transform& transform,
                    TaskResult& out) const override {
    const Tensor& map = decode::sole_output(head, spec(), 4);
    if (map.dim(1) != 1) throw Error(Status::Internal, "a value map must have 1 channel");
    const int h = transform.image_height, w = transform.image_width;
    std::vector<float> values(static_cast<size_t>(h) * static_cast<size_t>(w));
    decode::values_at_image(map.data.data(), 1, static_cast<int>(map.dim(2)),
                            static_cast<int>(map.dim(3)), spec().input_h, spec().input_w,
                            transform, values.data());
    out.add(ResultArray::of("value_map", {h, w}, std::move(values)));
  }
};

}  // namespace

void register_value_map(DecoderRegistry& registry) {
  registry.add({"value_map", {{"value_map", DType::Float32, {"h", "w"}}},
                [](const TaskSpec& spec, const DecoderOptions&) {
                  return std::make_unique<ValueMap>(spec);
                }});
}

}  // namespace argus::decoders
