#pragma once
// A reference-counted block of device memory shared by a tensor and its views.
#include <cstdint>
#include <functional>
#include <memory>

#include "lamina/core/device.h"

namespace lamina {

/// How Storage gets and returns its bytes. The runtime installs its allocators while the library
/// loads: core allocates nothing itself.
struct StorageAllocator {
  /// `nbytes` (>= 0) on `device`; a unique non-null pointer even for zero bytes.
  void* (*allocate)(int64_t nbytes, Device device) = nullptr;
  /// Returns what allocate gave.
  void (*deallocate)(void* ptr, int64_t nbytes, Device device) = nullptr;
};

/// Makes every later Storage(nbytes, device) allocate through `allocator`.
void set_storage_allocator(StorageAllocator allocator);

/// Owns (or borrows, with a keep-alive) one buffer; views share it through shared_ptr.
class Storage {
 public:
  /// Allocates `nbytes` on `device` through the installed StorageAllocator.
  Storage(int64_t nbytes, Device device);
  /// Wraps external memory; `release` runs when the last view goes away (zero-copy interop).
  Storage(void* data, int64_t nbytes, Device device, std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  /// Start of the buffer.
  void* data() const { return data_; }
  /// Size in bytes.
  int64_t nbytes() const { return nbytes_; }
  /// The device the bytes live on.
  Device device() const { return device_; }
  /// Version counter shared by all views; bumped by every in-place write.
  uint64_t version() const { return version_; }
  /// Records one in-place modification.
  void bump_version() { ++version_; }

 private:
  void* data_ = nullptr;
  int64_t nbytes_ = 0;
  Device device_;
  uint64_t version_ = 0;
  std::function<void()> release_;  // empty: memory came from the runtime allocator
};

}  // namespace lamina
