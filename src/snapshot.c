/* snapshot.c — loading a snapshot file: map, validate, index (snapshot.h).
 * Format: snapshot_format.h.  Writer: snapshot_writer.c.
 *
 * Loading is two passes in file order, with neither a sort nor a hash of
 * all the objects (PERF-NOTES).  They read the file through one 1 MiB
 * buffer (struct loader says why); the map, not populated, serves the
 * header, the END and TYPE records and the lookups after loading:
 *
 *   scan     validate every record head and bound (nothing is trusted
 *            until it is bounds-checked), and place every object in the
 *            address index: its bit set in its 1 MiB chunk's bitmap (a bit
 *            already set is a duplicate), or, for chunks beyond the bitmap
 *            budget, its address appended to a list.  The END record, read
 *            first from the tail, bounds the arrays; the scan checks it.
 *   index    (chunk order: only the chunk keys, a few hundred, are sorted;
 *            and the overflow list, usually empty) give each bitmap word
 *            the id of its first object and write addr[] from the bits.
 *            Ids are now address order (invariant 1), and the index of
 *            invariant 6 is complete.
 *   gather   each NODE's size, type and record offset go to its id, every
 *            edge and root target is resolved through the index (a table
 *            slot in L1 and one bitmap word, no probing) and dangling ones
 *            are dropped as they come, so edge rows are written compacted,
 *            in file order.
 *
 * Memory after loading, per object: 40 bytes (address, size, type, record
 * offset, owner, row bounds) and the index: 32 KiB per dense chunk (about
 * 3 bytes per object on a real heap; all the bitmaps together at most
 * max(4 MiB, 16 bytes per object)) plus 48 bytes per occupied chunk; 12
 * bytes per edge.  Nothing else is allocated per object while loading, and
 * no array is zeroed only to be overwritten.  The first referrers query
 * adds the reverse edges (invariant 7): 4 bytes per object and per edge.
 *
 * A file truncated under a live mapping would fault; snapshots are
 * written once and not modified, so this is not guarded against; an
 * object that vanished between the passes (a file rewritten under the
 * map) is reported before it could index past an array.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "graph.h"
#include "idset.h"
#include "snapshot_format.h"
#include "typename.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "snapshots are little-endian and read in place: little-endian hosts only"
#endif

enum {
	HEAD_SIZE = sizeof(struct remora_rec_head),
	NODE_FIXED = sizeof(struct remora_rec_node_fixed),
	TYPE_FIXED = sizeof(struct remora_rec_type),
	EDGE_SIZE = sizeof(struct remora_rec_edge),
	END_SIZE = sizeof(struct remora_rec_end),
	ROOT_SIZE = sizeof(struct remora_rec_root),
	THREAD_SIZE = sizeof(struct remora_rec_thread),
	/* The address index (snapshot.h invariant 6). */
	CHUNK_BITS = 20,                  /* 1 MiB chunks */
	WORD_BITS = 9,                    /* a bitmap word covers 512 bytes */
	CHUNK_WORDS = 1 << (CHUNK_BITS - WORD_BITS),
	CHUNK_BYTES = CHUNK_WORDS * sizeof(struct remora_snapshot_word),
	DENSE_BUDGET_MIN = 4 << 20,       /* bitmaps always allowed, bytes */
	DENSE_BUDGET_PER_NODE = 16,       /* bitmaps allowed per object */
	WINDOW_BYTES = 1 << 20,           /* the loader's reads (struct loader) */
};

/* The most records of each kind a file of a given size can hold. */
static const uint64_t MAX_COUNT = UINT32_MAX - 1;

struct chunk_order {
	uint64_t key;
	uint64_t slot;
};

struct loader {
	struct remora_snapshot *snap;
	const uint8_t *map;
	size_t size;
	struct remora_rec_end end;    /* counts promised by the END record */

	/* scan results */
	uint32_t nodes;
	uint64_t edges;
	uint32_t types;
	uint64_t *type_rec;           /* [end.type_count] TYPE record offsets */
	uint64_t roots;
	uint64_t set_entries;         /* addresses in SET records */
	uint32_t threads;             /* THREAD records */

	/* the index as the scan builds it */
	uint64_t last_key;            /* the chunk met last: objects come in */
	uint64_t last_slot;           /* runs per chunk; UINT64_MAX: none */
	uint64_t dense_left;          /* bitmap budget left, bytes */
	uint32_t sparse;              /* addresses listed at snap->addr[0..] */

	uint64_t *type_keys;          /* type address -> type index */
	uint32_t *type_vals;
	uint64_t type_mask;
	unsigned type_shift;
	uint32_t type_cap;            /* entries allocated in snap->types */
	uint32_t zero_type;           /* the entry for type address 0 */
	uint64_t last_type;           /* gather: the type met last ... */
	uint32_t last_type_index;     /* ... and its index, or REMORA_NO_NODE */

	/* The scan and the gather read the file in order through a window
	 * (loader_bytes()), not the map: on these machines a page's first
	 * touch through a mapping costs about 1.5 us, 0.25 s for a 10M-object
	 * snapshot, where pread() into the same hot buffer costs 0.06 s a
	 * pass.  The map serves the rest (header, END, types, errors, and
	 * every lookup after loading). */
	int fd;                       /* the file; -1: read through the map */
	uint8_t *win;                 /* [WINDOW_BYTES] */
	uint64_t win_start;           /* file offset of win[0] */
	size_t win_len;               /* bytes of the file in win */
};

static uint64_t pad8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

static uint64_t hash_address(uint64_t address)
{
	return address * UINT64_C(0x9e3779b97f4a7c15);
}

/* ---- big arrays -----------------------------------------------------
 *
 * Arrays of a million entries: mapped on 2 MiB boundaries and backed by
 * transparent huge pages where the kernel allows it, which halves the
 * cost of first touching them.  First touch is still the bulk of a
 * load's time on these machines (the kernel zeroes each page, ~1 ms per
 * MiB), so a freed block is kept for the next capture, which usually
 * needs blocks of the same sizes: a warm py-heap then touches no new
 * page.  What is kept is bounded (BIG_KEEP_BYTES, BIG_KEEP_BLOCKS) and
 * given back by remora_big_trim(). */
enum {
	BIG_MIN = 2 << 20,
	BIG_KEEP_BLOCKS = 64,
};
#define BIG_KEEP_BYTES ((size_t)4 << 30)

struct big_block {
	void *p;
	size_t bytes;
	struct big_block *next;
};

static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
static struct big_block *big_live;       /* handed out */
static struct big_block *big_kept;       /* freed, kept for reuse */
static size_t big_kept_bytes;
static unsigned big_kept_count;

static void *big_map(size_t bytes)
{
	size_t len = bytes + BIG_MIN;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)m + BIG_MIN - 1) & ~(uintptr_t)(BIG_MIN - 1));
	if (p > m)
		munmap(m, (size_t)(p - m));
	if (m + len > p + bytes)
		munmap(p + bytes, (size_t)(m + len - (p + bytes)));
	madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

void *remora_big_alloc(size_t n, size_t size)
{
	size_t bytes = (n ? n : 1) * size;
	if (bytes < BIG_MIN)
		return malloc(bytes);
	bytes = (bytes + BIG_MIN - 1) & ~(size_t)(BIG_MIN - 1);
	pthread_mutex_lock(&big_lock);
	/* the smallest kept block that fits, if it wastes at most half */
	struct big_block **best = NULL;
	for (struct big_block **b = &big_kept; *b; b = &(*b)->next) {
		if ((*b)->bytes >= bytes && (*b)->bytes / 2 <= bytes &&
		    (!best || (*b)->bytes < (*best)->bytes))
			best = b;
	}
	struct big_block *blk = NULL;
	if (best) {
		blk = *best;
		*best = blk->next;
		big_kept_bytes -= blk->bytes;
		big_kept_count--;
	}
	pthread_mutex_unlock(&big_lock);
	if (!blk) {
		blk = malloc(sizeof(*blk));
		if (!blk)
			return NULL;
		blk->bytes = bytes;
		blk->p = big_map(bytes);
		if (!blk->p) {
			free(blk);
			return NULL;
		}
	}
	pthread_mutex_lock(&big_lock);
	blk->next = big_live;
	big_live = blk;
	pthread_mutex_unlock(&big_lock);
	return blk->p;
}

void remora_big_free(void *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&big_lock);
	struct big_block **b = &big_live;
	while (*b && (*b)->p != p)
		b = &(*b)->next;
	struct big_block *blk = *b;
	if (!blk) {
		pthread_mutex_unlock(&big_lock);
		free(p);        /* a small one, from malloc */
		return;
	}
	*b = blk->next;
	bool keep = big_kept_count < BIG_KEEP_BLOCKS &&
		    big_kept_bytes + blk->bytes <= BIG_KEEP_BYTES;
	if (keep) {
		blk->next = big_kept;
		big_kept = blk;
		big_kept_bytes += blk->bytes;
		big_kept_count++;
	}
	pthread_mutex_unlock(&big_lock);
	if (!keep) {
		munmap(blk->p, blk->bytes);
		free(blk);
	}
}

