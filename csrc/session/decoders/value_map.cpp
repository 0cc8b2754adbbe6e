// Kind "value_map": one value per pixel (depth). The head's (1, 1, h, w) map is resized to
// the input, cropped to the image and resized to it (bilinear). Params: "output" (the
// head output to read when it has several). Result: value_map (h, w) float32.
#include "core/status.h"
#include "kernels/segmentation.h"
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
    int rh = 0, rw = 0;
    const std::vector<float> region =
        decode::image_region(map, spec().input_h, spec().input_w, transform, rh, rw);
    const int h = transform.image_height, w = transform.image_width;
    std::vector<float> values(static_cast<size_t>(h) * static_cast<size_t>(w));
    kernels::resize_bilinear_plain(region.data(), 1, rh, rw, values.data(), h, w);
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
