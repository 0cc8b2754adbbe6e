// The binary layout checks of .engine bundles: header, trailer, sizes, padding, hashes.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

#include "core/bundle_format.h"
#include "core/sha256.h"

namespace argus::bundle_format {
namespace {

constexpr char kMagic[] = "ARGUSENG";
constexpr char kTrailerMagic[] = "ARGUSEND";
constexpr uint64_t kNoSize = std::numeric_limits<uint64_t>::max();

[[noreturn]] void fail(const std::string& message) { throw Error(Status::Bundle, message); }

uint64_t load_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Python's repr() of bytes: b'...' with \t \n \r \\ and \xNN escapes.
std::string py_bytes_repr(const uint8_t* p, size_t n) {
  const bool has_single = std::memchr(p, '\'', n) != nullptr;
  const bool has_double = std::memchr(p, '"', n) != nullptr;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out = std::string("b") + quote;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = p[i];
    if (c == quote || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t' || c == '\n' || c == '\r') {
      out += c == '\t' ? "\\t" : c == '\n' ? "\\n" : "\\r";
    } else if (c < 0x20 || c >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + quote;
}

const uint8_t* at(ByteSpan file, uint64_t offset) { return file.data + offset; }

// The first non-zero byte in [start, end) of the file, or kNoSize.
uint64_t first_nonzero(ByteSpan file, uint64_t start, uint64_t end) {
  const uint8_t* p = std::find_if(at(file, start), at(file, end), [](uint8_t b) { return b != 0; });
  return p == at(file, end) ? kNoSize : static_cast<uint64_t>(p - file.data);
}

// Throws Error(Status::Internal) if [start, end) is not inside the file: the layout
// checks must have made that impossible.
void require_inside(ByteSpan file, uint64_t start, uint64_t end) {
  if (start > end || end > file.size) {
    throw Error(Status::Internal, "bundle range [" + std::to_string(start) + ", " +
                                      std::to_string(end) + ") outside the file");
  }
}

// Decodes one UTF-8 (or WTF-8) sequence at s[i]; returns its length, or 0 if invalid.
size_t decode_utf8(std::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = b(i);
  const size_t len = b0 < 0x80 ? 1 : b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (len == 0 || s.size() - i < len) return 0;
  uint32_t v = len == 1 ? b0 : b0 & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3F);
  }
  *cp = v;
  return len;
}

// Code points Python's str.isprintable() refuses, approximately: controls, surrogates,
// separators other than the space, and a few format characters.
bool py_printable(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD) return false;
  if (cp >= 0xD800 && cp <= 0xDFFF) return false;
  if ((cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) || cp == 0xFEFF) {
    return false;
  }
  return cp < 0x110000;
}

}  // namespace

std::string py_repr(std::string_view text) {
  const bool has_single = text.find('\'') != std::string_view::npos;
  const bool has_double = text.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t len = decode_utf8(text, i, &cp);
    if (len == 0) {  // not UTF-8 (cannot come from the JSON parser): show the byte
      len = 1;
      cp = 0xDC00 + static_cast<uint8_t>(text[i]);  // like Python's surrogateescape
    }
    char buf[16];
    if (cp == static_cast<uint8_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\t' || cp == '\n' || cp == '\r') {
      out += cp == '\t' ? "\\t" : cp == '\n' ? "\\n" : "\\r";
    } else if (!py_printable(cp)) {
      std::snprintf(buf, sizeof buf, cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x",
                    static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(text.data() + i, len);
    }
    i += len;
  }
  return out + quote;
}

uint64_t align64(uint64_t n) {
  if (n > kNoSize - (kAlign - 1)) return kNoSize;
  return (n + kAlign - 1) / kAlign * kAlign;
}

Header parse_header(ByteSpan file) {
  if (file.size >= 8 && std::memcmp(file.data, kMagic, 8) != 0) {
    fail("bad magic " + py_bytes_repr(file.data, 8) +
         ": not an Argus .engine bundle (expected b'ARGUSENG')");
  }
  if (file.size < kMinSize) {
    fail("truncated: file has " + std::to_string(file.size) + " bytes, a bundle has at least " +
         std::to_string(kMinSize));
  }
  Header h;
  h.version.major = static_cast<uint16_t>(load_le(file.data + 8, 2));
  h.version.minor = static_cast<uint16_t>(load_le(file.data + 10, 2));
  h.flags = static_cast<uint32_t>(load_le(file.data + 12, 4));
  h.manifest_offset = load_le(file.data + 16, 8);
  h.manifest_size = load_le(file.data + 24, 8);
  h.manifest_sha256 = file.data + 32;
  return h;
}

bool tail_matches(ByteSpan file) {
  if (file.size < kMinSize) return false;
  const uint8_t* tail = at(file, file.size - kTrailerSize);
  return std::memcmp(tail, kTrailerMagic, 8) == 0 && load_le(tail + 8, 8) == file.size;
}

