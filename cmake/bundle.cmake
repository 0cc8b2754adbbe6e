# Sources, tests and Python registration of the "bundle" area of libargus.
# Included by the top-level CMakeLists.txt after the argus target exists; register_*.cpp
# files go into ARGUS_PYTHON_SOURCES (compiled into argus_edge._core).
list(APPEND ARGUS_PYTHON_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/csrc/python/register_bundle.cpp)