void remora_big_trim(void)
{
	pthread_mutex_lock(&big_lock);
	struct big_block *blk = big_kept;
	big_kept = NULL;
	big_kept_bytes = 0;
	big_kept_count = 0;
	pthread_mutex_unlock(&big_lock);
	while (blk) {
		struct big_block *next = blk->next;
		munmap(blk->p, blk->bytes);
		free(blk);
		blk = next;
	}
}

uint64_t remora_big_kept_bytes(void)
{
	pthread_mutex_lock(&big_lock);
	size_t n = big_kept_bytes;
	pthread_mutex_unlock(&big_lock);
	return n;
}

__attribute__((format(printf, 3, 4)))
static struct remora_error *loader_error(struct loader *l, uint64_t off,
					 const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return remora_error_create_at(REMORA_ERROR_FORMAT, off,
				      "snapshot %s: %s", l->snap->path, what);
}

static struct remora_error *loader_changed(struct loader *l)
{
	return loader_error(l, 0, "the file changed while it was being loaded");
}

static const char *tag_name(uint32_t tag)
{
	switch (tag) {
	case REMORA_REC_NODE: return "NODE";
	case REMORA_REC_EDGES: return "EDGES";
	case REMORA_REC_ROOTS: return "ROOTS";
	case REMORA_REC_TYPE: return "TYPE";
	case REMORA_REC_SET: return "SET";
	case REMORA_REC_THREAD: return "THREAD";
	case REMORA_REC_END: return "END";
	default: return "unknown";
	}
}

static const struct remora_rec_head *rec_head(const struct loader *l,
					      uint64_t off)
{
	return (const struct remora_rec_head *)(l->map + off);
}

/* The file's bytes [off, off + n), n <= WINDOW_BYTES, which the caller
 * has checked lie within its size: from the window, read again from off
 * when they are not all in it; NULL if the file has fewer now (it changed
 * under the loader) or cannot be read. */
