// lamina::cuda device queries: with no usable GPU (this machine) they report none and raise
// DeviceNotAvailableError naming the op; the GPU checks run where a GPU is present.
#include <gtest/gtest.h>

#include "lamina/cuda/device.h"
#include "lamina/cuda/memory.h"
#include "lamina/lamina.h"

using namespace lamina;

TEST(CudaDevice, CountMatchesTheReport) {
  const DeviceReport r = devices();
  EXPECT_EQ(r.cuda_built, cuda::built());
  EXPECT_EQ(static_cast<int>(r.gpus.size()), cuda_device_count());
  EXPECT_LE(cuda_device_count(), cuda::raw_device_count());
  EXPECT_EQ(cuda::runtime_version().empty(), !cuda::built());
}

TEST(CudaDevice, MissingDevicesRaiseNamingTheOp) {
  const int n = cuda::raw_device_count();
  try {
    cuda::device_name(n);
    FAIL() << "expected DeviceNotAvailableError";
  } catch (const DeviceNotAvailableError& e) {
    EXPECT_NE(std::string(e.what()).find("cuda.get_device_name"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cuda:" + std::to_string(n)), std::string::npos) << e.what();
  }
  EXPECT_THROW(cuda::synchronize(n), DeviceNotAvailableError);
  EXPECT_THROW(cuda::device_capability(-1), DeviceNotAvailableError);
  EXPECT_THROW(cuda::device_total_memory(n), DeviceNotAvailableError);
  EXPECT_THROW(cuda::memory_stats(n), DeviceNotAvailableError);
  EXPECT_THROW(cuda::empty_cache(n), DeviceNotAvailableError);
  EXPECT_THROW(cuda::allocator(-1), DeviceNotAvailableError);
}

TEST(CudaDevice, GpuQueries) {
  if (cuda::raw_device_count() == 0) GTEST_SKIP() << "no CUDA GPU";
  for (int i = 0; i < cuda::raw_device_count(); ++i) {
    EXPECT_FALSE(cuda::device_name(i).empty());
    EXPECT_GE(cuda::device_capability(i), 80);
    EXPECT_GT(cuda::device_total_memory(i), int64_t{1} << 30);
    cuda::synchronize(i);
    runtime::CachingDeviceAllocator& a = cuda::allocator(i);
    void* p = a.allocate(3 << 20);
    EXPECT_NE(p, nullptr);
    EXPECT_GE(cuda::memory_stats(i).allocated, size_t{3} << 20);
    a.free(p);
    cuda::empty_cache(i);
    EXPECT_EQ(cuda::memory_stats(i).reserved, 0u);
  }
}
