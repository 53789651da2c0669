// The process-wide default group and its store, the rendezvous (env://, tcp://, file://),
// subgroups, and the free collectives that translate world ranks into group ranks.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "lamina/distributed/distributed.h"

namespace lamina::distributed {

namespace {

constexpr const char* kOp = "init_process_group";

struct World {
  std::mutex mutex;
  std::shared_ptr<Store> store;
  std::shared_ptr<ProcessGroup> group;
  std::vector<std::shared_ptr<ProcessGroup>> subgroups;
  std::string backend;
  std::chrono::milliseconds timeout{kDefaultTimeout};
  ProcessGroupOptions group_options;
  int next_group = 1;
};

World& world() {
  static World* w = new World;  // never destroyed: groups may outlive static destruction order
  return *w;
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

int parse_int(const std::string& text, const char* what) {
  try {
    size_t used = 0;
    const long v = std::stol(text, &used);
    if (used == text.size() && v >= INT32_MIN && v <= INT32_MAX) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  LAMINA_THROW(ConfigError, kOp, what, " must be an integer, got '", text, "'");
}

uint16_t parse_port(const std::string& text, const char* what) {
  const int p = parse_int(text, what);
  LAMINA_CHECK(p >= 0 && p <= 65535, ConfigError, kOp, what, " must be a port number (0-65535), got ", p);
  return static_cast<uint16_t>(p);
}

// The local address other ranks reach this one at: the source address of the route to the
// store's host (a UDP "connect" sends nothing), loopback for a local store.
std::string local_address_towards(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), "9", &hints, &found) != 0 || found == nullptr) return "127.0.0.1";
  std::string result = "127.0.0.1";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      sockaddr_storage local{};
      socklen_t len = sizeof(local);
      char text[INET6_ADDRSTRLEN] = {};
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
        const void* addr = local.ss_family == AF_INET6
                               ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
                               : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
        if (::inet_ntop(local.ss_family, addr, text, sizeof(text)) != nullptr) {
          result = text;
          ::close(fd);
          break;
        }
      }
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return result;
}

std::shared_ptr<ProcessGroup> make_group(const std::string& backend, std::shared_ptr<Store> store, int rank, int size,
                                         const ProcessGroupOptions& options, const std::vector<int>& mpi_ranks) {
  if (backend == "gloo") return make_gloo_group(std::move(store), rank, size, options);
  if (backend == "nccl") return make_nccl_group(std::move(store), rank, size, options);
  if (backend == "mpi") return make_mpi_group(mpi_ranks, options);
  LAMINA_THROW(ConfigError, kOp, "unknown backend '", backend, "' (gloo, nccl or mpi)");
}

std::shared_ptr<ProcessGroup> group_or_world(const std::shared_ptr<ProcessGroup>& group, const char* op) {
  if (group) return group;
  std::lock_guard<std::mutex> lock(world().mutex);
  LAMINA_CHECK(world().group != nullptr, ValueError, op,
               "the default process group is not initialized: call init_process_group first");
  return world().group;
}

std::shared_ptr<Work> finish(std::shared_ptr<Work> work, bool async_op) {
  if (async_op) return work;
  work->wait();
  return nullptr;
}

}  // namespace

