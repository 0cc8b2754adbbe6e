#include "core/bundle.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <utility>

#include "core/bundle_format.h"
#include "core/mapped_file.h"
#include "core/sha256.h"

namespace argus {

namespace fmt = bundle_format;

struct Bundle::Impl {
  std::string path;
  std::string shown_path;  // path with bytes that are not UTF-8 escaped, for messages
  MappedFile file;
  BundleVersion version;
  uint64_t manifest_end = 0;
  uint64_t trailer_at = 0;
  std::unique_ptr<const json::Value> manifest;
  std::vector<BlobInfo> blobs;
  std::vector<uint32_t> by_name;  // indices of blobs sorted by name
  mutable std::once_flag sha256_once;
  mutable std::string sha256_hex;

  ByteSpan bytes() const { return ByteSpan{file.data(), file.size()}; }
  std::string_view manifest_text() const {
    return manifest_end == 0 ? std::string_view()
                             : std::string_view(reinterpret_cast<const char*>(file.data()) +
                                                    fmt::kHeaderSize,
                                                manifest_end - fmt::kHeaderSize);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(Status::Bundle, shown_path + ": " + what);
  }

  void check_structure();
};

namespace {

// `path` with every byte that is not valid UTF-8 written as \xNN, so that messages are
// always valid UTF-8 (Python turns them into str).
std::string printable_path(const std::string& path) {
  std::string out;
  for (size_t i = 0; i < path.size();) {
    const size_t bad = json::find_invalid_utf8(std::string_view(path).substr(i));
    if (bad == std::string_view::npos) {
      out.append(path, i, std::string::npos);
      break;
    }
    out.append(path, i, bad);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(
                                                  static_cast<uint8_t>(path[i + bad])));
    out += buf;
    i += bad + 1;
  }
  return out;
}

MappedFile map_bundle(const std::string& path, const std::string& shown) {
  try {
    return MappedFile::open(path);
  } catch (const std::system_error& e) {
    if (e.code() == std::errc::no_such_file_or_directory) {
      throw BundleNotFoundError(shown + ": no such bundle file", shown);
    }
    const std::string reason =
        e.code() == std::errc::invalid_argument ? "not a regular file" : e.code().message();
    throw Error(Status::Bundle, shown + ": cannot read the bundle: " + reason);
  }
}

}  // namespace

// Steps 1-9 of docs/bundle_format.md §2, in the reference reader's order.
void Bundle::Impl::check_structure() {
  const ByteSpan data = bytes();
  const fmt::Header header = fmt::parse_header(data);
  const bool trailer_intact = fmt::tail_matches(data);
  if (trailer_intact) fmt::check_trailer(data);  // authenticate the header first
  fmt::check_version(header);
  fmt::check_header_fields(header, data.size);
  manifest_end = fmt::kHeaderSize + header.manifest_size;  // checked: inside the file
  fmt::check_manifest_sha256(data, header);
  manifest = fmt::decode_manifest(manifest_text());
  fmt::check_manifest(*manifest, header.version);
  blobs = fmt::parse_blob_table(manifest->find("blobs"));
  fmt::check_references(*manifest, blobs);
  trailer_at = fmt::align64(fmt::blob_region_end(blobs, manifest_end));
  const uint64_t expected =
      trailer_at > UINT64_MAX - fmt::kTrailerSize ? UINT64_MAX : trailer_at + fmt::kTrailerSize;
  fmt::check_size(expected, data.size);
  if (!trailer_intact) fmt::check_trailer(data);
  version = header.version;
}

