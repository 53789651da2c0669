#pragma once
// Process-wide settings from the environment (LAMINA_*), logging, threads, device discovery.
#include <string>
#include <vector>

#include "lamina/core/device.h"

namespace lamina {

/// Log levels for LAMINA_LOG_LEVEL (the same values as logging::Level in lamina/runtime/log.h).
enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

/// Current log level (from LAMINA_LOG_LEVEL, default info; see lamina/runtime/log.h).
LogLevel log_level();
/// Sets the log level.
void set_log_level(LogLevel level);
/// Writes a structured log line (component "lamina") when `level` is at or above the threshold.
void log(LogLevel level, const std::string& message);

/// Threads the runtime uses (LAMINA_NUM_THREADS, else the number of cores).
int num_threads();
/// Sets the thread count (also OpenBLAS's, so the two never oversubscribe); throws ConfigError if < 1.
void set_num_threads(int n);

/// Number of usable CUDA devices (0 without a CUDA build or GPU, or with LAMINA_FORCE_CPU=1).
int cuda_device_count();
/// cuda:N when a GPU is usable (N from LAMINA_CUDA_DEVICE, else the current device; ConfigError for
/// a LAMINA_CUDA_DEVICE that is not a usable index), else cpu with a one-time warning.
Device default_device();

/// One GPU's description.
struct GpuInfo {
  int index = 0;
  std::string name;
  int64_t total_memory = 0;
  int compute_major = 0, compute_minor = 0;
};

/// What this process can use.
struct DeviceReport {
  std::string cpu_name;
  std::vector<std::string> cpu_features;  // e.g. "avx2", "fma", "avx512f", "neon"
  int cores = 0;                          // hardware threads
  int threads = 0;                        // threads in use
  std::vector<GpuInfo> gpus;
  std::string blas;  // BLAS vendor
  bool cuda_built = false;
  std::string backend;      // selected CPU path
  std::string simd_target;  // best SIMD target the CPU kernels run on
};

/// Reports CPU ISA features, threads, GPUs and build features.
DeviceReport devices();

namespace runtime {
/// Selects the CPU kernels' path: "cpu_scalar" or "cpu_simd" (or "cuda"); ConfigError otherwise.
void set_backend(const std::string& name);
/// The selected CPU path's name.
std::string backend_name();
}  // namespace runtime

}  // namespace lamina
