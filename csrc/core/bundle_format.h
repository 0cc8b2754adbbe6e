// The rules of the .engine layout and manifest, one function per check of
// docs/bundle_format.md §2 (private to libargus; Bundle::open calls them in order).
// Mirrors python/argus_edge/_bundle_format.py, messages included.
//
// Every function throws Error(Status::Bundle, "<what>") without the file's path (the
// caller adds it). All offsets and sizes read from the file are untrusted: arithmetic on
// them is overflow-checked, and every byte range is checked against the file size
// before it is read.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/bundle.h"
#include "core/json.h"

namespace argus::bundle_format {

constexpr uint64_t kHeaderSize = 64;
constexpr uint64_t kTrailerSize = 48;
constexpr uint64_t kAlign = 64;
constexpr uint64_t kMinSize = kHeaderSize + kTrailerSize;
constexpr uint16_t kReaderMajor = 1;

// The 64-byte header, decoded (little-endian).
struct Header {
  BundleVersion version;
  uint32_t flags = 0;
  uint64_t manifest_offset = 0;
  uint64_t manifest_size = 0;
  const uint8_t* manifest_sha256 = nullptr;  // 32 raw bytes inside the file
};

// Step 1: the magic (when the file has 8 bytes) and the minimum size; then decodes.
Header parse_header(ByteSpan file);

// Whether the last 48 bytes start with the trailer magic and this file's size.
bool tail_matches(ByteSpan file);

// Steps 2/9: trailer magic, recorded size, SHA-256 of the header.
void check_trailer(ByteSpan file);

// Step 3: any minor version of major 1.
void check_version(const Header& header);

// Step 4: reserved flags, manifest offset, room for the manifest and the trailer.
void check_header_fields(const Header& header, uint64_t file_size);

// Step 5: SHA-256 of the manifest bytes (which check_header_fields put inside the file).
void check_manifest_sha256(ByteSpan file, const Header& header);

// Step 6: strict UTF-8, strict JSON, an object; at most Bundle::kMaxManifestBytes.
std::unique_ptr<const json::Value> decode_manifest(std::string_view text);

// Step 7, top level: format, format_version (== header), sdk_version, created, the
// required objects, model.name and model.config.
void check_manifest(const json::Value& manifest, BundleVersion version);

// Step 7, the "blobs" table: types, safe unique names, non-negative ints, hex digests.
std::vector<BlobInfo> parse_blob_table(const json::Value* table);

// Step 7, references: graph variants name blobs of the table, tasks name graphs.
void check_references(const json::Value& manifest, const std::vector<BlobInfo>& blobs);

// Step 8: alignment and order; returns where the last part ends.
uint64_t blob_region_end(const std::vector<BlobInfo>& blobs, uint64_t manifest_end);

// n rounded up to a multiple of 64, or UINT64_MAX if that overflows.
uint64_t align64(uint64_t n);

// Step 8: the size the layout implies (UINT64_MAX: more than any file) against the real one.
void check_size(uint64_t expected, uint64_t file_size);

// Step 10: zeros between the manifest, the blobs and the trailer at `trailer_at`.
void check_padding(ByteSpan file, const std::vector<BlobInfo>& blobs, uint64_t manifest_end,
                   uint64_t trailer_at);

// Step 11: each blob's SHA-256.
void check_blob_hashes(ByteSpan file, const std::vector<BlobInfo>& blobs);

// Python's repr() of a str (quotes and escapes chosen the same way, for messages).
std::string py_repr(std::string_view text);

}  // namespace argus::bundle_format
