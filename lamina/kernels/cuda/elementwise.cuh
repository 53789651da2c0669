#pragma once
// The elementwise driver's per-thread code, shared by the CUDA kernels (elementwise_launch.cuh)
// and by a host emulation that runs the very same code on the CPU (tests/cpp/cuda/).
//
// An element op is a small trivially-copyable struct:
//   using out_t = ...;                       // stored output type
//   using inputs = std::tuple<A, B, ...>;    // stored input types (0 to 3 of them)
//   LAMINA_HD out_t operator()(A a, B b, ...) const;
// Two paths cover every StridedLoop:
//   vector:  one flat dim, output and inputs contiguous or broadcast scalars (stride 0), every
//            contiguous pointer aligned to its 16-byte vector: each thread loads and stores VEC
//            elements at once (VEC = 16 bytes / the widest operand), the tail element by element;
//   strided: anything else (broadcast, transposed, sliced views): each thread turns a linear
//            index into per-operand byte offsets with 32-bit index math; a loop too large for
//            32-bit indices and offsets is cut on the host into pieces that fit (for_each_piece).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>

#include "lamina/kernels/cuda/common.cuh"

namespace lamina::kernels::cuda {

/// Number of inputs of an element op.
template <class Op>
inline constexpr int arity_v = static_cast<int>(std::tuple_size_v<typename Op::inputs>);

/// The K-th input type of an element op.
template <int K, class Op>
using input_t = std::tuple_element_t<K, typename Op::inputs>;

/// VEC stored elements of T, loaded or stored as one aligned access.
template <class T, int VEC>
struct alignas(sizeof(T) * VEC) Vec {
  T v[VEC];
};

namespace detail {
template <class Op, size_t... K>
constexpr size_t widest_operand(std::index_sequence<K...>) {
  size_t w = sizeof(typename Op::out_t);
  ((w = sizeof(input_t<K, Op>) > w ? sizeof(input_t<K, Op>) : w), ...);
  return w;
}
}  // namespace detail

/// Elements per thread on the vector path: 16 bytes of the widest operand.
template <class Op>
inline constexpr int vec_width_v =
    static_cast<int>(16 / detail::widest_operand<Op>(std::make_index_sequence<arity_v<Op>>{}));

/// The vector path's arguments: base pointers (operand 0 the output) and which inputs are
/// broadcast scalars.
struct FlatArgs {
  char* data[kernels::kMaxOperands];
  bool scalar[kernels::kMaxOperands];
  int64_t numel;
  int64_t full_chunks;  // numel / VEC
};

/// Work items of the vector path: one per full chunk, then one per tail element.
inline int64_t flat_work_items(const FlatArgs& a, int vec) { return a.full_chunks + (a.numel - a.full_chunks * vec); }

namespace detail {
template <class T, int VEC>
LAMINA_HD inline Vec<T, VEC> load_vec(const char* base, bool scalar, int64_t first) {
  Vec<T, VEC> out;
  if (scalar) {
    const T s = *reinterpret_cast<const T*>(base);
    LAMINA_UNROLL
    for (int v = 0; v < VEC; ++v) out.v[v] = s;
  } else {
    out = *reinterpret_cast<const Vec<T, VEC>*>(base + first * static_cast<int64_t>(sizeof(T)));
  }
  return out;
}

template <class Op, int VEC, size_t... K>
LAMINA_HD inline void vector_chunk(const Op& op, const FlatArgs& a, int64_t first, std::index_sequence<K...>) {
  using Out = typename Op::out_t;
  // One aligned load per input, then VEC applications; the loaded vectors live in registers.
  [[maybe_unused]] auto loaded = [&](auto k) {
    return load_vec<input_t<decltype(k)::value, Op>, VEC>(a.data[k + 1], a.scalar[k + 1], first);
  };
  [[maybe_unused]] const auto inputs = std::make_tuple(loaded(std::integral_constant<size_t, K>{})...);
  Vec<Out, VEC> out;
  LAMINA_UNROLL
  for (int v = 0; v < VEC; ++v) out.v[v] = op(std::get<K>(inputs).v[v]...);
  *reinterpret_cast<Vec<Out, VEC>*>(a.data[0] + first * static_cast<int64_t>(sizeof(Out))) = out;
}

template <class Op, size_t... K>
LAMINA_HD inline void flat_element(const Op& op, const FlatArgs& a, int64_t i, std::index_sequence<K...>) {
  using Out = typename Op::out_t;
  [[maybe_unused]] auto at = [&](auto k) {
    using In = input_t<decltype(k)::value, Op>;
    return *reinterpret_cast<const In*>(a.data[k + 1] + (a.scalar[k + 1] ? 0 : i * static_cast<int64_t>(sizeof(In))));
  };
  reinterpret_cast<Out*>(a.data[0])[i] = op(at(std::integral_constant<size_t, K>{})...);
}
}  // namespace detail

/// One work item of the vector path: a full chunk of VEC elements, or one tail element.
template <class Op>
LAMINA_HD inline void flat_work_item(const Op& op, const FlatArgs& a, int64_t item) {
  constexpr int kVec = vec_width_v<Op>;
  constexpr auto seq = std::make_index_sequence<arity_v<Op>>{};
  if (item < a.full_chunks)
    detail::vector_chunk<Op, kVec>(op, a, item * kVec, seq);
  else
    detail::flat_element(op, a, a.full_chunks * kVec + (item - a.full_chunks), seq);
}

/// Linear index -> byte offset of every operand, for any shape and strides, in 32-bit index math
/// (cheap divisions on the GPU; launches are cut so that every index fits).
struct OffsetCalculator {
  int ndim;
  int num_operands;
  uint32_t shape[kMaxDims];
  int64_t strides[kernels::kMaxOperands][kMaxDims];

