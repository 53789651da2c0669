#include "lamina/runtime/dispatch.h"

#include <array>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/runtime/config.h"

namespace lamina::runtime {
namespace {

using Row = std::array<std::array<void*, kNumDtypes>, kNumBackends>;

constexpr size_t kMaxOps = 1024;

// The rows' storage once the table exists, for lookups without the function-local static's
// guard and call frame.
std::atomic<const Row*> g_rows{nullptr};

struct Table {
  Table() {
    rows.reserve(kMaxOps);                             // never reallocates, so lookups need no lock
    for (std::string_view name : kernels::kOpNames) {  // the typed ids come first, in order
      names.emplace_back(name);
      rows.emplace_back();
      for (auto& per_backend : rows.back()) per_backend.fill(nullptr);
    }
    g_rows.store(rows.data(), std::memory_order_release);  // published once the typed rows exist
  }
  std::mutex mutex;
  std::vector<std::string> names;
  std::vector<Row> rows;
};

Table& table() {
  static Table t;
  return t;
}

std::atomic<Backend> g_cpu_backend{Backend::CpuSimd};

// Runtime start-up on first lookup: apply the environment's settings (thread counts for us and
// OpenBLAS). The backends have filled the table while the library loaded (each registers itself:
// the runtime names none of them). The flag keeps the per-op cost at one load (std::call_once
// alone costs a TLS lookup).
std::atomic<bool> g_started{false};
void ensure_started() {
  if (g_started.load(std::memory_order_acquire)) [[likely]]
    return;
  static std::once_flag once;
  std::call_once(once, [] {
    (void)num_threads();
    g_started.store(true, std::memory_order_release);
  });
}

}  // namespace

OpId op_id(std::string_view name) {
  auto& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  for (size_t i = 0; i < t.names.size(); ++i)
    if (t.names[i] == name) return static_cast<OpId>(i);
  if (t.rows.size() == kMaxOps) throw Error("op_id", "[op_id] too many distinct ops registered");
  t.names.emplace_back(name);
  t.rows.emplace_back();
  for (auto& per_backend : t.rows.back()) per_backend.fill(nullptr);
  return static_cast<OpId>(t.names.size() - 1);
}

const std::string& op_name(OpId op) {
  auto& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  return t.names.at(static_cast<size_t>(op));
}

OpId op_count() {
  ensure_started();
  auto& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  return static_cast<OpId>(t.names.size());
}

void register_kernel(OpId op, Backend backend, Dtype dtype, void* fn) {
  auto& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.rows.at(static_cast<size_t>(op))[static_cast<int>(backend)][static_cast<int>(dtype)] = fn;
}

static void* lookup(OpId op, Device device, Dtype dtype) {
  ensure_started();
  const Row* rows = g_rows.load(std::memory_order_acquire);
  if (rows == nullptr) [[unlikely]]
    rows = table().rows.data();
  // Rows are only appended before lookups of that op, and kernels registered once at start-up.
  const Row& row = rows[static_cast<size_t>(op)];
  int dt = static_cast<int>(dtype);
  if (device.is_cuda()) return row[static_cast<int>(Backend::Cuda)][dt];
  if (g_cpu_backend.load(std::memory_order_relaxed) == Backend::CpuSimd) {
    if (void* fn = row[static_cast<int>(Backend::CpuSimd)][dt]) return fn;
  }
  return row[static_cast<int>(Backend::CpuScalar)][dt];
}

void* find_kernel_raw(OpId op, Device device, Dtype dtype) {
  void* fn = lookup(op, device, dtype);
  if (fn == nullptr) [[unlikely]] {
    const std::string& name = op_name(op);
    LAMINA_THROW(NotImplementedError, name.c_str(), "has no ", device.is_cuda() ? "CUDA" : "CPU", " kernel for dtype ",
                 dtype_name(dtype));
  }
  return fn;
}

bool has_kernel(OpId op, Device device, Dtype dtype) { return lookup(op, device, dtype) != nullptr; }

void set_backend(const std::string& name) {
  if (name == "cpu_scalar") {
    g_cpu_backend = Backend::CpuScalar;
  } else if (name == "cpu_simd") {
    g_cpu_backend = Backend::CpuSimd;
  } else if (name == "cuda") {
    check_device_available(Device{DeviceType::CUDA, 0}, "set_backend");
  } else {
    LAMINA_THROW(ConfigError, "set_backend", "unknown backend '", name,
                 "'; expected 'cpu_scalar', 'cpu_simd' or 'cuda'");
  }
}

std::string backend_name() { return g_cpu_backend == Backend::CpuScalar ? "cpu_scalar" : "cpu_simd"; }

}  // namespace lamina::runtime
