// The sockets Node cannot open itself: Teredo UDP/IPv4 sockets (SO_REUSEPORT, DF off,
// IP_PKTINFO), local discovery's multicast socket and the service socket's multicast options,
// the server's raw IPv6 socket and the test tools' raw IPv4 socket; plus the listening sockets
// of the control socket and the metrics listener; localPort and closeFd.
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errors.h"
#include "register.h"

namespace miredo {
namespace {

bool SetIntOption(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0;
}

// openUdp4(bindAddress: string, port: number, reusePort: boolean, receiveBufferBytes: number)
// Non-blocking, close-on-exec, DF never set (IP_PMTUDISC_DONT, as RFC 4380 asks), IP_PKTINFO
// on. receiveBufferBytes 0 keeps the default; otherwise SO_RCVBUFFORCE, or SO_RCVBUF (capped
// by net.core.rmem_max) without CAP_NET_ADMIN.
Napi::Value OpenUdp4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string address;
  int64_t port, receiveBuffer;
  if (!ArgString(info, 0, "bindAddress", &address) || !ArgInteger(info, 1, "port", 0, 65535, &port)) {
    return env.Null();
  }
  if (info.Length() < 3 || !info[2].IsBoolean()) {
    Napi::TypeError::New(env, "reusePort must be a boolean").ThrowAsJavaScriptException();
    return env.Null();
  }
  bool reusePort = info[2].As<Napi::Boolean>().Value();
  if (!ArgInteger(info, 3, "receiveBufferBytes", 0, INT32_MAX / 2, &receiveBuffer)) return env.Null();

  struct sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.c_str(), &sin.sin_addr) != 1) {
    ThrowErrno(env, EINVAL, "inet_pton", address, "not an IPv4 address");
    return env.Null();
  }

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket", "AF_INET SOCK_DGRAM");
    return env.Null();
  }
  const char* failed = nullptr;
  if (reusePort && !SetIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1)) {
    failed = "setsockopt(SO_REUSEPORT)";
  } else if (!SetIntOption(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)) {
    failed = "setsockopt(IP_MTU_DISCOVER)";
  } else if (!SetIntOption(fd, IPPROTO_IP, IP_PKTINFO, 1)) {
    failed = "setsockopt(IP_PKTINFO)";
  } else if (receiveBuffer > 0 && !SetIntOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, static_cast<int>(receiveBuffer)) &&
             !SetIntOption(fd, SOL_SOCKET, SO_RCVBUF, static_cast<int>(receiveBuffer))) {
    failed = "setsockopt(SO_RCVBUF)";
  } else if (bind(fd, reinterpret_cast<struct sockaddr*>(&sin), sizeof sin) != 0) {
    failed = "bind";
  }
  if (failed != nullptr) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, failed, address + ":" + std::to_string(port));
    return env.Null();
  }
  return Napi::Number::New(env, fd);
}

bool ParseIpv4(Napi::Env env, const std::string& text, struct in_addr* out) {
  if (inet_pton(AF_INET, text.c_str(), out) == 1) return true;
  ThrowErrno(env, EINVAL, "inet_pton", text, "not an IPv4 address");
  return false;
}

// openMulticast4(group: string, port: number, interfaceAddress: string): local discovery's
// receive socket. Non-blocking, close-on-exec, SO_REUSEADDR (every Teredo client of the host
// binds the same group and port, and each gets a copy), IP_PKTINFO on, bound to group:port so
// that only datagrams sent to the group arrive, and a member of the group on the interface that
// holds interfaceAddress.
Napi::Value OpenMulticast4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string group, interfaceText;
  int64_t port;
  if (!ArgString(info, 0, "group", &group) || !ArgInteger(info, 1, "port", 1, 65535, &port) ||
      !ArgString(info, 2, "interfaceAddress", &interfaceText)) {
    return env.Null();
  }
  struct sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  struct ip_mreqn membership;
  std::memset(&membership, 0, sizeof membership);
  if (!ParseIpv4(env, group, &sin.sin_addr) || !ParseIpv4(env, interfaceText, &membership.imr_address)) {
    return env.Null();
  }
  if (!IN_MULTICAST(ntohl(sin.sin_addr.s_addr))) {
    ThrowErrno(env, EINVAL, "openMulticast4", group, "not a multicast group");
    return env.Null();
  }
  membership.imr_multiaddr = sin.sin_addr;

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket", "AF_INET SOCK_DGRAM");
    return env.Null();
  }
  const char* failed = nullptr;
  if (!SetIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)) {
    failed = "setsockopt(SO_REUSEADDR)";
  } else if (!SetIntOption(fd, IPPROTO_IP, IP_PKTINFO, 1)) {
    failed = "setsockopt(IP_PKTINFO)";
  } else if (bind(fd, reinterpret_cast<struct sockaddr*>(&sin), sizeof sin) != 0) {
    failed = "bind";
  } else if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof membership) != 0) {
    failed = "setsockopt(IP_ADD_MEMBERSHIP)";
  }
  if (failed != nullptr) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, failed, group + ":" + std::to_string(port) + " on " + interfaceText);
    return env.Null();
  }
  return Napi::Number::New(env, fd);
}

