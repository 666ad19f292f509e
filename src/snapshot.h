/* snapshot.h — a snapshot file (snapshot_format.h) mapped, validated and
 * indexed for queries: objects as ids 0..N-1, edges as CSR, a type table.
 *
 * Invariants, established by remora_snapshot_open() and never changed
 * afterwards (a snapshot is immutable):
 *  1. Ids are assigned in ascending address order: addr[] is strictly
 *     increasing (a duplicate NODE address is a format error), so id order
 *     is address order and addr[] doubles as the id -> address map.
 *  2. Every edge and root target is a valid id; edges and roots to
 *     addresses without a NODE record were dropped and counted in
 *     dangling_count.  The edges of id i are edge_target/edge_via
 *     [edge_start[i] .. edge_end[i]), in the order the walker wrote them;
 *     rows are stored in file order (not id order) and do not overlap.
 *  3. type[i] < type_count for every id: types without a TYPE record get a
 *     synthetic entry named "<type 0x...>" with an empty module.
 *  4. owner[i] != REMORA_NO_NODE only for objects whose type is exactly
 *     builtins.dict, and then owner[i] holds i through a __dict__ field
 *     (REMORA_VIA_FIELD with REMORA_FIELD_DICT or REMORA_FIELD_MD_DICT);
 *     of several owners, the lowest id.
 *  5. Every byte of the file was bounds-checked during open; later reads
 *     of the map (reprs, node flags) only revisit validated records.
 *  6. The address index (chunks) finds the id of any address with one
 *     table probe and one bitmap word (no search) in a dense chunk: node
 *     addresses are 8-aligned, the address space is cut into 1 MiB
 *     chunks (key = address >> 20), and chunks[] is an open-addressing
 *     table of the occupied ones, each holding count >= 1 objects with
 *     ids base .. base + count - 1.  A dense chunk has words: one bit per
 *     8-byte word of the chunk (2048 x 64 bits), each word with the id of
 *     its lowest object (rank), so id = rank + popcount of the bits below.
 *     A sparse chunk (words NULL: the loader's bitmap budget ran out, see
 *     snapshot.c) is binary-searched in addr[base .. base + count).
 *  7. The reverse edges (referrers) are added after open:
 *     built on first use by remora_snapshot_reverse(), published once with
 *     an atomic compare-and-swap, and never changed or freed before the
 *     snapshot is destroyed.  The sources of the edges into id t are
 *     reverse->source[reverse->start[t] .. reverse->start[t + 1]),
 *     ascending, one entry per edge (duplicate edges repeat their source).
 *  8. So is the dominator tree (graph.h), the same way: built on first use
 *     by remora_snapshot_dominator_tree(), published once with an atomic
 *     compare-and-swap, and freed only by remora_snapshot_destroy().
 *  9. frames[] holds, for every thread some root names a frame of (a
 *     where word's interpreter and thread bits), its deepest frame + 1
 *     (snapshot_format.h ROOTS): the thread's number of frames, which
 *     heapy's frame numbers (from the oldest, via.c) need for every root
 *     label.  An open-addressing table, at most half full, on key + 1
 *     (0: an empty slot).
 * Public accessors: include/remora/remora.h.  Readers: idset.c,
 * partition.c, graph.c.
 */
#ifndef REMORA_SNAPSHOT_H
#define REMORA_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remora/remora.h"
#include "snapshot_format.h"

struct remora_snapshot_type {
	uint64_t address;
	uint64_t flags;  /* tp_flags */
	uint32_t shape;  /* the TYPE record's (snapshot_format.h); 0 unknown */
	char *name;      /* qualified name */
	char *module;
	char *display;   /* heapy's rendering (typename.h) */
};

/* One 64-bit word of a dense chunk's bitmap (invariant 6). */
struct remora_snapshot_word {
	uint64_t bits;           /* bit b: an object at chunk + 512 w + 8 b */
	uint32_t rank;           /* id of the word's lowest object */
	uint32_t reserved;
};

struct remora_snapshot_chunk {
	uint64_t key;            /* address >> 20 */
	uint32_t base;           /* id of the chunk's lowest object */
	uint32_t count;          /* objects in the chunk; 0: empty slot */
	struct remora_snapshot_word *words; /* [2048], or NULL: sparse */
};

/* A slot of the frame counts of invariant 9. */
struct remora_snapshot_frames {
	uint64_t key;            /* where & 0xffffffff, + 1; 0: empty */
	uint64_t frames;         /* the deepest frame's depth + 1 */
};