void init_process_group(const InitOptions& options) {
  World& w = world();
  {
    std::lock_guard<std::mutex> lock(w.mutex);
    LAMINA_CHECK(w.group == nullptr, ValueError, kOp, "the default process group is already initialized");
  }
  std::string backend = options.backend.empty() ? "gloo" : options.backend;
  for (auto& c : backend) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  LAMINA_CHECK(backend == "gloo" || backend == "nccl" || backend == "mpi", ConfigError, kOp, "unknown backend '",
               options.backend, "' (gloo, nccl or mpi)");
  LAMINA_CHECK(options.timeout.count() > 0, ConfigError, kOp, "the timeout must be positive");
  ProcessGroupOptions group_options;
  group_options.timeout = options.timeout;
  group_options.interface_name = env_or_empty("LAMINA_SOCKET_IFNAME");
  if (group_options.interface_name.empty()) group_options.interface_name = env_or_empty("GLOO_SOCKET_IFNAME");

  std::shared_ptr<Store> store;
  std::shared_ptr<ProcessGroup> group;
  int rank = options.rank, size = options.world_size;
  if (backend == "mpi") {
    group = make_mpi_group({}, group_options);  // MPI knows the ranks; the store is not needed
  } else {
    const std::string& method = options.init_method;
    std::string store_host;
    if (options.store) {
      store = options.store;
    } else if (method.rfind("env://", 0) == 0) {
      if (rank < 0) {
        const std::string r = env_or_empty("RANK");
        LAMINA_CHECK(!r.empty(), ConfigError, kOp, "env:// needs the environment variable RANK (or rank=)");
        rank = parse_int(r, "RANK");
      }
      if (size < 0) {
        const std::string s = env_or_empty("WORLD_SIZE");
        LAMINA_CHECK(!s.empty(), ConfigError, kOp, "env:// needs the environment variable WORLD_SIZE (or world_size=)");
        size = parse_int(s, "WORLD_SIZE");
      }
      store_host = env_or_empty("MASTER_ADDR");
      const std::string port = env_or_empty("MASTER_PORT");
      LAMINA_CHECK(!store_host.empty(), ConfigError, kOp, "env:// needs the environment variable MASTER_ADDR");
      LAMINA_CHECK(!port.empty(), ConfigError, kOp, "env:// needs the environment variable MASTER_PORT");
      TCPStoreOptions so;
      so.port = parse_port(port, "MASTER_PORT");
      so.is_master = rank == 0;
      so.world_size = size;
      so.timeout = options.timeout;
      LAMINA_CHECK(size >= 1 && rank >= 0 && rank < size, ConfigError, kOp, "rank ", rank, " is not in a world of ",
                   size);
      store = std::make_shared<TCPStore>(store_host, so);
    } else if (method.rfind("tcp://", 0) == 0) {
      const std::string rest = method.substr(6);
      const size_t colon = rest.rfind(':');
      LAMINA_CHECK(colon != std::string::npos && colon > 0, ConfigError, kOp, "tcp:// needs host:port, got '", method,
                   "'");
      store_host = rest.substr(0, colon);
      if (store_host.size() > 2 && store_host.front() == '[' && store_host.back() == ']')
        store_host = store_host.substr(1, store_host.size() - 2);
      LAMINA_CHECK(rank >= 0 && size >= 1, ConfigError, kOp, "tcp:// needs rank and world_size");
      LAMINA_CHECK(rank < size, ConfigError, kOp, "rank ", rank, " is not in a world of ", size);
      TCPStoreOptions so;
      so.port = parse_port(rest.substr(colon + 1), "the tcp:// port");
      so.is_master = rank == 0;
      so.world_size = size;
      so.timeout = options.timeout;
      store = std::make_shared<TCPStore>(store_host, so);
    } else if (method.rfind("file://", 0) == 0) {
      LAMINA_CHECK(rank >= 0 && size >= 1, ConfigError, kOp, "file:// needs rank and world_size");
      LAMINA_CHECK(method.size() > 7, ConfigError, kOp, "file:// needs a path");
      store = std::make_shared<FileStore>(method.substr(7), size, options.timeout);
    } else {
      LAMINA_THROW(ConfigError, kOp, "init_method must start with env://, tcp:// or file://, got '", method, "'");
    }
    LAMINA_CHECK(rank >= 0 && size >= 1 && rank < size, ConfigError, kOp, "rank ", rank, " is not in a world of ", size,
                 " (a store given needs rank and world_size)");
    group_options.hostname = group_options.interface_name.empty()
                                 ? local_address_towards(store_host.empty() ? "127.0.0.1" : store_host)
                                 : std::string();
    group = make_group(backend, std::make_shared<PrefixStore>("pg0", store), rank, size, group_options, {});
  }
  std::lock_guard<std::mutex> lock(w.mutex);
  LAMINA_CHECK(w.group == nullptr, ValueError, kOp, "the default process group is already initialized");
  w.store = store;
  w.group = group;
  w.backend = backend;
  w.timeout = options.timeout;
  w.group_options = group_options;
  w.next_group = 1;
}

