/* sys.c — raw x86-64 Linux system calls (sys.h).
 *
 * The kernel takes the number in rax and the arguments in rdi, rsi, rdx,
 * r10, r8, r9; it returns in rax and clobbers rcx and r11.
 */
#include "sys.h"

#include <sys/syscall.h>

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

long remora_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	return sys6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
}

long remora_sys_munmap(void *addr, size_t len)
{
	return sys6(SYS_munmap, (long)addr, (long)len, 0, 0, 0, 0);
}

long remora_sys_mremap(void *old, size_t old_len, size_t new_len, int flags)
{
	return sys6(SYS_mremap, (long)old, (long)old_len, (long)new_len, flags, 0, 0);
}

long remora_sys_open(const char *path, int flags, int mode)
{
	return sys6(SYS_open, (long)path, flags, mode, 0, 0, 0);
}

long remora_sys_read(int fd, void *buf, size_t len)
{
	return sys6(SYS_read, fd, (long)buf, (long)len, 0, 0, 0);
}

long remora_sys_write(int fd, const void *buf, size_t len)
{
	return sys6(SYS_write, fd, (long)buf, (long)len, 0, 0, 0);
}

long remora_sys_pwrite(int fd, const void *buf, size_t len, long off)
{
	return sys6(SYS_pwrite64, fd, (long)buf, (long)len, off, 0, 0);
}

long remora_sys_close(int fd)
{
	return sys6(SYS_close, fd, 0, 0, 0, 0, 0);
}

long remora_sys_getpid(void)
{
	return sys6(SYS_getpid, 0, 0, 0, 0, 0, 0);
}

long remora_sys_gettid(void)
{
	return sys6(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

long remora_sys_tgkill(long tgid, long tid, int sig)
{
	return sys6(SYS_tgkill, tgid, tid, sig, 0, 0, 0);
}

long remora_sys_sigprocmask(int how, const uint64_t *set, uint64_t *old)
{
	return sys6(SYS_rt_sigprocmask, how, (long)set, (long)old, 8, 0, 0);
}

long remora_sys_sigpending(uint64_t *set)
{
	return sys6(SYS_rt_sigpending, (long)set, 8, 0, 0, 0, 0);
}

long remora_sys_nanosleep(long ns)
{
	long ts[2] = { ns / 1000000000L, ns % 1000000000L };
	return sys6(SYS_nanosleep, (long)ts, 0, 0, 0, 0, 0);
}
