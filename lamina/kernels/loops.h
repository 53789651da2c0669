#pragma once
// The kernel interface's geometry: what the runtime hands a kernel instead of tensors (raw
// pointers, sizes and byte strides), and the signatures of the kernels that take it. Sees only
// lamina/core; every backend and the runtime include it.
#include <cstdint>

#include "lamina/core/shape.h"
#include "lamina/kernels/host_device.h"

namespace lamina::kernels {

/// Most operands (output first, then inputs) one elementwise kernel call takes.
inline constexpr int kMaxOperands = 4;

/// An elementwise loop over `ndim` dims: operand k's element at index i is at
/// data[k] + sum(i[d] * strides[k][d]) bytes. Dims are coalesced; the last is innermost.
struct StridedLoop {
  int ndim = 0;
  int num_operands = 0;
  int64_t numel = 0;
  int64_t shape[kMaxDims];
  char* data[kMaxOperands];
  int64_t strides[kMaxOperands][kMaxDims];  // bytes
};

/// Extra scalar arguments of parametrized kernels (clamp bounds, pow exponent, ...).
struct KernelParams {
  double a = 0.0;
  double b = 0.0;
  int64_t i = 0;
  int64_t j = 0;
  int64_t lo = 0;  // exact integer bounds (randint)
  int64_t hi = 0;
  int32_t* status = nullptr;  // where the kernel reports a bad input (KernelStatus), on its device
};

/// What a kernel reports through KernelParams::status: the op raises after the launch, so
/// validation never reads tensor data on the host.
enum KernelStatus : int32_t {
  kStatusOk = 0,
  kStatusIntegerDivisionByZero = 1,
  kStatusNegativeIntegerPower = 2,
};

/// Records `code` in *status (null: nobody asked). Any thread or GPU lane may; every code is an
/// error, so when several report, any one of them is the answer.
LAMINA_HD inline void report_status(int32_t* status, int32_t code) {
  if (!status) return;
#ifdef __CUDA_ARCH__
  *reinterpret_cast<volatile int32_t*>(status) = code;
#else
  __atomic_store_n(status, code, __ATOMIC_RELAXED);
#endif
}

/// The part of `loop` with dim-0 index in [begin, end): the unit the thread pool hands out.
inline StridedLoop slice_outer(const StridedLoop& loop, int64_t begin, int64_t end) {
  StridedLoop part = loop;
  part.shape[0] = end - begin;
  part.numel = loop.numel / loop.shape[0] * (end - begin);
  for (int k = 0; k < loop.num_operands; ++k) part.data[k] += begin * loop.strides[k][0];
  return part;
}

/// A reduction: for each output element (outer dims), combine the inputs' elements
/// over the reduced dims. Input strides cover outer dims then reduced dims.
struct ReduceLoop {
  int outer_ndim = 0;
  int reduce_ndim = 0;
  int64_t outer_numel = 0;
  int64_t reduce_numel = 0;
  int64_t outer_shape[kMaxDims];
  int64_t reduce_shape[kMaxDims];
  char* out = nullptr;
  char* out2 = nullptr;  // second output (indices of max/min), may be null
  const char* in = nullptr;
  int64_t out_strides[kMaxDims];   // bytes, over outer dims
  int64_t out2_strides[kMaxDims];  // bytes, over outer dims
  int64_t in_outer_strides[kMaxDims];
  int64_t in_reduce_strides[kMaxDims];
};

/// The outputs of `loop` with outer dim-0 index in [begin, end) (requires outer_ndim > 0).
inline ReduceLoop slice_outer(const ReduceLoop& loop, int64_t begin, int64_t end) {
  ReduceLoop part = loop;
  part.outer_shape[0] = end - begin;
  part.outer_numel = loop.outer_numel / loop.outer_shape[0] * (end - begin);
  part.out += begin * loop.out_strides[0];
  if (part.out2) part.out2 += begin * loop.out2_strides[0];
  part.in += begin * loop.in_outer_strides[0];
  return part;
}

/// Signature of every elementwise kernel.
using ElementwiseKernel = void (*)(const StridedLoop&, const KernelParams&);
/// Signature of every reduction kernel.
using ReduceKernel = void (*)(const ReduceLoop&, const KernelParams&);

/// Lines along one dim: for outer index o (all other dims, row-major, size-1 dims dropped) the
/// kernel reads `n` input elements at in + j * in_stride and writes `k` elements at
/// out + j * out_stride (and out2 + j * out2_stride). Strides are in bytes.
struct LineLoop {
  int outer_ndim = 0;
  int64_t outer_numel = 0;
  int64_t n = 0;  // input elements per line
  int64_t k = 0;  // output elements per line (n except for topk)
  const char* in = nullptr;
  char* out = nullptr;
  char* out2 = nullptr;  // second output (indices), may be null
  int64_t in_stride = 0;
  int64_t out_stride = 0;
  int64_t out2_stride = 0;
  int64_t outer_shape[kMaxDims];
  int64_t in_outer[kMaxDims];
  int64_t out_outer[kMaxDims];
  int64_t out2_outer[kMaxDims];
};

/// Signature of every line kernel.
using LineKernel = void (*)(const LineLoop&, const KernelParams&);

/// The lines of `loop` with outer dim-0 index in [begin, end) (requires outer_ndim > 0).
inline LineLoop slice_outer(const LineLoop& loop, int64_t begin, int64_t end) {
  LineLoop part = loop;
  part.outer_shape[0] = end - begin;
  part.outer_numel = loop.outer_numel / loop.outer_shape[0] * (end - begin);
  part.in += begin * loop.in_outer[0];
  part.out += begin * loop.out_outer[0];
  if (part.out2) part.out2 += begin * loop.out2_outer[0];
  return part;
}

/// Calls body(in, out, out2) with the start of every line, in row-major order of the outer dims.
template <class Body>
inline void for_each_line(const LineLoop& loop, Body&& body) {
  int64_t idx[kMaxDims] = {0};
  const char* in = loop.in;
  char* out = loop.out;
  char* out2 = loop.out2;
  for (int64_t o = 0; o < loop.outer_numel; ++o) {
    body(in, out, out2);
    for (int d = loop.outer_ndim - 1; d >= 0; --d) {
      in += loop.in_outer[d];
      out += loop.out_outer[d];
      out2 += loop.out2_outer[d];
      if (++idx[d] < loop.outer_shape[d]) break;
      in -= loop.in_outer[d] * loop.outer_shape[d];
      out -= loop.out_outer[d] * loop.outer_shape[d];
      out2 -= loop.out2_outer[d] * loop.outer_shape[d];
      idx[d] = 0;
    }
  }
}

/// A strided bool mask walked in row-major order. For the k-th true element at coordinates
/// idx, a kernel writes either the byte offset sum(idx[d] * weights[d]) to out[k] (mask
/// offsets) or the coordinates to out[k * ndim .. k * ndim + ndim) (nonzero); the counting
/// kernel writes the number of true elements to out[0].
struct MaskLoop {
  int ndim = 0;
  int64_t numel = 0;
  int64_t count = 0;  // true elements (slots in out); not used by the counting kernel
  const char* mask = nullptr;
  int64_t* out = nullptr;
  int64_t shape[kMaxDims];
  int64_t strides[kMaxDims];  // bytes, of the mask
  int64_t weights[kMaxDims];  // bytes per step along each dim (mask offsets only)
};

/// Signature of the mask-walking kernels ("mask_count", "mask_offsets", "nonzero").
using MaskKernel = void (*)(const MaskLoop&, const KernelParams&);

/// Signature of the device-side index range check ("index_range", CUDA only): writes the
/// smallest and the largest value of the one-operand loop's integer index to min_max[0] and
/// min_max[1] (device memory; the loop is not empty).
using IndexRangeKernel = void (*)(const StridedLoop& index, int64_t* min_max);

/// Matrices are given by element strides (row, column); batch b starts at the byte offsets
/// a_offsets[b] / b_offsets[b] and at c + b * m * n elements (C is contiguous).
struct GemmLoop {
  int64_t batch = 1;
  int64_t m = 0, n = 0, k = 0;
  const char* a = nullptr;
  const char* b = nullptr;
  char* c = nullptr;
  const int64_t* a_offsets = nullptr;  // bytes
  const int64_t* b_offsets = nullptr;  // bytes
  int64_t a_rs = 0, a_cs = 0;          // elements
  int64_t b_rs = 0, b_cs = 0;          // elements
  int64_t c_rs = 0;                    // elements between rows of C (0: n); nonzero only with batch 1
  bool accumulate = false;             // C += A B (C holds its initial values); floating products only
  // With accumulate and batch 1 on the CPU: C's initial values are this row of n elements in
  // every row, written by the kernel a cache-sized band of rows at a time just before that
  // band's product (addmm's bias), so C is not filled in a pass of its own.
  const char* c_init_row = nullptr;
  // With c_init_row: an elementwise kernel (output, input) run on each band of C as soon as its
  // product is done, writing c_epilogue (C's layout) from C while the band is still in cache
  // (addmm + GELU). Null: none.
  ElementwiseKernel epilogue = nullptr;
  char* c_epilogue = nullptr;
};

/// Signature of every matrix-product kernel.
using GemmKernel = void (*)(const GemmLoop&, const KernelParams&);

}  // namespace lamina::kernels
