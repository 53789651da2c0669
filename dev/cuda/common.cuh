// Shared helpers of the kernel lab: error checks, timing with CUDA events, random inputs, and
// comparison against a CPU reference. Each lab program builds alone:
//   nvcc -O3 -std=c++17 -arch=sm_90 dev/cuda/<name>.cu -o build/lab_<name>
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#define LAB_CHECK(call)                                                                         \
  do {                                                                                          \
    cudaError_t status_ = (call);                                                               \
    if (status_ != cudaSuccess) {                                                               \
      std::fprintf(stderr, "%s:%d: %s (%s)\n", __FILE__, __LINE__, cudaGetErrorName(status_),   \
                   cudaGetErrorString(status_));                                                \
      std::exit(1);                                                                             \
    }                                                                                           \
  } while (0)

// Uniform random floats in [-scale, scale).
inline std::vector<float> random_floats(size_t n, unsigned seed, float scale = 3.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// A device copy of `host`.
template <class T>
T* to_device(const std::vector<T>& host) {
  T* d = nullptr;
  LAB_CHECK(cudaMalloc(&d, host.size() * sizeof(T)));
  LAB_CHECK(cudaMemcpy(d, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

// A host copy of `n` device values.
template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> h(n);
  LAB_CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}

// True when every value is within atol + rtol * |ref|; prints the first mismatch.
inline bool validate(const char* name, const std::vector<float>& got, const std::vector<float>& ref, float rtol,
                     float atol) {
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!(std::fabs(got[i] - ref[i]) <= atol + rtol * std::fabs(ref[i]))) {
      std::printf("%-28s MISMATCH at %zu: got %.8g, expected %.8g\n", name, i, got[i], ref[i]);
      return false;
    }
  }
  return true;
}

// Median milliseconds of `reps` runs of `launch` (after 3 warm-up runs), timed with events.
template <class F>
float time_ms(F launch, int reps = 20) {
  for (int i = 0; i < 3; ++i) launch();
  cudaEvent_t start, stop;
  LAB_CHECK(cudaEventCreate(&start));
  LAB_CHECK(cudaEventCreate(&stop));
  std::vector<float> times;
  for (int i = 0; i < reps; ++i) {
    LAB_CHECK(cudaEventRecord(start));
    launch();
    LAB_CHECK(cudaEventRecord(stop));
    LAB_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    LAB_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  LAB_CHECK(cudaEventDestroy(start));
  LAB_CHECK(cudaEventDestroy(stop));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Device-to-device copy bandwidth in GB/s (read + write) for `bytes`: the ceiling of a
// memory-bound kernel.
inline double copy_bandwidth(size_t bytes) {
  void *a = nullptr, *b = nullptr;
  LAB_CHECK(cudaMalloc(&a, bytes));
  LAB_CHECK(cudaMalloc(&b, bytes));
  const float ms = time_ms([&] { LAB_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice)); });
  LAB_CHECK(cudaFree(a));
  LAB_CHECK(cudaFree(b));
  return 2.0 * static_cast<double>(bytes) / (ms * 1e6);
}
