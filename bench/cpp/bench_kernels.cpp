// C++ op and kernel throughput without Python (issue 3, "CPU speed").
//
// BM_kernel_*: the registered elementwise kernel called directly on preallocated buffers (what
//   the kernel layer costs), cpu_scalar (arg 0) vs cpu_simd (arg 1: Highway, best ISA here).
// BM_op_*: the public op end to end (validation, promotion, allocation, dispatch, kernel) on
//   16M float32, bytes/s = bytes read + written; same backend arg.
// BM_softmax: softmax along the last dim of 4096x4096 float32.
// BM_matmul/N: N^3 float32 GEMM through OpenBLAS; the FLOPS counter is 2 N^3 per iteration.
// BM_small_*: the 4-element path (ns per op): lamina::add(x, y), relu, and an empty({4})
//   alone, which is the allocation part of the small op.
//
// Build: cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DLAMINA_BUILD_BENCH=ON
//        ninja -C build/bench lamina_bench
// Run:   build/bench/lamina_bench [--benchmark_filter=op_|softmax|matmul|small]
//        (threads: LAMINA_NUM_THREADS, default the number of cores)
#include <benchmark/benchmark.h>

#include <string>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/lamina.h"
#include "lamina/runtime/blas.h"
#include "lamina/runtime/loops.h"

using namespace lamina;

namespace {

constexpr int64_t kElements = int64_t{1} << 24;  // 16M float32: 64 MiB per operand

const char* backend_of(const benchmark::State& state) { return state.range(0) == 0 ? "cpu_scalar" : "cpu_simd"; }

// Inputs where every op is defined and no fast path for special values kicks in.
Tensor bench_input(int64_t n, uint64_t seed) {
  manual_seed(seed);
  return add(rand({n}), Scalar(0.5));
}

void label(benchmark::State& state) {
  std::string l = backend_of(state);
  if (state.range(0) == 1) l += " (" + runtime::simd_target_name() + ")";
  state.SetLabel(l);
}

// One kernel on preallocated operands: num_inputs inputs, one output, all contiguous float32.
void kernel_bench(benchmark::State& state, const char* op, int num_inputs) {
  runtime::set_backend(backend_of(state));
  const Tensor out = Tensor::empty({kElements});
  const Tensor a = bench_input(kElements, 1), b = bench_input(kElements, 2);
  const kernels::StridedLoop loop =
      num_inputs == 1 ? runtime::make_strided_loop({&out, &a}) : runtime::make_strided_loop({&out, &a, &b});
  auto kernel = runtime::find_kernel<kernels::ElementwiseKernel>(runtime::op_id(op), kCPU, Dtype::Float32);
  const kernels::KernelParams params;
  kernel(loop, params);  // first touch of every page outside the timed loop
  for (auto _ : state) {
    kernel(loop, params);
    benchmark::DoNotOptimize(out.data_ptr());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kElements * static_cast<int64_t>(sizeof(float)) * (num_inputs + 1));
  state.SetItemsProcessed(state.iterations() * kElements);
  label(state);
  runtime::set_backend("cpu_simd");
}

void BM_kernel_add(benchmark::State& state) { kernel_bench(state, "add", 2); }
void BM_kernel_mul(benchmark::State& state) { kernel_bench(state, "mul", 2); }
void BM_kernel_maximum(benchmark::State& state) { kernel_bench(state, "maximum", 2); }
void BM_kernel_exp(benchmark::State& state) { kernel_bench(state, "exp", 1); }
void BM_kernel_log(benchmark::State& state) { kernel_bench(state, "log", 1); }
void BM_kernel_tanh(benchmark::State& state) { kernel_bench(state, "tanh", 1); }
void BM_kernel_sigmoid(benchmark::State& state) { kernel_bench(state, "sigmoid", 1); }
void BM_kernel_relu(benchmark::State& state) { kernel_bench(state, "relu", 1); }

// The public op end to end, fresh output each call (served by the caching allocator).
void BM_op_add(benchmark::State& state) {
  runtime::set_backend(backend_of(state));
  const Tensor a = bench_input(kElements, 1), b = bench_input(kElements, 2);
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b).data_ptr());
  state.SetBytesProcessed(state.iterations() * kElements * static_cast<int64_t>(sizeof(float)) * 3);
  label(state);
  runtime::set_backend("cpu_simd");
}

void BM_op_exp(benchmark::State& state) {
  runtime::set_backend(backend_of(state));
  const Tensor a = bench_input(kElements, 1);
  for (auto _ : state) benchmark::DoNotOptimize(exp(a).data_ptr());
  state.SetBytesProcessed(state.iterations() * kElements * static_cast<int64_t>(sizeof(float)) * 2);
  label(state);
  runtime::set_backend("cpu_simd");
}

void BM_op_mul(benchmark::State& state) {
  runtime::set_backend(backend_of(state));
  const Tensor a = bench_input(kElements, 1), b = bench_input(kElements, 2);
  for (auto _ : state) benchmark::DoNotOptimize(mul(a, b).data_ptr());
  state.SetBytesProcessed(state.iterations() * kElements * static_cast<int64_t>(sizeof(float)) * 3);
  label(state);
  runtime::set_backend("cpu_simd");
}

