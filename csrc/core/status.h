// Status codes and the typed exception of libargus.
//
// The numeric codes are shared with Python (argus_edge/_errors.py, STATUS_TO_ERROR)
// and, later, with the C API: never renumber, only append.
#pragma once

#include <stdexcept>
#include <string>

namespace argus {

enum class Status : int {
  Ok = 0,
  InvalidArgument = 1,     // a parameter has the wrong value, shape or size
  UnknownTask = 2,         // a task key the model or bundle does not provide
  Image = 3,               // an image that cannot be used (empty, bad layout)
  Bundle = 4,              // a missing, truncated or corrupt .engine bundle
  BackendUnavailable = 5,  // the requested backend is not built in or not installed
  Internal = 6,            // a bug in libargus
  GateFailed = 7,          // INT8 variants that failed their accuracy gate, not accepted
};

// Short, stable name of a status ("invalid argument", ...); never null.
inline const char* status_string(Status status) noexcept {
  switch (status) {
    case Status::Ok: return "ok";
    case Status::InvalidArgument: return "invalid argument";
    case Status::UnknownTask: return "unknown task";
    case Status::Image: return "image error";
    case Status::Bundle: return "bundle error";
    case Status::BackendUnavailable: return "backend unavailable";
    case Status::Internal: return "internal error";
    case Status::GateFailed: return "accuracy gate failed";
  }
  return "unknown status";
}

// The only exception libargus throws on purpose; the status says which kind of failure.
class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}

  Status status() const noexcept { return status_; }
  int code() const noexcept { return static_cast<int>(status_); }

 private:
  Status status_;
};

}  // namespace argus
