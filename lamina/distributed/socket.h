#pragma once
// Blocking TCP sockets for the store: listening, connecting with retries, whole-buffer sends
// and receives under a deadline, and length-prefixed fields read with their sizes checked
// before anything is allocated (the bytes come from another process).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace lamina::distributed::net {

using Clock = std::chrono::steady_clock;

/// An owned socket descriptor, closed on destruction.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { close(); }
  Socket(Socket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  /// The descriptor (-1 when none).
  int fd() const { return fd_; }
  /// True when a descriptor is held.
  bool valid() const { return fd_ >= 0; }
  /// Closes the descriptor.
  void close();
  /// Stops both directions: a thread blocked on the socket returns.
  void shutdown();

  /// Sends all `n` bytes; DistributedError when the peer is gone.
  void send_all(const void* data, size_t n, const char* what);
  /// Receives exactly `n` bytes by `deadline`; DistTimeoutError after it, DistributedError when
  /// the peer closes first.
  void recv_all(void* data, size_t n, Clock::time_point deadline, const char* what);

 private:
  int fd_ = -1;
};

/// A socket listening on `port` of every local address (0: a free port); *bound_port gets
/// the port.
Socket listen_on(uint16_t port, uint16_t* bound_port);
/// Accepts one connection; an invalid socket once the listener was shut down.
Socket accept_from(Socket& listener);
/// Connects to host:port, retrying until `deadline` (the server may not be up yet).
Socket connect_to(const std::string& host, uint16_t port, Clock::time_point deadline);

/// A deadline `timeout` from now, saturating for very long timeouts.
Clock::time_point deadline_after(std::chrono::milliseconds timeout);

/// Builds a message: fixed-width little-endian integers and length-prefixed byte strings.
class Writer {
 public:
  /// Appends one byte.
  Writer& u8(uint8_t v);
  /// Appends a 32-bit unsigned integer.
  Writer& u32(uint32_t v);
  /// Appends a 64-bit signed integer.
  Writer& i64(int64_t v);
  /// Appends a 32-bit length and the bytes.
  Writer& bytes(const void* data, size_t n);
  /// Appends a string as bytes().
  Writer& str(const std::string& s) { return bytes(s.data(), s.size()); }
  /// The message.
  const std::vector<uint8_t>& data() const { return data_; }
  /// Sends the message and clears it.
  void send(Socket& socket, const char* what);

 private:
  std::vector<uint8_t> data_;
};

/// Reads the fields of a message off a socket, each length checked against `limit`.
class Reader {
 public:
  Reader(Socket& socket, Clock::time_point deadline, const char* what)
      : socket_(socket), deadline_(deadline), what_(what) {}
  /// One byte.
  uint8_t u8();
  /// A 32-bit unsigned integer.
  uint32_t u32();
  /// A 64-bit signed integer.
  int64_t i64();
  /// A length-prefixed byte string of at most `limit` bytes (DistributedError when longer).
  std::vector<uint8_t> bytes(size_t limit);
  /// bytes() as a string.
  std::string str(size_t limit);

 private:
  Socket& socket_;
  Clock::time_point deadline_;
  const char* what_;
};

}  // namespace lamina::distributed::net
