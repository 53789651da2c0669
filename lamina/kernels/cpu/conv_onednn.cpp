// 2-d convolution on the CPU through oneDNN (float32, and bfloat16 with float32 accumulation for
// autocast): the forward and the data and weight passes of the backward, for contiguous NCHW tensors. oneDNN picks its
// own blocked layouts (format "any") and the tensors are reordered in and out around each primitive, as PyTorch's CPU
// convolution does; primitives are cached per shape. The bias is the primitive's own argument (its gradient the weights
// pass's diff_bias) and a following ReLU an eltwise post-op (ConvShape::bias / relu), so neither costs a pass of its
// own over the output. LAMINA_ONEDNN=0 turns the path off (the forward reports "not run"
// and ops/conv.cpp takes its im2col + GEMM path), for comparing.
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "lamina/core/dtype.h"
#include "lamina/core/error.h"
#include "lamina/kernels/conv.h"
#include "lamina/kernels/cpu/onednn_scratch.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/kernels/op.h"
#include "lamina/runtime/config.h"
#include "lamina/runtime/dispatch.h"

// oneDNN runs its loops on OpenMP (Debian builds it so); its team follows lamina's thread count.
extern "C" void omp_set_num_threads(int n);

namespace lamina::kernels::cpu {
namespace {

using dnnl::memory;
using Dims = memory::dims;
using Tag = memory::format_tag;

enum class Pass { Forward, BackwardData, BackwardWeights };

bool enabled() {
  static const bool on = [] {
    const char* v = std::getenv("LAMINA_ONEDNN");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return on;
}

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

using Key = std::tuple<int, int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool>;

Key key_of(Pass pass, memory::data_type dt, const ConvShape& s) {
  return {static_cast<int>(pass),
          static_cast<int>(dt),
          s.n,
          s.c,
          s.h,
          s.w,
          s.o,
          s.kh,
          s.kw,
          s.sh,
          s.sw,
          s.ph,
          s.pw,
          s.dh,
          s.dw,
          s.groups,
          s.bias,
          s.relu};
}

// The primitive of one pass and shape, with the layouts it computes in and the plain ones the
// caller's tensors have.
struct Plan {
  dnnl::primitive prim;
  memory::desc src, weights, dst;  // the primitive's layouts (diff_* for the backward)
  memory::desc plain_src, plain_weights, plain_dst;
  memory::desc bias;  // (o), plain, with ConvShape::bias (diff_bias in the weights pass)
  memory::desc scratch;
};

Plan make_plan(Pass pass, memory::data_type kF32, const ConvShape& s) {
  const Dims src{s.n, s.c, s.h, s.w}, dst{s.n, s.o, s.oh, s.ow};
  const Dims weights =
      s.groups == 1 ? Dims{s.o, s.c, s.kh, s.kw} : Dims{s.groups, s.o / s.groups, s.c / s.groups, s.kh, s.kw};
  const Dims strides{s.sh, s.sw}, dilates{s.dh - 1, s.dw - 1}, pad_l{s.ph, s.pw};
  // The right / bottom padding that makes oneDNN's output size the one computed (floor division
  // may leave part of the last window unused).
  const Dims pad_r{(s.oh - 1) * s.sh + (s.kh - 1) * s.dh + 1 - s.h - s.ph,
                   (s.ow - 1) * s.sw + (s.kw - 1) * s.dw + 1 - s.w - s.pw};
  const memory::desc any_src(src, kF32, Tag::any), any_w(weights, kF32, Tag::any), any_dst(dst, kF32, Tag::any);
  Plan p;
  p.plain_src = memory::desc(src, kF32, Tag::nchw);
  p.plain_weights = memory::desc(weights, kF32, s.groups == 1 ? Tag::oihw : Tag::goihw);
  p.plain_dst = memory::desc(dst, kF32, Tag::nchw);
  if (s.bias) p.bias = memory::desc({s.o}, kF32, Tag::x);
  const dnnl::algorithm algo = dnnl::algorithm::convolution_direct;
  const dnnl::convolution_forward::desc fwd_desc =
      s.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, any_src, any_w, p.bias, any_dst,
                                               strides, dilates, pad_l, pad_r)
             : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, any_src, any_w, any_dst,
                                               strides, dilates, pad_l, pad_r);
  const dnnl::primitive_attr attr = onednn_user_scratchpad();
  dnnl::primitive_attr fwd_attr = onednn_user_scratchpad();
  if (s.relu && pass == Pass::Forward) {  // the ReLU as a post-op on the output, in oneDNN's layout
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    fwd_attr.set_post_ops(ops);
  }
  const dnnl::convolution_forward::primitive_desc fwd(fwd_desc, pass == Pass::Forward ? fwd_attr : attr, engine());
  if (pass == Pass::Forward) {
    p.prim = dnnl::convolution_forward(fwd);
    p.scratch = fwd.scratchpad_desc();
    p.src = fwd.src_desc();
    p.weights = fwd.weights_desc();
    p.dst = fwd.dst_desc();
  } else if (pass == Pass::BackwardData) {
    const dnnl::convolution_backward_data::desc d(algo, any_src, any_w, any_dst, strides, dilates, pad_l, pad_r);
    const dnnl::convolution_backward_data::primitive_desc pd(d, attr, engine(), fwd);
    p.prim = dnnl::convolution_backward_data(pd);
    p.scratch = pd.scratchpad_desc();
    p.src = pd.diff_src_desc();
    p.weights = pd.weights_desc();
    p.dst = pd.diff_dst_desc();
  } else {
    const dnnl::convolution_backward_weights::desc d =
        s.bias
            ? dnnl::convolution_backward_weights::desc(algo, any_src, any_w, p.bias, any_dst, strides, dilates, pad_l,
                                                       pad_r)
            : dnnl::convolution_backward_weights::desc(algo, any_src, any_w, any_dst, strides, dilates, pad_l, pad_r);
    const dnnl::convolution_backward_weights::primitive_desc pd(d, attr, engine(), fwd);
    p.prim = dnnl::convolution_backward_weights(pd);
    p.scratch = pd.scratchpad_desc();
    p.src = pd.src_desc();
    p.weights = pd.diff_weights_desc();
    p.dst = pd.diff_dst_desc();
  }
  return p;
}

const Plan& plan_for(Pass pass, memory::data_type dt, const ConvShape& s) {
  static std::mutex mutex;
  static std::map<Key, std::unique_ptr<Plan>> plans;
  constexpr size_t kMaxPlans = 1024;
  std::lock_guard<std::mutex> lock(mutex);
  const Key key = key_of(pass, dt, s);
  auto it = plans.find(key);
  if (it == plans.end()) {
    if (plans.size() >= kMaxPlans) plans.clear();  // shapes keep changing: start over
    it = plans.emplace(key, std::make_unique<Plan>(make_plan(pass, dt, s))).first;
  }
  return *it->second;
}

// The caller's buffer as the primitive's layout: itself when the layouts agree, else a reordered
// copy in this thread's buffer for `slot` (`copy_in` false: an output, reordered out by finish()).
memory as_layout(dnnl::stream& stream, OnednnSlot slot, const memory::desc& plain, const memory::desc& want, void* data,
                 bool copy_in) {
  memory user(plain, engine(), data);
  if (plain == want) return user;
  memory m = onednn_reorder_buffer(slot, want, engine());
  if (copy_in) dnnl::reorder(user, m).execute(stream, user, m);
  return m;
}

void finish(dnnl::stream& stream, const memory& result, const memory::desc& plain, void* data) {
  if (result.get_desc() == plain) return;
  memory user(plain, engine(), data);
  dnnl::reorder(result, user).execute(stream, const_cast<memory&>(result), user);
}

// `bias`: the forward's bias (o), or the weights pass's bias gradient, with ConvShape::bias.
void run(Pass pass, memory::data_type dt, const ConvShape& s, const void* a, const void* b, void* out,
         void* bias = nullptr) {
  try {
    omp_set_num_threads(num_threads());  // the calling thread's setting; costs a store
    const Plan& p = plan_for(pass, dt, s);
    dnnl::stream stream(engine());
    memory scratch = onednn_scratchpad(p.scratch, engine());
    if (pass == Pass::Forward) {  // a = x, b = weight, out = y
      memory x = as_layout(stream, OnednnSlot::Source, p.plain_src, p.src, const_cast<void*>(a), true);
      memory w = as_layout(stream, OnednnSlot::Weights, p.plain_weights, p.weights, const_cast<void*>(b), true);
      memory y = as_layout(stream, OnednnSlot::Destination, p.plain_dst, p.dst, out, false);
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}, {DNNL_ARG_SCRATCHPAD, scratch}};
      if (s.bias) args.emplace(DNNL_ARG_BIAS, memory(p.bias, engine(), bias));
      p.prim.execute(stream, args);
      finish(stream, y, p.plain_dst, out);
    } else if (pass == Pass::BackwardData) {  // a = weight, b = dy, out = dx
      memory w = as_layout(stream, OnednnSlot::Weights, p.plain_weights, p.weights, const_cast<void*>(a), true);
      memory dy = as_layout(stream, OnednnSlot::Destination, p.plain_dst, p.dst, const_cast<void*>(b), true);
      memory dx = as_layout(stream, OnednnSlot::Source, p.plain_src, p.src, out, false);
      p.prim.execute(
          stream,
          {{DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dx}, {DNNL_ARG_SCRATCHPAD, scratch}});
      finish(stream, dx, p.plain_src, out);
    } else {  // a = x, b = dy, out = dweight
      memory x = as_layout(stream, OnednnSlot::Source, p.plain_src, p.src, const_cast<void*>(a), true);
      memory dy = as_layout(stream, OnednnSlot::Destination, p.plain_dst, p.dst, const_cast<void*>(b), true);
      memory dw = as_layout(stream, OnednnSlot::Weights, p.plain_weights, p.weights, out, false);
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dw}, {DNNL_ARG_SCRATCHPAD, scratch}};
      if (s.bias) args.emplace(DNNL_ARG_DIFF_BIAS, memory(p.bias, engine(), bias));
      p.prim.execute(stream, args);
      finish(stream, dw, p.plain_weights, out);
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    LAMINA_THROW(KernelError, "conv2d", "oneDNN ",
                 pass == Pass::Forward        ? "forward"
                 : pass == Pass::BackwardData ? "backward (data)"
                                              : "backward (weights)",
                 " failed: ", e.what(), " (status ", static_cast<int>(e.status), ")");
  }
}

