#pragma once
// Vector building blocks that the reduction and softmax kernels (reduce.cpp, softmax.cpp) call
// for contiguous runs of float32/float64 data. They are defined in simd_reduce.cpp, compiled
// once per SIMD target by Highway, and dispatch to the best target of the running CPU (or the
// one forced by set_simd_target). All are pure functions of their arguments: safe to call from
// several threads at once.
#include <cstdint>

namespace lamina::kernels::cpu::simd {

/// Elements per block of the deterministic sum pattern (reduce.cpp's kBlock).
inline constexpr int64_t kSumBlock = 1024;
/// Interleaved accumulators per block (reduce.cpp's kLanes).
inline constexpr int kSumLanes = 32;

/// What reduce_blocks folds: sum of x, product of x, or sum of exp(x - c).
enum BlockKind : int { kBlockSum, kBlockProd, kBlockSumExp };

/// out[b] = the fold of block b of p[0, n) (blocks of kSumBlock, the last one partial): within
/// a block, element j goes to accumulator j % kSumLanes (in order), and the accumulators are
/// joined ((0+1)+(2+3))+((4+5)+(6+7)). For kBlockSum/kBlockProd this is bit for bit what
/// reduce.cpp's scalar cascade computes, on every SIMD target.
void reduce_blocks(int kind, const float* p, int64_t n, float c, float* out);
/// float64 reduce_blocks.
void reduce_blocks(int kind, const double* p, int64_t n, double c, double* out);

/// Max (is_max) or min of p[0, n) (-inf / +inf when n == 0); *nan is set when any is NaN.
float extreme_row(bool is_max, const float* p, int64_t n, bool* nan);
/// float64 extreme_row.
double extreme_row(bool is_max, const double* p, int64_t n, bool* nan);

/// Index of the first element equal to target (the first NaN when target is NaN), or -1.
int64_t find_first(const float* p, int64_t n, float target);
/// float64 find_first.
int64_t find_first(const double* p, int64_t n, double target);

/// Softmax (or log_softmax) of the contiguous line x[0, n) into y (may alias x): max-subtracted,
/// NaN throughout when the line holds a NaN or +inf or only -inf (as the scalar kernel). With
/// `lse`, the line's logsumexp goes there as well (NaN in the NaN cases).
void softmax_line(const float* x, float* y, int64_t n, bool log_form, float* lse = nullptr);
/// float64 softmax_line.
void softmax_line(const double* x, double* y, int64_t n, bool log_form, double* lse = nullptr);

}  // namespace lamina::kernels::cpu::simd
