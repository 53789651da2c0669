// Every kernel the CPU has, the CUDA backend has too: for each (op, dtype) registered for the CPU
// there is a CUDA kernel, so an op that runs on the CPU runs on a GPU (ops outside the kernel table
// -- GEMM, convolution, attention -- call cuBLASLt / cuDNN / their kernels directly and have their
// own tests). No GPU is needed: this reads the registration table of a CUDA build.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "lamina/runtime/dispatch.h"

using namespace lamina;

TEST(CudaCoverage, EveryCpuKernelHasACudaTwin) {
  const Device gpu{DeviceType::CUDA, 0};
  std::vector<std::string> missing;
  int cpu_kernels = 0;
  // Ops whose entry point runs composed of other (covered) ops on a device without the fused
  // kernel, so they run on a GPU all the same: batch_norm (lamina/ops/norm.cpp checks has_kernel).
  const std::set<std::string> composite_elsewhere = {"batch_norm", "batch_norm_backward"};
  for (runtime::OpId op = 0; op < runtime::op_count(); ++op)
    for (int d = 0; d < kNumDtypes; ++d) {
      if (composite_elsewhere.count(runtime::op_name(op))) continue;
      const auto dtype = static_cast<Dtype>(d);
      if (!runtime::has_kernel(op, kCPU, dtype)) continue;
      ++cpu_kernels;
      if (!runtime::has_kernel(op, gpu, dtype))
        missing.push_back(runtime::op_name(op) + ":" + std::string(dtype_name(dtype)));
    }
  EXPECT_GT(cpu_kernels, 500);
  std::string list;
  for (const std::string& m : missing) list += m + " ";
  EXPECT_TRUE(missing.empty()) << missing.size() << " CPU kernels without a CUDA kernel: " << list;
}