static const uint8_t *loader_bytes(struct loader *l, uint64_t off, size_t n)
{
	if (off >= l->win_start && off - l->win_start <= l->win_len &&
	    l->win_len - (off - l->win_start) >= n)
		return l->win + (off - l->win_start);
	if (l->fd < 0)
		return l->map + off;
	size_t got = 0;
	while (got < WINDOW_BYTES) {
		ssize_t r = pread(l->fd, l->win + got, WINDOW_BYTES - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	l->win_start = off;
	l->win_len = got;
	return got >= n ? l->win : NULL;
}

/* Copies the file's bytes [off, off + n) to dst (a copy outlives the
 * window's next move); false if the file changed. */
static bool loader_copy(struct loader *l, uint64_t off, void *dst, size_t n)
{
	const uint8_t *bytes = loader_bytes(l, off, n);
	if (bytes)
		memcpy(dst, bytes, n);
	return bytes != NULL;
}

/* A run record's entries (EDGES, ROOTS, SET), read as many at a time as
 * the window holds. */
struct run_reader {
	const uint8_t *at;            /* entry `first` */
	uint32_t first;
	uint32_t left;                /* entries from `at` not handed out */
};

/* Entry k (of n, size bytes each, from payload) of the record r reads, k
 * counting up from 0 by one; NULL if the file changed. */
static const void *run_entry(struct loader *l, struct run_reader *r, uint64_t payload,
			     uint32_t n, uint32_t k, size_t size)
{
	if (!r->left) {
		uint32_t fit = (uint32_t)(WINDOW_BYTES / size);
		r->left = n - k < fit ? n - k : fit;
		r->first = k;
		r->at = loader_bytes(l, payload + (uint64_t)k * size, (size_t)r->left * size);
		if (!r->at)
			return NULL;
	}
	r->left--;
	return r->at + (size_t)(k - r->first) * size;
}

/* The length of a record the scan has validated, head included. */
static uint64_t rec_size(const struct remora_rec_head *h)
{
	switch (h->tag) {
	case REMORA_REC_NODE:
		return HEAD_SIZE + remora_node_payload_size(h->n);
	case REMORA_REC_EDGES:
		return HEAD_SIZE + (uint64_t)h->n * EDGE_SIZE;
	case REMORA_REC_ROOTS:
		return HEAD_SIZE + (uint64_t)h->n * ROOT_SIZE;
	case REMORA_REC_SET:
		return HEAD_SIZE + (uint64_t)h->n * 8;
	case REMORA_REC_THREAD:
		return HEAD_SIZE + THREAD_SIZE;
	case REMORA_REC_TYPE:
		return HEAD_SIZE + TYPE_FIXED + pad8(h->n);
	default:
		return HEAD_SIZE + END_SIZE;
	}
}

/* ---- the address index (snapshot.h invariant 6) ---------------------- */

/* popcount without the libgcc call the baseline x86-64 target makes of
 * __builtin_popcountll. */
static inline uint32_t popcount64(uint64_t x)
{
#ifdef __POPCNT__
	return (uint32_t)__builtin_popcountll(x);
#else
	x -= (x >> 1) & UINT64_C(0x5555555555555555);
	x = (x & UINT64_C(0x3333333333333333)) +
	    ((x >> 2) & UINT64_C(0x3333333333333333));
	x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
	return (uint32_t)((x * UINT64_C(0x0101010101010101)) >> 56);
#endif
}

/* The slot of key, or the empty slot where it would go. */
static uint64_t chunk_slot(const struct remora_snapshot *snap, uint64_t key)
{
	uint64_t s = hash_address(key) >> snap->chunk_shift;
	while (snap->chunks[s].count && snap->chunks[s].key != key)
		s = (s + 1) & snap->chunk_mask;
	return s;
}

/* The id of the object at address, or REMORA_NO_NODE. */
static uint32_t snapshot_find(const struct remora_snapshot *snap,
			      uint64_t address)
{
	if ((address & 7) || !snap->chunks)
		return REMORA_NO_NODE;
	const struct remora_snapshot_chunk *c =
		&snap->chunks[chunk_slot(snap, address >> CHUNK_BITS)];
	if (!c->count)
		return REMORA_NO_NODE;
	if (c->words) {
		const struct remora_snapshot_word *w =
			&c->words[(address >> WORD_BITS) & (CHUNK_WORDS - 1)];
		unsigned bit = (address >> 3) & 63;
		if (!((w->bits >> bit) & 1))
			return REMORA_NO_NODE;
		return w->rank +
		       popcount64(w->bits & ((UINT64_C(1) << bit) - 1));
	}
	/* Sparse: a branch-free search of the chunk's part of addr[]. */
	const uint64_t *a = snap->addr + c->base;
	for (uint32_t len = c->count; len > 1;) {
		uint32_t half = len / 2;
		a = a[half] <= address ? a + half : a;
		len -= half;
	}
	return *a == address ? (uint32_t)(a - snap->addr) : REMORA_NO_NODE;
}

static struct remora_error *chunk_table_grow(struct remora_snapshot *snap)
{
	struct remora_snapshot_chunk *old = snap->chunks;
	uint64_t old_cap = old ? snap->chunk_mask + 1 : 0;
	uint64_t cap = old ? old_cap * 2 : 64;
	struct remora_snapshot_chunk *chunks = calloc(cap, sizeof(*chunks));
	if (!chunks)
		return &remora_error_no_memory;
	snap->chunks = chunks;
	snap->chunk_mask = cap - 1;
	snap->chunk_shift = 64 - (unsigned)__builtin_ctzll(cap);
	for (uint64_t s = 0; s < old_cap; s++) {
		if (old[s].count)
			chunks[chunk_slot(snap, old[s].key)] = old[s];
	}
	free(old);
	return NULL;
}

/* Names the first two NODE records for address (an error path: it walks
 * the file again, up to the second, which the scan has validated). */
static struct remora_error *loader_duplicate(struct loader *l,
					     uint64_t address)
{
	uint64_t found[2] = { 0, 0 };
	int k = 0;
	for (uint64_t off = REMORA_SNAPSHOT_HEADER_SIZE; k < 2;) {
		const struct remora_rec_head *h = rec_head(l, off);
		if (h->tag == REMORA_REC_END)
			break;
		if (h->tag == REMORA_REC_NODE &&
		    ((const struct remora_rec_node_fixed *)(h + 1))->address == address)
			found[k++] = off;
		off += rec_size(h);
	}
	return loader_error(l, found[1],
			    "two NODE records (offsets %llu and %llu) for address 0x%llx",
			    (unsigned long long)found[0],
			    (unsigned long long)found[1],
			    (unsigned long long)address);
}

/* Bitmaps in the k-th block of them: min(2^k, 64), so that a small
 * snapshot takes small blocks and a big one mostly 2 MiB ones (one huge
 * page to clear where 64 bitmaps of their own were 512 small ones). */
static uint32_t words_per_block(uint32_t k)
{
	return k < 6 ? 1u << k : (2u << 20) / CHUNK_BYTES;
}

/* A dense chunk's bitmap, cleared: the next of the last block's. */
static struct remora_snapshot_word *loader_words(struct remora_snapshot *snap)
{
	uint32_t k = snap->word_block_count;
	if (!snap->words_left) {
		struct remora_snapshot_word **blocks =
			realloc(snap->word_blocks, (k + 1) * sizeof(*blocks));
		if (!blocks)
			return NULL;
		snap->word_blocks = blocks;
		blocks[k] = remora_big_alloc(words_per_block(k), CHUNK_BYTES);
		if (!blocks[k])
			return NULL;
		snap->word_block_count = ++k;
		snap->words_left = words_per_block(k - 1);
	}
	struct remora_snapshot_word *w =
		snap->word_blocks[k - 1] +
		(size_t)(words_per_block(k - 1) - snap->words_left) * CHUNK_WORDS;
	snap->words_left--;
	/* a kept block (remora_big_alloc()) holds the last load's bits */
	memset(w, 0, CHUNK_BYTES);
	return w;
}

/* The chunk of key, created if new: with a bitmap while the budget lasts
 * (first come, first served: the chunks of a real heap all fit). */
static struct remora_error *loader_chunk(struct loader *l, uint64_t key)
{
	struct remora_snapshot *snap = l->snap;
	/* Keep the load at most 1/2: a lookup is a probe or two. */
	if ((uint64_t)(snap->chunk_count + 1) * 2 > snap->chunk_mask + 1 ||
	    !snap->chunks) {
		struct remora_error *err = chunk_table_grow(snap);
		if (err)
			return err;
	}
	uint64_t s = chunk_slot(snap, key);
	struct remora_snapshot_chunk *c = &snap->chunks[s];
	if (!c->count) {
		c->key = key;
		if (l->dense_left >= CHUNK_BYTES) {
			c->words = loader_words(snap);
			if (!c->words)
				return &remora_error_no_memory;
			l->dense_left -= CHUNK_BYTES;
		}
		snap->chunk_count++;
	}
	l->last_key = key;
	l->last_slot = s;
	return NULL;
}

/* Places an object in the index (scan): its bit, or the overflow list at
 * the front of addr[], whose room the END count bounds. */
static struct remora_error *loader_place(struct loader *l, uint64_t address)
{
	struct remora_snapshot *snap = l->snap;
	uint64_t key = address >> CHUNK_BITS;
	if (key != l->last_key || l->last_slot == UINT64_MAX) {
		struct remora_error *err = loader_chunk(l, key);
		if (err)
			return err;
	}
	struct remora_snapshot_chunk *c = &snap->chunks[l->last_slot];
	c->count++;
	if (!c->words) {
		snap->addr[l->sparse++] = address;
		return NULL;
	}
	struct remora_snapshot_word *w =
		&c->words[(address >> WORD_BITS) & (CHUNK_WORDS - 1)];
	uint64_t bit = UINT64_C(1) << ((address >> 3) & 63);
	if (w->bits & bit)
		return loader_duplicate(l, address);
	w->bits |= bit;
	return NULL;
}

/* ---- header and END ------------------------------------------------- */

static struct remora_error *loader_check_header(struct loader *l)
{
	if (l->size < REMORA_SNAPSHOT_HEADER_SIZE)
		return loader_error(l, 0,
				    "file is %zu bytes, shorter than the %d-byte header",
				    l->size, REMORA_SNAPSHOT_HEADER_SIZE);
	if (memcmp(l->map, REMORA_SNAPSHOT_MAGIC, sizeof(REMORA_SNAPSHOT_MAGIC)))
		return loader_error(l, 0, "not a remora snapshot (bad magic)");
	uint32_t version, header_size, py_version, flags;
	uint64_t ptr_size;
	memcpy(&version, l->map + 8, 4);
	memcpy(&header_size, l->map + 12, 4);
	memcpy(&py_version, l->map + 16, 4);
	memcpy(&flags, l->map + 20, 4);
	memcpy(&ptr_size, l->map + 24, 8);
	/* version 4 is version 5 without REMORA_NODE_SIZE_LOWER and
	 * REMORA_VIA_INTERATTR */
	if (version != REMORA_SNAPSHOT_VERSION && version != 4)
		return loader_error(l, 8,
				    "format version %u, this remora reads versions 4 and %d",
				    version, REMORA_SNAPSHOT_VERSION);
	if (header_size != REMORA_SNAPSHOT_HEADER_SIZE)
		return loader_error(l, 12, "header size %u, expected %d",
				    header_size, REMORA_SNAPSHOT_HEADER_SIZE);
	if (ptr_size != 8)
		return loader_error(l, 24, "pointer size %llu, expected 8",
				    (unsigned long long)ptr_size);
	l->snap->python_version = py_version;
	l->snap->flags = flags & ~REMORA_SNAPSHOT_SIZES_CLAMPED;
	return NULL;
}

/* True if the file ends with a plausible END record; fills l->end. */
static bool loader_read_tail(struct loader *l)
{
	uint64_t need = HEAD_SIZE + END_SIZE;
	if (l->size - REMORA_SNAPSHOT_HEADER_SIZE < need)
		return false;
	uint64_t off = l->size - need;
	if (off & 7)
		return false;
	const struct remora_rec_head *h = rec_head(l, off);
	if (h->tag != REMORA_REC_END || h->n != 0)
		return false;
	memcpy(&l->end, l->map + off + HEAD_SIZE, END_SIZE);
	return true;
}

static struct remora_error *loader_check_end_counts(struct loader *l)
{
	/* Smallest records: NODE 32 bytes, TYPE 32, an edge or root 16. */
	uint64_t body = l->size - REMORA_SNAPSHOT_HEADER_SIZE;
	uint64_t end_off = l->size - HEAD_SIZE - END_SIZE;
	const struct remora_rec_end *e = &l->end;
	if (e->node_count > body / (HEAD_SIZE + NODE_FIXED) ||
	    e->type_count > body / (HEAD_SIZE + TYPE_FIXED) ||
	    e->edge_count > body / EDGE_SIZE || e->root_count > body / ROOT_SIZE)
		return loader_error(l, end_off,
				    "END record counts (%llu nodes, %llu edges, %llu types, %llu roots) cannot fit in a %zu-byte file",
				    (unsigned long long)e->node_count,
				    (unsigned long long)e->edge_count,
				    (unsigned long long)e->type_count,
				    (unsigned long long)e->root_count, l->size);
	if (e->node_count > MAX_COUNT || e->edge_count > MAX_COUNT ||
	    e->type_count > MAX_COUNT || e->root_count > MAX_COUNT)
		return loader_error(l, end_off,
				    "more than %llu nodes, edges, types or roots",
				    (unsigned long long)MAX_COUNT);
	return NULL;
}

/* ---- scan ------------------------------------------------------------ */

/* Validates every record.  With count, also counts the objects of each
 * chunk and records TYPE offsets into l->type_rec (sized from l->end,
 * each checked against its bound first). */
static struct remora_error *loader_scan(struct loader *l, bool count)
{
	uint64_t off = REMORA_SNAPSHOT_HEADER_SIZE;
	uint32_t prev = 0;
	l->nodes = 0;
	l->edges = 0;
	l->types = 0;
	l->roots = 0;
	l->set_entries = 0;
	l->threads = 0;
	l->last_slot = UINT64_MAX;
	for (;;) {
		if (off == l->size)
			return loader_error(l, off,
					    "no END record: the file ends at offset %llu (truncated?)",
					    (unsigned long long)off);
		if (l->size - off < HEAD_SIZE)
			return loader_error(l, off,
					    "truncated record head at offset %llu",
					    (unsigned long long)off);
		struct remora_rec_head head;
		if (!loader_copy(l, off, &head, HEAD_SIZE))
			return loader_changed(l);
		const struct remora_rec_head *h = &head;
		uint64_t payload = off + HEAD_SIZE;
		uint64_t avail = l->size - payload;
		uint64_t need;
		switch (h->tag) {
		case REMORA_REC_NODE: {
			uint32_t flags = remora_node_flags(h->n);
			if (flags & ~(uint32_t)REMORA_NODE_KNOWN)
				return loader_error(l, off,
						    "NODE record at offset %llu has unknown flags 0x%x",
						    (unsigned long long)off, flags);
			need = remora_node_payload_size(h->n);
			if (avail < need)
				goto truncated;
			struct remora_rec_node_fixed fixed;
			if (!loader_copy(l, payload, &fixed, NODE_FIXED))
				return loader_changed(l);
			const struct remora_rec_node_fixed *node = &fixed;
			if (node->address == 0)
				return loader_error(l, off,
						    "NODE record at offset %llu has address 0",
						    (unsigned long long)off);
			if (node->address & 7)
				return loader_error(l, off,
						    "NODE record at offset %llu: address 0x%llx is not 8-aligned",
						    (unsigned long long)off,
						    (unsigned long long)node->address);
			if (l->nodes >= MAX_COUNT ||
			    (count && l->nodes >= l->end.node_count))
				goto count_lies;
			if (count) {
				struct remora_error *err =
					loader_place(l, node->address);
				if (err)
					return err;
			}
			l->nodes++;
			break;
		}
		case REMORA_REC_EDGES:
			if (prev != REMORA_REC_NODE && prev != REMORA_REC_EDGES)
				return loader_error(l, off,
						    "EDGES record at offset %llu follows no NODE record",
						    (unsigned long long)off);
			need = (uint64_t)h->n * EDGE_SIZE;
			if (avail < need)
				goto truncated;
			l->edges += h->n;
			if (l->edges > MAX_COUNT)
				goto count_lies;
			if (count && l->edges > l->end.edge_count)
				goto count_lies;
			break;
		case REMORA_REC_ROOTS:
			need = (uint64_t)h->n * ROOT_SIZE;
			if (avail < need)
				goto truncated;
			l->roots += h->n;
			if (l->roots > MAX_COUNT ||
			    (count && l->roots > l->end.root_count))
				goto count_lies;
			break;
		case REMORA_REC_SET:
			need = (uint64_t)h->n * 8;
			if (avail < need)
				goto truncated;
			l->set_entries += h->n;
			if (l->set_entries > MAX_COUNT ||
			    (count && l->set_entries > l->end.node_count))
				goto count_lies;
			break;
		case REMORA_REC_THREAD:
			if (h->n != 0)
				return loader_error(l, off,
						    "THREAD record at offset %llu has n = %u, expected 0",
						    (unsigned long long)off, h->n);
			need = THREAD_SIZE;
			if (avail < need)
				goto truncated;
			if (l->threads >= 65536)
				return loader_error(l, off, "more than 65536 THREAD records");
			l->threads++;
			break;
		case REMORA_REC_TYPE: {
			if (avail < TYPE_FIXED) {
				need = TYPE_FIXED;
				goto truncated;
			}
			struct remora_rec_type type;
			if (!loader_copy(l, payload, &type, TYPE_FIXED))
				return loader_changed(l);
			const struct remora_rec_type *t = &type;
			if ((uint32_t)t->name_len + t->module_len != h->n)
				return loader_error(l, off,
						    "TYPE record at offset %llu: name and module lengths %u + %u differ from its length %u",
						    (unsigned long long)off, t->name_len,
						    t->module_len, h->n);
			need = TYPE_FIXED + pad8(h->n);
			if (avail < need)
				goto truncated;
			if (count) {
				if (l->types >= l->end.type_count)
					goto count_lies;
				l->type_rec[l->types] = off;
			}
			if (l->types >= MAX_COUNT)
				goto count_lies;
			l->types++;
			break;
		}
		case REMORA_REC_END: {
			need = END_SIZE;
			if (h->n != 0)
				return loader_error(l, off,
						    "END record at offset %llu has n = %u, expected 0",
						    (unsigned long long)off, h->n);
			if (avail < need)
				goto truncated;
			if (avail > need)
				return loader_error(l, off,
						    "%llu bytes of data after the END record at offset %llu",
						    (unsigned long long)(avail - need),
						    (unsigned long long)off);
			struct remora_rec_end e;
			if (!loader_copy(l, payload, &e, sizeof(e)))
				return loader_changed(l);
			if (e.node_count != l->nodes || e.edge_count != l->edges ||
			    e.type_count != l->types || e.root_count != l->roots)
				return loader_error(l, off,
						    "END record says %llu nodes, %llu edges, %llu types, %llu roots; the file has %u, %llu, %u, %llu",
						    (unsigned long long)e.node_count,
						    (unsigned long long)e.edge_count,
						    (unsigned long long)e.type_count,
						    (unsigned long long)e.root_count,
						    l->nodes, (unsigned long long)l->edges,
						    l->types, (unsigned long long)l->roots);
			return NULL;
		}
		default:
			return loader_error(l, off,
					    "unknown record tag 0x%x at offset %llu",
					    h->tag, (unsigned long long)off);
		}
		prev = h->tag;
		off = payload + need;
		continue;

truncated:
		return loader_error(l, off,
				    "truncated %s record at offset %llu: needs %llu bytes, the file has %llu left",
				    tag_name(h->tag), (unsigned long long)off,
				    (unsigned long long)(HEAD_SIZE + need),
				    (unsigned long long)(l->size - off));
count_lies:
		return loader_error(l, off,
				    "%s record at offset %llu goes past the counts in the END record",
				    tag_name(h->tag), (unsigned long long)off);
	}
}


/* ---- index ----------------------------------------------------------- */

static int chunk_order_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct chunk_order *)a)->key;
	uint64_t y = ((const struct chunk_order *)b)->key;
	return (x > y) - (x < y);
}

