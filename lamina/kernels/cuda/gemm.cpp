// GEMM on CUDA devices through cuBLASLt (loaded at first use): the row-major product maps onto
// a column-major one (gemm_layout.h), uniform batches run as one strided-batched call, others
// as one call per entry. Descriptors and the heuristic's algorithm are cached per shape.
#include <cuda_runtime_api.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "lamina/core/dtype.h"
#include "lamina/core/error.h"
#include "lamina/cuda/library_cuda.h"
#include "lamina/cuda/stream.h"
#include "lamina/kernels/cuda/gemm_layout.h"
#include "lamina/kernels/cuda/register.h"
#include "lamina/kernels/loops.h"
#include "lamina/runtime/cuda_flags.h"
#include "lamina/runtime/dispatch.h"
#include "lamina/runtime/loops.h"

namespace lamina::kernels::cuda {
namespace {

using lamina::cuda::CublasLt;
using lamina::cuda::LtGemm;

// cuBLASLt's own recommendation for Hopper; enough for every algorithm it returns on Ampere.
constexpr size_t kWorkspaceBytes = size_t{32} << 20;

const char* status_text(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "not supported by this GPU";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "execution failed";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "not supported";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "internal error";
    default:
      return "error";
  }
}

void check(cublasStatus_t s, const char* what) {
  LAMINA_CHECK(s == CUBLAS_STATUS_SUCCESS, KernelError, "matmul", "cuBLASLt ", what, " failed: ", status_text(s),
               " (status ", static_cast<int>(s), ")");
}

// Everything that selects descriptors and an algorithm.
struct PlanKey {
  int device;
  Dtype dtype;
  bool tf32;
  bool ta, tb;
  int64_t m, n, k, lda, ldb, ldc;
  int64_t batch, stride_a, stride_b;
  int align_a, align_b, align_c;
  auto tie() const {
    return std::tie(device, dtype, tf32, ta, tb, m, n, k, lda, ldb, ldc, batch, stride_a, stride_b, align_a, align_b,
                    align_c);
  }
  bool operator<(const PlanKey& o) const { return tie() < o.tie(); }
};

// The descriptors of one shape and the algorithm the heuristic chose for them.
struct Plan {
  const CublasLt* lt = nullptr;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  size_t workspace = 0;
  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {
    if (lt == nullptr) return;
    if (a) lt->cublasLtMatrixLayoutDestroy(a);
    if (b) lt->cublasLtMatrixLayoutDestroy(b);
    if (c) lt->cublasLtMatrixLayoutDestroy(c);
    if (desc) lt->cublasLtMatmulDescDestroy(desc);
  }
};

cudaDataType_t data_type(Dtype dt) {
  switch (dt) {
    case Dtype::Float16:
      return CUDA_R_16F;
    case Dtype::BFloat16:
      return CUDA_R_16BF;
    case Dtype::Float64:
      return CUDA_R_64F;
    default:
      return CUDA_R_32F;
  }
}

// The largest power of two up to 16 dividing every address of an operand.
int alignment(const char* base, const int64_t* offsets, int64_t count, int64_t stride_bytes, bool uniform) {
  auto align_of = [](uintptr_t p) {
    int a = 16;
    while (a > 1 && p % static_cast<uintptr_t>(a) != 0) a /= 2;
    return a;
  };
  int a = align_of(reinterpret_cast<uintptr_t>(base) + static_cast<uintptr_t>(offsets[0]));
  if (uniform) return std::min(a, align_of(static_cast<uintptr_t>(stride_bytes == 0 ? 16 : stride_bytes)));
  for (int64_t i = 1; i < count; ++i)
    a = std::min(a, align_of(reinterpret_cast<uintptr_t>(base) + static_cast<uintptr_t>(offsets[i])));
  return a;
}

cublasLtMatrixLayout_t make_layout(const CublasLt& lt, cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld,
                                   int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t layout = nullptr;
  check(lt.cublasLtMatrixLayoutCreate(&layout, type, static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), ld),
        "matrix layout");
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    check(lt.cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
          "batch count");
    check(lt.cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                              sizeof(stride)),
          "batch stride");
  }
  return layout;
}

std::unique_ptr<Plan> make_plan(const CublasLt& lt, cublasLtHandle_t handle, const PlanKey& key) {
  auto plan = std::make_unique<Plan>();
  plan->lt = &lt;
  const cudaDataType_t type = data_type(key.dtype);
  const bool f64 = key.dtype == Dtype::Float64;
  const cublasComputeType_t compute = f64        ? CUBLAS_COMPUTE_64F
                                      : key.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                 : CUBLAS_COMPUTE_32F;
  check(lt.cublasLtMatmulDescCreate(&plan->desc, compute, f64 ? CUDA_R_64F : CUDA_R_32F), "matmul descriptor");
  const cublasOperation_t ta = key.ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb = key.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  check(lt.cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)), "transa");
  check(lt.cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)), "transb");
  plan->a = make_layout(lt, type, key.ta ? key.k : key.m, key.ta ? key.m : key.k, key.lda, key.batch, key.stride_a);
  plan->b = make_layout(lt, type, key.tb ? key.n : key.k, key.tb ? key.k : key.n, key.ldb, key.batch, key.stride_b);
  plan->c = make_layout(lt, type, key.m, key.n, key.ldc, key.batch, key.m * key.n);

  cublasLtMatmulPreference_t pref = nullptr;
  check(lt.cublasLtMatmulPreferenceCreate(&pref), "preference");
  const uint64_t ws = kWorkspaceBytes;
  const uint32_t al_a = static_cast<uint32_t>(key.align_a), al_b = static_cast<uint32_t>(key.align_b),
                 al_c = static_cast<uint32_t>(key.align_c);
  cublasStatus_t s =
      lt.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  if (s == CUBLAS_STATUS_SUCCESS)
    s = lt.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a, sizeof(al_a));
  if (s == CUBLAS_STATUS_SUCCESS)
    s = lt.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b, sizeof(al_b));
  if (s == CUBLAS_STATUS_SUCCESS)
    s = lt.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_c, sizeof(al_c));
  if (s == CUBLAS_STATUS_SUCCESS)
    s = lt.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_c, sizeof(al_c));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  if (s == CUBLAS_STATUS_SUCCESS)
    s = lt.cublasLtMatmulAlgoGetHeuristic(handle, plan->desc, plan->a, plan->b, plan->c, plan->c, pref, 1, &result,
                                          &found);
  lt.cublasLtMatmulPreferenceDestroy(pref);
  check(s, "algorithm heuristic");
  LAMINA_CHECK(found > 0, NotImplementedError, "matmul", "cuBLASLt has no algorithm for a ", dtype_name(key.dtype),
               " product of (", key.n, " x ", key.k, ") @ (", key.k, " x ", key.m, ") with batch ", key.batch);
  plan->algo = result.algo;
  plan->workspace = result.workspaceSize;
  return plan;
}

