// Each source file adds its functions to the module's exports.
#pragma once

#include <napi.h>

namespace miredo {

void RegisterTun(Napi::Env env, Napi::Object exports);
void RegisterSockets(Napi::Env env, Napi::Object exports);
void RegisterProcess(Napi::Env env, Napi::Object exports);
void RegisterPacketIo(Napi::Env env, Napi::Object exports);
void RegisterUdpBatch(Napi::Env env, Napi::Object exports);
void RegisterReadiness(Napi::Env env, Napi::Object exports);
void RegisterMemory(Napi::Env env, Napi::Object exports);

}  // namespace miredo
