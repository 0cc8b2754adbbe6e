// The C++ wrapper include/argus/argus.hpp: handles, exceptions. Optional arg: a bundle.
#include <argus/argus.hpp>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  int failures = 0;
  try {
    argus::c::create_session("/nonexistent/x.engine");
    ++failures;
  } catch (const argus::c::Error& e) {
    if (e.status() != ARGUS_STATUS_BUNDLE) ++failures;
  }
  if (argc > 1) {
    try {
      argus::c::Session session = argus::c::create_session(argv[1]);
      std::vector<unsigned char> pixels(32 * 24 * 3, 90);
      argus_image_t image{pixels.data(), 32, 24, 32 * 3, ARGUS_PIXEL_BGR8, nullptr, 0};
      argus::c::Result result = argus::c::run(session.get(), image, {"det", "cls"});
      const auto dets = argus::c::detections(result.get(), "det");
      for (const argus_detection_t& d : dets) failures += d.x2 > 32 || d.y2 > 24;
      try {
        argus::c::detections(result.get(), "cls");  // cls has no detections
        ++failures;
      } catch (const argus::c::Error& e) {
        failures += e.status() != ARGUS_STATUS_UNKNOWN_TASK;
      }
    } catch (const argus::c::Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      failures += e.status() != ARGUS_STATUS_BACKEND_UNAVAILABLE;
    }
  }
  std::printf(failures ? "FAILED\n" : "argus.hpp checks passed\n");
  return failures ? 1 : 0;
}
