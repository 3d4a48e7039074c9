#include "errors.h"

#include <uv.h>

#include <cmath>
#include <cstring>

namespace miredo {

void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& subject, const std::string& text) {
  char name[64];
  uv_err_name_r(-err, name, sizeof name);
  std::string message = syscall;
  if (!subject.empty()) message += " " + subject;
  message += ": ";
  if (text.empty()) {
    char description[256];
    uv_strerror_r(-err, description, sizeof description);
    message += description;
  } else {
    message += text;
  }
  message += std::string(" (") + name + ")";

  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object object = error.Value();
  object.Set("code", Napi::String::New(env, name));
  object.Set("errno", Napi::Number::New(env, -err));
  object.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
}

bool ArgInteger(const Napi::CallbackInfo& info, size_t index, const char* what, int64_t min, int64_t max,
                int64_t* out) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsNumber()) {
    Napi::TypeError::New(env, std::string(what) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double value = info[index].As<Napi::Number>().DoubleValue();
  if (std::trunc(value) != value || value < static_cast<double>(min) || value > static_cast<double>(max)) {
    Napi::RangeError::New(env, std::string(what) + " must be an integer from " + std::to_string(min) + " to " +
                                   std::to_string(max))
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int64_t>(value);
  return true;
}

bool ArgFd(const Napi::CallbackInfo& info, size_t index, int* out) {
  int64_t value;
  if (!ArgInteger(info, index, "fd", 0, INT32_MAX, &value)) return false;
  *out = static_cast<int>(value);
  return true;
}

bool ArgString(const Napi::CallbackInfo& info, size_t index, const char* what, std::string* out) {
  if (index >= info.Length() || !info[index].IsString()) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must be a string").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[index].As<Napi::String>().Utf8Value();
  return true;
}

bool ArgTypedArray(const Napi::CallbackInfo& info, size_t index, const char* what, napi_typedarray_type type,
                   void** data, size_t* length) {
  napi_env env = info.Env();
  napi_typedarray_type actual;
  if (index < info.Length() && info[index].IsTypedArray() &&
      napi_get_typedarray_info(env, info[index], &actual, length, data, nullptr, nullptr) == napi_ok &&
      actual == type) {
    return true;
  }
  static const char* const names[] = {"Int8Array",    "Uint8Array",   "Uint8ClampedArray", "Int16Array",
                                      "Uint16Array",  "Int32Array",   "Uint32Array",       "Float32Array",
                                      "Float64Array", "BigInt64Array", "BigUint64Array"};
  const char* expected = static_cast<size_t>(type) < sizeof names / sizeof names[0] ? names[type] : "typed array";
  Napi::TypeError::New(env, std::string(what) + " must be a " + expected).ThrowAsJavaScriptException();
  return false;
}

bool ArgIpv6(const Napi::CallbackInfo& info, size_t index, const char* what, uint8_t out[16]) {
  void* data;
  size_t length;
  if (!ArgTypedArray(info, index, what, napi_uint8_array, &data, &length)) return false;
  if (length != 16) {
    Napi::RangeError::New(info.Env(), std::string(what) + " must be 16 bytes").ThrowAsJavaScriptException();
    return false;
  }
  std::memcpy(out, data, 16);
  return true;
}

bool ArgFunction(const Napi::CallbackInfo& info, size_t index, const char* what, Napi::Function* out) {
  if (index >= info.Length() || !info[index].IsFunction()) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must be a function").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[index].As<Napi::Function>();
  return true;
}

}  // namespace miredo
