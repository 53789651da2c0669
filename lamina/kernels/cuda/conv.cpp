// Convolution on CUDA devices through cuDNN's convolution API (loaded at first use): forward,
// backward-data and backward-filter on NCHW tensors with groups, stride, padding and dilation.
// Descriptors and the algorithm (the first that cuDNN's heuristics rank usable) are cached per
// shape; the workspace comes from the device's caching allocator.
#include "lamina/kernels/conv.h"

#include <cuda_runtime_api.h>

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "lamina/core/dtype.h"
#include "lamina/core/error.h"
#include "lamina/cuda/library_cuda.h"
#include "lamina/cuda/stream.h"
#include "lamina/kernels/cuda/register.h"
#include "lamina/runtime/cuda_flags.h"
#include "lamina/runtime/dispatch.h"

namespace lamina::kernels::cuda {
namespace {

using lamina::cuda::Cudnn;
using lamina::kernels::ConvShape;

enum class Pass { Forward, BackwardData, BackwardFilter };

const char* pass_name(Pass p) {
  return p == Pass::Forward ? "conv2d" : p == Pass::BackwardData ? "conv2d_backward_input" : "conv2d_backward_weight";
}

void check(const Cudnn& dnn, cudnnStatus_t s, Pass pass, const char* what) {
  LAMINA_CHECK(s == CUDNN_STATUS_SUCCESS, KernelError, pass_name(pass), "cuDNN ", what,
               " failed: ", dnn.cudnnGetErrorString(s));
}

struct PlanKey {
  int device;
  Dtype dtype;
  Pass pass;
  bool tf32;
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups;
  auto tie() const {
    return std::tie(device, dtype, pass, tf32, n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups);
  }
  bool operator<(const PlanKey& k) const { return tie() < k.tie(); }
};

// The descriptors of one convolution and the algorithm chosen for one pass.
struct Plan {
  const Cudnn* dnn = nullptr;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;
  size_t workspace = 0;
  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {
    if (dnn == nullptr) return;
    if (x) dnn->cudnnDestroyTensorDescriptor(x);
    if (y) dnn->cudnnDestroyTensorDescriptor(y);
    if (w) dnn->cudnnDestroyFilterDescriptor(w);
    if (conv) dnn->cudnnDestroyConvolutionDescriptor(conv);
  }
};

cudnnDataType_t data_type(Dtype dt) {
  switch (dt) {
    case Dtype::Float16:
      return CUDNN_DATA_HALF;
    case Dtype::BFloat16:
      return CUDNN_DATA_BFLOAT16;
    case Dtype::Float64:
      return CUDNN_DATA_DOUBLE;
    default:
      return CUDNN_DATA_FLOAT;
  }
}

int as_int(int64_t v, Pass pass) {
  LAMINA_CHECK(v <= 0x7fffffff, NotImplementedError, pass_name(pass), "cuDNN takes sizes below 2^31, got ", v);
  return static_cast<int>(v);
}

// The first usable algorithm of a heuristics ranking (perf results sorted best first).
template <class Perf>
const Perf* first_usable(const Perf* perf, int count) {
  for (int i = 0; i < count; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS) return &perf[i];
  return nullptr;
}

// Takes cuDNN's first usable heuristic choice for a pass (Perf: its perf-result type) and sizes its
// workspace; `find(n, &found, perf)` and `workspace(algo, &bytes)` call the pass's cuDNN functions.
template <class Perf, class Find, class Workspace>
void choose_algorithm(const Cudnn& dnn, Pass pass, Plan& plan, Find find, Workspace workspace) {
  constexpr int kMaxAlgos = 16;
  Perf perf[kMaxAlgos];
  int found = 0;
  check(dnn, find(kMaxAlgos, &found, perf), pass, "algorithm heuristic");
  const Perf* best = first_usable(perf, found);
  LAMINA_CHECK(best != nullptr, NotImplementedError, pass_name(pass), "cuDNN has no algorithm for this convolution");
  plan.algo = static_cast<int>(best->algo);
  check(dnn, workspace(best->algo, &plan.workspace), pass, "workspace size");
}

std::unique_ptr<Plan> make_plan(const Cudnn& dnn, cudnnHandle_t handle, const PlanKey& k) {
  auto plan = std::make_unique<Plan>();
  plan->dnn = &dnn;
  const Pass pass = k.pass;
  const cudnnDataType_t type = data_type(k.dtype);
  check(dnn, dnn.cudnnCreateTensorDescriptor(&plan->x), pass, "tensor descriptor");
  check(dnn, dnn.cudnnCreateTensorDescriptor(&plan->y), pass, "tensor descriptor");
  check(dnn, dnn.cudnnCreateFilterDescriptor(&plan->w), pass, "filter descriptor");
  check(dnn, dnn.cudnnCreateConvolutionDescriptor(&plan->conv), pass, "convolution descriptor");
  check(dnn,
        dnn.cudnnSetTensor4dDescriptor(plan->x, CUDNN_TENSOR_NCHW, type, as_int(k.n, pass), as_int(k.c, pass),
                                       as_int(k.h, pass), as_int(k.w, pass)),
        pass, "input descriptor");
  check(dnn,
        dnn.cudnnSetFilter4dDescriptor(plan->w, type, CUDNN_TENSOR_NCHW, as_int(k.o, pass),
                                       as_int(k.c / k.groups, pass), as_int(k.kh, pass), as_int(k.kw, pass)),
        pass, "filter descriptor");
  // Half types accumulate in float (cuDNN's "pseudo half" configuration).
  const cudnnDataType_t compute = k.dtype == Dtype::Float64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  check(dnn,
        dnn.cudnnSetConvolution2dDescriptor(plan->conv, as_int(k.ph, pass), as_int(k.pw, pass), as_int(k.sh, pass),
                                            as_int(k.sw, pass), as_int(k.dh, pass), as_int(k.dw, pass),
                                            CUDNN_CROSS_CORRELATION, compute),
        pass, "convolution descriptor");
  check(dnn, dnn.cudnnSetConvolutionGroupCount(plan->conv, as_int(k.groups, pass)), pass, "group count");
  // float32 stays IEEE float unless TF32 is allowed (the matmul switch governs both).
  const cudnnMathType_t math = k.dtype == Dtype::Float32   ? (k.tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH)
                               : k.dtype == Dtype::Float64 ? CUDNN_DEFAULT_MATH
                                                           : CUDNN_TENSOR_OP_MATH;
  check(dnn, dnn.cudnnSetConvolutionMathType(plan->conv, math), pass, "math type");
  const int64_t out_h = (k.h + 2 * k.ph - (k.dh * (k.kh - 1) + 1)) / k.sh + 1;
  const int64_t out_w = (k.w + 2 * k.pw - (k.dw * (k.kw - 1) + 1)) / k.sw + 1;
  check(dnn,
        dnn.cudnnSetTensor4dDescriptor(plan->y, CUDNN_TENSOR_NCHW, type, as_int(k.n, pass), as_int(k.o, pass),
                                       as_int(out_h, pass), as_int(out_w, pass)),
        pass, "output descriptor");
  if (pass == Pass::Forward) {
    choose_algorithm<cudnnConvolutionFwdAlgoPerf_t>(
        dnn, pass, *plan,
        [&](int n, int* found, auto* perf) {
          return dnn.cudnnGetConvolutionForwardAlgorithm_v7(handle, plan->x, plan->w, plan->conv, plan->y, n, found,
                                                            perf);
        },
        [&](auto algo, size_t* bytes) {
          return dnn.cudnnGetConvolutionForwardWorkspaceSize(handle, plan->x, plan->w, plan->conv, plan->y, algo,
                                                             bytes);
        });
  } else if (pass == Pass::BackwardData) {
    choose_algorithm<cudnnConvolutionBwdDataAlgoPerf_t>(
        dnn, pass, *plan,
        [&](int n, int* found, auto* perf) {
          return dnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, plan->w, plan->y, plan->conv, plan->x, n,
                                                                 found, perf);
        },
        [&](auto algo, size_t* bytes) {
          return dnn.cudnnGetConvolutionBackwardDataWorkspaceSize(handle, plan->w, plan->y, plan->conv, plan->x, algo,
                                                                  bytes);
        });
  } else {
    choose_algorithm<cudnnConvolutionBwdFilterAlgoPerf_t>(
        dnn, pass, *plan,
        [&](int n, int* found, auto* perf) {
          return dnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, plan->x, plan->y, plan->conv, plan->w, n,
                                                                   found, perf);
        },
        [&](auto algo, size_t* bytes) {
          return dnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, plan->x, plan->y, plan->conv, plan->w, algo,
                                                                    bytes);
        });
  }
  return plan;
}

