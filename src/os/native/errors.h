// Turning a failed system call into a JavaScript Error shaped like Node's own
// (code = errno name, errno = negative errno, syscall), and argument checks.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace miredo {

// Throws Error("<syscall> <subject>: <text> (<CODE>)") with .code, .errno and .syscall set.
// `text` defaults to strerror(err).
void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& subject = std::string(),
                const std::string& text = std::string());

// Reads info[index] as an integer in [min, max]; otherwise throws a TypeError/RangeError naming
// `what` and returns false.
bool ArgInteger(const Napi::CallbackInfo& info, size_t index, const char* what, int64_t min, int64_t max,
                int64_t* out);

// A file descriptor argument: an integer in [0, INT32_MAX].
bool ArgFd(const Napi::CallbackInfo& info, size_t index, int* out);

// A string argument.
bool ArgString(const Napi::CallbackInfo& info, size_t index, const char* what, std::string* out);

// A Uint8Array argument of exactly 16 bytes (an IPv6 address), copied into `out`.
bool ArgIpv6(const Napi::CallbackInfo& info, size_t index, const char* what, uint8_t out[16]);

// A typed array of the given element type; gives its data and element count.
bool ArgTypedArray(const Napi::CallbackInfo& info, size_t index, const char* what, napi_typedarray_type type,
                   void** data, size_t* length);

// A function argument.
bool ArgFunction(const Napi::CallbackInfo& info, size_t index, const char* what, Napi::Function* out);

}  // namespace miredo
