#pragma once
// oneDNN scratchpads owned by the calling thread. A primitive's default scratchpad is shared
// by every execution of it, so two threads running one cached primitive at once (pool threads
// on halves of a product, or two user threads) would overwrite each other's temporaries;
// primitives built with onednn_user_scratchpad() take one per execution instead.
#include <array>
#include <dnnl.hpp>
#include <vector>

namespace lamina::kernels::cpu {

/// Attributes asking for a caller-provided scratchpad.
inline dnnl::primitive_attr onednn_user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

/// A scratchpad for `desc` in this thread's buffer (grown as needed, kept for the next call).
inline dnnl::memory onednn_scratchpad(const dnnl::memory::desc& desc, const dnnl::engine& engine) {
  thread_local std::vector<char> buffer;
  if (buffer.size() < desc.get_size()) buffer.resize(desc.get_size());
  return dnnl::memory(desc, engine, buffer.empty() ? nullptr : buffer.data());
}

/// Which of a primitive's operands a reordered copy holds: each has its own buffer per thread.
enum class OnednnSlot { Source, Weights, Destination, Count };

/// Memory of layout `desc` in this thread's buffer for `slot`, grown as needed and kept for the
/// next call: a reordered copy of a big tensor would otherwise be a fresh mapping each call,
/// its pages faulted in and zeroed by the kernel every time. Valid until the next call for the
/// same slot on this thread.
inline dnnl::memory onednn_reorder_buffer(OnednnSlot slot, const dnnl::memory::desc& desc, const dnnl::engine& engine) {
  thread_local std::array<std::vector<char>, static_cast<size_t>(OnednnSlot::Count)> buffers;
  std::vector<char>& buffer = buffers[static_cast<size_t>(slot)];
  if (buffer.size() < desc.get_size()) {
    buffer.clear();
    buffer.shrink_to_fit();  // no copy of the old contents while growing
    buffer.resize(desc.get_size());
  }
  return dnnl::memory(desc, engine, buffer.data());
}

}  // namespace lamina::kernels::cpu
