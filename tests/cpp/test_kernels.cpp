// Plain C++ checks of the post-processing kernels on hand-made cases (no framework:
// CTest runs this binary and a non-zero exit code is a failure).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "check.h"
#include "core/status.h"
#include "kernels/box_decode.h"
#include "kernels/detections.h"
#include "kernels/heatmaps.h"
#include "kernels/masks.h"
#include "kernels/nms.h"
#include "kernels/segmentation.h"

namespace {

using argus_test::check_throws;
using argus_test::g_failures;


using argus::Status;
using Ids = std::vector<int64_t>;
namespace k = argus::kernels;

Ids run_nms(const std::vector<float>& boxes, const std::vector<float>& scores,
            const Ids& labels, double iou, bool agnostic = false, int64_t max_det = -1) {
  k::NmsParams p;
  p.iou_threshold = iou;
  p.class_agnostic = agnostic;
  p.max_detections = max_det;
  return k::nms(boxes.data(), scores.data(), labels.empty() ? nullptr : labels.data(),
                static_cast<int64_t>(scores.size()), p);
}

void test_nms_empty_and_ties() {
  CHECK(run_nms({}, {}, {}, 0.5).empty());
  CHECK(run_nms({}, {}, {}, 0.5, true).empty());
  // Three identical boxes, two tied best scores: the lower index wins the tie.
  const std::vector<float> same = {0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10};
  CHECK((run_nms(same, {0.8f, 0.9f, 0.9f}, {}, 0.5, true) == Ids{1}));
  // Disjoint boxes: everything kept, by score then index.
  const std::vector<float> apart = {0, 0, 1, 1, 5, 5, 6, 6, 9, 9, 10, 10};
  CHECK((run_nms(apart, {0.5f, 0.9f, 0.5f}, {}, 0.5, true) == Ids{1, 0, 2}));
  // NaN scores are visited last, like numpy's argsort.
  CHECK((run_nms(apart, {NAN, 0.1f, 0.2f}, {}, 0.5, true) == Ids{2, 1, 0}));
}

void test_nms_threshold_is_strict() {
  // IoU = 1 / 3 exactly: kept at threshold 1/3 (equal is kept), suppressed below it.
  const std::vector<float> boxes = {0, 0, 2, 1, 1, 0, 3, 1};
  CHECK((run_nms(boxes, {0.9f, 0.8f}, {}, 1.0 / 3.0, true) == Ids{0, 1}));
  CHECK((run_nms(boxes, {0.9f, 0.8f}, {}, 0.3, true) == Ids{0}));
  const double a[4] = {0, 0, 2, 1}, b[4] = {1, 0, 3, 1};
  CHECK(k::box_iou(a, b) == 1.0 / 3.0);
}

void test_nms_degenerate_boxes() {
  // Identical zero-area boxes have union 0: IoU 0, nothing suppressed.
  const std::vector<float> points = {3, 3, 3, 3, 3, 3, 3, 3};
  CHECK((run_nms(points, {0.9f, 0.8f}, {}, 0.0, true) == Ids{0, 1}));
  // An inverted box has area 0 and no overlap with anything.
  const std::vector<float> inverted = {10, 10, 0, 0, 0, 0, 10, 10};
  CHECK((run_nms(inverted, {0.9f, 0.8f}, {}, 0.0, true) == Ids{0, 1}));
  const double inv[4] = {10, 10, 0, 0}, ok[4] = {0, 0, 10, 10};
  CHECK(k::box_iou(inv, ok) == 0.0);
  // A box inside another: IoU = 25 / 100.
  const double inner[4] = {0, 0, 5, 5};
  CHECK(k::box_iou(inner, ok) == 0.25);
}

void test_nms_classes_and_limits() {
  const std::vector<float> boxes = {0, 0, 10, 10, 1, 1, 10, 10, 0, 0, 9, 9, 50, 50, 60, 60};
  const std::vector<float> scores = {0.9f, 0.8f, 0.7f, 0.6f};
  // Labels are arbitrary integers; overlapping boxes of different labels survive.
  CHECK((run_nms(boxes, scores, {-5, 1000, -5, 7}, 0.5) == Ids{0, 1, 3}));
  CHECK((run_nms(boxes, scores, {-5, 1000, -5, 7}, 0.5, true) == Ids{0, 3}));
  CHECK((run_nms(boxes, scores, {-5, 1000, -5, 7}, 0.5, false, 2) == Ids{0, 1}));
  CHECK(run_nms(boxes, scores, {-5, 1000, -5, 7}, 0.5, false, 0).empty());
  k::NmsParams p;
  p.class_agnostic = true;
  p.score_threshold = 0.65;
  CHECK((k::nms(boxes.data(), scores.data(), nullptr, 4, p) == Ids{0}));
  k::NmsParams aware;
  check_throws(Status::InvalidArgument,
               [&] { k::nms(boxes.data(), scores.data(), nullptr, 4, aware); },
               "class-aware NMS without labels");
  // float64 boxes take the same path.
  const std::vector<double> b64(boxes.begin(), boxes.end()), s64(scores.begin(), scores.end());
  CHECK((k::nms(b64.data(), s64.data(), nullptr, 4, p) == Ids{0}));
}

// The definition of greedy NMS, written as plainly as possible (O(n^2)).
Ids brute_nms(const std::vector<float>& b, const std::vector<float>& s, const Ids& labels,
              double thr) {
  const int64_t n = static_cast<int64_t>(s.size());
  Ids order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t c) { return s[a] > s[c]; });
  Ids keep;
  for (int64_t i : order) {
    bool ok = true;
    for (int64_t k : keep) {
      const double bi[4] = {b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]};
      const double bk[4] = {b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]};
      if (labels[i] == labels[k] && k::box_iou(bk, bi) > thr) ok = false;
    }
    if (ok) keep.push_back(i);
  }
  return keep;
}

