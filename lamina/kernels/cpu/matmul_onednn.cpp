// bfloat16 matrix products on the CPU through oneDNN's matmul primitive: bf16 operands, float32
// accumulation, one rounding to bf16 at the end (what PyTorch's CPU autocast computes). On CPUs
// with AVX512_BF16 oneDNN runs them on the bf16 dot-product instructions; elsewhere it converts
// internally. The runtime's pool splits the work (launch_gemm) and each call runs oneDNN on the
// calling thread, so oneDNN's OpenMP team is held to one thread here. Primitives are cached per
// geometry (sizes and element strides); batch entries share one and differ only in pointers.
// Pool threads run one primitive at once, so each brings its own scratchpad (onednn_scratch.h).
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "lamina/core/dtype.h"
#include "lamina/core/error.h"
#include "lamina/kernels/cpu/onednn_scratch.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/kernels/loops.h"
#include "lamina/kernels/op.h"
#include "lamina/runtime/dispatch.h"

extern "C" void omp_set_num_threads(int n);

namespace lamina::kernels::cpu {
namespace {

using dnnl::memory;
using Dims = memory::dims;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

struct MatmulPlan {
  dnnl::matmul prim;
  memory::desc a, b, c, scratch;
};

const MatmulPlan& plan_for(const GemmLoop& g, int64_t ldc) {
  static std::mutex mutex;
  static std::map<Key, std::unique_ptr<MatmulPlan>> plans;
  constexpr size_t kMaxPlans = 1024;
  // Strides of a size-1 dim do not matter; fixing them keeps equal geometries one key.
  const int64_t a_rs = g.m == 1 ? g.k : g.a_rs, a_cs = g.k == 1 ? 1 : g.a_cs;
  const int64_t b_rs = g.k == 1 ? g.n : g.b_rs, b_cs = g.n == 1 ? 1 : g.b_cs;
  const Key key{g.m, g.n, g.k, a_rs, a_cs, b_rs, b_cs, ldc};
  std::lock_guard<std::mutex> lock(mutex);
  auto it = plans.find(key);
  if (it == plans.end()) {
    if (plans.size() >= kMaxPlans) plans.clear();
    constexpr memory::data_type bf16 = memory::data_type::bf16;
    auto plan = std::make_unique<MatmulPlan>();
    plan->a = memory::desc(Dims{g.m, g.k}, bf16, Dims{a_rs, a_cs});
    plan->b = memory::desc(Dims{g.k, g.n}, bf16, Dims{b_rs, b_cs});
    plan->c = memory::desc(Dims{g.m, g.n}, bf16, Dims{ldc, 1});
    const dnnl::matmul::desc desc(plan->a, plan->b, plan->c);
    const dnnl::matmul::primitive_desc pd(desc, onednn_user_scratchpad(), engine());
    plan->prim = dnnl::matmul(pd);
    plan->scratch = pd.scratchpad_desc();
    it = plans.emplace(key, std::move(plan)).first;
  }
  return *it->second;
}

void matmul_bf16(const GemmLoop& g, const KernelParams&) {
  LAMINA_CHECK(!g.accumulate, KernelError, "matmul", "the bfloat16 kernel does not accumulate into C");
  if (g.batch == 0 || g.m == 0 || g.n == 0) return;
  const int64_t ldc = g.c_rs ? g.c_rs : g.n;
  try {
    omp_set_num_threads(1);  // this thread's setting: the pool already splits the product
    const MatmulPlan& p = plan_for(g, ldc);
    dnnl::stream stream(engine());
    memory scratch = onednn_scratchpad(p.scratch, engine());
    for (int64_t b = 0; b < g.batch; ++b) {
      memory a(p.a, engine(), const_cast<char*>(g.a + g.a_offsets[b]));
      memory bm(p.b, engine(), const_cast<char*>(g.b + g.b_offsets[b]));
      memory c(p.c, engine(), g.c + b * g.m * g.n * static_cast<int64_t>(sizeof(BFloat16)));
      p.prim.execute(stream,
                     {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, c}, {DNNL_ARG_SCRATCHPAD, scratch}});
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    LAMINA_THROW(KernelError, "matmul", "oneDNN bfloat16 matmul (", g.m, " x ", g.k, " @ ", g.k, " x ", g.n,
                 ") failed: ", e.what(), " (status ", static_cast<int>(e.status), ")");
  }
}

}  // namespace

void register_onednn_matmul_kernels() {
  runtime::register_kernel(runtime::op_id(Op::matmul), runtime::Backend::CpuScalar, Dtype::BFloat16,
                           reinterpret_cast<void*>(static_cast<GemmKernel>(&matmul_bf16)));
}

}  // namespace lamina::kernels::cpu
