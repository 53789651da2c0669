// Kernel lab: out = a * b + c over float32 (a fused elementwise op), sizes that are and are not
// multiples of the vector width. Versions: 1 naive (one element per thread), 2 grid-stride,
// 3 16-byte vector loads (float4) with a scalar tail. Validated against the CPU; prints GB/s
// beside the device-to-device copy bandwidth.
#include "common.cuh"

__global__ void fma_naive(const float* a, const float* b, const float* c, float* out, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = a[i] * b[i] + c[i];
}

__global__ void fma_grid_stride(const float* a, const float* b, const float* c, float* out, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    out[i] = a[i] * b[i] + c[i];
}

// cudaMalloc'd buffers are 256-byte aligned, so float4 access from the start is aligned.
__global__ void fma_vec4(const float* a, const float* b, const float* c, float* out, size_t n) {
  const size_t vec = n / 4;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  const size_t first = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  for (size_t i = first; i < vec; i += stride) {
    const float4 x = reinterpret_cast<const float4*>(a)[i];
    const float4 y = reinterpret_cast<const float4*>(b)[i];
    const float4 z = reinterpret_cast<const float4*>(c)[i];
    reinterpret_cast<float4*>(out)[i] = make_float4(x.x * y.x + z.x, x.y * y.y + z.y, x.z * y.z + z.z,
                                                    x.w * y.w + z.w);
  }
  for (size_t i = vec * 4 + first; i < n; i += stride) out[i] = a[i] * b[i] + c[i];
}

int main() {
  int sms = 0;
  LAB_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const size_t sizes[] = {1, 3, 1000, 4097, size_t{1} << 20, (size_t{1} << 26) + 5};
  bool ok = true;
  for (size_t n : sizes) {
    const auto a = random_floats(n, 1), b = random_floats(n, 2), c = random_floats(n, 3);
    std::vector<float> ref(n);
    for (size_t i = 0; i < n; ++i) ref[i] = a[i] * b[i] + c[i];
    float *da = to_device(a), *db = to_device(b), *dc = to_device(c), *dout = nullptr;
    LAB_CHECK(cudaMalloc(&dout, n * sizeof(float)));
    const int threads = 256;
    const int blocks_naive = static_cast<int>((n + threads - 1) / threads);
    const int blocks_stride = std::min(blocks_naive, sms * 8);
    const double bytes = 4.0 * n * sizeof(float);
    auto run = [&](const char* name, auto launch) {
      LAB_CHECK(cudaMemset(dout, 0xff, n * sizeof(float)));  // poison: a skipped element shows
      launch();
      LAB_CHECK(cudaGetLastError());
      LAB_CHECK(cudaDeviceSynchronize());
      const bool good = validate(name, to_host(dout, n), ref, 1e-6f, 1e-6f);
      ok = ok && good;
      const float ms = time_ms(launch);
      std::printf("n=%-10zu %-16s %s %9.4f ms %8.1f GB/s\n", n, name, good ? "ok " : "BAD", ms, bytes / (ms * 1e6));
    };
    run("1 naive", [&] { fma_naive<<<blocks_naive, threads>>>(da, db, dc, dout, n); });
    run("2 grid-stride", [&] { fma_grid_stride<<<blocks_stride, threads>>>(da, db, dc, dout, n); });
    run("3 vec4", [&] {
      fma_vec4<<<std::max(1, std::min(blocks_naive / 4 + 1, sms * 8)), threads>>>(da, db, dc, dout, n);
    });
    LAB_CHECK(cudaFree(da));
    LAB_CHECK(cudaFree(db));
    LAB_CHECK(cudaFree(dc));
    LAB_CHECK(cudaFree(dout));
  }
  std::printf("device-to-device copy: %.1f GB/s (256 MiB)\n", copy_bandwidth(size_t{256} << 20));
  return ok ? 0 : 1;
}
