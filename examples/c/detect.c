/* Runs object detection on a raw RGB image with the libargus C API.
 *
 *   detect MODEL.engine IMAGE.rgb WIDTH HEIGHT [SCORE_THRESHOLD]
 *
 * IMAGE.rgb holds WIDTH*HEIGHT*3 bytes, R G B per pixel, rows top to bottom
 * (e.g. `convert photo.jpg -depth 8 rgb:photo.rgb`). SCORE_THRESHOLD (default: the
 * bundle's) keeps detections scoring above it. Prints one line per detection. */
#include <argus/argus.h>

#include <stdio.h>
#include <stdlib.h>

static unsigned char* read_file(const char* path, size_t expected) {
  FILE* f = fopen(path, "rb");
  unsigned char* data = NULL;
  if (!f) return NULL;
  data = (unsigned char*)malloc(expected);
  if (data && fread(data, 1, expected, f) != expected) {
    free(data);
    data = NULL;
  }
  fclose(f);
  return data;
}

static int print_detections(const argus_session_t* session, const argus_result_t* result) {
  const argus_detection_t* dets = NULL;
  size_t n = 0, i;
  if (argus_result_detections(result, "det", &dets, &n) != ARGUS_STATUS_OK) return 1;
  printf("detections: %zu\n", n);
  for (i = 0; i < n; ++i) {
    const char* name = "?";
    argus_session_class_name(session, "det", dets[i].label, &name);
    printf("%2zu %-12s score %.4f box [%.2f, %.2f, %.2f, %.2f]\n", i, name,
           (double)dets[i].score, (double)dets[i].x1, (double)dets[i].y1, (double)dets[i].x2,
           (double)dets[i].y2);
  }
  return 0;
}

int main(int argc, char** argv) {
  argus_session_params_t params = argus_session_default_params();
  argus_session_t* session = NULL;
  argus_result_t* result = NULL;
  argus_image_t image = {0};
  const char* tasks[] = {"det"};
  unsigned char* pixels;
  argus_status_t status;
  int width, height, rc = 1;
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: %s MODEL.engine IMAGE.rgb WIDTH HEIGHT [SCORE_THRESHOLD]\n",
            argv[0]);
    return 2;
  }
  if (argc == 6) {
    char* end = NULL;
    params.score_threshold = strtof(argv[5], &end);
    if (end == argv[5] || *end != '\0' || !(params.score_threshold >= 0.0f) ||
        params.score_threshold > 1.0f) {
      fprintf(stderr, "SCORE_THRESHOLD must be a number in [0, 1]\n");
      return 2;
    }
  }
  width = atoi(argv[3]);
  height = atoi(argv[4]);
  if (width <= 0 || height <= 0) {
    fprintf(stderr, "WIDTH and HEIGHT must be positive\n");
    return 2;
  }
  pixels = read_file(argv[2], (size_t)width * (size_t)height * 3);
  if (!pixels) {
    fprintf(stderr, "cannot read %d x %d x 3 bytes from %s\n", width, height, argv[2]);
    return 1;
  }
  status = argus_session_create(argv[1], &params, &session);
  if (status == ARGUS_STATUS_OK) {
    image.data = pixels;
    image.width = width;
    image.height = height;
    image.stride = (int64_t)width * 3;
    image.format = ARGUS_PIXEL_RGB8;
    status = argus_session_run(session, &image, tasks, 1, &result);
  }
  if (status == ARGUS_STATUS_OK) {
    rc = print_detections(session, result);
  } else {
    fprintf(stderr, "error (%s): %s\n", argus_status_string(status), argus_last_error());
  }
  argus_result_release(result);
  argus_session_destroy(session);
  free(pixels);
  return rc;
}