static int address_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* One dense chunk's part of addr[] from its bits, and its word ranks. */
static void index_unpack(const struct remora_snapshot_chunk *c, uint64_t *addr)
{
	uint32_t id = c->base;
	uint64_t chunk_start = c->key << CHUNK_BITS;
	for (uint32_t w = 0; w < CHUNK_WORDS; w++) {
		uint64_t bits = c->words[w].bits;
		c->words[w].rank = id;
		uint64_t word_start = chunk_start | (uint64_t)w << WORD_BITS;
		for (; bits; bits &= bits - 1)
			addr[id++] = word_start | (uint64_t)__builtin_ctzll(bits) << 3;
	}
}

/* After the scan: bases in key order, the overflow list sorted and moved
 * to its chunks' ranges, addr[] and the word ranks written (snapshot.h
 * invariants 1 and 6). */
static struct remora_error *loader_index(struct loader *l)
{
	struct remora_snapshot *snap = l->snap;
	uint32_t chunks = snap->chunk_count;
	snap->node_count = l->nodes;
	if (!chunks)
		return NULL;
	struct chunk_order *order = malloc(chunks * sizeof(*order));
	if (!order)
		return &remora_error_no_memory;
	uint32_t k = 0;
	for (uint64_t s = 0; s <= snap->chunk_mask; s++) {
		if (snap->chunks[s].count) {
			order[k].key = snap->chunks[s].key;
			order[k].slot = s;
			k++;
		}
	}
	qsort(order, chunks, sizeof(*order), chunk_order_cmp);

	/* The list holds the sparse chunks' addresses: sorted, they are
	 * grouped by chunk in key order. */
	uint64_t *list = snap->addr;
	qsort(list, l->sparse, sizeof(*list), address_cmp);
	for (uint32_t i = 1; i < l->sparse; i++) {
		if (list[i] == list[i - 1]) {
			free(order);
			return loader_duplicate(l, list[i]);
		}
	}
	uint32_t base = 0;
	for (uint32_t i = 0; i < chunks; i++) {
		struct remora_snapshot_chunk *c = &snap->chunks[order[i].slot];
		c->base = base;
		base += c->count;
	}
	/* From the top down: a chunk's final range never starts below its
	 * place in the list, and only lower chunks' entries lie below it. */
	uint32_t listed = l->sparse;
	for (uint32_t i = chunks; i-- > 0;) {
		const struct remora_snapshot_chunk *c = &snap->chunks[order[i].slot];
		if (c->words) {
			index_unpack(c, snap->addr);
		} else {
			listed -= c->count;
			memmove(snap->addr + c->base, list + listed,
				c->count * sizeof(*list));
		}
	}
	free(order);
	return NULL;
}

/* ---- types ----------------------------------------------------------- */

static uint32_t type_find(const struct loader *l, uint64_t address)
{
	uint64_t s = hash_address(address) >> l->type_shift;
	while (l->type_keys[s]) {
		if (l->type_keys[s] == address)
			return l->type_vals[s];
		s = (s + 1) & l->type_mask;
	}
	return REMORA_NO_NODE;
}

static struct remora_error *type_hash_grow(struct loader *l)
{
	uint64_t old_mask = l->type_mask;
	uint64_t *old_keys = l->type_keys;
	uint32_t *old_vals = l->type_vals;
	uint64_t cap = old_keys ? (old_mask + 1) * 2 : 64;
	l->type_keys = calloc(cap, sizeof(*l->type_keys));
	l->type_vals = calloc(cap, sizeof(*l->type_vals));
	if (!l->type_keys || !l->type_vals) {
		free(l->type_keys);
		free(l->type_vals);
		l->type_keys = old_keys;
		l->type_vals = old_vals;
		return &remora_error_no_memory;
	}
	l->type_mask = cap - 1;
	l->type_shift = 64 - (unsigned)__builtin_ctzll(cap);
	if (old_keys) {
		for (uint64_t s = 0; s <= old_mask; s++) {
			if (!old_keys[s])
				continue;
			uint64_t t = hash_address(old_keys[s]) >> l->type_shift;
			while (l->type_keys[t])
				t = (t + 1) & l->type_mask;
			l->type_keys[t] = old_keys[s];
			l->type_vals[t] = old_vals[s];
		}
	}
	free(old_keys);
	free(old_vals);
	return NULL;
}

/* Appends a type; the caller has checked that address is not in the
 * table.  name/module are copied.  Address 0 is not hashed: the caller
 * keeps that entry's index (l->zero_type). */
