// Block functions behind argus::Sha256 (private to libargus; the tests compare them).
#pragma once

#include <cstddef>
#include <cstdint>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define ARGUS_SHA256_X86 1
#else
#define ARGUS_SHA256_X86 0
#endif

namespace argus::detail {

// Compresses `blocks` 64-byte blocks at `data` into `state` (FIPS 180-4 §6.2.2).
void sha256_blocks_portable(uint32_t state[8], const uint8_t* data, size_t blocks) noexcept;

#if ARGUS_SHA256_X86
// The same with the SHA extensions; call only if sha256_x86_supported().
void sha256_blocks_x86(uint32_t state[8], const uint8_t* data, size_t blocks);
// Whether this CPU has SHA, SSSE3 and SSE4.1.
bool sha256_x86_supported() noexcept;
#endif

}  // namespace argus::detail
