// Reduction and scan kernels.
//
// Floating reductions that add or multiply (sum, mean, prod, var, norm, logsumexp) follow one
// fixed pattern over each output's reduced elements, taken in logical (row-major) order:
// blocks of kBlock elements, each folded into kLanes interleaved accumulators that are joined
// as a balanced tree, and the block results joined pairwise like a binary counter. The pattern
// depends only on how many elements are reduced, never on strides, on which of the two walks
// below runs, or on how the runtime splits the outputs across threads, so results are
// reproducible bit for bit; the rounding error grows with log(n), not n, and the lanes let the
// compiler vectorize. (A runtime that one day splits a single output's elements across threads
// keeps the results by cutting at multiples of kBlock * 2^k and joining in the counter's order.)
// Integer sums and products wrap modulo 2^64 and are exact in any order; max/min/all/any do
// not depend on order.
//
// The cpu_simd kernels (float32/float64 sum, mean, prod, max/min with indices, logsumexp) at
// the end of this file use the same walks with vector inner loops (simd_reduce.cpp); they are
// pure functions of the ReduceLoop they get (no mutable state), so the runtime may hand
// disjoint sub-loops to several threads at once.
//
// Two walks: one output at a time (good when each output's elements are contiguous), or a tile
// of up to kTile outputs that sit next to each other in memory, reduced side by side (good for
// column reductions such as x.sum(0), where one output's elements are far apart).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/kernels/cpu/simd.h"
#include "lamina/kernels/reduce_table.h"
#include "lamina/runtime/loops.h"

namespace lamina::kernels::cpu {
namespace {

using kernels::LineLoop;

constexpr int kLanes = 32;        // four AVX2 float vectors: four independent chains per block
constexpr int64_t kBlock = 1024;  // a multiple of kLanes; each lane adds 32 elements in a row
constexpr int kTile = 64;
static_assert(kLanes == simd::kSumLanes && kBlock == simd::kSumBlock, "simd_reduce.cpp folds the same blocks");

template <class T>
constexpr bool is_float_v = std::is_floating_point_v<compute_t<T>>;

template <class T>
inline compute_t<T> load(const char* p) {
  return static_cast<compute_t<T>>(*reinterpret_cast<const T*>(p));
}

template <class C>
inline bool is_nan(C v) {
  if constexpr (std::is_floating_point_v<C>)
    return std::isnan(v);
  else
    return false;
}

struct Add {
  template <class A>
  A operator()(A a, A b) const {
    return a + b;
  }
};
struct Mul {
  template <class A>
  A operator()(A a, A b) const {
    return a * b;
  }
};

// Element maps: called as map(v) by the single-output walk and map(v, w) by the tile walk
// (w: the output's place in the tile, for maps with per-output state).
template <class F>
struct SameForAll {
  F f;
  template <class A>
  A operator()(A v) const {
    return f(v);
  }
  template <class A>
  A operator()(A v, int) const {
    return f(v);
  }
};
template <class F>
SameForAll<F> same_for_all(F f) {
  return {f};
}
inline auto identity_map() {
  return same_for_all([](auto v) { return v; });
}

// Joins N accumulators as a balanced tree: (first half) combined with (second half).
template <int N, class A, class Combine>
inline A join_tree(const A* acc, const Combine& comb) {
  if constexpr (N == 1)
    return acc[0];
  else
    return comb(join_tree<N / 2>(acc, comb), join_tree<N / 2>(acc + N / 2, comb));
}
template <class A, class Combine>
inline A join_lanes(const A* acc, const Combine& comb) {
  return join_tree<kLanes>(acc, comb);
}

// Joins block results pairwise: a block's result meets its neighbour's as soon as both exist.
template <class A>
class PairwiseStack {
 public:
  template <class Combine>
  void push(A v, const Combine& comb) {
    int k = 0;
    for (; (count_ >> k) & 1u; ++k) v = comb(level_[k], v);
    level_[k] = v;
    ++count_;
  }
  template <class Combine>
  A result(A identity, const Combine& comb) const {
    if (count_ == 0) return identity;
    int k = 63;
    while (!((count_ >> k) & 1u)) --k;
    A r = level_[k];
    for (--k; k >= 0; --k)
      if ((count_ >> k) & 1u) r = comb(r, level_[k]);
    return r;
  }

