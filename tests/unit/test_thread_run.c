/* test_thread_run.c — remora_capture_run and remora_capture_home_frame
 * (src/thread_run.c) against a child we trace ourselves, as gdb traces
 * its target.  The runner stops the child where a system call of its
 * returns to a given place (and stack pointer) and nowhere else, reports
 * the stop signals it is asked for, hands other signals to the program
 * when the pass mask says so (the program's handler runs) and discards
 * the others, says when the thread is gone, and turns a SIGINT to the
 * tracer into a write to the target's abort word and out->interrupted,
 * leaving the tracer's own SIGINT handler as it was.  A home frame takes
 * a moved child back where it was, with its signal mask, floating-point
 * control state and alternate signal stack, once its tracer is gone;
 * two chained frames unmap a mapping on the way.
 *
 * The child is a fork of this program, so the functions and variables it
 * uses are at the same addresses in both.
 */
#include <errno.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "remora/remora.h"
#include "unit.h"

static volatile sig_atomic_t handled;      /* the child's SIGUSR1 handler ran */
static volatile uint64_t abort_word;       /* written by the runner */

/* The child's system calls: each stub has its own return address
 * (run_sys_X_ret, just after its `syscall`).  run_restore_rt stands for
 * libc's __restore_rt. */
__asm__(".text\n"
	".globl run_sys_a, run_sys_a_ret, run_sys_b, run_sys_b_insn, run_sys_b_ret\n"
	".globl run_restore_rt\n"
	"run_sys_a: mov %rdi, %rax\n syscall\nrun_sys_a_ret: ret\n"
	"run_sys_b: mov %rdi, %rax\nrun_sys_b_insn: syscall\nrun_sys_b_ret: ret\n"
	"run_restore_rt: mov $15, %rax\n syscall\n");
long run_sys_a(long nr);
long run_sys_b(long nr);
extern char run_sys_a_ret[], run_sys_b_insn[], run_sys_b_ret[], run_restore_rt[];

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

enum script { GO_A_THEN_B, SIGNAL_THEN_B, URG_THEN_B, SPIN_UNTIL_ABORT, EXIT_NOW, GO_HOME };

/* What GO_HOME's child finds when it comes back from its SIGSTOP: 0 if
 * all is as it was, else the exit status naming what is not. */
static volatile uint64_t home_page;             /* its own mapping */
static volatile int home_keep_page;             /* 1: it must still be there */
static char home_altstack[1 << 16];

static int check_home(void)
{
	sigset_t mask;
	sigprocmask(SIG_SETMASK, NULL, &mask);
	if (!sigismember(&mask, SIGUSR2) || sigismember(&mask, SIGUSR1))
		return 10;
	if (fegetround() != FE_UPWARD)            /* the extended state */
		return 11;
	stack_t ss;
	if (sigaltstack(NULL, &ss) != 0 || ss.ss_sp != home_altstack ||
	    ss.ss_size != sizeof home_altstack)
		return 12;
	int mapped = msync((void *)(uintptr_t)home_page, 4096, MS_ASYNC) == 0;
	if (mapped != home_keep_page)
		return 13;
	return 0;
}

static void child(enum script what)
{
	signal(SIGUSR1, on_usr1);
	if (what == GO_HOME) {
		sigset_t block;
		sigemptyset(&block);
		sigaddset(&block, SIGUSR2);
		sigprocmask(SIG_BLOCK, &block, NULL);
		fesetround(FE_UPWARD);
		stack_t ss = { .ss_sp = home_altstack, .ss_size = sizeof home_altstack };
		sigaltstack(&ss, NULL);
		void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);
		home_page = (uint64_t)(uintptr_t)page;
	}
	if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
		_exit(90);
	raise(SIGSTOP);
	switch (what) {
	case GO_A_THEN_B:
		run_sys_a(SYS_getpid);
		run_sys_b(SYS_getpid);
		_exit(0);
	case SIGNAL_THEN_B:
		raise(SIGUSR1);
		run_sys_b(SYS_getpid);
		break;
	case URG_THEN_B:
		raise(SIGURG);
		run_sys_b(SYS_getpid);
		break;
	case SPIN_UNTIL_ABORT:
		while (!abort_word) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
		run_sys_b(SYS_getpid);
		break;
	case EXIT_NOW:
		_exit(7);
	case GO_HOME:
		_exit(check_home());
	}
	for (;;)
		pause();
}

