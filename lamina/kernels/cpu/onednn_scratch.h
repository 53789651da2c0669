#pragma once
// oneDNN scratchpads owned by the calling thread. A primitive's default scratchpad is shared
// by every execution of it, so two threads running one cached primitive at once (pool threads
// on halves of a product, or two user threads) would overwrite each other's temporaries;
// primitives built with onednn_user_scratchpad() take one per execution instead.
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

}  // namespace lamina::kernels::cpu
