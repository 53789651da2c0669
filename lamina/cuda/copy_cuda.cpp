// Copies through the CUDA runtime (host code only). cudaMemcpyDefault lets unified addressing
// tell host from device pointers, so one call covers every direction.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/cuda/copy.h"
#include "lamina/cuda/event.h"
#include "lamina/cuda/stream.h"

namespace lamina::cuda {

namespace {

// Owners of memory that queued copies still use, each with an event on the copy's stream.
struct Holds {
  std::mutex mutex;
  std::vector<std::pair<Event, std::shared_ptr<const void>>> items;
};

Holds& holds() {
  static auto* h = new Holds();  // never destroyed: copies may still be queued at exit
  return *h;
}

// Drops the owners whose copies have completed.
void release_completed_holds() {
  auto& h = holds();
  std::vector<std::shared_ptr<const void>> done;  // released after unlocking: a Storage may free
  {
    std::lock_guard<std::mutex> lock(h.mutex);
    size_t kept = 0;
    for (auto& item : h.items) {
      if (item.first.query())
        done.push_back(std::move(item.second));
      else
        h.items[kept++] = std::move(item);
    }
    h.items.erase(h.items.begin() + static_cast<std::ptrdiff_t>(kept), h.items.end());
  }
}

// The device whose current stream carries a copy between these devices.
int copy_device(Device dst_device, Device src_device) {
  return dst_device.is_cuda() ? dst_device.index : src_device.index;
}

}  // namespace

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes, bool non_blocking) {
  if (bytes == 0) return;
  const int index = copy_device(dst_device, src_device);
  DeviceGuard guard(index);
  const Stream stream = Stream::current(index);
  if (dst_device.is_cuda() && src_device.is_cuda() && dst_device.index != src_device.index)
    stream.wait_stream(Stream::current(src_device.index));  // the source's pending writes first
  const auto s = static_cast<cudaStream_t>(stream.handle());
  cudaError_t status = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s);
  if (status == cudaSuccess && !non_blocking) status = cudaStreamSynchronize(s);
  if (status != cudaSuccess) {
    cudaGetLastError();
    LAMINA_THROW(KernelError, "to", "copy from ", src_device.str(), " to ", dst_device.str(),
                 " failed: ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
  }
  release_completed_holds();
}

void hold_until_copied(std::shared_ptr<const void> owner, Device dst_device, Device src_device) {
  const int index = copy_device(dst_device, src_device);
  Event event;
  event.record(Stream::current(index));
  auto& h = holds();
  std::lock_guard<std::mutex> lock(h.mutex);
  h.items.emplace_back(std::move(event), std::move(owner));
}

}  // namespace lamina::cuda
