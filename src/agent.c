/* agent.c — the injected capture: segments gdb listed -> reader -> walker
 * -> the stream buffer gdb drains.  Contract, scratch layout and the
 * protocol with gdb: agent.h.  The entry and the way back to the
 * interrupted code: agent_entry.S.
 *
 * Memory: the walker's work memory comes from mmap (MAP_NORESERVE, so
 * untouched pages cost nothing) and goes back with munmap before
 * remora_agent_run() returns; the snapshot goes out through the buffer
 * in the scratch area.  No libc: system calls are raw (sys.h) and the
 * memory primitives are the agent's own (agent_mem.c); tests check that
 * the built agent imports nothing at all.
 */
#include "agent.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "reader.h"
#include "snapshot_writer.h"
#include "sys.h"
#include "walker.h"

#define AGENT_EXPORT __attribute__((visibility("default")))

/* gdb writes these (agent.h, agent_entry.S): found by their names in the
 * agent's dynamic symbol table. */
AGENT_EXPORT struct remora_sigframe_regs remora_agent_saved;
AGENT_EXPORT uint32_t remora_agent_xsave_mode;      /* 1: xsave, 0: fxsave */
AGENT_EXPORT struct remora_agent_ctl remora_agent_ctl;

/* agent_entry.S's: the thread's signal mask while the agent runs, and its
 * extended register state, saved at entry (any XSAVE layout fits) */
uint64_t agent_mask_all = UINT64_MAX;
uint64_t agent_mask_saved;
__attribute__((aligned(64))) uint8_t agent_xstate[16384];

/* The sink the writer streams into: the slots of the buffer in the
 * scratch area, which gdb drains as they fill (agent.h). */
struct agent_sink {
	struct remora_sink sink;
	struct remora_agent_ctl *ctl;
	const struct remora_writer *writer;    /* whose counts gdb shows */
	uint8_t *buf;
	uint64_t slot_cap;
	bool sigint_seen;                /* pending at entry, or reported */
};

enum {
	AGENT_SIGINT_BIT = 1u << (SIGINT - 1),
	/* how long the agent waits for gdb's drainer before it stops for
	 * gdb: 200 naps of 50 us */
	AGENT_WAIT_NAPS = 200,
	AGENT_NAP_NS = 50000,
};

void remora_agent_stop(struct remora_agent_ctl *ctl, enum remora_agent_state state)
{
	ctl->state = state;
	uint32_t sig = ctl->stop_signal;
	if (sig < 1 || sig > 64)
		return;
	uint64_t only = ~(UINT64_C(1) << (sig - 1));
	remora_sys_sigprocmask(SIG_SETMASK, &only, NULL);
	/* delivered as this system call returns: gdb stops the thread there,
	 * and resumes it without the signal */
	remora_sys_tgkill(remora_sys_getpid(), remora_sys_gettid(), (int)sig);
	remora_sys_sigprocmask(SIG_SETMASK, &agent_mask_all, NULL);
	__asm__ volatile("" : : : "memory");    /* gdb wrote while stopped */
}

static uint64_t agent_load(const volatile uint64_t *p)
{
	return *p;
}

/* Whether a SIGINT arrived since the capture began (gdb sends one to
 * the process on Ctrl-C; the agent's mask holds it pending). */
static bool agent_new_sigint(struct agent_sink *s)
{
	uint64_t pending = 0;
	if (s->sigint_seen || remora_sys_sigpending(&pending) < 0 ||
	    !(pending & AGENT_SIGINT_BIT))
		return false;
	s->sigint_seen = true;
	return true;
}

static int agent_sink_write(struct remora_sink *sink, const void *buf, size_t len)
{
	struct agent_sink *s = (struct agent_sink *)sink;
	struct remora_agent_ctl *ctl = s->ctl;
	(void)buf;
	uint64_t n = ctl->yields;
	ctl->slot_len[n % REMORA_AGENT_SLOTS] = len;
	if (s->writer)
		*(volatile uint64_t *)&ctl->nodes_walked = s->writer->nodes;
	__asm__ volatile("" : : : "memory");    /* the bytes, the length, the count */
	*(volatile uint64_t *)&ctl->yields = ++n;
	bool stopped = false;
	if (agent_new_sigint(s)) {
		remora_agent_stop(ctl, REMORA_AGENT_YIELD);
		stopped = true;
	}
	/* the next slot is free once gdb has copied what it held */
	for (int naps = 0; !stopped && n - agent_load(&ctl->drained) >= REMORA_AGENT_SLOTS;
	     naps++) {
		if (agent_load(&ctl->abort))
			return ECANCELED;
		if (naps == AGENT_WAIT_NAPS) {
			remora_agent_stop(ctl, REMORA_AGENT_YIELD);
			stopped = true;
		} else {
			remora_sys_nanosleep(AGENT_NAP_NS);
		}
	}
	/* gdb drains at every stop: a slot still full after one means gdb
	 * is gone (its breakpoint with it): nobody reads any more */
	if (agent_load(&ctl->abort) || n - agent_load(&ctl->drained) >= REMORA_AGENT_SLOTS)
		return ECANCELED;
	s->sink.next_buf = s->buf + (n % REMORA_AGENT_SLOTS) * s->slot_cap;
	return 0;
}