void test_nms_grid_path_matches_brute_force() {
  // >= 64 boxes take the spatial-grid path: clusters, huge boxes, degenerate boxes.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> pos(0.0f, 500.0f), jitter(-8.0f, 8.0f), unit(0.0f, 1.0f);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 64 + trial * 37;
    std::vector<float> boxes, scores;
    Ids labels;
    const float cx = pos(rng), cy = pos(rng);
    for (int i = 0; i < n; ++i) {
      const float x = (i % 3 == 0 ? cx : pos(rng)) + jitter(rng), y = cy + jitter(rng);
      const float w = i % 17 == 0 ? 800.0f : (i % 13 == 0 ? -3.0f : 5.0f + 40.0f * unit(rng));
      boxes.insert(boxes.end(), {x, y, x + w, y + 30.0f * unit(rng)});
      scores.push_back(static_cast<float>(static_cast<int>(unit(rng) * 8)) / 8.0f);  // ties
      labels.push_back(i % 4);
    }
    for (double thr : {0.0, 0.3, 0.5}) {
      CHECK((run_nms(boxes, scores, labels, thr) == brute_nms(boxes, scores, labels, thr)));
      const Ids one(static_cast<size_t>(n), 0);
      CHECK((run_nms(boxes, scores, one, thr, true) == brute_nms(boxes, scores, one, thr)));
    }
  }
}

void test_box_decode() {
  // 16 x 16 input: stride 8 gives a 2 x 2 grid (row-major), then stride 16 one point.
  const std::vector<argus::Point> pts = k::anchor_points(16, 16, {8, 16});
  CHECK(pts.size() == 5);
  CHECK(pts[0].x == 4.0f && pts[0].y == 4.0f && pts[1].x == 12.0f && pts[1].y == 4.0f);
  CHECK(pts[2].x == 4.0f && pts[2].y == 12.0f && pts[4].x == 8.0f && pts[4].y == 8.0f);
  CHECK(k::num_anchor_points(64, 96, {8, 16, 32}) == 96 + 24 + 6);
  check_throws(Status::InvalidArgument, [] { k::anchor_points(20, 16, {8}); }, "20 % 8");
  const float ltrb[4] = {10, 1, 2, 30};
  const argus::Box b = k::decode_box({4, 4}, ltrb, 16, 8);
  CHECK(b.x1 == 0.0f && b.y1 == 3.0f && b.x2 == 6.0f && b.y2 == 16.0f);
}

