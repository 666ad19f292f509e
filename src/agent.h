/* agent.h — the entry point gdb calls inside a live target: capture the
 * heap of the interpreter this process runs into a snapshot file.
 *
 * Invariants (DESIGN.md 1, 2): the agent calls no allocator, takes no
 * lock, runs no Python code and moves no reference count; it reads
 * memory only through a reader over the segments of /proc/self/maps; all
 * memory it maps is unmapped and the file it opens is closed before
 * remora_agent_capture() returns.  Python code never runs, so the GIL is
 * neither taken nor needed: gdb stops the other threads' Python work by
 * running the call on the thread that holds it (or while none runs).
 *
 * Calling convention (gdb/remora/capture.py): gdb maps one scratch area in
 * the target, writes struct remora_agent_args at its start and calls
 * remora_agent_capture(args, result) with result inside the same area.
 * Both structs are plain data with fixed sizes; the layout of each is
 * versioned by REMORA_AGENT_ABI.
 */
#ifndef REMORA_AGENT_H
#define REMORA_AGENT_H

#include <stdint.h>

#include "layout.h"

enum { REMORA_AGENT_ABI = 2, REMORA_AGENT_PATH_MAX = 4096 };

enum remora_agent_option {
	/* Walk as a reader from outside must: no tp_traverse or m_traverse
	 * calls.  For tests that compare both walks of one stopped state. */
	REMORA_AGENT_AS_OUTSIDE = 1u << 0,
};

struct remora_agent_args {
	uint32_t abi;                    /* REMORA_AGENT_ABI */
	uint32_t args_size;              /* sizeof(struct remora_agent_args) */
	uint32_t options;                /* enum remora_agent_option bits */
	uint32_t reserved;
	char path[REMORA_AGENT_PATH_MAX];/* snapshot file to create (O_EXCL) */
	struct remora_layout layout;
};

enum remora_agent_status {
	REMORA_AGENT_OK = 0,
	REMORA_AGENT_BAD_ARGS = 1,
	REMORA_AGENT_MAPS = 2,           /* /proc/self/maps unreadable */
	REMORA_AGENT_OPEN = 3,           /* the snapshot file could not be made */
	REMORA_AGENT_NOMEM = 4,          /* mmap failed */
	REMORA_AGENT_BAD_LAYOUT = 5,
	REMORA_AGENT_NO_RUNTIME = 6,
	REMORA_AGENT_WRITE = 7,          /* writing the snapshot failed */
};

struct remora_agent_result {
	int32_t status;                  /* enum remora_agent_status */
	int32_t errnum;                  /* errno for MAPS, OPEN, WRITE */
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
	uint32_t snapshot_flags;
	uint32_t reserved;
};

__attribute__((visibility("default")))
int remora_agent_capture(const struct remora_agent_args *args,
			 struct remora_agent_result *result);

#endif