 private:
  A level_[64];
  uint64_t count_ = 0;
};

// Byte offsets of one output's reduced elements, in logical order.
class ReduceWalk {
 public:
  explicit ReduceWalk(const ReduceLoop& loop) : loop_(loop) {}
  int64_t offset() const { return offset_; }
  void next() {
    for (int d = loop_.reduce_ndim - 1; d >= 0; --d) {
      offset_ += loop_.in_reduce_strides[d];
      if (++idx_[d] < loop_.reduce_shape[d]) return;
      offset_ -= loop_.in_reduce_strides[d] * loop_.reduce_shape[d];
      idx_[d] = 0;
    }
  }

 private:
  const ReduceLoop& loop_;
  int64_t offset_ = 0;
  int64_t idx_[kMaxDims] = {0};
};

// Calls row(p, n, stride) for each innermost row of one output's reduced elements.
template <class Row>
inline void for_each_reduced_row(const ReduceLoop& loop, const char* in, Row&& row) {
  if (loop.reduce_numel == 0) return;
  if (loop.reduce_ndim == 0) {
    row(in, int64_t{1}, int64_t{0});
    return;
  }
  const int inner = loop.reduce_ndim - 1;
  const int64_t n = loop.reduce_shape[inner], s = loop.in_reduce_strides[inner];
  int64_t idx[kMaxDims] = {0};
  for (int64_t r = loop.reduce_numel / n; r > 0; --r) {
    row(in, n, s);
    for (int d = inner - 1; d >= 0; --d) {
      in += loop.in_reduce_strides[d];
      if (++idx[d] < loop.reduce_shape[d]) break;
      in -= loop.in_reduce_strides[d] * loop.reduce_shape[d];
      idx[d] = 0;
    }
  }
}

// Folds blocks of the cascade: blocks(p, n, out) writes the result of each block of p[0, n)
// (blocks of kBlock, the last one partial) to out. ScalarBlocks is the portable fold; the
// cpu_simd kernels pass SimdBlocks, which gives the same bits for the sums and products.
template <class A, class Map, class Combine>
struct ScalarBlocks {
  A identity;
  const Map& map;
  const Combine& comb;
  void operator()(const A* __restrict__ p, int64_t n, A* out) const {
    for (int64_t b = 0; b * kBlock < n; ++b) {
      const A* q = p + b * kBlock;
      const int64_t m = std::min(kBlock, n - b * kBlock);
      A acc[kLanes];
      for (int l = 0; l < kLanes; ++l) acc[l] = identity;
      int64_t j = 0;
      for (; j + kLanes <= m; j += kLanes)
        for (int l = 0; l < kLanes; ++l) acc[l] = comb(acc[l], map(q[j + l]));
      for (int l = 0; j + l < m; ++l) acc[l] = comb(acc[l], map(q[j + l]));
      out[b] = join_lanes(acc, comb);
    }
  }
};
template <class A, class Map, class Combine>
ScalarBlocks<A, Map, Combine> scalar_blocks(A identity, const Map& map, const Combine& comb) {
  return {identity, map, comb};
}

// The vector fold of simd_reduce.cpp (float/double): kind is a simd::BlockKind, c its constant.
template <class A>
struct SimdBlocks {
  int kind;
  A c;
  void operator()(const A* p, int64_t n, A* out) const { simd::reduce_blocks(kind, p, n, c, out); }
};

// Full contiguous blocks handed to the fold at once (so a vector fold can run several side by side).
constexpr int64_t kBlocksAtOnce = 16;

// The cascade for one output: blocks gathered (converted to A) from the input unless they are
// contiguous and already of type A.
template <class T, class A, class Blocks, class Combine>
A cascade(const ReduceLoop& loop, const char* in, A identity, const Blocks& blocks, const Combine& comb) {
  PairwiseStack<A> stack;
  A buf[kBlock];
  int64_t filled = 0;
  auto flush = [&](const A* p, int64_t m) {
    A r;
    blocks(p, m, &r);
    stack.push(r, comb);
  };
  for_each_reduced_row(loop, in, [&](const char* p, int64_t n, int64_t s) {
    int64_t i = 0;
    while (i < n) {
      if constexpr (std::is_same_v<T, A>) {
        if (filled == 0 && s == static_cast<int64_t>(sizeof(T)) && n - i >= kBlock) {
          const int64_t count = std::min(kBlocksAtOnce, (n - i) / kBlock);
          A results[kBlocksAtOnce];
          blocks(reinterpret_cast<const A*>(p) + i, count * kBlock, results);
          for (int64_t b = 0; b < count; ++b) stack.push(results[b], comb);
          i += count * kBlock;
          continue;
        }
      }
      const int64_t take = std::min(kBlock - filled, n - i);
      // Rows shorter than a block (or off its boundary, as every row after a first that is not
      // a multiple of kBlock) fill it a contiguous row piece at a time where they can.
      bool copied = false;
      if constexpr (std::is_same_v<T, A>) {
        copied = s == static_cast<int64_t>(sizeof(T));
        if (copied) std::memcpy(buf + filled, p + i * s, static_cast<size_t>(take) * sizeof(T));
      }
      if (!copied)
        for (int64_t j = 0; j < take; ++j) buf[filled + j] = static_cast<A>(load<T>(p + (i + j) * s));
      filled += take;
      i += take;
      if (filled == kBlock) {
        flush(buf, kBlock);
        filled = 0;
      }
    }
  });
  if (filled > 0) flush(buf, filled);
  return stack.result(identity, comb);
}

// The same cascade for `count` <= kTile outputs whose elements start at in + w * sizeof(T)
// (w < count), the tile's outputs sharing one walk; lanes run across the tile. result[w] gets
// exactly what cascade() would give for output w alone.
template <class T, bool kFull, class A, class Map, class Combine>
void cascade_tile(const ReduceLoop& loop, const char* in, int count, A identity, const Map& map, const Combine& comb,
                  A* result) {
  const int width = kFull ? kTile : count;
  PairwiseStack<A> stacks[kTile];
  ReduceWalk walk(loop);
  for (int64_t remaining = loop.reduce_numel; remaining > 0;) {
    const int64_t m = std::min(kBlock, remaining);
    remaining -= m;
    A acc[kLanes][kTile];
    for (int l = 0; l < kLanes; ++l)
      for (int w = 0; w < kTile; ++w) acc[l][w] = identity;
    for (int64_t j = 0; j < m; ++j) {
      const T* row = reinterpret_cast<const T*>(in + walk.offset());
      A* a = acc[j % kLanes];
      for (int w = 0; w < width; ++w) a[w] = comb(a[w], map(static_cast<A>(static_cast<compute_t<T>>(row[w])), w));
      walk.next();
    }
    for (int w = 0; w < width; ++w) {
      A lanes[kLanes];
      for (int l = 0; l < kLanes; ++l) lanes[l] = acc[l][w];
      stacks[w].push(join_lanes(lanes, comb), comb);
    }
  }
  for (int w = 0; w < width; ++w) result[w] = stacks[w].result(identity, comb);
}

// Walks the outputs one at a time (single(out, in)) or, when neighbouring outputs read
// neighbouring inputs and one output's inputs are not contiguous, in tiles
// (tile(out, out_step, in, count) for `count` outputs at out + w * out_step).
template <class T, class Single, class Tile>
void for_each_output_or_tile(const ReduceLoop& loop, Single&& single, Tile&& tile) {
  const int last = loop.outer_ndim - 1;
  const bool tiles = last >= 0 && loop.in_outer_strides[last] == static_cast<int64_t>(sizeof(T)) &&
                     loop.reduce_ndim > 0 &&
                     loop.in_reduce_strides[loop.reduce_ndim - 1] != static_cast<int64_t>(sizeof(T));
  if (!tiles) {
    for_each_output(loop, [&](char* out, char*, const char* in) { single(out, in); });
    return;
  }
  const int64_t n = loop.outer_shape[last], out_step = loop.out_strides[last];
  int64_t idx[kMaxDims] = {0};
  const char* in = loop.in;
  char* out = loop.out;
  for (int64_t g = loop.outer_numel / n; g > 0; --g) {
    for (int64_t t = 0; t < n; t += kTile)
      tile(out + t * out_step, out_step, in + t * static_cast<int64_t>(sizeof(T)),
           static_cast<int>(std::min<int64_t>(kTile, n - t)));
    for (int d = last - 1; d >= 0; --d) {
      in += loop.in_outer_strides[d];
      out += loop.out_strides[d];
      if (++idx[d] < loop.outer_shape[d]) break;
      in -= loop.in_outer_strides[d] * loop.outer_shape[d];
      out -= loop.out_strides[d] * loop.outer_shape[d];
      idx[d] = 0;
    }
  }
}

// Runs cascade_tile with the tile width fixed at compile time when the tile is full.
template <class T, class A, class Map, class Combine>
void cascade_tile_any(const ReduceLoop& loop, const char* in, int count, A identity, const Map& map,
                      const Combine& comb, A* result) {
  if (count == kTile)
    cascade_tile<T, true>(loop, in, count, identity, map, comb, result);
  else
    cascade_tile<T, false>(loop, in, count, identity, map, comb, result);
}

// A cascade reduction written as T: out = finish(cascade of map(x)), by either walk; `blocks`
// folds the blocks of the one-output walk (the tile walk folds with map and comb).
template <class T, class A, class Map, class Combine, class Finish, class Blocks>
void cascade_outputs(const ReduceLoop& loop, A identity, const Map& map, const Combine& comb, const Finish& finish,
                     const Blocks& blocks) {
  for_each_output_or_tile<T>(
      loop,
      [&](char* out, const char* in) {
        *reinterpret_cast<T*>(out) = static_cast<T>(finish(cascade<T>(loop, in, identity, blocks, comb)));
      },
      [&](char* out, int64_t step, const char* in, int count) {
        A r[kTile];
        cascade_tile_any<T>(loop, in, count, identity, map, comb, r);
        for (int w = 0; w < count; ++w) *reinterpret_cast<T*>(out + w * step) = static_cast<T>(finish(r[w]));
      });
}

// cascade_outputs with the portable block fold.
template <class T, class A, class Map, class Combine, class Finish>
void cascade_outputs(const ReduceLoop& loop, A identity, const Map& map, const Combine& comb, const Finish& finish) {
  cascade_outputs<T>(loop, identity, map, comb, finish, scalar_blocks(identity, map, comb));
}

// sum (params.i == 0), mean (1) or prod (2). Floating T accumulates in compute_t<T> (float for
// the 16-bit types) and writes T; bool/integer T writes int64.
template <class T>
struct SumKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    if constexpr (is_float_v<T>) {
      using A = compute_t<T>;
      const A count = static_cast<A>(loop.reduce_numel);
      auto same = [](A r) { return r; };
      if (params.i == 2)
        cascade_outputs<T>(loop, A(1), identity_map(), Mul{}, same);
      else if (params.i == 1)
        cascade_outputs<T>(loop, A(0), identity_map(), Add{}, [count](A r) { return r / count; });
      else
        cascade_outputs<T>(loop, A(0), identity_map(), Add{}, same);
    } else {
      const bool product = params.i == 2;
      for_each_output(loop, [&](char* out, char*, const char* in) {
        uint64_t acc = product ? 1 : 0;
        if (product)
          for_each_reduced<T>(loop, in, [&](T v) { acc *= static_cast<uint64_t>(static_cast<int64_t>(v)); });
        else
          for_each_reduced<T>(loop, in, [&](T v) { acc += static_cast<uint64_t>(static_cast<int64_t>(v)); });
        *reinterpret_cast<int64_t*>(out) = static_cast<int64_t>(acc);
      });
    }
  }
};

