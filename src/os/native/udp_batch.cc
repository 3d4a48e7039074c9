// Batched UDP I/O into caller-owned slots (packet_slots.h): recvmmsg, and sendmmsg with UDP GSO
// on request. No allocation, no exceptions for I/O errors: each batch function returns the number
// of slots done (0 on EAGAIN), or -errno when the first slot already failed; an error after some
// slots were done is left for the next call to report. Bad arguments (programmer errors) throw.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "errors.h"
#include "packet_slots.h"
#include "register.h"

namespace miredo {
namespace {

// Messages per recvmmsg/sendmmsg call; larger requests loop.
constexpr unsigned kChunk = 64;

// UDP GSO (UDP_SEGMENT, Linux 4.18+): consecutive slots with one destination and one length go
// as ONE message, an iovec per slot (no copy) and a cmsg giving the segment size; the kernel
// cuts it into datagrams after routing, so most per-datagram work is done once per message.
// Limits: UDP_MAX_SEGMENTS (64; recent kernels allow 128) segments, and one message's payload
// must fit an IPv4 datagram (65535 - 20 - 8 = 65507 bytes); 65000 keeps clear of that bound.
constexpr unsigned kMaxSegments = 64;
constexpr size_t kMaxSegmentBytes = 65000;

// The caller's GSO state, a Float64Array (packet-io.ts createUdpGso): read and updated here.
enum GsoCell : size_t {
  kGsoEnabled,      // 1: may merge slots; set to 0 for good when the kernel refuses UDP_SEGMENT
  kGsoMessages,     // messages sent with UDP_SEGMENT
  kGsoSegments,     // datagrams those messages carried
  kGsoRefused,      // UDP_SEGMENT messages the kernel refused (each went again as plain datagrams)
  kGsoTestRefuse,   // test hook: malform the cmsg of this many next GSO messages (the kernel says EINVAL)
  kGsoCells
};

// Errors that may mean the socket or route cannot do UDP GSO at all: EIO (IPsec/xfrm routes;
// no checksum offload on older kernels), EINVAL (SO_NO_CHECK), ENOPROTOOPT/EOPNOTSUPP. They are
// taken to mean that only when the plain retry then goes out: EINVAL is also what a datagram to
// port 0 gets, and that must not cost anyone else GSO. Other errors (EMSGSIZE: a segment above
// the device MTU, which a plain send fragments; routing errors) only cost the one message.
bool MayRefuseGso(int err) {
  return err == EIO || err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP;
}

// recvUdpBatch(fd, data, slotSize, lengths, addresses: Uint32Array, ports: Uint16Array,
//              localAddresses: Uint32Array, max): fills slots 0..n-1 with datagrams, their
// source address/port (host-order numbers) and the destination address they were sent to
// (IP_PKTINFO). A datagram longer than a slot gets length 0: truncated data is never useful.
Napi::Value RecvUdpBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Slots slots;
  void *addresses, *ports, *locals;
  size_t max;
  if (!ArgFd(info, 0, &fd) || !ArgSlots(info, 1, &slots) ||
      !ArgSlotArray(info, 4, "addresses", napi_uint32_array, slots.count, &addresses) ||
      !ArgSlotArray(info, 5, "ports", napi_uint16_array, slots.count, &ports) ||
      !ArgSlotArray(info, 6, "localAddresses", napi_uint32_array, slots.count, &locals) ||
      !ArgMax(info, 7, slots, &max)) {
    return env.Null();
  }
  uint32_t* sourceAddresses = static_cast<uint32_t*>(addresses);
  uint16_t* sourcePorts = static_cast<uint16_t*>(ports);
  uint32_t* localAddresses = static_cast<uint32_t*>(locals);

