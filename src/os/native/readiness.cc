// File-descriptor readiness through uv_poll on the event loop of the calling thread (main
// thread or worker_thread). JavaScript refers to a watcher by a number; a per-thread registry
// maps it to the native state, so a stale or repeated stop() is harmless. A watcher lives until
// its uv handle is closed: by stop(), or by the thread's teardown (async cleanup hook).
#include <uv.h>

#include <cstdint>
#include <unordered_map>

#include "errors.h"
#include "register.h"

namespace miredo {
namespace {

struct Watcher;

struct Registry {
  std::unordered_map<uint32_t, Watcher*> watchers;
  uint32_t nextId = 1;
};

struct Watcher {
  uv_poll_t handle;
  napi_env env = nullptr;
  Registry* registry = nullptr;
  uint32_t id = 0;
  napi_ref callback = nullptr;
  napi_async_context asyncContext = nullptr;
  napi_async_cleanup_hook_handle cleanupHook = nullptr;
  bool closing = false;
};

constexpr int kAllEvents = UV_READABLE | UV_WRITABLE;

Registry* GetRegistry(Napi::Env env) {
  Registry* registry = env.GetInstanceData<Registry>();
  if (registry == nullptr) {
    registry = new Registry();
    env.SetInstanceData(registry);
  }
  return registry;
}

void OnClose(uv_handle_t* handle) {
  Watcher* watcher = static_cast<Watcher*>(handle->data);
  watcher->registry->watchers.erase(watcher->id);
  napi_delete_reference(watcher->env, watcher->callback);
  napi_async_destroy(watcher->env, watcher->asyncContext);
  napi_remove_async_cleanup_hook(watcher->cleanupHook);
  delete watcher;
}

void Close(Watcher* watcher) {
  if (watcher->closing) return;
  watcher->closing = true;
  uv_poll_stop(&watcher->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&watcher->handle), OnClose);
}

void OnTeardown(napi_async_cleanup_hook_handle, void* data) {
  Close(static_cast<Watcher*>(data));
}

// Calls callback(status, events): status 0 or a negative errno (libuv then stopped polling).
void OnPoll(uv_poll_t* handle, int status, int events) {
  Watcher* watcher = static_cast<Watcher*>(handle->data);
  if (watcher->closing) return;
  napi_env env = watcher->env;
  Napi::HandleScope scope(env);
  napi_value callback, receiver, result;
  napi_value argv[2];
  if (napi_get_reference_value(env, watcher->callback, &callback) != napi_ok || callback == nullptr) return;
  napi_get_global(env, &receiver);  // napi_make_callback wants an object
  napi_create_int32(env, status, &argv[0]);
  napi_create_int32(env, events, &argv[1]);
  if (napi_make_callback(env, watcher->asyncContext, receiver, callback, 2, argv, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }
}

bool ArgEvents(const Napi::CallbackInfo& info, size_t index, int* events) {
  int64_t value;
  if (!ArgInteger(info, index, "events", 1, kAllEvents, &value)) return false;
  *events = static_cast<int>(value);
  return true;
}

Watcher* FindWatcher(const Napi::CallbackInfo& info) {
  int64_t id;
  if (!ArgInteger(info, 0, "watcher id", 0, UINT32_MAX, &id)) return nullptr;
  Registry* registry = GetRegistry(info.Env());
  auto found = registry->watchers.find(static_cast<uint32_t>(id));
  return found == registry->watchers.end() || found->second->closing ? nullptr : found->second;
}

// watchFd(fd, events: 1 readable | 2 writable, callback(status, events)): watcher id.
Napi::Value WatchFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, events;
  Napi::Function callback;
  if (!ArgFd(info, 0, &fd) || !ArgEvents(info, 1, &events) || !ArgFunction(info, 2, "callback", &callback)) {
    return env.Null();
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "no event loop on this thread").ThrowAsJavaScriptException();
    return env.Null();
  }
  Watcher* watcher = new Watcher();
  watcher->env = env;
  watcher->handle.data = watcher;
  int err = uv_poll_init(loop, &watcher->handle, fd);
  if (err != 0) {
    delete watcher;  // uv_poll_init registers nothing on failure
    ThrowErrno(env, -err, "uv_poll_init", "fd " + std::to_string(fd));
    return env.Null();
  }
  Registry* registry = GetRegistry(env);
  watcher->registry = registry;
  watcher->id = registry->nextId++;
  if (registry->nextId == 0) registry->nextId = 1;
  registry->watchers[watcher->id] = watcher;
  napi_create_reference(env, callback, 1, &watcher->callback);
  napi_async_init(env, nullptr, Napi::String::New(env, "MiredoFdWatcher"), &watcher->asyncContext);
  napi_add_async_cleanup_hook(env, OnTeardown, watcher, &watcher->cleanupHook);

  err = uv_poll_start(&watcher->handle, events, OnPoll);
  if (err != 0) {
    Close(watcher);
    ThrowErrno(env, -err, "uv_poll_start", "fd " + std::to_string(fd));
    return env.Null();
  }
  return Napi::Number::New(env, watcher->id);
}

// watchSetEvents(id, events): changes what a live watcher waits for.
Napi::Value WatchSetEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Watcher* watcher = FindWatcher(info);
  int events;
  if (env.IsExceptionPending() || !ArgEvents(info, 1, &events)) return env.Undefined();
  if (watcher == nullptr) {
    ThrowErrno(env, EBADF, "uv_poll_start", "", "watcher already stopped");
    return env.Undefined();
  }
  int err = uv_poll_start(&watcher->handle, events, OnPoll);
  if (err != 0) ThrowErrno(env, -err, "uv_poll_start");
  return env.Undefined();
}

// watchStop(id): stops and releases a watcher; no effect if already stopped.
Napi::Value WatchStop(const Napi::CallbackInfo& info) {
  Watcher* watcher = FindWatcher(info);
  if (watcher != nullptr) Close(watcher);
  return info.Env().Undefined();
}

}  // namespace

void RegisterReadiness(Napi::Env env, Napi::Object exports) {
  exports.Set("watchFd", Napi::Function::New(env, WatchFd, "watchFd"));
  exports.Set("watchSetEvents", Napi::Function::New(env, WatchSetEvents, "watchSetEvents"));
  exports.Set("watchStop", Napi::Function::New(env, WatchStop, "watchStop"));
}

}  // namespace miredo