/* A child stopped at its SIGSTOP, traced by us (with gdb's option that
 * marks system-call stops, sysgood, or without). */
static pid_t start_traced(enum script what, bool sysgood)
{
	pid_t pid = fork();
	if (pid == 0)
		child(what);
	int status = 0;
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT_FATAL(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
	if (sysgood)
		CU_ASSERT_FATAL(ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD) == 0);
	return pid;
}

static pid_t start(enum script what)
{
	return start_traced(what, false);
}

static void finish(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static uint64_t sig_bit(int sig)
{
	return UINT64_C(1) << (sig - 1);
}

static struct remora_run_return ret_at(const void *rip, uint64_t rsp)
{
	return (struct remora_run_return){ .rip = (uint64_t)(uintptr_t)rip, .rsp = rsp };
}

static uint64_t child_word(pid_t pid, const volatile void *addr)
{
	uint64_t v = 0;
	struct iovec local = { .iov_base = &v, .iov_len = sizeof v };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = sizeof v };
	CU_ASSERT(process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof v);
	return v;
}

static void returns(bool sysgood)
{
	pid_t pid = start_traced(GO_A_THEN_B, sysgood);
	struct remora_run_return at[] = { ret_at(run_sys_b_ret, 0), ret_at(run_sys_a_ret, 0) };
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, at, 2, 0, 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_RETURNED);
	CU_ASSERT_EQUAL(out.which, 1);                  /* a comes first */
	CU_ASSERT_EQUAL(out.rip, at[1].rip);
	CU_ASSERT_EQUAL(out.rax, (uint64_t)pid);        /* getpid's result */
	CU_ASSERT_EQUAL(out.interrupted, 0);
	/* the same place with the stack pointer it had: a stop */
	uint64_t sp = out.rsp;
	struct remora_run_return b[] = { ret_at(run_sys_b_ret, sp) };
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, b, 1, 0, 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_RETURNED);
	CU_ASSERT_EQUAL(out.which, 0);
	CU_ASSERT_EQUAL(out.rsp, sp);
	finish(pid);
}

static void test_returns(void)
{
	returns(false);
}

static void test_returns_sysgood(void)
{
	returns(true);
}

static void test_other_stack(void)
{
	pid_t pid = start(GO_A_THEN_B);
	/* b's return with another stack pointer (a signal handler's) is not
	 * the one waited for: the child runs on to its exit */
	struct remora_run_return at[] = { ret_at(run_sys_b_ret, 8) };
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, at, 1, 0, 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_GONE);
}

static void test_passed_signal(void)
{
	pid_t pid = start(SIGNAL_THEN_B);
	struct remora_run_return b[] = { ret_at(run_sys_b_ret, 0) };
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, b, 1, sig_bit(SIGUSR1), 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_RETURNED);
	CU_ASSERT_EQUAL(child_word(pid, &handled) & 0xffffffff, 1);   /* its handler ran */
	finish(pid);
}

static void test_discarded_signal(void)
{
	pid_t pid = start(SIGNAL_THEN_B);
	struct remora_run_return b[] = { ret_at(run_sys_b_ret, 0) };
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, b, 1, 0, 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_RETURNED);
	CU_ASSERT_EQUAL(child_word(pid, &handled) & 0xffffffff, 0);   /* never delivered */
	finish(pid);
}

static void test_stop_signal(void)
{
	pid_t pid = start(URG_THEN_B);
	struct remora_run_return b[] = { ret_at(run_sys_b_ret, 0) };
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, b, 1, ~UINT64_C(0), sig_bit(SIGURG), 0,
					   &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_SIGNAL);
	CU_ASSERT_EQUAL(out.signal, SIGURG);
	CU_ASSERT_EQUAL(out.which, -1);
	/* resumed again, the stop signal is gone: on to b */
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, b, 1, 0, 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_RETURNED);
	finish(pid);
}

static void test_gone(void)
{
	pid_t pid = start(EXIT_NOW);
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, NULL, 0, 0, 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_GONE);
	CU_ASSERT(waitpid(pid, NULL, WNOHANG) < 0);     /* reaped by the runner */
}

/* GIVEN a traced child stopped WHEN its registers are read and two of
 * them set THEN the words equal the kernel's own (PTRACE_GETREGS, read
 * here), and a set changes the named registers only. */
