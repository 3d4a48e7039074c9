// TUN device creation and the interface ioctls Miredo's libtun6 uses: MTU, flags, IPv6
// addresses (in6_ifreq) and routes (in6_rtmsg), all through an AF_INET6 datagram socket; and one
// rtnetlink request at a time for what the ioctls cannot say (a route in another table).
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"
#include "register.h"

namespace miredo {
namespace {

constexpr int kMaxQueues = 256;  // the kernel's MAX_TAP_QUEUES
constexpr int64_t kMinIpv6Mtu = 1280;
constexpr int64_t kMaxMtu = 65535;

// <linux/ipv6.h>'s struct in6_ifreq, which glibc does not declare.
struct In6Ifreq {
  struct in6_addr addr;
  uint32_t prefixlen;
  int ifindex;
};
static_assert(sizeof(In6Ifreq) == 24, "in6_ifreq layout");

void CloseAll(const std::vector<int>& fds) {
  for (int fd : fds) close(fd);
}

bool ArgIfname(const Napi::CallbackInfo& info, size_t index, std::string* name) {
  if (!ArgString(info, index, "interface name", name)) return false;
  if (name->empty() || name->size() >= IFNAMSIZ || name->find('\0') != std::string::npos) {
    ThrowErrno(info.Env(), EINVAL, "ioctl", *name, "interface name must have 1 to 15 characters");
    return false;
  }
  return true;
}

void FillIfreqName(struct ifreq* ifr, const std::string& name) {
  std::memset(ifr, 0, sizeof *ifr);
  std::memcpy(ifr->ifr_name, name.data(), name.size());
}

// Runs one ioctl on a fresh AF_INET6 control socket; returns 0 or errno.
int ControlIoctl(unsigned long request, void* argument) {
  int sock = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return errno;
  int result = ioctl(sock, request, argument);
  int err = result < 0 ? errno : 0;
  close(sock);
  return err;
}

// The TUNSETOFFLOAD bits this file asks for; <linux/if_tun.h> before 6.2 lacks the USO ones.
constexpr unsigned kTunCsum = 0x01;
constexpr unsigned kTunTso6 = 0x04;
constexpr unsigned kTunTsoEcn = 0x08;
constexpr unsigned kTunUso6 = 0x40;
constexpr int kVnetHeaderBytes = 10;  // struct virtio_net_hdr, without num_buffers

// Opens `queues` queues of the device (with IFF_VNET_HDR when `vnet`) into *fds; 0 or errno
// (then *fds is closed and empty, and *failed names the call).
int OpenQueues(std::string* name, int64_t queues, bool vnet, std::vector<int>* fds, const char** failed) {
  bool multi = queues > 1;
  for (int64_t q = 0; q < queues; q++) {
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      CloseAll(*fds);
      fds->clear();
      *failed = "open";
      return err;
    }
    fds->push_back(fd);
    struct ifreq ifr;
    FillIfreqName(&ifr, *name);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
    if (multi) ifr.ifr_flags |= IFF_MULTI_QUEUE | (q == 0 ? IFF_TUN_EXCL : 0);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      int err = errno;
      CloseAll(*fds);
      fds->clear();
      *failed = "ioctl(TUNSETIFF)";
      return err;
    }
    name->assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  }
  return 0;
}

// Negotiates offloads on a device opened with IFF_VNET_HDR: checksums and TCP segmentation, with
// UDP segmentation too when the kernel has it (6.2+). Returns the TUN_F_* bits set, or 0 when the
// kernel refused even TSO6 (the caller then reopens the device without a virtio header). A bit in
// `refuse` is refused as the kernel would (EINVAL), for tests of the fallback.
unsigned NegotiateOffloads(int fd, unsigned wanted, unsigned refuse) {
  int size = kVnetHeaderBytes;
  if ((refuse & kTunCsum) != 0 || ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) return 0;
  const unsigned tries[] = {kTunCsum | kTunTso6 | kTunTsoEcn | kTunUso6, kTunCsum | kTunTso6 | kTunTsoEcn,
                            kTunCsum | kTunTso6};
  for (unsigned flags : tries) {
    if ((flags & ~wanted) != 0 || (flags & refuse) != 0) continue;
    if (ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(flags)) == 0) return flags;
  }
  return 0;
}

