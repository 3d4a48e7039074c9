// The caller's packet slots, as the batch functions (udp_batch.cc, packet_io.cc) take them from
// JavaScript (packet-batch.ts): one buffer of fixed-size slots and per-slot metadata arrays, and
// what a batch call returns.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace miredo {

// The caller's slot buffer: slot i is data[i * slotSize, (i + 1) * slotSize).
struct Slots {
  uint8_t* data = nullptr;
  size_t slotSize = 0;
  size_t count = 0;
  uint32_t* lengths = nullptr;

  uint8_t* Slot(size_t i) const { return data + i * slotSize; }
};

// Reads (data: Uint8Array, slotSize, lengths: Uint32Array) starting at info[index].
bool ArgSlots(const Napi::CallbackInfo& info, size_t index, Slots* slots);

// A per-slot metadata array with at least `count` elements.
bool ArgSlotArray(const Napi::CallbackInfo& info, size_t index, const char* what, napi_typedarray_type type,
                  size_t count, void** out);

// (first, count) at info[index]: a range of slots.
bool ArgRange(const Napi::CallbackInfo& info, size_t index, const Slots& slots, size_t* first, size_t* count);

bool ArgMax(const Napi::CallbackInfo& info, size_t index, const Slots& slots, size_t* max);

inline bool IsWouldBlock(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

// What a batch call returns after an error: the slots done so far, or -errno if none.
inline int64_t Stopped(size_t done, int err) {
  if (done > 0 || IsWouldBlock(err)) return static_cast<int64_t>(done);
  return -static_cast<int64_t>(err);
}

}  // namespace miredo