void init_process_group(const std::string& backend, const std::string& init_method, int rank, int world_size,
                        std::chrono::milliseconds timeout) {
  InitOptions o;
  o.backend = backend;
  o.init_method = init_method;
  o.rank = rank;
  o.world_size = world_size;
  o.timeout = timeout;
  init_process_group(o);
}

void destroy_process_group(const std::shared_ptr<ProcessGroup>& group) {
  World& w = world();
  std::shared_ptr<ProcessGroup> world_group;
  std::vector<std::shared_ptr<ProcessGroup>> subgroups;
  std::shared_ptr<Store> store;
  {
    std::lock_guard<std::mutex> lock(w.mutex);
    if (group && group != w.group) {
      std::erase(w.subgroups, group);
      return;
    }
    LAMINA_CHECK(w.group != nullptr, ValueError, "destroy_process_group", "no process group is initialized");
    world_group = std::move(w.group);
    subgroups = std::move(w.subgroups);
    store = std::move(w.store);
    w.group.reset();
    w.subgroups.clear();
    w.store.reset();
  }
  // Dropped outside the lock: each group's destructor finishes the operations already queued.
  subgroups.clear();
  world_group.reset();
  store.reset();
}

bool is_initialized() {
  std::lock_guard<std::mutex> lock(world().mutex);
  return world().group != nullptr;
}

std::shared_ptr<ProcessGroup> default_group() { return group_or_world(nullptr, "default_group"); }

std::shared_ptr<Store> default_store() {
  std::lock_guard<std::mutex> lock(world().mutex);
  LAMINA_CHECK(world().group != nullptr, ValueError, "default_store", "no process group is initialized");
  return world().store;
}

std::string get_backend(const std::shared_ptr<ProcessGroup>& group) {
  return group_or_world(group, "get_backend")->backend();
}

int get_rank(const std::shared_ptr<ProcessGroup>& group) { return group_or_world(group, "get_rank")->rank(); }

int get_world_size(const std::shared_ptr<ProcessGroup>& group) {
  return group_or_world(group, "get_world_size")->size();
}

std::shared_ptr<ProcessGroup> new_group(const std::vector<int>& ranks, std::chrono::milliseconds timeout,
                                        const std::string& backend) {
  auto world_group = group_or_world(nullptr, "new_group");
  World& w = world();
  std::shared_ptr<Store> store;
  ProcessGroupOptions options;
  std::string chosen;
  int id;
  {
    std::lock_guard<std::mutex> lock(w.mutex);
    store = w.store;
    options = w.group_options;
    chosen = backend.empty() ? w.backend : backend;
    id = w.next_group++;
  }
  if (timeout.count() > 0) options.timeout = timeout;
  std::vector<int> members = ranks;
  if (members.empty())
    for (int r = 0; r < world_group->size(); ++r) members.push_back(r);
  std::vector<int> sorted = members;
  std::sort(sorted.begin(), sorted.end());
  LAMINA_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(), ValueError, "new_group",
               "ranks must not repeat");
  for (int r : members)
    LAMINA_CHECK(r >= 0 && r < world_group->size(), ValueError, "new_group", "rank ", r, " is not in the world of ",
                 world_group->size());
  const int me = world_group->rank();
  const auto at = std::find(members.begin(), members.end(), me);
  if (at == members.end()) return nullptr;  // not a member: nothing to join
  const int group_rank = static_cast<int>(at - members.begin());
  std::shared_ptr<ProcessGroup> group;
  if (chosen == "mpi") {
    group = make_mpi_group(members, options);
  } else {
    LAMINA_CHECK(store != nullptr, ValueError, "new_group", "the world has no store to meet through");
    group = make_group(chosen, std::make_shared<PrefixStore>("pg" + std::to_string(id), store), group_rank,
                       static_cast<int>(members.size()), options, members);
  }
  group->set_world_ranks(members);
  std::lock_guard<std::mutex> lock(w.mutex);
  w.subgroups.push_back(group);
  return group;
}