// setMulticastSend(fd, interfaceAddress): multicast from this socket leaves by the interface
// that holds interfaceAddress, with TTL 1 (never beyond the link), and loops back to the host's
// other members (other Teredo clients of the same host).
Napi::Value SetMulticastSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  std::string interfaceText;
  if (!ArgFd(info, 0, &fd) || !ArgString(info, 1, "interfaceAddress", &interfaceText)) return env.Undefined();
  struct ip_mreqn source;
  std::memset(&source, 0, sizeof source);
  if (!ParseIpv4(env, interfaceText, &source.imr_address)) return env.Undefined();
  const char* failed = nullptr;
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &source, sizeof source) != 0) {
    failed = "setsockopt(IP_MULTICAST_IF)";
  } else if (!SetIntOption(fd, IPPROTO_IP, IP_MULTICAST_TTL, 1)) {
    failed = "setsockopt(IP_MULTICAST_TTL)";
  } else if (!SetIntOption(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1)) {
    failed = "setsockopt(IP_MULTICAST_LOOP)";
  }
  if (failed != nullptr) ThrowErrno(env, errno, failed, "fd " + std::to_string(fd) + " via " + interfaceText);
  return env.Undefined();
}

// localPort(fd): the bound UDP port (useful after binding port 0).
Napi::Value LocalPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Null();
  struct sockaddr_storage address;
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&address), &length) != 0) {
    ThrowErrno(env, errno, "getsockname", "fd " + std::to_string(fd));
    return env.Null();
  }
  uint16_t port;
  if (address.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<struct sockaddr_in*>(&address)->sin_port);
  } else if (address.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<struct sockaddr_in6*>(&address)->sin6_port);
  } else {
    ThrowErrno(env, EAFNOSUPPORT, "getsockname", "fd " + std::to_string(fd), "not an IP socket");
    return env.Null();
  }
  return Napi::Number::New(env, port);
}

// openRaw6(): socket(AF_INET6, SOCK_RAW, IPPROTO_RAW), non-blocking, close-on-exec.
Napi::Value OpenRaw6(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket", "AF_INET6 SOCK_RAW IPPROTO_RAW");
    return env.Null();
  }
  return Napi::Number::New(env, fd);
}

// openRaw4(): socket(AF_INET, SOCK_RAW, IPPROTO_RAW), non-blocking, close-on-exec. IPPROTO_RAW
// implies IP_HDRINCL: every packet sent carries its own IPv4 header (test tools spoof sources
// with it). The kernel still fills in the header checksum and a zero identification.
Napi::Value OpenRaw4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket", "AF_INET SOCK_RAW IPPROTO_RAW");
    return env.Null();
  }
  return Napi::Number::New(env, fd);
}

// openNetlinkRoute4(): a NETLINK_ROUTE socket subscribed to link changes and IPv4 address and
// route changes (RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE), non-blocking,
// close-on-exec. Read with read(2); the messages are parsed in TypeScript (netlink-route.ts).
Napi::Value OpenNetlinkRoute4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket", "AF_NETLINK NETLINK_ROUTE");
    return env.Null();
  }
  struct sockaddr_nl address;
  std::memset(&address, 0, sizeof address);
  address.nl_family = AF_NETLINK;
  address.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE;
  if (bind(fd, reinterpret_cast<const struct sockaddr*>(&address), sizeof address) != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "bind", "NETLINK_ROUTE groups");
    return env.Null();
  }
  return Napi::Number::New(env, fd);
}

