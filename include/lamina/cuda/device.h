#pragma once
// The CUDA devices this process can see, through the CUDA runtime. A build without the CUDA
// toolkit links device_stub.cpp instead of device_cuda.cpp (CMake's LAMINA_CUDA option): the same
// API, reporting no devices and raising DeviceNotAvailableError for device operations.
#include <cstdint>
#include <string>

namespace lamina::cuda {

/// True when this build includes the CUDA backend.
bool built();
/// GPUs the CUDA runtime reports (0 without a CUDA build, a driver or a GPU); ignores
/// LAMINA_FORCE_CPU (runtime's cuda_device_count() applies it).
int raw_device_count();
/// The device's name, e.g. "NVIDIA H100 80GB HBM3"; DeviceNotAvailableError for a device
/// that is not there.
std::string device_name(int index);
/// The device's memory in bytes; DeviceNotAvailableError for a device that is not there.
int64_t device_total_memory(int index);
/// The device's compute capability as major * 10 + minor (90 for sm_90).
int device_capability(int index);
/// Blocks until all work queued on device `index` has finished.
void synchronize(int index);
/// The CUDA runtime version this build uses ("13.0"), or "" without CUDA.
std::string runtime_version();

}  // namespace lamina::cuda
