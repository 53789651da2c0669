#pragma once
// Where a tensor's memory lives.
#include <cstdint>
#include <ostream>
#include <string>

namespace lamina {

/// The kinds of device lamina knows.
enum class DeviceType : uint8_t { CPU, CUDA };
/// Number of device types (for tables indexed by type).
inline constexpr int kNumDeviceTypes = 2;

/// A device type plus an index ("cpu", "cuda:0").
struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  /// "cpu" or "cuda:N".
  std::string str() const { return type == DeviceType::CPU ? "cpu" : "cuda:" + std::to_string(index); }
  /// True for the CPU.
  bool is_cpu() const { return type == DeviceType::CPU; }
  /// True for a CUDA device.
  bool is_cuda() const { return type == DeviceType::CUDA; }
  friend bool operator==(const Device& a, const Device& b) { return a.type == b.type && a.index == b.index; }
};

/// The CPU device.
inline constexpr Device kCPU{DeviceType::CPU, 0};

/// Parses "cpu", "cuda" (the current CUDA device), "cuda:1"; throws ValueError on anything else, and
/// DeviceNotAvailableError for a CUDA device this build or machine lacks.
Device parse_device(const std::string& spec);
/// Parses "cpu", "cuda" (the current CUDA device), "cuda:1" without checking the device exists;
/// ValueError on anything else.
Device parse_device_spec(const std::string& spec);
/// Throws DeviceNotAvailableError (naming `op`) unless `device` can be used here.
void check_device_available(const Device& device, const char* op);

/// Prints "cpu" / "cuda:N".
inline std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

}  // namespace lamina