  struct mmsghdr messages[kChunk];
  struct iovec vectors[kChunk];
  struct sockaddr_in sources[kChunk];
  union Control {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(struct in_pktinfo))];
  } controls[kChunk];

  size_t done = 0;
  while (done < max) {
    unsigned n = static_cast<unsigned>(std::min<size_t>(kChunk, max - done));
    for (unsigned i = 0; i < n; i++) {
      vectors[i].iov_base = slots.Slot(done + i);
      vectors[i].iov_len = slots.slotSize;
      std::memset(&messages[i], 0, sizeof messages[i]);
      messages[i].msg_hdr.msg_name = &sources[i];
      messages[i].msg_hdr.msg_namelen = sizeof sources[i];
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_control = controls[i].bytes;
      messages[i].msg_hdr.msg_controllen = sizeof controls[i].bytes;
    }
    int received = recvmmsg(fd, messages, n, MSG_DONTWAIT, nullptr);
    if (received < 0) {
      if (errno == EINTR) continue;
      return Napi::Number::New(env, static_cast<double>(Stopped(done, errno)));
    }
    for (int i = 0; i < received; i++) {
      size_t slot = done + static_cast<size_t>(i);
      const struct msghdr& header = messages[i].msg_hdr;
      slots.lengths[slot] = (header.msg_flags & MSG_TRUNC) ? 0 : messages[i].msg_len;
      bool isIpv4 = header.msg_namelen >= sizeof(struct sockaddr_in) && sources[i].sin_family == AF_INET;
      sourceAddresses[slot] = isIpv4 ? ntohl(sources[i].sin_addr.s_addr) : 0;
      sourcePorts[slot] = isIpv4 ? ntohs(sources[i].sin_port) : 0;
      localAddresses[slot] = 0;
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr;
           c = CMSG_NXTHDR(const_cast<struct msghdr*>(&header), c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
          struct in_pktinfo pktinfo;
          std::memcpy(&pktinfo, CMSG_DATA(c), sizeof pktinfo);
          localAddresses[slot] = ntohl(pktinfo.ipi_addr.s_addr);
        }
      }
    }
    done += static_cast<size_t>(received);
    if (static_cast<unsigned>(received) < n) break;
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

// How many slots from `slot` on (at most `limit`) one GSO message can carry: the slots must
// follow each other with the same destination and the same non-zero length (only the last
// segment of a message may be shorter; equal lengths keep every datagram's boundary), within
// the segment count and byte limits. Only consecutive slots merge, so messages cover
// contiguous slot ranges in order and "n slots sent" keeps its meaning.
unsigned SegmentRun(const Slots& slots, const uint32_t* addresses, const uint16_t* ports, size_t slot,
                    unsigned limit) {
  const uint32_t length = slots.lengths[slot];
  if (length == 0) return 1;
  const unsigned most = static_cast<unsigned>(std::min<size_t>({limit, kMaxSegments, kMaxSegmentBytes / length}));
  unsigned run = 1;
  while (run < most && slots.lengths[slot + run] == length && addresses[slot + run] == addresses[slot] &&
         ports[slot + run] == ports[slot]) {
    run++;
  }
  return run;
}

