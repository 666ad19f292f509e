/* sys.h — the system calls the agent and the walker make, issued directly
 * (x86-64 Linux `syscall`), so that code running inside a target needs no
 * libc: no import, no errno, no lock, no cancellation point.
 *
 * Every function returns what the kernel returned: a non-negative result,
 * or -errno (remora_sys_failed() tells).  remora_sys_mmap() and
 * remora_sys_mremap() return the address as a long the same way.
 * Async-signal-safe, reentrant; nothing here keeps state.
 */
#ifndef REMORA_SYS_H
#define REMORA_SYS_H

#include <stddef.h>
#include <stdint.h>

/* Whether a raw result is an error (-4095 .. -1). */
static inline int remora_sys_failed(long r)
{
	return (unsigned long)r > (unsigned long)-4096L;
}

long remora_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
long remora_sys_munmap(void *addr, size_t len);
long remora_sys_mremap(void *old, size_t old_len, size_t new_len, int flags);
long remora_sys_open(const char *path, int flags, int mode);
long remora_sys_read(int fd, void *buf, size_t len);
long remora_sys_write(int fd, const void *buf, size_t len);
long remora_sys_pwrite(int fd, const void *buf, size_t len, long off);
long remora_sys_close(int fd);
long remora_sys_getpid(void);
long remora_sys_gettid(void);
long remora_sys_tgkill(long tgid, long tid, int sig);
/* rt_sigprocmask on a 64-signal mask: old may be NULL. */
long remora_sys_sigprocmask(int how, const uint64_t *set, uint64_t *old);
/* rt_sigpending: the signals pending for the thread or its process. */
long remora_sys_sigpending(uint64_t *set);
long remora_sys_nanosleep(long ns);

#endif