// Max (kMax) or min of one output's elements; a NaN wins. Exact, so any order will do: kLanes
// running extremes over contiguous rows, with NaN tracked on the side.
template <class T, bool kMax>
compute_t<T> extreme_value(const ReduceLoop& loop, const char* in) {
  using C = compute_t<T>;
  using L = std::numeric_limits<C>;
  const C start = L::has_infinity ? (kMax ? -L::infinity() : L::infinity()) : (kMax ? L::lowest() : L::max());
  auto better = [](C a, C v) { return (kMax ? v > a : v < a) ? v : a; };
  C acc[kLanes];
  for (int l = 0; l < kLanes; ++l) acc[l] = start;
  bool nan = false;
  for_each_reduced_row(loop, in, [&](const char* p, int64_t n, int64_t s) {
    int64_t i = 0;
    if (s == static_cast<int64_t>(sizeof(T))) {
      const T* q = reinterpret_cast<const T*>(p);
      for (; i + kLanes <= n; i += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
          const C v = static_cast<C>(q[i + l]);
          acc[l] = better(acc[l], v);
          nan |= is_nan(v);
        }
      }
    }
    for (; i < n; ++i) {
      const C v = load<T>(p + i * s);
      acc[0] = better(acc[0], v);
      nan |= is_nan(v);
    }
  });
  if (nan) return L::quiet_NaN();
  C r = acc[0];
  for (int l = 1; l < kLanes; ++l) r = better(r, acc[l]);
  return r;
}

