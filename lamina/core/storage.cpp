#include "lamina/core/storage.h"

#include "lamina/core/error.h"

namespace lamina {

namespace {
StorageAllocator g_allocator;
}  // namespace

void set_storage_allocator(StorageAllocator allocator) { g_allocator = allocator; }

Storage::Storage(int64_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  LAMINA_CHECK(g_allocator.allocate != nullptr, ConfigError, "allocate",
               "no storage allocator is installed (lamina's runtime is not linked)");
  data_ = g_allocator.allocate(nbytes, device);
}

Storage::Storage(void* data, int64_t nbytes, Device device, std::function<void()> release)
    : data_(data), nbytes_(nbytes), device_(device), release_(std::move(release)) {}

Storage::~Storage() {
  if (release_) {
    release_();
  } else if (data_ != nullptr) {
    g_allocator.deallocate(data_, nbytes_, device_);
  }
}

}  // namespace lamina
