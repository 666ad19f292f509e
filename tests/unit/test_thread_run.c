/* test_thread_run.c — remora_capture_run (src/thread_run.c) against a
 * child we trace ourselves, as gdb traces its target: it stops at the
 * hardware breakpoints it is given and nowhere else, reports the stop
 * signals it is asked for, hands other signals to the program when the
 * pass mask says so (the program's handler runs) and discards the others,
 * puts the debug registers back as they were, says when the thread is
 * gone, and turns a SIGINT to the tracer into a write to the target's
 * abort word and out->interrupted, leaving the tracer's own SIGINT
 * handler as it was.
 *
 * The child is a fork of this program, so the functions and variables it
 * uses are at the same addresses in both.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
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

/* Places the child passes; never inlined, so each has its own address. */
__attribute__((noinline)) void run_mark_a(void) { __asm__ volatile(""); }
__attribute__((noinline)) void run_mark_b(void) { __asm__ volatile(""); }
__attribute__((noinline)) void run_mark_c(void) { __asm__ volatile(""); }

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

enum script { GO_A_THEN_B, SIGNAL_THEN_B, URG_THEN_B, SPIN_UNTIL_ABORT, EXIT_NOW };

static void child(enum script what)
{
	signal(SIGUSR1, on_usr1);
	if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
		_exit(90);
	raise(SIGSTOP);
	switch (what) {
	case GO_A_THEN_B:
		run_mark_a();
		run_mark_b();
		break;
	case SIGNAL_THEN_B:
		raise(SIGUSR1);
		run_mark_b();
		break;
	case URG_THEN_B:
		raise(SIGURG);
		run_mark_b();
		break;
	case SPIN_UNTIL_ABORT:
		while (!abort_word) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
		run_mark_c();
		break;
	case EXIT_NOW:
		_exit(7);
	}
	for (;;)
		pause();
}

/* A child stopped at its SIGSTOP, traced by us. */
static pid_t start(enum script what)
{
	pid_t pid = fork();
	if (pid == 0)
		child(what);
	int status = 0;
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT_FATAL(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
	return pid;
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

static uint64_t peek_dr(pid_t pid, int i)
{
	errno = 0;
	long v = ptrace(PTRACE_PEEKUSER, pid,
			(void *)(offsetof(struct user, u_debugreg) + (size_t)i * sizeof(long)), 0);
	CU_ASSERT(errno == 0);
	return (uint64_t)v;
}

static uint64_t child_word(pid_t pid, const volatile void *addr)
{
	uint64_t v = 0;
	struct iovec local = { .iov_base = &v, .iov_len = sizeof v };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = sizeof v };
	CU_ASSERT(process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof v);
	return v;
}

static void test_breakpoints(void)
{
	pid_t pid = start(GO_A_THEN_B);
	uint64_t before7 = peek_dr(pid, 7), before0 = peek_dr(pid, 0);
	uint64_t addrs[] = { (uint64_t)(uintptr_t)run_mark_b, (uint64_t)(uintptr_t)run_mark_a };
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, addrs, 2, 0, 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_BREAKPOINT);
	CU_ASSERT_EQUAL(out.breakpoint, 1);             /* a comes first */
	CU_ASSERT_EQUAL(out.rip, addrs[1]);
	CU_ASSERT_EQUAL(out.address, addrs[1]);
	CU_ASSERT_EQUAL(out.interrupted, 0);
	/* the debug registers as they were, DR6 clear */
	CU_ASSERT_EQUAL(peek_dr(pid, 7), before7);
	CU_ASSERT_EQUAL(peek_dr(pid, 0), before0);
	CU_ASSERT_EQUAL(peek_dr(pid, 6) & 0xf, 0);
	/* from a: only b stops it (a's breakpoint is behind it) */
	uint64_t only_b[] = { addrs[0] };
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, only_b, 1, 0, 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_BREAKPOINT);
	CU_ASSERT_EQUAL(out.breakpoint, 0);
	CU_ASSERT_EQUAL(out.rip, addrs[0]);
	finish(pid);
}

static void test_passed_signal(void)
{
	pid_t pid = start(SIGNAL_THEN_B);
	uint64_t b[] = { (uint64_t)(uintptr_t)run_mark_b };
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, b, 1, sig_bit(SIGUSR1), 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_BREAKPOINT);
	CU_ASSERT_EQUAL(child_word(pid, &handled) & 0xffffffff, 1);   /* its handler ran */
	finish(pid);
}

static void test_discarded_signal(void)
{
	pid_t pid = start(SIGNAL_THEN_B);
	uint64_t b[] = { (uint64_t)(uintptr_t)run_mark_b };
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, b, 1, 0, 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_BREAKPOINT);
	CU_ASSERT_EQUAL(child_word(pid, &handled) & 0xffffffff, 0);   /* never delivered */
	finish(pid);
}

static void test_stop_signal(void)
{
	pid_t pid = start(URG_THEN_B);
	uint64_t b[] = { (uint64_t)(uintptr_t)run_mark_b };
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, b, 1, ~UINT64_C(0), sig_bit(SIGURG), 0,
					   &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_SIGNAL);
	CU_ASSERT_EQUAL(out.signal, SIGURG);
	CU_ASSERT_EQUAL(out.breakpoint, -1);
	/* resumed again, the stop signal is gone: on to b */
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, b, 1, 0, 0, 0, &out), 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_BREAKPOINT);
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

static void test_too_many_breakpoints(void)
{
	pid_t pid = start(GO_A_THEN_B);
	uint64_t five[5] = { 0 };
	struct remora_run_stop out;
	CU_ASSERT_EQUAL(remora_capture_run(pid, pid, five, 5, 0, 0, 0, &out), -EINVAL);
	finish(pid);
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
	uint64_t c[] = { (uint64_t)(uintptr_t)run_mark_c };
	pthread_t th;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, send_sigint, NULL) == 0);
	struct remora_run_stop out;
	int r = remora_capture_run(pid, pid, c, 1, 0, 0, (uint64_t)(uintptr_t)&abort_word, &out);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(out.kind, REMORA_RUN_BREAKPOINT);   /* it left its loop */
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
		{ "stops at its hardware breakpoints, registers put back", test_breakpoints },
		{ "a passed signal reaches the program's handler", test_passed_signal },
		{ "a signal not passed is discarded", test_discarded_signal },
		{ "a stop signal is reported, then gone", test_stop_signal },
		{ "a thread that exits is gone", test_gone },
		{ "more than 4 breakpoints is EINVAL", test_too_many_breakpoints },
		{ "a SIGINT to the tracer aborts the target's work", test_sigint_aborts },
		{ NULL, NULL },
	};
	return unit_run("thread_run", tests);
}