void check_trailer(ByteSpan file) {
  require_inside(file, 0, kMinSize);  // parse_header refused smaller files
  const uint8_t* tail = at(file, file.size - kTrailerSize);
  if (std::memcmp(tail, kTrailerMagic, 8) != 0) {
    fail("bad trailer magic " + py_bytes_repr(tail, 8) + " (expected b'ARGUSEND')");
  }
  const uint64_t recorded = load_le(tail + 8, 8);
  if (recorded != file.size) {
    fail("trailer records a file size of " + std::to_string(recorded) +
         " bytes, the file has " + std::to_string(file.size));
  }
  const Sha256Digest digest = argus::sha256(file.data, kHeaderSize);
  if (std::memcmp(digest.data(), tail + 16, digest.size()) != 0) {
    fail("header SHA-256 mismatch (corrupt or tampered)");
  }
}

void check_version(const Header& header) {
  if (header.version.major != kReaderMajor) {
    fail("unsupported format version " + std::to_string(header.version.major) + "." +
         std::to_string(header.version.minor) + " (this reader supports " +
         std::to_string(kReaderMajor) + ".x)");
  }
}

void check_header_fields(const Header& header, uint64_t file_size) {
  if (header.flags != 0) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "unsupported header flags 0x%08x (reserved, must be 0)",
                  static_cast<unsigned>(header.flags));
    fail(buf);
  }
  if (header.manifest_offset != kHeaderSize) {
    fail("manifest offset " + std::to_string(header.manifest_offset) + " must be " +
         std::to_string(kHeaderSize));
  }
  const uint64_t size = header.manifest_size;
  const uint64_t end = size > kNoSize - kHeaderSize ? kNoSize : kHeaderSize + size;
  const uint64_t aligned = align64(end);
  if (aligned == kNoSize || aligned > kNoSize - kTrailerSize) {
    fail("truncated: a manifest of " + std::to_string(size) +
         " bytes does not fit in any file, file has " + std::to_string(file_size));
  }
  if (file_size < aligned + kTrailerSize) {
    fail("truncated: expected at least " + std::to_string(aligned + kTrailerSize) +
         " bytes, file has " + std::to_string(file_size));
  }
}

void check_manifest_sha256(ByteSpan file, const Header& header) {
  require_inside(file, kHeaderSize, kHeaderSize + header.manifest_size);
  const Sha256Digest digest = argus::sha256(at(file, kHeaderSize), header.manifest_size);
  if (std::memcmp(digest.data(), header.manifest_sha256, digest.size()) != 0) {
    fail("manifest SHA-256 mismatch (corrupt or tampered)");
  }
}

uint64_t blob_region_end(const std::vector<BlobInfo>& blobs, uint64_t manifest_end) {
  uint64_t end = manifest_end;
  for (const BlobInfo& info : blobs) {
    if (info.offset % kAlign != 0) {
      fail("blob " + py_repr(info.name) + " offset " + std::to_string(info.offset) +
           " is not a multiple of " + std::to_string(kAlign));
    }
    if (info.offset < end) {
      fail("blob " + py_repr(info.name) + " at offset " + std::to_string(info.offset) +
           " overlaps the previous part or is out of offset order (which ends at " +
           std::to_string(end) + ")");
    }
    end = info.size > kNoSize - info.offset ? kNoSize : info.offset + info.size;
  }
  return end;
}

void check_size(uint64_t expected, uint64_t file_size) {
  if (expected == kNoSize) {
    fail("truncated: the blob table needs more than " + std::to_string(kNoSize) +
         " bytes, file has " + std::to_string(file_size));
  }
  if (file_size < expected) {
    fail("truncated: expected " + std::to_string(expected) + " bytes, file has " +
         std::to_string(file_size));
  }
  if (file_size > expected) {
    fail(std::to_string(file_size - expected) +
         " unexpected bytes after the end of the bundle (expected " + std::to_string(expected) +
         " bytes, file has " + std::to_string(file_size) + ")");
  }
}

void check_padding(ByteSpan file, const std::vector<BlobInfo>& blobs, uint64_t manifest_end,
                   uint64_t trailer_at) {
  uint64_t start = manifest_end;
  const auto check_gap = [&](uint64_t gap_end) {
    require_inside(file, start, gap_end);
    const uint64_t bad = first_nonzero(file, start, gap_end);
    if (bad != kNoSize) fail("non-zero padding at offset " + std::to_string(bad));
  };
  for (const BlobInfo& info : blobs) {
    if (info.offset > start) check_gap(info.offset);
    start = info.offset + info.size;  // blob_region_end checked it does not wrap
  }
  if (trailer_at > start) check_gap(trailer_at);
}

void check_blob_hashes(ByteSpan file, const std::vector<BlobInfo>& blobs) {
  for (const BlobInfo& info : blobs) {
    require_inside(file, info.offset, info.offset + info.size);
    if (to_hex(argus::sha256(at(file, info.offset), info.size)) != info.sha256) {
      fail("blob " + py_repr(info.name) + " SHA-256 mismatch (corrupt or tampered)");
    }
  }
}

}  // namespace argus::bundle_format
