/* C API tests (C99). Without arguments: the checks that need no bundle. With
 *   test_capi BUNDLE [CYCLES [RUNS]]
 * also corrupt copies of BUNDLE, every task on a synthetic image, NV12 input, pose on
 * detected persons, CYCLES (10) create/run/destroy cycles and RUNS (1000) run/release
 * cycles on one session (run under ARGUS_SANITIZE for leaks). With >= 100 cycles the
 * resident set size after the last cycle must be within RSS_SLACK_MB of the size after
 * the first tenth (engine caches warm up first), so a per-cycle leak shows without
 * sanitizers too. */
#include <argus/argus.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, \
              __LINE__, #cond, argus_last_error());                            \
      ++g_failures;                                                            \
    }                                                                          \
  } while (0)

#define W 80
#define H 60
static unsigned char g_pixels[H * W * 3];

static argus_image_t rgb_image(void) {
  argus_image_t im;
  memset(&im, 0, sizeof im);
  im.data = g_pixels;
  im.width = W;
  im.height = H;
  im.stride = W * 3;
  im.format = ARGUS_PIXEL_RGB8;
  return im;
}

static void test_without_bundle(void) {
  argus_session_params_t p = argus_session_default_params();
  argus_session_t* s = (argus_session_t*)&p; /* must be reset to NULL on failure */
  argus_result_t* r = NULL;
  const char* task = "det";
  const argus_detection_t* dets = NULL;
  size_t n = 0;
  argus_image_t im = rgb_image();
  CHECK(strcmp(argus_status_string(ARGUS_STATUS_OK), "ok") == 0);
  CHECK(strcmp(argus_status_string(ARGUS_STATUS_UNKNOWN_TASK), "unknown task") == 0);
  CHECK(argus_status_string((argus_status_t)99) != NULL);
  CHECK(strcmp(p.backend, "openvino") == 0 && strcmp(p.precision_hint, "f32") == 0);
  CHECK(argus_session_create(NULL, &p, &s) == ARGUS_STATUS_INVALID_ARGUMENT && s == NULL);
  CHECK(strlen(argus_last_error()) > 0);
  CHECK(argus_session_create("x.engine", &p, NULL) == ARGUS_STATUS_INVALID_ARGUMENT);
  CHECK(argus_session_create("/nonexistent/x.engine", &p, &s) == ARGUS_STATUS_BUNDLE);
  CHECK(s == NULL && strstr(argus_last_error(), "no such bundle file") != NULL);
  CHECK(argus_session_run(NULL, &im, &task, 1, &r) == ARGUS_STATUS_INVALID_ARGUMENT);
  CHECK(r == NULL);
  CHECK(argus_result_detections(NULL, "det", &dets, &n) == ARGUS_STATUS_INVALID_ARGUMENT);
  CHECK(argus_result_num_detections(NULL, "det", NULL) == ARGUS_STATUS_INVALID_ARGUMENT);
  argus_session_destroy(NULL);
  argus_result_release(NULL);
}

/* Writes a copy of `src` to `dst`, truncated to `keep` bytes (0: whole), with byte
 * `flip` (if >= 0) xor-ed. Returns the source size, or 0 on failure. */
static long corrupt_copy(const char* src, const char* dst, long keep, long flip) {
  FILE* in = fopen(src, "rb");
  FILE* out;
  long size;
  unsigned char* buf;
  if (!in) return 0;
  fseek(in, 0, SEEK_END);
  size = ftell(in);
  fseek(in, 0, SEEK_SET);
  buf = (unsigned char*)malloc((size_t)size);
  if (!buf || fread(buf, 1, (size_t)size, in) != (size_t)size) size = 0;
  fclose(in);
  if (size && flip >= 0 && flip < size) buf[flip] ^= 0x10;
  out = size ? fopen(dst, "wb") : NULL;
  if (out) {
    fwrite(buf, 1, (size_t)(keep ? keep : size), out);
    fclose(out);
  }
  free(buf);
  return size;
}

static void test_corrupt(const char* bundle) {
  char path[4096];
  argus_session_t* s = NULL;
  long size;
  snprintf(path, sizeof path, "%s.corrupt", bundle);
  size = corrupt_copy(bundle, path, 0, -1);
  CHECK(size > 0);
  corrupt_copy(bundle, path, size / 2, -1); /* truncated */
  CHECK(argus_session_create(path, NULL, &s) == ARGUS_STATUS_BUNDLE && s == NULL);
  corrupt_copy(bundle, path, 0, size / 2); /* one bit flipped inside a blob */
  CHECK(argus_session_create(path, NULL, &s) == ARGUS_STATUS_BUNDLE && s == NULL);
  corrupt_copy(bundle, path, 0, 100); /* ... inside the manifest */
  CHECK(argus_session_create(path, NULL, &s) == ARGUS_STATUS_BUNDLE && s == NULL);
  remove(path);
}

