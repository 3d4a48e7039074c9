// Process-level calls the posix package lacks: dropping supplementary groups, no_new_privs,
// and the PID file's write lock.
#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errors.h"
#include "register.h"

namespace miredo {
namespace {

// setGroupsEmpty(): setgroups(0, NULL). glibc applies it to every thread of the process.
Napi::Value SetGroupsEmpty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (setgroups(0, nullptr) != 0) ThrowErrno(env, errno, "setgroups");
  return env.Undefined();
}

// setNoNewPrivs(): prctl(PR_SET_NO_NEW_PRIVS, 1). Per thread: it covers the calling thread and
// the threads and processes it creates afterwards.
Napi::Value SetNoNewPrivs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) ThrowErrno(env, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  return env.Undefined();
}

// lockFile(fd): write-lock the whole file without waiting (fcntl F_SETLK); EAGAIN or EACCES
// when another process holds it.
Napi::Value LockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return env.Undefined();
  struct flock lock;
  std::memset(&lock, 0, sizeof lock);
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (fcntl(fd, F_SETLK, &lock) != 0) ThrowErrno(env, errno, "fcntl(F_SETLK)", "fd " + std::to_string(fd));
  return env.Undefined();
}

// waitChild(): waitpid(-1, &status, 0) - reaps the one child the engine ever has (the jailer of
// miredo-engine-launch); returns its exit status (128 + signal if killed), or -1 without a child.
Napi::Value WaitChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int status = 0;
  pid_t pid;
  do {
    pid = waitpid(-1, &status, 0);
  } while (pid < 0 && errno == EINTR);
  if (pid < 0) {
    if (errno == ECHILD) return Napi::Number::New(env, -1);
    ThrowErrno(env, errno, "waitpid");
    return env.Undefined();
  }
  return Napi::Number::New(env, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

}  // namespace

void RegisterProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("setGroupsEmpty", Napi::Function::New(env, SetGroupsEmpty, "setGroupsEmpty"));
  exports.Set("setNoNewPrivs", Napi::Function::New(env, SetNoNewPrivs, "setNoNewPrivs"));
  exports.Set("waitChild", Napi::Function::New(env, WaitChild, "waitChild"));
  exports.Set("lockFile", Napi::Function::New(env, LockFile, "lockFile"));
}

}  // namespace miredo
