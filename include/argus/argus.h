/* libargus C API: run an Argus multi-task bundle (.engine) on images.
 *
 *   argus_session_params_t params = argus_session_default_params();
 *   argus_session_t* session = NULL;
 *   if (argus_session_create("model.engine", &params, &session) != ARGUS_STATUS_OK) {
 *     fprintf(stderr, "%s\n", argus_last_error());
 *   }
 *   argus_image_t image = {pixels, width, height, width * 3, ARGUS_PIXEL_RGB8, NULL, 0};
 *   const char* tasks[] = {"det"};
 *   argus_result_t* result = NULL;
 *   argus_session_run(session, &image, tasks, 1, &result);
 *   const argus_detection_t* dets; size_t n;
 *   argus_result_detections(result, "det", &dets, &n);   (typed accessor)
 *   argus_array_t boxes;
 *   argus_result_array(result, "det", "boxes", &boxes);   (any task kind: named arrays)
 *   argus_result_release(result);
 *   argus_session_destroy(session);
 *
 * Conventions, for every function below:
 * - Functions that can fail return argus_status_t; ARGUS_STATUS_OK (0) is success. On
 *   failure the out-parameters are left unchanged, except that *session / *result are
 *   set to NULL by create / run, and argus_last_error() describes the failure (session
 *   functions; the result accessors below only return the status).
 * - A NULL pointer where an object or out-parameter is required returns
 *   ARGUS_STATUS_INVALID_ARGUMENT. No function aborts or lets a C++ exception escape.
 * - Coordinates are image pixels with pixel-edge convention: pixel (i, j) covers
 *   [i, i+1) x [j, j+1); keypoints are at pixel centres (pixel i is at x = i).
 * - Strings passed in are UTF-8 and only read during the call.
 * - Everything a result exposes lives in that result's single buffer and is valid until
 *   argus_result_release(); never free() it.
 *
 * Thread safety: argus_session_run may be called on one session from several threads at
 * once. create/destroy of a session must not race with other calls on that session. A
 * result is immutable: its accessors may be called from any thread. argus_last_error()
 * is per thread.
 */
#ifndef ARGUS_ARGUS_H_
#define ARGUS_ARGUS_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(ARGUS_C_BUILD)
#define ARGUS_API __declspec(dllexport)
#else
#define ARGUS_API __declspec(dllimport)
#endif
#else
#define ARGUS_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes; the numbers are shared with the Python package. Only appended to. */
typedef enum argus_status {
  ARGUS_STATUS_OK = 0,
  ARGUS_STATUS_INVALID_ARGUMENT = 1,    /* NULL pointer, bad size or parameter value */
  ARGUS_STATUS_UNKNOWN_TASK = 2,        /* a task the bundle does not provide */
  ARGUS_STATUS_IMAGE = 3,               /* an image that cannot be used (empty, bad stride) */
  ARGUS_STATUS_BUNDLE = 4,              /* missing, truncated or corrupt bundle file */
  ARGUS_STATUS_BACKEND_UNAVAILABLE = 5, /* backend not built in / graph not runnable */
  ARGUS_STATUS_INTERNAL = 6,            /* a bug in libargus or the engine failed; also
                                           out of memory */
  ARGUS_STATUS_GATE_FAILED = 7          /* the chosen variants failed their INT8
                                           accuracy gate (params.accept_failed_gate) */
} argus_status_t;

/* Short, stable English name of a status ("invalid argument"); never NULL, static. */
ARGUS_API const char* argus_status_string(argus_status_t status);

/* Message of the last failed call on this thread ("" if none); owned by libargus, valid
 * until the next argus_* call on this thread. */
ARGUS_API const char* argus_last_error(void);

/* Version string of libargus ("0.2.0", CMake's project version); static. */
ARGUS_API const char* argus_version(void);

/* ---- images ---------------------------------------------------------------------- */

typedef enum argus_pixel_format {
  ARGUS_PIXEL_RGB8 = 0, /* 3 bytes per pixel R, G, B */
  ARGUS_PIXEL_BGR8 = 1, /* 3 bytes per pixel B, G, R (OpenCV) */
  ARGUS_PIXEL_NV12 = 2  /* Y plane + interleaved UV plane at half resolution, BT.601
                           limited range (camera ISPs); width and height must be even */
} argus_pixel_format_t;