void BM_op_tanh(benchmark::State& state) {
  runtime::set_backend(backend_of(state));
  const Tensor a = bench_input(kElements, 1);
  for (auto _ : state) benchmark::DoNotOptimize(tanh(a).data_ptr());
  state.SetBytesProcessed(state.iterations() * kElements * static_cast<int64_t>(sizeof(float)) * 2);
  label(state);
  runtime::set_backend("cpu_simd");
}

// Full reductions to a 0-d tensor: bytes read (the 4-byte result is not counted).
void BM_op_sum(benchmark::State& state) {
  runtime::set_backend(backend_of(state));
  const Tensor a = bench_input(kElements, 1);
  for (auto _ : state) benchmark::DoNotOptimize(sum(a).data_ptr());
  state.SetBytesProcessed(state.iterations() * kElements * static_cast<int64_t>(sizeof(float)));
  label(state);
  runtime::set_backend("cpu_simd");
}

void BM_op_amax(benchmark::State& state) {
  runtime::set_backend(backend_of(state));
  const Tensor a = bench_input(kElements, 1);
  for (auto _ : state) benchmark::DoNotOptimize(amax(a).data_ptr());
  state.SetBytesProcessed(state.iterations() * kElements * static_cast<int64_t>(sizeof(float)));
  label(state);
  runtime::set_backend("cpu_simd");
}

// softmax of 4096x4096 along the last dim; bytes = one read + one write of the tensor.
void BM_softmax(benchmark::State& state) {
  runtime::set_backend(backend_of(state));
  constexpr int64_t kSide = 4096;
  const Tensor a = bench_input(kSide * kSide, 1).view({kSide, kSide});
  for (auto _ : state) benchmark::DoNotOptimize(softmax(a, -1).data_ptr());
  state.SetBytesProcessed(state.iterations() * kSide * kSide * static_cast<int64_t>(sizeof(float)) * 2);
  label(state);
  runtime::set_backend("cpu_simd");
}

// Square float32 GEMM; arg = N. FLOPS is reported as a rate (2 N^3 per iteration).
void BM_matmul(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor a = bench_input(n * n, 1).view({n, n}), b = bench_input(n * n, 2).view({n, n});
  benchmark::DoNotOptimize(matmul(a, b).data_ptr());
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b).data_ptr());
  state.counters["FLOPS"] =
      benchmark::Counter(2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n),
                         benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(runtime::simd_target_name());
}

// The small-op path in C++: what remains of the 4-element x + y without the Python binding.
void BM_small_add(benchmark::State& state) {
  const Tensor a = bench_input(4, 1), b = bench_input(4, 2);
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b).data_ptr());
  state.SetItemsProcessed(state.iterations());
}

void BM_small_relu(benchmark::State& state) {
  const Tensor a = bench_input(4, 1);
  for (auto _ : state) benchmark::DoNotOptimize(relu(a).data_ptr());
  state.SetItemsProcessed(state.iterations());
}

void BM_small_empty(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Tensor::empty({4}).data_ptr());
  state.SetItemsProcessed(state.iterations());
}

// A strided (transposed) input: the SIMD kernels gather rows into chunks. 4000 rather than 4096
// so the column walk does not hit the same cache sets over and over (both backends suffer there).
void BM_kernel_exp_transposed(benchmark::State& state) {
  runtime::set_backend(backend_of(state));
  constexpr int64_t kSide = 4000;
  const Tensor a = bench_input(kSide * kSide, 1).view({kSide, kSide}).t();
  const Tensor out = Tensor::empty({kSide, kSide});
  const kernels::StridedLoop loop = runtime::make_strided_loop({&out, &a});
  auto kernel = runtime::find_kernel<kernels::ElementwiseKernel>(runtime::op_id("exp"), kCPU, Dtype::Float32);
  const kernels::KernelParams params;
  kernel(loop, params);
  for (auto _ : state) {
    kernel(loop, params);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kSide * kSide * static_cast<int64_t>(sizeof(float)) * 2);
  label(state);
  runtime::set_backend("cpu_simd");
}

// Arg 0: cpu_scalar, 1: cpu_simd.
#define LAMINA_BENCH(fn) BENCHMARK(fn)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()
LAMINA_BENCH(BM_kernel_add);
LAMINA_BENCH(BM_kernel_mul);
LAMINA_BENCH(BM_kernel_maximum);
LAMINA_BENCH(BM_kernel_exp);
LAMINA_BENCH(BM_kernel_log);
LAMINA_BENCH(BM_kernel_tanh);
LAMINA_BENCH(BM_kernel_sigmoid);
LAMINA_BENCH(BM_kernel_relu);
LAMINA_BENCH(BM_kernel_exp_transposed);
LAMINA_BENCH(BM_op_add);
LAMINA_BENCH(BM_op_exp);
LAMINA_BENCH(BM_op_mul);
LAMINA_BENCH(BM_op_tanh);
LAMINA_BENCH(BM_op_sum);
LAMINA_BENCH(BM_op_amax);
LAMINA_BENCH(BM_softmax);
BENCHMARK(BM_matmul)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_small_add)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_small_relu)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_small_empty)->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