// Listens on a bound stream socket; on failure closes it and throws. Returns the fd or -1.
int ListenOrThrow(Napi::Env env, int fd, const struct sockaddr* address, socklen_t length, int backlog,
                  const std::string& what) {
  const char* failed = nullptr;
  if (address->sa_family != AF_UNIX && !SetIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)) {
    failed = "setsockopt(SO_REUSEADDR)";
  } else if (bind(fd, address, length) != 0) {
    failed = "bind";
  } else if (listen(fd, backlog) != 0) {
    failed = "listen";
  }
  if (failed == nullptr) return fd;
  int err = errno;
  close(fd);
  ThrowErrno(env, err, failed, what);
  return -1;
}

// openUnixListener(path: string, backlog: number): a listening AF_UNIX stream socket bound to
// path (which must not exist), non-blocking, close-on-exec. The file's mode follows the umask.
Napi::Value OpenUnixListener(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  int64_t backlog;
  if (!ArgString(info, 0, "path", &path) || !ArgInteger(info, 1, "backlog", 1, 4096, &backlog)) {
    return env.Null();
  }
  struct sockaddr_un sun;
  std::memset(&sun, 0, sizeof sun);
  if (path.empty() || path.size() >= sizeof sun.sun_path) {
    ThrowErrno(env, ENAMETOOLONG, "bind", path, "a socket path has 1 to 107 bytes");
    return env.Null();
  }
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket", "AF_UNIX SOCK_STREAM");
    return env.Null();
  }
  fd = ListenOrThrow(env, fd, reinterpret_cast<struct sockaddr*>(&sun), sizeof sun, static_cast<int>(backlog),
                     path);
  return fd < 0 ? env.Null() : Napi::Number::New(env, fd);
}

// openTcpListener(address: string, port: number, backlog: number): a listening TCP socket on an
// IPv4 or IPv6 literal, SO_REUSEADDR (a restart rebinds at once), non-blocking, close-on-exec.
Napi::Value OpenTcpListener(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string address;
  int64_t port, backlog;
  if (!ArgString(info, 0, "address", &address) || !ArgInteger(info, 1, "port", 0, 65535, &port) ||
      !ArgInteger(info, 2, "backlog", 1, 4096, &backlog)) {
    return env.Null();
  }
  struct sockaddr_storage storage;
  std::memset(&storage, 0, sizeof storage);
  auto* sin = reinterpret_cast<struct sockaddr_in*>(&storage);
  auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&storage);
  socklen_t length;
  if (inet_pton(AF_INET, address.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    length = sizeof *sin;
  } else if (inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    length = sizeof *sin6;
  } else {
    ThrowErrno(env, EINVAL, "inet_pton", address, "not an IP address");
    return env.Null();
  }
  int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket", "SOCK_STREAM");
    return env.Null();
  }
  fd = ListenOrThrow(env, fd, reinterpret_cast<struct sockaddr*>(&storage), length, static_cast<int>(backlog),
                     address + " port " + std::to_string(port));
  return fd < 0 ? env.Null() : Napi::Number::New(env, fd);
}

// closeFd(fd). EINTR still means closed on Linux, so it is not an error.
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Undefined();
  if (close(fd) != 0 && errno != EINTR) ThrowErrno(env, errno, "close", "fd " + std::to_string(fd));
  return env.Undefined();
}

}  // namespace

void RegisterSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("openUdp4", Napi::Function::New(env, OpenUdp4, "openUdp4"));
  exports.Set("localPort", Napi::Function::New(env, LocalPort, "localPort"));
  exports.Set("openMulticast4", Napi::Function::New(env, OpenMulticast4, "openMulticast4"));
  exports.Set("setMulticastSend", Napi::Function::New(env, SetMulticastSend, "setMulticastSend"));
  exports.Set("openRaw6", Napi::Function::New(env, OpenRaw6, "openRaw6"));
  exports.Set("openRaw4", Napi::Function::New(env, OpenRaw4, "openRaw4"));
  exports.Set("openNetlinkRoute4", Napi::Function::New(env, OpenNetlinkRoute4, "openNetlinkRoute4"));
  exports.Set("openUnixListener", Napi::Function::New(env, OpenUnixListener, "openUnixListener"));
  exports.Set("openTcpListener", Napi::Function::New(env, OpenTcpListener, "openTcpListener"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
}

}  // namespace miredo
