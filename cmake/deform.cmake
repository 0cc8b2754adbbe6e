# Sources, tests and Python registration of the "deform" area of libargus: the
# ai.argus::MSDeformSample kernel and the fused ai.argus::ScaledDeformAttn (version 1)
# kernel (csrc/ops/), its thread pool (csrc/core/parallel) and,
# with ARGUS_WITH_OPENVINO, the OpenVINO extension library argus_openvino_ext.
# Included by the top-level CMakeLists.txt after the argus target exists; register_*.cpp
# files go into ARGUS_PYTHON_SOURCES (compiled into argus_edge._core).
get_filename_component(_argus_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
list(APPEND ARGUS_PYTHON_SOURCES ${_argus_root}/csrc/python/register_deform.cpp)

set(_deform_dir ${_argus_root}/csrc/ops)
find_package(Threads REQUIRED)
target_link_libraries(argus PUBLIC Threads::Threads)
target_sources(argus PRIVATE
  ${_argus_root}/csrc/core/parallel.cpp
  ${_deform_dir}/isa.cpp
  ${_deform_dir}/ms_deform_sample.cpp
  ${_deform_dir}/scaled_deform_attn.cpp
  ${_deform_dir}/scaled_deform_attn_scalar.cpp
)

# ---- SIMD variants: one file per ISA, each with its own flags; chosen at run time ----
# (the rest of libargus stays baseline x86-64, see the top-level CMakeLists.txt).
# -ffp-contract=off: the scalar parts of the shared template (sampling coordinates,
# softmax) round exactly as in the portable build; FMAs are only the explicit intrinsics.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  include(CheckCXXCompilerFlag)
  check_cxx_compiler_flag("-mavx2 -mfma" ARGUS_COMPILER_HAS_AVX2)
  check_cxx_compiler_flag("-mavx512f -mavx512bw -mavx512vl -mfma" ARGUS_COMPILER_HAS_AVX512)
  if(ARGUS_COMPILER_HAS_AVX2)
    target_sources(argus PRIVATE ${_deform_dir}/scaled_deform_attn_avx2.cpp)
    set_source_files_properties(${_deform_dir}/scaled_deform_attn_avx2.cpp PROPERTIES
      COMPILE_OPTIONS "-mavx2;-mfma;-ffp-contract=off")
    target_compile_definitions(argus PRIVATE ARGUS_HAVE_AVX2=1)
  endif()
  if(ARGUS_COMPILER_HAS_AVX512)
    target_sources(argus PRIVATE ${_deform_dir}/scaled_deform_attn_avx512.cpp)
    set_source_files_properties(${_deform_dir}/scaled_deform_attn_avx512.cpp PROPERTIES
      COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512vl;-mfma;-ffp-contract=off")
    target_compile_definitions(argus PRIVATE ARGUS_HAVE_AVX512=1)
  endif()
endif()

# ---- tests ---------------------------------------------------------------------------
if(ARGUS_BUILD_TESTS)
  add_executable(argus_test_scaled_deform_attn ${_argus_root}/tests/cpp/test_scaled_deform_attn.cpp)
  target_link_libraries(argus_test_scaled_deform_attn PRIVATE argus)
  target_compile_options(argus_test_scaled_deform_attn PRIVATE
    -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion)
  add_test(NAME cpp.deform COMMAND argus_test_scaled_deform_attn)
endif()

# ---- OpenVINO extension ----------------------------------------------------------------
# libargus_openvino_ext.so: the MSDeformSample and ScaledDeformAttn ops + the ONNX frontend
# mappings of the ai.argus nodes, loaded with core.add_extension(path). OpenVINO comes from the
# openvino wheel (headers + CMake config inside it): OpenVINO_DIR, or else asked from the
# Python interpreter (Python_EXECUTABLE, else the active virtualenv, else ./.venv, else
# python3 on PATH). The wheel's libraries are named with its version: the extension runs
# only with the wheel it was built against. The build tree's RPATH points into that
# wheel; the installed library (next to argus_edge._core) looks in the openvino wheel of
# its own site-packages first. Nothing needs LD_LIBRARY_PATH.
function(_argus_openvino_dir_from_python out)
  set(_candidates "${Python_EXECUTABLE}")
  if(DEFINED ENV{VIRTUAL_ENV})
    list(APPEND _candidates "$ENV{VIRTUAL_ENV}/bin/python")
  endif()
  find_program(_argus_path_python NAMES python3 python)
  list(APPEND _candidates "${_argus_root}/.venv/bin/python" "${_argus_path_python}")
  foreach(_py IN LISTS _candidates)
    if(_py AND EXISTS "${_py}")
      execute_process(
        COMMAND "${_py}" -c "import openvino.utils as u; print(u.get_cmake_path())"
        OUTPUT_VARIABLE _dir OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
      if(_rc EQUAL 0 AND EXISTS "${_dir}/OpenVINOConfig.cmake")
        message(STATUS "argus: OpenVINO from the wheel of ${_py}: ${_dir}")
        set(${out} "${_dir}" PARENT_SCOPE)
        return()
      endif()
    endif()
  endforeach()
  message(FATAL_ERROR "ARGUS_WITH_OPENVINO=ON but no OpenVINO found: set OpenVINO_DIR, or "
          "Python_EXECUTABLE to a Python with the openvino wheel (pip install openvino)")
endfunction()

if(ARGUS_WITH_OPENVINO)
  if(NOT OpenVINO_DIR)
    _argus_openvino_dir_from_python(_ov_dir)
    set(OpenVINO_DIR "${_ov_dir}" CACHE PATH "OpenVINO CMake config directory" FORCE)
  endif()
  find_package(OpenVINO REQUIRED COMPONENTS Runtime ONNX)
  find_package(TBB REQUIRED COMPONENTS tbb HINTS "${OpenVINO_DIR}")
  add_library(argus_openvino_ext SHARED
    ${_deform_dir}/openvino/extension.cpp
    ${_deform_dir}/openvino/ms_deform_sample_op.cpp
    ${_deform_dir}/openvino/scaled_deform_attn_op.cpp
  )
  target_link_libraries(argus_openvino_ext PRIVATE
    argus openvino::runtime openvino::frontend::onnx TBB::tbb)
  target_compile_options(argus_openvino_ext PRIVATE
    -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion)
  # Only the extension entry point is exported; libargus stays private to this library
  # (argus_edge._core has its own copy, with its own thread pool).
  target_link_options(argus_openvino_ext PRIVATE -Wl,--exclude-libs,ALL)
  get_target_property(_ov_lib openvino::runtime IMPORTED_LOCATION_RELEASE)
  if(NOT _ov_lib)
    get_target_property(_ov_lib openvino::runtime LOCATION)
  endif()
  get_filename_component(_ov_lib_dir "${_ov_lib}" DIRECTORY)
  set_target_properties(argus_openvino_ext PROPERTIES
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    BUILD_RPATH "${_ov_lib_dir}"
    # installed next to argus_edge._core: site-packages/argus_edge/ -> the openvino wheel
    # of the same site-packages, else the wheel it was built against
    INSTALL_RPATH "\$ORIGIN/../openvino/libs;${_ov_lib_dir}"
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}")
  message(STATUS "argus: building argus_openvino_ext against OpenVINO ${OpenVINO_VERSION} "
                 "(${_ov_lib_dir})")
  if(ARGUS_BUILD_PYTHON)
    # next to argus_edge._core, where argus_edge._extensions looks for it
    install(TARGETS argus_openvino_ext LIBRARY DESTINATION argus_edge)
  endif()
endif()
