// The Gloo backend: a full mesh of TCP pairs made through the job's store, and Gloo's own
// algorithms for every collective. Gloo's errors (a peer gone, a timeout) become lamina's
// DistributedError / DistTimeoutError naming the rank and the operation.
#include <gloo/allgather.h>
#include <gloo/allgatherv.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/gather.h>
#include <gloo/reduce.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>
#include <gloo/scatter.h>
#include <gloo/transport/tcp/device.h>

#include <cstring>

#include "lamina/distributed/process_group.h"
#include "lamina/distributed/reduce_fn.h"

namespace lamina::distributed {

namespace {

// Gloo's rendezvous reads and writes the job's store through this.
class GlooStore : public ::gloo::rendezvous::Store {
 public:
  explicit GlooStore(std::shared_ptr<distributed::Store> store) : store_(std::move(store)) {}
  void set(const std::string& key, const std::vector<char>& data) override {
    store_->set(key, Bytes(data.begin(), data.end()));
  }
  std::vector<char> get(const std::string& key) override {
    const Bytes b = store_->get(key);
    return std::vector<char>(b.begin(), b.end());
  }
  void wait(const std::vector<std::string>& keys) override { store_->wait(keys); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    store_->wait(keys, timeout);
  }

 private:
  std::shared_ptr<distributed::Store> store_;
};

// Runs a Gloo call, turning its exceptions into lamina's.
template <class F>
void guarded(const char* op, int rank, F&& f) {
  try {
    f();
  } catch (const ::gloo::Exception& e) {
    const std::string what = e.what();
    if (what.find("imed out") != std::string::npos || what.find("imeout") != std::string::npos)
      LAMINA_THROW(DistTimeoutError, op, "rank ", rank, ": timed out waiting for a peer (a rank died, hangs, or ",
                   "runs other collectives): ", what);
    LAMINA_THROW(DistributedError, op, "rank ", rank, ": ", what);
  }
}

class GlooGroup final : public ProcessGroup {
 public:
  GlooGroup(std::shared_ptr<Store> store, int rank, int size, const ProcessGroupOptions& options)
      : ProcessGroup(rank, size, options.timeout) {
    ::gloo::transport::tcp::attr attr;
    attr.hostname = options.hostname;
    attr.iface = options.interface_name;
    if (attr.hostname.empty() && attr.iface.empty()) attr.hostname = "127.0.0.1";
    guarded("init_process_group", rank, [&] {
      device_ = ::gloo::transport::tcp::CreateDevice(attr);
      auto context = std::make_shared<::gloo::rendezvous::Context>(rank, size);
      context->setTimeout(options.timeout);
      GlooStore gloo_store(std::move(store));
      context->connectFullMesh(gloo_store, device_);
      context_ = context;
    });
    start_worker();
  }

  ~GlooGroup() override { stop_worker(); }

  std::string backend() const override { return "gloo"; }

 protected:
  bool accepts(const Device& device) const override { return device.is_cpu(); }

  void do_all_reduce(void* data, int64_t count, Dtype dtype, ReduceOp op) override {
    if (count == 0 || size_ == 1) return;
    guarded("all_reduce", rank_, [&] {
      ::gloo::AllreduceOptions opts(context_);
      set_typed_output(opts, data, count, dtype);
      opts.setReduceFunction(reduce_function(dtype, op));
      opts.setTag(next_tag());
      opts.setTimeout(timeout_);
      ::gloo::allreduce(opts);
    });
  }

  void do_reduce(void* data, int64_t count, Dtype dtype, ReduceOp op, int root) override {
    if (count == 0 || size_ == 1) return;
    guarded("reduce", rank_, [&] {
      ::gloo::ReduceOptions opts(context_);
      set_typed_output(opts, data, count, dtype);
      opts.setRoot(root);
      opts.setReduceFunction(reduce_function(dtype, op));
      opts.setTag(next_tag());
      opts.setTimeout(timeout_);
      ::gloo::reduce(opts);
    });
  }

  void do_broadcast(void* data, int64_t nbytes, int root) override {
    if (nbytes == 0 || size_ == 1) return;
    guarded("broadcast", rank_, [&] {
      ::gloo::BroadcastOptions opts(context_);
      opts.setOutput(static_cast<uint8_t*>(data), static_cast<size_t>(nbytes));
      opts.setRoot(root);
      opts.setTag(next_tag());
      opts.setTimeout(timeout_);
      ::gloo::broadcast(opts);
    });
  }

  void do_all_gather(const void* in, void* out, int64_t nbytes) override {
    if (size_ == 1) {
      std::memcpy(out, in, static_cast<size_t>(nbytes));
      return;
    }
    if (nbytes == 0) return;
    guarded("all_gather", rank_, [&] {
      ::gloo::AllgatherOptions opts(context_);
      opts.setInput(const_cast<uint8_t*>(static_cast<const uint8_t*>(in)), static_cast<size_t>(nbytes));
      opts.setOutput(static_cast<uint8_t*>(out), static_cast<size_t>(nbytes) * size_);
      opts.setTag(next_tag());
      opts.setTimeout(timeout_);
      ::gloo::allgather(opts);
    });
  }

  void do_all_gather_v(const void* in, int64_t nbytes, void* out, const std::vector<int64_t>& sizes) override {
    int64_t total = 0;
    for (int64_t s : sizes) total += s;
    if (size_ == 1) {
      if (nbytes > 0) std::memcpy(out, in, static_cast<size_t>(nbytes));
      return;
    }
    if (total == 0) return;
    guarded("all_gather", rank_, [&] {
      ::gloo::AllgathervOptions opts(context_);
      opts.setInput(const_cast<uint8_t*>(static_cast<const uint8_t*>(in)), static_cast<size_t>(nbytes));
      opts.setOutput(static_cast<uint8_t*>(out), std::vector<size_t>(sizes.begin(), sizes.end()));
      opts.setTag(next_tag());
      opts.setTimeout(timeout_);
      ::gloo::allgatherv(opts);
    });
  }

