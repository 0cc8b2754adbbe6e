# Sources, tests and Python registration of the "bundle" area of libargus.
# Included by the top-level CMakeLists.txt after the argus target exists; register_*.cpp
# files go into ARGUS_PYTHON_SOURCES (compiled into argus_edge._core).
target_sources(argus PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/core/sha256.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/core/sha256_x86.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/core/json.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/core/json_parse.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/core/mapped_file.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/core/bundle_format.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/core/bundle_schema.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/core/bundle.cpp
)

if(ARGUS_BUILD_TESTS)
  foreach(name sha256 json bundle)
    add_executable(argus_test_${name} tests/cpp/test_${name}.cpp)
    target_link_libraries(argus_test_${name} PRIVATE argus)
    target_compile_options(argus_test_${name} PRIVATE -Wall -Wextra)
    add_test(NAME cpp.${name} COMMAND argus_test_${name})
  endforeach()
endif()

list(APPEND ARGUS_PYTHON_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/csrc/python/register_bundle.cpp)
