/* partition.h — heapy's partitions of an id set by a classifier (byclodo,
 * bytype, bysize, byunity, byvia, byrcs, byid, bymodule) or a combination
 * of them; public API in include/remora/remora.h.
 *
 * Invariants, established by remora_partition_create():
 *  1. Every member of the set is in exactly one row; rows are never empty.
 *  2. Rows are in heapy's order: total size descending, then label
 *     ascending (bytewise, which is code point order for UTF-8), then
 *     class number ascending for equal labels (heapy leaves that case
 *     arbitrary).
 *  3. members[] lists the ids row after row in row order, ascending within
 *     a row, so a row's set is a slice of it.
 *  4. Labels are heapy's renderings (see partition.c), kept in the
 *     partition's label arena.
 */
#ifndef REMORA_PARTITION_H
#define REMORA_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "remora/remora.h"

struct remora_partition_row {
	uint32_t cls;       /* classifier-specific class number */
	uint64_t count;
	uint64_t size;
	uint64_t first;     /* index of the row's first id in members[] */
	uint64_t cumulative; /* size of this row and every row before it */
	const char *label;  /* in the partition's label arena */
	uint64_t label_off; /* its offset there */
};

struct remora_partition {
	const struct remora_snapshot *snap;
	enum remora_classifier by;
	const char *header;
	uint64_t count;
	uint64_t size;
	size_t num_rows;
	struct remora_partition_row *rows;
	uint32_t *members;  /* [count] */
	char *owned_header; /* header, when made for a combined classifier */
	char *labels;       /* the rows' labels, NUL-terminated, end to end */
	size_t labels_len, labels_cap;
	struct byrel *rel;  /* byvia / byrcs: the rows' kinds (byrel.h) */
};

#endif
