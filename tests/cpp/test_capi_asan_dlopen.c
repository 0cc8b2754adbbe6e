/* Linked into the C API tests only in ARGUS_SANITIZE builds. oneTBB (inside OpenVINO)
 * dlopens libtbbbind with RTLD_DEEPBIND, which the ASan runtime refuses (it aborts the
 * process: google/sanitizers#611). This dlopen, exported from the executable, comes
 * first in symbol lookup: it drops RTLD_DEEPBIND and forwards to the next dlopen (the
 * sanitizer's interceptor). */
#define _GNU_SOURCE
#include <dlfcn.h>

void* dlopen(const char* filename, int flags) {
  typedef void* (*dlopen_fn)(const char*, int);
  static dlopen_fn next = 0;
  if (!next) *(void**)&next = dlsym(RTLD_NEXT, "dlopen"); /* POSIX-sanctioned form */
  return next(filename, flags & ~RTLD_DEEPBIND);
}
