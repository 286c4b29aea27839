/* An LD_PRELOAD shim that makes this system look like older or smaller ones, so that the tests
 * can take every path of a tracked SharedMemory::create (src/shared_memory.cpp) on any kernel:
 *
 *   LIBSHM_SHIM_NO_TMPFILE=1     open(..., O_TMPFILE) fails with EOPNOTSUPP: a /dev/shm whose
 *                                filesystem cannot make unnamed files.
 *   LIBSHM_SHIM_NO_EMPTY_PATH=1  linkat(fd, "", ..., AT_EMPTY_PATH) fails with ENOENT: Linux
 *                                before 6.10 for a process without CAP_DAC_READ_SEARCH (most
 *                                users' CI: Debian 12 runs 6.1).
 *   LIBSHM_SHIM_NO_PROC=1        linkat("/proc/self/fd/N", ...) fails with ENOENT: no /proc.
 *   LIBSHM_SHIM_SHOW_LINKS=1     each link made reports the size of the file it names, as
 *                                "libshm-shim: linked a file of N bytes".
 *
 * Each refusal, and each link made through /proc, is reported on stderr as a line
 * "libshm-shim: ...", so a test can tell which path was taken. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int enabled(const char* variable) {
  const char* value = getenv(variable);
  return value != NULL && strcmp(value, "1") == 0;
}

static void report(const char* what) {
  static const char prefix[] = "libshm-shim: ";
  if (write(STDERR_FILENO, prefix, sizeof prefix - 1) < 0) return;
  if (write(STDERR_FILENO, what, strlen(what)) < 0) return;
  if (write(STDERR_FILENO, "\n", 1) < 0) return;
}

typedef int (*open_fn)(const char*, int, ...);
typedef int (*linkat_fn)(int, const char*, int, const char*, int);

/* The next definition of `symbol` (libc's). Copied, not cast: ISO C has no conversion from
 * dlsym's object pointer to a function pointer; POSIX guarantees the representations agree. */
static void next_definition(const char* symbol, void* function_pointer) {
  void* found = dlsym(RTLD_NEXT, symbol);
  memcpy(function_pointer, &found, sizeof found);
}

static int shim_open(const char* symbol, const char* path, int flags, mode_t mode) {
  if ((flags & O_TMPFILE) == O_TMPFILE && enabled("LIBSHM_SHIM_NO_TMPFILE")) {
    report("refused O_TMPFILE");
    errno = EOPNOTSUPP;
    return -1;
  }
  open_fn real;
  next_definition(symbol, &real);
  return real(path, flags, mode);
}

/* O_CREAT and O_TMPFILE take a mode; otherwise there is none to read. */
static mode_t mode_of(int flags, va_list args) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(args, int) : 0;
}

int open(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_of(flags, args);
  va_end(args);
  return shim_open("open", path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_of(flags, args);
  va_end(args);
  return shim_open("open64", path, flags, mode);
}

int linkat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, int flags) {
  if ((flags & AT_EMPTY_PATH) && oldpath[0] == '\0' && enabled("LIBSHM_SHIM_NO_EMPTY_PATH")) {
    report("refused AT_EMPTY_PATH");
    errno = ENOENT;
    return -1;
  }
  const int through_proc = strncmp(oldpath, "/proc/self/fd/", 14) == 0;
  if (through_proc && enabled("LIBSHM_SHIM_NO_PROC")) {
    report("refused /proc");
    errno = ENOENT;
    return -1;
  }
  linkat_fn real;
  next_definition("linkat", &real);
  struct stat linked;
  const int known = (flags & AT_EMPTY_PATH) && oldpath[0] == '\0' ? fstat(olddirfd, &linked)
                                                                  : stat(oldpath, &linked);
  const int result = real(olddirfd, oldpath, newdirfd, newpath, flags);
  if (through_proc && result == 0) report("linked through /proc");
  if (result == 0 && known == 0 && enabled("LIBSHM_SHIM_SHOW_LINKS")) {
    char line[64];
    snprintf(line, sizeof line, "linked a file of %lld bytes", (long long)linked.st_size);
    report(line);
  }
  return result;
}
