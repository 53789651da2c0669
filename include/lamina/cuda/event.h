#pragma once
// CUDA events: markers recorded on a stream, to wait for, to order other streams after, or to
// time the work between two of them. A build without CUDA links event_stub.cpp
// (DeviceNotAvailableError naming the op).
#include <memory>

#include "lamina/cuda/stream.h"

namespace lamina::cuda {

/// A CUDA event (cudaEvent_t), created on the device of the first stream it is recorded on.
/// Copies share the event.
class Event {
 public:
  /// An event that can time (elapsed_time) when `enable_timing`; DeviceNotAvailableError without
  /// a CUDA device.
  explicit Event(bool enable_timing = false);

  /// Records the event on `stream`: it completes when the work queued there so far has.
  void record(const Stream& stream);
  /// Records the event on the current stream of the current device.
  void record();
  /// True when the recorded work has completed (also for an event never recorded).
  bool query() const;
  /// Blocks until the recorded work has completed.
  void synchronize() const;
  /// Milliseconds between this event and `end` (both recorded, completed and timing-enabled).
  float elapsed_time(const Event& end) const;
  /// Makes work queued on `stream` from now on wait for this event.
  void wait(const Stream& stream) const;
  /// The cudaEvent_t (nullptr until recorded).
  void* handle() const { return event_.get(); }
  /// The device of the stream it was recorded on (-1 until recorded).
  int device() const { return device_; }
  /// True when timing is enabled.
  bool timing() const { return timing_; }

 private:
  std::shared_ptr<void> event_;
  int device_ = -1;
  bool timing_ = false;
};

}  // namespace lamina::cuda