// One cuBLASLt handle per device and the plans made with it.
struct DeviceState {
  cublasLtHandle_t handle = nullptr;
  std::map<PlanKey, std::unique_ptr<Plan>> plans;
};

// Plans are few (one per distinct shape); a program that cycles through endless shapes starts over.
constexpr size_t kMaxPlans = 4096;

void run_gemm(Dtype dtype, const kernels::GemmLoop& g) {
  const CublasLt& lt = lamina::cuda::cublaslt("matmul");
  const auto layout = lamina::cuda::lt_layout(g.m, g.n, g.k, g.a_rs, g.a_cs, g.b_rs, g.b_cs);
  LAMINA_CHECK(layout.has_value(), NotImplementedError, "matmul",
               "CUDA operands need a unit row or column stride; got strides (", g.a_rs, ", ", g.a_cs, ") and (", g.b_rs,
               ", ", g.b_cs, ")");
  const LtGemm& L = *layout;
  const int device = lamina::cuda::current_device();
  void* stream = lamina::cuda::current_stream(device);
  const int64_t esize = static_cast<int64_t>(itemsize(dtype));
  int64_t sa = 0, sb = 0;
  const bool uniform = lamina::cuda::uniform_offsets(g.a_offsets, g.batch, sa) &&
                       lamina::cuda::uniform_offsets(g.b_offsets, g.batch, sb) && sa % esize == 0 && sb % esize == 0;
  const int64_t calls = uniform ? 1 : g.batch;
  // cuBLASLt's first operand is B, its second A (gemm_layout.h).
  const int64_t no_offset = 0;
  PlanKey key{device,
              dtype,
              dtype == Dtype::Float32 && runtime::allow_tf32(),
              L.a.trans,
              L.b.trans,
              L.m,
              L.n,
              L.k,
              L.a.ld,
              L.b.ld,
              L.ldc,
              uniform ? g.batch : 1,
              uniform ? sb / esize : 0,
              uniform ? sa / esize : 0,
              alignment(g.b, g.b_offsets, g.batch, sb, uniform),
              alignment(g.a, g.a_offsets, g.batch, sa, uniform),
              alignment(g.c, &no_offset, 1, g.m * g.n * esize, true)};
  static std::mutex mutex;
  static std::map<int, DeviceState> states;
  const Plan* plan = nullptr;
  cublasLtHandle_t handle = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    DeviceState& st = states[device];
    if (st.handle == nullptr) check(lt.cublasLtCreate(&st.handle), "handle creation");
    handle = st.handle;
    auto it = st.plans.find(key);
    if (it == st.plans.end()) {
      if (st.plans.size() >= kMaxPlans) st.plans.clear();
      it = st.plans.emplace(key, make_plan(lt, handle, key)).first;
    }
    plan = it->second.get();
  }
  lamina::cuda::Workspace ws(device, plan->workspace, stream);
  const float one_f = 1.0f, zero_f = 0.0f;
  const double one_d = 1.0, zero_d = 0.0;
  const void* alpha = dtype == Dtype::Float64 ? static_cast<const void*>(&one_d) : &one_f;
  const void* beta = dtype == Dtype::Float64 ? static_cast<const void*>(g.accumulate ? &one_d : &zero_d)
                                             : (g.accumulate ? &one_f : &zero_f);
  const int64_t c_bytes = g.m * g.n * esize;
  for (int64_t i = 0; i < calls; ++i) {
    const char* a = g.a + g.a_offsets[i];
    const char* b = g.b + g.b_offsets[i];
    char* c = g.c + i * c_bytes;
    check(lt.cublasLtMatmul(handle, plan->desc, alpha, b, plan->a, a, plan->b, beta, c, plan->c, c, plan->c,
                            &plan->algo, ws.get(), ws.size(), static_cast<cudaStream_t>(stream)),
          "matmul");
  }
}

template <Dtype D>
struct MatmulKernel {
  static void run(const kernels::GemmLoop& g, const kernels::KernelParams&) { run_gemm(D, g); }
};

template <Dtype... Ds>
void register_matmul() {
  const runtime::OpId id = runtime::op_id(kernels::Op::matmul);
  (runtime::register_kernel(id, runtime::Backend::Cuda, Ds, reinterpret_cast<void*>(&MatmulKernel<Ds>::run)), ...);
}

}  // namespace

void register_gemm_kernels() { register_matmul<Dtype::Float32, Dtype::Float64, Dtype::Float16, Dtype::BFloat16>(); }

}  // namespace lamina::kernels::cuda
