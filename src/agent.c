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
#include <string.h>

#include "reader.h"
#include "snapshot_writer.h"
#include "walker.h"

#define AGENT_EXPORT __attribute__((visibility("default")))

/* gdb writes these (agent.h, agent_entry.S): found by their names in the
 * agent's dynamic symbol table. */
AGENT_EXPORT struct remora_agent_regs remora_agent_saved;
AGENT_EXPORT uint32_t remora_agent_xsave_mode;      /* 1: xsave, 0: fxsave */
AGENT_EXPORT struct remora_agent_ctl remora_agent_ctl;

/* The sink the writer streams into: the buffer in the scratch area,
 * handed to gdb at each yield. */
struct agent_sink {
	struct remora_sink sink;
	struct remora_agent_ctl *ctl;
};

AGENT_EXPORT __attribute__((noinline)) void remora_agent_yield(struct remora_agent_ctl *ctl)
{
	/* gdb's hardware breakpoint is on this function's first instruction;
	 * the barrier keeps the stores before the call, the loads after */
	__asm__ volatile("" : : "r"(ctl) : "memory");
}

static int agent_sink_write(struct remora_sink *sink, const void *buf, size_t len)
{
	struct remora_agent_ctl *ctl = ((struct agent_sink *)sink)->ctl;
	ctl->buf_len = len;
	ctl->yields++;
	remora_agent_yield(ctl);
	/* gdb counts each buffer it copies out; a count left behind means gdb
	 * is gone (its breakpoint with it): nobody reads any more */
	if (ctl->drained != ctl->yields || ctl->abort)
		return ECANCELED;
	ctl->buf_len = 0;
	return 0;
}

void remora_agent_run(struct remora_agent_ctl *ctl)
{
	struct remora_agent_result *result = &ctl->result;
	memset(result, 0, sizeof(*result));
	if (ctl->abi != REMORA_AGENT_ABI || ctl->ctl_size != sizeof(*ctl) ||
	    !ctl->buf || ctl->buf_cap < (64 << 10) || ctl->buf_cap % 8 ||
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
	};
	struct remora_writer writer;
	remora_writer_init_sink(&writer, &sink.sink, (void *)(uintptr_t)ctl->buf,
				(size_t)ctl->buf_cap, ctl->layout.python_version);
	struct remora_walk_options options = {
		.self = !(ctl->options & REMORA_AGENT_AS_OUTSIDE),
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
