/* The syscall floor: see bare_shm.h. */
#define _POSIX_C_SOURCE 200809L
#include "bare_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where attach's reads go, so the compiler cannot drop them. */
volatile unsigned bare_shm_sink;

static size_t page_size(void) {
  static size_t cached;
  if (cached == 0) cached = (size_t)sysconf(_SC_PAGESIZE);
  return cached;
}

/* One write per page, so the pages really exist (as a user of the block would make them). */
static void touch_write(volatile unsigned char* p, size_t size) {
  for (size_t at = 0; at < size; at += page_size()) p[at] = 1;
}

/* One read per page. Returns the bytes' sum so the reads cannot be dropped. */
static unsigned touch_read(const volatile unsigned char* p, size_t size) {
  unsigned sum = 0;
  for (size_t at = 0; at < size; at += page_size()) sum += p[at];
  return sum;
}

int bare_create(const char* os_name, size_t size) {
  const int fd = shm_open(os_name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return errno;
  if (ftruncate(fd, (off_t)size) != 0) {
    const int err = errno;
    close(fd);
    shm_unlink(os_name);
    return err;
  }
  close(fd);
  return 0;
}

int bare_create_touch_unlink(const char* os_name, size_t size) {
  const int fd = shm_open(os_name, O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return errno;
  int err = 0;
  if (ftruncate(fd, (off_t)size) != 0) {
    err = errno;
  } else {
    void* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      err = errno;
    } else {
      touch_write((volatile unsigned char*)p, size);
      munmap(p, size);
    }
  }
  close(fd);
  if (shm_unlink(os_name) != 0 && err == 0) err = errno;
  return err;
}

int bare_attach_touch_close(const char* os_name) {
  const int fd = shm_open(os_name, O_RDWR, 0600);
  if (fd < 0) return errno;
  struct stat st;
  int err = 0;
  if (fstat(fd, &st) != 0) {
    err = errno;
  } else if (st.st_size <= 0) {
    err = EINVAL;
  } else {
    const size_t size = (size_t)st.st_size;
    void* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      err = errno;
    } else {
      bare_shm_sink = touch_read((const volatile unsigned char*)p, size);
      munmap(p, size);
    }
  }
  close(fd);
  return err;
}

int bare_unlink(const char* os_name) {
  return shm_unlink(os_name) == 0 ? 0 : errno;
}
