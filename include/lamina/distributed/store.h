#pragma once
// Key-value stores the ranks of a job meet through (torch.distributed's Store, c10d semantics):
// set / get / add / wait / check / delete_key / num_keys / compare_set. get and wait block until
// the keys exist or the store's timeout passes (DistTimeoutError). TCPStore: one rank serves
// the keys over TCP, every rank (the server's own too) is a client; FileStore: a file on a
// shared file system; PrefixStore: keys of one store under a prefix (one per process group).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lamina/core/error.h"

namespace lamina::distributed {

/// Bytes as a store holds them.
using Bytes = std::vector<uint8_t>;

/// The default timeout of stores and process groups (torch.distributed's 30 minutes).
inline constexpr std::chrono::milliseconds kDefaultTimeout = std::chrono::minutes(30);

/// A key-value store shared by the ranks of a job.
class Store {
 public:
  virtual ~Store() = default;
  /// Sets `key` to `value`, waking every waiter on it.
  virtual void set(const std::string& key, const Bytes& value) = 0;
  /// The value of `key`, waiting for it up to timeout().
  virtual Bytes get(const std::string& key) = 0;
  /// Adds `delta` to the integer at `key` (0 when absent) and returns the sum.
  virtual int64_t add(const std::string& key, int64_t delta) = 0;
  /// Sets `key` to `desired` when its value is `expected` (or it is absent and `expected` is
  /// empty); returns the value it holds afterwards.
  virtual Bytes compare_set(const std::string& key, const Bytes& expected, const Bytes& desired) = 0;
  /// True when every key exists now.
  virtual bool check(const std::vector<std::string>& keys) = 0;
  /// Waits until every key exists, up to `timeout` (DistTimeoutError after).
  virtual void wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) = 0;
  /// Removes `key`; true when it existed.
  virtual bool delete_key(const std::string& key) = 0;
  /// The number of keys held.
  virtual int64_t num_keys() = 0;

  /// wait() with the store's own timeout.
  void wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }
  /// set() of a string value.
  void set(const std::string& key, const std::string& value) { set(key, Bytes(value.begin(), value.end())); }
  /// The timeout of get() and wait().
  std::chrono::milliseconds timeout() const { return timeout_; }
  /// Changes the timeout of get() and wait().
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 protected:
  std::chrono::milliseconds timeout_ = kDefaultTimeout;
};

/// Options of a TCPStore (torch.distributed.TCPStore's arguments).
struct TCPStoreOptions {
  /// Port to serve on (master; 0: any free port, see TCPStore::port()) or to connect to.
  uint16_t port = 29500;
  /// True in the one process that serves the keys.
  bool is_master = false;
  /// Ranks expected to connect; with wait_for_workers the master's constructor waits for them.
  int world_size = -1;
  /// Wait in the master's constructor until world_size clients have joined.
  bool wait_for_workers = true;
  /// Timeout of connecting, get() and wait().
  std::chrono::milliseconds timeout = kDefaultTimeout;
};

/// A store served over TCP by the master process, every rank a client of it.
class TCPStore : public Store {
 public:
  /// Serves (is_master) and connects to `host`:port; retries connecting until the timeout.
  TCPStore(const std::string& host, const TCPStoreOptions& options);
  ~TCPStore() override;
  TCPStore(const TCPStore&) = delete;
  TCPStore& operator=(const TCPStore&) = delete;

  void set(const std::string& key, const Bytes& value) override;
  Bytes get(const std::string& key) override;
  int64_t add(const std::string& key, int64_t delta) override;
  Bytes compare_set(const std::string& key, const Bytes& expected, const Bytes& desired) override;
  bool check(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) override;
  bool delete_key(const std::string& key) override;
  int64_t num_keys() override;
  using Store::set;
  using Store::wait;

  /// The port served or connected to (the one chosen when options.port was 0).
  uint16_t port() const { return port_; }
  /// The host connected to.
  const std::string& host() const { return host_; }

  struct Server;
  struct Client;

 private:
  std::string host_;
  uint16_t port_ = 0;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
};

/// A store kept in one file that every rank can open (a shared file system): each operation
/// takes an exclusive lock on the file and replays its log of writes.
class FileStore : public Store {
 public:
  /// Opens (creating) `path`; `world_size` ranks share it (-1: unknown). The last rank to
  /// destroy its FileStore removes the file.
  FileStore(std::string path, int world_size, std::chrono::milliseconds timeout = kDefaultTimeout);
  ~FileStore() override;

  void set(const std::string& key, const Bytes& value) override;
  Bytes get(const std::string& key) override;
  int64_t add(const std::string& key, int64_t delta) override;
  Bytes compare_set(const std::string& key, const Bytes& expected, const Bytes& desired) override;
  bool check(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) override;
  bool delete_key(const std::string& key) override;
  int64_t num_keys() override;
  using Store::set;
  using Store::wait;

 private:
  std::string path_;
  int world_size_;
};

/// The keys of `base` under "prefix/": each process group keeps its own names.
class PrefixStore : public Store {
 public:
  /// Keys go to `base` as prefix + "/" + key.
  PrefixStore(std::string prefix, std::shared_ptr<Store> base);

  void set(const std::string& key, const Bytes& value) override;
  Bytes get(const std::string& key) override;
  int64_t add(const std::string& key, int64_t delta) override;
  Bytes compare_set(const std::string& key, const Bytes& expected, const Bytes& desired) override;
  bool check(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) override;
  bool delete_key(const std::string& key) override;
  int64_t num_keys() override;
  using Store::set;
  using Store::wait;

  /// The store keys go to.
  const std::shared_ptr<Store>& base() const { return base_; }

 private:
  std::string key_of(const std::string& key) const { return prefix_ + "/" + key; }
  std::string prefix_;
  std::shared_ptr<Store> base_;
};

}  // namespace lamina::distributed
