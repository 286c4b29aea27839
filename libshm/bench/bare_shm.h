/* The syscall floor for libshm's benchmarks: what creating and attaching a named block costs
 * with nothing but the system calls CPython and libshm both make (shm_open, ftruncate or
 * fstat, mmap, a touch of every page, munmap, close, shm_unlink). Plain C on purpose: no
 * strings, no exceptions, no validation, no tracker. */
#ifndef LIBSHM_BENCH_BARE_SHM_H
#define LIBSHM_BENCH_BARE_SHM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Creates block `os_name` ("/name") of `size` bytes (O_CREAT|O_EXCL, 0600, ftruncate), maps it,
 * writes one byte per page, unmaps, closes and unlinks it. Returns 0, or an errno value. */
int bare_create_touch_unlink(const char* os_name, size_t size);

/* Creates block `os_name` of `size` bytes and leaves it in place (for the attach benchmark).
 * Returns 0, or an errno value. */
int bare_create(const char* os_name, size_t size);

/* Opens the existing block `os_name` (O_RDWR), fstat()s it for its size, maps it, reads one
 * byte per page, unmaps and closes it. Returns 0, or an errno value. */
int bare_attach_touch_close(const char* os_name);

/* shm_unlink(os_name). Returns 0, or an errno value. */
int bare_unlink(const char* os_name);

#ifdef __cplusplus
}
#endif

#endif
