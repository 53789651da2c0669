// lamina::distributed in one process (so the sanitizer build checks it): the TCP store's
// semantics, timeouts and hostile bytes, Gloo groups of 2 ranks as two threads (collectives,
// point to point, a peer that leaves), and DDP's reducer against the average of the ranks'
// gradients. The multi-process tests are tests/python/test_distributed.py.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "lamina/distributed/ddp.h"
#include "lamina/distributed/distributed.h"
#include "lamina/lamina.h"
#include "lamina/nn/nn.h"

using namespace lamina;
namespace dist = lamina::distributed;
using std::chrono::milliseconds;

namespace {

std::shared_ptr<dist::TCPStore> master_store(int world = -1) {
  dist::TCPStoreOptions o;
  o.port = 0;
  o.is_master = true;
  o.world_size = world;
  o.wait_for_workers = false;
  o.timeout = milliseconds(5000);
  return std::make_shared<dist::TCPStore>("127.0.0.1", o);
}

std::shared_ptr<dist::TCPStore> client_store(uint16_t port, milliseconds timeout = milliseconds(5000)) {
  dist::TCPStoreOptions o;
  o.port = port;
  o.timeout = timeout;
  return std::make_shared<dist::TCPStore>("127.0.0.1", o);
}

// Runs fn(rank, group) on `size` threads, each rank a Gloo group member through one store.
void on_ranks(int size, const std::function<void(int, std::shared_ptr<dist::ProcessGroup>)>& fn,
              milliseconds timeout = milliseconds(10000)) {
  auto master = master_store();
  std::vector<std::thread> threads;
  std::vector<std::string> errors(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] {
      try {
        dist::ProcessGroupOptions o;
        o.timeout = timeout;
        auto store = std::make_shared<dist::PrefixStore>("t", client_store(master->port()));
        fn(r, dist::make_gloo_group(store, r, size, o));
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < size; ++r) EXPECT_EQ(errors[static_cast<size_t>(r)], "") << "rank " << r;
}

}  // namespace

TEST(Distributed, TcpStoreSemanticsAndTimeouts) {
  auto master = master_store();
  auto client = client_store(master->port(), milliseconds(300));
  master->set("k", std::string("v"));
  EXPECT_EQ(client->get("k"), dist::Bytes({'v'}));
  EXPECT_EQ(client->add("n", 3), 3);
  EXPECT_EQ(master->add("n", 4), 7);
  EXPECT_TRUE(client->check({"k", "n"}));
  EXPECT_FALSE(client->check({"absent"}));
  EXPECT_TRUE(client->delete_key("k"));
  EXPECT_FALSE(client->delete_key("k"));
  EXPECT_THROW(client->get("absent"), DistTimeoutError);
  EXPECT_THROW(client->wait({"absent"}, milliseconds(50)), DistTimeoutError);
  std::thread later([&] {
    std::this_thread::sleep_for(milliseconds(50));
    master->set("late", std::string("x"));
  });
  client->set_timeout(milliseconds(5000));
  EXPECT_EQ(client->get("late"), dist::Bytes({'x'}));
  later.join();
  master->set("text", std::string("abc"));
  EXPECT_THROW(client->add("text", 1), ValueError);
}

TEST(Distributed, TcpStoreDropsHostilePeersOnly) {
  auto master = master_store();
  std::mt19937 rng(7);
  for (int i = 0; i < 30; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(master->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    std::vector<uint8_t> junk(1 + rng() % 2048);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    if (i % 3 == 0) {  // a valid handshake, then a SET whose key claims 4 GiB
      junk = {0x54, 0x53, 0x4d, 0x4c, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff};
    }
    (void)!::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    char buf[64];
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
    ::close(fd);
  }
  auto client = client_store(master->port());
  client->set("after", std::string("ok"));
  EXPECT_EQ(master->get("after"), dist::Bytes({'o', 'k'}));
}

TEST(Distributed, GlooCollectivesOnTwoThreads) {
  on_ranks(2, [](int rank, std::shared_ptr<dist::ProcessGroup> g) {
    Tensor t = full({5}, Scalar(static_cast<double>(rank + 1)));
    g->all_reduce(t, dist::ReduceOp::SUM)->wait();
    for (int i = 0; i < 5; ++i) ASSERT_EQ(t.data<float>()[i], 3.0f);
    Tensor a = arange(Scalar(0), Scalar(6), Scalar(1), {Dtype::Float64}).reshape({2, 3}).t() * Scalar(rank + 1.0);
    g->all_reduce(a, dist::ReduceOp::AVG)->wait();  // a non-contiguous view, written back
    ASSERT_NEAR(a.contiguous().data<double>()[1], 4.5, 1e-12);
    std::vector<Tensor> outs{zeros({2}), zeros({2})};
    g->all_gather(outs, full({2}, Scalar(static_cast<double>(rank))))->wait();
    ASSERT_EQ(outs[1].data<float>()[0], 1.0f);
    Tensor p = zeros({3});
    if (rank == 0) {
      g->send(full({3}, Scalar(9.0)), 1, 4)->wait();
    } else {
      g->recv(p, 0, 4)->wait();
      ASSERT_EQ(p.data<float>()[2], 9.0f);
    }
    EXPECT_THROW(g->all_reduce(full({2}, Scalar(1), {Dtype::Int32}), dist::ReduceOp::AVG), DTypeError);
    EXPECT_THROW(g->broadcast(zeros({2}), 2), ValueError);
    g->barrier()->wait();
    auto bytes = g->all_gather_bytes(dist::Bytes(static_cast<size_t>(rank + 1), static_cast<uint8_t>(rank)));
    ASSERT_EQ(bytes[1].size(), 2u);
  });
}

TEST(Distributed, APeerThatLeavesFailsTheOtherNotHangs) {
  on_ranks(
      2,
      [](int rank, std::shared_ptr<dist::ProcessGroup> g) {
        Tensor t = ones({1024});
        g->all_reduce(t)->wait();
        if (rank == 1) return;  // its group (and its connections) go away
        std::this_thread::sleep_for(milliseconds(100));
        bool failed = false;
        try {
          g->all_reduce(t)->wait();
        } catch (const DistributedError&) {
          failed = true;
        }
        EXPECT_TRUE(failed);
        // The group stays failed: the next operation fails at once with the first error.
        EXPECT_THROW(g->barrier()->wait(), DistributedError);
      },
      milliseconds(3000));
}

TEST(Distributed, ReducerAveragesGradientsInBuckets) {
  on_ranks(2, [](int rank, std::shared_ptr<dist::ProcessGroup> g) {
    auto model = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(8, 2)});
    dist::DDPOptions o;
    o.group = g;
    o.bucket_cap_mb = 0.0001;  // a bucket per parameter or two
    auto ddp = std::make_shared<dist::DistributedDataParallel>(model, o);
    ASSERT_GT(ddp->reducer()->bucket_indices().size(), 1u);
    // Each rank's input differs; the averaged gradient is the mean of the two ranks' own.
    Tensor x = randn({6, 4}) + Scalar(static_cast<double>(rank));
    sum(ddp->forward(x)).item();  // a forward whose backward never runs: the next one re-arms
    Tensor loss = sum(ddp->forward(x));
    autograd::backward({loss});
    std::vector<Tensor> mine;
    {
      // The same model (rank 0's weights, as DDP holds) on this rank alone, for the local gradient.
      auto local = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
          std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(8, 2)});
      local->load_state_dict(model->state_dict());
      autograd::backward({sum(local->forward(x))});
      for (const Tensor& p : local->parameters()) mine.push_back(autograd::grad(p).clone());
    }
    const auto params = model->parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor both = mine[i].clone();
      g->all_reduce(both, dist::ReduceOp::AVG)->wait();
      Tensor got = autograd::grad(params[i]);
      ASSERT_TRUE(got.defined());
      const auto n = got.numel();
      Tensor gc = got.contiguous(), bc = both.contiguous();
      for (int64_t k = 0; k < n; ++k) ASSERT_NEAR(gc.data<float>()[k], bc.data<float>()[k], 1e-5);
    }
  });
}
