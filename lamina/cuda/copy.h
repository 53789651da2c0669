#pragma once
// Byte copies between host and device memory, and between devices, queued on the current stream
// of the CUDA device involved (the destination's for device-to-device copies, ordered after the
// source device's current stream). A build without CUDA links copy_stub.cpp, which raises
// DeviceNotAvailableError.
#include <cstddef>
#include <memory>

#include "lamina/core/device.h"

namespace lamina::cuda {

/// Copies `bytes` from `src` on `src_device` to `dst` on `dst_device` (one of them a CUDA
/// device); waits for the copy unless `non_blocking` (then host memory must be pinned and stay
/// alive until the stream reaches the copy: see hold_until_copied).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes,
                bool non_blocking = false);
/// Keeps `owner` alive until the copies between these devices queued so far by copy_bytes have
/// completed (an event is recorded on the copy stream and polled by later copies).
void hold_until_copied(std::shared_ptr<const void> owner, Device dst_device, Device src_device);

}  // namespace lamina::cuda
