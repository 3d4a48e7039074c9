// miredo_native: the kernel calls Node cannot make (TUN, ioctls, socket options, batched
// packet I/O, fd readiness). One module instance per thread (context aware, no globals).
#include <napi.h>

#include "register.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  miredo::RegisterTun(env, exports);
  miredo::RegisterSockets(env, exports);
  miredo::RegisterProcess(env, exports);
  miredo::RegisterPacketIo(env, exports);
  miredo::RegisterUdpBatch(env, exports);
  miredo::RegisterReadiness(env, exports);
  miredo::RegisterMemory(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(miredo_native, Init)
