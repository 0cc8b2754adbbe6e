// A whole file's bytes, read-only: a memory mapping, or a heap copy where mapping fails.
//
// Ownership: the object owns the mapping (or buffer); data() is valid until it is
// destroyed or moved from. Moving keeps the bytes at the same address.
// Thread safety: immutable after open(); concurrent reads are safe.
// The bytes are those of open() time only if writers replace files atomically (rename):
// a file truncated in place while mapped can fault on access (SIGBUS).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace argus {

class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // Maps the regular file at `path`, or reads it into memory when mapping fails or
  // `try_map` is false. Throws std::system_error with the OS error (ENOENT for a missing
  // file, EISDIR for a directory, EINVAL for another non-regular file such as a FIFO,
  // EFBIG if it cannot be addressed).
  static MappedFile open(const std::string& path, bool try_map = true);

  const uint8_t* data() const noexcept { return data_; }  // null when size() == 0
  size_t size() const noexcept { return size_; }
  bool is_mapped() const noexcept { return mapped_; }  // false: a heap copy

 private:
  void release() noexcept;

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::unique_ptr<uint8_t[]> copy_;  // the bytes when not mapped
};

}  // namespace argus
