// lamina._lamina._distributed: stores, process groups, Work handles and the world's functions
// (lamina.distributed builds torch.distributed's signatures on them). Every call that can
// block on other processes releases the GIL.
#include <nanobind/stl/shared_ptr.h>

#include "bind.h"
#include "lamina/distributed/ddp.h"
#include "lamina/distributed/distributed.h"

namespace lamina::python {

namespace {

namespace dist = lamina::distributed;
using Release = nb::call_guard<nb::gil_scoped_release>;

// A timeout from Python: a datetime.timedelta or seconds (None or <= 0: `fallback`).
std::chrono::milliseconds to_timeout(const nb::object& t, std::chrono::milliseconds fallback) {
  if (t.is_none()) return fallback;
  double seconds;
  if (nb::hasattr(t, "total_seconds")) {
    seconds = nb::cast<double>(t.attr("total_seconds")());
  } else {
    seconds = nb::cast<double>(t);
  }
  LAMINA_CHECK(seconds == seconds && seconds > 0, ConfigError, "distributed", "a timeout must be positive, got ",
               seconds, " s");
  if (seconds > 1e9) return std::chrono::milliseconds(int64_t(1e12));
  return std::chrono::milliseconds(std::max<int64_t>(1, static_cast<int64_t>(seconds * 1000.0)));
}

dist::Bytes to_bytes(const nb::handle& v) {
  if (nb::isinstance<nb::str>(v)) {
    const std::string s = nb::cast<std::string>(v);
    return dist::Bytes(s.begin(), s.end());
  }
  if (nb::isinstance<nb::bytes>(v)) {
    nb::bytes b = nb::borrow<nb::bytes>(v);
    const auto* p = static_cast<const uint8_t*>(b.data());
    return dist::Bytes(p, p + b.size());
  }
  LAMINA_THROW(DTypeError, "distributed.Store", "values are str or bytes, got ", nb::type_name(v.type()).c_str());
}

nb::bytes from_bytes(const dist::Bytes& b) { return nb::bytes(reinterpret_cast<const char*>(b.data()), b.size()); }

}  // namespace

void init_distributed(nb::module_& m) {
  nb::module_ sub = m.def_submodule("_distributed", "Process groups and stores (see lamina.distributed).");

  nb::enum_<dist::ReduceOp>(sub, "ReduceOp", "How a reduction combines the ranks' values.")
      .value("SUM", dist::ReduceOp::SUM)
      .value("AVG", dist::ReduceOp::AVG)
      .value("PRODUCT", dist::ReduceOp::PRODUCT)
      .value("MIN", dist::ReduceOp::MIN)
      .value("MAX", dist::ReduceOp::MAX);

  nb::class_<dist::Work>(sub, "Work", "An operation in flight; wait() blocks until it ends.")
      .def(
          "wait",
          [](dist::Work& w, const nb::object& timeout) {
            const auto t = to_timeout(timeout, std::chrono::milliseconds(0));
            nb::gil_scoped_release release;
            return w.wait(t);
          },
          nb::arg("timeout") = nb::none(), "Blocks until done; rethrows the operation's error.")
      .def("is_completed", &dist::Work::is_completed, "True once the operation has ended.")
      .def("is_success", &dist::Work::is_success, "True when it ended without error.")
      .def_prop_ro("name", &dist::Work::name);

  nb::class_<dist::Store>(sub, "Store", "A key-value store shared by the ranks of a job.")
      .def(
          "set",
          [](dist::Store& s, const std::string& key, nb::handle value) {
            auto b = to_bytes(value);
            nb::gil_scoped_release r;
            s.set(key, b);
          },
          nb::arg("key"), nb::arg("value"))
      .def(
          "get",
          [](dist::Store& s, const std::string& key) {
            dist::Bytes b;
            {
              nb::gil_scoped_release r;
              b = s.get(key);
            }
            return from_bytes(b);
          },
          nb::arg("key"))
      .def("add", &dist::Store::add, nb::arg("key"), nb::arg("amount"), Release())
      .def(
          "compare_set",
          [](dist::Store& s, const std::string& key, nb::handle expected, nb::handle desired) {
            auto e = to_bytes(expected), d = to_bytes(desired);
            dist::Bytes b;
            {
              nb::gil_scoped_release r;
              b = s.compare_set(key, e, d);
            }
            return from_bytes(b);
          },
          nb::arg("key"), nb::arg("expected_value"), nb::arg("desired_value"))
      .def("check", &dist::Store::check, nb::arg("keys"), Release())
      .def(
          "wait",
          [](dist::Store& s, const std::vector<std::string>& keys, const nb::object& timeout) {
            const auto t = to_timeout(timeout, s.timeout());
            nb::gil_scoped_release r;
            s.wait(keys, t);
          },
          nb::arg("keys"), nb::arg("timeout") = nb::none())
      .def("delete_key", &dist::Store::delete_key, nb::arg("key"), Release())
      .def("num_keys", &dist::Store::num_keys, Release())
      .def(
          "set_timeout", [](dist::Store& s, const nb::object& t) { s.set_timeout(to_timeout(t, s.timeout())); },
          nb::arg("timeout"))
      .def_prop_ro("timeout_seconds", [](dist::Store& s) { return s.timeout().count() / 1000.0; });

  nb::class_<dist::TCPStore, dist::Store>(sub, "TCPStore", "A store served over TCP by the master process.")
      .def(
          "__init__",
          [](dist::TCPStore* self, const std::string& host, int port, const nb::object& world_size, bool is_master,
             const nb::object& timeout, bool wait_for_workers) {
            LAMINA_CHECK(port >= 0 && port <= 65535, ConfigError, "distributed.TCPStore", "port must be 0-65535, got ",
                         port);
            dist::TCPStoreOptions o;
            o.port = static_cast<uint16_t>(port);
            o.is_master = is_master;
            o.world_size = world_size.is_none() ? -1 : nb::cast<int>(world_size);
            o.wait_for_workers = wait_for_workers;
            o.timeout = to_timeout(timeout, std::chrono::minutes(5));
            nb::gil_scoped_release r;
            new (self) dist::TCPStore(host, o);
          },
          nb::arg("host_name"), nb::arg("port"), nb::arg("world_size") = nb::none(), nb::arg("is_master") = false,
          nb::arg("timeout") = nb::none(), nb::arg("wait_for_workers") = true)
      .def_prop_ro("port", &dist::TCPStore::port)
      .def_prop_ro("host", &dist::TCPStore::host);

  nb::class_<dist::FileStore, dist::Store>(sub, "FileStore", "A store in one file on a shared file system.")
      .def(
          "__init__",
          [](dist::FileStore* self, const std::string& path, int world_size, const nb::object& timeout) {
            new (self) dist::FileStore(path, world_size, to_timeout(timeout, std::chrono::minutes(5)));
          },
          nb::arg("file_name"), nb::arg("world_size") = -1, nb::arg("timeout") = nb::none());

  nb::class_<dist::PrefixStore, dist::Store>(sub, "PrefixStore", "The keys of another store under a prefix.")
      .def(
          "__init__",
          [](dist::PrefixStore* self, const std::string& prefix, std::shared_ptr<dist::Store> base) {
            new (self) dist::PrefixStore(prefix, std::move(base));
          },
          nb::arg("prefix"), nb::arg("store"));

  using PG = dist::ProcessGroup;
  nb::class_<PG>(sub, "ProcessGroup", "A group of ranks and the collectives among them (group ranks).")
      .def("rank", &PG::rank)
      .def("size", &PG::size)
      .def("name", &PG::backend)
      .def_prop_ro("backend", &PG::backend)
      .def_prop_ro("world_ranks", &PG::world_ranks)
      .def("group_rank", &PG::group_rank, nb::arg("world_rank"))
      .def_prop_ro("timeout_seconds", [](PG& g) { return g.timeout().count() / 1000.0; })
      .def("all_reduce", &PG::all_reduce, nb::arg("tensor"), nb::arg("op") = dist::ReduceOp::SUM, Release())
      .def("reduce", &PG::reduce, nb::arg("tensor"), nb::arg("root"), nb::arg("op") = dist::ReduceOp::SUM, Release())
      .def("broadcast", &PG::broadcast, nb::arg("tensor"), nb::arg("root"), Release())
      .def("all_gather", &PG::all_gather, nb::arg("outputs"), nb::arg("input"), Release())
      .def("all_gather_into_tensor", &PG::all_gather_into_tensor, nb::arg("output"), nb::arg("input"), Release())
      .def("reduce_scatter_tensor", &PG::reduce_scatter_tensor, nb::arg("output"), nb::arg("input"),
           nb::arg("op") = dist::ReduceOp::SUM, Release())
      .def("gather", &PG::gather, nb::arg("outputs"), nb::arg("input"), nb::arg("root"), Release())
      .def("scatter", &PG::scatter, nb::arg("output"), nb::arg("inputs"), nb::arg("root"), Release())
      .def("send", &PG::send, nb::arg("tensor"), nb::arg("dst"), nb::arg("tag") = 0, Release())
      .def("recv", &PG::recv, nb::arg("tensor"), nb::arg("src"), nb::arg("tag") = 0, Release())
      .def("barrier", &PG::barrier, Release())
      .def(
          "all_gather_bytes",
          [](PG& g, nb::bytes mine) {
            const auto* p = static_cast<const uint8_t*>(mine.data());
            dist::Bytes b(p, p + mine.size());
            std::vector<dist::Bytes> out;
            {
              nb::gil_scoped_release r;
              out = g.all_gather_bytes(b);
            }
            nb::list l;
            for (const auto& o : out) l.append(from_bytes(o));
            return l;
          },
          nb::arg("data"))
      .def(
          "broadcast_bytes",
          [](PG& g, nb::bytes mine, int root) {
            const auto* p = static_cast<const uint8_t*>(mine.data());
            dist::Bytes b(p, p + mine.size()), out;
            {
              nb::gil_scoped_release r;
              out = g.broadcast_bytes(b, root);
            }
            return from_bytes(out);
          },
          nb::arg("data"), nb::arg("root"));

  nb::class_<dist::Reducer>(sub, "Reducer", "DDP's gradient buckets and their asynchronous all_reduces.")
      .def_static(
          "create",
          [](std::vector<Tensor> params, std::vector<std::string> names, std::shared_ptr<PG> group,
             double bucket_cap_mb, bool find_unused) {
            dist::DDPOptions o;
            o.bucket_cap_mb = bucket_cap_mb;
            o.find_unused_parameters = find_unused;
            return dist::Reducer::create(std::move(params), std::move(names), std::move(group), o);
          },
          nb::arg("parameters"), nb::arg("names"), nb::arg("group"), nb::arg("bucket_cap_mb"),
          nb::arg("find_unused_parameters"))
      .def("prepare_for_backward", &dist::Reducer::prepare_for_backward, nb::arg("outputs"))
      .def_prop_ro("bucket_indices", &dist::Reducer::bucket_indices);
  sub.def(
      "broadcast_coalesced",
      [](const std::vector<Tensor>& tensors, std::shared_ptr<PG> group, int root) {
        dist::broadcast_coalesced(tensors, group, root);
      },
      nb::arg("tensors"), nb::arg("group"), nb::arg("root") = 0, Release());
  sub.def(
      "all_reduce_differentiable",
      [](const Tensor& t, std::shared_ptr<PG> group) { return dist::all_reduce_differentiable(t, group); },
      nb::arg("tensor"), nb::arg("group"), Release());

  sub.def(
      "init_process_group",
      [](const std::string& backend, const std::string& init_method, int rank, int world_size,
         const nb::object& timeout, std::shared_ptr<dist::Store> store) {
        dist::InitOptions o;
        o.backend = backend;
        o.init_method = init_method;
        o.rank = rank;
        o.world_size = world_size;
        o.timeout = to_timeout(timeout, dist::kDefaultTimeout);
        o.store = std::move(store);
        nb::gil_scoped_release r;
        dist::init_process_group(o);
      },
      nb::arg("backend"), nb::arg("init_method"), nb::arg("rank"), nb::arg("world_size"), nb::arg("timeout").none(),
      nb::arg("store").none());
  sub.def("destroy_process_group", &dist::destroy_process_group, nb::arg("group").none() = nullptr, Release());
  sub.def("is_initialized", &dist::is_initialized);
  sub.def("default_group", &dist::default_group);
  sub.def("default_store", &dist::default_store);
  sub.def("backend_available", &dist::backend_available, nb::arg("backend"));
  sub.def(
      "new_group",
      [](const std::vector<int>& ranks, const nb::object& timeout, const std::string& backend) {
        const auto t = to_timeout(timeout, std::chrono::milliseconds(0));
        nb::gil_scoped_release r;
        return dist::new_group(ranks, t, backend);
      },
      nb::arg("ranks"), nb::arg("timeout").none(), nb::arg("backend"));
}

}  // namespace lamina::python
