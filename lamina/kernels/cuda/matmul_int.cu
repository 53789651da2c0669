// Integer matmul on the GPU (cuBLASLt has no integer GEMM for these types): one thread per output
// element, summing in uint64_t like the CPU kernel. Integer products are rare in training; this
// kernel is for correctness and coverage, not speed.
#include "lamina/kernels/cuda/gemm_layout.h"
#include "lamina/kernels/cuda/matmul_int_math.cuh"
#include "lamina/kernels/cuda/register.h"
#include "lamina/kernels/loops.h"

namespace lamina::kernels::cuda {

namespace {

constexpr int kTile = 16;
constexpr int64_t kMaxGrid = 65535;

// One product of a batch whose operands step uniformly (a_batch / b_batch elements apart).
template <class T>
struct IntGemm {
  int64_t batch, m, n, k;
  const T* a;
  const T* b;
  T* c;
  int64_t a_rs, a_cs, b_rs, b_cs, a_batch, b_batch;
};

template <class T>
__global__ void int_matmul_kernel(IntGemm<T> g) {
  for (int64_t z = blockIdx.z; z < g.batch; z += gridDim.z)
    for (int64_t i = int64_t{blockIdx.y} * kTile + threadIdx.y; i < g.m; i += int64_t{gridDim.y} * kTile)
      for (int64_t j = int64_t{blockIdx.x} * kTile + threadIdx.x; j < g.n; j += int64_t{gridDim.x} * kTile)
        g.c[(z * g.m + i) * g.n + j] =
            int_dot(g.a + z * g.a_batch + i * g.a_rs, g.a_cs, g.b + z * g.b_batch + j * g.b_cs, g.b_rs, g.k);
}

unsigned int grid_dim(int64_t extent, int64_t per_block) {
  const int64_t blocks = (extent + per_block - 1) / per_block;
  return static_cast<unsigned int>(blocks < 1 ? 1 : blocks > kMaxGrid ? kMaxGrid : blocks);
}

template <class T>
void launch(const IntGemm<T>& g, cudaStream_t stream) {
  const dim3 block(kTile, kTile);
  const dim3 grid(grid_dim(g.n, kTile), grid_dim(g.m, kTile), grid_dim(g.batch, 1));
  int_matmul_kernel<T><<<grid, block, 0, stream>>>(g);
}

template <class T>
struct IntMatmul {
  static void run(const kernels::GemmLoop& l, const kernels::KernelParams&) {
    if (l.batch == 0 || l.m == 0 || l.n == 0) return;
    const cudaStream_t stream = launch_stream();
    const auto* a = reinterpret_cast<const T*>(l.a);
    const auto* b = reinterpret_cast<const T*>(l.b);
    auto* c = reinterpret_cast<T*>(l.c);
    int64_t sa = 0, sb = 0;
    const auto esize = static_cast<int64_t>(sizeof(T));
    if (lamina::cuda::uniform_offsets(l.a_offsets, l.batch, sa) &&
        lamina::cuda::uniform_offsets(l.b_offsets, l.batch, sb) && sa % esize == 0 && sb % esize == 0) {
      launch(IntGemm<T>{l.batch, l.m, l.n, l.k, a + l.a_offsets[0] / esize, b + l.b_offsets[0] / esize, c, l.a_rs,
                        l.a_cs, l.b_rs, l.b_cs, sa / esize, sb / esize},
             stream);
    } else {
      for (int64_t z = 0; z < l.batch; ++z)
        launch(IntGemm<T>{1, l.m, l.n, l.k, a + l.a_offsets[z] / esize, b + l.b_offsets[z] / esize, c + z * l.m * l.n,
                          l.a_rs, l.a_cs, l.b_rs, l.b_cs, 0, 0},
               stream);
    }
    lamina::cuda::check_kernel_launch("matmul");
  }
};

}  // namespace

void register_matmul_int_kernels() { register_cuda<IntMatmul, LAMINA_CUDA_INT_TYPES>(Op::matmul); }

}  // namespace lamina::kernels::cuda
