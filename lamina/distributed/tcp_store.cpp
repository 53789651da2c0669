// TCPStore: the master runs a small server (one thread accepting, one per client; job sizes
// are ranks, not thousands) over a map guarded by one mutex; get / wait block in the server on
// a condition variable until the keys are set or the client's timeout passes. Every message
// field is length-checked before it is allocated.
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "lamina/distributed/socket.h"
#include "lamina/distributed/store.h"
#include "lamina/distributed/store_values.h"

namespace lamina::distributed {

namespace {

constexpr const char* kOp = "distributed.TCPStore";
constexpr uint32_t kMagic = 0x4c4d5354;  // "LMST", then the protocol version
constexpr uint32_t kVersion = 1;
constexpr size_t kMaxKey = 64 * 1024;
constexpr size_t kMaxValue = size_t(1) << 30;
constexpr size_t kMaxKeys = size_t(1) << 20;
const std::string kWorkersKey = "__lamina/store/workers";
const std::string kAllJoinedKey = "__lamina/store/all_joined";

enum class Cmd : uint8_t { Set = 1, Get, Add, CompareSet, Check, Wait, Delete, NumKeys };
enum class Status : uint8_t { Ok = 0, Timeout = 1 };

}  // namespace

struct TCPStore::Server {
  net::Socket listener;
  std::thread acceptor;
  std::mutex mutex;  // guards data, connections, stopping
  std::condition_variable changed;
  std::map<std::string, Bytes> data;
  // One per connection; a finished one is joined at the next accept, so a server that sees
  // many short connections keeps no threads or descriptors for them.
  struct Connection {
    std::shared_ptr<net::Socket> socket;
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Connection> connections;
  bool stopping = false;

  explicit Server(uint16_t port, uint16_t* bound) : listener(net::listen_on(port, bound)) {
    acceptor = std::thread([this] { accept_loop(); });
  }

  ~Server() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
      for (auto& c : connections) c.socket->shutdown();
    }
    changed.notify_all();
    listener.shutdown();
    acceptor.join();
    for (auto& c : connections) c.thread.join();
  }

