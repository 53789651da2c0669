// Which backends this build has, and the errors a missing one gives (the engine's library was
// not found when lamina was built: cmake/distributed.cmake).
#include "lamina/distributed/process_group.h"

namespace lamina::distributed {

bool backend_available(const std::string& backend) {
  if (backend == "gloo") return true;
#if LAMINA_HAVE_MPI
  if (backend == "mpi") return true;
#endif
#if LAMINA_HAVE_NCCL
  if (backend == "nccl") return true;
#endif
  return false;
}

#if !LAMINA_HAVE_MPI
std::shared_ptr<ProcessGroup> make_mpi_group(const std::vector<int>&, const ProcessGroupOptions&) {
  LAMINA_THROW(NotImplementedError, "init_process_group",
               "this lamina was built without MPI (install libopenmpi-dev and rebuild), use backend='gloo'");
}
#endif

#if !LAMINA_HAVE_NCCL
std::shared_ptr<ProcessGroup> make_nccl_group(std::shared_ptr<Store>, int, int, const ProcessGroupOptions&) {
  LAMINA_THROW(NotImplementedError, "init_process_group",
               "this lamina was built without NCCL (a CUDA build links it), use backend='gloo' for CPU tensors");
}
#endif

}  // namespace lamina::distributed
