#include "lamina/distributed/socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "lamina/core/error.h"

namespace lamina::distributed::net {

namespace {

constexpr const char* kOp = "distributed.store";

std::string errno_text() { return std::strerror(errno); }

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void Socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Socket::shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void Socket::send_all(const void* data, size_t n, const char* what) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t sent = ::send(fd_, p, n, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    LAMINA_CHECK(sent > 0, DistributedError, kOp, what, ": the connection is gone (", errno_text(), ")");
    p += sent;
    n -= static_cast<size_t>(sent);
  }
}

void Socket::recv_all(void* data, size_t n, Clock::time_point deadline, const char* what) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    LAMINA_CHECK(left > 0, DistTimeoutError, kOp, what, ": no answer within the timeout");
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (ready < 0 && errno == EINTR) continue;
    LAMINA_CHECK(ready >= 0, DistributedError, kOp, what, ": poll failed (", errno_text(), ")");
    if (ready == 0) continue;
    const ssize_t got = ::recv(fd_, p, n, 0);
    if (got < 0 && errno == EINTR) continue;
    LAMINA_CHECK(got != 0, DistributedError, kOp, what, ": the peer closed the connection");
    LAMINA_CHECK(got > 0, DistributedError, kOp, what, ": receive failed (", errno_text(), ")");
    p += got;
    n -= static_cast<size_t>(got);
  }
}

Socket listen_on(uint16_t port, uint16_t* bound_port) {
  Socket s(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  bool v6 = s.valid();
  if (!v6) s = Socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  LAMINA_CHECK(s.valid(), DistributedError, kOp, "cannot create a socket (", errno_text(), ")");
  int one = 1, zero = 0;
  ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  int rc;
  if (v6) {
    ::setsockopt(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));  // IPv4 clients too
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_any;
    addr.sin6_port = htons(port);
    rc = ::bind(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(port);
    rc = ::bind(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  }
  LAMINA_CHECK(rc == 0, DistributedError, kOp, "cannot serve on port ", port, " (", errno_text(),
               "): another job may hold it; choose another MASTER_PORT");
  LAMINA_CHECK(::listen(s.fd(), 1024) == 0, DistributedError, kOp, "listen failed (", errno_text(), ")");
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&bound), &len);
  *bound_port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                  : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return s;
}

Socket accept_from(Socket& listener) {
  while (true) {
    const int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      set_nodelay(fd);
      return Socket(fd);
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    return Socket();  // shut down (EINVAL) or out of descriptors: the server stops accepting
  }
}

Socket connect_to(const std::string& host, uint16_t port, Clock::time_point deadline) {
  std::string last_error = "no address";
  auto pause = std::chrono::milliseconds(10);
  while (true) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc == 0) {
      for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
        if (!s.valid()) continue;
        if (::connect(s.fd(), a->ai_addr, a->ai_addrlen) == 0) {
          ::freeaddrinfo(found);
          set_nodelay(s.fd());
          return s;
        }
        last_error = errno_text();
      }
      ::freeaddrinfo(found);
    } else {
      last_error = ::gai_strerror(rc);
    }
    LAMINA_CHECK(Clock::now() + pause < deadline, DistTimeoutError, kOp, "cannot reach the store at ", host, ":", port,
                 " within the timeout (", last_error, ")");
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

Clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  const auto now = Clock::now();
  const auto room = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now);
  return timeout >= room ? Clock::time_point::max() : now + timeout;
}

Writer& Writer::u8(uint8_t v) {
  data_.push_back(v);
  return *this;
}

Writer& Writer::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) data_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}

Writer& Writer::i64(int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) data_.push_back(static_cast<uint8_t>(u >> (8 * i)));
  return *this;
}

Writer& Writer::bytes(const void* data, size_t n) {
  LAMINA_CHECK(n <= UINT32_MAX, ValueError, kOp, "a value of ", n, " bytes is over the 4 GiB limit");
  u32(static_cast<uint32_t>(n));
  const auto* p = static_cast<const uint8_t*>(data);
  data_.insert(data_.end(), p, p + n);
  return *this;
}

void Writer::send(Socket& socket, const char* what) {
  socket.send_all(data_.data(), data_.size(), what);
  data_.clear();
}

uint8_t Reader::u8() {
  uint8_t v;
  socket_.recv_all(&v, 1, deadline_, what_);
  return v;
}

uint32_t Reader::u32() {
  uint8_t b[4];
  socket_.recv_all(b, 4, deadline_, what_);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(b[i]) << (8 * i);
  return v;
}

int64_t Reader::i64() {
  uint8_t b[8];
  socket_.recv_all(b, 8, deadline_, what_);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(b[i]) << (8 * i);
  return static_cast<int64_t>(v);
}

std::vector<uint8_t> Reader::bytes(size_t limit) {
  const uint32_t n = u32();
  LAMINA_CHECK(n <= limit, DistributedError, kOp, what_, ": a field of ", n, " bytes is over its limit of ", limit,
               " (not a lamina store peer, or a corrupt message)");
  std::vector<uint8_t> out(n);
  if (n > 0) socket_.recv_all(out.data(), n, deadline_, what_);
  return out;
}

std::string Reader::str(size_t limit) {
  const std::vector<uint8_t> b = bytes(limit);
  return std::string(b.begin(), b.end());
}

}  // namespace lamina::distributed::net