// openTun(name: string | null, queues: number, offloads = 0, refuse = 0): { name, ifindex, fds,
// offloads }. One queue: a plain IFF_TUN device (a second opener gets EBUSY, as with Miredo).
// More: the first queue is created with IFF_TUN_EXCL, so an existing interface of that name is
// EBUSY instead of silently gaining queues. With `offloads` (TUN_F_* bits wanted), the device
// gets IFF_VNET_HDR and what NegotiateOffloads obtains; when that is nothing, it is reopened
// without a virtio header, and `offloads` in the result is 0.
Napi::Value OpenTun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (info.Length() > 0 && !info[0].IsNull() && !info[0].IsUndefined()) {
    if (!ArgIfname(info, 0, &name)) return env.Null();
  }
  int64_t queues, wanted = 0, refuse = 0;
  if (!ArgInteger(info, 1, "queues", 1, kMaxQueues, &queues)) return env.Null();
  if (info.Length() > 2 && !ArgInteger(info, 2, "offloads", 0, 0xff, &wanted)) return env.Null();
  if (info.Length() > 3 && !ArgInteger(info, 3, "refuse", 0, 0xff, &refuse)) return env.Null();

  std::string requested = name;
  std::vector<int> fds;
  const char* failed = "open";
  unsigned offloads = 0;
  int err = 0;
  if (wanted != 0) {
    err = OpenQueues(&name, queues, true, &fds, &failed);
    if (err == 0) {
      offloads = NegotiateOffloads(fds[0], static_cast<unsigned>(wanted), static_cast<unsigned>(refuse));
      if (offloads == 0) {
        // Nothing to gain from the header: the device goes, and comes back without it.
        CloseAll(fds);
        fds.clear();
        name = requested;
      }
    }
  }
  if (err == 0 && fds.empty()) err = OpenQueues(&name, queues, false, &fds, &failed);
  if (err != 0) {
    ThrowErrno(env, err, failed, std::string(failed) == "open" ? "/dev/net/tun" : (name.empty() ? "tun%d" : name));
    return env.Null();
  }

  unsigned ifindex = if_nametoindex(name.c_str());
  if (ifindex == 0) {
    int lookupErr = errno;
    CloseAll(fds);
    ThrowErrno(env, lookupErr, "if_nametoindex", name);
    return env.Null();
  }

  Napi::Array fdArray = Napi::Array::New(env, fds.size());
  for (size_t i = 0; i < fds.size(); i++) fdArray.Set(static_cast<uint32_t>(i), Napi::Number::New(env, fds[i]));
  Napi::Object result = Napi::Object::New(env);
  result.Set("name", Napi::String::New(env, name));
  result.Set("ifindex", Napi::Number::New(env, ifindex));
  result.Set("fds", fdArray);
  result.Set("offloads", Napi::Number::New(env, offloads));
  return result;
}

// tunHasVnetHeader(fd): whether the TUN queue's packets carry a virtio_net_hdr (IFF_VNET_HDR),
// so that the engine and its workers, which are handed only the descriptor, frame I/O alike.
Napi::Value TunHasVnetHeader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!ArgInteger(info, 0, "fd", 0, INT32_MAX, &fd)) return env.Null();
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  if (ioctl(static_cast<int>(fd), TUNGETIFF, &ifr) < 0) {
    ThrowErrno(env, errno, "ioctl(TUNGETIFF)", "fd " + std::to_string(fd));
    return env.Null();
  }
  return Napi::Boolean::New(env, (ifr.ifr_flags & IFF_VNET_HDR) != 0);
}

// ifNameToIndex(name): number
Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgIfname(info, 0, &name)) return env.Null();
  unsigned ifindex = if_nametoindex(name.c_str());
  if (ifindex == 0) {
    ThrowErrno(env, errno, "if_nametoindex", name);
    return env.Null();
  }
  return Napi::Number::New(env, ifindex);
}

// getMtu(ifname): number
Napi::Value GetMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgIfname(info, 0, &name)) return env.Null();
  struct ifreq ifr;
  FillIfreqName(&ifr, name);
  if (int err = ControlIoctl(SIOCGIFMTU, &ifr)) {
    ThrowErrno(env, err, "ioctl(SIOCGIFMTU)", name);
    return env.Null();
  }
  return Napi::Number::New(env, ifr.ifr_mtu);
}

