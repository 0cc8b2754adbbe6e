// The .engine bundle reader: a bundle built here byte by byte (docs/bundle_format.md),
// round trip, every single-byte flip, every truncation, schema violations in re-sealed
// manifests, and random mutations; every failure must be Error(Status::Bundle).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "core/bundle.h"
#include "core/mapped_file.h"
#include "core/sha256.h"

namespace {

using argus::Bundle;
using argus::Status;
using argus_test::check_throws;

struct TestBlob {
  std::string name;
  uint64_t offset;
  std::string bytes;
};

// A scratch directory under $TMPDIR (else /dev/shm, else /tmp: the tests rewrite a small
// file thousands of times), removed with its files at exit.
class TempDir {
 public:
  TempDir() {
    const char* env = std::getenv("TMPDIR");
    const std::string base = env && *env                        ? env
                             : ::access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                                               : "/tmp";
    std::string tmpl = base + "/argus_bundle_XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    for (const std::string& f : files_) std::remove(f.c_str());
    ::rmdir(path_.c_str());
  }
  std::string file(const std::string& name) {
    files_.insert(path_ + "/" + name);
    return path_ + "/" + name;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::set<std::string> files_;
};

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void put_le(std::string& out, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out[at + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
  }
}

std::string digest_bytes(const std::string& s) {
  const argus::Sha256Digest d = argus::sha256(s.data(), s.size());
  return std::string(d.begin(), d.end());
}

// Bundle bytes with exactly this manifest text and these blobs at their offsets: the
// header and trailer are computed, nothing is checked (like tests/test_bundle.py _seal).
std::string seal(const std::string& manifest, const std::vector<TestBlob>& blobs,
                 uint16_t major = 1, uint16_t minor = 0, uint32_t flags = 0) {
  uint64_t end = 64 + manifest.size();
  for (const TestBlob& b : blobs) end = std::max<uint64_t>(end, b.offset + b.bytes.size());
  std::string out((end + 63) / 64 * 64 + 48, '\0');
  std::string header(64, '\0');
  header.replace(0, 8, "ARGUSENG");
  put_le(header, 8, major, 2);
  put_le(header, 10, minor, 2);
  put_le(header, 12, flags, 4);
  put_le(header, 16, 64, 8);
  put_le(header, 24, manifest.size(), 8);
  header.replace(32, 32, digest_bytes(manifest));
  out.replace(0, 64, header);
  out.replace(64, manifest.size(), manifest);
  for (const TestBlob& b : blobs) out.replace(b.offset, b.bytes.size(), b.bytes);
  const size_t t = out.size() - 48;
  out.replace(t, 8, "ARGUSEND");
  put_le(out, t + 8, out.size(), 8);
  out.replace(t + 16, 32, digest_bytes(header));
  return out;
}

std::vector<TestBlob> test_blobs() {
  std::string onnx(100, '\0');
  for (size_t i = 0; i < onnx.size(); ++i) onnx[i] = static_cast<char>(i * 13 + 1);
  return {{"backbone.onnx", 2048, onnx}, {"det.onnx", 2176, ""}, {"notes.txt", 2176, "a note\n"}};
}

std::string blob_table(const std::vector<TestBlob>& blobs) {
  std::string out = "[";
  for (const TestBlob& b : blobs) {
    out += std::string(out.size() > 1 ? "," : "") + "{\"name\":\"" + b.name + "\",\"offset\":" +
           std::to_string(b.offset) + ",\"size\":" + std::to_string(b.bytes.size()) +
           ",\"sha256\":\"" + argus::to_hex(argus::sha256(b.bytes.data(), b.bytes.size())) +
           "\",\"media_type\":\"application/x-onnx\"}";
  }
  return out + "]";
}

std::string good_manifest(const std::vector<TestBlob>& blobs = test_blobs()) {
  const std::string variant = "{\"backend\":\"onnxruntime\",\"precision\":\"fp32\",\"blobs\":";
  return "{\"format\":\"argus-engine\",\"format_version\":[1,0],\"sdk_version\":\"0.1.0\","
         "\"created\":\"2026-11-22T17:00:00Z\",\"model\":{\"name\":\"argus_tiny\",\"config\":"
         "{\"name\":\"argus_tiny\"}},\"preprocess\":{\"color\":\"RGB\"},\"graphs\":{"
         "\"backbone\":{\"role\":\"backbone\",\"variants\":{\"onnx-fp32\":" + variant +
         "{\"model\":\"backbone.onnx\"}}}},\"det\":{\"role\":\"head\",\"variants\":{"
         "\"onnx-fp32\":" + variant + "{\"model\":\"det.onnx\"}}}}},\"tasks\":{\"det\":{"
         "\"graph\":\"det\",\"backbone\":\"backbone\",\"classes\":[\"person\"]}},"
         "\"provenance\":{\"calibration\":null},\"blobs\":" + blob_table(blobs) + "}";
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  if (at == std::string::npos) {
    std::fprintf(stderr, "test bug: '%s' not in the manifest\n", from.c_str());
    std::abort();
  }
  return text.replace(at, from.size(), to);
}

// Opens `bytes` written to `path` and expects Error(Status::Bundle) containing `needle`.
std::string expect_refused(const std::string& path, const std::string& bytes,
                           const std::string& needle, const std::string& what) {
  write_file(path, bytes);
  return check_throws(Status::Bundle, needle, [&] { Bundle::open(path); }, what);
}

void test_round_trip(TempDir& dir) {
  const std::string path = dir.file("good.engine");
  const std::string bytes = seal(good_manifest(), test_blobs());
  write_file(path, bytes);
  Bundle opened = Bundle::open(path);
  const Bundle bundle = std::move(opened);  // moving keeps every view valid
  CHECK(bundle.version().major == 1 && bundle.version().minor == 0);
  CHECK(bundle.file_size() == bytes.size() && bundle.path() == path);
  CHECK(bundle.manifest_text() == good_manifest());
  CHECK(bundle.manifest().at("model").at("name").as_string() == "argus_tiny");
  const std::vector<std::string> names = bundle.blob_names();
  CHECK(names == (std::vector<std::string>{"backbone.onnx", "det.onnx", "notes.txt"}));
  for (const TestBlob& b : test_blobs()) {
    const argus::ByteSpan span = bundle.blob(b.name);
    CHECK(std::string(span.begin(), span.end()) == b.bytes);
    CHECK(bundle.blob_info(b.name).offset == b.offset);
  }
  CHECK(bundle.blob("det.onnx").empty());
  CHECK(bundle.sha256() == argus::to_hex(argus::sha256(bytes.data(), bytes.size())));
  CHECK(&bundle.sha256() == &bundle.sha256());  // computed once
  CHECK(bundle.task("det").at("graph").as_string() == "det");
  CHECK(bundle.graph("backbone").at("role").as_string() == "backbone");
  CHECK(bundle.graphs().size() == 2 && bundle.tasks().size() == 1);
  check_throws(Status::UnknownTask, "no task 'pose' (tasks: 'det')", [&] { bundle.task("pose"); },
               "task()");
  check_throws(Status::InvalidArgument, "no graph named 'x'", [&] { bundle.graph("x"); }, "graph");
  check_throws(Status::InvalidArgument,
               "no blob named 'x.onnx' (blobs: backbone.onnx, det.onnx, notes.txt)",
               [&] { bundle.blob("x.onnx"); }, "blob()");
  bundle.verify();
  const argus::MappedFile copy = argus::MappedFile::open(path, /*try_map=*/false);
  CHECK(!copy.is_mapped() && std::string(copy.data(), copy.data() + copy.size()) == bytes);
  CHECK(argus::MappedFile::open(path).is_mapped());
}

// Every byte of the file is covered by a hash or must be zero.
void test_every_byte_flip(TempDir& dir) {
  const std::string path = dir.file("flip.engine");
  const std::string good = seal(good_manifest(), test_blobs());
  std::set<std::string> kinds;
  for (size_t i = 0; i < good.size(); ++i) {
    for (const int mask : {0x01, 0x80, 0xFF}) {
      if (mask != 0x01 && i % 5 != 0) continue;
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      const std::string message =
          expect_refused(path, bad, "", "flip byte " + std::to_string(i));
      const size_t colon = message.find(": ");
      if (colon != std::string::npos) kinds.insert(message.substr(colon + 2, 8));
    }
  }
  for (const char* kind : {"bad magi", "header S", "manifest", "non-zero", "blob 'ba",
                           "bad trai", "trailer "}) {
    CHECK(kinds.count(kind) == 1);
  }
}

void test_truncation_and_extension(TempDir& dir) {
  const std::string path = dir.file("cut.engine");
  const std::string good = seal(good_manifest(), test_blobs());
  for (size_t n = 0; n < good.size(); ++n) {
    expect_refused(path, good.substr(0, n), n >= 8 || n == 0 ? "truncated" : "",
                   "truncated to " + std::to_string(n));
  }
  expect_refused(path, good.substr(0, good.size() - 10),
                 "truncated: expected " + std::to_string(good.size()) + " bytes, file has " +
                     std::to_string(good.size() - 10),
                 "cut 10");
  expect_refused(path, good + std::string(64, '\0'), "64 unexpected bytes", "appended zeros");
  expect_refused(path, good + good.substr(good.size() - 48), "48 unexpected bytes",
                 "appended trailer");
}

void test_files(TempDir& dir) {
  const std::string missing = dir.path() + "/missing.engine";
  try {
    Bundle::open(missing);
    CHECK(false);
  } catch (const argus::BundleNotFoundError& e) {
    CHECK(e.status() == Status::Bundle);
    CHECK_EQ_STR(e.what(), missing + ": no such bundle file");
  }
  check_throws(Status::Bundle, "cannot read the bundle", [&] { Bundle::open(dir.path()); }, "dir");
  expect_refused(dir.file("empty.engine"), "", "truncated: file has 0 bytes", "empty");
  expect_refused(dir.file("text.engine"), "hello world", "bad magic b'hello wo'", "text");
  expect_refused(dir.file("short.engine"), "ARGUSENG", "truncated: file has 8 bytes", "magic only");
}

// Manifests that break one rule, re-sealed so that only the schema check can fire.
void test_schema(TempDir& dir) {
  const std::string path = dir.file("schema.engine");
  const std::string m = good_manifest();
  const std::vector<TestBlob> blobs = test_blobs();
  const std::vector<std::pair<std::pair<std::string, std::string>, std::string>> cases = {
      {{"\"argus-engine\"", "\"onnx\""}, "'format' must be 'argus-engine', got 'onnx'"},
      {{"\"format\":", "\"formats\":"}, "'format' must be 'argus-engine', got None"},
      {{"[1,0]", "[1,1]"}, "'format_version' [1, 1] does not match the header's [1, 0]"},
      {{"[1,0]", "[1.0,0]"}, "'format_version' [1.0, 0] does not match"},
      {{"[1,0]", "[true,0]"}, "'format_version' [True, 0] does not match"},
      {{"[1,0]", "[1,0,0]"}, "does not match"},
      {{"[1,0]", "\"1.0\""}, "'format_version' '1.0' does not match"},
      {{"\"0.1.0\"", "10"}, "'sdk_version' must be a JSON string, got int"},
      {{"\"2026-11-22T17:00:00Z\"", "\"2026-11-22 17:00:00\""}, "'created' must be ISO 8601"},
      {{"\"2026-11-22T17:00:00Z\"", "\"2026-11-22T17:00:00.1234567890Z\""}, "ISO 8601"},
      {{"\"preprocess\":{", "\"preprocess\":[{"}, "manifest is not valid JSON"},
      {{"\"provenance\":{\"calibration\":null}", "\"provenance\":null"},
       "'provenance' must be a JSON object, it is missing or null"},
      {{"\"model\":{\"name\":\"argus_tiny\"", "\"model\":{\"name\":[]"},
       "'model.name' must be a JSON string, got list"},
      {{"\"blobs\":[{", "\"blob\":[{"}, "'blobs' must be a JSON array"},
      {{"\"offset\":2048", "\"offset\":2048.0"},
       "blobs[0] 'offset' must be a JSON integer, got float"},
      {{"\"offset\":2048", "\"offset\":1e3"}, "got float"},
      {{"\"size\":100", "\"size\":-100"}, "blob 'backbone.onnx' has a negative offset or size"},
      {{"\"offset\":2048", "\"offset\":99999999999999999999999"}, "larger than any file"},
      {{"\"name\":\"notes.txt\"", "\"name\":\"../notes.txt\""}, "unsafe blob name '../notes.txt'"},
      {{"\"name\":\"notes.txt\"", "\"name\":\"det.onnx\""}, "duplicate blob name 'det.onnx'"},
      {{"\"name\":\"notes.txt\"", "\"name\":\"n\\u00e9\""}, "unsafe blob name 'n\xc3\xa9'"},
      {{"\"media_type\":\"application/x-onnx\"}]", "\"media_type\":5}]"},
       "blobs[2] 'media_type' must be a JSON string, got int"},
      {{"{\"model\":\"det.onnx\"}", "{\"model\":\"ghost.onnx\"}"},
       "graph 'det' variant 'onnx-fp32' role 'model' names blob 'ghost.onnx', which the bundle "
       "does not contain"},
      {{"{\"model\":\"det.onnx\"}", "{\"model\":7}"}, "names blob 7, which"},
      {{"\"precision\":\"fp32\"", "\"precision\":null"},
       "graph 'backbone' variant 'onnx-fp32' 'precision' must be a JSON string"},
      {{"\"role\":\"head\",\"variants\"", "\"role\":\"head\",\"variant\""},
       "graph 'det' 'variants' must be a JSON object"},
      {{"\"graph\":\"det\"", "\"graph\":\"pose\""}, "task 'det' graph 'pose' is not an entry"},
      {{"\"backbone\":\"backbone\",", "\"backbone\":null,"}, "task 'det' backbone None is not"},
      {{"\"tasks\":{\"det\":{", "\"tasks\":{\"det\":[{"}, "not valid JSON"},
  };
  for (const auto& [edit, needle] : cases) {
    expect_refused(path, seal(replaced(m, edit.first, edit.second), blobs), needle,
                   edit.first + " -> " + edit.second);
  }
  // without "backbone" a task is fine; unknown keys anywhere are ignored
  write_file(path, seal(replaced(replaced(m, "\"backbone\":\"backbone\",", ""), "\"sdk_version\"",
                                 "\"future\":{\"x\":[1,{}]},\"sdk_version\""),
                        blobs));
  CHECK(Bundle::open(path).task("det").find("backbone") == nullptr);
}

void test_manifest_json(TempDir& dir) {
  const std::string path = dir.file("json.engine");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"a\": 1, \"a\": 2}", "manifest is not valid JSON: duplicate key \"a\""},
      {"{\"a\": NaN}", "NaN is not a JSON value"},
      {"[1]", "manifest must be a JSON object, got list"},
      {"\"x\"", "manifest must be a JSON object, got str"},
      {"\xff{}", "manifest is not valid UTF-8: 'utf-8' codec can't decode byte 0xff in position "
                 "0: invalid start byte"},
      {"{", "manifest is not valid JSON"},
      {"{} {}", "Extra data"},
      {"", "Expecting value"},
      {"{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}", "nested too deeply"},
  };
  for (const auto& [text, needle] : cases) {
    expect_refused(path, seal(text, {}), needle, "manifest " + text.substr(0, 20));
  }
  // any valid JSON text: whitespace, escapes in keys, \/ in strings
  std::string spaced = replaced(good_manifest(), "\"format\":", "\n\t \"form\\u0061t\" :\r\n ");
  spaced = replaced(spaced, "\"notes.txt\"", "\"notes.txt\"");
  write_file(path, seal(" " + spaced + "\n", test_blobs()));
  CHECK(Bundle::open(path).manifest().at("format").as_string() == "argus-engine");
}

