// The MPI backend (OpenMPI from Debian): the job's ranks are MPI_COMM_WORLD's, launched by
// mpirun / srun; a subgroup is a communicator made from a group of them. MPI's predefined
// reductions for the dtypes MPI has, user operations (the combine step of reduce_fn.cpp) for
// float16 and bfloat16. MPI runs in MPI_THREAD_MULTIPLE: collectives run on the group's worker
// thread while point-to-point transfers are posted from the caller's. Errors come back as
// return codes (MPI_ERRORS_RETURN) and become DistributedError; MPI has no timeouts, so a rank
// that dies ends the job through mpirun.
#include <mpi.h>

#include <climits>
#include <cstring>
#include <map>
#include <mutex>

#include "lamina/distributed/process_group.h"
#include "lamina/distributed/reduce_fn.h"

namespace lamina::distributed {

namespace {

void check(int rc, const char* op, int rank) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  LAMINA_THROW(DistributedError, op, "rank ", rank, ": MPI error: ", std::string(text, static_cast<size_t>(len)));
}

void ensure_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    int done = 0;
    MPI_Initialized(&done);
    if (!done) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "init_process_group", -1);
      LAMINA_CHECK(provided >= MPI_THREAD_MULTIPLE, DistributedError, "init_process_group",
                   "this MPI does not support MPI_THREAD_MULTIPLE (provided level ", provided, ")");
      std::atexit([] {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
      });
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  });
}

MPI_Datatype datatype_of(Dtype dt) {
  switch (dt) {
    case Dtype::Bool:
    case Dtype::UInt8:
      return MPI_UINT8_T;
    case Dtype::Int8:
      return MPI_INT8_T;
    case Dtype::Int32:
      return MPI_INT32_T;
    case Dtype::Int64:
      return MPI_INT64_T;
    case Dtype::Float16:
    case Dtype::BFloat16:
      return MPI_UINT16_T;  // reduced by user operations
    case Dtype::Float32:
      return MPI_FLOAT;
    case Dtype::Float64:
      return MPI_DOUBLE;
  }
  return MPI_BYTE;
}

// A user operation per (16-bit float dtype, op): MPI's callback has no context argument, so
// each is its own function.
template <Dtype DT, ReduceOp OP>
void user_combine(void* in, void* inout, int* len, MPI_Datatype*) {
  reduce_function(DT, OP)(inout, in, inout, static_cast<size_t>(*len));
}

template <Dtype DT>
MPI_User_function* user_function(ReduceOp op) {
  switch (op) {
    case ReduceOp::SUM:
    case ReduceOp::AVG:
      return &user_combine<DT, ReduceOp::SUM>;
    case ReduceOp::PRODUCT:
      return &user_combine<DT, ReduceOp::PRODUCT>;
    case ReduceOp::MIN:
      return &user_combine<DT, ReduceOp::MIN>;
    case ReduceOp::MAX:
      return &user_combine<DT, ReduceOp::MAX>;
  }
  return nullptr;
}

MPI_Op op_of(Dtype dt, ReduceOp op) {
  if (dt == Dtype::Float16 || dt == Dtype::BFloat16) {
    static std::mutex mutex;
    static std::map<std::pair<int, int>, MPI_Op> made;
    std::lock_guard<std::mutex> lock(mutex);
    auto key = std::make_pair(static_cast<int>(dt), static_cast<int>(op));
    auto it = made.find(key);
    if (it != made.end()) return it->second;
    MPI_Op created;
    MPI_User_function* fn =
        dt == Dtype::Float16 ? user_function<Dtype::Float16>(op) : user_function<Dtype::BFloat16>(op);
    check(MPI_Op_create(fn, 1, &created), "all_reduce", -1);
    made.emplace(key, created);
    return created;
  }
  switch (op) {
    case ReduceOp::SUM:
    case ReduceOp::AVG:
      return MPI_SUM;
    case ReduceOp::PRODUCT:
      return MPI_PROD;
    case ReduceOp::MIN:
      return MPI_MIN;
    case ReduceOp::MAX:
      return MPI_MAX;
  }
  return MPI_SUM;
}

// MPI counts are ints: larger transfers go in pieces of at most this many elements.
constexpr int64_t kMaxCount = INT_MAX / 2;

int rank_of(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}

int size_of(MPI_Comm comm) {
  int s = 0;
  MPI_Comm_size(comm, &s);
  return s;
}

class MpiGroup final : public ProcessGroup {
 public:
  MpiGroup(MPI_Comm comm, const ProcessGroupOptions& options)
      : ProcessGroup(rank_of(comm), size_of(comm), options.timeout), comm_(comm) {
    start_worker();
  }