static void check_detections(const argus_result_t* r, const char* task) {
  const argus_detection_t* d = NULL;
  size_t n = 0, n2 = 0, i;
  CHECK(argus_result_detections(r, task, &d, &n) == ARGUS_STATUS_OK);
  CHECK(argus_result_num_detections(r, task, &n2) == ARGUS_STATUS_OK && n == n2);
  for (i = 0; i < n; ++i) {
    CHECK(d[i].x1 >= 0 && d[i].x1 <= d[i].x2 && d[i].x2 <= W);
    CHECK(d[i].y1 >= 0 && d[i].y1 <= d[i].y2 && d[i].y2 <= H);
    CHECK(d[i].score > 0 && d[i].score <= 1 && d[i].label >= 0 && d[i].label < 3);
    if (i) CHECK(d[i].score <= d[i - 1].score);
  }
}

static void check_maps(const argus_result_t* r) {
  const uint8_t* masks = NULL;
  const int32_t* labels = NULL;
  const float* depth = NULL;
  const argus_class_score_t* cls = NULL;
  size_t n = 0, dets = 0, i;
  int32_t h = 0, w = 0;
  CHECK(argus_result_masks(r, "inst", &masks, &n, &h, &w) == ARGUS_STATUS_OK);
  CHECK(argus_result_num_detections(r, "inst", &dets) == ARGUS_STATUS_OK && n == dets);
  CHECK(n == 0 || (h == H && w == W && masks[0] <= 1));
  CHECK(argus_result_label_map(r, "sem", &labels, &h, &w) == ARGUS_STATUS_OK);
  CHECK(h == H && w == W);
  for (i = 0; i < (size_t)(H * W); ++i) CHECK(labels[i] >= 0 && labels[i] < 4);
  CHECK(argus_result_value_map(r, "depth", &depth, &h, &w) == ARGUS_STATUS_OK);
  CHECK(h == H && w == W && depth[0] >= 0 && depth[0] <= 10 && isfinite(depth[H * W - 1]));
  CHECK(argus_result_classes(r, "cls", &cls, &n) == ARGUS_STATUS_OK && n == 5);
  CHECK(cls[0].score >= cls[4].score && cls[0].label >= 0 && cls[0].label < 5);
  CHECK(argus_result_label_map(r, "det", &labels, &h, &w) == ARGUS_STATUS_UNKNOWN_TASK);
  CHECK(argus_result_classes(r, "nope", &cls, &n) == ARGUS_STATUS_UNKNOWN_TASK);
}

static void check_pose(const argus_result_t* r) {
  const argus_keypoint_t* k = NULL;
  size_t people = 0, nk = 0, persons = 0;
  CHECK(argus_result_keypoints(r, "pose", &k, &people, &nk) == ARGUS_STATUS_OK);
  CHECK(nk == 17);
  CHECK(argus_result_num_detections(r, "pose", &persons) == ARGUS_STATUS_OK);
  CHECK(persons == people);
  if (people) CHECK(isfinite(k[0].x) && isfinite(k[people * nk - 1].score));
  printf("pose: %zu people\n", people);
}

