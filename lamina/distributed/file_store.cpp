// FileStore: the file is a log of records (set / delete, each a kind byte and length-prefixed
// key and value); every operation locks the whole file (flock), replays the log and, for a
// write, appends. get and wait poll the file until the keys appear. The log is parsed as
// untrusted bytes: every length is checked against what is left before anything is copied.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "lamina/distributed/socket.h"
#include "lamina/distributed/store.h"
#include "lamina/distributed/store_values.h"

namespace lamina::distributed {

namespace {

constexpr const char* kOp = "distributed.FileStore";
const std::string kRefKey = "__lamina/filestore/users";
enum Record : uint8_t { kSet = 1, kDelete = 2 };

// The file, opened and locked for one operation.
class LockedFile {
 public:
  explicit LockedFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    LAMINA_CHECK(fd_ >= 0, IOError, kOp, "cannot open '", path, "': ", std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int e = errno;
        ::close(fd_);
        LAMINA_THROW(IOError, kOp, "cannot lock '", path, "': ", std::strerror(e));
      }
    }
  }
  ~LockedFile() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  LockedFile(const LockedFile&) = delete;
  LockedFile& operator=(const LockedFile&) = delete;

  // The map the log describes.
  std::map<std::string, Bytes> read() {
    struct stat st {};
    LAMINA_CHECK(::fstat(fd_, &st) == 0, IOError, kOp, "cannot stat '", path_, "'");
    std::vector<uint8_t> log(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < log.size()) {
      const ssize_t n = ::pread(fd_, log.data() + got, log.size() - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      LAMINA_CHECK(n > 0, IOError, kOp, "cannot read '", path_, "'");
      got += static_cast<size_t>(n);
    }
    std::map<std::string, Bytes> map;
    size_t at = 0;
    auto field = [&](const char* what) {
      LAMINA_CHECK(log.size() - at >= 4, FormatError, kOp, "'", path_, "' is cut short in a ", what, " length");
      uint32_t n = 0;
      for (int i = 0; i < 4; ++i) n |= uint32_t(log[at + i]) << (8 * i);
      at += 4;
      LAMINA_CHECK(n <= log.size() - at, FormatError, kOp, "'", path_, "' holds a ", what, " of ", n,
                   " bytes past its end (not a store file, or corrupt)");
      Bytes b(log.begin() + static_cast<std::ptrdiff_t>(at), log.begin() + static_cast<std::ptrdiff_t>(at + n));
      at += n;
      return b;
    };
    while (at < log.size()) {
      const uint8_t kind = log[at++];
      LAMINA_CHECK(kind == kSet || kind == kDelete, FormatError, kOp, "'", path_, "' holds an unknown record kind ",
                   int(kind), " (not a store file, or corrupt)");
      const Bytes key = field("key");
      std::string k(key.begin(), key.end());
      if (kind == kSet) {
        map[std::move(k)] = field("value");
      } else {
        map.erase(k);
      }
    }
    return map;
  }

  void append(uint8_t kind, const std::string& key, const Bytes& value) {
    net::Writer w;
    w.u8(kind).str(key);
    if (kind == kSet) w.bytes(value.data(), value.size());
    const auto& d = w.data();
    const off_t end = ::lseek(fd_, 0, SEEK_END);
    size_t put = 0;
    while (put < d.size()) {
      const ssize_t n = ::pwrite(fd_, d.data() + put, d.size() - put, end + static_cast<off_t>(put));
      if (n < 0 && errno == EINTR) continue;
      LAMINA_CHECK(n > 0, IOError, kOp, "cannot write '", path_, "': ", std::strerror(errno));
      put += static_cast<size_t>(n);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

FileStore::FileStore(std::string path, int world_size, std::chrono::milliseconds timeout)
    : path_(std::move(path)), world_size_(world_size) {
  timeout_ = timeout;
  add(kRefKey, 1);
}

FileStore::~FileStore() {
  try {
    LockedFile f(path_);
    auto map = f.read();
    auto it = map.find(kRefKey);
    const int64_t users = it == map.end() ? 1 : store_int(it->second, kOp);
    f.append(kSet, kRefKey, store_value(users - 1));
    // The last rank out removes the file, as c10d's FileStore does (with world_size known, only
    // once every rank has come and gone).
    if (users - 1 <= 0 && world_size_ != 0) ::unlink(path_.c_str());
  } catch (const Error&) {
    // A destructor cannot report; the file stays behind.
  }
}

void FileStore::set(const std::string& key, const Bytes& value) {
  LockedFile f(path_);
  f.append(kSet, key, value);
}

Bytes FileStore::get(const std::string& key) {
  wait({key}, timeout_);
  LockedFile f(path_);
  auto map = f.read();
  auto it = map.find(key);
  LAMINA_CHECK(it != map.end(), DistributedError, kOp, "key '", key, "' was deleted while being read");
  return it->second;
}

int64_t FileStore::add(const std::string& key, int64_t delta) {
  LockedFile f(path_);
  auto map = f.read();
  auto it = map.find(key);
  const int64_t sum = store_add(it == map.end() ? 0 : store_int(it->second, kOp), delta, kOp);
  f.append(kSet, key, store_value(sum));
  return sum;
}

Bytes FileStore::compare_set(const std::string& key, const Bytes& expected, const Bytes& desired) {
  LockedFile f(path_);
  auto map = f.read();
  auto it = map.find(key);
  if ((it == map.end() && expected.empty()) || (it != map.end() && it->second == expected)) {
    f.append(kSet, key, desired);
    return desired;
  }
  return it == map.end() ? Bytes{} : it->second;
}

bool FileStore::check(const std::vector<std::string>& keys) {
  LockedFile f(path_);
  auto map = f.read();
  for (const auto& k : keys)
    if (map.find(k) == map.end()) return false;
  return true;
}

void FileStore::wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  const auto deadline = net::deadline_after(timeout);
  auto pause = std::chrono::milliseconds(1);
  while (!check(keys)) {
    LAMINA_CHECK(net::Clock::now() < deadline, DistTimeoutError, kOp, "wait on '", keys.empty() ? "" : keys[0],
                 "' in '", path_, "' timed out after ", timeout.count(), " ms");
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

bool FileStore::delete_key(const std::string& key) {
  LockedFile f(path_);
  auto map = f.read();
  if (map.find(key) == map.end()) return false;
  f.append(kDelete, key, {});
  return true;
}

int64_t FileStore::num_keys() {
  LockedFile f(path_);
  return static_cast<int64_t>(f.read().size());
}

PrefixStore::PrefixStore(std::string prefix, std::shared_ptr<Store> base)
    : prefix_(std::move(prefix)), base_(std::move(base)) {
  LAMINA_CHECK(base_ != nullptr, ValueError, "distributed.PrefixStore", "needs a store");
  timeout_ = base_->timeout();
}

void PrefixStore::set(const std::string& key, const Bytes& value) { base_->set(key_of(key), value); }

Bytes PrefixStore::get(const std::string& key) {
  base_->wait({key_of(key)}, timeout_);  // this store's timeout, not the base's
  return base_->get(key_of(key));
}

int64_t PrefixStore::add(const std::string& key, int64_t delta) { return base_->add(key_of(key), delta); }

Bytes PrefixStore::compare_set(const std::string& key, const Bytes& expected, const Bytes& desired) {
  return base_->compare_set(key_of(key), expected, desired);
}

bool PrefixStore::check(const std::vector<std::string>& keys) {
  std::vector<std::string> full;
  for (const auto& k : keys) full.push_back(key_of(k));
  return base_->check(full);
}

void PrefixStore::wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  std::vector<std::string> full;
  for (const auto& k : keys) full.push_back(key_of(k));
  base_->wait(full, timeout);
}

bool PrefixStore::delete_key(const std::string& key) { return base_->delete_key(key_of(key)); }

int64_t PrefixStore::num_keys() { return base_->num_keys(); }

}  // namespace lamina::distributed