// Position (in the flattened reduced dims) of the first element equal to `target` (or the
// first NaN when target is NaN).
template <class T>
int64_t first_index_of(const ReduceLoop& loop, const char* in, compute_t<T> target) {
  const bool want_nan = is_nan(target);
  int64_t base = 0, found = -1;
  for_each_reduced_row(loop, in, [&](const char* p, int64_t n, int64_t s) {
    if (found >= 0) return;
    for (int64_t i = 0; i < n; ++i) {
      const compute_t<T> v = load<T>(p + i * s);
      if (want_nan ? is_nan(v) : v == target) {
        found = base + i;
        return;
      }
    }
    base += n;
  });
  return found;
}

// Max (params.i == 0) or min (1), writing values and, when out2 is set, the int64 index of the
// first extreme element in the flattened reduced dims. A NaN is the extreme, like PyTorch.
template <class T>
struct ExtremeKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    const bool want_max = params.i == 0;
    for_each_output(loop, [&](char* out, char* out2, const char* in) {
      const compute_t<T> best = want_max ? extreme_value<T, true>(loop, in) : extreme_value<T, false>(loop, in);
      *reinterpret_cast<T*>(out) = static_cast<T>(best);
      if (out2) *reinterpret_cast<int64_t*>(out2) = first_index_of<T>(loop, in, best);
    });
  }
};

