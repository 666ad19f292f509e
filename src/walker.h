/* walker.h — walks a CPython interpreter's object graph through a memory
 * reader and streams every reachable object to a snapshot writer.
 *
 * Invariants (DESIGN.md 1-3): reads only through the reader; never writes
 * target memory; calls no allocator (its work memory comes from mmap and
 * is unmapped before remora_walk() returns); uses bounded C stack (no
 * recursion: an explicit work stack).  Calling a type's tp_traverse is the
 * one exception to "reads only through the reader", allowed only when the
 * reader's segments are the walker's own address space (the agent), and
 * only after the object's fixed part has been validated.
 */
#ifndef REMORA_WALKER_H
#define REMORA_WALKER_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "reader.h"
#include "snapshot_writer.h"

struct remora_walk_options {
	/* true when target addresses are the walker's own (the agent): only
	 * then may tp_traverse be called. */
	bool self;
	/* where to publish the count of objects walked as the walk goes
	 * (every 1024th; a reader elsewhere shows progress), or NULL */
	volatile uint64_t *progress;
	/* no size model of an extension type and no NyHeapDef: every object
	 * sized as a plain one of its kind (bench/ measures the difference) */
	bool plain_sizes;
};

struct remora_walk_stats {
	uint64_t nodes;
	uint64_t edges;
	uint64_t roots;
	uint64_t types;
	uint64_t bad_objects;      /* popped addresses that were not objects */
	uint64_t read_faults;      /* reads the reader refused */
	uint64_t traversed;        /* objects whose referents came from tp_traverse */
	uint64_t peak_mapped;      /* most bytes of work memory mapped at once */
	uint32_t snapshot_flags;   /* REMORA_SNAP_* */
	uint32_t partial_why;      /* the first enum remora_partial met, or 0 */
};

/* Why a snapshot is partial: the first cause the walk met (what comes
 * after it may have other causes too).  remora_partial_text() (capture.c)
 * says each in words. */
enum remora_partial {
	REMORA_PARTIAL_NONE = 0,
	REMORA_PARTIAL_REF = 1,        /* a reference outside mapped memory */
	REMORA_PARTIAL_READ = 2,       /* an array that could not be read */
	REMORA_PARTIAL_DICT = 3,
	REMORA_PARTIAL_SET = 4,
	REMORA_PARTIAL_TRAVERSE = 5,   /* tp_traverse could not be run */
	REMORA_PARTIAL_DEQUE = 6,
	REMORA_PARTIAL_VALUES = 7,     /* an instance's inline values */
	REMORA_PARTIAL_NOT_OBJECT = 8, /* an address that was not an object */
	REMORA_PARTIAL_SIZE = 9,       /* an object larger than its memory */
	REMORA_PARTIAL_ITEMS = 10,     /* a list's or tuple's items */
	REMORA_PARTIAL_FRAME = 11,     /* a thread's frames */
	REMORA_PARTIAL_EXC = 12,       /* a thread's exception states */
	REMORA_PARTIAL_GC_LIST = 13,
	REMORA_PARTIAL_THREADS = 14,
	REMORA_PARTIAL_INTERPS = 15,
	REMORA_PARTIAL_HEAP = 16,      /* a free-threaded build's mimalloc heap */
	REMORA_PARTIAL_ARENAS = 17,    /* 3.14t: exited threads' segments unknown */
	REMORA_PARTIAL_COUNT
};

enum remora_walk_status {
	REMORA_WALK_OK = 0,
	REMORA_WALK_NOMEM = 1,     /* mmap failed */
	REMORA_WALK_BAD_LAYOUT = 2,
	REMORA_WALK_NO_RUNTIME = 3,/* no interpreter found at the runtime address */
	REMORA_WALK_WRITE = 4,     /* the writer failed; see its errnum */
};

/* Walks from every root of every interpreter and every GC list.  Segment
 * `user` fields are overwritten.  Does not call remora_writer_finish(). */
enum remora_walk_status remora_walk(struct remora_reader *reader,
				    const struct remora_layout *layout,
				    struct remora_writer *writer,
				    const struct remora_walk_options *options,
				    struct remora_walk_stats *stats);

#endif
