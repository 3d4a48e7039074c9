// Memory advice: transparent huge pages for the shared peer table.
//
// A million peers make a table of about 77 MB read at random by every data-plane worker: with
// 4 KiB pages nearly every lookup also misses the TLB and walks the page tables. The machines
// we run on default to THP "madvise", so the table asks for huge pages itself.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "errors.h"
#include "register.h"

namespace miredo {
namespace {

constexpr uintptr_t kHugePageBytes = 2u << 20;

// adviseHugePages(bytes: Uint8Array): madvise(MADV_HUGEPAGE) on the 2 MiB-aligned part of the
// array's memory (a view of a SharedArrayBuffer works too). Returns the bytes advised (0 when
// the array spans no whole huge page), or -errno when the kernel refuses (EINVAL: no THP).
// Advice only: pages already faulted in stay small until khugepaged merges them.
Napi::Value AdviseHugePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* data;
  size_t length;
  if (!ArgTypedArray(info, 0, "bytes", napi_uint8_array, &data, &length)) return env.Undefined();
  const uintptr_t start = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (start + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  const uintptr_t end = (start + length) & ~(kHugePageBytes - 1);
  if (end <= first) return Napi::Number::New(env, 0);
  if (madvise(reinterpret_cast<void*>(first), end - first, MADV_HUGEPAGE) != 0) {
    return Napi::Number::New(env, -errno);
  }
  return Napi::Number::New(env, static_cast<double>(end - first));
}

}  // namespace

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("adviseHugePages", Napi::Function::New(env, AdviseHugePages, "adviseHugePages"));
}

}  // namespace miredo