// setMtu(ifname, mtu): refuses anything outside 1280..65535, like tun6_setMTU.
Napi::Value SetMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgIfname(info, 0, &name)) return env.Undefined();
  int64_t mtu;
  if (!ArgInteger(info, 1, "mtu", INT32_MIN, INT32_MAX, &mtu)) return env.Undefined();
  if (mtu < kMinIpv6Mtu || mtu > kMaxMtu) {
    ThrowErrno(env, EINVAL, "ioctl(SIOCSIFMTU)", name,
               "MTU " + std::to_string(mtu) + " is outside the IPv6 range 1280..65535");
    return env.Undefined();
  }
  struct ifreq ifr;
  FillIfreqName(&ifr, name);
  ifr.ifr_mtu = static_cast<int>(mtu);
  if (int err = ControlIoctl(SIOCSIFMTU, &ifr)) ThrowErrno(env, err, "ioctl(SIOCSIFMTU)", name);
  return env.Undefined();
}

// setLinkUp(ifname, up): point-to-point semantics as tun6_setState: NOARP on, MULTICAST and
// BROADCAST off, UP|RUNNING on or off.
Napi::Value SetLinkUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgIfname(info, 0, &name)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsBoolean()) {
    Napi::TypeError::New(env, "up must be a boolean").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  bool up = info[1].As<Napi::Boolean>().Value();
  struct ifreq ifr;
  FillIfreqName(&ifr, name);
  if (int err = ControlIoctl(SIOCGIFFLAGS, &ifr)) {
    ThrowErrno(env, err, "ioctl(SIOCGIFFLAGS)", name);
    return env.Undefined();
  }
  int flags = (ifr.ifr_flags | IFF_NOARP) & ~(IFF_MULTICAST | IFF_BROADCAST);
  flags = up ? flags | IFF_UP | IFF_RUNNING : flags & ~(IFF_UP | IFF_RUNNING);
  ifr.ifr_flags = static_cast<short>(flags);
  if (int err = ControlIoctl(SIOCSIFFLAGS, &ifr)) ThrowErrno(env, err, "ioctl(SIOCSIFFLAGS)", name);
  return env.Undefined();
}

// (ifindex, address: Uint8Array(16), prefixLen) for SIOCSIFADDR / SIOCDIFADDR.
Napi::Value ChangeAddress(const Napi::CallbackInfo& info, unsigned long request, const char* syscall) {
  Napi::Env env = info.Env();
  int64_t ifindex, prefixLen;
  In6Ifreq req;
  std::memset(&req, 0, sizeof req);
  if (!ArgInteger(info, 0, "ifindex", 1, INT32_MAX, &ifindex) ||
      !ArgIpv6(info, 1, "address", req.addr.s6_addr) || !ArgInteger(info, 2, "prefixLen", 0, 128, &prefixLen)) {
    return env.Undefined();
  }
  req.ifindex = static_cast<int>(ifindex);
  req.prefixlen = static_cast<uint32_t>(prefixLen);
  if (int err = ControlIoctl(request, &req)) ThrowErrno(env, err, syscall, "ifindex " + std::to_string(ifindex));
  return env.Undefined();
}

Napi::Value AddAddress6(const Napi::CallbackInfo& info) {
  return ChangeAddress(info, SIOCSIFADDR, "ioctl(SIOCSIFADDR)");
}

Napi::Value DelAddress6(const Napi::CallbackInfo& info) {
  return ChangeAddress(info, SIOCDIFADDR, "ioctl(SIOCDIFADDR)");
}

// (ifindex, dst: Uint8Array(16), prefixLen, metric) for SIOCADDRT / SIOCDELRT: a route through
// the interface without gateway; the metric is absolute (Miredo passes 1024 + relative).
Napi::Value ChangeRoute(const Napi::CallbackInfo& info, unsigned long request, const char* syscall) {
  Napi::Env env = info.Env();
  int64_t ifindex, prefixLen, metric;
  struct in6_rtmsg rt;
  std::memset(&rt, 0, sizeof rt);
  if (!ArgInteger(info, 0, "ifindex", 1, INT32_MAX, &ifindex) ||
      !ArgIpv6(info, 1, "dst", rt.rtmsg_dst.s6_addr) || !ArgInteger(info, 2, "prefixLen", 0, 128, &prefixLen) ||
      !ArgInteger(info, 3, "metric", 0, UINT32_MAX, &metric)) {
    return env.Undefined();
  }
  rt.rtmsg_ifindex = static_cast<int>(ifindex);
  rt.rtmsg_dst_len = static_cast<uint16_t>(prefixLen);
  rt.rtmsg_metric = static_cast<uint32_t>(metric);
  rt.rtmsg_flags = RTF_UP | (prefixLen == 128 ? RTF_HOST : 0);
  if (int err = ControlIoctl(request, &rt)) ThrowErrno(env, err, syscall, "ifindex " + std::to_string(ifindex));
  return env.Undefined();
}

