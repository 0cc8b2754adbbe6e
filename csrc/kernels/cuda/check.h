// CUDA error checking shared by the .cu files of csrc/kernels/cuda (internal header).
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "core/status.h"

namespace argus::kernels::cuda::detail {

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw Error(Status::Internal, std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
  }
}

inline void require_device() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();  // clear the sticky "no device" error
    throw Error(Status::BackendUnavailable, "no CUDA device is available");
  }
}

// Device buffer of T, freed on scope exit.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    if (count_ > 0) check(cudaMalloc(&ptr_, count_ * sizeof(T)), "cudaMalloc");
  }
  DeviceBuffer(const T* host, size_t count) : DeviceBuffer(count) {
    if (count_ > 0) {
      check(cudaMemcpy(ptr_, host, count_ * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
    }
  }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return ptr_; }
  void to_host(T* host, size_t count) const {
    if (count > 0) check(cudaMemcpy(host, ptr_, count * sizeof(T), cudaMemcpyDeviceToHost), "copy to host");
  }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

}  // namespace argus::kernels::cuda::detail
