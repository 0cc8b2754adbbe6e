# Sources, tests and Python registration of the "kernels" area of libargus
# (post-processing: box decoding, NMS, detections, masks, segmentation, heatmaps).
# Included by the top-level CMakeLists.txt after the argus target exists; register_*.cpp
# files go into ARGUS_PYTHON_SOURCES (compiled into argus_edge._core).
target_sources(argus PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/kernels/box_decode.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/kernels/detections.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/kernels/heatmaps.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/kernels/masks.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/kernels/nms.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/kernels/nms_greedy.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/csrc/kernels/segmentation.cpp
)
# heatmaps.cpp may split people over std::thread.
find_package(Threads REQUIRED)
target_link_libraries(argus PUBLIC Threads::Threads)

list(APPEND ARGUS_PYTHON_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/csrc/python/register_kernels.cpp)

if(ARGUS_BUILD_TESTS)
  add_executable(argus_test_kernels tests/cpp/test_kernels.cpp)
  target_link_libraries(argus_test_kernels PRIVATE argus)
  target_compile_options(argus_test_kernels PRIVATE -Wall -Wextra -Wshadow -Wconversion
                                                    -Wno-sign-conversion)
  add_test(NAME cpp.kernels COMMAND argus_test_kernels)
endif()

# ---- CUDA kernels (NMS, heatmap decoding) -------------------------------------------
# The CUDA language is enabled only here and only when asked for, so a machine without
# nvcc configures the default build. Architectures: 80 (A100) and 90 (H100/H200) unless
# the caller sets CMAKE_CUDA_ARCHITECTURES.
if(ARGUS_WITH_CUDA)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 80 90)
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  add_library(argus_cuda STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/csrc/kernels/cuda/nms.cu
    ${CMAKE_CURRENT_SOURCE_DIR}/csrc/kernels/cuda/heatmaps.cu
  )
  target_link_libraries(argus_cuda PUBLIC argus CUDA::cudart)
  set_target_properties(argus_cuda PROPERTIES POSITION_INDEPENDENT_CODE ON)
  # No FMA contraction: IoU and the DARK step must round like the CPU kernels, so that
  # keep sets match exactly and keypoints to float32 rounding.
  target_compile_options(argus_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--fmad=false>)
  target_compile_definitions(argus_cuda PUBLIC ARGUS_HAS_CUDA_KERNELS=1)

  if(ARGUS_BUILD_TESTS)
    add_executable(argus_test_kernels_cuda tests/cpp/test_kernels_cuda.cu)
    target_link_libraries(argus_test_kernels_cuda PRIVATE argus_cuda)
    target_compile_options(argus_test_kernels_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--fmad=false>)
    add_test(NAME cpp.kernels_cuda COMMAND argus_test_kernels_cuda)
    # 77: no CUDA device on this machine (the test binary says so and exits).
    set_tests_properties(cpp.kernels_cuda PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endif()