// Header fields, version, layout of the blob table, gaps and verify=false.
void test_layout(TempDir& dir) {
  const std::string path = dir.file("layout.engine");
  const std::string m = good_manifest();
  const std::vector<TestBlob> blobs = test_blobs();
  expect_refused(path, seal(m, blobs, 2, 0), "unsupported format version 2.0 (this reader "
                                              "supports 1.x)", "major 2");
  expect_refused(path, seal(m, blobs, 1, 0, 4), "unsupported header flags 0x00000004", "flags");
  write_file(path, seal(replaced(m, "[1,0]", "[1,7]"), blobs, 1, 7));  // any minor of 1
  CHECK(Bundle::open(path).version().minor == 7);
  expect_refused(path, seal(m, blobs, 1, 7), "'format_version' [1, 0] does not match the "
                                             "header's [1, 7]", "minor mismatch");
  std::vector<TestBlob> moved = blobs;
  moved[0].offset = 2000;
  expect_refused(path, seal(good_manifest(moved), moved), "offset 2000 is not a multiple of 64",
                 "unaligned");
  moved = blobs;
  moved[1].offset = 2112;  // inside backbone.onnx (2048 + 100)
  expect_refused(path, seal(good_manifest(moved), moved), "'det.onnx' at offset 2112 overlaps",
                 "overlap");
  moved = {blobs[1], blobs[0], blobs[2]};
  moved[0].offset = 64;  // the empty det.onnx inside the manifest
  expect_refused(path, seal(good_manifest(moved), moved), "overlaps the previous part", "manifest");
  moved = blobs;
  for (TestBlob& b : moved) b.offset += 4096;  // wide zero gaps are fine
  write_file(path, seal(good_manifest(moved), moved));
  CHECK(Bundle::open(path).blob("notes.txt").size == 7);
  std::string corrupt = seal(m, blobs);
  corrupt[2048 + 5] ^= 0x10;
  write_file(path, corrupt);
  const Bundle lazy = Bundle::open(path, /*verify=*/false);
  check_throws(Status::Bundle, "blob 'backbone.onnx' SHA-256 mismatch (corrupt or tampered)",
               [&] { lazy.verify(); }, "verify()");
}