static void test_regs(void)
{
	pid_t pid = start(GO_A_THEN_B);
	struct user_regs_struct before, after;
	CU_ASSERT_FATAL(ptrace(PTRACE_GETREGS, pid, 0, &before) == 0);
	uint64_t words[REMORA_REGS_COUNT];
	CU_ASSERT_EQUAL(remora_capture_get_regs(pid, words), 0);
	const uint64_t want[REMORA_REGS_COUNT] = {
		before.rax, before.rbx, before.rcx, before.rdx, before.rsi, before.rdi,
		before.rbp, before.rsp, before.r8, before.r9, before.r10, before.r11,
		before.r12, before.r13, before.r14, before.r15, before.rip, before.eflags,
		before.orig_rax,
	};
	for (int i = 0; i < REMORA_REGS_COUNT; i++)
		CU_ASSERT_EQUAL(words[i], want[i]);
	uint64_t set[REMORA_REGS_COUNT] = { 0 };
	set[1] = 0x1122334455667788u;         /* rbx */
	set[12] = 0x0123456789abcdefu;        /* r12 */
	set[2] = 0xdeadbeefu;                 /* rcx: not in the mask */
	CU_ASSERT_EQUAL(remora_capture_set_regs(pid, set, (1u << 1) | (1u << 12)), 0);
	CU_ASSERT_FATAL(ptrace(PTRACE_GETREGS, pid, 0, &after) == 0);
	CU_ASSERT_EQUAL(after.rbx, set[1]);
	CU_ASSERT_EQUAL(after.r12, set[12]);
	after.rbx = before.rbx;
	after.r12 = before.r12;
	CU_ASSERT(memcmp(&after, &before, sizeof after) == 0);
	CU_ASSERT_EQUAL(remora_capture_get_regs(-1, words), -ESRCH);
	finish(pid);
}

static void test_too_many_returns(void)
{
	pid_t pid = start(GO_A_THEN_B);
	struct remora_run_return many[17] = { { 0, 0 } };
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, many, 17, 0, 0, 0, &out), -EINVAL);
	finish(pid);
}

static void set_keep_page(pid_t pid, int keep)
{
	struct iovec local = { .iov_base = &keep, .iov_len = sizeof keep };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)&home_keep_page,
				.iov_len = sizeof keep };
	CU_ASSERT(process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof keep);
}

/* The GO_HOME child, stopped in raise(): its registers in the frame's
 * order (rax ... r15, rip, eflags). */
static void home_regs(pid_t pid, uint64_t *w, struct user_regs_struct *regs)
{
	CU_ASSERT_FATAL(ptrace(PTRACE_GETREGS, pid, 0, regs) == 0);
	const uint64_t v[18] = { regs->rax, regs->rbx, regs->rcx, regs->rdx, regs->rsi,
				 regs->rdi, regs->rbp, regs->rsp, regs->r8, regs->r9,
				 regs->r10, regs->r11, regs->r12, regs->r13, regs->r14,
				 regs->r15, regs->rip, regs->eflags };
	memcpy(w, v, sizeof v);
}

/* Moves the stopped child to rip with rax = nr, rdi, rsi and rsp, then
 * lets it go as a killed debugger would. */
