// CUDA events in a build without CUDA: there is no device to record on.
#include "lamina/core/error.h"
#include "lamina/cuda/event.h"

namespace lamina::cuda {

namespace {
[[noreturn]] void unavailable(const char* op) {
  LAMINA_THROW(DeviceNotAvailableError, op, "CUDA events are not available: this build of lamina has no CUDA backend");
}
}  // namespace

Event::Event(bool enable_timing) : timing_(enable_timing) { unavailable("cuda.Event"); }
void Event::record(const Stream&) { unavailable("cuda.Event.record"); }
void Event::record() { unavailable("cuda.Event.record"); }
bool Event::query() const { unavailable("cuda.Event.query"); }
void Event::synchronize() const { unavailable("cuda.Event.synchronize"); }
float Event::elapsed_time(const Event&) const { unavailable("cuda.Event.elapsed_time"); }
void Event::wait(const Stream&) const { unavailable("cuda.Event.wait"); }

}  // namespace lamina::cuda