  void accept_loop() {
    while (true) {
      auto client = std::make_shared<net::Socket>(net::accept_from(listener));
      if (!client->valid()) return;
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping) return;
      std::erase_if(connections, [](Connection& c) {
        if (!c.done->load()) return false;
        c.thread.join();
        return true;
      });
      auto done = std::make_shared<std::atomic<bool>>(false);
      std::thread t([this, client, done] {
        serve(*client);
        client->shutdown();  // the peer sees the end at once; the descriptor closes with the last owner
        done->store(true);
      });
      connections.push_back({client, std::move(t), done});
    }
  }

  bool all_present(const std::vector<std::string>& keys) const {
    for (const auto& k : keys)
      if (data.find(k) == data.end()) return false;
    return true;
  }

  // Waits (mutex held through `lock`) until the keys exist, the deadline passes or the server stops.
  bool wait_for(std::unique_lock<std::mutex>& lock, const std::vector<std::string>& keys,
                net::Clock::time_point deadline) {
    while (!all_present(keys)) {
      if (stopping) return false;
      if (changed.wait_until(lock, deadline) == std::cv_status::timeout) return all_present(keys);
    }
    return true;
  }

  // Answers one client until it disconnects or sends something that is not the protocol.
  void serve(net::Socket& socket) {
    const auto forever = net::Clock::time_point::max();
    try {
      net::Reader hello(socket, net::deadline_after(std::chrono::seconds(60)), "store handshake");
      if (hello.u32() != kMagic || hello.u32() != kVersion) return;
      net::Writer out;
      out.u8(static_cast<uint8_t>(Status::Ok)).send(socket, "store handshake");
      while (true) {
        net::Reader in(socket, forever, "store request");
        const auto cmd = static_cast<Cmd>(in.u8());
        switch (cmd) {
          case Cmd::Set: {
            std::string key = in.str(kMaxKey);
            Bytes value = in.bytes(kMaxValue);
            {
              std::lock_guard<std::mutex> lock(mutex);
              data[std::move(key)] = std::move(value);
            }
            changed.notify_all();
            out.u8(0);
            break;
          }
          case Cmd::Get: {
            const std::string key = in.str(kMaxKey);
            const int64_t timeout_ms = in.i64();
            std::unique_lock<std::mutex> lock(mutex);
            if (wait_for(lock, {key},
                         net::deadline_after(std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0))))) {
              const Bytes& v = data[key];
              out.u8(static_cast<uint8_t>(Status::Ok)).bytes(v.data(), v.size());
            } else {
              out.u8(static_cast<uint8_t>(Status::Timeout));
            }
            break;
          }
          case Cmd::Add: {
            const std::string key = in.str(kMaxKey);
            const int64_t delta = in.i64();
            int64_t sum = 0;
            bool ok = true;
            {
              std::lock_guard<std::mutex> lock(mutex);
              auto it = data.find(key);
              try {
                sum = store_add(it == data.end() ? 0 : store_int(it->second, kOp), delta, kOp);
                data[key] = store_value(sum);
              } catch (const ValueError&) {
                ok = false;
              }
            }
            changed.notify_all();
            out.u8(ok ? 0 : 2).i64(sum);
            break;
          }
          case Cmd::CompareSet: {
            const std::string key = in.str(kMaxKey);
            const Bytes expected = in.bytes(kMaxValue);
            Bytes desired = in.bytes(kMaxValue);
            Bytes now;
            {
              std::lock_guard<std::mutex> lock(mutex);
              auto it = data.find(key);
              if ((it == data.end() && expected.empty()) || (it != data.end() && it->second == expected)) {
                data[key] = std::move(desired);
                it = data.find(key);
              }
              if (it != data.end()) now = it->second;
            }
            changed.notify_all();
            out.u8(0).bytes(now.data(), now.size());
            break;
          }
          case Cmd::Check:
          case Cmd::Wait: {
            const uint32_t n = in.u32();
            if (n > kMaxKeys) return;
            std::vector<std::string> keys;
            keys.reserve(n);
            for (uint32_t i = 0; i < n; ++i) keys.push_back(in.str(kMaxKey));
            bool present;
            std::unique_lock<std::mutex> lock(mutex);
            if (cmd == Cmd::Check) {
              present = all_present(keys);
            } else {
              const int64_t timeout_ms = in.i64();
              present = wait_for(lock, keys,
                                 net::deadline_after(std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0))));
            }
            out.u8(present ? 0 : 1);
            break;
          }
          case Cmd::Delete: {
            const std::string key = in.str(kMaxKey);
            size_t erased;
            {
              std::lock_guard<std::mutex> lock(mutex);
              erased = data.erase(key);
            }
            out.u8(erased ? 1 : 0);
            break;
          }
          case Cmd::NumKeys: {
            int64_t n;
            {
              std::lock_guard<std::mutex> lock(mutex);
              n = static_cast<int64_t>(data.size());
            }
            out.i64(n);
            break;
          }
          default:
            return;  // not the protocol: drop the client
        }
        out.send(socket, "store reply");
      }
    } catch (const Error&) {
      // The client went away or sent garbage; its connection ends here.
    }
  }
};

struct TCPStore::Client {
  std::mutex mutex;  // one request at a time on the connection
  net::Socket socket;
  std::chrono::milliseconds io_grace{std::chrono::seconds(30)};
};

TCPStore::TCPStore(const std::string& host, const TCPStoreOptions& options) : host_(host), port_(options.port) {
  timeout_ = options.timeout;
  LAMINA_CHECK(options.timeout.count() > 0, ConfigError, kOp, "timeout must be positive");
  if (options.is_master) server_ = std::make_unique<Server>(options.port, &port_);
  client_ = std::make_unique<Client>();
  const auto deadline = net::deadline_after(options.timeout);
  client_->socket = net::connect_to(options.is_master ? "localhost" : host, port_, deadline);
  net::Writer hello;
  hello.u32(kMagic).u32(kVersion).send(client_->socket, "store handshake");
  net::Reader reply(client_->socket, deadline, "store handshake");
  LAMINA_CHECK(reply.u8() == 0, DistributedError, kOp, "the server at ", host, ":", port_, " refused the handshake");
  if (options.world_size > 0) {
    if (add(kWorkersKey, 1) == options.world_size) set(kAllJoinedKey, Bytes{1});
    if (options.is_master && options.wait_for_workers) {
      try {
        wait({kAllJoinedKey}, options.timeout);
      } catch (const DistTimeoutError&) {
        LAMINA_THROW(DistTimeoutError, kOp, "only some of the ", options.world_size,
                     " ranks joined the store within the timeout");
      }
    }
  }
}

TCPStore::~TCPStore() {
  client_.reset();
  server_.reset();
}

