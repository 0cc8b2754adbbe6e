// Plain C++ checks of resizing and preprocessing (no test framework: CTest runs this
// binary and a non-zero exit code is a failure).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

#include "core/preprocess.h"
#include "core/resize.h"
#include "check.h"
#include "core/status.h"

namespace {

using argus_test::check_throws;
using argus_test::g_failures;


std::vector<uint8_t> make_image(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> img(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < img.size(); i += 3) {
    img[i] = r;
    img[i + 1] = g;
    img[i + 2] = b;
  }
  return img;
}

void test_identity_resize() {
  const int c = 2, h = 5, w = 7;
  std::vector<float> src(c * h * w), dst(src.size());
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>((i * 37) % 101) - 50.0f;
  argus::resize_bilinear_aa(src.data(), c, h, w, dst.data(), h, w);
  for (size_t i = 0; i < src.size(); ++i) CHECK(dst[i] == src[i]);
}

void test_constant_stays_constant() {
  const int h = 13, w = 9;
  std::vector<float> src(h * w, 42.5f);
  const int sizes[][2] = {{4, 3}, {13, 9}, {31, 20}, {1, 1}, {7, 29}};
  for (const auto& s : sizes) {
    std::vector<float> dst(static_cast<size_t>(s[0]) * s[1]);
    argus::resize_bilinear_aa(src.data(), 1, h, w, dst.data(), s[0], s[1]);
    for (float v : dst) CHECK_NEAR(v, 42.5, 1e-4);
  }
}

void test_letterbox_640x480() {
  const int w = 640, h = 480;
  const std::vector<uint8_t> img = make_image(w, h, 200, 100, 50);
  argus::ImageView view{img.data(), w, h, w * 3, argus::PixelFormat::RGB8};
  argus::PreprocessParams params;  // 512x512 letterbox, ImageNet mean/std
  std::vector<float> out(3 * 512 * 512, -99.0f);
  argus::Transform t;
  argus::preprocess(view, params, out.data(), &t);
  CHECK_NEAR(t.scale_x, 0.8, 1e-7);
  CHECK_NEAR(t.scale_y, 0.8, 1e-7);
  CHECK_NEAR(t.offset_x, 0.0, 0.0);
  CHECK_NEAR(t.offset_y, 64.0, 0.0);
  CHECK(t.image_width == 640 && t.image_height == 480);

  const float pixel[3] = {200.0f, 100.0f, 50.0f};
  for (int c = 0; c < 3; ++c) {
    const float* plane = out.data() + c * 512 * 512;
    const double inside = (pixel[c] - params.mean[c]) / params.std[c];
    for (int y = 0; y < 512; ++y) {
      const bool pad = y < 64 || y >= 64 + 384;
      for (int x = 0; x < 512; x += 37) {
        CHECK_NEAR(plane[y * 512 + x], pad ? 0.0 : inside, 1e-5);
      }
    }
  }
  // A box covering the whole image maps to the letterboxed region and back.
  const argus::Point tl = t.to_tensor({0.0f, 0.0f}), br = t.to_tensor({640.0f, 480.0f});
  CHECK_NEAR(tl.y, 64.0, 1e-4);
  CHECK_NEAR(br.x, 512.0, 1e-4);
  CHECK_NEAR(br.y, 448.0, 1e-4);
  const argus::Box back = t.to_image(argus::Box{-5.0f, 0.0f, 600.0f, 448.0f});
  CHECK_NEAR(back.x1, 0.0, 0.0);  // clipped
  CHECK_NEAR(back.y1, 0.0, 0.0);  // clipped (the padding lies outside the image)
  CHECK_NEAR(back.x2, 640.0, 1e-6);
  CHECK_NEAR(back.y2, 480.0, 1e-4);
}

void test_bgr_matches_rgb() {
  const int w = 23, h = 17;
  std::vector<uint8_t> rgb(w * h * 3), bgr(rgb.size());
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 53) % 256);
  for (size_t i = 0; i < rgb.size(); i += 3) {
    bgr[i] = rgb[i + 2];
    bgr[i + 1] = rgb[i + 1];
    bgr[i + 2] = rgb[i];
  }
  argus::PreprocessParams params;
  params.out_height = 11;
  params.out_width = 30;
  std::vector<float> a(3 * 11 * 30), b(a.size());
  argus::preprocess({rgb.data(), w, h, w * 3, argus::PixelFormat::RGB8}, params, a.data(), nullptr);
  argus::preprocess({bgr.data(), w, h, w * 3, argus::PixelFormat::BGR8}, params, b.data(), nullptr);
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
}

void test_invalid_input() {
  using argus::Status;
  const std::vector<uint8_t> img = make_image(4, 4, 1, 2, 3);
  std::vector<float> out(3 * 8 * 8);
  const argus::PreprocessParams ok_params = [] {
    argus::PreprocessParams p;
    p.out_height = p.out_width = 8;
    return p;
  }();
  const argus::ImageView ok{img.data(), 4, 4, 12, argus::PixelFormat::RGB8};

  const auto run = [&](const argus::ImageView& view) {
    argus::preprocess(view, ok_params, out.data(), nullptr);
  };
  check_throws(Status::Image, [&] { run({nullptr, 4, 4, 12, argus::PixelFormat::RGB8}); },
               "null data");
  check_throws(Status::Image, [&] { run({img.data(), 0, 4, 12, argus::PixelFormat::RGB8}); },
               "zero width");
  check_throws(Status::Image, [&] { run({img.data(), 4, 4, 11, argus::PixelFormat::RGB8}); },
               "short stride");
  check_throws(Status::InvalidArgument, [&] {
    argus::PreprocessParams p = ok_params;
    p.out_width = 0;
    argus::preprocess(ok, p, out.data(), nullptr);
  }, "zero output width");
  check_throws(Status::InvalidArgument, [&] {
    argus::PreprocessParams p = ok_params;
    p.std[1] = 0.0f;
    argus::preprocess(ok, p, out.data(), nullptr);
  }, "zero std");
  check_throws(Status::InvalidArgument, [&] {
    argus::preprocess(ok, ok_params, nullptr, nullptr);
  }, "null output");
  check_throws(Status::InvalidArgument, [&] {
    std::vector<float> src(4), dst(4);
    argus::resize_bilinear_aa(src.data(), 1, 2, 2, dst.data(), -1, 2);
  }, "negative resize size");
}

}  // namespace

int main() {
  test_identity_resize();
  test_constant_stays_constant();
  test_letterbox_640x480();
  test_bgr_matches_rgb();
  test_invalid_input();
  if (g_failures != 0) {
    std::fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  std::printf("all preprocess checks passed\n");
  return 0;
}
