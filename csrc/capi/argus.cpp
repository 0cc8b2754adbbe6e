// The C API (include/argus/argus.h) over argus::Session. Every entry point catches
// everything: exceptions never cross the C boundary.
#include "argus/argus.h"

#include <cstring>
#include <exception>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "capi/result_buffer.h"
#include "core/nv12.h"
#include "core/status.h"
#include "session/session.h"

struct argus_session {
  std::unique_ptr<argus::Session> session;
  std::vector<std::string> task_names;
  std::map<std::string, std::vector<std::string>> classes;
  std::map<std::string, std::string> kinds;
  std::string backend, variant, precision;  // the backend choice
  std::string failed_gate;                  // why accepted variants failed their gate
};

namespace {

thread_local std::string g_last_error;

void set_error(const char* message) noexcept {
  try {
    g_last_error = message;
  } catch (...) {
    g_last_error.clear();  // out of memory: an empty message is all we can give
  }
}

// Runs `body`; maps exceptions to status codes and the thread's last error.
template <class Body>
argus_status_t guarded(Body&& body) noexcept {
  try {
    body();
    g_last_error.clear();
    return ARGUS_STATUS_OK;
  } catch (const argus::Error& e) {
    set_error(e.what());
    return static_cast<argus_status_t>(e.code());
  } catch (const std::bad_alloc&) {
    set_error("out of memory");
  } catch (const std::exception& e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown C++ exception");
  }
  return ARGUS_STATUS_INTERNAL;
}

void require(bool ok, const char* what) {
  if (!ok) throw argus::Error(argus::Status::InvalidArgument, what);
}

// The C parameters as SessionOptions; the Session checks the values (one rule for every
// API), this only translates. precision_hint is the pre-0.2 spelling of the precision.
argus::SessionOptions options_from(const argus_session_params_t* given) {
  const argus_session_params_t p = given ? *given : argus_session_default_params();
  argus::SessionOptions o;
  o.backend = p.backend ? p.backend : argus_session_default_params().backend;
  if (p.variant) o.variant = p.variant;
  if (p.device) o.backend_options.device = p.device;
  if (p.precision) {
    o.precision = p.precision;
  } else if (p.precision_hint && std::strcmp(p.precision_hint, "f32") != 0) {
    require(std::strcmp(p.precision_hint, "bf16") == 0,
            "precision_hint must be \"f32\", \"bf16\" or NULL; set params.precision");
    o.precision = "bf16";
  }
  o.backend_options.threads = p.num_threads;
  o.backend_options.streams = p.num_streams;
  o.score_threshold = p.score_threshold;
  o.accept_failed_gate = p.accept_failed_gate != 0;
  return o;
}

// The image as an RGB/BGR view; NV12 is converted into `storage`.
argus::ImageView image_view(const argus_image_t& im, std::vector<uint8_t>& storage) {
  if (im.format == ARGUS_PIXEL_NV12) {
    argus::Nv12View nv12;
    nv12.y = im.data;
    nv12.width = im.width;
    nv12.height = im.height;
    nv12.y_stride = im.stride;
    nv12.uv_stride = im.uv_stride ? im.uv_stride : im.stride;
    nv12.uv = im.uv_data ? im.uv_data
                         : (im.data ? im.data + im.stride * int64_t{im.height} : nullptr);
    return argus::nv12_to_rgb(nv12, storage);
  }
  if (im.format != ARGUS_PIXEL_RGB8 && im.format != ARGUS_PIXEL_BGR8) {
    throw argus::Error(argus::Status::Image, "unknown pixel format");
  }
  argus::ImageView view;
  view.data = im.data;
  view.width = im.width;
  view.height = im.height;
  view.stride_bytes = im.stride;
  view.format = im.format == ARGUS_PIXEL_BGR8 ? argus::PixelFormat::BGR8
                                              : argus::PixelFormat::RGB8;
  return view;
}

}  // namespace

