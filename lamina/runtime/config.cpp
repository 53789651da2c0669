#include "lamina/runtime/config.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "lamina/core/error.h"
#include "lamina/runtime/blas.h"
#include "lamina/runtime/device_backend.h"
#include "lamina/runtime/dispatch.h"
#include "lamina/runtime/log.h"
#include "lamina/runtime/parallel.h"

namespace lamina {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int initial_threads() {
  if (const char* v = env("LAMINA_NUM_THREADS")) {
    char* end = nullptr;
    long n = std::strtol(v, &end, 10);
    if (end && *end == '\0' && n >= 1 && n <= 4096) return static_cast<int>(n);
    log(LogLevel::Warn, std::string("LAMINA_NUM_THREADS='") + v + "' is not a positive integer; using " +
                            std::to_string(hardware_threads()));
  }
  return hardware_threads();
}

std::atomic<int>& threads_storage() {
  static std::atomic<int> threads{initial_threads()};
  return threads;
}

bool force_cpu() {
  const char* v = env("LAMINA_FORCE_CPU");
  return v && std::strcmp(v, "0") != 0;
}

}  // namespace

// The runtime's messages go through the structured logger, so one LAMINA_LOG_LEVEL governs
// every line lamina prints.
LogLevel log_level() { return static_cast<LogLevel>(static_cast<int>(logging::level())); }
void set_log_level(LogLevel level) { logging::set_level(static_cast<logging::Level>(static_cast<int>(level))); }

void log(LogLevel level, const std::string& message) {
  logging::write(static_cast<logging::Level>(static_cast<int>(level)), "lamina", message);
}

int num_threads() { return threads_storage().load(); }

void set_num_threads(int n) {
  LAMINA_CHECK(n >= 1, ConfigError, "set_num_threads", "thread count must be >= 1, got ", n);
  threads_storage() = n;
  runtime::resize_thread_pool(n);
}

namespace {
const runtime::DeviceBackend* cuda_backend() { return runtime::device_backend(DeviceType::CUDA); }
}  // namespace

int cuda_device_count() {
  if (force_cpu()) return 0;
  const runtime::DeviceBackend* cuda = cuda_backend();
  return cuda ? cuda->device_count() : 0;
}

namespace {
// Why a CUDA device cannot be used, for messages.
const char* no_cuda_reason() {
  if (force_cpu()) return "LAMINA_FORCE_CPU is set";
  if (!cuda_backend()) return "this build of lamina has no CUDA backend";
  return "no such CUDA device on this machine";
}
}  // namespace

Device default_device() {
  if (int n = cuda_device_count(); n > 0) {
    // LAMINA_CUDA_DEVICE picks the GPU; without it, the calling thread's current device
    // (lamina.cuda.set_device) does, as "cuda" means the current device in PyTorch.
    int idx = cuda_backend()->current_device();
    if (const char* v = env("LAMINA_CUDA_DEVICE")) {
      char* end = nullptr;
      const long parsed = std::strtol(v, &end, 10);
      LAMINA_CHECK(end != v && *end == '\0' && parsed >= 0 && parsed < n, ConfigError, "default_device",
                   "LAMINA_CUDA_DEVICE='", v, "' is not a CUDA device index: expected 0..", n - 1, " (", n,
                   " CUDA device(s) usable)");
      idx = static_cast<int>(parsed);
    }
    return Device{DeviceType::CUDA, idx < n ? idx : 0};
  }
  static std::once_flag warned;
  std::call_once(warned, [] {
    if (!force_cpu())
      log(LogLevel::Warn, std::string("no usable CUDA GPU (") +
                              (cuda_backend() ? "none found" : "this build has no CUDA backend") +
                              "); running on CPU. Set LAMINA_FORCE_CPU=1 to choose the CPU explicitly and silence "
                              "this warning.");
  });
  return kCPU;
}

Device parse_device_spec(const std::string& spec) {
  if (spec == "cpu") return kCPU;
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    // Like torch, a bare "cuda" names the calling thread's current device.
    if (spec.size() == 4)
      return Device{DeviceType::CUDA, cuda_device_count() > 0 ? cuda_backend()->current_device() : 0};
    const char* digits = spec.c_str() + 5;
    char* end = nullptr;
    const long idx = std::strtol(digits, &end, 10);
    LAMINA_CHECK(end != digits && *end == '\0' && *digits >= '0' && *digits <= '9' && idx <= INT32_MAX, ValueError,
                 "device", "invalid device string '", spec, "'; expected 'cpu', 'cuda' or 'cuda:N'");
    return Device{DeviceType::CUDA, static_cast<int>(idx)};
  }
  LAMINA_THROW(ValueError, "device", "invalid device string '", spec, "'; expected 'cpu', 'cuda' or 'cuda:N'");
}

Device parse_device(const std::string& spec) {
  const Device d = parse_device_spec(spec);
  check_device_available(d, "device");
  return d;
}

void check_device_available(const Device& device, const char* op) {
  if (device.is_cpu()) return;
  int n = cuda_device_count();
  LAMINA_CHECK(device.index < n, DeviceNotAvailableError, op, "device ", device.str(),
               " is not available: ", no_cuda_reason(), " (", n, " CUDA device(s) usable); use device='cpu'");
}

DeviceReport devices() {
  DeviceReport r;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2")) r.cpu_features.emplace_back("sse4.2");
  if (__builtin_cpu_supports("avx")) r.cpu_features.emplace_back("avx");
  if (__builtin_cpu_supports("avx2")) r.cpu_features.emplace_back("avx2");
  if (__builtin_cpu_supports("fma")) r.cpu_features.emplace_back("fma");
  if (__builtin_cpu_supports("avx512f")) r.cpu_features.emplace_back("avx512f");
  if (__builtin_cpu_supports("avx512bw")) r.cpu_features.emplace_back("avx512bw");
#elif defined(__aarch64__)
  r.cpu_features.emplace_back("neon");
#endif
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      if (pos != std::string::npos) r.cpu_name = line.substr(pos + 2);
      break;
    }
  }
  r.cores = hardware_threads();
  r.threads = num_threads();
  r.blas = runtime::blas_vendor();
  const runtime::DeviceBackend* cuda = cuda_backend();
  r.cuda_built = cuda != nullptr;
  for (int i = 0; i < cuda_device_count(); ++i)
    r.gpus.push_back(
        GpuInfo{i, cuda->device_name(i), cuda->total_memory(i), cuda->capability(i) / 10, cuda->capability(i) % 10});
  r.backend = runtime::backend_name();
  r.simd_target = runtime::simd_target_name();
  return r;
}

}  // namespace lamina
