// CUDA events through the CUDA runtime (host code only).
#include <cuda_runtime_api.h>

#include "lamina/core/error.h"
#include "lamina/cuda/device.h"
#include "lamina/runtime/config.h"
#include "lamina/cuda/event.h"

namespace lamina::cuda {

namespace {

void check(cudaError_t status, const char* op) {
  if (status == cudaSuccess) return;
  cudaGetLastError();
  LAMINA_THROW(KernelError, op, "CUDA error: ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
}

}  // namespace

Event::Event(bool enable_timing) : timing_(enable_timing) {
  LAMINA_CHECK(cuda_device_count() > 0, DeviceNotAvailableError, "cuda.Event",
               "CUDA events need a usable CUDA device and none is (or LAMINA_FORCE_CPU is set)");
}

void Event::record(const Stream& stream) {
  DeviceGuard guard(stream.device());
  // The event belongs to the device it is first recorded on (as in CUDA, it cannot move).
  if (!event_) {
    cudaEvent_t e = nullptr;
    check(cudaEventCreateWithFlags(&e, timing_ ? cudaEventDefault : cudaEventDisableTiming), "cuda.Event.record");
    event_ = std::shared_ptr<void>(e, [](void* p) { cudaEventDestroy(static_cast<cudaEvent_t>(p)); });
    device_ = stream.device();
  }
  LAMINA_CHECK(device_ == stream.device(), DeviceMismatchError, "cuda.Event.record",
               "the event belongs to cuda:", device_, " and cannot be recorded on a stream of cuda:", stream.device());
  check(cudaEventRecord(static_cast<cudaEvent_t>(event_.get()), static_cast<cudaStream_t>(stream.handle())),
        "cuda.Event.record");
}

void Event::record() { record(Stream::current(current_device())); }

bool Event::query() const {
  if (!event_) return true;
  const cudaError_t status = cudaEventQuery(static_cast<cudaEvent_t>(event_.get()));
  if (status == cudaErrorNotReady) {
    cudaGetLastError();
    return false;
  }
  check(status, "cuda.Event.query");
  return true;
}

void Event::synchronize() const {
  if (event_) check(cudaEventSynchronize(static_cast<cudaEvent_t>(event_.get())), "cuda.Event.synchronize");
}

float Event::elapsed_time(const Event& end) const {
  LAMINA_CHECK(timing_ && end.timing_, ValueError, "cuda.Event.elapsed_time", "both events need enable_timing=True");
  LAMINA_CHECK(event_ && end.event_, ValueError, "cuda.Event.elapsed_time",
               "both events must be recorded before elapsed_time");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(event_.get()), static_cast<cudaEvent_t>(end.event_.get())),
        "cuda.Event.elapsed_time");
  return ms;
}

void Event::wait(const Stream& stream) const { stream.wait_event(*this); }

}  // namespace lamina::cuda