extern "C" {

const char* argus_status_string(argus_status_t status) {
  return argus::status_string(static_cast<argus::Status>(status));
}

const char* argus_last_error(void) { return g_last_error.c_str(); }

const char* argus_version(void) { return ARGUS_VERSION; }

argus_session_params_t argus_session_default_params(void) {
  argus_session_params_t p;
  std::memset(&p, 0, sizeof p);
  p.backend = "openvino";
  p.variant = nullptr;
  p.device = "CPU";
  p.precision_hint = "f32";
  p.score_threshold = -1.0f;
  p.precision = nullptr;
  p.accept_failed_gate = 0;
  return p;
}

argus_status_t argus_session_create(const char* path, const argus_session_params_t* params,
                                    argus_session_t** session) {
  if (session) *session = nullptr;
  return guarded([&] {
    require(path != nullptr, "path is NULL");
    require(session != nullptr, "session is NULL");
    auto s = std::make_unique<argus_session>();
    s->session = std::make_unique<argus::Session>(path, options_from(params));
    s->task_names = s->session->tasks();
    for (const std::string& t : s->task_names) {
      s->classes[t] = s->session->class_names(t);
      s->kinds[t] = s->session->task(t).kind;
    }
    const argus::BackendChoice& choice = s->session->choice();
    s->backend = choice.backend;
    s->variant = choice.variant;
    s->precision = choice.inference_precision();
    s->failed_gate = choice.failed_gate;
    *session = s.release();
  });
}

void argus_session_destroy(argus_session_t* session) {
  delete session;  // the destructors do not throw
}

argus_status_t argus_session_num_tasks(const argus_session_t* session, size_t* count) {
  return guarded([&] {
    require(session && count, "NULL argument");
    *count = session->task_names.size();
  });
}

argus_status_t argus_session_task_name(const argus_session_t* session, size_t index,
                                       const char** name) {
  return guarded([&] {
    require(session && name, "NULL argument");
    require(index < session->task_names.size(), "task index out of range");
    *name = session->task_names[index].c_str();
  });
}

argus_status_t argus_session_task_kind(const argus_session_t* session, const char* task,
                                       const char** kind) {
  return guarded([&] {
    require(session && task && kind, "NULL argument");
    auto it = session->kinds.find(task);
    if (it == session->kinds.end()) {
      throw argus::Error(argus::Status::UnknownTask, std::string("unknown task '") + task + "'");
    }
    *kind = it->second.c_str();
  });
}

argus_status_t argus_session_backend(const argus_session_t* session, const char** backend,
                                     const char** variant, const char** precision) {
  return guarded([&] {
    require(session != nullptr, "session is NULL");
    if (backend) *backend = session->backend.c_str();
    if (variant) *variant = session->variant.c_str();
    if (precision) *precision = session->precision.c_str();
  });
}

argus_status_t argus_session_failed_gate(const argus_session_t* session, const char** why) {
  return guarded([&] {
    require(session && why, "NULL argument");
    *why = session->failed_gate.c_str();
  });
}

argus_status_t argus_session_class_name(const argus_session_t* session, const char* task,
                                        int32_t label, const char** name) {
  return guarded([&] {
    require(session && task && name, "NULL argument");
    auto it = session->classes.find(task);
    if (it == session->classes.end()) {
      throw argus::Error(argus::Status::UnknownTask, std::string("unknown task '") + task + "'");
    }
    require(label >= 0 && size_t(label) < it->second.size(), "class label out of range");
    *name = it->second[size_t(label)].c_str();
  });
}

argus_status_t argus_session_run(argus_session_t* session, const argus_image_t* image,
                                 const char* const* tasks, size_t num_tasks,
                                 argus_result_t** result) {
  if (result) *result = nullptr;
  return guarded([&] {
    require(session && image && tasks && result, "NULL argument");
    require(num_tasks > 0, "num_tasks is 0");
    std::vector<std::string> names;
    for (size_t i = 0; i < num_tasks; ++i) {
      require(tasks[i] != nullptr, "a task name is NULL");
      names.emplace_back(tasks[i]);
    }
    std::vector<uint8_t> storage;
    const argus::ImageView view = image_view(*image, storage);
    const argus::Results results = session->session->run(view, names);
    *result = argus::capi::pack_results(results).release();
  });
}

void argus_result_release(argus_result_t* result) { delete result; }

}  // extern "C"