struct DeviceState {
  cudnnHandle_t handle = nullptr;
  std::map<PlanKey, std::unique_ptr<Plan>> plans;
};

constexpr size_t kMaxPlans = 4096;

// Runs one pass: a = the first operand, b = the second, out = the result (see the kernels below).
void run_pass(Dtype dtype, Pass pass, const ConvShape& s, const void* a, const void* b, void* out) {
  const Cudnn& dnn = lamina::cuda::cudnn(pass_name(pass));
  const int device = lamina::cuda::current_device();
  void* stream = lamina::cuda::current_stream(device);
  const PlanKey key{device, dtype,   pass, dtype == Dtype::Float32 && runtime::allow_tf32(),
                    s.n,    s.c,     s.h,  s.w,
                    s.o,    s.kh,    s.kw, s.sh,
                    s.sw,   s.ph,    s.pw, s.dh,
                    s.dw,   s.groups};
  static std::mutex mutex;
  static std::map<int, DeviceState> states;
  const Plan* plan = nullptr;
  cudnnHandle_t handle = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    DeviceState& st = states[device];
    if (st.handle == nullptr) check(dnn, dnn.cudnnCreate(&st.handle), pass, "handle creation");
    handle = st.handle;
    // The handle is shared by the threads of a device; its stream is set under the lock for
    // each call, and the call itself is queued under it too.
    auto it = st.plans.find(key);
    if (it == st.plans.end()) {
      if (st.plans.size() >= kMaxPlans) st.plans.clear();
      it = st.plans.emplace(key, make_plan(dnn, handle, key)).first;
    }
    plan = it->second.get();
    check(dnn, dnn.cudnnSetStream(handle, static_cast<cudaStream_t>(stream)), pass, "set stream");
    lamina::cuda::Workspace ws(device, plan->workspace, stream);
    const float one_f = 1.f, zero_f = 0.f;
    const double one_d = 1.0, zero_d = 0.0;
    const void* alpha = dtype == Dtype::Float64 ? static_cast<const void*>(&one_d) : &one_f;
    const void* beta = dtype == Dtype::Float64 ? static_cast<const void*>(&zero_d) : &zero_f;
    cudnnStatus_t st_run;
    if (pass == Pass::Forward) {
      st_run = dnn.cudnnConvolutionForward(handle, alpha, plan->x, a, plan->w, b, plan->conv,
                                           static_cast<cudnnConvolutionFwdAlgo_t>(plan->algo), ws.get(), ws.size(),
                                           beta, plan->y, out);
    } else if (pass == Pass::BackwardData) {
      st_run = dnn.cudnnConvolutionBackwardData(handle, alpha, plan->w, a, plan->y, b, plan->conv,
                                                static_cast<cudnnConvolutionBwdDataAlgo_t>(plan->algo), ws.get(),
                                                ws.size(), beta, plan->x, out);
    } else {
      st_run = dnn.cudnnConvolutionBackwardFilter(handle, alpha, plan->x, a, plan->y, b, plan->conv,
                                                  static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan->algo), ws.get(),
                                                  ws.size(), beta, plan->w, out);
    }
    check(dnn, st_run, pass, "convolution");
  }
}

