// The device optimizer updates (lamina/kernels/cuda/optim_math.cuh), run on the CPU, against
// the CPU fused kernels: the same bits after many random steps, every option, every float dtype.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "lamina/kernels/cuda/optim_math.cuh"
#include "lamina/kernels/optim.h"
#include "lamina/lamina.h"
#include "lamina/runtime/loops.h"

using namespace lamina;
using lamina::kernels::OptimArgs;
namespace om = lamina::kernels::cuda::optim_math;

namespace {

constexpr int64_t kN = 257;
constexpr int kSteps = 25;

// Same bits element by element, except that any two NaNs are equal (the device's NaN payloads
// need not be the CPU's; centered RMSprop on random state takes square roots of negatives).
bool same_bits(const Tensor& a, const Tensor& b) {
  const int64_t size = a.element_size();
  const char* pa = static_cast<const char*>(a.data_ptr());
  const char* pb = static_cast<const char*>(b.data_ptr());
  const Tensor da = a.to(Dtype::Float64).contiguous(), db = b.to(Dtype::Float64).contiguous();
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (std::memcmp(pa + i * size, pb + i * size, static_cast<size_t>(size)) == 0) continue;
    if (!(std::isnan(da.data<double>()[i]) && std::isnan(db.data<double>()[i]))) return false;
  }
  return true;
}

// One optimizer configuration: the op, the number of state operands in the loop (0..2), which
// extras are passed (bit k: extra[k]), and the per-step arguments.
struct Case {
  std::string name;
  const char* op;
  int loop_state;
  int extras;
  std::function<OptimArgs(int step)> args;
};

template <class T>
void device_update(const Case& c, const OptimArgs& a, std::vector<Tensor>& t, int64_t i) {
  const auto k = om::make_consts<kernels::cuda::compute_t<T>>(a);
  auto at = [&](int j) { return j < static_cast<int>(t.size()) ? reinterpret_cast<T*>(t[j].data_ptr()) + i : nullptr; };
  // t: param, grad, loop state..., extra0, extra1
  T* p = at(0);
  const T* g = at(1);
  T* s2 = c.loop_state > 0 ? at(2) : nullptr;
  T* s3 = c.loop_state > 1 ? at(3) : nullptr;
  T* x0 = (c.extras & 1) ? at(2 + c.loop_state) : nullptr;
  T* x1 = (c.extras & 2) ? at(3 + c.loop_state) : nullptr;
  const std::string op = c.op;
  if (op == "sgd_step")
    om::sgd_update<T>(k, p, g, s2);
  else if (op == "adam_step")
    om::adam_update<T>(k, p, g, s2, s3, x0);
  else if (op == "rmsprop_step")
    om::rmsprop_update<T>(k, p, g, s2, x0, x1);
  else
    om::adagrad_update<T>(k, p, g, s2);
}

