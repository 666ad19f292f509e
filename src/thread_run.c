/* thread_run.c — running a traced thread without gdb, and the frames
 * that take it home without gdb (remora.h: remora_capture_run,
 * remora_capture_home_frame).
 *
 * gdb inserts its own breakpoints (the dynamic linker's _dl_debug_state,
 * for one) whenever it resumes a thread, and takes them out at the stop:
 * a gdb killed while the thread runs leaves them in the target, which
 * then dies of SIGTRAP at its next dlopen.  Resumed here, by ptrace from
 * gdb's own tracing thread, the thread meets none of them.  Nor does it
 * meet breakpoints of remora's: debug registers outlive a killed tracer
 * just the same.  The places remora stops it are the returns of its own
 * system calls (PTRACE_SYSCALL's exit stops, which end with the tracer)
 * and the signals it is asked to stop for.
 */
#include "remora/remora.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>

#include "sigframe.h"

enum {
	RUN_NAP_FIRST_NS = 20000,     /* the first wait for a stop ... */
	RUN_NAP_MAX_NS = 1000000,     /* ... doubling up to this */
	RUN_RETURNS_MAX = 16,
	XSTATE_MAX = 16384,           /* any XSAVE layout a kernel gives fits */
	XSTATE_SW_XFEATURES = 464 + 8,
	XSTATE_SW_MAGIC1 = 0x46505853,
};

static volatile sig_atomic_t run_sigint;

static void run_on_sigint(int sig)
{
	(void)sig;
	run_sigint = 1;
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

/* Whether a stop for sig, of a thread run with PTRACE_SYSCALL, is a
 * system-call stop (*is_syscall) and that call's exit (the result).
 * gdb asks for PTRACE_O_TRACESYSGOOD (sig is SIGTRAP | 0x80), and the
 * kernel says which (PTRACE_GET_SYSCALL_INFO, Linux 5.3); without
 * either, the stop's siginfo says it is one, and *in_call, flipped at
 * each, which: the run never begins inside a system call. */
static bool run_syscall_exit(int tid, int sig, bool *in_call, bool *is_syscall)
{
	if (sig == (SIGTRAP | 0x80)) {
		struct __ptrace_syscall_info info;
		memset(&info, 0, sizeof info);
		long n = ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof info, &info);
		if (n > 0 && (info.op == PTRACE_SYSCALL_INFO_ENTRY ||
			      info.op == PTRACE_SYSCALL_INFO_EXIT)) {
			*is_syscall = true;
			*in_call = info.op == PTRACE_SYSCALL_INFO_ENTRY;
			return !*in_call;
		}
		*is_syscall = true;
	} else {
		siginfo_t si;
		*is_syscall = ptrace(PTRACE_GETSIGINFO, tid, (void *)0, &si) == 0 &&
			      si.si_code == SIGTRAP;
	}
	if (!*is_syscall)
		return false;
	*in_call = !*in_call;
	return !*in_call;
}

static int run_classify(int tid, int status, const struct remora_run_return *at, int nat,
			uint64_t pass_mask, uint64_t stop_mask, bool *in_call,
			struct remora_run_stop *out, int *deliver)
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
	if (nat && (sig & 0x7f) == SIGTRAP) {
		bool is_syscall = false;
		bool exit = run_syscall_exit(tid, sig, in_call, &is_syscall);
		if (is_syscall) {
			struct user_regs_struct regs;
			if (!exit || ptrace(PTRACE_GETREGS, tid, (void *)0, &regs) < 0)
				return 0;
			for (int i = 0; i < nat; i++) {
				if (regs.rip == at[i].rip && (!at[i].rsp || regs.rsp == at[i].rsp)) {
					out->kind = REMORA_RUN_RETURNED;
					out->which = i;
					return 1;
				}
			}
			return 0;                 /* another system call's */
		}
	}
	if (sig == SIGTRAP) {
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

int remora_capture_run(int pid, int tid, const struct remora_run_return *at, int nat,
		       uint64_t pass_mask, uint64_t stop_mask, uint64_t abort_addr,
		       struct remora_run_stop *out)
{
	memset(out, 0, sizeof *out);
	out->which = -1;
	if (nat < 0 || nat > RUN_RETURNS_MAX || (nat && !at))
		return -EINVAL;
	struct sigaction on = { .sa_handler = run_on_sigint }, old;
	sigemptyset(&on.sa_mask);
	run_sigint = 0;
	sigaction(SIGINT, &on, &old);
	bool interrupted = false, in_call = false;
	int deliver = 0, r = 0;
	/* system-call stops only where a return is waited for: the walk's
	 * own system calls would stop it twice each */
	enum __ptrace_request resume = nat ? PTRACE_SYSCALL : PTRACE_CONT;
	for (;;) {
		if (ptrace(resume, tid, (void *)0, (void *)(uintptr_t)deliver) < 0) {
			r = -errno;
			break;
		}
		int status = 0;
		if ((r = run_wait(pid, tid, abort_addr, &status, &interrupted)) != 0)
			break;
		if (run_classify(tid, status, at, nat, pass_mask, stop_mask, &in_call, out,
				 &deliver))
			break;
	}
	sigaction(SIGINT, &old, NULL);
	out->interrupted = interrupted;
	if (out->kind != REMORA_RUN_GONE) {
		struct user_regs_struct regs;
		if (ptrace(PTRACE_GETREGS, tid, (void *)0, &regs) == 0) {
			out->rip = regs.rip;
			out->rsp = regs.rsp;
			out->rax = regs.rax;
		}
	}
	return r;
}

/* Where each of remora_capture_get_regs' words is in the kernel's
 * struct. */
static uint64_t *regs_word(struct user_regs_struct *r, int i)
{
	uint64_t *const at[REMORA_REGS_COUNT] = {
		(uint64_t *)&r->rax, (uint64_t *)&r->rbx, (uint64_t *)&r->rcx,
		(uint64_t *)&r->rdx, (uint64_t *)&r->rsi, (uint64_t *)&r->rdi,
		(uint64_t *)&r->rbp, (uint64_t *)&r->rsp, (uint64_t *)&r->r8,
		(uint64_t *)&r->r9, (uint64_t *)&r->r10, (uint64_t *)&r->r11,
		(uint64_t *)&r->r12, (uint64_t *)&r->r13, (uint64_t *)&r->r14,
		(uint64_t *)&r->r15, (uint64_t *)&r->rip, (uint64_t *)&r->eflags,
		(uint64_t *)&r->orig_rax,
	};
	return at[i];
}

int remora_capture_get_regs(int tid, uint64_t *regs)
{
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, tid, (void *)0, &r) < 0)
		return -errno;
	for (int i = 0; i < REMORA_REGS_COUNT; i++)
		regs[i] = *regs_word(&r, i);
	return 0;
}

