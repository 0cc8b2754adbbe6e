// SHA-256 against the FIPS 180-4 / NIST example vectors and hashlib, one-shot and
// streamed in every chunking.
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "core/sha256.h"
#include "core/sha256_impl.h"

namespace {

std::string hex_of(const std::string& message) {
  return argus::to_hex(argus::sha256(message.data(), message.size()));
}

void test_nist_vectors() {
  CHECK_EQ_STR(hex_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK_EQ_STR(hex_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK_EQ_STR(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK_EQ_STR(hex_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklm"
                      "nopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
               "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

void test_million_a_streamed() {
  argus::Sha256 h;
  const std::string chunk(997, 'a');  // a prime: blocks straddle every update boundary
  size_t left = 1000000;
  while (left > 0) {
    const size_t n = left < chunk.size() ? left : chunk.size();
    h.update(chunk.data(), n);
    left -= n;
  }
  CHECK_EQ_STR(argus::to_hex(h.finish()),
               "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // finish() resets: the object hashes a new message next
  h.update("abc", 3);
  CHECK_EQ_STR(argus::to_hex(h.finish()),
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// Lengths around the padding boundaries (55/56 bytes: one or two final blocks).
void test_padding_boundaries_and_chunkings() {
  const struct {
    size_t length;
    const char* hex;
  } cases[] = {
      {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
      {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
      {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
      {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
      {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
      {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
      {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
      {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
      {1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"},
  };
  for (const auto& c : cases) {
    std::vector<uint8_t> data(c.length);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
    CHECK_EQ_STR(argus::to_hex(argus::sha256(data.data(), data.size())), c.hex);
    for (size_t chunk = 1; chunk <= 130; ++chunk) {
      argus::Sha256 h;
      for (size_t pos = 0; pos < data.size(); pos += chunk) {
        h.update(data.data() + pos, pos + chunk < data.size() ? chunk : data.size() - pos);
      }
      h.update(nullptr, 0);
      CHECK_EQ_STR(argus::to_hex(h.finish()), c.hex);
    }
  }
}

// The SHA-NI block function against the portable one on pseudo-random blocks (the
// public API above used whichever this CPU has).
void test_accelerated_matches_portable() {
#if ARGUS_SHA256_X86
  if (!argus::detail::sha256_x86_supported()) {
    std::printf("test_sha256: no SHA extensions on this CPU, portable code only\n");
    return;
  }
  std::vector<uint8_t> data(64 * 37);
  uint32_t seed = 12345;
  for (uint8_t& b : data) b = static_cast<uint8_t>((seed = seed * 1103515245u + 12345u) >> 24);
  for (size_t blocks : {size_t{1}, size_t{2}, size_t{37}}) {
    uint32_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    argus::detail::sha256_blocks_portable(a, data.data(), blocks);
    argus::detail::sha256_blocks_x86(b, data.data(), blocks);
    for (int i = 0; i < 8; ++i) CHECK(a[i] == b[i]);
  }
#endif
}

}  // namespace

int main() {
  test_accelerated_matches_portable();
  test_nist_vectors();
  test_million_a_streamed();
  test_padding_boundaries_and_chunkings();
  return argus_test::report("test_sha256");
}
