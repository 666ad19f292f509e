/* agent.h — the capture that runs inside a live target: what gdb maps
 * there, how it enters, and the control block the two share.
 *
 * Invariants (DESIGN.md 1, 2): the agent calls no allocator, takes no
 * lock, imports nothing (not even libc), runs no Python code and moves no
 * reference count; it reads target memory only through a reader over the
 * segments gdb lists; it creates no file and opens no fd.  Its memory is
 * the scratch area gdb maps plus what the walker maps for itself, all
 * unmapped before gdb lets the thread go.
 *
 * The scratch area gdb maps (agent_image.h renders the first part):
 *
 *   base                      the agent's image (code read-only and
 *                             executable, then its data: the globals below)
 *   + image size              its stack (AGENT_STACK bytes, growing down)
 *   + ...                     segments: struct remora_agent_segment[n]
 *   + ...                     the stream buffer (buf_cap bytes)
 *
 * How a capture runs (gdb/remora/capture.py drives it):
 *   1. gdb stops every thread (scheduler-locking), disables the user's
 *      breakpoints, writes under the chosen thread's stack the frames
 *      that take it home from wherever it is left (sigframe.h), maps the
 *      scratch area with one system call made by that thread, and writes
 *      the image, the control block and the thread's registers
 *      (remora_agent_saved);
 *   2. gdb points the thread at remora_agent_enter (agent_entry.S) with
 *      rsp at the top of the agent's stack and rdi at the control block,
 *      and lets it (and only it) run;
 *   3. remora_agent_enter blocks every signal, saves the extended
 *      register state, and calls remora_agent_run(), which walks the heap
 *      and streams the snapshot into the buffer; whenever the buffer is
 *      full it stops for gdb (YIELD: see stop_signal) and gdb copies the
 *      buffer out (from outside: process_vm_readv), counts it in
 *      `drained`, and resumes it;
 *   4. remora_agent_run() returns and the agent stops for gdb once more
 *      (DONE), where gdb reads the result;
 *   5. the thread goes back by itself: remora_agent_leave() writes, on
 *      the thread's own stack below its red zone, the frame rt_sigreturn
 *      takes (every register as gdb saved it, the extended state, the
 *      signal mask, the alternate stack), and the entry jumps into libc's
 *      syscall() wrapper to munmap the scratch area — the code that runs
 *      after that lies outside it — whose `ret` lands on __restore_rt,
 *      and rt_sigreturn puts the thread exactly back where it was.  gdb
 *      stops it there, at the exit of that system call.
 * Nothing stops the thread by a breakpoint: a hardware breakpoint's
 * debug registers outlive a killed debugger, and the thread would die of
 * SIGTRAP.  The agent stops for gdb by SIGURG, which a thread with no
 * debugger ignores (or its handler runs, once); gdb's other stops are
 * system-call stops (PTRACE_SYSCALL), which end with their tracer.  So
 * if gdb dies at any point the thread runs on: before the agent's entry
 * the frames of step 1 take it home (unmapping the scratch area once it
 * is mapped); after it, the agent finds `drained` behind and the walk
 * stops early, the walker unmaps its memory, and step 5 takes it back:
 * nothing of the capture stays in the target.  (Without the two libc
 * pieces, gdb puts the thread back itself; if it dies then, the thread
 * still goes back, and only the scratch area stays.)
 */
#ifndef REMORA_AGENT_H
#define REMORA_AGENT_H

#include <stdint.h>

#include "layout.h"
#include "sigframe.h"

enum {
	REMORA_AGENT_ABI = 5,
	REMORA_AGENT_SLOTS = 4,            /* the stream buffer's parts */
	REMORA_AGENT_STACK = 256 << 10,    /* bytes of stack in the scratch area */
};

enum remora_agent_option {
	/* Walk as a reader from outside must: no tp_traverse or m_traverse
	 * calls.  For tests that compare both walks of one stopped state. */
	REMORA_AGENT_AS_OUTSIDE = 1u << 0,
	/* Size every object as a plain one of its kind: no size model of an
	 * extension type, no NyHeapDef.  For bench/, which measures what the
	 * size models cost. */
	REMORA_AGENT_NO_SIZE_MODELS = 1u << 1,
};

/* One readable mapping of the target, as gdb read /proc/PID/maps. */
struct remora_agent_segment {
	uint64_t start;
	uint64_t end;
};

enum remora_agent_status {
	REMORA_AGENT_OK = 0,
	REMORA_AGENT_BAD_ARGS = 1,
	REMORA_AGENT_ABORTED = 2,        /* gdb asked, or gdb went away */
	REMORA_AGENT_NOMEM = 4,          /* mmap failed */
	REMORA_AGENT_BAD_LAYOUT = 5,
	REMORA_AGENT_NO_RUNTIME = 6,
	REMORA_AGENT_WRITE = 7,          /* the stream failed */
};