/* A caller-owned image, only read during argus_session_run. */
typedef struct argus_image {
  const uint8_t* data;          /* RGB/BGR pixels, or the NV12 Y plane */
  int32_t width;                /* pixels, > 0 */
  int32_t height;               /* pixels, > 0 */
  int64_t stride;               /* bytes between rows of `data` (>= width*3, NV12 >= width) */
  argus_pixel_format_t format;
  const uint8_t* uv_data;       /* NV12 only: the UV plane; NULL: at data + stride*height */
  int64_t uv_stride;            /* NV12 only: bytes between UV rows; 0: `stride` */
} argus_image_t;

/* ---- sessions -------------------------------------------------------------------- */

typedef struct argus_session argus_session_t; /* opaque */

/* Parameters of argus_session_create; get them from argus_session_default_params().
 * Fields are only ever appended. Strings are copied by create. */
typedef struct argus_session_params {
  const char* backend;        /* a backend name ("openvino", the default; NULL = default)
                                 or "auto": the first eligible in the backend registry's
                                 order (docs/runtime.md, "Choosing the backend") */
  const char* variant;        /* a bundle variant every graph has, e.g. "openvino-int8";
                                 NULL: chosen by `precision` */
  const char* device;         /* engine device: "CPU" (default; NULL = default) */
  int32_t num_threads;        /* inference threads (>= 0); 0: engine default */
  int32_t num_streams;        /* parallel inference streams (>= 0); 0: engine default */
  const char* precision_hint; /* used only when `precision` is NULL: "f32" (default) or
                                 NULL means precision NULL; "bf16" means precision "bf16";
                                 anything else is INVALID_ARGUMENT */
  float score_threshold;      /* score threshold of the kinds that have one (detections,
                                 the people of top-down pose) in [0, 1];
                                 < 0 (default -1): the bundle's */
  /* Appended in 0.2.0. */
  const char* precision;      /* "fp32", "fp16", "int8" (the bundle's variants of that
                                 precision), "bf16" (fp32 variants, bf16 compute; backends
                                 with precision hints only); NULL (default): the most
                                 precise variant the bundle holds, run exactly. The same
                                 rule as argus_edge.Session(precision=...). */
  int32_t accept_failed_gate; /* 0 (default): refuse variants whose manifest records a
                                 failed INT8 accuracy gate (GATE_FAILED); nonzero: run
                                 them (argus_session_failed_gate says which) */
} argus_session_params_t;

ARGUS_API argus_session_params_t argus_session_default_params(void);

/* Opens and verifies (every checksum) the bundle at `path`, chooses the backend, the
 * variant of every graph and the inference precision from `params`, and prepares the
 * tasks; graphs are compiled on first use. `params` may be NULL (defaults). On success
 * *session owns the bundle and must be passed to argus_session_destroy.
 * Returns OK, INVALID_ARGUMENT (NULL path/session, bad params: unknown backend or
 * precision name, negative threads or streams, score_threshold > 1 or NaN), BUNDLE
 * (missing, truncated or corrupt file), BACKEND_UNAVAILABLE (no eligible backend: not
 * built in, no variant at that precision, custom nodes it cannot run; the message names
 * why for each backend tried), GATE_FAILED (the variants it would run failed their INT8
 * accuracy gate and params.accept_failed_gate is 0), INTERNAL. */
ARGUS_API argus_status_t argus_session_create(const char* path,
                                              const argus_session_params_t* params,
                                              argus_session_t** session);

/* Frees a session; NULL is a no-op. Results of the session stay valid. */
ARGUS_API void argus_session_destroy(argus_session_t* session);

/* Number of tasks the bundle provides, and the name of task `index` (sorted order;
 * the string is owned by the session). Returns OK or INVALID_ARGUMENT. */
ARGUS_API argus_status_t argus_session_num_tasks(const argus_session_t* session, size_t* count);
ARGUS_API argus_status_t argus_session_task_name(const argus_session_t* session, size_t index,
                                                 const char** name);

/* The decoder kind of `task` ("dense_detection", "label_map", ...: what its results
 * hold, docs/bundle_format.md); owned by the session. Returns OK, INVALID_ARGUMENT (NULL),
 * UNKNOWN_TASK. */