void remora_agent_run(struct remora_agent_ctl *ctl)
{
	struct remora_agent_result *result = &ctl->result;
	memset(result, 0, sizeof(*result));
	if (ctl->abi != REMORA_AGENT_ABI || ctl->ctl_size != sizeof(*ctl) ||
	    !ctl->buf || ctl->buf_cap < REMORA_AGENT_SLOTS * (64 << 10) ||
	    ctl->buf_cap % (8 * REMORA_AGENT_SLOTS) ||
	    ctl->nsegs > (1u << 20)) {
		result->status = REMORA_AGENT_BAD_ARGS;
		return;
	}

	/* The segments become the reader's: host bytes at their own
	 * addresses.  They are rewritten in place (struct remora_segment is
	 * larger), from the last, into the space after the list gdb wrote,
	 * which it left free for this. */
	const struct remora_agent_segment *in =
		(const struct remora_agent_segment *)(uintptr_t)ctl->segs;
	struct remora_segment *segs =
		(struct remora_segment *)(uintptr_t)(ctl->segs + ctl->nsegs * sizeof(*in));
	for (uint64_t i = 0; i < ctl->nsegs; i++) {
		segs[i] = (struct remora_segment){
			.start = in[i].start,
			.end = in[i].end,
			.host = (const uint8_t *)(uintptr_t)in[i].start,
		};
	}
	result->segments = ctl->nsegs;
	struct remora_reader reader;
	if (!remora_reader_sort(segs, (size_t)ctl->nsegs)) {
		result->status = REMORA_AGENT_BAD_ARGS;
		return;
	}
	remora_reader_init(&reader, segs, (size_t)ctl->nsegs);

	struct agent_sink sink = {
		.sink = { .write = agent_sink_write, .patch = NULL },
		.ctl = ctl,
		.buf = (uint8_t *)(uintptr_t)ctl->buf,
		.slot_cap = ctl->buf_cap / REMORA_AGENT_SLOTS,
	};
	uint64_t pending = 0;
	sink.sigint_seen = remora_sys_sigpending(&pending) < 0 ||
			   (pending & AGENT_SIGINT_BIT);
	struct remora_writer writer;
	remora_writer_init_sink(&writer, &sink.sink, sink.buf, (size_t)sink.slot_cap,
				ctl->layout.python_version);
	sink.writer = &writer;
	struct remora_walk_options options = {
		.self = !(ctl->options & REMORA_AGENT_AS_OUTSIDE),
		.plain_sizes = (ctl->options & REMORA_AGENT_NO_SIZE_MODELS) != 0,
	};
	struct remora_walk_stats stats;
	enum remora_walk_status ws =
		remora_walk(&reader, &ctl->layout, &writer, &options, &stats);
	int werr = remora_writer_finish(&writer, stats.snapshot_flags);

	result->nodes = stats.nodes;
	result->edges = stats.edges;
	result->roots = stats.roots;
	result->types = stats.types;
	result->bad_objects = stats.bad_objects;
	result->read_faults = stats.read_faults;
	result->traversed = stats.traversed;
	result->peak_mapped = stats.peak_mapped;
	result->bytes_written = writer.written;
	result->snapshot_flags = stats.snapshot_flags;
	result->partial_why = stats.partial_why;
	switch (ws) {
	case REMORA_WALK_OK:
		result->status = REMORA_AGENT_OK;
		break;
	case REMORA_WALK_NOMEM:
		result->status = REMORA_AGENT_NOMEM;
		break;
	case REMORA_WALK_BAD_LAYOUT:
		result->status = REMORA_AGENT_BAD_LAYOUT;
		break;
	case REMORA_WALK_NO_RUNTIME:
		result->status = REMORA_AGENT_NO_RUNTIME;
		break;
	case REMORA_WALK_WRITE:
		result->status = REMORA_AGENT_WRITE;
		break;
	}
	if (werr == ECANCELED) {
		result->status = REMORA_AGENT_ABORTED;
	} else if (werr && result->status == REMORA_AGENT_OK) {
		result->status = REMORA_AGENT_WRITE;
		result->errnum = werr;
	}
}

/* ---- the way out: an rt_sigreturn frame (agent.h, step 5) ---------------
 * Laid out on the thread's own stack below its red zone (sigframe.h),
 * with the extended state saved at entry. */
enum {
	AGENT_SYS_SIGALTSTACK_NR = 131,
	AGENT_SS_DISABLE = 2,
};

static void agent_cpuid(uint32_t leaf, uint32_t sub, uint32_t *b)
{
	uint32_t a, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(*b), "=c"(c), "=d"(d) : "a"(leaf), "c"(sub));
}

static uint64_t agent_xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t remora_agent_leave(struct remora_agent_ctl *ctl)
{
	(void)ctl;
	const struct remora_sigframe_regs *r = &remora_agent_saved;
	bool xsave = remora_agent_xsave_mode != 0;
	uint32_t xsize = REMORA_SIGFRAME_FXSAVE_SIZE;
	if (xsave) {
		agent_cpuid(0xd, 0, &xsize);
		if (xsize < REMORA_SIGFRAME_FXSAVE_SIZE + 64 || xsize > sizeof(agent_xstate))
			xsize = sizeof(agent_xstate);
	}
	uint64_t fp;
	uint64_t at = remora_sigframe_place(r->rsp, xsize, &fp);
	remora_sigframe_xstate((uint8_t *)(uintptr_t)fp, agent_xstate, xsize, xsave,
			       xsave ? agent_xgetbv0() : 0);
	/* the alternate signal stack as it is: rt_sigreturn sets it from here */
	struct remora_sigframe_stack ss = { 0 };
	register long r10 __asm__("r10") = 0;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(AGENT_SYS_SIGALTSTACK_NR), "D"(0), "S"(&ss), "r"(r10)
			 : "rcx", "r11", "memory");
	if (ret < 0)
		ss.ss_flags = AGENT_SS_DISABLE;
	remora_sigframe_fill((uint8_t *)(uintptr_t)at, r, fp, xsave, agent_mask_saved,
			     remora_agent_ctl.restore_rt, &ss);
	return at;
}