template <Dtype D>
struct ConvKernels {
  // The bias and ReLU stay in the op layer on CUDA (ConvShape: CPU features only).
  static bool forward(const ConvShape& s, const void* x, const void* w, const void* bias, void* y) {
    LAMINA_CHECK(bias == nullptr && !s.bias && !s.relu, KernelError, "conv2d",
                 "the cuDNN kernel takes no fused bias or ReLU");
    if (!lamina::cuda::cudnn_available()) return false;
    run_pass(D, Pass::Forward, s, x, w, y);
    return true;
  }
  static void backward_data(const ConvShape& s, const void* w, const void* dy, void* dx) {
    run_pass(D, Pass::BackwardData, s, w, dy, dx);
  }
  static void backward_filter(const ConvShape& s, const void* x, const void* dy, void* dw, void* dbias) {
    LAMINA_CHECK(dbias == nullptr && !s.bias, KernelError, "conv2d", "the cuDNN kernel takes no fused bias gradient");
    run_pass(D, Pass::BackwardFilter, s, x, dy, dw);
  }
};

template <Dtype... Ds>
void register_conv() {
  const runtime::OpId fwd = runtime::op_id(kernels::Op::cudnn_conv2d),
                      bwd_data = runtime::op_id(kernels::Op::cudnn_conv2d_backward_input),
                      bwd_filter = runtime::op_id(kernels::Op::cudnn_conv2d_backward_weight);
  (runtime::register_kernel(fwd, runtime::Backend::Cuda, Ds, reinterpret_cast<void*>(&ConvKernels<Ds>::forward)), ...);
  (runtime::register_kernel(bwd_data, runtime::Backend::Cuda, Ds,
                            reinterpret_cast<void*>(&ConvKernels<Ds>::backward_data)),
   ...);
  (runtime::register_kernel(bwd_filter, runtime::Backend::Cuda, Ds,
                            reinterpret_cast<void*>(&ConvKernels<Ds>::backward_filter)),
   ...);
}

}  // namespace

void register_conv_kernels() { register_conv<Dtype::Float32, Dtype::Float16, Dtype::BFloat16>(); }

}  // namespace lamina::kernels::cuda