void test_select_candidates() {
  const float scores[] = {0.5f, 0.7f, 0.7f, 0.2f, NAN, 0.9f};
  CHECK((k::select_candidates(scores, 3, 2, 0.3f, 0) == Ids{5, 1, 2, 0}));
  CHECK((k::select_candidates(scores, 3, 2, 0.3f, 2) == Ids{5, 1}));
  CHECK((k::select_candidates(scores, 3, 2, 0.95f, 2).empty()));
  CHECK(k::sigmoid(0.0f) == 0.5f && k::sigmoid(-INFINITY) == 0.0f && k::sigmoid(INFINITY) == 1.0f);
  CHECK(std::isnan(k::sigmoid(NAN)));
}

void test_decode_detections() {
  // 16 x 16 input, stride 8: points (4,4), (12,4), (4,12), (12,12); two classes.
  const std::vector<float> logits = {2, -10, 2, -10, -10, 1, -10, -10};
  const std::vector<float> ltrb(16, 4.0f);
  k::DenseHeadOutputs out{logits.data(), ltrb.data(), 4, 2};
  // A 32 x 16 image letterboxed into 16 x 16: scale 0.5, 4 rows of padding on top.
  const argus::Transform t{0.5f, 0.5f, 0.0f, 4.0f, 32, 16};
  k::DetectionParams p;
  const k::Detections d = k::decode_detections(out, 16, 16, {8}, p, t);
  CHECK(d.size() == 3);
  if (d.size() == 3) {
    CHECK((d.labels == Ids{0, 0, 1}) && (d.point_index == Ids{0, 1, 2}));  // tie: index 0 first
    CHECK(d.scores[0] == d.scores[1] && d.scores[0] == k::sigmoid(2.0f));
    CHECK(d.boxes[0].x1 == 0 && d.boxes[0].y1 == 0 && d.boxes[0].x2 == 16 && d.boxes[0].y2 == 8);
    CHECK(d.boxes[1].x1 == 16 && d.boxes[1].x2 == 32);
    CHECK(d.boxes[2].y1 == 8 && d.boxes[2].y2 == 16);  // 24 clipped to the image
  }
  p.max_detections = 1;
  CHECK(k::decode_detections(out, 16, 16, {8}, p, t).size() == 1);
  p.score_threshold = 0.99f;
  CHECK(k::decode_detections(out, 16, 16, {8}, p, t).size() == 0);
  k::DenseHeadOutputs bad{logits.data(), ltrb.data(), 3, 2};
  check_throws(Status::InvalidArgument, [&] { k::decode_detections(bad, 16, 16, {8}, p, t); },
               "point count mismatch");

  // Masks: one all-ones prototype, so each mask is exactly its box's pixel span.
  p = k::DetectionParams{};
  const k::Detections det = k::decode_detections(out, 16, 16, {8}, p, t);
  const std::vector<float> coeffs(4, 1.0f), protos(16, 1.0f);
  std::vector<uint8_t> masks(det.size() * 16 * 32, 7);
  k::instance_masks({coeffs.data(), protos.data(), 4, 1}, 16, 16, det, t, 0.5, masks.data());
  int64_t on = 0;
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 32; ++x) {
      const uint8_t v = masks[static_cast<size_t>(y) * 32 + x];
      CHECK(v == ((y < 8 && x < 16) ? 1 : 0));
      on += v;
    }
  }
  CHECK(on == 16 * 8);
}