  void do_gather(const void* in, void* out, int64_t nbytes, int root) override {
    if (size_ == 1) {
      std::memcpy(out, in, static_cast<size_t>(nbytes));
      return;
    }
    if (nbytes == 0) return;
    guarded("gather", rank_, [&] {
      ::gloo::GatherOptions opts(context_);
      opts.setInput(const_cast<uint8_t*>(static_cast<const uint8_t*>(in)), static_cast<size_t>(nbytes));
      if (rank_ == root) opts.setOutput(static_cast<uint8_t*>(out), static_cast<size_t>(nbytes) * size_);
      opts.setRoot(root);
      opts.setTag(next_tag());
      opts.setTimeout(timeout_);
      ::gloo::gather(opts);
    });
  }

  void do_scatter(const void* in, void* out, int64_t nbytes, int root) override {
    if (size_ == 1) {
      std::memcpy(out, in, static_cast<size_t>(nbytes));
      return;
    }
    if (nbytes == 0) return;
    guarded("scatter", rank_, [&] {
      ::gloo::ScatterOptions opts(context_);
      if (rank_ == root) {
        std::vector<uint8_t*> parts;
        for (int r = 0; r < size_; ++r)
          parts.push_back(const_cast<uint8_t*>(static_cast<const uint8_t*>(in)) + static_cast<size_t>(r * nbytes));
        opts.setInputs(parts, static_cast<size_t>(nbytes));
      }
      opts.setOutput(static_cast<uint8_t*>(out), static_cast<size_t>(nbytes));
      opts.setRoot(root);
      opts.setTag(next_tag());
      opts.setTimeout(timeout_);
      ::gloo::scatter(opts);
    });
  }

  std::function<void()> post_send(const void* data, int64_t nbytes, int dst, int tag) override {
    std::shared_ptr<::gloo::transport::UnboundBuffer> buf;
    guarded("send", rank_, [&] {
      buf = context_->createUnboundBuffer(const_cast<void*>(data), static_cast<size_t>(nbytes));
      buf->send(dst, p2p_slot(tag));
    });
    const int rank = rank_;
    const auto timeout = timeout_;
    return [buf, rank, dst, timeout] {
      guarded("send", rank, [&] {
        LAMINA_CHECK(buf->waitSend(timeout), DistTimeoutError, "send", "rank ", rank, ": rank ", dst,
                     " did not receive within the timeout");
      });
    };
  }

  std::function<void()> post_recv(void* data, int64_t nbytes, int src, int tag) override {
    std::shared_ptr<::gloo::transport::UnboundBuffer> buf;
    guarded("recv", rank_, [&] {
      buf = context_->createUnboundBuffer(data, static_cast<size_t>(nbytes));
      if (src >= 0) {
        buf->recv(src, p2p_slot(tag));
      } else {
        std::vector<int> others;
        for (int r = 0; r < size_; ++r)
          if (r != rank_) others.push_back(r);
        buf->recv(others, p2p_slot(tag));
      }
    });
    const int rank = rank_;
    const auto timeout = timeout_;
    return [buf, rank, src, timeout] {
      guarded("recv", rank, [&] {
        LAMINA_CHECK(buf->waitRecv(timeout), DistTimeoutError, "recv", "rank ", rank, ": nothing arrived from ",
                     src >= 0 ? "rank " + std::to_string(src) : std::string("any rank"), " within the timeout");
      });
    };
  }

  void do_barrier() override {
    if (size_ == 1) return;
    guarded("barrier", rank_, [&] {
      ::gloo::BarrierOptions opts(context_);
      opts.setTag(next_tag());
      opts.setTimeout(timeout_);
      ::gloo::barrier(opts);
    });
  }

 private:
  // Gloo sizes its segments by the element type: pass a carrier type of the element's width.
  template <class Options>
  static void set_typed_output(Options& opts, void* data, int64_t count, Dtype dtype) {
    const auto n = static_cast<size_t>(count);
    switch (itemsize(dtype)) {
      case 1:
        opts.setOutput(static_cast<uint8_t*>(data), n);
        break;
      case 2:
        opts.setOutput(static_cast<uint16_t*>(data), n);
        break;
      case 4:
        opts.setOutput(static_cast<uint32_t*>(data), n);
        break;
      default:
        opts.setOutput(static_cast<uint64_t*>(data), n);
        break;
    }
  }

  // Collectives run one at a time on the worker, in the same order on every rank: a counter
  // gives each a tag of its own (Gloo matches messages by tag).
  uint32_t next_tag() { return collective_tag_++ & 0x3fffffffu; }
  // Point-to-point slots stay apart from the collectives' (Gloo derives those from the tag).
  static uint64_t p2p_slot(int tag) { return (uint64_t(0xff) << 56) | static_cast<uint64_t>(tag); }

  std::shared_ptr<::gloo::transport::Device> device_;
  std::shared_ptr<::gloo::Context> context_;
  uint32_t collective_tag_ = 0;
};

}  // namespace

std::shared_ptr<ProcessGroup> make_gloo_group(std::shared_ptr<Store> store, int rank, int size,
                                              const ProcessGroupOptions& options) {
  return std::make_shared<GlooGroup>(std::move(store), rank, size, options);
}

}  // namespace lamina::distributed
