// miredo-engine-launch: how a bootstrap started as a service user holding ambient capabilities
// (not root) starts its engine with no capability in any of the engine's threads.
//
//   miredo-engine-launch JAIL_DIR JAILER_FD PROGRAM [ARGUMENT...]
//
// Capabilities are per thread, and Node starts threads (one of them with every signal blocked)
// before any JavaScript runs, so an engine that held CAP_SYS_CHROOT could not drop it from all of
// them. So the engine never holds it: this program
//  1. opens JAIL_DIR and creates a socket pair; one end lands at JAILER_FD (for the engine);
//  2. clones the "jailer" with CLONE_FS: it shares this process's root and working directory,
//     which the engine will inherit by exec, and keeps CAP_SYS_CHROOT alone;
//  3. drops every capability (effective, permitted, inheritable, ambient), sets no_new_privs and
//     execs PROGRAM, the engine.
// The jailer waits for one byte on its end: then fchdir(JAIL_DIR) and chroot("."), which moves the
// engine's root (the fs_struct is shared), answers one byte (0, or the errno of the failure) and
// exits; the engine reaps it. Closed without a request (the engine died), it exits untouched.
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

const int kExitUsage = 64;
const int kExitFailure = 71;

int Fail(const char* what) {
  std::fprintf(stderr, "miredo-engine-launch: %s: %s\n", what, std::strerror(errno));
  return kExitFailure;
}

// Sets the calling thread's effective, permitted and inheritable sets to `keep` (a mask of the
// first 32 capabilities) and clears its ambient set.
bool KeepOnly(__u32 keep) {
  __user_cap_header_struct header;
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[2];
  std::memset(data, 0, sizeof data);
  data[0].effective = keep;
  data[0].permitted = keep;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) != 0) return false;
  return syscall(SYS_capset, &header, data) == 0;
}

// The jailer's whole life; never returns.
[[noreturn]] void Jailer(int jail, int end) {
  // Nothing of the engine's (its sockets, TUN queues, output pipes) stays open here.
  int low = jail < end ? jail : end;
  int high = jail < end ? end : jail;
  if (close_range(0, low - 1, 0) != 0 || (high > low + 1 && close_range(low + 1, high - 1, 0) != 0) ||
      close_range(high + 1, ~0U, 0) != 0)
    _exit(kExitFailure);
  if (!KeepOnly(1U << CAP_SYS_CHROOT)) _exit(kExitFailure);
  char request;
  ssize_t got;
  do {
    got = read(end, &request, 1);
  } while (got < 0 && errno == EINTR);
  if (got != 1) _exit(0);
  unsigned char answer = 0;
  if (fchdir(jail) != 0 || chroot(".") != 0) answer = static_cast<unsigned char>(errno);
  ssize_t sent;
  do {
    sent = write(end, &answer, 1);
  } while (sent < 0 && errno == EINTR);
  _exit(answer == 0 && sent == 1 ? 0 : kExitFailure);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: miredo-engine-launch JAIL_DIR JAILER_FD PROGRAM [ARGUMENT...]\n");
    return kExitUsage;
  }
  char* end = nullptr;
  long target = std::strtol(argv[2], &end, 10);
  if (*end != '\0' || target < 3 || target > 1000) {
    std::fprintf(stderr, "miredo-engine-launch: bad JAILER_FD %s\n", argv[2]);
    return kExitUsage;
  }
  int jail = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (jail < 0) return Fail(argv[1]);
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return Fail("socketpair");
  // Above the engine's end, so that neither dup2 below closes the other.
  int jailerEnd = fcntl(pair[1], F_DUPFD_CLOEXEC, static_cast<int>(target) + 1);
  if (jailerEnd < 0) return Fail("fcntl(F_DUPFD_CLOEXEC)");
  close(pair[1]);
  if (jail <= target) {
    int moved = fcntl(jail, F_DUPFD_CLOEXEC, static_cast<int>(target) + 1);
    if (moved < 0) return Fail("fcntl(F_DUPFD_CLOEXEC)");
    close(jail);
    jail = moved;
  }
  if (pair[0] != target) {
    if (dup2(pair[0], static_cast<int>(target)) < 0) return Fail("dup2");
    close(pair[0]);
  } else if (fcntl(pair[0], F_SETFD, 0) != 0) {
    return Fail("fcntl(F_SETFD)");
  }
  // fork() with the file system context (root, working directory) shared.
  long jailer = syscall(SYS_clone, CLONE_FS | SIGCHLD, 0L, 0L, 0L, 0L);
  if (jailer < 0) return Fail("clone(CLONE_FS)");
  if (jailer == 0) Jailer(jail, jailerEnd);
  close(jail);
  close(jailerEnd);
  if (!KeepOnly(0)) return Fail("capset");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) return Fail("prctl(PR_SET_NO_NEW_PRIVS)");
  execv(argv[3], argv + 3);
  return Fail(argv[3]);
}
