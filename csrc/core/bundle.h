// The reader of .engine bundles (docs/bundle_format.md): one checksummed file holding a
// JSON manifest and binary blobs (ONNX graphs, OpenVINO IR, TensorRT plans).
//
//   argus::Bundle bundle = argus::Bundle::open("model.engine");  // verifies every byte
//   const argus::json::Value& det = bundle.task("det");
//   argus::ByteSpan onnx = bundle.blob("det_128x128.fp32.onnx");   // zero copy
//
// It accepts exactly the files python/argus_edge/bundle.py accepts, in the same check
// order, with the same messages (Python repr quoting), except that the manifest is
// limited to kMaxManifestBytes and JSON nesting to json::kMaxDepth, and that the
// 'created' time takes ASCII digits only.
//
// Ownership: a Bundle owns its file mapping and manifest; every reference, pointer and
// ByteSpan it returns is valid while the Bundle lives (moving it keeps them valid; a
// moved-from Bundle may only be destroyed or assigned to).
// Thread safety: an open Bundle is immutable; all const methods may be called from any
// number of threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace argus {

// A read-only byte range owned by someone else (like std::span<const uint8_t>).
struct ByteSpan {
  const uint8_t* data = nullptr;  // may be null when size == 0
  size_t size = 0;

  const uint8_t* begin() const noexcept { return data; }
  const uint8_t* end() const noexcept { return data + size; }
  bool empty() const noexcept { return size == 0; }
};

// The format version in a bundle's header.
struct BundleVersion {
  uint16_t major = 0;
  uint16_t minor = 0;
};

// One entry of the manifest's "blobs" table.
struct BlobInfo {
  std::string name;        // 1-255 of A-Z a-z 0-9 . _ + -, not starting with '.'
  uint64_t offset = 0;     // bytes from the start of the file, a multiple of 64
  uint64_t size = 0;       // bytes, may be 0
  std::string sha256;      // 64 lowercase hex digits
  std::string media_type;  // "application/x-onnx", ...
};

// Thrown (status Bundle) when the bundle file does not exist, so that callers can tell
// "missing" from "corrupt" (Python maps it to BundleNotFoundError).
class BundleNotFoundError : public Error {
 public:
  BundleNotFoundError(const std::string& message, const std::string& path)
      : Error(Status::Bundle, message), path_(path) {}
  // The missing path, as shown in the message.
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

class Bundle {
 public:
  // Largest manifest this reader parses (the exporter writes a few KB).
  static constexpr uint64_t kMaxManifestBytes = uint64_t{4} << 20;

  // Opens and checks the bundle at `path`: header, trailer, manifest SHA-256, JSON,
  // schema, references and layout; with `verify` also the zero padding and every blob's
  // SHA-256 (reads the whole file once; loaders always verify).
  // Throws Error(Status::Bundle, "<path>: <what is wrong>"); a missing file throws
  // BundleNotFoundError("<path>: no such bundle file").
  static Bundle open(const std::string& path, bool verify = true);

  Bundle(Bundle&&) noexcept;
  Bundle& operator=(Bundle&&) noexcept;
  ~Bundle();

  const std::string& path() const noexcept;
  uint64_t file_size() const noexcept;
  BundleVersion version() const noexcept;
  // The parsed manifest (a JSON object) and its exact bytes (UTF-8 JSON text).
  const json::Value& manifest() const noexcept;
  std::string_view manifest_text() const noexcept;

  // The blob table in file order, and the names alone.
  const std::vector<BlobInfo>& blobs() const noexcept;
  std::vector<std::string> blob_names() const;
  // Table entry / bytes of blob `name`; throws Error(Status::InvalidArgument) naming the
  // available blobs if there is none of that name.
  const BlobInfo& blob_info(std::string_view name) const;
  ByteSpan blob(std::string_view name) const;

  // The manifest's "graphs" and "tasks" objects, and single entries of them. graph()
  // throws Error(Status::InvalidArgument), task() Error(Status::UnknownTask) for a name
  // that is not there.
  const json::Value& graphs() const noexcept;
  const json::Value& tasks() const noexcept;
  const json::Value& graph(std::string_view name) const;
  const json::Value& task(std::string_view name) const;

  // Hex SHA-256 of the whole file, computed at the first call (thread-safe) and cached.
  const std::string& sha256() const;

  // The checks open(path, verify=true) adds: zero padding and blob SHA-256s.
  // Throws Error(Status::Bundle) naming the first bad byte or blob.
  void verify() const;

 private:
  struct Impl;
  explicit Bundle(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace argus
