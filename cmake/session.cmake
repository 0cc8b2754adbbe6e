# Sources, tests and examples of the "session" area of libargus: the backend interface,
# the OpenVINO backend, task scheduling (Session) and the C API (include/argus/argus.h).
# Included by the top-level CMakeLists.txt after the argus target and the other areas.
get_filename_component(_session_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

include(${CMAKE_CURRENT_LIST_DIR}/registry.cmake)

# ---- backends: the registry of csrc/backends/descriptors/ ---------------------------------
file(GLOB _argus_backend_descriptors CONFIGURE_DEPENDS
     ${_session_root}/csrc/backends/descriptors/*.cpp)
argus_generate_registry(${CMAKE_BINARY_DIR}/generated/builtin_backends.cpp backend_descriptors
                        register_builtin_backends BackendRegistry backends/registry.h
                        ${_argus_backend_descriptors})
target_sources(argus PRIVATE
  ${_session_root}/csrc/backends/registry.cpp
  ${_argus_backend_descriptors}
  ${CMAKE_BINARY_DIR}/generated/builtin_backends.cpp
)
if(ARGUS_WITH_OPENVINO)
  # OpenVINO was found by cmake/deform.cmake (the wheel's CMake config), which also
  # built the extension library that graphs with custom nodes need.
  target_sources(argus PRIVATE ${_session_root}/csrc/backends/openvino_backend.cpp)
  target_link_libraries(argus PUBLIC openvino::runtime)
  target_compile_definitions(argus PRIVATE
    ARGUS_HAVE_OPENVINO=1
    ARGUS_OPENVINO_EXTENSION_PATH="$<TARGET_FILE:argus_openvino_ext>")
  # Executables linking argus find the wheel's libraries without LD_LIBRARY_PATH.
  set(CMAKE_BUILD_RPATH "${CMAKE_BUILD_RPATH};${_ov_lib_dir}")
endif()

# ---- session (task scheduling) and the decoder kinds of csrc/session/decoders/ ----------
file(GLOB _argus_decoder_kinds CONFIGURE_DEPENDS ${_session_root}/csrc/session/decoders/*.cpp)
argus_generate_registry(${CMAKE_BINARY_DIR}/generated/builtin_decoders.cpp decoders
                        register_builtin_decoders DecoderRegistry session/decoder.h
                        ${_argus_decoder_kinds})
target_sources(argus PRIVATE
  ${_session_root}/csrc/session/backend_choice.cpp
  ${_session_root}/csrc/session/crops.cpp
  ${_session_root}/csrc/session/decoder.cpp
  ${_session_root}/csrc/session/dense_head.cpp
  ${_session_root}/csrc/session/dense_map.cpp
  ${_session_root}/csrc/session/manifest_read.cpp
  ${_session_root}/csrc/session/result.cpp
  ${_session_root}/csrc/session/session.cpp
  ${_session_root}/csrc/session/task_spec.cpp
  ${_session_root}/csrc/session/task_entry.cpp
  ${_argus_decoder_kinds}
  ${CMAKE_BINARY_DIR}/generated/builtin_decoders.cpp
)
target_sources(argus PRIVATE ${_session_root}/csrc/core/nv12.cpp)
list(APPEND ARGUS_PYTHON_SOURCES ${_session_root}/csrc/python/register_session.cpp)

# ---- the C API: libargus_c.so exports argus_* only (libargus linked in, hidden) --------
# Its objects are also linked into tests that use the C API beside libargus's C++
# registries (tests/cpp/test_decoder_registry.cpp).
add_library(argus_capi_objects OBJECT
  ${_session_root}/csrc/capi/argus.cpp
  ${_session_root}/csrc/capi/result_buffer.cpp
)
target_include_directories(argus_capi_objects PUBLIC ${_session_root}/include)
target_link_libraries(argus_capi_objects PRIVATE argus)
target_compile_definitions(argus_capi_objects PRIVATE ARGUS_C_BUILD=1
                           ARGUS_VERSION="${PROJECT_VERSION}")
target_compile_options(argus_capi_objects PRIVATE -Wall -Wextra -Wshadow -Wconversion
                       -Wno-sign-conversion)
set_target_properties(argus_capi_objects PROPERTIES POSITION_INDEPENDENT_CODE ON
                      CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
add_library(argus_c SHARED $<TARGET_OBJECTS:argus_capi_objects>)
target_include_directories(argus_c PUBLIC ${_session_root}/include)
target_link_libraries(argus_c PRIVATE argus)
target_link_options(argus_c PRIVATE -Wl,--exclude-libs,ALL)
set_target_properties(argus_c PROPERTIES
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR})
if(ARGUS_WITH_OPENVINO)
  set_target_properties(argus_c PROPERTIES BUILD_RPATH "${_ov_lib_dir}"
                        INSTALL_RPATH "${_ov_lib_dir}")
endif()

# ---- the test bundle (needs the venv's torch + exporter) and C tests/examples ----------
if(ARGUS_BUILD_TESTS OR ARGUS_BUILD_EXAMPLES)
  enable_language(C)
  set(CMAKE_C_STANDARD 99)
  set(CMAKE_C_STANDARD_REQUIRED ON)
  set(ARGUS_TEST_BUNDLE "${CMAKE_BINARY_DIR}/capi_fixture/tiny.engine")
  set(ARGUS_TEST_IMAGE "${CMAKE_BINARY_DIR}/capi_fixture/image_80x60.rgb")
  set(_argus_have_fixture OFF)
  # Any build given a Python with torch + argus_edge (without OpenVINO, capi.bundle checks
  # the corrupt-bundle and backend-unavailable paths).
  if(Python_EXECUTABLE)
    set(_argus_have_fixture ON)
    add_test(NAME capi.make_bundle
             COMMAND ${Python_EXECUTABLE} ${_session_root}/tests/cpp/test_capi_fixture.py
                     ${CMAKE_BINARY_DIR}/capi_fixture
             WORKING_DIRECTORY ${_session_root})
    set_tests_properties(capi.make_bundle PROPERTIES FIXTURES_SETUP argus_bundle TIMEOUT 600)
  endif()
endif()

if(ARGUS_BUILD_TESTS)
  add_executable(argus_test_capi ${_session_root}/tests/cpp/test_capi.c)
  target_link_libraries(argus_test_capi PRIVATE argus_c)
  target_compile_options(argus_test_capi PRIVATE -Wall -Wextra -pedantic)
  # Without a bundle (default build) the test checks what needs none.
  add_test(NAME capi.errors COMMAND argus_test_capi)
  add_executable(argus_test_capi_hpp ${_session_root}/tests/cpp/test_capi.cpp)
  target_link_libraries(argus_test_capi_hpp PRIVATE argus_c)
  target_compile_options(argus_test_capi_hpp PRIVATE -Wall -Wextra)
  add_test(NAME capi.hpp COMMAND argus_test_capi_hpp)
  if(_argus_have_fixture)
    # Each create verifies the bundle and compiles the backbone + det graphs (0.7-1.2 s for
    # the tiny bundle, OpenVINO's compile of the backbone most of it): 100 cycles by
    # default, the fewest the resident-set-size check takes; `make test-soak` runs 1000;
    # the sanitizer build runs 20, LeakSanitizer checks those exactly. Then 1000
    # run/release cycles.
    set(ARGUS_CAPI_CYCLES 100 CACHE STRING "create/run/destroy cycles of capi.bundle")
    set(ARGUS_CAPI_RUNS 1000 CACHE STRING "run/release cycles of capi.bundle")
    add_test(NAME capi.bundle COMMAND argus_test_capi ${ARGUS_TEST_BUNDLE}
                                      ${ARGUS_CAPI_CYCLES} ${ARGUS_CAPI_RUNS})
    set_tests_properties(capi.bundle PROPERTIES FIXTURES_REQUIRED argus_bundle TIMEOUT 1500)
    add_test(NAME capi.hpp_bundle COMMAND argus_test_capi_hpp ${ARGUS_TEST_BUNDLE})
    set_tests_properties(capi.hpp_bundle PROPERTIES FIXTURES_REQUIRED argus_bundle)
    # A decoder kind registered at run time, through the Session and the C API.
    add_executable(argus_test_decoder_registry
                   ${_session_root}/tests/cpp/test_decoder_registry.cpp
                   $<TARGET_OBJECTS:argus_capi_objects>)
    target_include_directories(argus_test_decoder_registry PRIVATE ${_session_root}/include
                               ${_session_root}/tests/cpp)
    target_link_libraries(argus_test_decoder_registry PRIVATE argus)
    target_compile_options(argus_test_decoder_registry PRIVATE -Wall -Wextra)
    add_test(NAME session.decoder_registry COMMAND argus_test_decoder_registry
             ${CMAKE_BINARY_DIR}/capi_fixture/toy.engine)
    set_tests_properties(session.decoder_registry PROPERTIES FIXTURES_REQUIRED argus_bundle)
  endif()
endif()

# Sanitizer builds: oneTBB's RTLD_DEEPBIND dlopen would abort under ASan (see the file).
if(ARGUS_SANITIZE AND ARGUS_WITH_OPENVINO)
  set(_argus_asan_shim ${_session_root}/tests/cpp/test_capi_asan_dlopen.c)
  foreach(_t argus_test_capi argus_test_capi_hpp argus_test_decoder_registry
             argus_example_detect)
    if(TARGET ${_t} OR _t STREQUAL "argus_example_detect")
      set(_argus_asan_targets ${_argus_asan_targets} ${_t})
    endif()
  endforeach()
endif()

if(ARGUS_BUILD_EXAMPLES)
  add_executable(argus_example_detect ${_session_root}/examples/c/detect.c)
  target_link_libraries(argus_example_detect PRIVATE argus_c)
  target_compile_options(argus_example_detect PRIVATE -Wall -Wextra -pedantic)
  if(ARGUS_BUILD_TESTS AND _argus_have_fixture AND ARGUS_WITH_OPENVINO)
    add_test(NAME example.detect
             COMMAND argus_example_detect ${ARGUS_TEST_BUNDLE} ${ARGUS_TEST_IMAGE} 80 60)
    set_tests_properties(example.detect PROPERTIES FIXTURES_REQUIRED argus_bundle
                         PASS_REGULAR_EXPRESSION "detections: [0-9]+")
  endif()
endif()

foreach(_t IN LISTS _argus_asan_targets)
  if(TARGET ${_t})
    target_sources(${_t} PRIVATE ${_argus_asan_shim})
    target_link_libraries(${_t} PRIVATE ${CMAKE_DL_LIBS})
    set_target_properties(${_t} PROPERTIES ENABLE_EXPORTS ON)
  endif()
endforeach()
