// lamina::cuda device queries: with no usable GPU (this machine) they report none and raise
// DeviceNotAvailableError naming the op; the GPU checks run where a GPU is present.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "lamina/cuda/device.h"
#include "lamina/cuda/memory.h"
#include "lamina/cuda/stream.h"
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
  if (cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA GPU";
  for (int i = 0; i < cuda_device_count(); ++i) {
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

TEST(CudaDevice, DeviceStrings) {
  EXPECT_EQ(parse_device_spec("cpu"), kCPU);
  // A bare "cuda" is the current device (torch's meaning), 0 where there is none.
  EXPECT_EQ(parse_device_spec("cuda"),
            (Device{DeviceType::CUDA, cuda_device_count() > 0 ? cuda::current_device() : 0}));
  EXPECT_EQ(parse_device_spec("cuda:3"), (Device{DeviceType::CUDA, 3}));
  EXPECT_EQ(parse_device_spec("cuda:12").str(), "cuda:12");
  for (const char* bad : {"cuda:", "cuda:x", "cuda:-1", "cuda: 1", "cuda:+1", "cuda:1x", "cuda:99999999999", "gpu",
                          "CUDA", "", "cpu:0"}) {
    try {
      parse_device_spec(bad);
      ADD_FAILURE() << "expected ValueError for '" << bad << "'";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("invalid device string"), std::string::npos) << e.what();
    }
  }
}

// LAMINA_FORCE_CPU hides the GPUs from every query, not only from tensor placement.
TEST(CudaDevice, ForceCpuHidesTheGpusFromQueries) {
  const char* old = std::getenv("LAMINA_FORCE_CPU");
  const std::string saved = old ? old : "";
  setenv("LAMINA_FORCE_CPU", "1", 1);
  EXPECT_EQ(cuda_device_count(), 0);
  EXPECT_THROW(cuda::device_name(0), DeviceNotAvailableError);
  EXPECT_THROW(cuda::device_capability(0), DeviceNotAvailableError);
  EXPECT_THROW(cuda::synchronize(0), DeviceNotAvailableError);
  EXPECT_THROW(cuda::memory_stats(0), DeviceNotAvailableError);
  EXPECT_THROW(cuda::empty_cache(0), DeviceNotAvailableError);
  EXPECT_THROW(parse_device("cuda"), DeviceNotAvailableError);
  EXPECT_EQ(parse_device_spec("cuda"), (Device{DeviceType::CUDA, 0}));
  if (old)
    setenv("LAMINA_FORCE_CPU", saved.c_str(), 1);
  else
    unsetenv("LAMINA_FORCE_CPU");
}

// A tensor whose storage says cuda:0 (host memory posing as device memory, so no GPU is needed):
// host-side reads refuse it with a typed error instead of touching the memory.
TEST(CudaDevice, HostCodeNeverReadsDeviceTensors) {
  float host[4] = {1, 2, 3, 4};
  auto storage = std::make_shared<Storage>(host, sizeof host, Device{DeviceType::CUDA, 0}, [] {});
  const Tensor t = Tensor::make_view(storage, Shape{4}, Strides{1}, 0, Dtype::Float32);
  EXPECT_TRUE(t.device().is_cuda());
  try {
    t.data<float>();
    FAIL() << "expected DeviceMismatchError";
  } catch (const DeviceMismatchError& e) {
    EXPECT_NE(std::string(e.what()).find(".cpu()"), std::string::npos) << e.what();
  }
  // item() and printing go through the device copy path, which fails cleanly without a GPU.
  if (cuda::raw_device_count() == 0) {
    EXPECT_THROW(t.select(0, 1).item(), Error);
    EXPECT_THROW(t.str(), Error);
  }
}