void run_case(const Case& c, Dtype dt) {
  SCOPED_TRACE(c.name + " " + std::string(dtype_name(dt)));
  manual_seed(1234);
  const int n_tensors = 4 + c.loop_state;
  std::vector<Tensor> cpu_t, dev_t;
  for (int j = 0; j < n_tensors; ++j) {
    Tensor v = j < 2 ? randn({kN}, {dt}) : rand({kN}, {dt});
    if (j == 0) {  // a few special parameters: zero, negative zero, large
      Tensor f = v.to(Dtype::Float32).contiguous();
      f.data<float>()[0] = 0.0f;
      f.data<float>()[1] = -0.0f;
      f.data<float>()[2] = 300.0f;
      v = f.to(dt).contiguous();
    }
    cpu_t.push_back(v.clone());
    dev_t.push_back(v.clone());
  }
  auto kernel = runtime::find_kernel<kernels::OptimKernel>(runtime::op_id(c.op), kCPU, dt);
  for (int step = 1; step <= kSteps; ++step) {
    Tensor g = randn({kN}, {dt});
    copy_(cpu_t[1], g);
    copy_(dev_t[1], g);
    OptimArgs a = c.args(step);
    std::vector<const Tensor*> ops;
    for (int j = 0; j < 2 + c.loop_state; ++j) ops.push_back(&cpu_t[j]);
    kernels::StridedLoop loop = ops.size() == 2   ? runtime::make_strided_loop({ops[0], ops[1]})
                                : ops.size() == 3 ? runtime::make_strided_loop({ops[0], ops[1], ops[2]})
                                                  : runtime::make_strided_loop({ops[0], ops[1], ops[2], ops[3]});
    OptimArgs ca = a;
    ca.base0 = static_cast<const char*>(cpu_t[0].data_ptr());
    for (int x = 0; x < 2; ++x)
      if (c.extras & (1 << x)) ca.extra[x] = static_cast<char*>(cpu_t[2 + c.loop_state + x].data_ptr());
    kernel(loop, ca);
    kernels::cuda::visit_storage(dt, [&](auto s) {
      using T = decltype(s);
      if constexpr (std::is_floating_point_v<kernels::cuda::compute_t<T>>)  // the optimizers take float dtypes
        for (int64_t i = 0; i < kN; ++i) device_update<T>(c, a, dev_t, i);
    });
    for (int j = 0; j < n_tensors; ++j) {
      if (j == 1) continue;
      ASSERT_TRUE(same_bits(cpu_t[j], dev_t[j]))
          << "operand " << j << " differs after step " << step << "\ncpu " << cpu_t[j] << "\ndevice " << dev_t[j];
    }
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (bool nesterov : {false, true}) {
    for (double wd : {0.0, 0.01}) {
      out.push_back({"sgd momentum nesterov=" + std::to_string(nesterov) + " wd=" + std::to_string(wd), "sgd_step", 1,
                     0, [=](int step) {
                       OptimArgs a;
                       a.lr = 0.05;
                       a.momentum = 0.9;
                       a.dampening = nesterov ? 0.0 : 0.1;
                       a.weight_decay = wd;
                       a.nesterov = nesterov;
                       a.init_buffer = step == 1;
                       return a;
                     }});
    }
  }
  out.push_back({"sgd plain maximize", "sgd_step", 0, 0, [](int) {
                   OptimArgs a;
                   a.lr = 0.1;
                   a.maximize = true;
                   a.weight_decay = 1e-3;
                   return a;
                 }});
  for (bool decoupled : {false, true}) {
    for (bool amsgrad : {false, true}) {
      out.push_back({std::string(decoupled ? "adamw" : "adam") + " amsgrad=" + std::to_string(amsgrad), "adam_step", 2,
                     amsgrad ? 1 : 0, [=](int step) {
                       OptimArgs a;
                       const double lr = 1e-2, b1 = 0.9, b2 = 0.999, t = step;
                       a.beta1 = b1;
                       a.beta2 = b2;
                       a.eps = 1e-8;
                       a.amsgrad = amsgrad;
                       a.step_size = lr / (1 - std::pow(b1, t));
                       a.bc2_sqrt = std::sqrt(1 - std::pow(b2, t));
                       a.weight_decay = decoupled ? 0.0 : 0.01;
                       a.param_decay = decoupled ? 1 - lr * 0.05 : 1.0;
                       a.maximize = amsgrad && !decoupled;
                       return a;
                     }});
    }
  }
  for (bool centered : {false, true}) {
    for (bool momentum : {false, true}) {
      out.push_back({"rmsprop centered=" + std::to_string(centered) + " momentum=" + std::to_string(momentum),
                     "rmsprop_step", 1, (momentum ? 1 : 0) | (centered ? 2 : 0), [=](int) {
                       OptimArgs a;
                       a.lr = 1e-2;
                       a.alpha = 0.99;
                       a.eps = 1e-8;
                       a.momentum = momentum ? 0.9 : 0.0;
                       a.centered = centered;
                       a.weight_decay = centered ? 0.01 : 0.0;
                       return a;
                     }});
    }
  }
  out.push_back({"adagrad", "adagrad_step", 1, 0, [](int step) {
                   OptimArgs a;
                   a.eps = 1e-10;
                   a.weight_decay = 0.01;
                   a.step_size = 0.1 / (1 + (step - 1) * 0.01);
                   return a;
                 }});
  return out;
}

}  // namespace

TEST(CudaOptimMath, MatchesCpuKernelsBitForBit) {
  for (const Case& c : cases())
    for (Dtype dt : {Dtype::Float32, Dtype::Float64, Dtype::Float16, Dtype::BFloat16}) run_case(c, dt);
}
