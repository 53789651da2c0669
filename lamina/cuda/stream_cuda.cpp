// Current device and stream through the CUDA runtime (host code only).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/cuda/device.h"
#include "lamina/runtime/config.h"
#include "lamina/cuda/event.h"
#include "lamina/cuda/stream.h"

namespace lamina::cuda {

namespace {

void check(cudaError_t status, const char* op) {
  if (status == cudaSuccess) return;
  cudaGetLastError();
  LAMINA_THROW(KernelError, op, "CUDA error: ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
}

// Counts usable devices, so LAMINA_FORCE_CPU hides GPUs from streams as it does from tensors.
void check_index(const char* op, int index) {
  const int n = cuda_device_count();
  LAMINA_CHECK(index >= 0 && index < n, DeviceNotAvailableError, op, "cuda:", index, " is not available (", n,
               " CUDA device(s) usable)");
}

// The calling thread's current stream per device; an empty slot means the default stream. The
// Stream copies keep created streams alive while they are current.
std::vector<Stream>& thread_streams() {
  thread_local std::vector<Stream> streams;
  return streams;
}

}  // namespace

int current_device() {
  int index = 0;
  if (cudaGetDevice(&index) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return index;
}

void set_device(int index) {
  check_index("cuda.set_device", index);
  const cudaError_t status = cudaSetDevice(index);
  if (status != cudaSuccess) {
    cudaGetLastError();
    LAMINA_THROW(DeviceNotAvailableError, "cuda.set_device", "cannot select cuda:", index, ": ",
                 cudaGetErrorString(status));
  }
}

void* current_stream(int index) {
  const auto& streams = thread_streams();
  return index >= 0 && static_cast<size_t>(index) < streams.size() ? streams[static_cast<size_t>(index)].handle()
                                                                   : nullptr;
}

void check_kernel_launch(const char* op) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    LAMINA_THROW(KernelError, op, "CUDA kernel launch failed: ", cudaGetErrorName(status), " (",
                 cudaGetErrorString(status), ")");
}

DeviceGuard::DeviceGuard(int index) : previous_(current_device()) {
  if (index != previous_) set_device(index);
}

DeviceGuard::~DeviceGuard() {
  int now = 0;
  cudaGetDevice(&now);
  if (now != previous_) cudaSetDevice(previous_);
}

Stream Stream::default_stream(int index) {
  check_index("cuda.default_stream", index);
  return Stream({}, nullptr, index);
}

Stream Stream::current(int index) {
  check_index("cuda.current_stream", index);
  const auto& streams = thread_streams();
  if (static_cast<size_t>(index) < streams.size()) return streams[static_cast<size_t>(index)];
  return Stream({}, nullptr, index);
}

Stream Stream::create(int index, int priority) {
  check_index("cuda.Stream", index);
  DeviceGuard guard(index);
  const auto [greatest, least] = priority_range(index);
  priority = std::min(std::max(priority, greatest), least);
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithPriority(&s, cudaStreamNonBlocking, priority), "cuda.Stream");
  // Waiting before destroying keeps a new stream that reuses the handle value from inheriting
  // blocks the allocator cached for this one while its work still runs.
  std::shared_ptr<void> owner(s, [](void* p) {
    cudaStreamSynchronize(static_cast<cudaStream_t>(p));
    cudaStreamDestroy(static_cast<cudaStream_t>(p));
  });
  return Stream(std::move(owner), s, index);
}

Stream Stream::external(int index, void* handle) {
  check_index("cuda.ExternalStream", index);
  return Stream({}, handle, index);
}

std::pair<int, int> Stream::priority_range(int index) {
  check_index("cuda.Stream.priority_range", index);
  DeviceGuard guard(index);
  int least = 0, greatest = 0;
  check(cudaDeviceGetStreamPriorityRange(&least, &greatest), "cuda.Stream.priority_range");
  return {greatest, least};
}

int Stream::priority() const {
  int p = 0;
  check(cudaStreamGetPriority(static_cast<cudaStream_t>(handle_), &p), "cuda.Stream.priority");
  return p;
}

bool Stream::query() const {
  DeviceGuard guard(device_);
  const cudaError_t status = cudaStreamQuery(static_cast<cudaStream_t>(handle_));
  if (status == cudaErrorNotReady) {
    cudaGetLastError();
    return false;
  }
  check(status, "cuda.Stream.query");
  return true;
}

void Stream::synchronize() const {
  DeviceGuard guard(device_);
  check(cudaStreamSynchronize(static_cast<cudaStream_t>(handle_)), "cuda.Stream.synchronize");
}

void Stream::wait_event(const Event& event) const {
  if (!event.handle()) return;
  DeviceGuard guard(device_);
  check(cudaStreamWaitEvent(static_cast<cudaStream_t>(handle_), static_cast<cudaEvent_t>(event.handle()), 0),
        "cuda.Stream.wait_event");
}

void Stream::wait_stream(const Stream& other) const {
  if (other == *this) return;
  Event event;
  event.record(other);
  wait_event(event);
}

void set_current_stream(const Stream& stream) {
  check_index("cuda.set_stream", stream.device());
  auto& streams = thread_streams();
  const auto index = static_cast<size_t>(stream.device());
  if (streams.size() <= index) {
    if (!stream.handle()) return;
    streams.reserve(index + 1);
    for (size_t i = streams.size(); i <= index; ++i) streams.push_back(Stream::default_stream(static_cast<int>(i)));
  }
  streams[index] = stream;
}

StreamGuard::StreamGuard(const Stream& stream) : device_(stream.device()), previous_(Stream::current(stream.device())) {
  set_current_stream(stream);
}

StreamGuard::~StreamGuard() { set_current_stream(previous_); }

}  // namespace lamina::cuda
