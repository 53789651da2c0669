#pragma once
// The current device and stream of the calling thread: every kernel launch and device copy is
// queued on current_stream(current_device()). Each thread has its own current stream per device
// (the device's default stream until set_current_stream or a StreamGuard changes it). A build
// without CUDA links stream_stub.cpp: no devices, DeviceNotAvailableError naming the op.
#include <cstdint>
#include <memory>
#include <utility>

namespace lamina::cuda {

class Event;  // lamina/cuda/event.h

/// The CUDA device this thread launches on (0 unless a DeviceGuard or set_device changed it).
int current_device();
/// Makes `index` the calling thread's current device.
void set_device(int index);
/// The stream kernels on device `index` are queued on, as a cudaStream_t (nullptr: the
/// device's default stream).
void* current_stream(int index);
/// Throws KernelError naming `op` when the last kernel launch on this thread failed (bad
/// configuration, no kernel image for this GPU, an earlier asynchronous fault).
void check_kernel_launch(const char* op);

/// Makes a device current for a scope and restores the previous one at its end.
class DeviceGuard {
 public:
  /// Switches to device `index` (no-op when already current).
  explicit DeviceGuard(int index);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_;
};

/// A CUDA stream of one device. Copies share the stream; a stream made by create() is destroyed
/// (after its queued work finishes) when the last copy goes away.
class Stream {
 public:
  /// The default stream of device `index`; DeviceNotAvailableError when there is no such device.
  static Stream default_stream(int index);
  /// The calling thread's current stream on device `index`.
  static Stream current(int index);
  /// A new stream on device `index`; lower `priority` runs first (clamped to the device's range,
  /// see priority_range()). It does not synchronize with the default stream.
  static Stream create(int index, int priority = 0);
  /// A stream made elsewhere (a cudaStream_t from another library; 1 and 2 are the legacy and the
  /// per-thread default streams), not owned: its owner must keep it alive.
  static Stream external(int index, void* handle);
  /// The (greatest, least) priority values of device `index`, e.g. (-5, 0): lower runs first.
  static std::pair<int, int> priority_range(int index);

  /// The cudaStream_t (nullptr for the default stream).
  void* handle() const { return handle_; }
  /// The device the stream belongs to.
  int device() const { return device_; }
  /// The stream's priority.
  int priority() const;
  /// True when all work queued on the stream has completed.
  bool query() const;
  /// Blocks until all work queued on the stream has completed.
  void synchronize() const;
  /// Makes work queued on this stream from now on wait for `event` (no-op for an event never
  /// recorded).
  void wait_event(const Event& event) const;
  /// Makes work queued on this stream from now on wait for the work queued on `other` so far.
  void wait_stream(const Stream& other) const;
  /// True when both name the same stream of the same device.
  friend bool operator==(const Stream& a, const Stream& b) { return a.handle_ == b.handle_ && a.device_ == b.device_; }

 private:
  Stream(std::shared_ptr<void> owner, void* handle, int device)
      : owner_(std::move(owner)), handle_(handle), device_(device) {}
  std::shared_ptr<void> owner_;  // empty unless create() made the stream
  void* handle_ = nullptr;
  int device_ = 0;
};

/// Makes `stream` the calling thread's current stream on its device.
void set_current_stream(const Stream& stream);

/// Makes a stream (and its device) current for a scope and restores the previous ones at its end.
class StreamGuard {
 public:
  /// Switches to `stream` and its device.
  explicit StreamGuard(const Stream& stream);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  DeviceGuard device_;
  Stream previous_;
};

}  // namespace lamina::cuda