struct remora_agent_result {
	int32_t status;                  /* enum remora_agent_status */
	int32_t errnum;
	uint64_t nodes;
	uint64_t edges;
	uint64_t roots;
	uint64_t types;
	uint64_t bad_objects;
	uint64_t read_faults;
	uint64_t traversed;
	uint64_t segments;
	uint64_t peak_mapped;            /* bytes of work memory, at most */
	uint64_t bytes_written;
	uint32_t snapshot_flags;         /* gdb writes them into the header */
	uint32_t partial_why;            /* enum remora_partial: the first cause */
};

/* Written by gdb before the thread enters; `drained` and `abort` also
 * at any time while the walk runs (gdb's drainer thread writes `drained`
 * as it copies).  The agent writes `yields`, `slot_len` and `result`.
 *
 * The stream buffer is REMORA_AGENT_SLOTS slots of buf_cap / SLOTS
 * bytes.  The agent fills slot yields % SLOTS, stores its length in
 * slot_len[], then counts it in `yields` (in that order: x86 keeps
 * stores in order, so a reader that sees the count sees the bytes), and
 * goes on in the next slot once gdb has copied it out (yields - drained
 * < SLOTS): gdb drains while the walk runs.  When every slot is full
 * for a while, or a SIGINT newly arrived for the process (Ctrl-C in
 * gdb), the agent stops for gdb (state YIELD); gdb copies what is
 * published and resumes it.  A slot still not drained after that means
 * gdb is gone: the agent stops the walk. */
struct remora_agent_ctl {
	uint32_t abi;                    /* REMORA_AGENT_ABI */
	uint32_t ctl_size;               /* sizeof(struct remora_agent_ctl) */
	uint32_t options;                /* enum remora_agent_option bits */
	uint32_t reserved;
	uint64_t segs;                   /* address of the segment array */
	uint64_t nsegs;
	uint64_t buf;                    /* address of the stream buffer */
	uint64_t buf_cap;                /* its size, a multiple of 8 */
	uint64_t nodes_walked;           /* agent: objects written so far, as
					  * each slot is published (progress) */
	uint64_t yields;                 /* agent: slots filled */
	uint64_t drained;                /* gdb: slots copied out */
	uint64_t abort;                  /* gdb: stop the walk at the next slot */
	/* the way out (agent_entry.S, remora_agent_leave()): the scratch area
	 * to unmap, and two instructions of the target's libc to do it from
	 * outside the area: its syscall() wrapper's `syscall; cmp; jae; ret`
	 * and __restore_rt's `mov $15, %rax; syscall` (0: gdb puts the
	 * thread back itself) */
	uint64_t scratch;
	uint64_t scratch_size;
	uint64_t libc_syscall;
	uint64_t restore_rt;
	uint64_t text_size;              /* make [scratch, +text_size) r-x at
					  * entry; 0: gdb did */
	/* how the agent stops for gdb: it raises stop_signal to itself
	 * (default action: ignore), with `state` saying why; gdb takes the
	 * signal, handles the stop, clears `state` and resumes without it */
	uint32_t stop_signal;            /* gdb: SIGURG */
	uint32_t state;                  /* agent: enum remora_agent_state */
	uint32_t reserved2[2];
	uint64_t slot_len[REMORA_AGENT_SLOTS]; /* agent: bytes in each slot */
	struct remora_agent_result result;
	struct remora_layout layout;
};

enum remora_agent_state {
	REMORA_AGENT_RUNNING = 0,
	REMORA_AGENT_YIELD = 1,          /* slots wait to be drained */
	REMORA_AGENT_DONE = 2,           /* result is written */
};

/* The interrupted thread's registers (struct remora_sigframe_regs),
 * written by gdb before the thread enters, in remora_agent_saved: the
 * way home restores them (rip and rax already adjusted to restart an
 * interrupted system call).  Offsets are fixed: agent_entry.S uses them. */

/* C side of the entry (agent_entry.S calls it): the whole capture. */
void remora_agent_run(struct remora_agent_ctl *ctl);

/* Stops for gdb: sets ctl->state and raises ctl->stop_signal to this
 * thread, the only signal let through meanwhile. */
void remora_agent_stop(struct remora_agent_ctl *ctl, enum remora_agent_state state);

/* Writes the rt_sigreturn frame of step 5 on the thread's own stack and
 * returns its address (the entry loads it into rsp). */
uint64_t remora_agent_leave(struct remora_agent_ctl *ctl);

#endif
