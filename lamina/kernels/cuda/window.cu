// Sliding-window kernels on CUDA: one thread per output element, gathering (window_math.cuh),
// so results do not depend on scheduling. The op layer passes the full plane range.
#include "lamina/kernels/cuda/register.h"
#include "lamina/kernels/cuda/window_math.cuh"

namespace lamina::kernels::cuda {
namespace {

template <class T>
__global__ void im2col_kernel(WindowGeometry g, const T* x, T* cols, int64_t first, int64_t count) {
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < count; e += int64_t{gridDim.x} * blockDim.x)
    cols[first + e] = im2col_element(g, x, first + e);
}

template <class T>
__global__ void col2im_kernel(WindowGeometry g, const T* cols, T* gx, int64_t first, int64_t count) {
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < count; e += int64_t{gridDim.x} * blockDim.x)
    gx[first + e] = col2im_element(g, cols, first + e);
}

template <class T>
__global__ void max_pool_kernel(WindowGeometry g, const T* x, T* out, int64_t* argmax, int64_t first, int64_t count) {
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < count; e += int64_t{gridDim.x} * blockDim.x) {
    int64_t at = -1;
    out[first + e] = max_pool_element(g, x, first + e, at);
    if (argmax != nullptr) argmax[first + e] = at;
  }
}

template <class T>
__global__ void max_pool_backward_kernel(WindowGeometry g, const T* grad, const int64_t* argmax, T* gx, int64_t first,
                                         int64_t count) {
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < count; e += int64_t{gridDim.x} * blockDim.x)
    gx[first + e] = max_pool_backward_element(g, grad, argmax, first + e);
}

template <class T>
struct Im2col {
  static void run(const WindowGeometry& g, const void* x, void* cols, int64_t begin, int64_t end) {
    const int64_t per = g.kh * g.kw * g.oh * g.ow, count = (end - begin) * per;
    if (count <= 0) return;
    im2col_kernel<T><<<grid_blocks(count), kBlockThreads, 0, launch_stream()>>>(
        g, static_cast<const T*>(x), static_cast<T*>(cols), begin * per, count);
    lamina::cuda::check_kernel_launch("im2col");
  }
};

template <class T>
struct Col2im {
  static void run(const WindowGeometry& g, const void* cols, void* gx, int64_t begin, int64_t end) {
    const int64_t per = g.h * g.w, count = (end - begin) * per;
    if (count <= 0) return;
    col2im_kernel<T><<<grid_blocks(count), kBlockThreads, 0, launch_stream()>>>(
        g, static_cast<const T*>(cols), static_cast<T*>(gx), begin * per, count);
    lamina::cuda::check_kernel_launch("col2im");
  }
};

template <class T>
struct MaxPool {
  static void run(const WindowGeometry& g, const void* x, void* out, int64_t* argmax, int64_t begin, int64_t end) {
    const int64_t per = g.oh * g.ow, count = (end - begin) * per;
    if (count <= 0) return;
    max_pool_kernel<T><<<grid_blocks(count), kBlockThreads, 0, launch_stream()>>>(
        g, static_cast<const T*>(x), static_cast<T*>(out), argmax, begin * per, count);
    lamina::cuda::check_kernel_launch("max_pool2d");
  }
};

template <class T>
struct MaxPoolBackward {
  static void run(const WindowGeometry& g, const void* grad, const int64_t* argmax, void* gx, int64_t begin,
                  int64_t end) {
    const int64_t per = g.h * g.w, count = (end - begin) * per;
    if (count <= 0) return;
    max_pool_backward_kernel<T><<<grid_blocks(count), kBlockThreads, 0, launch_stream()>>>(
        g, static_cast<const T*>(grad), argmax, static_cast<T*>(gx), begin * per, count);
    lamina::cuda::check_kernel_launch("max_pool2d_backward");
  }
};

}  // namespace

void register_window_kernels() {
  register_cuda<Im2col, LAMINA_CUDA_FLOAT_TYPES>(Op::im2col);
  register_cuda<Col2im, LAMINA_CUDA_FLOAT_TYPES>(Op::col2im);
  register_cuda<MaxPool, LAMINA_CUDA_FLOAT_TYPES>(Op::max_pool2d);
  register_cuda<MaxPoolBackward, LAMINA_CUDA_FLOAT_TYPES>(Op::max_pool2d_backward);
}

}  // namespace lamina::kernels::cuda
