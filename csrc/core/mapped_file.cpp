#include "core/mapped_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <system_error>
#include <utility>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define ARGUS_HAVE_MMAP 1
#endif

namespace argus {
namespace {

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

#ifdef ARGUS_HAVE_MMAP
// Closes a file descriptor on scope exit.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly `size` bytes from `fd`, or fewer if the file shrank meanwhile.
size_t read_all(int fd, uint8_t* out, size_t size, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, out + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(errno, path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}
#endif

}  // namespace

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, false)),
      copy_(std::move(other.copy_)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, false);
    copy_ = std::move(other.copy_);
  }
  return *this;
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() noexcept {
#ifdef ARGUS_HAVE_MMAP
  if (mapped_ && data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
#endif
  data_ = nullptr;
  size_ = 0;
  mapped_ = false;
  copy_.reset();
}

#ifdef ARGUS_HAVE_MMAP
MappedFile MappedFile::open(const std::string& path, bool try_map) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
  const FdGuard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (fd.fd < 0) throw_errno(errno, path);
  struct stat st;
  if (::fstat(fd.fd, &st) != 0) throw_errno(errno, path);
  if (S_ISDIR(st.st_mode)) throw_errno(EISDIR, path);
  if (!S_ISREG(st.st_mode)) throw_errno(EINVAL, path + ": not a regular file");
  if (st.st_size < 0 ||
      static_cast<uint64_t>(st.st_size) > std::numeric_limits<size_t>::max() / 2) {
    throw_errno(EFBIG, path);
  }
  MappedFile out;
  out.size_ = static_cast<size_t>(st.st_size);
  if (out.size_ == 0) return out;
  void* p = try_map ? ::mmap(nullptr, out.size_, PROT_READ, MAP_PRIVATE, fd.fd, 0) : MAP_FAILED;
  if (p != MAP_FAILED) {
    out.data_ = static_cast<const uint8_t*>(p);
    out.mapped_ = true;
    return out;
  }
  // No mapping (a file system without mmap support, address space limits): read it.
  out.copy_.reset(new uint8_t[out.size_]);
  out.size_ = read_all(fd.fd, out.copy_.get(), out.size_, path);
  out.data_ = out.copy_.get();
  return out;
}
#else
MappedFile MappedFile::open(const std::string& path, bool /*try_map*/) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw_errno(errno, path);
  MappedFile out;
  std::string bytes;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw_errno(EIO, path);
  out.size_ = bytes.size();
  out.copy_.reset(new uint8_t[out.size_ + 1]);
  std::copy(bytes.begin(), bytes.end(), out.copy_.get());
  out.data_ = out.size_ ? out.copy_.get() : nullptr;
  return out;
}
#endif

}  // namespace argus
