// Reading the caller's packet slots from a call's arguments (packet_slots.h).
#include "packet_slots.h"

#include <string>

#include "errors.h"

namespace miredo {

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

}  // namespace miredo