  ~MpiGroup() override {
    stop_worker();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && comm_ != MPI_COMM_WORLD) MPI_Comm_free(&comm_);
  }

  std::string backend() const override { return "mpi"; }

 protected:
  bool accepts(const Device& device) const override { return device.is_cpu(); }

  void do_all_reduce(void* data, int64_t count, Dtype dtype, ReduceOp op) override {
    const int64_t item = itemsize(dtype);
    for (int64_t at = 0; at < count; at += kMaxCount) {
      const int n = static_cast<int>(std::min(kMaxCount, count - at));
      check(MPI_Allreduce(MPI_IN_PLACE, static_cast<char*>(data) + at * item, n, datatype_of(dtype), op_of(dtype, op),
                          comm_),
            "all_reduce", rank_);
    }
  }

  void do_reduce(void* data, int64_t count, Dtype dtype, ReduceOp op, int root) override {
    const int64_t item = itemsize(dtype);
    for (int64_t at = 0; at < count; at += kMaxCount) {
      const int n = static_cast<int>(std::min(kMaxCount, count - at));
      char* p = static_cast<char*>(data) + at * item;
      check(MPI_Reduce(rank_ == root ? MPI_IN_PLACE : p, p, n, datatype_of(dtype), op_of(dtype, op), root, comm_),
            "reduce", rank_);
    }
  }

  void do_broadcast(void* data, int64_t nbytes, int root) override {
    for (int64_t at = 0; at < nbytes; at += kMaxCount)
      check(MPI_Bcast(static_cast<char*>(data) + at, static_cast<int>(std::min(kMaxCount, nbytes - at)), MPI_BYTE, root,
                      comm_),
            "broadcast", rank_);
  }

  void do_all_gather(const void* in, void* out, int64_t nbytes) override {
    LAMINA_CHECK(nbytes <= kMaxCount, NotImplementedError, "all_gather", "the mpi backend gathers at most ", kMaxCount,
                 " bytes per rank, got ", nbytes);
    check(MPI_Allgather(in, static_cast<int>(nbytes), MPI_BYTE, out, static_cast<int>(nbytes), MPI_BYTE, comm_),
          "all_gather", rank_);
  }

  void do_all_gather_v(const void* in, int64_t nbytes, void* out, const std::vector<int64_t>& sizes) override {
    std::vector<int> counts, displs;
    int64_t at = 0;
    for (int64_t s : sizes) {
      LAMINA_CHECK(s <= kMaxCount && at <= kMaxCount, NotImplementedError, "all_gather_object",
                   "the mpi backend gathers at most ", kMaxCount, " bytes in all");
      counts.push_back(static_cast<int>(s));
      displs.push_back(static_cast<int>(at));
      at += s;
    }
    check(MPI_Allgatherv(in, static_cast<int>(nbytes), MPI_BYTE, out, counts.data(), displs.data(), MPI_BYTE, comm_),
          "all_gather_object", rank_);
  }

  void do_gather(const void* in, void* out, int64_t nbytes, int root) override {
    LAMINA_CHECK(nbytes <= kMaxCount, NotImplementedError, "gather", "the mpi backend gathers at most ", kMaxCount,
                 " bytes per rank, got ", nbytes);
    check(MPI_Gather(in, static_cast<int>(nbytes), MPI_BYTE, out, static_cast<int>(nbytes), MPI_BYTE, root, comm_),
          "gather", rank_);
  }

  void do_scatter(const void* in, void* out, int64_t nbytes, int root) override {
    LAMINA_CHECK(nbytes <= kMaxCount, NotImplementedError, "scatter", "the mpi backend scatters at most ", kMaxCount,
                 " bytes per rank, got ", nbytes);
    check(MPI_Scatter(in, static_cast<int>(nbytes), MPI_BYTE, out, static_cast<int>(nbytes), MPI_BYTE, root, comm_),
          "scatter", rank_);
  }

  std::function<void()> post_send(const void* data, int64_t nbytes, int dst, int tag) override {
    LAMINA_CHECK(nbytes <= kMaxCount, NotImplementedError, "send", "the mpi backend sends at most ", kMaxCount,
                 " bytes at once, got ", nbytes);
    auto req = std::make_shared<MPI_Request>();
    check(MPI_Isend(data, static_cast<int>(nbytes), MPI_BYTE, dst, tag, comm_, req.get()), "send", rank_);
    const int rank = rank_;
    return [req, rank] { check(MPI_Wait(req.get(), MPI_STATUS_IGNORE), "send", rank); };
  }

  std::function<void()> post_recv(void* data, int64_t nbytes, int src, int tag) override {
    LAMINA_CHECK(nbytes <= kMaxCount, NotImplementedError, "recv", "the mpi backend receives at most ", kMaxCount,
                 " bytes at once, got ", nbytes);
    auto req = std::make_shared<MPI_Request>();
    check(MPI_Irecv(data, static_cast<int>(nbytes), MPI_BYTE, src < 0 ? MPI_ANY_SOURCE : src, tag, comm_, req.get()),
          "recv", rank_);
    const int rank = rank_;
    return [req, rank] { check(MPI_Wait(req.get(), MPI_STATUS_IGNORE), "recv", rank); };
  }

  void do_barrier() override { check(MPI_Barrier(comm_), "barrier", rank_); }

 private:
  MPI_Comm comm_;
};

}  // namespace

std::shared_ptr<ProcessGroup> make_mpi_group(const std::vector<int>& ranks, const ProcessGroupOptions& options) {
  ensure_initialized();
  if (ranks.empty()) return std::make_shared<MpiGroup>(MPI_COMM_WORLD, options);
  MPI_Group world, sub;
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  check(MPI_Group_incl(world, static_cast<int>(ranks.size()), ranks.data(), &sub), "new_group", -1);
  MPI_Comm comm;
  // Only the members call new_group's MPI part (world.cpp returns early for the others), so the
  // communicator is made with the group-collective MPI_Comm_create_group.
  check(MPI_Comm_create_group(MPI_COMM_WORLD, sub, 0, &comm), "new_group", -1);
  MPI_Group_free(&sub);
  MPI_Group_free(&world);
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  return std::make_shared<MpiGroup>(comm, options);
}

}  // namespace lamina::distributed
