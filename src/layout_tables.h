/* layout_tables.h — the layout descriptor's offsets and sizes per CPython
 * version, generated from CPython's headers (scripts/gen-layouts writes
 * layout_tables.c), for targets whose interpreter has no debug info.
 *
 * gdb/remora/layout.py picks the table of the target's minor version
 * (the highest patch release not above the target's, else the lowest),
 * takes its offsets and sizes, and resolves the fields marked
 * REMORA_LAYOUT_AT_RUN_TIME (symbol addresses) from the target's ELF
 * symbols and memory.  With debug info, DWARF wins and the table is the
 * cross-check.
 */
#ifndef REMORA_LAYOUT_TABLES_H
#define REMORA_LAYOUT_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"

enum { REMORA_LAYOUT_AT_RUN_TIME = -2 };

struct remora_layout_table {
	uint32_t version_hex;        /* PY_VERSION_HEX of the headers, serial 0 */
	int free_threaded;           /* built with Py_GIL_DISABLED */
	const char *headers;         /* PY_VERSION of the headers */
	const int64_t *values;       /* RL_FIELD_COUNT values */
};

/* Terminated by an entry whose version_hex is 0. */
extern const struct remora_layout_table remora_layout_tables[];

/* The i-th table, or NULL past the last. */
__attribute__((visibility("default")))
const struct remora_layout_table *remora_layout_table_get(unsigned int i);

#endif