/* The generic accessors agree with the typed ones; the session reports kinds and choice. */
static void check_arrays(const argus_session_t* s, const argus_result_t* r) {
  argus_array_t a;
  const argus_detection_t* d = NULL;
  const int32_t* labels = NULL;
  const char *kind = NULL, *backend = NULL, *variant = NULL, *precision = NULL, *task = NULL;
  size_t n = 0, i, count = 0;
  int32_t h = 0, w = 0;
  CHECK(argus_session_task_kind(s, "det", &kind) == ARGUS_STATUS_OK);
  CHECK(kind && strcmp(kind, "dense_detection") == 0);
  CHECK(argus_session_task_kind(s, "teleport", &kind) == ARGUS_STATUS_UNKNOWN_TASK);
  CHECK(argus_session_backend(s, &backend, &variant, &precision) == ARGUS_STATUS_OK);
  CHECK(strcmp(backend, "openvino") == 0 && strcmp(variant, "openvino-fp32") == 0);
  CHECK(strcmp(precision, "f32") == 0);
  CHECK(argus_result_num_tasks(r, &count) == ARGUS_STATUS_OK && count == 6);
  CHECK(argus_result_task(r, 0, &task, &kind) == ARGUS_STATUS_OK && strcmp(task, "det") == 0);
  CHECK(argus_result_array(r, "det", "boxes", &a) == ARGUS_STATUS_OK);
  CHECK(argus_result_detections(r, "det", &d, &n) == ARGUS_STATUS_OK);
  CHECK(a.dtype == ARGUS_DTYPE_FLOAT32 && a.ndim == 2 && a.shape[0] == (int64_t)n);
  CHECK(a.shape[1] == 4 && a.num_bytes == n * 4 * argus_dtype_size(a.dtype));
  for (i = 0; i < n; ++i) {
    const float* box = (const float*)a.data + 4 * i;
    CHECK(box[0] == d[i].x1 && box[1] == d[i].y1 && box[2] == d[i].x2 && box[3] == d[i].y2);
  }
  CHECK(argus_result_array(r, "sem", "label_map", &a) == ARGUS_STATUS_OK);
  CHECK(argus_result_label_map(r, "sem", &labels, &h, &w) == ARGUS_STATUS_OK);
  CHECK(a.data == (const void*)labels && a.shape[0] == h && a.shape[1] == w);
  CHECK(strcmp(argus_dtype_string(a.dtype), "int32") == 0);
  CHECK(argus_result_array(r, "sem", "boxes", &a) == ARGUS_STATUS_UNKNOWN_TASK);
  CHECK(argus_result_array(r, "sem", "label_map", NULL) == ARGUS_STATUS_INVALID_ARGUMENT);
  CHECK(argus_result_num_arrays(r, "pose", &count) == ARGUS_STATUS_OK && count == 4);
  CHECK(argus_result_array_at(r, "pose", 3, &a) == ARGUS_STATUS_OK);
  CHECK(strcmp(a.name, "keypoints") == 0 && a.ndim == 3 && a.shape[2] == 3);
  CHECK(argus_result_array_at(r, "pose", 4, &a) == ARGUS_STATUS_INVALID_ARGUMENT);
}

static void test_runs(argus_session_t* s) {
  const char* all[] = {"det", "inst", "sem", "depth", "cls", "pose"};
  const char* bad[] = {"det", "teleport"};
  const char* twice[] = {"det", "det"};
  argus_result_t* r = NULL;
  argus_image_t im = rgb_image();
  const char* name = NULL;
  CHECK(argus_session_class_name(s, "det", 0, &name) == ARGUS_STATUS_OK);
  CHECK(name && strcmp(name, "person") == 0);
  CHECK(argus_session_class_name(s, "det", 9, &name) == ARGUS_STATUS_INVALID_ARGUMENT);
  CHECK(argus_session_run(s, &im, bad, 2, &r) == ARGUS_STATUS_UNKNOWN_TASK && r == NULL);
  CHECK(argus_session_run(s, &im, twice, 2, &r) == ARGUS_STATUS_INVALID_ARGUMENT);
  CHECK(argus_session_run(s, &im, all, 0, &r) == ARGUS_STATUS_INVALID_ARGUMENT);
  im.width = 0;
  CHECK(argus_session_run(s, &im, all, 1, &r) == ARGUS_STATUS_IMAGE && r == NULL);
  im = rgb_image();
  im.stride = 10;
  CHECK(argus_session_run(s, &im, all, 1, &r) == ARGUS_STATUS_IMAGE);
  im = rgb_image();
  im.data = NULL;
  CHECK(argus_session_run(s, &im, all, 1, &r) == ARGUS_STATUS_IMAGE);
  im = rgb_image();
  CHECK(argus_session_run(s, &im, all, 6, &r) == ARGUS_STATUS_OK && r != NULL);
  if (r) {
    check_detections(r, "det");
    check_detections(r, "inst");
    check_maps(r);
    check_pose(r);
    check_arrays(s, r);
  }
  argus_result_release(r);
}

static void test_nv12(argus_session_t* s) {
  static unsigned char nv12[H * W * 3 / 2];
  const char* det[] = {"det"};
  argus_result_t* r = NULL;
  argus_image_t im = rgb_image();
  memset(nv12, 128, sizeof nv12);
  im.data = nv12;
  im.stride = W;
  im.format = ARGUS_PIXEL_NV12;
  CHECK(argus_session_run(s, &im, det, 1, &r) == ARGUS_STATUS_OK);
  if (r) check_detections(r, "det");
  argus_result_release(r);
  im.width = W - 1; /* odd */
  CHECK(argus_session_run(s, &im, det, 1, &r) == ARGUS_STATUS_IMAGE);
}

