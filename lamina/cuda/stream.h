#pragma once
// The current device and stream of the calling thread: every kernel launch and device copy is
// queued on current_stream(current_device()). A build without CUDA links stream_stub.cpp.
namespace lamina::cuda {

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

}  // namespace lamina::cuda
