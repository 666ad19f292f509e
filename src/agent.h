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
 *      breakpoints, maps the scratch area with one system call made by
 *      the chosen thread, writes the image, the control block and the
 *      thread's registers (remora_agent_saved), and puts hardware
 *      breakpoints on remora_agent_yield and remora_agent_done;
 *   2. gdb points the thread at remora_agent_enter (agent_entry.S) with
 *      rsp at the top of the agent's stack and rdi at the control block,
 *      and lets it (and only it) run;
 *   3. remora_agent_enter blocks every signal, saves the extended
 *      register state, and calls remora_agent_run(), which walks the heap
 *      and streams the snapshot into the buffer; whenever the buffer is
 *      full it stops at remora_agent_yield() and gdb copies the buffer out
 *      (from outside: /proc/PID/mem), counts it in `drained`, and resumes;
 *   4. remora_agent_run() returns; the entry restores the extended state
 *      and the signal mask and reaches remora_agent_done, where gdb puts
 *      the thread's registers back and unmaps the scratch area.
 * If gdb dies at any point (its breakpoints vanish with it), the thread
 * runs on: remora_agent_yield() finds `drained` behind and the walk stops
 * early, the walker unmaps its memory, and remora_agent_done puts the
 * thread back where it was by itself (only the scratch area stays).
 */
#ifndef REMORA_AGENT_H
#define REMORA_AGENT_H

#include <stdint.h>

#include "layout.h"

enum {
	REMORA_AGENT_ABI = 3,
	REMORA_AGENT_STACK = 256 << 10,    /* bytes of stack in the scratch area */
};

enum remora_agent_option {
	/* Walk as a reader from outside must: no tp_traverse or m_traverse
	 * calls.  For tests that compare both walks of one stopped state. */
	REMORA_AGENT_AS_OUTSIDE = 1u << 0,
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
	uint32_t reserved;
};

/* Written by gdb before the thread enters; `drained` and `abort` also at
 * each yield.  The agent writes `yields`, `buf_len` and `result`. */
struct remora_agent_ctl {
	uint32_t abi;                    /* REMORA_AGENT_ABI */
	uint32_t ctl_size;               /* sizeof(struct remora_agent_ctl) */
	uint32_t options;                /* enum remora_agent_option bits */
	uint32_t reserved;
	uint64_t segs;                   /* address of the segment array */
	uint64_t nsegs;
	uint64_t buf;                    /* address of the stream buffer */
	uint64_t buf_cap;                /* its size, a multiple of 8 */
	/* the stream: at each yield and at the end, buf[0 .. buf_len) holds
	 * the next bytes of the snapshot */
	uint64_t buf_len;
	uint64_t yields;                 /* agent: stops at remora_agent_yield */
	uint64_t drained;                /* gdb: buffers copied out */
	uint64_t abort;                  /* gdb: stop the walk at the next yield */
	struct remora_agent_result result;
	struct remora_layout layout;
};

/* The interrupted thread's registers, written by gdb before the thread
 * enters: remora_agent_done restores them if gdb is gone (rip and rax
 * already adjusted to restart an interrupted system call).  Offsets are
 * fixed: agent_entry.S uses them. */
struct remora_agent_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

/* C side of the entry (agent_entry.S calls it): the whole capture. */
void remora_agent_run(struct remora_agent_ctl *ctl);

/* Where the agent stops for gdb to drain the buffer: does nothing itself
 * (gdb's breakpoint is the point). */
void remora_agent_yield(struct remora_agent_ctl *ctl);

#endif
