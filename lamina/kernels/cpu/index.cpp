// Indexing kernels: advanced-index gather/put over byte offsets, gather/scatter along a dim,
// and nonzero. Offsets and indices were range-checked by the op layer.
#include <cstring>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/runtime/index_loops.h"

namespace lamina::kernels::cpu {

using runtime::IndexLoop;
/// Signature of advanced-index kernels.
using IndexKernel = void (*)(const IndexLoop&, const KernelParams&);

namespace {

template <class Body>
void for_each_rest(const IndexLoop& loop, Body&& body) {
  for (int64_t b = 0; b < loop.count; ++b) {
    char* strided = loop.base + loop.offsets[b];
    int64_t idx[kMaxDims] = {0};
    int64_t rest_offset = 0;
    for (int64_t r = 0; r < loop.rest_numel; ++r) {
      body(strided + rest_offset, b * loop.rest_numel + r);
      for (int d = loop.rest_ndim - 1; d >= 0; --d) {
        rest_offset += loop.rest_strides[d];
        if (++idx[d] < loop.rest_shape[d]) break;
        rest_offset -= loop.rest_strides[d] * loop.rest_shape[d];
        idx[d] = 0;
      }
    }
  }
}

template <class T>
struct IndexGatherKernel {
  static void run(const IndexLoop& loop, const KernelParams&) {
    T* dense = reinterpret_cast<T*>(loop.dense);
    for_each_rest(loop, [&](char* p, int64_t k) { dense[k] = *reinterpret_cast<const T*>(p); });
  }
};

// params.i == 1 accumulates (index_put_ with accumulate=True); duplicates then add up.
template <class T>
struct IndexPutKernel {
  static void run(const IndexLoop& loop, const KernelParams& params) {
    const T* dense = reinterpret_cast<const T*>(loop.dense);
    if (params.i == 1) {
      for_each_rest(loop, [&](char* p, int64_t k) {
        T* dst = reinterpret_cast<T*>(p);
        if constexpr (std::is_same_v<T, bool>) *dst = *dst || dense[k];
        else *dst = T(static_cast<compute_t<T>>(static_cast<compute_t<T>>(*dst) + static_cast<compute_t<T>>(dense[k])));
      });
    } else {
      for_each_rest(loop, [&](char* p, int64_t k) { *reinterpret_cast<T*>(p) = dense[k]; });
    }
  }
};

// Operands: out, index (int64), source (index-shaped view of x with stride 0 along the dim);
// params.i is x's byte stride along the dim.
template <class T>
struct GatherDimKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    for_each_row<3>(loop, [&](char** p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        const int64_t j = *reinterpret_cast<const int64_t*>(p[1] + i * s[1]);
        *reinterpret_cast<T*>(p[0] + i * s[0]) = *reinterpret_cast<const T*>(p[2] + i * s[2] + j * params.i);
      }
    });
  }
};

// Operands: destination (index-shaped view of x, stride 0 along the dim), index, src;
// params.i is x's byte stride along the dim, params.j == 1 adds instead of assigning.
template <class T>
struct ScatterDimKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    for_each_row<3>(loop, [&](char** p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        const int64_t j = *reinterpret_cast<const int64_t*>(p[1] + i * s[1]);
        T* dst = reinterpret_cast<T*>(p[0] + i * s[0] + j * params.i);
        const T v = *reinterpret_cast<const T*>(p[2] + i * s[2]);
        if (params.j == 1) {
          if constexpr (std::is_same_v<T, bool>) *dst = *dst || v;
          else *dst = T(static_cast<compute_t<T>>(static_cast<compute_t<T>>(*dst) + static_cast<compute_t<T>>(v)));
        } else {
          *dst = v;
        }
      }
    });
  }
};

// Row loop: in = contiguous bool tensor of numel rows*n (n = 1), out = int64 [count, ndim]
// coordinates; params.i = ndim and the shape is read from the KernelParams-free row geometry:
// loop.k carries ndim and loop.out2 points at the int64 shape array.
template <class T>
struct NonzeroKernel {
  static void run(const RowLoop& loop, const KernelParams&) {
    const bool* in = reinterpret_cast<const bool*>(loop.in);
    int64_t* out = reinterpret_cast<int64_t*>(loop.out);
    const int64_t* shape = reinterpret_cast<const int64_t*>(loop.out2);
    const int64_t ndim = loop.k;
    int64_t idx[kMaxDims] = {0};
    for (int64_t e = 0; e < loop.rows; ++e) {
      if (in[e]) {
        for (int64_t d = 0; d < ndim; ++d) *out++ = idx[d];
      }
      for (int64_t d = ndim - 1; d >= 0; --d) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
  }
};

}  // namespace

void register_index_kernels() {
  register_each<IndexGatherKernel, LAMINA_ALL_TYPES>("index_gather");
  register_each<IndexPutKernel, LAMINA_ALL_TYPES>("index_put");
  register_each<GatherDimKernel, LAMINA_ALL_TYPES>("gather");
  register_each<ScatterDimKernel, LAMINA_ALL_TYPES>("scatter");
  register_each<NonzeroKernel, bool>("nonzero");
}

}  // namespace lamina::kernels::cpu