Napi::Value AddRoute6(const Napi::CallbackInfo& info) {
  return ChangeRoute(info, SIOCADDRT, "ioctl(SIOCADDRT)");
}

Napi::Value DelRoute6(const Napi::CallbackInfo& info) {
  return ChangeRoute(info, SIOCDELRT, "ioctl(SIOCDELRT)");
}

// netlinkRouteRequest(message: Uint8Array): sends one NETLINK_ROUTE request, built and checked by
// route-table.ts with NLM_F_ACK set, and waits (1 s at most) for the kernel's acknowledgement.
// Returns 0 or the positive errno the kernel answered (ESRCH: no such route, ...).
Napi::Value NetlinkRouteRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* data = nullptr;
  size_t length = 0;
  if (!ArgTypedArray(info, 0, "message", napi_uint8_array, &data, &length)) return env.Null();
  if (length < NLMSG_HDRLEN || length > 4096) {
    Napi::RangeError::New(env, "message must be a netlink message of at most 4096 bytes").ThrowAsJavaScriptException();
    return env.Null();
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket", "AF_NETLINK NETLINK_ROUTE");
    return env.Null();
  }
  struct timeval timeout = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  struct sockaddr_nl kernel;
  std::memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, data, length, 0, reinterpret_cast<const struct sockaddr*>(&kernel), sizeof kernel) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "sendto", "NETLINK_ROUTE");
    return env.Null();
  }
  alignas(struct nlmsghdr) char answer[8192];
  ssize_t received = recv(fd, answer, sizeof answer, 0);
  int err = errno;
  close(fd);
  if (received < 0) {
    ThrowErrno(env, err, "recv", "NETLINK_ROUTE");
    return env.Null();
  }
  const struct nlmsghdr* header = reinterpret_cast<const struct nlmsghdr*>(answer);
  if (static_cast<size_t>(received) < NLMSG_LENGTH(sizeof(struct nlmsgerr)) || header->nlmsg_type != NLMSG_ERROR) {
    ThrowErrno(env, EPROTO, "recv", "NETLINK_ROUTE", "no acknowledgement from the kernel");
    return env.Null();
  }
  const struct nlmsgerr* ack = static_cast<const struct nlmsgerr*>(NLMSG_DATA(header));
  return Napi::Number::New(env, ack->error < 0 ? -ack->error : 0);
}

}  // namespace

void RegisterTun(Napi::Env env, Napi::Object exports) {
  exports.Set("openTun", Napi::Function::New(env, OpenTun, "openTun"));
  exports.Set("tunHasVnetHeader", Napi::Function::New(env, TunHasVnetHeader, "tunHasVnetHeader"));
  exports.Set("ifNameToIndex", Napi::Function::New(env, IfNameToIndex, "ifNameToIndex"));
  exports.Set("getMtu", Napi::Function::New(env, GetMtu, "getMtu"));
  exports.Set("setMtu", Napi::Function::New(env, SetMtu, "setMtu"));
  exports.Set("setLinkUp", Napi::Function::New(env, SetLinkUp, "setLinkUp"));
  exports.Set("addAddress6", Napi::Function::New(env, AddAddress6, "addAddress6"));
  exports.Set("delAddress6", Napi::Function::New(env, DelAddress6, "delAddress6"));
  exports.Set("addRoute6", Napi::Function::New(env, AddRoute6, "addRoute6"));
  exports.Set("delRoute6", Napi::Function::New(env, DelRoute6, "delRoute6"));
  exports.Set("netlinkRouteRequest", Napi::Function::New(env, NetlinkRouteRequest, "netlinkRouteRequest"));
}

}  // namespace miredo
