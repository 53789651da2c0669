// Streams, events, pinned host memory, non-blocking copies and device selection. Without a usable
// GPU (this machine, and every stub build) each operation raises DeviceNotAvailableError naming
// the op; the GPU checks run where a GPU is present and skip elsewhere.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "lamina/cuda/copy.h"
#include "lamina/cuda/device.h"
#include "lamina/cuda/event.h"
#include "lamina/cuda/memory.h"
#include "lamina/cuda/pinned.h"
#include "lamina/cuda/stream.h"
#include "lamina/lamina.h"

using namespace lamina;

namespace {

bool has_gpu() { return cuda_device_count() > 0; }

// Expects DeviceNotAvailableError whose message names `op`.
template <class Fn>
void expect_unavailable(Fn fn, const std::string& op) {
  try {
    fn();
    ADD_FAILURE() << "expected DeviceNotAvailableError from " << op;
  } catch (const DeviceNotAvailableError& e) {
    EXPECT_NE(std::string(e.what()).find(op), std::string::npos) << e.what();
  }
}

// Sets an environment variable for a scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_, old_.c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

}  // namespace

TEST(CudaStream, WithoutAGpuEveryOperationRaisesNamingTheOp) {
  if (has_gpu()) GTEST_SKIP() << "a CUDA GPU is present";
  EXPECT_EQ(cuda::current_device(), 0);
  EXPECT_EQ(cuda::current_stream(0), nullptr);  // kernels' launch stream: the default one
  expect_unavailable([] { cuda::set_device(1); }, "cuda.set_device");
  expect_unavailable([] { cuda::Stream::create(0); }, "cuda.Stream");
  expect_unavailable([] { cuda::Stream::current(0); }, "cuda.current_stream");
  expect_unavailable([] { cuda::Stream::default_stream(0); }, "cuda.default_stream");
  expect_unavailable([] { cuda::Stream::external(0, nullptr); }, "cuda.ExternalStream");
  expect_unavailable([] { cuda::Stream::priority_range(0); }, "cuda.Stream.priority_range");
  expect_unavailable([] { cuda::Event event(true); }, "cuda.Event");
  expect_unavailable([] { cuda::pinned_allocate(64); }, "pin_memory");
  EXPECT_FALSE(cuda::is_pinned(nullptr));
  int x = 0;
  EXPECT_FALSE(cuda::is_pinned(&x));
  cuda::pinned_record_use(&x, 0, nullptr);  // not pinned memory: nothing to record
  EXPECT_EQ(cuda::pinned_stats().allocations, 0u);
  cuda::pinned_empty_cache();
}

TEST(CudaStream, TensorPinningWithoutAGpu) {
  if (has_gpu()) GTEST_SKIP() << "a CUDA GPU is present";
  const Tensor t = Tensor::empty({4});
  EXPECT_FALSE(t.is_pinned());
  expect_unavailable([&] { t.pin_memory(); }, "pin_memory");
  // A non-blocking copy needs a device like a blocking one; the availability check comes first.
  expect_unavailable([&] { t.to(Device{DeviceType::CUDA, 0}, true); }, "to");
  EXPECT_TRUE(t.to(kCPU, true).is_same(t));
}

TEST(CudaStream, DeviceTensorsArePinnedNeverAndRecordStreamNeedsOne) {
  // Host memory posing as cuda:0 (no GPU needed): not pinned, and pin_memory refuses it.
  float host[4] = {1, 2, 3, 4};
  auto storage = std::make_shared<Storage>(host, sizeof host, Device{DeviceType::CUDA, 0}, [] {});
  const Tensor d = Tensor::make_view(storage, Shape{4}, Strides{1}, 0, Dtype::Float32);
  EXPECT_FALSE(d.is_pinned());
  EXPECT_THROW(d.pin_memory(), DeviceMismatchError);
  if (!has_gpu()) {
    expect_unavailable([] { cuda::Stream::current(0); }, "cuda.current_stream");
    return;
  }
  EXPECT_THROW(Tensor::empty({4}).record_stream(cuda::Stream::current(0).handle(), 0), DeviceMismatchError);
  d.record_stream(cuda::Stream::create(0).handle(), 0);  // not the allocator's memory: the owner keeps it alive
}

TEST(CudaStream, DefaultDeviceFollowsLaminaCudaDevice) {
  if (cuda_device_count() == 0) {
    ScopedEnv env("LAMINA_CUDA_DEVICE", "7");
    EXPECT_EQ(default_device(), kCPU);  // no GPU: the variable is not consulted
    return;
  }
  {
    ScopedEnv env("LAMINA_CUDA_DEVICE", "0");
    EXPECT_EQ(default_device(), (Device{DeviceType::CUDA, 0}));
  }
  for (const char* bad : {"x", "-1", "1.5", "64"}) {
    ScopedEnv env("LAMINA_CUDA_DEVICE", bad);
    try {
      default_device();
      ADD_FAILURE() << "expected ConfigError for LAMINA_CUDA_DEVICE=" << bad;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("LAMINA_CUDA_DEVICE"), std::string::npos) << e.what();
    }
  }
}

