// Packet I/O into caller-owned slots (packet_slots.h): read/write loops on TUN queues, and
// sendRaw6, one IPv6 packet on a raw socket (batched UDP I/O is in udp_batch.cc). No allocation,
// no exceptions for I/O errors: each batch function returns the number of slots done (0 on
// EAGAIN), or -errno when the first slot already failed; an error after some slots were done is
// left for the next call to report. Bad arguments (programmer errors) throw.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "packet_slots.h"
#include "register.h"

namespace miredo {
namespace {

constexpr size_t kVnetHeaderBytes = 10;  // struct virtio_net_hdr (tun.cc sets this size)
// What every packet written to a TUN queue with IFF_VNET_HDR starts with: no offload asked.
const uint8_t kZeroVnetHeader[kVnetHeaderBytes] = {};

// readTunBatch(fd, data, slotSize, lengths, max, headers?): one readv() per packet into slots
// 0..n-1 until EAGAIN or max. A packet longer than a slot gets length 0 (slots should be >= MTU,
// or 64 KiB + 40 for a device with segmentation offload). With `headers` (a Uint8Array of 10
// bytes per slot), the queue has IFF_VNET_HDR: each packet's virtio_net_hdr goes there.
Napi::Value ReadTunBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Slots slots;
  size_t max;
  if (!ArgFd(info, 0, &fd) || !ArgSlots(info, 1, &slots) || !ArgMax(info, 4, slots, &max)) return env.Null();
  uint8_t* headers = nullptr;
  if (info.Length() > 5 && !info[5].IsUndefined()) {
    void* cells;
    size_t bytes;
    if (!ArgTypedArray(info, 5, "headers", napi_uint8_array, &cells, &bytes)) return env.Null();
    if (bytes < slots.count * kVnetHeaderBytes) {
      Napi::RangeError::New(env, "headers must hold 10 bytes per slot").ThrowAsJavaScriptException();
      return env.Null();
    }
    headers = static_cast<uint8_t*>(cells);
  }
  // A packet reaching the spare byte did not fit: TUN truncates silently otherwise.
  uint8_t spare;
  struct iovec vectors[3] = {{nullptr, kVnetHeaderBytes}, {nullptr, slots.slotSize}, {&spare, 1}};
  struct iovec* first = headers != nullptr ? vectors : vectors + 1;
  int parts = headers != nullptr ? 3 : 2;
  size_t skip = headers != nullptr ? kVnetHeaderBytes : 0;
  size_t done = 0;
  while (done < max) {
    if (headers != nullptr) vectors[0].iov_base = headers + done * kVnetHeaderBytes;
    vectors[1].iov_base = slots.Slot(done);
    ssize_t length = readv(fd, first, parts);
    if (length < 0) {
      if (errno == EINTR) continue;
      return Napi::Number::New(env, static_cast<double>(Stopped(done, errno)));
    }
    size_t bytes = static_cast<size_t>(length) < skip ? 0 : static_cast<size_t>(length) - skip;
    slots.lengths[done] = bytes > slots.slotSize ? 0 : static_cast<uint32_t>(bytes);
    done++;
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

// writeTunBatch(fd, data, slotSize, lengths, first, count, vnet = false): one write() per packet;
// with `vnet` (a queue with IFF_VNET_HDR), a writev() behind a zero virtio_net_hdr.
Napi::Value WriteTunBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Slots slots;
  size_t first, count;
  if (!ArgFd(info, 0, &fd) || !ArgSlots(info, 1, &slots) || !ArgRange(info, 4, slots, &first, &count)) {
    return env.Null();
  }
  bool vnet = info.Length() > 6 && info[6].IsBoolean() && info[6].As<Napi::Boolean>().Value();
  struct iovec vectors[2] = {{const_cast<uint8_t*>(kZeroVnetHeader), kVnetHeaderBytes}, {nullptr, 0}};
  size_t done = 0;
  while (done < count) {
    size_t slot = first + done;
    ssize_t written;
    if (vnet) {
      vectors[1].iov_base = slots.Slot(slot);
      vectors[1].iov_len = slots.lengths[slot];
      written = writev(fd, vectors, 2);
    } else {
      written = write(fd, slots.Slot(slot), slots.lengths[slot]);
    }
    if (written < 0) {
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
  exports.Set("readTunBatch", Napi::Function::New(env, ReadTunBatch, "readTunBatch"));
  exports.Set("writeTunBatch", Napi::Function::New(env, WriteTunBatch, "writeTunBatch"));
  exports.Set("sendRaw6", Napi::Function::New(env, SendRaw6, "sendRaw6"));
}

}  // namespace miredo
