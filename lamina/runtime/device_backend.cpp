#include "lamina/runtime/device_backend.h"

#include <array>
#include <atomic>

#include "lamina/core/error.h"

namespace lamina::runtime {

namespace {

// Written while the library loads, read afterwards: an atomic pointer per device type.
std::array<std::atomic<const DeviceBackend*>, kNumDeviceTypes>& backends() {
  static std::array<std::atomic<const DeviceBackend*>, kNumDeviceTypes> table{};
  return table;
}

}  // namespace

void register_device_backend(DeviceType type, const DeviceBackend* backend) {
  LAMINA_CHECK(type != DeviceType::CPU, ValueError, "register_device_backend", "the CPU is not a device backend");
  backends()[static_cast<size_t>(type)].store(backend, std::memory_order_release);
}

const DeviceBackend* device_backend(DeviceType type) {
  return backends()[static_cast<size_t>(type)].load(std::memory_order_acquire);
}

const DeviceBackend& require_device_backend(Device device, const char* op) {
  const DeviceBackend* backend = device_backend(device.type);
  LAMINA_CHECK(backend != nullptr, DeviceNotAvailableError, op, "cannot use ", device.str(),
               ": this build of lamina has no CUDA backend");
  return *backend;
}

DeviceGuard::DeviceGuard(Device device) {
  if (device.is_cpu()) return;
  const DeviceBackend& backend = require_device_backend(device, "device_guard");
  previous_ = backend.current_device();
  backend_ = &backend;
  if (previous_ != device.index) backend.set_device(device.index);
}

DeviceGuard::~DeviceGuard() {
  if (backend_ == nullptr) return;
  // Restores the device the scope began on, also when the body switched; a destructor runs while
  // an op's error unwinds, so a failure to switch back must not throw (it would terminate).
  try {
    if (backend_->current_device() != previous_) backend_->set_device(previous_);
  } catch (...) {
  }
}

}  // namespace lamina::runtime
