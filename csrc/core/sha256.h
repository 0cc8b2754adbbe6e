// SHA-256 (FIPS 180-4): the checksum of every part of an .engine bundle.
//
// Uses the x86 SHA extensions when the CPU has them (checked at run time; as fast as
// OpenSSL), portable C++ otherwise (about 5x slower).
// A Sha256 object is not thread-safe; distinct objects may be used from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace argus {

// A raw 32-byte digest.
using Sha256Digest = std::array<uint8_t, 32>;

// Streaming hasher: update() any number of times with any chunk sizes, then finish().
//
//   Sha256 h;
//   h.update(part1, n1);
//   h.update(part2, n2);
//   Sha256Digest d = h.finish();
class Sha256 {
 public:
  Sha256() { reset(); }

  // Starts a new message (also what the constructor does).
  void reset() noexcept;

  // Appends `size` bytes at `data` (not retained; null is allowed when size is 0).
  void update(const void* data, size_t size) noexcept;

  // The digest of everything appended since the last reset(); then resets the object.
  Sha256Digest finish() noexcept;

 private:
  void compress(const uint8_t* data, size_t blocks) noexcept;  // whole 64-byte blocks

  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;       // bytes in buffer_ (< 64)
  uint64_t total_bytes_ = 0;  // message length so far
};

// One-shot digest of `size` bytes at `data`.
Sha256Digest sha256(const void* data, size_t size) noexcept;

// 64 lowercase hex digits of a digest.
std::string to_hex(const Sha256Digest& digest);

}  // namespace argus