static struct remora_error *type_add(struct loader *l, uint64_t address,
				     uint64_t flags, const char *name,
				     size_t name_len, const char *module,
				     size_t module_len, uint32_t *index_ret)
{
	struct remora_snapshot *snap = l->snap;
	struct remora_error *err;
	if (!l->type_keys || (uint64_t)(snap->type_count + 1) * 2 > l->type_mask + 1) {
		err = type_hash_grow(l);
		if (err)
			return err;
	}
	if (snap->type_count == l->type_cap) {
		uint32_t cap = l->type_cap ? l->type_cap * 2 : 64;
		struct remora_snapshot_type *types =
			realloc(snap->types, (size_t)cap * sizeof(*types));
		if (!types)
			return &remora_error_no_memory;
		snap->types = types;
		l->type_cap = cap;
	}
	struct remora_snapshot_type *t = &snap->types[snap->type_count];
	memset(t, 0, sizeof(*t));
	t->address = address;
	t->flags = flags;
	t->name = malloc(name_len + 1);
	t->module = malloc(module_len + 1);
	t->display = remora_typename_render(name, name_len, module, module_len,
					    snap->python_version);
	if (!t->name || !t->module || !t->display) {
		free(t->name);
		free(t->module);
		free(t->display);
		return &remora_error_no_memory;
	}
	memcpy(t->name, name, name_len);
	t->name[name_len] = '\0';
	memcpy(t->module, module, module_len);
	t->module[module_len] = '\0';
	if (address) {
		uint64_t s = hash_address(address) >> l->type_shift;
		while (l->type_keys[s])
			s = (s + 1) & l->type_mask;
		l->type_keys[s] = address;
		l->type_vals[s] = snap->type_count;
	}
	*index_ret = snap->type_count++;
	return NULL;
}

static struct remora_error *loader_types(struct loader *l)
{
	struct remora_snapshot *snap = l->snap;
	struct remora_error *err;
	snap->dict_type = REMORA_NO_NODE;
	for (uint32_t i = 0; i < l->types; i++) {
		uint64_t off = l->type_rec[i];
		const struct remora_rec_type *t =
			(const void *)(l->map + off + HEAD_SIZE);
		const char *name = (const char *)(t + 1);
		const char *module = name + t->name_len;
		if (!t->address)
			return loader_error(l, off,
					    "TYPE record at offset %llu has address 0",
					    (unsigned long long)off);
		if (l->type_keys && type_find(l, t->address) != REMORA_NO_NODE)
			return loader_error(l, off,
					    "a second TYPE record for type 0x%llx at offset %llu",
					    (unsigned long long)t->address,
					    (unsigned long long)off);
		uint32_t index;
		err = type_add(l, t->address, t->flags, name, t->name_len,
			       module, t->module_len, &index);
		if (err)
			return err;
		snap->types[index].shape = t->shape;
		static const struct {
			const char *name;
			size_t offset;
		} builtin[] = {
			{ "dict", offsetof(struct remora_snapshot, dict_type) },
			{ "str", offsetof(struct remora_snapshot, str_type) },
			{ "int", offsetof(struct remora_snapshot, int_type) },
			{ "bool", offsetof(struct remora_snapshot, bool_type) },
		};
		for (size_t b = 0; b < sizeof(builtin) / sizeof(builtin[0]); b++) {
			if (t->name_len == strlen(builtin[b].name) &&
			    !memcmp(name, builtin[b].name, t->name_len) &&
			    t->module_len == 8 && !memcmp(module, "builtins", 8))
				*(uint32_t *)((char *)snap + builtin[b].offset) = index;
		}
	}
	return NULL;
}

/* The type index of a NODE's type address; a type without a TYPE record
 * gets a synthetic entry named "<type 0x...>" (snapshot.h invariant 3). */
static struct remora_error *loader_node_type(struct loader *l,
					     uint64_t address,
					     uint32_t *index_ret)
{
	if (!address && l->zero_type != REMORA_NO_NODE) {
		*index_ret = l->zero_type;
		return NULL;
	}
	uint32_t index = l->type_keys && address ? type_find(l, address)
						 : REMORA_NO_NODE;
	if (index != REMORA_NO_NODE) {
		*index_ret = index;
		return NULL;
	}
	char name[32];
	int len = snprintf(name, sizeof(name), "<type 0x%llx>",
			   (unsigned long long)address);
	struct remora_error *err = type_add(l, address, 0, name, (size_t)len,
					    "", 0, index_ret);
	if (!err && !address)
		l->zero_type = *index_ret;
	return err;
}


/* ---- frame counts (snapshot.h invariant 9) ----------------------------- */

static uint64_t frames_slot(const struct remora_snapshot *snap, uint64_t key)
{
	uint64_t s = hash_address(key) >> snap->frames_shift;
	while (snap->frames[s].key && snap->frames[s].key != key)
		s = (s + 1) & snap->frames_mask;
	return s;
}

static struct remora_error *frames_grow(struct remora_snapshot *snap)
{
	struct remora_snapshot_frames *old = snap->frames;
	uint64_t old_cap = old ? snap->frames_mask + 1 : 0;
	uint64_t cap = old ? old_cap * 2 : 16;
	struct remora_snapshot_frames *frames = calloc(cap, sizeof(*frames));
	if (!frames)
		return &remora_error_no_memory;
	snap->frames = frames;
	snap->frames_mask = cap - 1;
	snap->frames_shift = 64 - (unsigned)__builtin_ctzll(cap);
	for (uint64_t s = 0; s < old_cap; s++) {
		if (old[s].key)
			frames[frames_slot(snap, old[s].key)] = old[s];
	}
	free(old);
	return NULL;
}

/* Counts a root's frame in its thread's entry (gather). */
static struct remora_error *loader_frame(struct remora_snapshot *snap,
					 uint64_t where)
{
	uint64_t frame = remora_where_frame(where);
	if (!frame)
		return NULL;
	uint64_t key = (where & UINT64_C(0xffffffff)) + 1;
	if (!snap->frames || (uint64_t)(snap->frames_used + 1) * 2 > snap->frames_mask + 1) {
		struct remora_error *err = frames_grow(snap);
		if (err)
			return err;
	}
	struct remora_snapshot_frames *f = &snap->frames[frames_slot(snap, key)];
	if (!f->key) {
		f->key = key;
		snap->frames_used++;
	}
	if (frame > f->frames)
		f->frames = frame;
	return NULL;
}

uint64_t remora_snapshot_thread_frames(const struct remora_snapshot *snap,
				       uint64_t where)
{
	if (!snap->frames)
		return 0;
	uint64_t key = (where & UINT64_C(0xffffffff)) + 1;
	return snap->frames[frames_slot(snap, key)].frames;
}

/* ---- gather ----------------------------------------------------------- */

/* In file order (sequential reads; edge and root writes sequential too):
 * each NODE's size, type, record offset and edge row to its id, every
 * edge's and root's target resolved through the index, dangling ones
 * dropped and counted (snapshot.h invariant 2). */
static struct remora_error *loader_gather(struct loader *l)
{
	struct remora_snapshot *snap = l->snap;
	struct remora_error *err;
	uint32_t prev = REMORA_NO_NODE;
	uint64_t e = 0;
	uint32_t roots = 0;
	const uint64_t dict = remora_via(REMORA_VIA_FIELD, REMORA_FIELD_DICT);
	const uint64_t md_dict = remora_via(REMORA_VIA_FIELD, REMORA_FIELD_MD_DICT);
	l->last_type_index = REMORA_NO_NODE;
	for (uint64_t off = REMORA_SNAPSHOT_HEADER_SIZE;;) {
		/* the scan has validated every record: a read that fails now
		 * is a file that changed */
		struct remora_rec_head head;
		if (!loader_copy(l, off, &head, HEAD_SIZE))
			return loader_changed(l);
		const struct remora_rec_head *h = &head;
		const uint64_t payload = off + HEAD_SIZE;
		if (h->tag == REMORA_REC_END)
			break;
		struct run_reader run = { 0 };
		switch (h->tag) {
		case REMORA_REC_NODE: {
			struct remora_rec_node_fixed fixed;
			if (!loader_copy(l, payload, &fixed, NODE_FIXED))
				return loader_changed(l);
			const struct remora_rec_node_fixed *node = &fixed;
			uint32_t id = snapshot_find(snap, node->address);
			if (id == REMORA_NO_NODE)
				return loader_changed(l);
			if (prev != REMORA_NO_NODE)
				snap->edge_end[prev] = (uint32_t)e;
			prev = id;
			snap->edge_start[id] = (uint32_t)e;
			snap->size[id] = node->size;
			if (__builtin_add_overflow(snap->total_size, node->size,
						   &snap->total_size))
				snap->flags |= REMORA_SNAPSHOT_SIZES_CLAMPED;
			snap->rec[id] = off;
			if (node->type != l->last_type ||
			    l->last_type_index == REMORA_NO_NODE) {
				err = loader_node_type(l, node->type,
						       &l->last_type_index);
				if (err)
					return err;
				l->last_type = node->type;
			}
			snap->type[id] = l->last_type_index;
			break;
		}
		case REMORA_REC_EDGES: {
			for (uint32_t k = 0; k < h->n; k++) {
				const struct remora_rec_edge *ent =
					run_entry(l, &run, payload, h->n, k, EDGE_SIZE);
				if (!ent)
					return loader_changed(l);
				uint32_t t = snapshot_find(snap, ent->target);
				if (t == REMORA_NO_NODE) {
					snap->dangling_count++;
					continue;
				}
				uint64_t via = ent->via;
				snap->edge_target[e] = t;
				snap->edge_via[e] = via;
				e++;
				/* owner candidates: loader_owners keeps the dicts' */
				if ((via == dict || via == md_dict) && prev < snap->owner[t])
					snap->owner[t] = prev;
			}
			break;
		}
		case REMORA_REC_ROOTS: {
			for (uint32_t k = 0; k < h->n; k++) {
				const struct remora_rec_root *ent =
					run_entry(l, &run, payload, h->n, k, ROOT_SIZE);
				if (!ent)
					return loader_changed(l);
				uint32_t t = snapshot_find(snap, ent->target);
				if (t == REMORA_NO_NODE) {
					snap->dangling_count++;
					continue;
				}
				snap->root_target[roots] = t;
				snap->root_via[roots] = ent->via;
				snap->root_where[roots] = ent->where;
				roots++;
				err = loader_frame(snap, ent->where);
				if (err)
					return err;
			}
			break;
		}
		case REMORA_REC_SET: {
			for (uint32_t k = 0; k < h->n; k++) {
				const uint64_t *ent = run_entry(l, &run, payload, h->n, k, 8);
				if (!ent)
					return loader_changed(l);
				uint32_t t = snapshot_find(snap, *ent);
				if (t == REMORA_NO_NODE)
					return loader_error(l, off,
							    "SET record at offset %llu names 0x%llx, which has no NODE record",
							    (unsigned long long)off,
							    (unsigned long long)*ent);
				snap->saved_set[snap->saved_set_count++] = t;
			}
			break;
		}
		case REMORA_REC_THREAD:
			if (!loader_copy(l, payload, &snap->threads[snap->thread_count++],
					 sizeof(*snap->threads)))
				return loader_changed(l);
			break;
		}
		off += rec_size(h);
	}
	if (prev != REMORA_NO_NODE)
		snap->edge_end[prev] = (uint32_t)e;
	snap->edge_count = e;
	snap->root_count = roots;
	return NULL;
}