template <memory::data_type DT>
bool forward(const ConvShape& s, const void* x, const void* w, const void* bias, void* y) {
  if (!enabled()) return false;
  run(Pass::Forward, DT, s, x, w, y, const_cast<void*>(bias));
  return true;
}

template <memory::data_type DT>
void backward_data(const ConvShape& s, const void* w, const void* dy, void* dx) {
  run(Pass::BackwardData, DT, s, w, dy, dx);
}

template <memory::data_type DT>
void backward_weights(const ConvShape& s, const void* x, const void* dy, void* dw, void* dbias) {
  run(Pass::BackwardWeights, DT, s, x, dy, dw, dbias);
}

template <memory::data_type DT>
void register_for(Dtype dtype) {
  using runtime::Backend;
  runtime::register_kernel(runtime::op_id(Op::cudnn_conv2d), Backend::CpuScalar, dtype,
                           reinterpret_cast<void*>(static_cast<ConvForwardKernel>(&forward<DT>)));
  runtime::register_kernel(runtime::op_id(Op::cudnn_conv2d_backward_input), Backend::CpuScalar, dtype,
                           reinterpret_cast<void*>(static_cast<ConvBackwardDataKernel>(&backward_data<DT>)));
  runtime::register_kernel(runtime::op_id(Op::cudnn_conv2d_backward_weight), Backend::CpuScalar, dtype,
                           reinterpret_cast<void*>(static_cast<ConvBackwardFilterKernel>(&backward_weights<DT>)));
}

}  // namespace

void register_onednn_conv_kernels() {
  register_for<memory::data_type::f32>(Dtype::Float32);
  register_for<memory::data_type::bf16>(Dtype::BFloat16);
}

}  // namespace lamina::kernels::cpu
