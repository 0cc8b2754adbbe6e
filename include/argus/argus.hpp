// C++ convenience layer over the C API (include/argus/argus.h): handles owned by
// std::unique_ptr with the matching destroy/release call, and failures as exceptions.
//
//   argus::c::Session session = argus::c::create_session("model.engine");
//   argus::c::Result result = argus::c::run(session.get(), image, {"det"});
//
// Header-only; links against libargus_c like a C program.
#ifndef ARGUS_ARGUS_HPP_
#define ARGUS_ARGUS_HPP_

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "argus/argus.h"

namespace argus::c {

struct SessionDeleter {
  void operator()(argus_session_t* s) const noexcept { argus_session_destroy(s); }
};
struct ResultDeleter {
  void operator()(argus_result_t* r) const noexcept { argus_result_release(r); }
};

using Session = std::unique_ptr<argus_session_t, SessionDeleter>;
using Result = std::unique_ptr<argus_result_t, ResultDeleter>;

// A failed C call: its status and argus_last_error() at the time.
class Error : public std::runtime_error {
 public:
  Error(argus_status_t status, const std::string& message)
      : std::runtime_error(std::string(argus_status_string(status)) + ": " + message),
        status_(status) {}
  argus_status_t status() const noexcept { return status_; }

 private:
  argus_status_t status_;
};

// Throws Error unless `status` is ARGUS_STATUS_OK.
inline void check(argus_status_t status) {
  if (status != ARGUS_STATUS_OK) throw Error(status, argus_last_error());
}

inline Session create_session(const std::string& path,
                              const argus_session_params_t& params =
                                  argus_session_default_params()) {
  argus_session_t* raw = nullptr;
  check(argus_session_create(path.c_str(), &params, &raw));
  return Session(raw);
}

inline Result run(argus_session_t* session, const argus_image_t& image,
                  const std::vector<std::string>& tasks) {
  std::vector<const char*> names;
  for (const std::string& t : tasks) names.push_back(t.c_str());
  argus_result_t* raw = nullptr;
  check(argus_session_run(session, &image, names.data(), names.size(), &raw));
  return Result(raw);
}

// The detections of `task` as a vector (copied out of the result).
inline std::vector<argus_detection_t> detections(const argus_result_t* result,
                                                 const std::string& task) {
  const argus_detection_t* data = nullptr;
  size_t n = 0;
  check(argus_result_detections(result, task.c_str(), &data, &n));
  return std::vector<argus_detection_t>(data, data + n);
}

}  // namespace argus::c

#endif  // ARGUS_ARGUS_HPP_
