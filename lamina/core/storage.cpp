#include "lamina/core/storage.h"

#include "lamina/runtime/allocator.h"

namespace lamina {

Storage::Storage(int64_t nbytes, Device device)
    : data_(runtime::allocate(nbytes, device)), nbytes_(nbytes), device_(device) {}

Storage::Storage(void* data, int64_t nbytes, Device device, std::function<void()> release)
    : data_(data), nbytes_(nbytes), device_(device), release_(std::move(release)) {}

Storage::~Storage() {
  if (release_) {
    release_();
  } else if (data_ != nullptr) {
    runtime::deallocate(data_, nbytes_, device_);
  }
}

}  // namespace lamina
