#include "lamina/runtime/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lamina/core/error.h"

namespace lamina::runtime {

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path, const char* op) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  LAMINA_CHECK(fd >= 0, IOError, op, "cannot open '", path, "': ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int err = errno;
    ::close(fd);
    LAMINA_THROW(IOError, op, "cannot map '", path,
                 "': ", S_ISREG(st.st_mode) ? std::strerror(err) : "not a regular file");
  }
  const auto size = static_cast<int64_t>(st.st_size);
  void* p = nullptr;
  if (size > 0) {
    // MAP_PRIVATE + PROT_WRITE: a tensor view may be written in place without faulting, and the
    // file itself never changes.
    p = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      LAMINA_THROW(IOError, op, "cannot map '", path, "': ", std::strerror(err));
    }
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  return std::shared_ptr<MappedFile>(new MappedFile(path, static_cast<unsigned char*>(p), size));
}

MappedFile::MappedFile(std::string path, unsigned char* data, int64_t size)
    : path_(std::move(path)), data_(data), size_(size) {}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, static_cast<size_t>(size_));
}

Tensor view_mapped(const std::shared_ptr<MappedFile>& file, int64_t byte_offset, const Shape& shape,
                   const Strides& strides, Dtype dtype) {
  auto storage = std::make_shared<Storage>(file->data() == nullptr ? nullptr : file->data() + byte_offset,
                                           file->size() - byte_offset, kCPU, [keep = file] {});
  return Tensor::make_view(std::move(storage), shape, strides, 0, dtype);
}

}  // namespace lamina::runtime