// Variance with correction params.a, in double: the mean, then the sum of squared deviations
// (two cascades); params.i == 1 takes the square root. Like PyTorch, the divisor is
// max(n - correction, 0).
template <class T>
struct VarKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    const double n = static_cast<double>(loop.reduce_numel);
    const double divisor = n > params.a ? n - params.a : 0.0;
    const bool take_sqrt = params.i == 1;
    auto finish = [&](double ss) {
      const double var = ss / divisor;
      return static_cast<compute_t<T>>(take_sqrt ? std::sqrt(var) : var);
    };
    for_each_output_or_tile<T>(
        loop,
        [&](char* out, const char* in) {
          const double mean = cascade<T>(loop, in, 0.0, scalar_blocks(0.0, identity_map(), Add{}), Add{}) / n;
          const auto dev = same_for_all([mean](double v) { return (v - mean) * (v - mean); });
          *reinterpret_cast<T*>(out) =
              static_cast<T>(finish(cascade<T>(loop, in, 0.0, scalar_blocks(0.0, dev, Add{}), Add{})));
        },
        [&](char* out, int64_t step, const char* in, int count) {
          double mean[kTile], ss[kTile];
          cascade_tile_any<T>(loop, in, count, 0.0, identity_map(), Add{}, mean);
          for (int w = 0; w < count; ++w) mean[w] /= n;
          auto dev = [&mean](double v, int w) { return (v - mean[w]) * (v - mean[w]); };
          cascade_tile_any<T>(loop, in, count, 0.0, dev, Add{}, ss);
          for (int w = 0; w < count; ++w) *reinterpret_cast<T*>(out + w * step) = static_cast<T>(finish(ss[w]));
        });
  }
};

// log(sum(exp(x - max))) + max, in compute_t<T>.
template <class T>
struct LogSumExpKernel {
  static void run(const ReduceLoop& loop, const KernelParams&) {
    using A = compute_t<T>;
    for_each_output(loop, [&](char* out, char*, const char* in) {
      const A m = extreme_value<T, true>(loop, in);
      A r = m;  // all -inf, any +inf, or NaN: the max already is the answer
      if (std::isfinite(m)) {
        const auto shifted_exp = same_for_all([m](A v) { return std::exp(v - m); });
        r = m + std::log(cascade<T>(loop, in, A(0), scalar_blocks(A(0), shifted_exp, Add{}), Add{}));
      }
      *reinterpret_cast<T*>(out) = static_cast<T>(r);
    });
  }
};