/* ---- arrays made ready while the file is scanned ----------------------
 *
 * A load's time on these machines goes largely to the kernel zeroing the
 * pages its arrays first touch.  The END record gives the counts before
 * the scan, so the arrays loader_resolve() fills are mapped first and a
 * second thread touches them (one write per page) while this one scans,
 * indexes and reads the types.  Best effort: if anything fails, the
 * arrays are made later, as without it. */
struct prefault {
	pthread_t thread;
	bool running;
	struct { void *p; size_t bytes; } arrays[8];
};

static void *prefault_main(void *arg)
{
	struct prefault *pf = arg;
	for (size_t a = 0; a < 8; a++) {
		volatile uint8_t *p = pf->arrays[a].p;
		for (size_t off = 0; off < pf->arrays[a].bytes; off += 4096)
			p[off] = 0;
	}
	return NULL;
}

/* The arrays loader_gather() fills, for n nodes and e edges: those not
 * made yet (by prefault_start()); whether all are there. */
static bool loader_arrays(struct remora_snapshot *snap, size_t n, size_t e)
{
	if (!snap->size)
		snap->size = remora_big_alloc(n, sizeof(*snap->size));
	if (!snap->type)
		snap->type = remora_big_alloc(n, sizeof(*snap->type));
	if (!snap->rec)
		snap->rec = remora_big_alloc(n, sizeof(*snap->rec));
	if (!snap->owner)
		snap->owner = remora_big_alloc(n, sizeof(*snap->owner));
	if (!snap->edge_start)
		snap->edge_start = remora_big_alloc(n, sizeof(*snap->edge_start));
	if (!snap->edge_end)
		snap->edge_end = remora_big_alloc(n, sizeof(*snap->edge_end));
	if (!snap->edge_target)
		snap->edge_target = remora_big_alloc(e, sizeof(*snap->edge_target));
	if (!snap->edge_via)
		snap->edge_via = remora_big_alloc(e, sizeof(*snap->edge_via));
	return snap->size && snap->type && snap->rec && snap->owner && snap->edge_start &&
	       snap->edge_end && snap->edge_target && snap->edge_via;
}

static void prefault_start(struct prefault *pf, struct loader *l)
{
	struct remora_snapshot *snap = l->snap;
	size_t n = (size_t)l->end.node_count, e = (size_t)l->end.edge_count;
	/* small snapshots: not worth a thread; on failure loader_resolve()
	 * tries again, and fails */
	if (n < (1u << 18) || !loader_arrays(snap, n, e))
		return;
	void *ps[8] = { snap->size, snap->type, snap->rec, snap->owner, snap->edge_start,
			snap->edge_end, snap->edge_target, snap->edge_via };
	size_t bytes[8] = { n * sizeof(*snap->size), n * sizeof(*snap->type),
			    n * sizeof(*snap->rec), n * sizeof(*snap->owner),
			    n * sizeof(*snap->edge_start), n * sizeof(*snap->edge_end),
			    e * sizeof(*snap->edge_target), e * sizeof(*snap->edge_via) };
	for (size_t a = 0; a < 8; a++) {
		pf->arrays[a].p = ps[a];
		pf->arrays[a].bytes = bytes[a];
	}
	pf->running = pthread_create(&pf->thread, NULL, prefault_main, pf) == 0;
}

static void prefault_join(struct prefault *pf)
{
	if (pf->running)
		pthread_join(pf->thread, NULL);
	pf->running = false;
}

static struct remora_error *loader_resolve(struct loader *l)
{
	struct remora_snapshot *snap = l->snap;
	size_t n = l->nodes;
	/* prefault_start() may have made them from END's counts, which the
	 * scan has checked are these */
	bool arrays = loader_arrays(snap, n, l->edges);
	snap->root_target = malloc((l->roots ? l->roots : 1) * sizeof(uint32_t));
	snap->root_via = malloc((l->roots ? l->roots : 1) * sizeof(uint64_t));
	snap->root_where = malloc((l->roots ? l->roots : 1) * sizeof(uint64_t));
	snap->has_saved_set = l->set_entries != 0;
	snap->threads = malloc((l->threads ? l->threads : 1) * sizeof(*snap->threads));
	snap->saved_set = malloc((l->set_entries ? l->set_entries : 1) * sizeof(uint32_t));
	if (!arrays || !snap->root_target || !snap->root_via ||
	    !snap->root_where || !snap->saved_set || !snap->threads)
		return &remora_error_no_memory;
	memset(snap->owner, 0xff, n * sizeof(*snap->owner)); /* REMORA_NO_NODE */
	return loader_gather(l);
}

/* Whether the sizes, each lowered to cap, add up to at most UINT64_MAX. */
static bool sizes_fit(const struct remora_snapshot *snap, uint64_t cap)
{
	uint64_t total = 0;
	for (uint32_t i = 0; i < snap->node_count; i++) {
		uint64_t size = snap->size[i] < cap ? snap->size[i] : cap;
		if (__builtin_add_overflow(total, size, &total))
			return false;
	}
	return true;
}

/* Sizes that add up past UINT64_MAX (the gather saw the total overflow)
 * would wrap every sum of them: the largest are lowered to the highest
 * cap under which they fit, found by bisection (64 passes, on this rare
 * path only); smaller sizes are kept.  After this, every sum of sizes
 * fits in 64 bits. */
static void loader_clamp_sizes(struct remora_snapshot *snap)
{
	if (!(snap->flags & REMORA_SNAPSHOT_SIZES_CLAMPED))
		return;
	uint64_t fits = 0, overflows = UINT64_MAX;
	while (overflows - fits > 1) {
		uint64_t cap = fits + (overflows - fits) / 2;
		if (sizes_fit(snap, cap))
			fits = cap;
		else
			overflows = cap;
	}
	snap->total_size = 0;
	for (uint32_t i = 0; i < snap->node_count; i++) {
		if (snap->size[i] > fits)
			snap->size[i] = fits;
		snap->total_size += snap->size[i];
	}
}

/* Invariant 4: of the lowest holders through a __dict__ field that the
 * gather noted for every target, only exact dicts keep theirs. */
static void loader_owners(struct remora_snapshot *snap)
{
	for (uint32_t i = 0; i < snap->node_count; i++) {
		if (snap->type[i] != snap->dict_type)
			snap->owner[i] = REMORA_NO_NODE;
	}
}

/* ---- reverse edges (invariant 7) ------------------------------------ */

static void reverse_destroy(struct remora_snapshot_reverse *rev)
{
	if (!rev)
		return;
	remora_big_free(rev->source);
	remora_big_free(rev->start);
	free(rev);
}

/* Counting sort of the edges by target, without a cursor array: start[t]
 * first counts the edges into t, then (prefix sums) becomes the end of
 * t's row; the fill walks the sources downwards and decrements it, so
 * after the fill start[t] is the row's beginning and every row ascends. */
static struct remora_error *reverse_build(const struct remora_snapshot *snap,
					  struct remora_snapshot_reverse **ret)
{
	uint32_t n = snap->node_count;
	struct remora_snapshot_reverse *rev = calloc(1, sizeof(*rev));
	if (!rev)
		return &remora_error_no_memory;
	rev->start = remora_big_alloc((size_t)n + 1, sizeof(*rev->start));
	rev->source = remora_big_alloc(snap->edge_count, sizeof(*rev->source));
	if (!rev->start || !rev->source) {
		reverse_destroy(rev);
		return &remora_error_no_memory;
	}
	memset(rev->start, 0, ((size_t)n + 1) * sizeof(*rev->start));
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t e = snap->edge_start[i]; e < snap->edge_end[i]; e++)
			rev->start[snap->edge_target[e]]++;
	}
	uint32_t sum = 0;
	for (uint32_t t = 0; t < n; t++) {
		sum += rev->start[t];
		rev->start[t] = sum;
	}
	rev->start[n] = sum;
	for (uint32_t i = n; i-- > 0;) {
		for (uint32_t e = snap->edge_start[i]; e < snap->edge_end[i]; e++)
			rev->source[--rev->start[snap->edge_target[e]]] = i;
	}
	*ret = rev;
	return NULL;
}