/* Threshold 0: every candidate is a detection, so pose gets persons to crop. */
static void test_pose_people(const char* bundle) {
  const char* tasks[] = {"pose", "det"};
  argus_session_params_t p = argus_session_default_params();
  argus_session_t* s = NULL;
  argus_result_t* r = NULL;
  const argus_keypoint_t* k = NULL;
  const argus_detection_t* d = NULL;
  size_t people = 0, nk = 0, n = 0, persons = 0, i;
  argus_image_t im = rgb_image();
  p.score_threshold = 1.5f;
  CHECK(argus_session_create(bundle, &p, &s) == ARGUS_STATUS_INVALID_ARGUMENT);
  p.score_threshold = 0.0f;
  CHECK(argus_session_create(bundle, &p, &s) == ARGUS_STATUS_OK);
  if (!s) return;
  CHECK(argus_session_run(s, &im, tasks, 2, &r) == ARGUS_STATUS_OK);
  if (r) {
    CHECK(argus_result_detections(r, "det", &d, &n) == ARGUS_STATUS_OK && n == 100);
    for (i = 0; i < n; ++i) persons += d[i].label == 0;
    CHECK(argus_result_keypoints(r, "pose", &k, &people, &nk) == ARGUS_STATUS_OK);
    CHECK(people == persons && people > 0 && nk == 17);
    for (i = 0; i < people * nk; ++i) CHECK(isfinite(k[i].x) && isfinite(k[i].y));
    /* keypoints lie near their person's crop (box padded by 1.25, plus DARK's 1 px) */
    check_detections(r, "pose");
    printf("pose: %zu people of %zu detections\n", people, n);
  }
  argus_result_release(r);
  r = NULL; /* pose alone runs det internally and finds the same persons */
  CHECK(argus_session_run(s, &im, tasks, 1, &r) == ARGUS_STATUS_OK);
  CHECK(argus_result_keypoints(r, "pose", &k, &n, &nk) == ARGUS_STATUS_OK && n == people);
  CHECK(argus_result_detections(r, "det", &d, &n) == ARGUS_STATUS_UNKNOWN_TASK);
  argus_result_release(r);
  argus_session_destroy(s);
}

/* Resident set size in MB (Linux /proc; -1 elsewhere). */
static double rss_mb(void) {
  long pages = -1, resident = -1;
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f) return -1.0;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1.0 : (double)resident * 4096.0 / (1024.0 * 1024.0);
}

#define RSS_SLACK_MB 24.0

static void test_loop(const char* bundle, int loops) {
  const char* det[] = {"det"};
  argus_image_t im = rgb_image();
  int i, ok = 0;
  double warm = -1.0, end;
  for (i = 0; i < loops; ++i) {
    if (i == loops / 10) warm = rss_mb();
    argus_session_t* s = NULL;
    argus_result_t* r = NULL;
    if (argus_session_create(bundle, NULL, &s) == ARGUS_STATUS_OK &&
        argus_session_run(s, &im, det, 1, &r) == ARGUS_STATUS_OK) {
      ++ok;
    }
    argus_result_release(r);
    argus_session_destroy(s);
  }
  CHECK(ok == loops);
  end = rss_mb();
  printf("%d create/run/destroy cycles; RSS %.1f MB after %d, %.1f MB after %d\n", ok, warm,
         loops / 10, end, loops);
  if (loops >= 100 && warm > 0.0) CHECK(end - warm < RSS_SLACK_MB);
}

/* `runs` run/release cycles on one session (compiling is what makes create slow). */
static void test_run_loop(const char* bundle, int runs) {
  const char* tasks[] = {"det", "sem"};
  argus_image_t im = rgb_image();
  argus_session_t* s = NULL;
  int i, ok = 0;
  CHECK(argus_session_create(bundle, NULL, &s) == ARGUS_STATUS_OK);
  for (i = 0; s && i < runs; ++i) {
    argus_result_t* r = NULL;
    ok += argus_session_run(s, &im, tasks, 2, &r) == ARGUS_STATUS_OK;
    argus_result_release(r);
  }
  argus_session_destroy(s);
  CHECK(ok == runs);
  printf("%d run/release cycles on one session\n", ok);
}

int main(int argc, char** argv) {
  size_t i;
  argus_session_t* s = NULL;
  argus_status_t status;
  for (i = 0; i < sizeof g_pixels; ++i) g_pixels[i] = (unsigned char)((i * 7919u) >> 3);
  test_without_bundle();
  if (argc > 1) {
    test_corrupt(argv[1]);
    status = argus_session_create(argv[1], NULL, &s);
    if (status == ARGUS_STATUS_BACKEND_UNAVAILABLE) {
      printf("OpenVINO not built in: %s\n", argus_last_error());
    } else {
      CHECK(status == ARGUS_STATUS_OK);
      if (s) {
        test_runs(s);
        test_nv12(s);
      }
      test_pose_people(argv[1]);
      argus_session_destroy(s);
      test_loop(argv[1], argc > 2 ? atoi(argv[2]) : 10);
      test_run_loop(argv[1], argc > 3 ? atoi(argv[3]) : 1000);
    }
  }
  if (g_failures) fprintf(stderr, "%d check(s) failed\n", g_failures);
  else printf("all C API checks passed\n");
  return g_failures ? 1 : 0;
}
