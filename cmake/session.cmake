# Sources, tests and examples of the "session" area of libargus: the backend interface,
# the OpenVINO backend, task scheduling (Session) and the C API (include/argus/argus.h).
# Included by the top-level CMakeLists.txt after the argus target and the other areas.
