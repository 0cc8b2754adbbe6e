// Minimal assertions for the plain C++ tests (no framework: CTest runs each binary and
// a non-zero exit code is a failure). Include in one translation unit per binary.
#pragma once

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include "core/status.h"

namespace argus_test {

inline int g_failures = 0;

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++argus_test::g_failures;                                                     \
    }                                                                               \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                                \
  do {                                                                                    \
    const std::string va_ = (a), vb_ = (b);                                               \
    if (va_ != vb_) {                                                                     \
      std::fprintf(stderr, "%s:%d: CHECK_EQ_STR failed: %s = \"%s\", expected \"%s\"\n", \
                   __FILE__, __LINE__, #a, va_.c_str(), vb_.c_str());                     \
      ++argus_test::g_failures;                                                           \
    }                                                                                     \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                            \
  do {                                                                                   \
    const double va_ = (a), vb_ = (b);                                                   \
    if (!(std::fabs(va_ - vb_) <= (tol))) {                                              \
      std::fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g\n", __FILE__, \
                   __LINE__, #a, va_, #b, vb_);                                          \
      ++argus_test::g_failures;                                                          \
    }                                                                                    \
  } while (0)

// Runs `fn`; checks it throws argus::Error with `status` (any message).
inline void check_throws(argus::Status status, const std::function<void()>& fn,
                         const char* what) {
  try {
    fn();
    std::fprintf(stderr, "expected argus::Error from: %s\n", what);
    ++g_failures;
  } catch (const argus::Error& e) {
    if (e.status() != status) {
      std::fprintf(stderr, "%s: status %d, expected %d (%s)\n", what, e.code(),
                   static_cast<int>(status), e.what());
      ++g_failures;
    }
  }
}

// Runs `fn`; checks it throws argus::Error with `status` and a message containing
// `needle` (any message when empty). Returns the message ("" when nothing was thrown).
inline std::string check_throws(argus::Status status, const std::string& needle,
                                const std::function<void()>& fn, const std::string& what) {
  try {
    fn();
  } catch (const argus::Error& e) {
    const std::string message = e.what();
    if (e.status() != status || message.find(needle) == std::string::npos) {
      std::fprintf(stderr, "%s: got status %d \"%s\", expected status %d with \"%s\"\n",
                   what.c_str(), e.code(), message.c_str(), static_cast<int>(status),
                   needle.c_str());
      ++g_failures;
    }
    return message;
  }
  std::fprintf(stderr, "%s: expected argus::Error containing \"%s\"\n", what.c_str(),
               needle.c_str());
  ++g_failures;
  return "";
}

inline int report(const char* name) {
  if (g_failures) {
    std::fprintf(stderr, "%s: %d check(s) failed\n", name, g_failures);
    return 1;
  }
  std::printf("%s: all checks passed\n", name);
  return 0;
}

}  // namespace argus_test