// Vector p-norm with p = params.a, in compute_t<T>: inf / -inf (max / min of |x|; the runtime
// rejects empty reductions), 0 (count of nonzeros), 1, 2 and any other p.
template <class T>
struct NormKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    using A = compute_t<T>;
    const double p = params.a;
    const A zero(0);
    if (std::isinf(p)) {
      for_each_output(loop, [&](char* out, char*, const char* in) {
        A acc = p > 0 ? zero : std::numeric_limits<A>::infinity();
        bool nan = false;
        for_each_reduced<T>(loop, in, [&](T v) {
          const A a = std::fabs(static_cast<A>(v));
          nan |= std::isnan(a);
          acc = p > 0 ? std::max(acc, a) : std::min(acc, a);
        });
        *reinterpret_cast<T*>(out) = static_cast<T>(nan ? std::numeric_limits<A>::quiet_NaN() : acc);
      });
      return;
    }
    auto same = [](A r) { return r; };
    if (p == 0) {
      cascade_outputs<T>(loop, zero, same_for_all([](A v) { return v != A(0) ? A(1) : A(0); }), Add{}, same);
    } else if (p == 1) {
      cascade_outputs<T>(loop, zero, same_for_all([](A v) { return std::fabs(v); }), Add{}, same);
    } else if (p == 2) {
      cascade_outputs<T>(loop, zero, same_for_all([](A v) { return v * v; }), Add{}, [](A r) { return std::sqrt(r); });
    } else {
      const A pa = static_cast<A>(p), inv = A(1) / pa;
      cascade_outputs<T>(loop, zero, same_for_all([pa](A v) { return std::pow(std::fabs(v), pa); }), Add{},
                         [inv](A r) { return std::pow(r, inv); });
    }
  }
};

// all (params.i == 0) / any (1): a bool output, true where all / any elements are nonzero.
template <class T>
struct AllAnyKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    const bool any = params.i == 1;
    for_each_output(loop, [&](char* out, char*, const char* in) {
      bool found = false;  // an element that decides the result (zero for all, nonzero for any)
      for_each_reduced<T>(loop, in, [&](T v) { found |= (static_cast<compute_t<T>>(v) != compute_t<T>(0)) == any; });
      *reinterpret_cast<bool*>(out) = any ? found : !found;
    });
  }
};

// Inclusive scan along lines: params.i == 0 sum, 1 product. Floating T accumulates in double
// and writes T; bool/integer T wraps in 64 bits and writes int64.
template <class T>
struct CumulativeKernel {
  static void run(const LineLoop& loop, const KernelParams& params) {
    const bool product = params.i == 1;
    kernels::for_each_line(loop, [&](const char* in, char* out, char*) {
      if constexpr (is_float_v<T>) {
        double acc = product ? 1.0 : 0.0;
        for (int64_t j = 0; j < loop.n; ++j) {
          const double v = load<T>(in + j * loop.in_stride);
          acc = product ? acc * v : acc + v;
          *reinterpret_cast<T*>(out + j * loop.out_stride) = static_cast<T>(static_cast<compute_t<T>>(acc));
        }
      } else {
        uint64_t acc = product ? 1 : 0;
        for (int64_t j = 0; j < loop.n; ++j) {
          const uint64_t v =
              static_cast<uint64_t>(static_cast<int64_t>(*reinterpret_cast<const T*>(in + j * loop.in_stride)));
          acc = product ? acc * v : acc + v;
          *reinterpret_cast<int64_t*>(out + j * loop.out_stride) = static_cast<int64_t>(acc);
        }
      }
    });
  }
};

// ---- cpu_simd variants (float32/float64): the same walks with the vector inner loops of
// simd_reduce.cpp. sum/mean/prod give the scalar kernels' bits exactly (same block pattern);
// max/min/argmax/argmin give the same values (exact operations) and first indices.

