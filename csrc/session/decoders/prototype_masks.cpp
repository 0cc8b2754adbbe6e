// Kind "prototype_masks": the dense head with mask prototypes (inst, YOLACT-style).
// Head outputs as dense_detection plus mask_coeffs (1, N, K) and protos (1, K, H/4, W/4);
// params as dense_detection plus "mask_threshold" (0.5). Results: boxes, scores, labels
// and masks (n, h, w) uint8 0/1 at image resolution.
#include <cmath>

#include "core/status.h"
#include "session/decoder.h"
#include "session/dense_head.h"
#include "session/manifest_read.h"

namespace argus::decoders {

namespace {

class PrototypeMasks final : public ImageHeadDecoder {
 public:
  PrototypeMasks(const TaskSpec& spec, const DecoderOptions& options)
      : ImageHeadDecoder(spec),
        params_(decode::read_dense_params(spec, options)),
        mask_threshold_(manifest::number_or(spec.params, "mask_threshold", 0.5)) {
    if (!std::isfinite(mask_threshold_)) {
      throw Error(Status::Bundle, "task '" + spec.name + "': mask_threshold must be finite");
    }
  }

 private:
  void decode_image(const Tensors& head, const Transform& transform,
                    TaskResult& out) const override {
    const kernels::Detections detections =
        decode::decode_dense(head, spec(), params_, transform);
    const Tensor& coeffs = decode::output(head, "mask_coeffs", 3);
    const Tensor& protos = decode::output(head, "protos", 4);
    kernels::MaskHeadOutputs mask_out{coeffs.data.data(), protos.data.data(), coeffs.dim(1),
                                      coeffs.dim(2)};
    const int64_t n = static_cast<int64_t>(detections.size());
    const int64_t h = transform.image_height, w = transform.image_width;
    std::vector<uint8_t> masks(static_cast<size_t>(n * h * w));
    kernels::instance_masks(mask_out, spec().input_h, spec().input_w, detections, transform,
                            mask_threshold_, masks.data());
    decode::add_detections(detections, out);
    out.add(ResultArray::of("masks", {n, h, w}, std::move(masks)));
  }

  decode::DenseParams params_;
  double mask_threshold_;
};

}  // namespace

void register_prototype_masks(DecoderRegistry& registry) {
  std::vector<ArraySpec> results = decode::detection_arrays();
  results.push_back({"masks", DType::UInt8, {"n", "h", "w"}});
  registry.add({"prototype_masks", std::move(results),
                [](const TaskSpec& spec, const DecoderOptions& options) {
                  return std::make_unique<PrototypeMasks>(spec, options);
                }});
}

}  // namespace argus::decoders