Bundle::Bundle(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Bundle::Bundle(Bundle&&) noexcept = default;
Bundle& Bundle::operator=(Bundle&&) noexcept = default;
Bundle::~Bundle() = default;

Bundle Bundle::open(const std::string& path, bool verify) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->shown_path = printable_path(path);
  impl->file = map_bundle(path, impl->shown_path);
  try {
    impl->check_structure();
  } catch (const Error& e) {
    if (e.status() != Status::Bundle) throw;
    impl->fail(e.what());
  }
  impl->by_name.resize(impl->blobs.size());
  for (size_t i = 0; i < impl->blobs.size(); ++i) impl->by_name[i] = static_cast<uint32_t>(i);
  std::sort(impl->by_name.begin(), impl->by_name.end(), [&](uint32_t a, uint32_t b) {
    return impl->blobs[a].name < impl->blobs[b].name;
  });
  Bundle bundle(std::move(impl));
  if (verify) bundle.verify();
  return bundle;
}

void Bundle::verify() const {
  try {
    fmt::check_padding(impl_->bytes(), impl_->blobs, impl_->manifest_end, impl_->trailer_at);
    fmt::check_blob_hashes(impl_->bytes(), impl_->blobs);
  } catch (const Error& e) {
    if (e.status() != Status::Bundle) throw;
    impl_->fail(e.what());
  }
}

const std::string& Bundle::path() const noexcept { return impl_->path; }
uint64_t Bundle::file_size() const noexcept { return impl_->file.size(); }
BundleVersion Bundle::version() const noexcept { return impl_->version; }
const json::Value& Bundle::manifest() const noexcept { return *impl_->manifest; }
std::string_view Bundle::manifest_text() const noexcept { return impl_->manifest_text(); }
const std::vector<BlobInfo>& Bundle::blobs() const noexcept { return impl_->blobs; }
const json::Value& Bundle::graphs() const noexcept { return *impl_->manifest->find("graphs"); }
const json::Value& Bundle::tasks() const noexcept { return *impl_->manifest->find("tasks"); }

std::vector<std::string> Bundle::blob_names() const {
  std::vector<std::string> names;
  names.reserve(impl_->blobs.size());
  for (const BlobInfo& b : impl_->blobs) names.push_back(b.name);
  return names;
}

const BlobInfo& Bundle::blob_info(std::string_view name) const {
  const std::vector<BlobInfo>& blobs = impl_->blobs;
  const auto it = std::lower_bound(
      impl_->by_name.begin(), impl_->by_name.end(), name,
      [&](uint32_t i, std::string_view n) { return std::string_view(blobs[i].name) < n; });
  if (it != impl_->by_name.end() && blobs[*it].name == name) return blobs[*it];
  std::string known;
  for (const BlobInfo& b : blobs) known += (known.empty() ? "" : ", ") + b.name;
  throw Error(Status::InvalidArgument, impl_->shown_path + ": no blob named " +
                                           fmt::py_repr(name) + " (blobs: " +
                                           (known.empty() ? "none" : known) + ")");
}

ByteSpan Bundle::blob(std::string_view name) const {
  const BlobInfo& info = blob_info(name);
  return ByteSpan{impl_->file.data() + info.offset, static_cast<size_t>(info.size)};
}

const json::Value& Bundle::graph(std::string_view name) const {
  const json::Value* g = graphs().find(name);
  if (g == nullptr) {
    throw Error(Status::InvalidArgument,
                impl_->shown_path + ": no graph named " + fmt::py_repr(name));
  }
  return *g;
}

const json::Value& Bundle::task(std::string_view name) const {
  const json::Value* t = tasks().find(name);
  if (t == nullptr) {
    std::string known;
    for (const std::string& k : tasks().keys()) {
      known += (known.empty() ? "" : ", ") + fmt::py_repr(k);
    }
    throw Error(Status::UnknownTask, impl_->shown_path + ": the bundle has no task " +
                                         fmt::py_repr(name) + " (tasks: " +
                                         (known.empty() ? "none" : known) + ")");
  }
  return *t;
}

const std::string& Bundle::sha256() const {
  std::call_once(impl_->sha256_once, [this] {
    impl_->sha256_hex = to_hex(argus::sha256(impl_->file.data(), impl_->file.size()));
  });
  return impl_->sha256_hex;
}

}  // namespace argus