static int move_and_let_go(pid_t pid, struct user_regs_struct regs, const void *rip,
			   uint64_t nr, uint64_t rdi, uint64_t rsi, uint64_t rsp)
{
	regs.rip = (uint64_t)(uintptr_t)rip;
	regs.rax = nr;
	regs.orig_rax = UINT64_MAX;
	regs.rdi = rdi;
	regs.rsi = rsi;
	regs.rsp = rsp;
	CU_ASSERT_FATAL(ptrace(PTRACE_SETREGS, pid, 0, &regs) == 0);
	CU_ASSERT_FATAL(ptrace(PTRACE_DETACH, pid, 0, 0) == 0);
	int status = 0;
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_home_frame(void)
{
	pid_t pid = start(GO_HOME);
	struct user_regs_struct regs;
	uint64_t w[18], at = 0, fp = 0;
	home_regs(pid, w, &regs);
	CU_ASSERT_EQUAL_FATAL(remora_capture_home_frame(pid, pid, regs.rsp, w,
							(uint64_t)(uintptr_t)run_restore_rt,
							0, &at, &fp), 0);
	CU_ASSERT(at < regs.rsp - 128 && fp > at && fp % 64 == 0);
	/* a system call made with the stack at the frame: its `ret` goes
	 * home, where the child finds everything as it was */
	set_keep_page(pid, 1);
	CU_ASSERT_EQUAL(move_and_let_go(pid, regs, run_sys_b, SYS_getpid, 0, 0, at), 0);
}

static void test_home_frames_chained(void)
{
	pid_t pid = start(GO_HOME);
	uint64_t page = child_word(pid, &home_page);
	struct user_regs_struct regs;
	uint64_t w[18], home = 0, fp = 0, unmap = 0, fp2 = 0;
	home_regs(pid, w, &regs);
	uint64_t restore_rt = (uint64_t)(uintptr_t)run_restore_rt;
	CU_ASSERT_EQUAL_FATAL(remora_capture_home_frame(pid, pid, regs.rsp, w, restore_rt, 0,
							&home, &fp), 0);
	/* the second frame: munmap(page) at b's `syscall`, whose `ret` takes
	 * the first; it shares the first's extended state */
	uint64_t m[18];
	memcpy(m, w, sizeof m);
	m[0] = SYS_munmap;
	m[5] = page;                                     /* rdi */
	m[4] = 4096;                                     /* rsi */
	m[7] = home;                                     /* rsp */
	m[16] = (uint64_t)(uintptr_t)run_sys_b_insn;
	CU_ASSERT_EQUAL_FATAL(remora_capture_home_frame(pid, pid, home, m, restore_rt, fp,
							&unmap, &fp2), 0);
	CU_ASSERT(unmap < home && fp2 == fp);
	set_keep_page(pid, 0);
	/* left just after a system call (b's `ret` next), as after remora's
	 * mmap: the page goes, then the child goes home */
	CU_ASSERT_EQUAL(move_and_let_go(pid, regs, run_sys_b_ret, 0, 0, 0, unmap), 0);
}

static volatile sig_atomic_t own_sigints;

static void on_own_sigint(int sig)
{
	(void)sig;
	own_sigints++;
}

static void *send_sigint(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 50000000 };
	nanosleep(&ts, NULL);
	kill(getpid(), SIGINT);
	return NULL;
}

static void test_sigint_aborts(void)
{
	struct sigaction mine = { .sa_handler = on_own_sigint }, seen;
	sigemptyset(&mine.sa_mask);
	sigaction(SIGINT, &mine, NULL);
	pid_t pid = start(SPIN_UNTIL_ABORT);
	struct remora_run_return c[] = { ret_at(run_sys_b_ret, 0) };
	pthread_t th;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, send_sigint, NULL) == 0);
	struct remora_run_stop out;
	int r = remora_capture_run(pid, pid, c, 1, 0, 0, (uint64_t)(uintptr_t)&abort_word, &out);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_RETURNED);     /* it left its loop */
	CU_ASSERT_EQUAL(out.interrupted, 1);
	CU_ASSERT_EQUAL(child_word(pid, &abort_word), 1);
	CU_ASSERT_EQUAL(own_sigints, 0);                     /* the runner took it ... */
	sigaction(SIGINT, NULL, &seen);
	CU_ASSERT(seen.sa_handler == on_own_sigint);         /* ... and gave it back */
	signal(SIGINT, SIG_DFL);
	finish(pid);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "stops where a system call returns, nowhere else", test_returns },
		{ "the same, with system-call stops marked (gdb's way)", test_returns_sysgood },
		{ "a return on another stack is not the stop", test_other_stack },
		{ "a passed signal reaches the program's handler", test_passed_signal },
		{ "a signal not passed is discarded", test_discarded_signal },
		{ "a stop signal is reported, then gone", test_stop_signal },
		{ "a thread that exits is gone", test_gone },
		{ "more than 16 returns is EINVAL", test_too_many_returns },
		{ "registers read and set as the kernel keeps them", test_regs },
		{ "a home frame takes a moved thread back, debugger gone", test_home_frame },
		{ "chained frames unmap, then go home", test_home_frames_chained },
		{ "a SIGINT to the tracer aborts the target's work", test_sigint_aborts },
		{ NULL, NULL },
	};
	return unit_run("thread_run", tests);
}