// sum (params.i == 0), mean (1) or prod (2) with vector block folds.
template <class T>
struct SumSimdKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    const T count = static_cast<T>(loop.reduce_numel);
    auto same = [](T r) { return r; };
    if (params.i == 2)
      cascade_outputs<T>(loop, T(1), identity_map(), Mul{}, same, SimdBlocks<T>{simd::kBlockProd, T(0)});
    else if (params.i == 1)
      cascade_outputs<T>(
          loop, T(0), identity_map(), Add{}, [count](T r) { return r / count; }, SimdBlocks<T>{simd::kBlockSum, T(0)});
    else
      cascade_outputs<T>(loop, T(0), identity_map(), Add{}, same, SimdBlocks<T>{simd::kBlockSum, T(0)});
  }
};

// extreme_value with contiguous rows folded by the vector code.
template <class T, bool kMax>
T extreme_value_simd(const ReduceLoop& loop, const char* in) {
  T acc = kMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  bool nan = false;
  auto take = [&](T v) { acc = (kMax ? v > acc : v < acc) ? v : acc; };
  for_each_reduced_row(loop, in, [&](const char* p, int64_t n, int64_t s) {
    if (s == static_cast<int64_t>(sizeof(T)) && n > 1) {
      bool row_nan = false;
      take(simd::extreme_row(kMax, reinterpret_cast<const T*>(p), n, &row_nan));
      nan |= row_nan;
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      const T v = *reinterpret_cast<const T*>(p + i * s);
      nan |= std::isnan(v);
      take(v);
    }
  });
  return nan ? std::numeric_limits<T>::quiet_NaN() : acc;
}

template <class T>
int64_t first_index_of_simd(const ReduceLoop& loop, const char* in, T target) {
  int64_t base = 0, found = -1;
  for_each_reduced_row(loop, in, [&](const char* p, int64_t n, int64_t s) {
    if (found >= 0) return;
    if (s == static_cast<int64_t>(sizeof(T))) {
      const int64_t i = simd::find_first(reinterpret_cast<const T*>(p), n, target);
      if (i >= 0) found = base + i;
    } else {
      const bool want_nan = std::isnan(target);
      for (int64_t i = 0; i < n && found < 0; ++i) {
        const T v = *reinterpret_cast<const T*>(p + i * s);
        if (want_nan ? std::isnan(v) : v == target) found = base + i;
      }
    }
    base += n;
  });
  return found;
}

// Max (params.i == 0) or min (1), with the first index when out2 is set; a NaN wins.
template <class T>
struct ExtremeSimdKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    const bool want_max = params.i == 0;
    for_each_output(loop, [&](char* out, char* out2, const char* in) {
      const T best = want_max ? extreme_value_simd<T, true>(loop, in) : extreme_value_simd<T, false>(loop, in);
      *reinterpret_cast<T*>(out) = best;
      if (out2) *reinterpret_cast<int64_t*>(out2) = first_index_of_simd<T>(loop, in, best);
    });
  }
};

// log(sum(exp(x - max))) + max with vector max and vector exp folds (the blocks' order as
// the scalar kernel; exp itself within 1 ulp of libm's, so the last bits may differ).
template <class T>
struct LogSumExpSimdKernel {
  static void run(const ReduceLoop& loop, const KernelParams&) {
    for_each_output(loop, [&](char* out, char*, const char* in) {
      const T m = extreme_value_simd<T, true>(loop, in);
      T r = m;  // all -inf, any +inf, or NaN: the max already is the answer
      if (std::isfinite(m)) r = m + std::log(cascade<T>(loop, in, T(0), SimdBlocks<T>{simd::kBlockSumExp, m}, Add{}));
      *reinterpret_cast<T*>(out) = r;
    });
  }
};

}  // namespace

void register_reduce_kernels() {
  using runtime::Backend;
  register_each<SumSimdKernel, float, double>(Op::sum, Backend::CpuSimd);
  register_each<ExtremeSimdKernel, float, double>(Op::extreme, Backend::CpuSimd);
  register_each<LogSumExpSimdKernel, float, double>(Op::logsumexp, Backend::CpuSimd);
#define LAMINA_CPU_REGISTER_REDUCE(op, Kernel, types) register_each<Kernel, LAMINA_##types##_TYPES>(Op::op);
  LAMINA_REDUCE_TABLE(LAMINA_CPU_REGISTER_REDUCE)
#undef LAMINA_CPU_REGISTER_REDUCE
}

}  // namespace lamina::kernels::cpu