struct remora_error *
remora_snapshot_reverse(const struct remora_snapshot *snap,
			const struct remora_snapshot_reverse **ret)
{
	/* The snapshot is logically immutable; this cache is its one
	 * late-filled field (invariant 7), hence the cast. */
	struct remora_snapshot_reverse **slot =
		&((struct remora_snapshot *)snap)->reverse;
	struct remora_snapshot_reverse *rev = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!rev) {
		struct remora_error *err = reverse_build(snap, &rev);
		if (err)
			return err;
		struct remora_snapshot_reverse *expected = NULL;
		if (!__atomic_compare_exchange_n(slot, &expected, rev, false,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE)) {
			reverse_destroy(rev);
			rev = expected;
		}
	}
	*ret = rev;
	return NULL;
}

/* ---- open / destroy -------------------------------------------------- */

/* Maps the file at path; *fd_ret: it, open, for the loader's reads (or
 * -1 with an error). */
static struct remora_error *snapshot_map(struct remora_snapshot *snap,
					 const char *path, int *fd_ret)
{
	*fd_ret = -1;
	/* O_NONBLOCK: a FIFO without a writer must not hold the open (it
	 * is refused below); a regular file ignores the flag. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return remora_error_create_os(errno, path, "cannot open snapshot");
	struct remora_error *err = NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		err = remora_error_create_os(errno, path, "cannot stat snapshot");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					  "snapshot %s: not a regular file", path);
		goto out;
	}
	snap->map_size = (size_t)st.st_size;
	if (snap->map_size < REMORA_SNAPSHOT_HEADER_SIZE)
		goto out; /* loader_check_header reports it, nothing to map */
	/* The header, from a small read, before anything is mapped: a big
	 * file that is no snapshot (or not this version's) costs 32 bytes,
	 * not a populated map of its whole length. */
	uint8_t head[REMORA_SNAPSHOT_HEADER_SIZE];
	struct loader probe = { .snap = snap, .map = head, .size = snap->map_size };
	if (pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head)) {
		err = remora_error_create_os(errno ? errno : EIO, path,
					     "cannot read snapshot");
		goto out;
	}
	err = loader_check_header(&probe);
	if (err)
		goto out;
	/* not populated: the loader reads the file, and what is looked up
	 * after is a small part of it */
	void *map = mmap(NULL, snap->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		err = remora_error_create_os(errno, path, "cannot map snapshot");
		goto out;
	}
	snap->map = map;
	*fd_ret = fd;
	return NULL;
out:
	close(fd);
	return err;
}

struct remora_error *remora_snapshot_open(const char *path,
					  struct remora_snapshot **ret)
{
	static const uint8_t empty[REMORA_SNAPSHOT_HEADER_SIZE];
	struct remora_error *err;
	struct loader l = { .fd = -1 };
	struct remora_snapshot *snap = calloc(1, sizeof(*snap));
	if (!snap)
		return &remora_error_no_memory;
	snap->dict_type = REMORA_NO_NODE;
	snap->str_type = REMORA_NO_NODE;
	snap->int_type = REMORA_NO_NODE;
	snap->bool_type = REMORA_NO_NODE;
	l.snap = snap;
	l.zero_type = REMORA_NO_NODE;
	snap->path = strdup(path);
	if (!snap->path) {
		err = &remora_error_no_memory;
		goto out_snap;
	}
	err = snapshot_map(snap, path, &l.fd);
	if (err)
		goto out_snap;
	l.map = snap->map ? snap->map : empty;
	l.size = snap->map_size;
	l.win = l.fd >= 0 ? malloc(WINDOW_BYTES) : NULL;
	if (!l.win && l.fd >= 0) {
		close(l.fd);
		l.fd = -1;      /* through the map, slower */
	}

	err = loader_check_header(&l);
	if (err)
		goto out_snap;
	if (!loader_read_tail(&l)) {
		/* No END at the tail: the scan finds what is wrong, and where. */
		err = loader_scan(&l, false);
		if (!err)
			err = loader_error(&l, l.size, "no END record at the end of the file");
		goto out_snap;
	}
	err = loader_check_end_counts(&l);
	if (err)
		goto out_snap;
	/* addr[] is also the scan's overflow list (loader_place). */
	snap->addr = remora_big_alloc(l.end.node_count, sizeof(*snap->addr));
	l.type_rec = malloc((l.end.type_count ? l.end.type_count : 1) * sizeof(uint64_t));
	if (!snap->addr || !l.type_rec) {
		err = &remora_error_no_memory;
		goto out_loader;
	}
	l.dense_left = DENSE_BUDGET_PER_NODE * l.end.node_count;
	if (l.dense_left < DENSE_BUDGET_MIN)
		l.dense_left = DENSE_BUDGET_MIN;
	struct prefault pf = { 0 };
	prefault_start(&pf, &l);
	err = loader_scan(&l, true);
	if (!err)
		err = loader_index(&l);
	if (!err)
		err = loader_types(&l);
	prefault_join(&pf);
	if (err)
		goto out_loader;
	err = loader_resolve(&l);
	if (err)
		goto out_loader;
	loader_clamp_sizes(snap);
	loader_owners(snap);

out_loader:
	free(l.type_rec);
	free(l.type_keys);
	free(l.type_vals);
	free(l.win);
	if (l.fd >= 0)
		close(l.fd);
	if (!err) {
		*ret = snap;
		return NULL;
	}
	remora_snapshot_destroy(snap);
	return err;
out_snap:
	free(l.win);
	if (l.fd >= 0)
		close(l.fd);
	remora_snapshot_destroy(snap);
	return err;
}

void remora_snapshot_destroy(struct remora_snapshot *snap)
{
	if (!snap)
		return;
	for (uint32_t i = 0; i < snap->type_count; i++) {
		free(snap->types[i].name);
		free(snap->types[i].module);
		free(snap->types[i].display);
	}
	reverse_destroy(snap->reverse);
	remora_dominators_destroy(snap->dominators);
	free(snap->types);
	for (uint32_t b = 0; b < snap->word_block_count; b++)
		remora_big_free(snap->word_blocks[b]);
	free(snap->word_blocks);
	free(snap->chunks);
	free(snap->root_target);
	free(snap->root_via);
	free(snap->root_where);
	free(snap->frames);
	free(snap->saved_set);
	free(snap->threads);
	remora_big_free(snap->edge_target);
	remora_big_free(snap->edge_via);
	remora_big_free(snap->edge_start);
	remora_big_free(snap->edge_end);
	remora_big_free(snap->owner);
	remora_big_free(snap->rec);
	remora_big_free(snap->type);
	remora_big_free(snap->size);
	remora_big_free(snap->addr);
	if (snap->map)
		munmap((void *)snap->map, snap->map_size);
	free(snap->path);
	free(snap);
}

/* ---- accessors ------------------------------------------------------- */

const char *remora_snapshot_path(const struct remora_snapshot *snap)
{
	return snap->path;
}

uint32_t remora_snapshot_python_version(const struct remora_snapshot *snap)
{
	return snap->python_version;
}

uint32_t remora_snapshot_flags(const struct remora_snapshot *snap)
{
	return snap->flags;
}

uint32_t remora_snapshot_node_count(const struct remora_snapshot *snap)
{
	return snap->node_count;
}

uint64_t remora_snapshot_edge_count(const struct remora_snapshot *snap)
{
	return snap->edge_count;
}

uint64_t remora_snapshot_dangling_count(const struct remora_snapshot *snap)
{
	return snap->dangling_count;
}

uint32_t remora_snapshot_root_count(const struct remora_snapshot *snap)
{
	return snap->root_count;
}

uint32_t remora_snapshot_type_count(const struct remora_snapshot *snap)
{
	return snap->type_count;
}

uint64_t remora_snapshot_total_size(const struct remora_snapshot *snap)
{
	return snap->total_size;
}

uint64_t remora_snapshot_node_address(const struct remora_snapshot *snap,
				      uint32_t id)
{
	return id < snap->node_count ? snap->addr[id] : 0;
}

uint32_t remora_snapshot_node_type(const struct remora_snapshot *snap,
				   uint32_t id)
{
	return id < snap->node_count ? snap->type[id] : 0;
}

uint64_t remora_snapshot_node_size(const struct remora_snapshot *snap,
				   uint32_t id)
{
	return id < snap->node_count ? snap->size[id] : 0;
}

static const struct remora_rec_head *snapshot_node_head(const struct remora_snapshot *snap,
							 uint32_t id)
{
	return (const void *)(snap->map + snap->rec[id]);
}

uint64_t remora_snapshot_node_extra(const struct remora_snapshot *snap,
				    uint32_t id)
{
	if (id >= snap->node_count)
		return 0;
	const struct remora_rec_head *h = snapshot_node_head(snap, id);
	if (!(remora_node_flags(h->n) & REMORA_NODE_INLINE_VALUES))
		return 0;
	uint64_t extra;
	memcpy(&extra, (const uint8_t *)(h + 1) + NODE_FIXED, sizeof(extra));
	return extra;
}