void test_masks() {
  // coeffs (1, 2) . protos (2, 2, 2) = 2 * A - B.
  const float coeffs[] = {2.0f, -1.0f};
  const float protos[] = {1, 0, 1, 0, 1, 2, 1, 2};
  float logits[4];
  k::assemble_mask_logits(coeffs, 1, 2, protos, 2, 2, logits);
  CHECK(logits[0] == 1 && logits[1] == -2 && logits[2] == 1 && logits[3] == -2);
  // 8 x 8 identity image, logits columns (1, -1): sampled values per image column are
  // 1, 1, .75, .25, -.25, -.75, -1, -1.
  const float m[] = {1, -1, 1, -1};
  const argus::Transform t{1, 1, 0, 0, 8, 8};
  const argus::Box box{1.0f, 0.0f, 6.0f, 8.0f};  // centres in [1, 6): columns 1..5
  uint8_t out[64];
  k::paste_masks(m, 1, 2, 2, &box, t, 0.5, out);
  const uint8_t row_half[8] = {0, 1, 1, 1, 0, 0, 0, 0};
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) CHECK(out[y * 8 + x] == row_half[x]);
  }
  k::paste_masks(m, 1, 2, 2, &box, t, 0.7, out);  // logit(0.7) = 0.847: only column 1
  for (int x = 0; x < 8; ++x) CHECK(out[x] == (x == 1 ? 1 : 0));
  const argus::Box empty{3.0f, 3.0f, 3.2f, 8.0f};  // no column centre in [3, 3.2)
  k::paste_masks(m, 1, 2, 2, &empty, t, 0.0, out);
  for (uint8_t v : out) CHECK(v == 0);
  CHECK(k::mask_logit_threshold(1.0) == INFINITY && k::mask_logit_threshold(0.0) == -INFINITY);
}

void test_segmentation() {
  const float src[] = {0, 1, 2, 3};
  float dst[16];
  k::resize_bilinear_plain(src, 1, 2, 2, dst, 4, 4);
  const float expect_row0[] = {0, 0.25f, 0.75f, 1}, expect_row1[] = {0.5f, 0.75f, 1.25f, 1.5f};
  for (int x = 0; x < 4; ++x) {
    CHECK_NEAR(dst[x], expect_row0[x], 0);
    CHECK_NEAR(dst[4 + x], expect_row1[x], 0);
    CHECK_NEAR(dst[12 + x], expect_row0[x] + 2, 0);
  }
  // Class 1 wins on the right, ties (left column) go to class 0, a NaN wins.
  const float logits[] = {0, 0, 0, 0, /* class 1 */ 0, 1, 0, 1, /* class 2 */ NAN, -9, -9, -9};
  int32_t labels[4];
  k::semantic_argmax(logits, 3, 2, 2, 2, 2, labels);
  CHECK(labels[0] == 2 && labels[1] == 1 && labels[2] == 0 && labels[3] == 1);
  check_throws(Status::InvalidArgument, [&] { k::semantic_argmax(logits, 0, 2, 2, 2, 2, labels); },
               "no classes");
}

// A UDP Gaussian (sigma 2) centred at (cx, cy) heatmap pixels.
std::vector<float> gaussian_map(int h, int w, double cx, double cy) {
  std::vector<float> m(static_cast<size_t>(h) * w);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
      m[static_cast<size_t>(y) * w + x] = static_cast<float>(std::exp(-d2 / 8.0));
    }
  }
  return m;
}