ARGUS_API argus_status_t argus_session_task_kind(const argus_session_t* session,
                                                 const char* task, const char** kind);

/* What the session chose (any out-parameter may be NULL): the backend ("openvino"), the
 * variant every graph runs ("openvino-fp32"; names joined by "," if graphs differ) and
 * the precision the engine computes in ("f32" exact fp32, "bf16", "fp16", "int8").
 * Strings are owned by the session. Returns OK or INVALID_ARGUMENT (NULL session). */
ARGUS_API argus_status_t argus_session_backend(const argus_session_t* session,
                                               const char** backend, const char** variant,
                                               const char** precision);

/* Why the variants the session runs failed their INT8 accuracy gate, when
 * params.accept_failed_gate let it run them; "" when none did (or none records a gate).
 * Owned by the session. Returns OK or INVALID_ARGUMENT (NULL). */
ARGUS_API argus_status_t argus_session_failed_gate(const argus_session_t* session,
                                                   const char** why);

/* Name of class `label` of `task` (e.g. "person"); owned by the session.
 * Returns OK, INVALID_ARGUMENT (NULL, label out of range), UNKNOWN_TASK. */
ARGUS_API argus_status_t argus_session_class_name(const argus_session_t* session,
                                                  const char* task, int32_t label,
                                                  const char** name);

typedef struct argus_result argus_result_t; /* opaque */

/* Runs `tasks` (num_tasks task keys of the bundle, e.g. "det", "sem", "pose") on `image`.
 * The backbone runs once per image; tasks the requested ones need (top-down pose needs
 * person boxes) run too but are not in the result.
 * On success *result must be passed to argus_result_release.
 * Returns OK, INVALID_ARGUMENT (NULL pointers, num_tasks 0, a repeated task), IMAGE
 * (zero-sized image, too small a stride, unknown format), UNKNOWN_TASK, BUNDLE (a task
 * of the bundle this libargus cannot run: unknown decoder kind, bad parameters, unmet
 * needs), BACKEND_UNAVAILABLE, INTERNAL. */
ARGUS_API argus_status_t argus_session_run(argus_session_t* session, const argus_image_t* image,
                                           const char* const* tasks, size_t num_tasks,
                                           argus_result_t** result);

/* Frees a result and everything its accessors returned; NULL is a no-op. */
ARGUS_API void argus_result_release(argus_result_t* result);

/* ---- results as named arrays (any task kind) --------------------------------------
 * A task's result is a list of named, typed, row-major arrays; its decoder kind fixes
 * which (the bundle's manifest declares them, docs/bundle_format.md §3.5). The typed
 * accessors further below read the conventional names:
 *   boxes (n, 4) float32 xyxy pixels, scores (n) float32, labels (n) int64,
 *   masks (n, h, w) uint8 0/1, label_map (h, w) int32, value_map (h, w) float32,
 *   class_labels (k) int64, class_scores (k) float32, keypoints (n, k, 3) float32. */

/* Element types; the numbers are stable. */
typedef enum argus_dtype {
  ARGUS_DTYPE_FLOAT32 = 0,
  ARGUS_DTYPE_INT32 = 1,
  ARGUS_DTYPE_INT64 = 2,
  ARGUS_DTYPE_UINT8 = 3
} argus_dtype_t;

/* "float32", "int32", "int64", "uint8" ("unknown" for other values); static. */
ARGUS_API const char* argus_dtype_string(argus_dtype_t dtype);
/* Bytes per element (0 for unknown values). */
ARGUS_API size_t argus_dtype_size(argus_dtype_t dtype);

#define ARGUS_MAX_DIMS 8

/* One array of a result, filled by the calls below. This struct is fixed: it never
 * grows (new information gets new functions). */
typedef struct argus_array {
  const char* name;              /* e.g. "boxes"; owned by the result */
  argus_dtype_t dtype;
  int32_t ndim;                  /* 0..ARGUS_MAX_DIMS */
  int64_t shape[ARGUS_MAX_DIMS]; /* shape[0..ndim); the rest 0 */
  const void* data;              /* row-major, 16-byte aligned, in the result's buffer;
                                    NULL when the array has no elements */
  size_t num_bytes;              /* product of the shape times argus_dtype_size(dtype) */
} argus_array_t;