uint32_t remora_snapshot_node_flags(const struct remora_snapshot *snap,
				    uint32_t id)
{
	return id < snap->node_count
		       ? remora_node_flags(snapshot_node_head(snap, id)->n) : 0;
}

void remora_snapshot_nodes_info(const struct remora_snapshot *snap,
				const uint32_t *ids, size_t n, uint64_t *address,
				uint32_t *type, uint32_t *flags)
{
	for (size_t i = 0; i < n; i++) {
		address[i] = remora_snapshot_node_address(snap, ids[i]);
		type[i] = remora_snapshot_node_type(snap, ids[i]);
		flags[i] = remora_snapshot_node_flags(snap, ids[i]);
	}
}

size_t remora_snapshot_nodes_of_type(const struct remora_snapshot *snap, uint32_t type,
				     uint32_t *out, size_t cap)
{
	size_t n = 0;
	for (uint32_t id = 0; id < snap->node_count; id++) {
		if (snap->type[id] != type)
			continue;
		if (n < cap)
			out[n] = id;
		n++;
	}
	return n;
}

/* The bytes CPython puts before the object in its memory block: the GC
 * header (builds with a GIL), the managed dict's and weakref's pointers
 * (3.11 a managed dict, 3.12+ either). */
static uint64_t snapshot_presize(const struct remora_snapshot *snap, uint32_t id)
{
	unsigned int minor = (snap->python_version >> 16) & 0xff;
	uint64_t tp_flags = snap->types[snap->type[id]].flags;
	uint64_t pre = (remora_snapshot_node_flags(snap, id) & REMORA_NODE_GC) &&
		       !(snap->flags & REMORA_SNAP_FREE_THREADED) ? 16 : 0;
	if ((minor == 11 && (tp_flags & (1u << 4))) ||
	    (minor >= 12 && (tp_flags & ((1u << 4) | (1u << 3)))))
		pre += 16;
	return pre;
}

uint64_t remora_snapshot_node_owned(const struct remora_snapshot *snap, uint32_t id)
{
	if (id >= snap->node_count)
		return 0;
	uint64_t owned = remora_snapshot_node_extra(snap, id);
	uint32_t shape = snap->types[snap->type[id]].shape;
	if (!shape || (shape & REMORA_SHAPE_INLINE))
		return owned;
	uint64_t inside = (shape & REMORA_SHAPE_BASICSIZE) + snapshot_presize(snap, id);
	return owned + (snap->size[id] > inside ? snap->size[id] - inside : 0);
}

void remora_snapshot_in_ranges(const struct remora_snapshot *snap, const uint64_t *ranges,
			       size_t n, uint64_t *count_ret, uint64_t *bytes_ret)
{
	uint64_t count = 0, bytes = 0;
	for (size_t r = 0; r < n; r++) {
		uint64_t start = ranges[2 * r], end = ranges[2 * r + 1];
		/* the first node at or past start (addr[] ascends) */
		uint32_t lo = 0, hi = snap->node_count;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (snap->addr[mid] < start)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (uint32_t id = lo; id < snap->node_count && snap->addr[id] < end; id++) {
			count++;
			bytes += snap->size[id];
		}
	}
	*count_ret = count;
	*bytes_ret = bytes;
}

const char *remora_snapshot_node_repr(const struct remora_snapshot *snap,
				      uint32_t id, size_t *len_ret)
{
	if (id >= snap->node_count) {
		*len_ret = 0;
		return NULL;
	}
	const struct remora_rec_head *h = snapshot_node_head(snap, id);
	*len_ret = remora_node_repr_len(h->n);
	return (const char *)(h + 1) + remora_node_repr_offset(h->n);
}

uint32_t remora_snapshot_node_owner(const struct remora_snapshot *snap,
				    uint32_t id)
{
	return id < snap->node_count ? snap->owner[id] : REMORA_NO_NODE;
}

uint32_t remora_snapshot_node_find(const struct remora_snapshot *snap,
				   uint64_t address)
{
	return snapshot_find(snap, address);
}

uint32_t remora_snapshot_node_edges(const struct remora_snapshot *snap,
				    uint32_t id, const uint32_t **targets_ret,
				    const uint64_t **vias_ret)
{
	if (id >= snap->node_count) {
		*targets_ret = NULL;
		*vias_ret = NULL;
		return 0;
	}
	uint32_t begin = snap->edge_start[id];
	*targets_ret = snap->edge_target + begin;
	*vias_ret = snap->edge_via + begin;
	return snap->edge_end[id] - begin;
}

void remora_snapshot_roots(const struct remora_snapshot *snap,
			   const uint32_t **targets_ret,
			   const uint64_t **vias_ret,
			   const uint64_t **wheres_ret)
{
	*targets_ret = snap->root_target;
	*vias_ret = snap->root_via;
	*wheres_ret = snap->root_where;
}

static const struct remora_snapshot_type *snapshot_type(const struct remora_snapshot *snap,
							uint32_t type)
{
	return type < snap->type_count ? &snap->types[type] : NULL;
}

uint64_t remora_snapshot_type_address(const struct remora_snapshot *snap,
				      uint32_t type)
{
	const struct remora_snapshot_type *t = snapshot_type(snap, type);
	return t ? t->address : 0;
}

uint64_t remora_snapshot_type_flags(const struct remora_snapshot *snap,
				    uint32_t type)
{
	const struct remora_snapshot_type *t = snapshot_type(snap, type);
	return t ? t->flags : 0;
}

const char *remora_snapshot_type_name(const struct remora_snapshot *snap,
				      uint32_t type)
{
	const struct remora_snapshot_type *t = snapshot_type(snap, type);
	return t ? t->name : NULL;
}

const char *remora_snapshot_type_module(const struct remora_snapshot *snap,
					uint32_t type)
{
	const struct remora_snapshot_type *t = snapshot_type(snap, type);
	return t ? t->module : NULL;
}

const char *remora_snapshot_type_display(const struct remora_snapshot *snap,
					 uint32_t type)
{
	const struct remora_snapshot_type *t = snapshot_type(snap, type);
	return t ? t->display : NULL;
}

/* ---- saving a set (IdSet.dump) ---------------------------------------- */

static bool save_write(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/* The snapshot's records as they are, without its SET records, then the
 * set's addresses as SET records (ascending), then END: written to
 * path.tmp and renamed over path, so a failed save leaves path as it
 * was. */
struct remora_error *remora_idset_save(const struct remora_idset *set,
				       const char *path)
{
	const struct remora_snapshot *snap = set->snap;
	struct remora_error *err = NULL;
	enum { SET_CHUNK = 1 << 16 };
	uint64_t *buf = malloc(SET_CHUNK * sizeof(*buf));
	char *tmp = NULL;
	if (!buf || asprintf(&tmp, "%s.tmp", path) < 0) {
		free(buf);
		return &remora_error_no_memory;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = remora_error_create_os(errno, tmp, "cannot create the file");
		goto out;
	}
	/* The header, then every record up to END except SET ones (the map
	 * was validated by open: snapshot.h invariant 5). */
	uint64_t off = REMORA_SNAPSHOT_HEADER_SIZE;
	uint64_t run = off; /* start of records not yet written */
	bool ok = save_write(fd, snap->map, REMORA_SNAPSHOT_HEADER_SIZE);
	const struct remora_rec_head *h;
	for (;;) {
		h = (const struct remora_rec_head *)(snap->map + off);
		if (h->tag == REMORA_REC_END || h->tag == REMORA_REC_SET) {
			ok = ok && save_write(fd, snap->map + run, off - run);
			if (h->tag == REMORA_REC_END)
				break;
			off += rec_size(h);
			run = off;
			continue;
		}
		off += rec_size(h);
	}
	struct remora_idset_iter it;
	uint32_t id;
	size_t n = 0;
	remora_idset_iter_init(&it, set);
	for (bool more = true; ok && more;) {
		more = remora_idset_iter_next(&it, &id);
		if (more)
			buf[n++] = snap->addr[id];
		if (n && (n == SET_CHUNK || !more)) {
			struct remora_rec_head sh = { .tag = REMORA_REC_SET, .n = (uint32_t)n };
			ok = save_write(fd, &sh, sizeof(sh)) &&
			     save_write(fd, buf, n * sizeof(*buf));
			n = 0;
		}
	}
	ok = ok && save_write(fd, h, HEAD_SIZE + END_SIZE);
	if (!ok || fsync(fd) < 0) {
		err = remora_error_create_os(errno, tmp, "cannot write the file");
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		err = remora_error_create_os(errno, path, "cannot save the snapshot");
		unlink(tmp);
	}
out:
	free(tmp);
	free(buf);
	return err;
}

struct remora_error *remora_idset_create_saved(const struct remora_snapshot *snap,
					       struct remora_idset **ret)
{
	if (!snap->has_saved_set)
		return remora_idset_create_all(snap, ret);
	return remora_idset_create_from_ids(snap, snap->saved_set,
					    snap->saved_set_count, ret);
}
