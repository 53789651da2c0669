#pragma once
// The runtime's interface to an accelerator. A device backend (lamina/cuda/) fills one
// DeviceBackend and registers it while the library loads; the runtime, the ops and every layer
// above reach devices only through it, so nothing below the backends names CUDA. A device type
// with no registered backend has no devices: using one raises DeviceNotAvailableError.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "lamina/core/device.h"
#include "lamina/runtime/allocator.h"

namespace lamina::runtime {

/// The functions a device backend provides; every member is set.
struct DeviceBackend {
  /// Devices the backend's driver reports (the runtime applies LAMINA_FORCE_CPU on top).
  int (*device_count)();
  /// The calling thread's current device.
  int (*current_device)();
  /// Makes device `index` the calling thread's current device.
  void (*set_device)(int index);
  /// The calling thread's current stream on device `index`, as the backend's opaque handle.
  void* (*current_stream)(int index);
  /// `nbytes` (> 0) of device memory for work on the current stream.
  void* (*allocate)(int64_t nbytes, int index);
  /// Returns memory from allocate to the backend's cache.
  void (*deallocate)(void* ptr, int index);
  /// The device allocator's counters.
  MemoryStats (*memory_stats)(int index);
  /// Returns cached, unused device memory to the driver.
  void (*empty_cache)(int index);
  /// Resets the peak counter to the bytes allocated now.
  void (*reset_peak_memory_stats)(int index);
  /// Marks allocator memory at `ptr` as used by work on `stream` (reused only after it); a no-op
  /// for memory the allocator did not hand out.
  void (*record_stream)(void* ptr, int index, void* stream);
  /// Copies `bytes` between host and device memory or two devices; waits unless `non_blocking`.
  void (*copy_bytes)(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes, bool non_blocking);
  /// Keeps `owner` alive until the copies between these devices queued so far have completed.
  void (*hold_until_copied)(std::shared_ptr<const void> owner, Device dst_device, Device src_device);
  /// `bytes` of page-locked host memory (copies from it can run asynchronously).
  void* (*pinned_allocate)(size_t bytes);
  /// Returns a block from pinned_allocate.
  void (*pinned_free)(void* ptr);
  /// True when `ptr` points into page-locked host memory.
  bool (*is_pinned)(const void* ptr);
  /// The device's name, e.g. "NVIDIA H100 80GB HBM3".
  std::string (*device_name)(int index);
  /// The device's memory in bytes.
  int64_t (*total_memory)(int index);
  /// The compute capability as major * 10 + minor.
  int (*capability)(int index);
};

/// Installs `backend` for device type `type` (a backend does this once, while the library loads).
void register_device_backend(DeviceType type, const DeviceBackend* backend);
/// The backend registered for `type`, or null when this build has none.
const DeviceBackend* device_backend(DeviceType type);
/// `device`'s backend; DeviceNotAvailableError naming `op` when this build has none.
const DeviceBackend& require_device_backend(Device device, const char* op);

/// Makes `device` the current one of its type for a scope (nothing for the CPU) and restores the
/// device the scope began on at its end (never throwing).
class DeviceGuard {
 public:
  /// Switches to `device` when it is an accelerator that is not current already.
  explicit DeviceGuard(Device device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  const DeviceBackend* backend_ = nullptr;  // null: a CPU scope, nothing to restore
  int previous_ = 0;
};

}  // namespace lamina::runtime
