// Current device and stream of a build without CUDA: device 0, no streams, nothing to check.
#include "lamina/core/error.h"
#include "lamina/cuda/event.h"
#include "lamina/cuda/stream.h"

namespace lamina::cuda {

namespace {
[[noreturn]] void unavailable(const char* op, int index) {
  LAMINA_THROW(DeviceNotAvailableError, op, "cuda:", index,
               " is not available: this build of lamina has no CUDA backend");
}
}  // namespace

int current_device() { return 0; }

void set_device(int index) { unavailable("cuda.set_device", index); }

void* current_stream(int) { return nullptr; }

void check_kernel_launch(const char*) {}

DeviceGuard::DeviceGuard(int index) : previous_(0) {
  if (index != 0) set_device(index);
}

DeviceGuard::~DeviceGuard() = default;

Stream Stream::default_stream(int index) { unavailable("cuda.default_stream", index); }
Stream Stream::current(int index) { unavailable("cuda.current_stream", index); }
Stream Stream::create(int index, int) { unavailable("cuda.Stream", index); }
Stream Stream::external(int index, void*) { unavailable("cuda.ExternalStream", index); }
std::pair<int, int> Stream::priority_range(int index) { unavailable("cuda.Stream.priority_range", index); }
int Stream::priority() const { unavailable("cuda.Stream.priority", device_); }
bool Stream::query() const { unavailable("cuda.Stream.query", device_); }
void Stream::synchronize() const { unavailable("cuda.Stream.synchronize", device_); }
void Stream::wait_event(const Event&) const { unavailable("cuda.Stream.wait_event", device_); }
void Stream::wait_stream(const Stream&) const { unavailable("cuda.Stream.wait_stream", device_); }
void set_current_stream(const Stream& stream) { unavailable("cuda.set_stream", stream.device()); }

// Unreachable: no Stream can be made in this build, so the guard never gets one.
StreamGuard::StreamGuard(const Stream& stream) : device_(stream.device()), previous_(stream) {
  set_current_stream(stream);
}
StreamGuard::~StreamGuard() = default;

}  // namespace lamina::cuda