TEST(CudaStream, StreamsAreCurrentPerThreadAndGuarded) {
  if (!has_gpu()) GTEST_SKIP() << "no CUDA GPU";
  const cuda::Stream def = cuda::Stream::default_stream(0);
  EXPECT_EQ(def.handle(), nullptr);
  EXPECT_EQ(cuda::Stream::current(0), def);
  const auto [greatest, least] = cuda::Stream::priority_range(0);
  EXPECT_LE(greatest, least);
  const cuda::Stream high = cuda::Stream::create(0, greatest - 10);  // clamped to the range
  EXPECT_EQ(high.priority(), greatest);
  EXPECT_NE(high.handle(), nullptr);
  {
    cuda::StreamGuard guard(high);
    EXPECT_EQ(cuda::current_stream(0), high.handle());
    EXPECT_EQ(cuda::Stream::current(0), high);
    std::thread other([&] { EXPECT_EQ(cuda::current_stream(0), nullptr); });  // per thread
    other.join();
  }
  EXPECT_EQ(cuda::current_stream(0), nullptr);
  cuda::set_current_stream(high);
  EXPECT_EQ(cuda::current_stream(0), high.handle());
  cuda::set_current_stream(def);
  EXPECT_EQ(cuda::current_stream(0), nullptr);
  EXPECT_TRUE(high.query());
  high.synchronize();
  EXPECT_THROW(cuda::set_device(cuda_device_count()), DeviceNotAvailableError);
}

TEST(CudaStream, EventsOrderAndTimeStreams) {
  if (!has_gpu()) GTEST_SKIP() << "no CUDA GPU";
  const cuda::Stream a = cuda::Stream::create(0), b = cuda::Stream::create(0);
  cuda::Event never;
  EXPECT_TRUE(never.query());
  EXPECT_EQ(never.handle(), nullptr);
  EXPECT_THROW(never.elapsed_time(never), ValueError);
  cuda::Event start(true), end(true);
  start.record(a);
  Tensor x;
  {
    cuda::StreamGuard guard(a);
    x = Tensor::empty({1 << 20}, Dtype::Float32, Device{DeviceType::CUDA, 0});
    fill_(x, 2.0);
  }
  end.record(a);
  b.wait_event(end);
  b.wait_stream(a);
  end.synchronize();
  EXPECT_TRUE(end.query());
  EXPECT_GE(start.elapsed_time(end), 0.0f);
  cuda::Event untimed;
  untimed.record(a);
  untimed.synchronize();
  EXPECT_THROW(untimed.elapsed_time(end), ValueError);
  b.synchronize();
  EXPECT_DOUBLE_EQ(x.to(kCPU).select(0, 123).item().to_double(), 2.0);
}

TEST(CudaStream, AllocatorReusesBlocksPerStreamAndHonoursRecordStream) {
  if (!has_gpu()) GTEST_SKIP() << "no CUDA GPU";
  const Device gpu{DeviceType::CUDA, 0};
  const cuda::Stream side = cuda::Stream::create(0);
  auto& alloc = cuda::allocator(0);
  void* first = nullptr;
  {
    cuda::StreamGuard guard(side);
    const Tensor t = Tensor::empty({1024}, Dtype::Float32, gpu);
    first = t.data_ptr();
    EXPECT_EQ(alloc.block_stream(first), reinterpret_cast<runtime::StreamId>(side.handle()));
  }
  {
    cuda::StreamGuard guard(side);
    EXPECT_EQ(Tensor::empty({1024}, Dtype::Float32, gpu).data_ptr(), first);  // same stream: reused
  }
  Tensor u = Tensor::empty({1024}, Dtype::Float32, gpu);
  EXPECT_NE(u.data_ptr(), first);  // the default stream never gets the side stream's block
  u.record_stream(side.handle(), side.device());
  void* up = u.data_ptr();
  u = Tensor();
  side.synchronize();
  cuda::synchronize(0);
  EXPECT_EQ(Tensor::empty({1024}, Dtype::Float32, gpu).data_ptr(), up);  // its event is done
}

TEST(CudaStream, PinnedMemoryAndNonBlockingCopies) {
  if (!has_gpu()) GTEST_SKIP() << "no CUDA GPU";
  const Device gpu{DeviceType::CUDA, 0};
  Tensor host = arange(Scalar(int64_t{1} << 16)).to(Dtype::Float32);
  EXPECT_FALSE(host.is_pinned());
  const Tensor pinned = host.pin_memory();
  EXPECT_TRUE(pinned.is_pinned());
  EXPECT_TRUE(pinned.pin_memory().is_same(pinned));
  EXPECT_EQ(std::memcmp(pinned.data_ptr(), host.data_ptr(), sizeof(float) << 16), 0);
  const cuda::Stream side = cuda::Stream::create(0);
  Tensor dev, back;
  {
    cuda::StreamGuard guard(side);
    dev = pinned.to(gpu, true);
    back = dev.to(kCPU, true);
    EXPECT_TRUE(back.is_pinned());  // a non-blocking copy to the host lands in pinned memory
    side.synchronize();
  }
  EXPECT_EQ(std::memcmp(back.data_ptr(), host.data_ptr(), sizeof(float) << 16), 0);
  EXPECT_FALSE(host.to(gpu, true).to(kCPU).is_pinned());  // pageable: a synchronous copy
  const cuda::PinnedStats before = cuda::pinned_stats();
  EXPECT_GT(before.reserved, 0u);
  back = Tensor();
  cuda::pinned_empty_cache();
  EXPECT_LE(cuda::pinned_stats().reserved, before.reserved);
  EXPECT_EQ(cuda::pinned_stats().pending_frees, 0u);
}
