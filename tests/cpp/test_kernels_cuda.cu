// CUDA kernels vs the CPU kernels (the CPU kernels are themselves tested against the
// numpy references). Exits 77 (CTest: skipped) when no CUDA device is present.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels/cuda/heatmaps.h"
#include "kernels/cuda/nms.h"
#include "kernels/heatmaps.h"
#include "kernels/nms.h"

namespace {

namespace k = argus::kernels;
int g_failures = 0;

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                                 \
    }                                                                               \
  } while (0)

struct BoxSet {
  std::vector<float> boxes, scores;
  std::vector<int64_t> labels;
};

// Grid boxes: duplicates, exact ties, zero-area and inverted boxes, tied scores.
BoxSet random_boxes(std::mt19937& rng, int n, bool tied_scores) {
  std::uniform_int_distribution<int> pos(0, 40), size(-3, 20), label(0, 3), level(0, 4);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  BoxSet s;
  for (int i = 0; i < n; ++i) {
    const float x = pos(rng) * 0.5f, y = pos(rng) * 0.5f;
    s.boxes.insert(s.boxes.end(), {x, y, x + size(rng) * 0.5f, y + size(rng) * 0.5f});
    s.scores.push_back(tied_scores ? level(rng) / 4.0f : unit(rng));
    s.labels.push_back(label(rng) * 7 - 5);
  }
  if (n > 2) s.scores[1] = NAN;
  return s;
}

void test_nms_matches_cpu() {
  std::mt19937 rng(0);
  const int sizes[] = {0, 1, 2, 5, 63, 64, 65, 200, 1000, 5000};
  const double thresholds[] = {0.0, 1.0 / 3.0, 0.5, 0.7, 1.0};
  for (int n : sizes) {
    for (double thr : thresholds) {
      for (int variant = 0; variant < 4; ++variant) {
        const BoxSet s = random_boxes(rng, n, variant % 2 == 0);
        k::NmsParams p;
        p.iou_threshold = thr;
        p.class_agnostic = variant >= 2;
        p.max_detections = (variant == 1) ? 10 : -1;
        if (variant == 3) p.score_threshold = 0.4;
        const auto cpu = k::nms(s.boxes.data(), s.scores.data(), s.labels.data(), n, p);
        const auto gpu = k::cuda::nms(s.boxes.data(), s.scores.data(), s.labels.data(), n, p);
        if (cpu != gpu) {
          std::fprintf(stderr, "nms mismatch: n=%d thr=%g variant=%d (%zu vs %zu kept)\n", n, thr,
                       variant, cpu.size(), gpu.size());
          ++g_failures;
        }
      }
    }
  }
}

void test_heatmaps_match_cpu() {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> centre(-2.0, 50.0), noise(0.0, 0.05);
  const int n = 7, kk = 17, h = 64, w = 48;
  std::vector<float> maps(static_cast<size_t>(n) * kk * h * w);
  for (int m = 0; m < n * kk; ++m) {
    const double cx = centre(rng), cy = centre(rng) * 1.3;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
        float v = static_cast<float>(std::exp(-d2 / 8.0) + noise(rng));
        if (m % 11 == 3) v = 0.0f;          // flat
        if (m % 11 == 5) v = -v;            // non-positive
        if (m % 11 == 7) v = std::floor(v * 3);  // tied maxima
        maps[(static_cast<size_t>(m) * h + y) * w + x] = v;
      }
    }
  }
  std::vector<double> warps;
  for (int i = 0; i < n; ++i) warps.insert(warps.end(), {1.3, 0.2, 5.0 + i, -0.1, 1.1, -3.0});
  for (int refine = 0; refine < 2; ++refine) {
    for (int warped = 0; warped < 2; ++warped) {
      k::HeatmapDecodeParams p;
      p.refine = refine == 1;
      const double* wp = warped ? warps.data() : nullptr;
      std::vector<float> kc(n * kk * 2), kg(n * kk * 2), sc(n * kk), sg(n * kk);
      k::decode_heatmaps(maps.data(), n, kk, h, w, wp, p, kc.data(), sc.data());
      k::cuda::decode_heatmaps(maps.data(), n, kk, h, w, wp, p, kg.data(), sg.data());
      CHECK(sc == sg);
      for (size_t i = 0; i < kc.size(); ++i) {
        if (!(std::fabs(kc[i] - kg[i]) <= 1e-5 * std::fabs(kc[i]) + 1e-4)) {
          std::fprintf(stderr, "keypoint %zu: cpu %.9g gpu %.9g\n", i, kc[i], kg[i]);
          ++g_failures;
        }
      }
    }
  }
}

}  // namespace

int main() {
  if (!k::cuda::device_available()) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  test_nms_matches_cpu();
  test_heatmaps_match_cpu();
  if (g_failures != 0) {
    std::fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  std::printf("all CUDA kernel checks passed\n");
  return 0;
}