namespace {

// Sends a request on the client's connection and reads its reply under one lock.
template <class Build, class Read>
auto request(TCPStore::Client& c, std::chrono::milliseconds wait, Build&& build, Read&& read) {
  std::lock_guard<std::mutex> lock(c.mutex);
  LAMINA_CHECK(c.socket.valid(), DistributedError, kOp, "the connection to the store was lost earlier");
  try {
    net::Writer w;
    build(w);
    w.send(c.socket, "store request");
    net::Reader r(c.socket, net::deadline_after(wait + c.io_grace), "store reply");
    return read(r);
  } catch (const DistributedError&) {
    c.socket.close();  // a half-read reply would desynchronize the stream
    throw;
  }
}

std::string keys_text(const std::vector<std::string>& keys) {
  std::string s;
  for (size_t i = 0; i < keys.size() && i < 4; ++i) s += (i ? ", '" : "'") + keys[i] + "'";
  if (keys.size() > 4) s += ", ...";
  return s;
}

}  // namespace

void TCPStore::set(const std::string& key, const Bytes& value) {
  request(
      *client_, std::chrono::milliseconds(0),
      [&](net::Writer& w) { w.u8(uint8_t(Cmd::Set)).str(key).bytes(value.data(), value.size()); },
      [](net::Reader& r) { return r.u8(); });
}

Bytes TCPStore::get(const std::string& key) {
  bool found = false;
  Bytes v = request(
      *client_, timeout_, [&](net::Writer& w) { w.u8(uint8_t(Cmd::Get)).str(key).i64(timeout_.count()); },
      [&](net::Reader& r) {
        found = r.u8() == uint8_t(Status::Ok);
        return found ? r.bytes(kMaxValue) : Bytes{};
      });
  LAMINA_CHECK(found, DistTimeoutError, kOp, "get('", key, "') timed out after ", timeout_.count(), " ms");
  return v;
}

int64_t TCPStore::add(const std::string& key, int64_t delta) {
  uint8_t status = 0;
  const int64_t sum = request(
      *client_, std::chrono::milliseconds(0), [&](net::Writer& w) { w.u8(uint8_t(Cmd::Add)).str(key).i64(delta); },
      [&](net::Reader& r) {
        status = r.u8();
        return r.i64();
      });
  LAMINA_CHECK(status == 0, ValueError, kOp, "add('", key,
               "'): the key holds a value that is not an integer, or the sum overflows int64");
  return sum;
}

Bytes TCPStore::compare_set(const std::string& key, const Bytes& expected, const Bytes& desired) {
  return request(
      *client_, std::chrono::milliseconds(0),
      [&](net::Writer& w) {
        w.u8(uint8_t(Cmd::CompareSet)).str(key).bytes(expected.data(), expected.size());
        w.bytes(desired.data(), desired.size());
      },
      [](net::Reader& r) {
        r.u8();
        return r.bytes(kMaxValue);
      });
}

bool TCPStore::check(const std::vector<std::string>& keys) {
  return request(
      *client_, std::chrono::milliseconds(0),
      [&](net::Writer& w) {
        w.u8(uint8_t(Cmd::Check)).u32(static_cast<uint32_t>(keys.size()));
        for (const auto& k : keys) w.str(k);
      },
      [](net::Reader& r) { return r.u8() == 0; });
}

void TCPStore::wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  LAMINA_CHECK(keys.size() <= kMaxKeys, ValueError, kOp, "wait() on ", keys.size(), " keys is over the limit");
  const bool present = request(
      *client_, timeout,
      [&](net::Writer& w) {
        w.u8(uint8_t(Cmd::Wait)).u32(static_cast<uint32_t>(keys.size()));
        for (const auto& k : keys) w.str(k);
        w.i64(timeout.count());
      },
      [](net::Reader& r) { return r.u8() == 0; });
  LAMINA_CHECK(present, DistTimeoutError, kOp, "wait(", keys_text(keys), ") timed out after ", timeout.count(), " ms");
}

bool TCPStore::delete_key(const std::string& key) {
  return request(
      *client_, std::chrono::milliseconds(0), [&](net::Writer& w) { w.u8(uint8_t(Cmd::Delete)).str(key); },
      [](net::Reader& r) { return r.u8() == 1; });
}

int64_t TCPStore::num_keys() {
  return request(
      *client_, std::chrono::milliseconds(0), [&](net::Writer& w) { w.u8(uint8_t(Cmd::NumKeys)); },
      [](net::Reader& r) { return r.i64(); });
}

}  // namespace lamina::distributed
