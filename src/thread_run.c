/* thread_run.c — running a traced thread without gdb (remora.h:
 * remora_capture_run).  gdb inserts its own breakpoints (the dynamic
 * linker's _dl_debug_state, for one) whenever it resumes a thread, and
 * takes them out at the stop: a gdb killed while the thread runs leaves
 * them in the target, which then dies of SIGTRAP at its next dlopen.
 * Resumed here, by ptrace from gdb's own tracing thread, the thread meets
 * only remora's hardware breakpoints, which live in its debug registers
 * only while it runs.
 */
#include "remora/remora.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>

enum {
	DR_STATUS = 6,
	DR_CONTROL = 7,
	DR_SLOTS = 4,
	RUN_NAP_FIRST_NS = 20000,     /* the first wait for a stop ... */
	RUN_NAP_MAX_NS = 1000000,     /* ... doubling up to this */
};

static volatile sig_atomic_t run_sigint;

static void run_on_sigint(int sig)
{
	(void)sig;
	run_sigint = 1;
}

static long dr_offset(int i)
{
	return (long)(offsetof(struct user, u_debugreg) + (size_t)i * sizeof(long));
}

static int dr_peek(int tid, int i, uint64_t *v)
{
	errno = 0;
	long r = ptrace(PTRACE_PEEKUSER, tid, (void *)dr_offset(i), (void *)0);
	if (r == -1 && errno)
		return -errno;
	*v = (uint64_t)r;
	return 0;
}

static int dr_poke(int tid, int i, uint64_t v)
{
	return ptrace(PTRACE_POKEUSER, tid, (void *)dr_offset(i), (void *)(uintptr_t)v) < 0
		       ? -errno : 0;
}

static void dr_restore(int tid, const uint64_t *saved)
{
	dr_poke(tid, DR_CONTROL, 0);
	for (int i = 0; i < DR_SLOTS; i++)
		dr_poke(tid, i, saved[i]);
	dr_poke(tid, DR_CONTROL, saved[DR_SLOTS]);
	dr_poke(tid, DR_STATUS, 0);
}

/* Debug registers 0-3 and 7 set to addrs (instruction breakpoints), the
 * old values in saved[0 .. 5); on failure they are put back. */
static int dr_install(int tid, const uint64_t *addrs, int n, uint64_t *saved)
{
	int r = 0;
	for (int i = 0; i < DR_SLOTS && !r; i++)
		r = dr_peek(tid, i, &saved[i]);
	if (!r)
		r = dr_peek(tid, DR_CONTROL, &saved[DR_SLOTS]);
	if (r)
		return r;
	uint64_t control = 0;
	if ((r = dr_poke(tid, DR_CONTROL, 0)) != 0)
		return r;
	for (int i = 0; i < n && !r; i++) {
		r = dr_poke(tid, i, addrs[i]);
		control |= UINT64_C(1) << (2 * i);      /* local enable; execute, 1 byte */
	}
	if (!r && control)
		r = dr_poke(tid, DR_CONTROL, control);
	if (!r)
		r = dr_poke(tid, DR_STATUS, 0);
	if (r)
		dr_restore(tid, saved);   /* as gdb left them */
	return r;
}

/* Waits for tid's next stop, nap by nap; a SIGINT to gdb meanwhile is
 * noted and, once, asks the agent to stop (1 at abort_addr in pid). */
static int run_wait(int pid, int tid, uint64_t abort_addr, int *status, bool *interrupted)
{
	long nap = RUN_NAP_FIRST_NS;
	for (;;) {
		pid_t w = waitpid(tid, status, __WALL | WNOHANG);
		if (w == tid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (run_sigint && !*interrupted) {
			*interrupted = true;
			if (abort_addr) {
				uint64_t one = 1;
				struct iovec local = { .iov_base = &one, .iov_len = sizeof one };
				struct iovec remote = { .iov_base = (void *)(uintptr_t)abort_addr,
							.iov_len = sizeof one };
				process_vm_writev(pid, &local, 1, &remote, 1, 0);
			}
		}
		struct timespec ts = { .tv_sec = 0, .tv_nsec = nap };
		nanosleep(&ts, NULL);
		if (nap < RUN_NAP_MAX_NS)
			nap *= 2;
	}
}

static int run_classify(int tid, int status, const uint64_t *addrs, int n,
			uint64_t pass_mask, uint64_t stop_mask, struct remora_run_stop *out,
			int *deliver)
{
	*deliver = 0;
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		out->kind = REMORA_RUN_GONE;
		out->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		return 1;
	}
	if (!WIFSTOPPED(status))
		return 0;
	int sig = WSTOPSIG(status);
	out->signal = sig;
	if (status >> 16) {                       /* a PTRACE_EVENT stop */
		out->kind = REMORA_RUN_EVENT;
		out->event = status >> 16;
		return 1;
	}
	if (sig == SIGTRAP) {
		uint64_t dr6 = 0;
		dr_peek(tid, DR_STATUS, &dr6);
		for (int i = 0; i < n; i++) {
			if (dr6 & (UINT64_C(1) << i)) {
				out->kind = REMORA_RUN_BREAKPOINT;
				out->breakpoint = i;
				out->address = addrs[i];
				return 1;
			}
		}
		out->kind = REMORA_RUN_SIGNAL;      /* a trap that is not remora's */
		return 1;
	}
	if (sig >= 1 && sig <= 64 && (stop_mask & (UINT64_C(1) << (sig - 1)))) {
		out->kind = REMORA_RUN_SIGNAL;
		return 1;
	}
	/* anything else is the program's: passed to it as gdb's `handle`
	 * says (its handler runs, and the thread comes back), never SIGSTOP */
	if (sig != SIGSTOP && sig >= 1 && sig <= 64 && (pass_mask & (UINT64_C(1) << (sig - 1))))
		*deliver = sig;
	return 0;
}

int remora_capture_run(int pid, int tid, const uint64_t *addrs, int naddrs,
		       uint64_t pass_mask, uint64_t stop_mask, uint64_t abort_addr,
		       struct remora_run_stop *out)
{
	memset(out, 0, sizeof *out);
	out->breakpoint = -1;
	if (naddrs < 0 || naddrs > DR_SLOTS)
		return -EINVAL;
	uint64_t saved[DR_SLOTS + 1];
	int r = dr_install(tid, addrs, naddrs, saved);
	if (r)
		return r;
	struct sigaction on = { .sa_handler = run_on_sigint }, old;
	sigemptyset(&on.sa_mask);
	run_sigint = 0;
	sigaction(SIGINT, &on, &old);
	bool interrupted = false;
	int deliver = 0;
	for (;;) {
		if (ptrace(PTRACE_CONT, tid, (void *)0, (void *)(uintptr_t)deliver) < 0) {
			r = -errno;
			break;
		}
		int status = 0;
		if ((r = run_wait(pid, tid, abort_addr, &status, &interrupted)) != 0)
			break;
		if (run_classify(tid, status, addrs, naddrs, pass_mask, stop_mask, out, &deliver))
			break;
	}
	sigaction(SIGINT, &old, NULL);
	out->interrupted = interrupted;
	if (out->kind != REMORA_RUN_GONE) {
		dr_restore(tid, saved);
		struct user_regs_struct regs;
		if (ptrace(PTRACE_GETREGS, tid, (void *)0, &regs) == 0) {
			out->rip = regs.rip;
			out->rax = regs.rax;
		}
	}
	return r;
}