std::shared_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op, const std::shared_ptr<ProcessGroup>& group,
                                 bool async_op) {
  return finish(group_or_world(group, "all_reduce")->all_reduce(tensor, op), async_op);
}

std::shared_ptr<Work> broadcast(const Tensor& tensor, int src, const std::shared_ptr<ProcessGroup>& group,
                                bool async_op) {
  auto g = group_or_world(group, "broadcast");
  return finish(g->broadcast(tensor, g->group_rank(src)), async_op);
}

std::shared_ptr<Work> reduce(const Tensor& tensor, int dst, ReduceOp op, const std::shared_ptr<ProcessGroup>& group,
                             bool async_op) {
  auto g = group_or_world(group, "reduce");
  return finish(g->reduce(tensor, g->group_rank(dst), op), async_op);
}

std::shared_ptr<Work> all_gather(const std::vector<Tensor>& outputs, const Tensor& input,
                                 const std::shared_ptr<ProcessGroup>& group, bool async_op) {
  return finish(group_or_world(group, "all_gather")->all_gather(outputs, input), async_op);
}

std::shared_ptr<Work> all_gather_into_tensor(const Tensor& output, const Tensor& input,
                                             const std::shared_ptr<ProcessGroup>& group, bool async_op) {
  return finish(group_or_world(group, "all_gather_into_tensor")->all_gather_into_tensor(output, input), async_op);
}

std::shared_ptr<Work> reduce_scatter_tensor(const Tensor& output, const Tensor& input, ReduceOp op,
                                            const std::shared_ptr<ProcessGroup>& group, bool async_op) {
  return finish(group_or_world(group, "reduce_scatter_tensor")->reduce_scatter_tensor(output, input, op), async_op);
}

std::shared_ptr<Work> gather(const Tensor& input, const std::vector<Tensor>& outputs, int dst,
                             const std::shared_ptr<ProcessGroup>& group, bool async_op) {
  auto g = group_or_world(group, "gather");
  return finish(g->gather(outputs, input, g->group_rank(dst)), async_op);
}

std::shared_ptr<Work> scatter(const Tensor& output, const std::vector<Tensor>& inputs, int src,
                              const std::shared_ptr<ProcessGroup>& group, bool async_op) {
  auto g = group_or_world(group, "scatter");
  return finish(g->scatter(output, inputs, g->group_rank(src)), async_op);
}

std::shared_ptr<Work> isend(const Tensor& tensor, int dst, const std::shared_ptr<ProcessGroup>& group, int tag) {
  auto g = group_or_world(group, "isend");
  return g->send(tensor, g->group_rank(dst), tag);
}

std::shared_ptr<Work> irecv(const Tensor& tensor, int src, const std::shared_ptr<ProcessGroup>& group, int tag) {
  auto g = group_or_world(group, "irecv");
  return g->recv(tensor, src < 0 ? -1 : g->group_rank(src), tag);
}

void send(const Tensor& tensor, int dst, const std::shared_ptr<ProcessGroup>& group, int tag) {
  isend(tensor, dst, group, tag)->wait();
}

void recv(const Tensor& tensor, int src, const std::shared_ptr<ProcessGroup>& group, int tag) {
  irecv(tensor, src, group, tag)->wait();
}

std::shared_ptr<Work> barrier(const std::shared_ptr<ProcessGroup>& group, bool async_op) {
  return finish(group_or_world(group, "barrier")->barrier(), async_op);
}

}  // namespace lamina::distributed
