// Kernel lab: row softmax over float32 (rows x cols). Versions: 1 naive (one thread per row,
// three passes), 2 one warp per row (shuffle reductions, three passes over the row),
// 3 one warp per row with the online max/sum (two passes). Validated against a float64 CPU
// reference; prints GB/s (read + write) beside the device-to-device copy bandwidth.
#include "common.cuh"

__global__ void softmax_naive(const float* x, float* y, int rows, int cols) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const float* in = x + static_cast<size_t>(r) * cols;
  float* out = y + static_cast<size_t>(r) * cols;
  float m = -INFINITY;
  for (int j = 0; j < cols; ++j) m = fmaxf(m, in[j]);
  float s = 0.f;
  for (int j = 0; j < cols; ++j) s += expf(in[j] - m);
  for (int j = 0; j < cols; ++j) out[j] = expf(in[j] - m) / s;
}

__device__ float warp_max(float v) {
  for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__global__ void softmax_warp(const float* x, float* y, int rows, int cols) {
  const int r = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (r >= rows) return;
  const float* in = x + static_cast<size_t>(r) * cols;
  float* out = y + static_cast<size_t>(r) * cols;
  float m = -INFINITY;
  for (int j = lane; j < cols; j += 32) m = fmaxf(m, in[j]);
  m = warp_max(m);
  float s = 0.f;
  for (int j = lane; j < cols; j += 32) s += expf(in[j] - m);
  s = warp_sum(s);
  const float inv = 1.f / s;
  for (int j = lane; j < cols; j += 32) out[j] = expf(in[j] - m) * inv;
}

// Each lane keeps a running (max, sum of exp(x - max)); lanes merge with the same rule.
__global__ void softmax_warp_online(const float* x, float* y, int rows, int cols) {
  const int r = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (r >= rows) return;
  const float* in = x + static_cast<size_t>(r) * cols;
  float* out = y + static_cast<size_t>(r) * cols;
  float m = -INFINITY, s = 0.f;
  for (int j = lane; j < cols; j += 32) {
    const float v = in[j];
    if (v > m) {
      s = s * expf(m - v) + 1.f;
      m = v;
    } else {
      s += expf(v - m);
    }
  }
  for (int o = 16; o > 0; o /= 2) {
    const float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
    const float mm = fmaxf(m, m2);
    s = (m == -INFINITY ? 0.f : s * expf(m - mm)) + (m2 == -INFINITY ? 0.f : s2 * expf(m2 - mm));
    m = mm;
  }
  const float inv = 1.f / s;
  for (int j = lane; j < cols; j += 32) out[j] = expf(in[j] - m) * inv;
}

int main() {
  const int shapes[][2] = {{1, 1}, {7, 33}, {4096, 1000}, {8192, 4096}, {65536, 257}};
  bool ok = true;
  for (const auto& shape : shapes) {
    const int rows = shape[0], cols = shape[1];
    const size_t n = static_cast<size_t>(rows) * cols;
    const auto x = random_floats(n, 5, 8.f);
    std::vector<float> ref(n);
    for (int r = 0; r < rows; ++r) {
      double m = -INFINITY, s = 0;
      for (int j = 0; j < cols; ++j) m = std::max(m, static_cast<double>(x[r * size_t(cols) + j]));
      for (int j = 0; j < cols; ++j) s += std::exp(x[r * size_t(cols) + j] - m);
      for (int j = 0; j < cols; ++j) ref[r * size_t(cols) + j] = static_cast<float>(std::exp(x[r * size_t(cols) + j] - m) / s);
    }
    float *dx = to_device(x), *dy = nullptr;
    LAB_CHECK(cudaMalloc(&dy, n * sizeof(float)));
    const double bytes = 2.0 * n * sizeof(float);
    auto run = [&](const char* name, auto launch) {
      LAB_CHECK(cudaMemset(dy, 0xff, n * sizeof(float)));
      launch();
      LAB_CHECK(cudaGetLastError());
      LAB_CHECK(cudaDeviceSynchronize());
      const bool good = validate(name, to_host(dy, n), ref, 1e-5f, 1e-7f);
      ok = ok && good;
      const float ms = time_ms(launch);
      std::printf("%6d x %-6d %-18s %s %9.4f ms %8.1f GB/s\n", rows, cols, name, good ? "ok " : "BAD", ms,
                  bytes / (ms * 1e6));
    };
    run("1 naive", [&] { softmax_naive<<<(rows + 127) / 128, 128>>>(dx, dy, rows, cols); });
    run("2 warp", [&] { softmax_warp<<<(rows * 32 + 255) / 256, 256>>>(dx, dy, rows, cols); });
    run("3 warp online", [&] { softmax_warp_online<<<(rows * 32 + 255) / 256, 256>>>(dx, dy, rows, cols); });
    LAB_CHECK(cudaFree(dx));
    LAB_CHECK(cudaFree(dy));
  }
  std::printf("device-to-device copy: %.1f GB/s (256 MiB)\n", copy_bandwidth(size_t{256} << 20));
  return ok ? 0 : 1;
}