/* Number of tasks in the result (as requested, in that order), and the key and decoder
 * kind of task `index` (strings owned by the result; either out-pointer may be NULL).
 * Return OK or INVALID_ARGUMENT (NULL result/count, index out of range). */
ARGUS_API argus_status_t argus_result_num_tasks(const argus_result_t* result, size_t* count);
ARGUS_API argus_status_t argus_result_task(const argus_result_t* result, size_t index,
                                           const char** task, const char** kind);

/* The array `name` of `task`. Returns OK, INVALID_ARGUMENT (NULL pointers) or
 * UNKNOWN_TASK (the task was not run, or its result has no array of that name). */
ARGUS_API argus_status_t argus_result_array(const argus_result_t* result, const char* task,
                                            const char* name, argus_array_t* array);

/* Enumerates the arrays of `task`: their number, and array `index` (kind order).
 * Return OK, INVALID_ARGUMENT (NULL pointers, index out of range), UNKNOWN_TASK. */
ARGUS_API argus_status_t argus_result_num_arrays(const argus_result_t* result,
                                                 const char* task, size_t* count);
ARGUS_API argus_status_t argus_result_array_at(const argus_result_t* result, const char* task,
                                               size_t index, argus_array_t* array);

/* ---- typed result accessors -----------------------------------------------------
 * Views of the conventional arrays above, for any task whose kind returns them. Each
 * takes the task key as requested in argus_session_run and returns OK,
 * INVALID_ARGUMENT (NULL pointers) or UNKNOWN_TASK (the task was not run, or has no
 * such arrays). Pointers are into the result's buffer; with a count of 0 the
 * pointer may be NULL. Accessors (these and the array ones) are lock-free reads and
 * leave argus_last_error() as it was. */

typedef struct argus_detection {
  float x1, y1, x2, y2; /* box, image pixels, clipped to the image */
  float score;          /* confidence in (0, 1] */
  int32_t label;        /* class index; argus_session_class_name gives its name */
} argus_detection_t;

/* Detections (boxes, scores, labels: "det", "inst", and "pose": its person boxes), by
 * descending score. */
ARGUS_API argus_status_t argus_result_num_detections(const argus_result_t* result,
                                                     const char* task, size_t* count);
ARGUS_API argus_status_t argus_result_detections(const argus_result_t* result, const char* task,
                                                 const argus_detection_t** detections,
                                                 size_t* count);

/* masks ("inst"): count masks of height x width bytes (0/1), mask i for detection i. */
ARGUS_API argus_status_t argus_result_masks(const argus_result_t* result, const char* task,
                                            const uint8_t** masks, size_t* count,
                                            int32_t* height, int32_t* width);

/* label_map ("sem"): height x width class indices (row-major) at image resolution. */
ARGUS_API argus_status_t argus_result_label_map(const argus_result_t* result, const char* task,
                                                const int32_t** labels, int32_t* height,
                                                int32_t* width);

/* value_map ("depth"): height x width float values (metres for depth) at image
 * resolution. */
ARGUS_API argus_status_t argus_result_value_map(const argus_result_t* result, const char* task,
                                                const float** values, int32_t* height,
                                                int32_t* width);

typedef struct argus_class_score {
  int32_t label; /* class index */
  float score;   /* softmax probability */
} argus_class_score_t;

/* class_labels + class_scores ("cls"): the top-k classes, best first. */
ARGUS_API argus_status_t argus_result_classes(const argus_result_t* result, const char* task,
                                              const argus_class_score_t** classes,
                                              size_t* count);

typedef struct argus_keypoint {
  float x, y;  /* image pixels (pixel centres) */
  float score; /* heatmap maximum */
} argus_keypoint_t;

/* keypoints ("pose"): num_people x num_keypoints keypoints (person-major); person i is
 * detection i of argus_result_detections(result, "pose", ...). */
ARGUS_API argus_status_t argus_result_keypoints(const argus_result_t* result, const char* task,
                                                const argus_keypoint_t** keypoints,
                                                size_t* num_people, size_t* num_keypoints);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ARGUS_ARGUS_H_ */
