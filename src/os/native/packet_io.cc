// Batched packet I/O into caller-owned slots: recvmmsg/sendmmsg on UDP sockets, read/write
// loops on TUN queues; and sendRaw6, one IPv6 packet on a raw socket. No allocation, no
// exceptions for I/O errors: each batch function returns the number of slots done (0 on
// EAGAIN), or -errno when the first slot already failed; an error after some slots were done
// is left for the next call to report. Bad arguments (programmer errors) throw.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "errors.h"
#include "register.h"

namespace miredo {
namespace {

// Messages per recvmmsg/sendmmsg call; larger requests loop.
constexpr unsigned kChunk = 64;

// The caller's slot buffer: slot i is data[i * slotSize, (i + 1) * slotSize).
struct Slots {
  uint8_t* data = nullptr;
  size_t slotSize = 0;
  size_t count = 0;
  uint32_t* lengths = nullptr;

  uint8_t* Slot(size_t i) const { return data + i * slotSize; }
};

// Reads (data: Uint8Array, slotSize, lengths: Uint32Array) starting at info[index].
bool ArgSlots(const Napi::CallbackInfo& info, size_t index, Slots* slots) {
  void* data;
  void* lengths;
  size_t dataLength, lengthsLength;
  int64_t slotSize;
  if (!ArgTypedArray(info, index, "data", napi_uint8_array, &data, &dataLength) ||
      !ArgInteger(info, index + 1, "slotSize", 1, 1 << 20, &slotSize) ||
      !ArgTypedArray(info, index + 2, "lengths", napi_uint32_array, &lengths, &lengthsLength)) {
    return false;
  }
  slots->data = static_cast<uint8_t*>(data);
  slots->slotSize = static_cast<size_t>(slotSize);
  slots->count = dataLength / slots->slotSize;
  slots->lengths = static_cast<uint32_t*>(lengths);
  if (lengthsLength < slots->count) {
    Napi::RangeError::New(info.Env(), "lengths has fewer elements than the batch has slots")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// A per-slot metadata array with at least `count` elements.
bool ArgSlotArray(const Napi::CallbackInfo& info, size_t index, const char* what, napi_typedarray_type type,
                  size_t count, void** out) {
  size_t length;
  if (!ArgTypedArray(info, index, what, type, out, &length)) return false;
  if (length < count) {
    Napi::RangeError::New(info.Env(), std::string(what) + " has fewer elements than the batch has slots")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// (first, count) at info[index]: a range of slots.
bool ArgRange(const Napi::CallbackInfo& info, size_t index, const Slots& slots, size_t* first, size_t* count) {
  int64_t f, c;
  if (!ArgInteger(info, index, "first", 0, static_cast<int64_t>(slots.count), &f) ||
      !ArgInteger(info, index + 1, "count", 0, static_cast<int64_t>(slots.count) - f, &c)) {
    return false;
  }
  *first = static_cast<size_t>(f);
  *count = static_cast<size_t>(c);
  for (size_t i = *first; i < *first + *count; i++) {
    if (slots.lengths[i] > slots.slotSize) {
      Napi::RangeError::New(info.Env(), "lengths[" + std::to_string(i) + "] exceeds slotSize")
          .ThrowAsJavaScriptException();
      return false;
    }
  }
  return true;
}

bool ArgMax(const Napi::CallbackInfo& info, size_t index, const Slots& slots, size_t* max) {
  int64_t m;
  if (!ArgInteger(info, index, "max", 0, static_cast<int64_t>(slots.count), &m)) return false;
  *max = static_cast<size_t>(m);
  return true;
}

bool IsWouldBlock(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

// What a batch call returns after an error: the slots done so far, or -errno if none.
int64_t Stopped(size_t done, int err) {
  if (done > 0 || IsWouldBlock(err)) return static_cast<int64_t>(done);
  return -static_cast<int64_t>(err);
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

// sendUdpBatch(fd, data, slotSize, lengths, addresses: Uint32Array, ports: Uint16Array,
//              first, count): sends slots first..first+count-1 to their address/port.
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
  const uint32_t* destinationAddresses = static_cast<const uint32_t*>(addresses);
  const uint16_t* destinationPorts = static_cast<const uint16_t*>(ports);

  struct mmsghdr messages[kChunk];
  struct iovec vectors[kChunk];
  struct sockaddr_in destinations[kChunk];

  size_t done = 0;
  while (done < count) {
    unsigned n = static_cast<unsigned>(std::min<size_t>(kChunk, count - done));
    for (unsigned i = 0; i < n; i++) {
      size_t slot = first + done + i;
      std::memset(&destinations[i], 0, sizeof destinations[i]);
      destinations[i].sin_family = AF_INET;
      destinations[i].sin_addr.s_addr = htonl(destinationAddresses[slot]);
      destinations[i].sin_port = htons(destinationPorts[slot]);
      vectors[i].iov_base = slots.Slot(slot);
      vectors[i].iov_len = slots.lengths[slot];
      std::memset(&messages[i], 0, sizeof messages[i]);
      messages[i].msg_hdr.msg_name = &destinations[i];
      messages[i].msg_hdr.msg_namelen = sizeof destinations[i];
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = sendmmsg(fd, messages, n, MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return Napi::Number::New(env, static_cast<double>(Stopped(done, errno)));
    }
    done += static_cast<size_t>(sent);
    if (static_cast<unsigned>(sent) < n) break;
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

// readTunBatch(fd, data, slotSize, lengths, max): one readv() per packet into slots 0..n-1
// until EAGAIN or max. A packet longer than a slot gets length 0 (slots should be >= MTU).
Napi::Value ReadTunBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Slots slots;
  size_t max;
  if (!ArgFd(info, 0, &fd) || !ArgSlots(info, 1, &slots) || !ArgMax(info, 4, slots, &max)) return env.Null();
  // A packet reaching the spare byte did not fit: TUN truncates silently otherwise.
  uint8_t spare;
  struct iovec vectors[2] = {{nullptr, slots.slotSize}, {&spare, 1}};
  size_t done = 0;
  while (done < max) {
    vectors[0].iov_base = slots.Slot(done);
    ssize_t length = readv(fd, vectors, 2);
    if (length < 0) {
      if (errno == EINTR) continue;
      return Napi::Number::New(env, static_cast<double>(Stopped(done, errno)));
    }
    slots.lengths[done] = static_cast<size_t>(length) > slots.slotSize ? 0 : static_cast<uint32_t>(length);
    done++;
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

// writeTunBatch(fd, data, slotSize, lengths, first, count): one write() per packet.
Napi::Value WriteTunBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Slots slots;
  size_t first, count;
  if (!ArgFd(info, 0, &fd) || !ArgSlots(info, 1, &slots) || !ArgRange(info, 4, slots, &first, &count)) {
    return env.Null();
  }
  size_t done = 0;
  while (done < count) {
    size_t slot = first + done;
    if (write(fd, slots.Slot(slot), slots.lengths[slot]) < 0) {
      if (errno == EINTR) continue;
      return Napi::Number::New(env, static_cast<double>(Stopped(done, errno)));
    }
    done++;
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

// sendRaw6(fd, bytes: Uint8Array, offset, length): sends bytes[offset, offset + length), a
// whole IPv6 packet, on a raw IPPROTO_RAW IPv6 socket to the packet's own destination (header
// bytes 24..40). Returns the bytes sent or -errno (-EINVAL when shorter than an IPv6 header).
Napi::Value SendRaw6(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  void* data;
  size_t size;
  int64_t offset, length;
  if (!ArgFd(info, 0, &fd) || !ArgTypedArray(info, 1, "bytes", napi_uint8_array, &data, &size) ||
      !ArgInteger(info, 2, "offset", 0, static_cast<int64_t>(size), &offset) ||
      !ArgInteger(info, 3, "length", 0, static_cast<int64_t>(size) - offset, &length)) {
    return env.Null();
  }
  constexpr int64_t kIpv6HeaderBytes = 40;
  constexpr size_t kDestinationOffset = 24;
  if (length < kIpv6HeaderBytes) return Napi::Number::New(env, -EINVAL);
  const uint8_t* packet = static_cast<const uint8_t*>(data) + offset;
  struct sockaddr_in6 destination;
  std::memset(&destination, 0, sizeof destination);
  destination.sin6_family = AF_INET6;
  std::memcpy(&destination.sin6_addr, packet + kDestinationOffset, sizeof destination.sin6_addr);
  for (;;) {
    ssize_t sent = sendto(fd, packet, static_cast<size_t>(length), MSG_DONTWAIT,
                          reinterpret_cast<const struct sockaddr*>(&destination), sizeof destination);
    if (sent >= 0) return Napi::Number::New(env, static_cast<double>(sent));
    if (errno != EINTR) return Napi::Number::New(env, -errno);
  }
}

}  // namespace

void RegisterPacketIo(Napi::Env env, Napi::Object exports) {
  exports.Set("recvUdpBatch", Napi::Function::New(env, RecvUdpBatch, "recvUdpBatch"));
  exports.Set("sendUdpBatch", Napi::Function::New(env, SendUdpBatch, "sendUdpBatch"));
  exports.Set("readTunBatch", Napi::Function::New(env, ReadTunBatch, "readTunBatch"));
  exports.Set("writeTunBatch", Napi::Function::New(env, WriteTunBatch, "writeTunBatch"));
  exports.Set("sendRaw6", Napi::Function::New(env, SendRaw6, "sendRaw6"));
}

}  // namespace miredo
