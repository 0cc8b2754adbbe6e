#include "kernels/detections.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/status.h"
#include "kernels/box_decode.h"
#include "kernels/masks.h"

namespace argus::kernels {
namespace {

struct Candidate {
  float score;
  int64_t index;
};

// Descending score, ties by ascending index: a strict total order on non-NaN scores.
inline bool better(const Candidate& a, const Candidate& b) {
  return a.score != b.score ? a.score > b.score : a.index < b.index;
}

// Logits below this bound certainly score <= threshold, so their sigmoid is skipped.
// Only used for 0 < threshold <= 0.9, where sigmoid's relative slope (1 - s) >= 0.1
// makes a 1e-3 logit margin worth >= 1e-4 relative: far above float32 rounding.
double logit_skip_bound(float threshold) {
  if (!(threshold > 0.0f && threshold <= 0.9f)) return -INFINITY;
  const double t = threshold;
  return std::log(t / (1.0 - t)) - 1e-3;
}

void check_transform(const Transform& t) {
  if (!(t.scale_x > 0.0f) || !(t.scale_y > 0.0f) || t.image_width < 0 || t.image_height < 0) {
    throw Error(Status::InvalidArgument,
                "transform needs positive scales and non-negative image sizes");
  }
}

}  // namespace

float sigmoid(float x) { return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x)))); }

std::vector<int64_t> select_candidates(const float* scores, int64_t n, int64_t c,
                                       float score_threshold, int64_t topk) {
  if (n < 0 || c < 0 || (n * c > 0 && scores == nullptr)) {
    throw Error(Status::InvalidArgument, "select_candidates: bad scores");
  }
  std::vector<Candidate> cand;
  for (int64_t i = 0; i < n * c; ++i) {
    if (scores[i] > score_threshold) cand.push_back({scores[i], i});
  }
  if (topk > 0 && static_cast<int64_t>(cand.size()) > topk) {
    std::nth_element(cand.begin(), cand.begin() + topk, cand.end(), better);
    cand.resize(static_cast<size_t>(topk));
  }
  std::sort(cand.begin(), cand.end(), better);
  std::vector<int64_t> out(cand.size());
  for (size_t i = 0; i < cand.size(); ++i) out[i] = cand[i].index;
  return out;
}

namespace {

// Sigmoid scores of the logits that may pass the threshold (others: -inf, never pass).
std::vector<float> candidate_scores(const float* logits, int64_t count, float threshold) {
  const double skip_below = logit_skip_bound(threshold);
  std::vector<float> scores(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    scores[i] = static_cast<double>(logits[i]) < skip_below ? -INFINITY : sigmoid(logits[i]);
  }
  return scores;
}

void check_outputs(const DenseHeadOutputs& o, int64_t expected_points) {
  if (o.num_classes < 1) throw Error(Status::InvalidArgument, "num_classes must be >= 1");
  if (o.num_points != expected_points) {
    throw Error(Status::InvalidArgument,
                "outputs have " + std::to_string(o.num_points) +
                    " points, the input size and strides give " +
                    std::to_string(expected_points));
  }
  if (o.num_points > 0 && (o.cls_logits == nullptr || o.box_ltrb == nullptr)) {
    throw Error(Status::InvalidArgument, "decode_detections: null outputs");
  }
}

}  // namespace

Detections decode_detections(const DenseHeadOutputs& outputs, int input_h, int input_w,
                             const std::vector<int>& strides, const DetectionParams& params,
                             const Transform& image_to_input) {
  const std::vector<Point> points = anchor_points(input_h, input_w, strides);
  check_outputs(outputs, static_cast<int64_t>(points.size()));
  check_transform(image_to_input);
  const int64_t c = outputs.num_classes;
  const std::vector<float> all_scores =
      candidate_scores(outputs.cls_logits, outputs.num_points * c, params.score_threshold);
  const std::vector<int64_t> flat = select_candidates(
      all_scores.data(), outputs.num_points, c, params.score_threshold, params.pre_nms_topk);

  const size_t m = flat.size();
  std::vector<float> boxes(4 * m);  // (m, 4) xyxy, the layout nms() reads
  std::vector<float> scores(m);
  std::vector<int64_t> labels(m);
  for (size_t i = 0; i < m; ++i) {
    const int64_t point = flat[i] / c;
    const Box b = decode_box(points[point], outputs.box_ltrb + 4 * point, input_h, input_w);
    boxes[4 * i] = b.x1;
    boxes[4 * i + 1] = b.y1;
    boxes[4 * i + 2] = b.x2;
    boxes[4 * i + 3] = b.y2;
    scores[i] = all_scores[flat[i]];
    labels[i] = flat[i] % c;
  }
  NmsParams nms_params;
  nms_params.iou_threshold = params.iou_threshold;
  nms_params.class_agnostic = params.class_agnostic;
  nms_params.max_detections = params.max_detections;
  const std::vector<int64_t> keep = nms(boxes.data(), scores.data(), labels.data(),
                                        static_cast<int64_t>(m), nms_params);
  Detections det;
  for (int64_t k : keep) {
    const float* b = &boxes[4 * k];
    det.boxes.push_back(image_to_input.to_image(Box{b[0], b[1], b[2], b[3]}));
    det.scores.push_back(scores[k]);
    det.labels.push_back(labels[k]);
    det.point_index.push_back(flat[k] / c);
  }
  return det;
}

void instance_masks(const MaskHeadOutputs& outputs, int input_h, int input_w,
                    const Detections& detections, const Transform& image_to_input,
                    double mask_threshold, uint8_t* out) {
  const int ph = input_h / kProtoStride, pw = input_w / kProtoStride;
  const int64_t k = outputs.num_protos, d = static_cast<int64_t>(detections.size());
  if (k < 1 || outputs.mask_coeffs == nullptr || outputs.protos == nullptr || ph < 1 || pw < 1) {
    throw Error(Status::InvalidArgument, "instance_masks: bad prototype outputs");
  }
  check_transform(image_to_input);
  // One detection at a time: a single prototype-resolution buffer, whatever d is.
  std::vector<float> logits(static_cast<size_t>(ph) * pw);
  const int64_t plane = static_cast<int64_t>(image_to_input.image_height) *
                        image_to_input.image_width;
  for (int64_t i = 0; i < d; ++i) {
    const int64_t p = detections.point_index[static_cast<size_t>(i)];
    if (p < 0 || p >= outputs.num_points) {
      throw Error(Status::InvalidArgument, "instance_masks: point index out of range");
    }
    assemble_mask_logits(outputs.mask_coeffs + p * k, 1, k, outputs.protos, ph, pw,
                         logits.data());
    paste_masks(logits.data(), 1, ph, pw, &detections.boxes[static_cast<size_t>(i)],
                image_to_input, mask_threshold, out + i * plane);
  }
}

}  // namespace argus::kernels