// sendUdpBatch(fd, data, slotSize, lengths, addresses: Uint32Array, ports: Uint16Array,
//              first, count, gso?: Float64Array): sends slots first..first+count-1 to their
// address/port. With a GSO state whose kGsoEnabled is set (only ever for a UDP socket, see
// udpGsoSupported), runs of equal consecutive slots go as UDP_SEGMENT messages; a message the
// kernel refuses is sent again as plain datagrams at once, and GSO is switched off in the state
// when the refusal means it cannot work (see MayRefuseGso). The result counts SLOTS, in order.
Napi::Value SendUdpBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Slots slots;
  void *addresses, *ports;
  size_t first, count;
  if (!ArgFd(info, 0, &fd) || !ArgSlots(info, 1, &slots) ||
      !ArgSlotArray(info, 4, "addresses", napi_uint32_array, slots.count, &addresses) ||
      !ArgSlotArray(info, 5, "ports", napi_uint16_array, slots.count, &ports) ||
      !ArgRange(info, 6, slots, &first, &count)) {
    return env.Null();
  }
  double* gso = nullptr;
  if (info.Length() > 8 && !info[8].IsUndefined()) {
    void* cells;
    if (!ArgSlotArray(info, 8, "gso", napi_float64_array, kGsoCells, &cells)) return env.Null();
    gso = static_cast<double*>(cells);
  }
  const uint32_t* destinationAddresses = static_cast<const uint32_t*>(addresses);
  const uint16_t* destinationPorts = static_cast<const uint16_t*>(ports);

  // One round: up to kChunk slots, one iovec each, in up to kChunk messages.
  struct mmsghdr messages[kChunk];
  struct iovec vectors[kChunk];
  struct sockaddr_in destinations[kChunk];
  union SegmentControl {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(uint16_t))];
  } controls[kChunk];
  unsigned slotsIn[kChunk];

  bool merge = gso != nullptr && gso[kGsoEnabled] != 0;
  // Slots below this (relative to first) go as plain datagrams: a refused message's retry.
  size_t plainUntil = 0;
  // A refusal that switches GSO off if the plain retry goes out.
  bool refusalToConfirm = false;
  size_t done = 0;
  while (done < count) {
    const unsigned window = static_cast<unsigned>(std::min<size_t>(kChunk, count - done));
    unsigned n = 0;
    for (unsigned i = 0; i < window; n++) {
      const size_t slot = first + done + i;
      const unsigned run = merge && done + i >= plainUntil
                               ? SegmentRun(slots, destinationAddresses, destinationPorts, slot, window - i)
                               : 1;
      for (unsigned k = 0; k < run; k++) {
        vectors[i + k].iov_base = slots.Slot(slot + k);
        vectors[i + k].iov_len = slots.lengths[slot + k];
      }
      std::memset(&destinations[n], 0, sizeof destinations[n]);
      destinations[n].sin_family = AF_INET;
      destinations[n].sin_addr.s_addr = htonl(destinationAddresses[slot]);
      destinations[n].sin_port = htons(destinationPorts[slot]);
      std::memset(&messages[n], 0, sizeof messages[n]);
      struct msghdr& header = messages[n].msg_hdr;
      header.msg_name = &destinations[n];
      header.msg_namelen = sizeof destinations[n];
      header.msg_iov = &vectors[i];
      header.msg_iovlen = run;
      if (run > 1) {
        header.msg_control = controls[n].bytes;
        header.msg_controllen = sizeof controls[n].bytes;
        struct cmsghdr* control = CMSG_FIRSTHDR(&header);
        control->cmsg_level = SOL_UDP;
        control->cmsg_type = UDP_SEGMENT;
        control->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        if (gso[kGsoTestRefuse] > 0) {
          gso[kGsoTestRefuse] -= 1;
          control->cmsg_len = CMSG_LEN(sizeof(uint32_t));
        }
        const uint16_t segmentSize = static_cast<uint16_t>(slots.lengths[slot]);
        std::memcpy(CMSG_DATA(control), &segmentSize, sizeof segmentSize);
      }
      slotsIn[n] = run;
      i += run;
    }
    const int sent = sendmmsg(fd, messages, n, MSG_DONTWAIT);
    if (sent < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (slotsIn[0] > 1 && !IsWouldBlock(err)) {
        gso[kGsoRefused] += 1;
        plainUntil = done + slotsIn[0];
        if (MayRefuseGso(err)) {
          merge = false;
          refusalToConfirm = true;
        }
        continue;
      }
      // The plain retry failed too, if there was one: the datagrams were the problem, not GSO.
      return Napi::Number::New(env, static_cast<double>(Stopped(done, err)));
    }
    if (refusalToConfirm) {
      gso[kGsoEnabled] = 0;
      refusalToConfirm = false;
    }
    for (int m = 0; m < sent; m++) {
      done += slotsIn[m];
      if (slotsIn[m] > 1) {
        gso[kGsoMessages] += 1;
        gso[kGsoSegments] += slotsIn[m];
      }
    }
    if (static_cast<unsigned>(sent) < n) {
      // sendmmsg stops at a failing message and keeps its error. A GSO message gets tried again
      // now, so that a refusal is met with plain datagrams; otherwise the next call reports it.
      if (slotsIn[sent] > 1) continue;
      break;
    }
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

// udpGsoSupported(fd): whether fd is a UDP socket on a kernel that knows UDP_SEGMENT. A kernel
// that does not would ignore the cmsg and send a GSO message as ONE datagram of all its
// segments, and so would a raw socket: never pass a GSO state for a socket that fails this.
Napi::Value UdpGsoSupported(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Null();
  int segmentSize = 0;
  socklen_t size = sizeof segmentSize;
  return Napi::Boolean::New(env, getsockopt(fd, SOL_UDP, UDP_SEGMENT, &segmentSize, &size) == 0);
}

}  // namespace

void RegisterUdpBatch(Napi::Env env, Napi::Object exports) {
  exports.Set("recvUdpBatch", Napi::Function::New(env, RecvUdpBatch, "recvUdpBatch"));
  exports.Set("sendUdpBatch", Napi::Function::New(env, SendUdpBatch, "sendUdpBatch"));
  exports.Set("udpGsoSupported", Napi::Function::New(env, UdpGsoSupported, "udpGsoSupported"));
}

}  // namespace miredo