// Random mutations of the file and of re-sealed manifests: refused or accepted, never
// anything but Error(Status::Bundle) (run under ASan/UBSan for out-of-bounds reads).
void test_random_mutations(TempDir& dir) {
  const std::string path = dir.file("fuzz.engine");
  const std::string good = seal(good_manifest(), test_blobs());
  const std::string m = good_manifest();
  std::mt19937 rng(1234);
  const auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const char alphabet[] = "{}[]\",:0123456789-+.eE \\u\x80\xc3\xff";
  for (int round = 0; round < 3000; ++round) {
    std::string bytes;
    if (round % 2 == 0) {
      bytes = good;
      for (int k = 0, n = 1 + static_cast<int>(pick(4)); k < n; ++k) {
        bytes[pick(bytes.size())] = static_cast<char>(rng());
      }
    } else {
      std::string text = m;
      for (int k = 0, n = 1 + static_cast<int>(pick(3)); k < n; ++k) {
        const size_t at = pick(text.size());
        const char c = alphabet[pick(sizeof alphabet - 1)];
        if (pick(3) == 0) text.erase(at, 1 + pick(8));
        else if (pick(2) == 0) text.insert(at, 1, c);
        else text[at] = c;
      }
      bytes = seal(text, test_blobs());
    }
    write_file(path, bytes);
    try {
      Bundle::open(path);
    } catch (const argus::Error& e) {
      if (e.status() != Status::Bundle) {
        std::fprintf(stderr, "mutation %d: status %d: %s\n", round, e.code(), e.what());
        ++argus_test::g_failures;
      }
    }
  }
}

}  // namespace

int main() {
  TempDir dir;
  test_round_trip(dir);
  test_every_byte_flip(dir);
  test_truncation_and_extension(dir);
  test_files(dir);
  test_schema(dir);
  test_manifest_json(dir);
  test_layout(dir);
  test_random_mutations(dir);
  return argus_test::report("test_bundle");
}