  /// Fills offsets[k] (bytes) for the element at `linear` (row-major over shape).
  LAMINA_HD inline void offsets(uint32_t linear, int64_t* out) const {
    for (int k = 0; k < kernels::kMaxOperands; ++k) out[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const uint32_t idx = linear % shape[d];
      linear /= shape[d];
      for (int k = 0; k < num_operands; ++k) out[k] += static_cast<int64_t>(idx) * strides[k][d];
    }
  }
};

/// The strided path's arguments.
struct StridedArgs {
  OffsetCalculator calc;
  char* data[kernels::kMaxOperands];
  uint32_t numel;
};

namespace detail {
template <class Op, size_t... K>
LAMINA_HD inline void strided_element(const Op& op, const StridedArgs& a, uint32_t i, std::index_sequence<K...>) {
  int64_t off[kernels::kMaxOperands];
  a.calc.offsets(i, off);
  [[maybe_unused]] auto at = [&](auto k) {
    using In = input_t<decltype(k)::value, Op>;
    return *reinterpret_cast<const In*>(a.data[k + 1] + off[k + 1]);
  };
  *reinterpret_cast<typename Op::out_t*>(a.data[0] + off[0]) = op(at(std::integral_constant<size_t, K>{})...);
}
}  // namespace detail

/// One element of the strided path.
template <class Op>
LAMINA_HD inline void strided_work_item(const Op& op, const StridedArgs& a, uint32_t i) {
  detail::strided_element(op, a, i, std::make_index_sequence<arity_v<Op>>{});
}

namespace detail {
template <class Op, size_t... K>
bool flat_operands_ok(const StridedLoop& loop, std::index_sequence<K...>) {
  constexpr int64_t vec_bytes_out = sizeof(typename Op::out_t) * vec_width_v<Op>;
  auto aligned = [](const char* p, int64_t bytes) {
    return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0;
  };
  bool ok =
      loop.strides[0][0] == static_cast<int64_t>(sizeof(typename Op::out_t)) && aligned(loop.data[0], vec_bytes_out);
  [[maybe_unused]] auto input_ok = [&](auto k) {
    using In = input_t<decltype(k)::value, Op>;
    const int64_t s = loop.strides[k + 1][0];
    return s == 0 || (s == static_cast<int64_t>(sizeof(In)) && aligned(loop.data[k + 1], sizeof(In) * vec_width_v<Op>));
  };
  ((ok = ok && input_ok(std::integral_constant<size_t, K>{})), ...);
  return ok;
}

inline int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

// Largest byte distance between two elements of one operand, over dims [from, ndim).
inline int64_t span_from(const StridedLoop& loop, int from) {
  int64_t span = 0;
  for (int k = 0; k < loop.num_operands; ++k) {
    int64_t s = 0;
    for (int d = from; d < loop.ndim; ++d) s += (loop.shape[d] - 1) * abs64(loop.strides[k][d]);
    span = s > span ? s : span;
  }
  return span;
}
}  // namespace detail

/// True when the vector path takes `loop` (operands: output then the op's inputs).
template <class Op>
bool takes_vector_path(const StridedLoop& loop) {
  return loop.ndim == 1 && detail::flat_operands_ok<Op>(loop, std::make_index_sequence<arity_v<Op>>{});
}

/// Calls piece(part) for parts of `loop` that together cover it, each with fewer than `limit`
/// elements and byte spans below `limit` (so 32-bit index math is exact): whole rows of dim 0
/// where they fit, else the loop is cut along dim 0 and each row handled as a smaller loop.
template <class Piece>
void for_each_piece(const StridedLoop& loop, int64_t limit, Piece&& piece) {
  if (loop.numel < limit && detail::span_from(loop, 0) < limit) {
    piece(loop);
    return;
  }
  const int64_t rows = loop.shape[0];
  const int64_t row_numel = loop.numel / rows;
  int64_t max_stride0 = 0;
  for (int k = 0; k < loop.num_operands; ++k) max_stride0 = std::max(max_stride0, detail::abs64(loop.strides[k][0]));
  const int64_t row_span = detail::span_from(loop, 1);
  if (row_numel < limit && row_span < limit) {
    // Rows fit: as many whole rows per piece as keep the count and the span below limit.
    int64_t per = std::max<int64_t>(
        1, std::min((limit - 1) / row_numel, max_stride0 == 0 ? rows : (limit - 1 - row_span) / max_stride0 + 1));
    for (int64_t begin = 0; begin < rows; begin += per)
      piece(kernels::slice_outer(loop, begin, std::min(rows, begin + per)));
    return;
  }
  // One row of dim 0 is itself too large: recurse on each row as a loop over the inner dims.
  for (int64_t r = 0; r < rows; ++r) {
    StridedLoop inner = loop;
    inner.ndim = loop.ndim - 1;
    inner.numel = row_numel;
    for (int k = 0; k < loop.num_operands; ++k) {
      inner.data[k] = loop.data[k] + r * loop.strides[k][0];
      for (int d = 0; d < inner.ndim; ++d) inner.strides[k][d] = loop.strides[k][d + 1];
    }
    for (int d = 0; d < inner.ndim; ++d) inner.shape[d] = loop.shape[d + 1];
    for_each_piece(inner, limit, piece);
  }
}

/// Elements and byte spans per strided launch: 32-bit index math stays exact below this.
inline constexpr int64_t kStridedLimit = int64_t{1} << 31;

/// The vector path's arguments for `loop`.
template <class Op>
FlatArgs make_flat_args(const StridedLoop& loop) {
  FlatArgs a{};
  for (int k = 0; k < loop.num_operands; ++k) {
    a.data[k] = loop.data[k];
    a.scalar[k] = loop.strides[k][0] == 0;
  }
  a.numel = loop.numel;
  a.full_chunks = loop.numel / vec_width_v<Op>;
  return a;
}

/// The strided path's arguments for `loop` (which must fit 32-bit index math: for_each_piece).
inline StridedArgs make_strided_args(const StridedLoop& loop) {
  StridedArgs a{};
  a.calc.ndim = loop.ndim;
  a.calc.num_operands = loop.num_operands;
  for (int d = 0; d < loop.ndim; ++d) a.calc.shape[d] = static_cast<uint32_t>(loop.shape[d]);
  for (int k = 0; k < loop.num_operands; ++k) {
    a.data[k] = loop.data[k];
    for (int d = 0; d < loop.ndim; ++d) a.calc.strides[k][d] = loop.strides[k][d];
  }
  a.numel = static_cast<uint32_t>(loop.numel);
  return a;
}

/// Runs `op` over `loop` on the CPU through the same path choice, splitting and per-thread code
/// as the GPU launch (tests run device code this way on machines without a GPU; `loop` holds host
/// pointers; a small `limit` exercises the splitting).
template <class Op>
void emulate_elementwise(const StridedLoop& loop, const Op& op, int64_t limit = kStridedLimit) {
  if (loop.numel == 0) return;
  if (takes_vector_path<Op>(loop)) {
    const FlatArgs a = make_flat_args<Op>(loop);
    const int64_t items = flat_work_items(a, vec_width_v<Op>);
    for (int64_t i = 0; i < items; ++i) flat_work_item(op, a, i);
    return;
  }
  for_each_piece(loop, limit, [&](const StridedLoop& part) {
    const StridedArgs a = make_strided_args(part);
    for (uint32_t i = 0; i < a.numel; ++i) strided_work_item(op, a, i);
  });
}

}  // namespace lamina::kernels::cuda
