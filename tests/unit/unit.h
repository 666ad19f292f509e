/* unit.h — helpers for the engine's CUnit tests: snapshot files written
 * with the real writer (snapshot_writer.h) into a temporary directory that
 * is removed at exit (kept if REMORA_UNIT_KEEP is set, for debugging), raw
 * file surgery for corruption tests, and a runner.
 */
#ifndef REMORA_UNIT_H
#define REMORA_UNIT_H

#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

#include "snapshot_writer.h"

/* A path in the test's temporary directory (static storage, one of a
 * small ring, so a few can be live at once). */
const char *unit_path(const char *name);

struct unit_writer {
	struct remora_writer w;
	int fd;
	const char *path;
	uint8_t buf[64 * 1024];
	uint8_t *big;        /* unit_writer_begin_big()'s buffer, or NULL */
};

void unit_writer_begin(struct unit_writer *u, const char *name);
/* The same with a buffer of cap bytes, so that one EDGES or ROOTS record
 * may be that long (the agent's are up to a slot of its stream). */
void unit_writer_begin_big(struct unit_writer *u, const char *name, size_t cap);
/* A GC object; an even size also gets inline values of size / 2 bytes
 * (REMORA_NODE_INLINE_VALUES), an odd one none. */
void unit_node(struct unit_writer *u, uint64_t address, uint64_t type,
	       uint64_t size, const char *repr);
void unit_edge(struct unit_writer *u, uint64_t target, uint64_t via);
void unit_root(struct unit_writer *u, uint64_t target, uint64_t via);
void unit_root_where(struct unit_writer *u, uint64_t target, uint64_t via,
		     uint64_t where);
void unit_type(struct unit_writer *u, uint64_t address, const char *name,
	       const char *module);
/* Finishes the file (header flags = flags) and returns its path. */
const char *unit_writer_end(struct unit_writer *u, uint32_t flags);

/* Whole-file helpers; unit_read_file's result is malloc()ed. */
uint8_t *unit_read_file(const char *path, size_t *len_ret);
void unit_write_file(const char *path, const void *data, size_t len);

/* Offsets of every record head of a valid snapshot image. */
size_t unit_record_offsets(const uint8_t *data, size_t len, size_t *offsets,
			   size_t cap);

struct unit_test {
	const char *name;
	void (*fn)(void);
};

/* Runs the tests (terminated by a {NULL, NULL} entry) as one suite with
 * CUnit's basic runner; returns the process exit status. */
int unit_run(const char *suite, const struct unit_test *tests);

#endif