void test_heatmaps() {
  const int h = 64, w = 48;
  k::HeatmapDecodeParams p;  // 256 x 192 crop
  const double fx = (w - 1.0) / (192 - 1.0), fy = (h - 1.0) / (256 - 1.0);
  float kp[2], score = 0;
  // DARK recovers a sub-pixel peak.
  std::vector<float> m = gaussian_map(h, w, 20.3, 30.6);
  k::decode_heatmaps(m.data(), 1, 1, h, w, nullptr, p, kp, &score);
  CHECK_NEAR(kp[0] * fx, 20.3, 0.05);
  CHECK_NEAR(kp[1] * fy, 30.6, 0.05);
  CHECK(score == m[31 * w + 20]);  // nearest pixel of (20.3, 30.6)
  // Peak at the corner: edge padding, finite and within a pixel.
  m = gaussian_map(h, w, 0.0, 0.0);
  k::decode_heatmaps(m.data(), 1, 1, h, w, nullptr, p, kp, &score);
  CHECK(std::isfinite(kp[0]) && std::isfinite(kp[1]));
  CHECK(std::fabs(kp[0] * fx) <= 1.0 && std::fabs(kp[1] * fy) <= 1.0);
  // Tied maxima: the first in row-major order; integer positions without refinement.
  std::vector<float> tie(static_cast<size_t>(h) * w, 0.0f);
  tie[2 * w + 5] = tie[3 * w + 1] = 1.0f;
  p.refine = false;
  k::decode_heatmaps(tie.data(), 1, 1, h, w, nullptr, p, kp, &score);
  CHECK(kp[0] == static_cast<float>(5 / fx) && kp[1] == static_cast<float>(2 / fy));
  p.refine = true;
  // Flat and non-positive maps keep their argmax position.
  std::vector<float> flat(static_cast<size_t>(h) * w, 0.0f);
  k::decode_heatmaps(flat.data(), 1, 1, h, w, nullptr, p, kp, &score);
  CHECK(kp[0] == 0.0f && kp[1] == 0.0f && score == 0.0f);
  std::vector<float> neg(static_cast<size_t>(h) * w, -1.0f);
  neg[3 * w + 3] = -0.5f;
  k::decode_heatmaps(neg.data(), 1, 1, h, w, nullptr, p, kp, &score);
  CHECK(kp[0] == static_cast<float>(3 / fx) && kp[1] == static_cast<float>(3 / fy));
  // Warps: crop = 2 * image + 1, so image = (crop - 1) / 2.
  const double warp[6] = {2, 0, 1, 0, 2, 1};
  float kp_img[2];
  k::decode_heatmaps(neg.data(), 1, 1, h, w, warp, p, kp_img, &score);
  CHECK_NEAR(kp_img[0], (3 / fx - 1) / 2, 1e-5);
  CHECK_NEAR(kp_img[1], (3 / fy - 1) / 2, 1e-5);
  const double singular[6] = {1, 2, 0, 2, 4, 0};
  check_throws(Status::InvalidArgument,
               [&] { k::decode_heatmaps(neg.data(), 1, 1, h, w, singular, p, kp, &score); },
               "singular warp");
  p.blur_kernel = 10;
  check_throws(Status::InvalidArgument,
               [&] { k::decode_heatmaps(neg.data(), 1, 1, h, w, nullptr, p, kp, &score); },
               "even blur kernel");
}

void test_heatmaps_threads_and_flip() {
  const int n = 5, kk = 3, h = 16, w = 12;
  std::vector<float> maps;
  for (int i = 0; i < n * kk; ++i) {
    const std::vector<float> m = gaussian_map(h, w, 1.0 + 0.7 * i, 2.0 + 0.9 * (i % 7));
    maps.insert(maps.end(), m.begin(), m.end());
  }
  k::HeatmapDecodeParams p;
  p.input_h = 64;
  p.input_w = 48;
  std::vector<float> kp1(n * kk * 2), kp3(n * kk * 2), s1(n * kk), s3(n * kk);
  k::decode_heatmaps(maps.data(), n, kk, h, w, nullptr, p, kp1.data(), s1.data());
  p.num_threads = 3;
  k::decode_heatmaps(maps.data(), n, kk, h, w, nullptr, p, kp3.data(), s3.data());
  CHECK(kp1 == kp3 && s1 == s3);

  // Flip fusion: keypoints 0 and 2 swap, 1 stays; columns mirror.
  const int64_t flip[] = {2, 1, 0};
  std::vector<float> a(kk * 2 * 2), b(kk * 2 * 2), out(kk * 2 * 2);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<float>(i);
    b[i] = static_cast<float>(100 + i);
  }
  k::fuse_flip_heatmaps(a.data(), b.data(), 1, kk, 2, 2, flip, out.data());
  // out[0, r, c] = 0.5 * (a[0, r, c] + b[2, r, 1 - c]); b[2] holds 108..111.
  CHECK(out[0] == 0.5f * (0 + 109) && out[1] == 0.5f * (1 + 108) && out[2] == 0.5f * (2 + 111));
  const int64_t bad[] = {0, 0, 1};
  check_throws(Status::InvalidArgument,
               [&] { k::fuse_flip_heatmaps(a.data(), b.data(), 1, kk, 2, 2, bad, out.data()); },
               "flip_index not a permutation");
}

}  // namespace

int main() {
  test_nms_empty_and_ties();
  test_nms_threshold_is_strict();
  test_nms_degenerate_boxes();
  test_nms_classes_and_limits();
  test_nms_grid_path_matches_brute_force();
  test_box_decode();
  test_select_candidates();
  test_decode_detections();
  test_masks();
  test_segmentation();
  test_heatmaps();
  test_heatmaps_threads_and_flip();
  if (g_failures != 0) {
    std::fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  std::printf("all kernel checks passed\n");
  return 0;
}
