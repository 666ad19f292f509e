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