int remora_capture_set_regs(int tid, const uint64_t *regs, uint64_t mask)
{
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, tid, (void *)0, &r) < 0)
		return -errno;
	for (int i = 0; i < REMORA_REGS_COUNT; i++) {
		if (mask & (UINT64_C(1) << i))
			*regs_word(&r, i) = regs[i];
	}
	if (ptrace(PTRACE_SETREGS, tid, (void *)0, &r) < 0)
		return -errno;
	return 0;
}

/* The thread's extended state as the kernel gives it (an XSAVE image, or
 * FXSAVE's where the machine has no XSAVE), into buf; its size. */
static int frame_xstate(int tid, uint8_t *buf, uint32_t *size, bool *xsave, uint64_t *xfeatures)
{
	struct iovec iov = { .iov_base = buf, .iov_len = XSTATE_MAX };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) == 0 &&
	    iov.iov_len > REMORA_SIGFRAME_FXSAVE_SIZE) {
		uint32_t magic1;
		memcpy(&magic1, buf + XSTATE_SW_XFEATURES - 8, sizeof magic1);
		if (magic1 == XSTATE_SW_MAGIC1) {
			memcpy(xfeatures, buf + XSTATE_SW_XFEATURES, sizeof *xfeatures);
			*size = (uint32_t)iov.iov_len;
			*xsave = true;
			return 0;
		}
	}
	if (ptrace(PTRACE_GETFPREGS, tid, (void *)0, buf) < 0)
		return -errno;
	*size = REMORA_SIGFRAME_FXSAVE_SIZE;
	*xsave = false;
	*xfeatures = 0;
	return 0;
}

int remora_capture_home_frame(int pid, int tid, uint64_t below, const uint64_t *regs,
			      uint64_t restore_rt, uint64_t share_fp, uint64_t *at,
			      uint64_t *fp)
{
	struct remora_sigframe_regs r;
	memcpy(&r, regs, sizeof r);
	uint64_t mask = 0;
	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof mask, &mask) < 0)
		return -errno;
	uint8_t *x = malloc(XSTATE_MAX);
	if (!x)
		return -ENOMEM;
	uint32_t xsize = 0;
	bool xsave = false;
	uint64_t xfeatures = 0;
	int err = frame_xstate(tid, x, &xsize, &xsave, &xfeatures);
	if (err) {
		free(x);
		return err;
	}
	uint64_t own_fp;
	uint64_t where = remora_sigframe_place(below, share_fp ? 0 : xsize, &own_fp);
	uint64_t state_at = share_fp ? share_fp : own_fp;
	uint64_t end = share_fp ? where + REMORA_SIGFRAME_SIZE : own_fp + xsize + 4;
	uint8_t *host = calloc(1, (size_t)(end - where));
	if (!host) {
		free(x);
		return -ENOMEM;
	}
	if (!share_fp)
		remora_sigframe_xstate(host + (own_fp - where), x, xsize, xsave, xfeatures);
	const struct remora_sigframe_stack keep = { .ss_flags = REMORA_SIGFRAME_KEEP_ALTSTACK };
	remora_sigframe_fill(host, &r, state_at, xsave, mask, restore_rt, &keep);
	struct iovec local = { .iov_base = host, .iov_len = (size_t)(end - where) };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)where,
				.iov_len = (size_t)(end - where) };
	ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
	err = n < 0 ? -errno : n != (ssize_t)local.iov_len ? -EFAULT : 0;
	free(host);
	free(x);
	if (err)
		return err;
	*at = where;
	*fp = state_at;
	return 0;
}