/* The reverse CSR of invariant 7: 4 B/node + 4 B/edge. */
struct remora_snapshot_reverse {
	uint32_t *start;         /* [node_count + 1]; start[node_count] = edges */
	uint32_t *source;        /* [edge_count] */
};

struct remora_dominators;  /* invariant 8, graph.h */

struct remora_snapshot {
	char *path;
	const uint8_t *map;      /* the whole file, read-only */
	size_t map_size;
	uint32_t python_version;
	uint32_t flags;          /* REMORA_SNAP_* */

	uint32_t node_count;
	uint64_t *addr;          /* [node_count], strictly increasing */
	uint64_t *size;          /* [node_count] */
	uint32_t *type;          /* [node_count], index into types */
	uint64_t *rec;           /* [node_count], file offset of the NODE record */
	uint32_t *owner;         /* [node_count], see invariant 4 */
	uint64_t total_size;

	uint32_t *edge_start;    /* [node_count] */
	uint32_t *edge_end;      /* [node_count] */
	uint32_t *edge_target;   /* [edge_count] */
	uint64_t *edge_via;      /* [edge_count] */
	uint64_t edge_count;

	uint32_t root_count;
	uint32_t *root_target;   /* [root_count] */
	uint64_t *root_via;      /* [root_count] */
	uint64_t *root_where;    /* [root_count], snapshot_format.h ROOTS */
	struct remora_snapshot_frames *frames; /* [frames_mask + 1], invariant 9 */
	uint64_t frames_mask;
	unsigned frames_shift;   /* slot = hash(key) >> frames_shift */
	uint32_t frames_used;

	/* The SET records: the set the file was saved from, ids in file
	 * order; has_saved_set false: the file stands for all its objects. */
	bool has_saved_set;
	uint32_t *saved_set;     /* [saved_set_count] */
	uint64_t saved_set_count;

	struct remora_rec_thread *threads; /* [thread_count], file order */
	uint32_t thread_count;

	uint64_t dangling_count; /* edges + roots dropped (invariant 2) */

	struct remora_snapshot_chunk *chunks; /* [chunk_mask + 1], invariant 6 */
	uint64_t chunk_mask;
	unsigned chunk_shift;    /* slot = hash(key) >> chunk_shift */
	uint32_t chunk_count;    /* occupied slots */
	/* the dense chunks' bitmaps, carved from big blocks (snapshot.c) */
	struct remora_snapshot_word **word_blocks;
	uint32_t word_block_count;
	uint32_t words_left;     /* bitmaps left in the last block */

	uint32_t type_count;
	struct remora_snapshot_type *types;
	uint32_t dict_type;      /* index of builtins.dict, or REMORA_NO_NODE */
	uint32_t str_type;       /* ... of builtins.str */
	uint32_t int_type;       /* ... of builtins.int */
	uint32_t bool_type;      /* ... of builtins.bool */

	/* Invariant 7: NULL until the first remora_snapshot_reverse(); read
	 * and written only with __atomic builtins. */
	struct remora_snapshot_reverse *reverse;
	/* Invariant 8: NULL until the first remora_snapshot_dominator_tree();
	 * read and written only with __atomic builtins. */
	struct remora_dominators *dominators;
};

/* n elements of size bytes (at least one), for the engine's large arrays
 * indexed at random: from 2 MiB up, 2 MiB-aligned and on transparent huge
 * pages where the system allows them, which spares a TLB miss on most
 * accesses.  Freed with remora_big_free(). */
void *remora_big_alloc(size_t n, size_t size);
/* Frees what remora_big_alloc() returned (NULL: nothing), keeping big
 * blocks for the next remora_big_alloc() (snapshot.c says how much). */
void remora_big_free(void *p);

/* The number of frames of the thread a ROOTS where word names (invariant
 * 9); 0 if no root names a frame of it. */
uint64_t remora_snapshot_thread_frames(const struct remora_snapshot *snap,
				       uint64_t where);

/* The reverse edges (invariant 7), built on the first call: one counting
 * pass over the edge rows, prefix sums, one filling pass; O(nodes + edges)
 * time, 4 B/node + 4 B/edge kept until the snapshot is destroyed.  Safe to
 * call from concurrent readers: a loser of the race frees its copy.  The
 * result is valid until remora_snapshot_destroy(). */
struct remora_error *
remora_snapshot_reverse(const struct remora_snapshot *snap,
			const struct remora_snapshot_reverse **ret);

#endif
