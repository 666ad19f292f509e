/* snapshot.c — loading a snapshot file: map, validate, index (snapshot.h).
 * Format: snapshot_format.h.  Writer: snapshot_writer.c.
 *
 * Loading is three passes over the mapped file, sized for ~1M objects:
 *
 *   scan      validate every record head and bound (nothing is trusted
 *             until it is bounds-checked), remember each NODE record's
 *             offset and how many edges follow it.  The END record, read
 *             first from the tail, sizes the arrays; the scan checks the
 *             counts it promised.
 *   index     radix-sort the addresses (ids are address order, invariant
 *             1), reject duplicates, build an open-addressing hash
 *             address -> id (PERF-NOTES: never a binary search per edge).
 *   resolve   in file order (sequential reads and writes) gather edge
 *             vias and targets into the edge arrays, each target resolved
 *             through the hash a few edges after its prefetch, and drop
 *             dangling edges (invariant 2).  Edge rows stay in file
 *             order; each id gets the bounds of its row.
 *
 * Memory after loading: 36 bytes per object (address, size, type, record
 * offset, owner, row bounds) plus 12 per edge; the hash, sort and gather
 * buffers are freed.
 *
 * A file truncated under a live mapping would fault; snapshots are
 * written once and not modified, so this is not guarded against.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "snapshot_format.h"
#include "typename.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "snapshots are little-endian and read in place: little-endian hosts only"
#endif

enum {
	HEAD_SIZE = sizeof(struct remora_rec_head),
	NODE_FIXED = sizeof(struct remora_rec_node),
	TYPE_FIXED = sizeof(struct remora_rec_type),
	EDGE_SIZE = sizeof(struct remora_rec_edge),
	END_SIZE = sizeof(struct remora_rec_end),
	MAX_REPR = 255,
	PREFETCH_DISTANCE = 16,
};

/* The most records of each kind a file of a given size can hold. */
static const uint64_t MAX_COUNT = UINT32_MAX - 1;

struct node_slot {
	uint64_t address; /* 0: empty (no object lives at address 0) */
	uint32_t id;
	uint32_t reserved;
};

struct sort_pair {
	uint64_t address;
	uint32_t file_index;
	uint32_t reserved;
};

struct loader {
	struct remora_snapshot *snap;
	const uint8_t *map;
	size_t size;
	struct remora_rec_end end;    /* counts promised by the END record */

	/* scan results, in file order */
	uint32_t nodes;
	uint64_t *file_rec;           /* [end.node_count] NODE record offsets */
	uint32_t *file_edges;         /* [end.node_count] edges after each NODE */
	uint64_t edges;
	uint32_t types;
	uint64_t *type_rec;           /* [end.type_count] TYPE record offsets */
	uint64_t roots;

	struct sort_pair *pairs;      /* [nodes] id -> (address, file index) */
	struct node_slot *table;      /* address -> id */
	unsigned table_shift;
	uint64_t table_mask;

	uint64_t *type_keys;          /* type address -> type index */
	uint32_t *type_vals;
	uint64_t type_mask;
	unsigned type_shift;
	uint32_t type_cap;            /* entries allocated in snap->types */
	uint32_t zero_type;           /* the entry for type address 0 */
};

static uint64_t pad8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

static uint64_t hash_address(uint64_t address)
{
	return address * UINT64_C(0x9e3779b97f4a7c15);
}

/* Arrays of a million entries: back them with transparent huge pages
 * where the kernel allows it, which halves the cost of first touching
 * them.  The result is freed with free(); n may be 0. */
static void *big_alloc(size_t n, size_t size)
{
	static const size_t huge = (size_t)2 << 20;
	size_t bytes = (n ? n : 1) * size;
	if (bytes < huge)
		return malloc(bytes);
	bytes = (bytes + huge - 1) & ~(huge - 1);
	void *p = aligned_alloc(huge, bytes);
	if (p)
		madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static void *big_calloc(size_t n, size_t size)
{
	void *p = big_alloc(n, size);
	if (p)
		memset(p, 0, (n ? n : 1) * size);
	return p;
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

static const char *tag_name(uint32_t tag)
{
	switch (tag) {
	case REMORA_REC_NODE: return "NODE";
	case REMORA_REC_EDGES: return "EDGES";
	case REMORA_REC_ROOTS: return "ROOTS";
	case REMORA_REC_TYPE: return "TYPE";
	case REMORA_REC_END: return "END";
	default: return "unknown";
	}
}

static const struct remora_rec_head *rec_head(const struct loader *l,
					      uint64_t off)
{
	return (const struct remora_rec_head *)(l->map + off);
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
	if (version != REMORA_SNAPSHOT_VERSION)
		return loader_error(l, 8,
				    "format version %u, this remora reads version %d",
				    version, REMORA_SNAPSHOT_VERSION);
	if (header_size != REMORA_SNAPSHOT_HEADER_SIZE)
		return loader_error(l, 12, "header size %u, expected %d",
				    header_size, REMORA_SNAPSHOT_HEADER_SIZE);
	if (ptr_size != 8)
		return loader_error(l, 24, "pointer size %llu, expected 8",
				    (unsigned long long)ptr_size);
	l->snap->python_version = py_version;
	l->snap->flags = flags;
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
	/* Smallest records: NODE 48 bytes, TYPE 32, an edge or root 16. */
	uint64_t body = l->size - REMORA_SNAPSHOT_HEADER_SIZE;
	uint64_t end_off = l->size - HEAD_SIZE - END_SIZE;
	const struct remora_rec_end *e = &l->end;
	if (e->node_count > body / (HEAD_SIZE + NODE_FIXED) ||
	    e->type_count > body / (HEAD_SIZE + TYPE_FIXED) ||
	    e->edge_count > body / EDGE_SIZE || e->root_count > body / EDGE_SIZE)
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

/* Validates every record.  With store, records NODE/TYPE offsets into the
 * arrays sized from l->end (checking each against its bound first). */
static struct remora_error *loader_scan(struct loader *l, bool store)
{
	uint64_t off = REMORA_SNAPSHOT_HEADER_SIZE;
	uint32_t prev = 0;
	l->nodes = 0;
	l->edges = 0;
	l->types = 0;
	l->roots = 0;
	for (;;) {
		if (off == l->size)
			return loader_error(l, off,
					    "no END record: the file ends at offset %llu (truncated?)",
					    (unsigned long long)off);
		if (l->size - off < HEAD_SIZE)
			return loader_error(l, off,
					    "truncated record head at offset %llu",
					    (unsigned long long)off);
		const struct remora_rec_head *h = rec_head(l, off);
		uint64_t payload = off + HEAD_SIZE;
		uint64_t avail = l->size - payload;
		uint64_t need;
		switch (h->tag) {
		case REMORA_REC_NODE: {
			if (h->n > MAX_REPR)
				return loader_error(l, off,
						    "NODE record at offset %llu has a %u-byte representation (at most %d)",
						    (unsigned long long)off, h->n, MAX_REPR);
			need = NODE_FIXED + pad8(h->n);
			if (avail < need)
				goto truncated;
			const struct remora_rec_node *node =
				(const void *)(l->map + payload);
			if (node->address == 0)
				return loader_error(l, off,
						    "NODE record at offset %llu has address 0",
						    (unsigned long long)off);
			if (store) {
				if (l->nodes >= l->end.node_count)
					goto count_lies;
				l->file_rec[l->nodes] = off;
				l->file_edges[l->nodes] = 0;
			}
			if (l->nodes >= MAX_COUNT)
				goto count_lies;
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
			if (store) {
				if (l->edges > l->end.edge_count)
					goto count_lies;
				l->file_edges[l->nodes - 1] += h->n;
			}
			break;
		case REMORA_REC_ROOTS:
			need = (uint64_t)h->n * EDGE_SIZE;
			if (avail < need)
				goto truncated;
			l->roots += h->n;
			if (l->roots > MAX_COUNT ||
			    (store && l->roots > l->end.root_count))
				goto count_lies;
			break;
		case REMORA_REC_TYPE: {
			if (avail < TYPE_FIXED) {
				need = TYPE_FIXED;
				goto truncated;
			}
			const struct remora_rec_type *t =
				(const void *)(l->map + payload);
			if ((uint32_t)t->name_len + t->module_len != h->n)
				return loader_error(l, off,
						    "TYPE record at offset %llu: name and module lengths %u + %u differ from its length %u",
						    (unsigned long long)off, t->name_len,
						    t->module_len, h->n);
			need = TYPE_FIXED + pad8(h->n);
			if (avail < need)
				goto truncated;
			if (store) {
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
			memcpy(&e, l->map + payload, sizeof(e));
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

/* LSD radix sort by address, 11 bits a digit; digits on which every key
 * agrees (the high bits of user-space addresses, alignment) are skipped. */
static struct remora_error *loader_sort(struct loader *l)
{
	enum { BITS = 11, BUCKETS = 1 << BITS, DIGITS = (64 + BITS - 1) / BITS };
	size_t n = l->nodes;
	bool sorted = true;
	for (size_t i = 1; i < n && sorted; i++)
		sorted = l->pairs[i - 1].address <= l->pairs[i].address;
	if (sorted)
		return NULL;

	struct sort_pair *tmp = big_alloc(n, sizeof(*tmp));
	uint32_t (*hist)[BUCKETS] = calloc(DIGITS, sizeof(*hist));
	if (!tmp || !hist) {
		free(tmp);
		free(hist);
		return &remora_error_no_memory;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t a = l->pairs[i].address;
		for (int d = 0; d < DIGITS; d++)
			hist[d][(a >> (d * BITS)) & (BUCKETS - 1)]++;
	}
	struct sort_pair *src = l->pairs, *dst = tmp;
	for (int d = 0; d < DIGITS; d++) {
		uint32_t *h = hist[d];
		uint64_t first = (src[0].address >> (d * BITS)) & (BUCKETS - 1);
		if (h[first] == n)
			continue;
		uint32_t sum = 0;
		for (int b = 0; b < BUCKETS; b++) {
			uint32_t c = h[b];
			h[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t b = (src[i].address >> (d * BITS)) & (BUCKETS - 1);
			dst[h[b]++] = src[i];
		}
		struct sort_pair *t = src;
		src = dst;
		dst = t;
	}
	if (src != l->pairs) {
		free(l->pairs);
		l->pairs = src;
	} else {
		free(tmp);
	}
	free(hist);
	return NULL;
}

static struct remora_error *loader_index(struct loader *l)
{
	struct remora_snapshot *snap = l->snap;
	size_t n = l->nodes;

	l->pairs = big_alloc(n, sizeof(*l->pairs));
	if (!l->pairs)
		return &remora_error_no_memory;
	for (size_t i = 0; i < n; i++) {
		const struct remora_rec_node *node =
			(const void *)(l->map + l->file_rec[i] + HEAD_SIZE);
		l->pairs[i].address = node->address;
		l->pairs[i].file_index = (uint32_t)i;
		l->pairs[i].reserved = 0;
	}
	struct remora_error *err = loader_sort(l);
	if (err)
		return err;
	for (size_t i = 1; i < n; i++) {
		if (l->pairs[i].address == l->pairs[i - 1].address) {
			uint64_t a = l->file_rec[l->pairs[i - 1].file_index];
			uint64_t b = l->file_rec[l->pairs[i].file_index];
			return loader_error(l, a > b ? a : b,
					    "two NODE records (offsets %llu and %llu) for address 0x%llx",
					    (unsigned long long)(a < b ? a : b),
					    (unsigned long long)(a > b ? a : b),
					    (unsigned long long)l->pairs[i].address);
		}
	}

	snap->node_count = (uint32_t)n;
	snap->addr = big_alloc(n, sizeof(*snap->addr));
	snap->size = big_alloc(n, sizeof(*snap->size));
	snap->type = big_alloc(n, sizeof(*snap->type));
	snap->rec = big_alloc(n, sizeof(*snap->rec));
	snap->owner = big_alloc(n, sizeof(*snap->owner));
	snap->edge_start = big_alloc(n, sizeof(*snap->edge_start));
	snap->edge_end = big_alloc(n, sizeof(*snap->edge_end));
	if (!snap->addr || !snap->size || !snap->type || !snap->rec ||
	    !snap->owner || !snap->edge_start || !snap->edge_end)
		return &remora_error_no_memory;
	for (size_t i = 0; i < n; i++) {
		snap->addr[i] = l->pairs[i].address;
		snap->owner[i] = REMORA_NO_NODE;
	}

	/* Capacity: a power of two at least 4/3 n (load <= 0.75): probes
	 * stay within a cache line or two, and the table (touched fresh on
	 * every load) stays at most 32 bytes per object. */
	unsigned bits = 4;
	while (((uint64_t)1 << bits) * 3 < (uint64_t)n * 4)
		bits++;
	l->table_shift = 64 - bits;
	l->table_mask = ((uint64_t)1 << bits) - 1;
	l->table = big_calloc((size_t)1 << bits, sizeof(*l->table));
	if (!l->table)
		return &remora_error_no_memory;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = snap->addr[i];
		uint64_t s = hash_address(a) >> l->table_shift;
		while (l->table[s].address)
			s = (s + 1) & l->table_mask;
		l->table[s].address = a;
		l->table[s].id = (uint32_t)i;
	}
	return NULL;
}

static uint32_t loader_find(const struct loader *l, uint64_t address)
{
	uint64_t s = hash_address(address) >> l->table_shift;
	for (;;) {
		const struct node_slot *slot = &l->table[s];
		if (slot->address == address)
			return slot->id;
		if (!slot->address)
			return REMORA_NO_NODE;
		s = (s + 1) & l->table_mask;
	}
}

static void loader_prefetch(const struct loader *l, uint64_t address)
{
	__builtin_prefetch(&l->table[hash_address(address) >> l->table_shift]);
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
		if (t->name_len == 4 && !memcmp(name, "dict", 4) &&
		    t->module_len == 8 && !memcmp(module, "builtins", 8))
			snap->dict_type = index;
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

/* ---- resolve --------------------------------------------------------- */

/* Resolves edge targets through the hash a fixed distance behind the
 * gathering: each address is prefetched when it is queued and looked up
 * PREFETCH_DISTANCE edges later, so the misses overlap (PERF-NOTES:
 * memory-level parallelism) without a flat array of all targets. */
struct resolve_queue {
	uint64_t address[PREFETCH_DISTANCE];
	uint64_t edge[PREFETCH_DISTANCE];
	unsigned head, len;
};

static void resolve_push(struct loader *l, struct resolve_queue *q,
			 uint64_t address, uint64_t edge)
{
	if (q->len == PREFETCH_DISTANCE) {
		l->snap->edge_target[q->edge[q->head]] =
			loader_find(l, q->address[q->head]);
		q->head = (q->head + 1) % PREFETCH_DISTANCE;
		q->len--;
	}
	loader_prefetch(l, address);
	unsigned tail = (q->head + q->len) % PREFETCH_DISTANCE;
	q->address[tail] = address;
	q->edge[tail] = edge;
	q->len++;
}

static void resolve_drain(struct loader *l, struct resolve_queue *q)
{
	for (; q->len; q->len--) {
		l->snap->edge_target[q->edge[q->head]] =
			loader_find(l, q->address[q->head]);
		q->head = (q->head + 1) % PREFETCH_DISTANCE;
	}
}

/* In file order (sequential reads and writes): each NODE's size and type
 * into file-order arrays, every edge's via and resolved target into the
 * edge arrays, roots resolved.  l->file_edges becomes the file-order row
 * starts. */
static struct remora_error *loader_gather(struct loader *l,
					  uint64_t *file_size,
					  uint32_t *file_type)
{
	struct resolve_queue queue = { .len = 0 };
	struct remora_snapshot *snap = l->snap;
	struct remora_error *err;
	uint32_t sum = 0;
	for (uint32_t f = 0; f < l->nodes; f++) {
		uint32_t c = l->file_edges[f];
		l->file_edges[f] = sum;
		sum += c;
	}
	l->file_edges[l->nodes] = sum;

	/* Every record was validated by the scan: walk to END unchecked. */
	uint64_t off = REMORA_SNAPSHOT_HEADER_SIZE;
	uint32_t f = 0;
	uint64_t e = 0;
	uint32_t roots = 0;
	for (;;) {
		const struct remora_rec_head *h = rec_head(l, off);
		const uint8_t *payload = l->map + off + HEAD_SIZE;
		if (h->tag == REMORA_REC_END)
			break;
		switch (h->tag) {
		case REMORA_REC_NODE: {
			const struct remora_rec_node *node = (const void *)payload;
			file_size[f] = node->size;
			err = loader_node_type(l, node->type, &file_type[f]);
			if (err)
				return err;
			f++;
			off += HEAD_SIZE + NODE_FIXED + pad8(h->n);
			break;
		}
		case REMORA_REC_EDGES: {
			const struct remora_rec_edge *ent = (const void *)payload;
			for (uint32_t k = 0; k < h->n; k++) {
				resolve_push(l, &queue, ent[k].target, e);
				snap->edge_via[e] = ent[k].via;
				e++;
			}
			off += HEAD_SIZE + (uint64_t)h->n * EDGE_SIZE;
			break;
		}
		case REMORA_REC_ROOTS: {
			const struct remora_rec_edge *ent = (const void *)payload;
			for (uint32_t k = 0; k < h->n; k++) {
				uint32_t id = loader_find(l, ent[k].target);
				if (id == REMORA_NO_NODE) {
					snap->dangling_count++;
					continue;
				}
				snap->root_target[roots] = id;
				snap->root_via[roots] = ent[k].via;
				roots++;
			}
			off += HEAD_SIZE + (uint64_t)h->n * EDGE_SIZE;
			break;
		}
		case REMORA_REC_TYPE:
			off += HEAD_SIZE + TYPE_FIXED + pad8(h->n);
			break;
		}
	}
	resolve_drain(l, &queue);
	snap->root_count = roots;
	return NULL;
}

/* Edges stay in file order, so a node's row is where the walker wrote it;
 * edge_start/edge_end map ids to rows (snapshot.h invariant 2). */
static struct remora_error *loader_resolve(struct loader *l)
{
	struct remora_snapshot *snap = l->snap;
	size_t n = l->nodes;
	uint64_t edges = l->edges;
	struct remora_error *err;

	uint64_t *file_size = big_alloc(n, sizeof(*file_size));
	uint32_t *file_type = big_alloc(n, sizeof(*file_type));
	snap->edge_target = big_alloc(edges, sizeof(uint32_t));
	snap->edge_via = big_alloc(edges, sizeof(uint64_t));
	snap->root_target = malloc((l->roots ? l->roots : 1) * sizeof(uint32_t));
	snap->root_via = malloc((l->roots ? l->roots : 1) * sizeof(uint64_t));
	if (!file_size || !file_type || !snap->edge_target ||
	    !snap->edge_via || !snap->root_target || !snap->root_via) {
		err = &remora_error_no_memory;
		goto out;
	}
	err = loader_gather(l, file_size, file_type);
	if (err)
		goto out;

	/* Compact in file order, dropping dangling edges. */
	uint32_t *row = l->file_edges;
	uint32_t w = 0;
	uint32_t begin = row[0];
	for (size_t f = 0; f < n; f++) {
		uint32_t end = row[f + 1];
		row[f] = w;
		for (uint32_t k = begin; k < end; k++) {
			uint32_t t = snap->edge_target[k];
			if (t == REMORA_NO_NODE) {
				snap->dangling_count++;
				continue;
			}
			snap->edge_target[w] = t;
			snap->edge_via[w] = snap->edge_via[k];
			w++;
		}
		begin = end;
	}
	row[n] = w;
	snap->edge_count = w;

	for (size_t id = 0; id < n; id++) {
		uint32_t f = l->pairs[id].file_index;
		snap->size[id] = file_size[f];
		snap->type[id] = file_type[f];
		snap->rec[id] = l->file_rec[f];
		snap->edge_start[id] = row[f];
		snap->edge_end[id] = row[f + 1];
	}
	err = NULL;
out:
	free(file_type);
	free(file_size);
	return err;
}

/* Invariant 4: exact dicts held through a __dict__ field. */
static void loader_owners(struct remora_snapshot *snap)
{
	if (snap->dict_type == REMORA_NO_NODE)
		return;
	const uint64_t dict = remora_via(REMORA_VIA_FIELD, REMORA_FIELD_DICT);
	const uint64_t md_dict = remora_via(REMORA_VIA_FIELD, REMORA_FIELD_MD_DICT);
	for (uint32_t i = 0; i < snap->node_count; i++) {
		for (uint32_t k = snap->edge_start[i]; k < snap->edge_end[i]; k++) {
			uint64_t via = snap->edge_via[k];
			if (via != dict && via != md_dict)
				continue;
			uint32_t t = snap->edge_target[k];
			if (snap->type[t] == snap->dict_type &&
			    snap->owner[t] == REMORA_NO_NODE)
				snap->owner[t] = i;
		}
	}
}

/* ---- open / destroy -------------------------------------------------- */

static struct remora_error *snapshot_map(struct remora_snapshot *snap,
					 const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
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
	void *map = mmap(NULL, snap->map_size, PROT_READ,
			 MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED) {
		err = remora_error_create_os(errno, path, "cannot map snapshot");
		goto out;
	}
	snap->map = map;
out:
	close(fd);
	return err;
}

struct remora_error *remora_snapshot_open(const char *path,
					  struct remora_snapshot **ret)
{
	static const uint8_t empty[REMORA_SNAPSHOT_HEADER_SIZE];
	struct remora_error *err;
	struct loader l = { 0 };
	struct remora_snapshot *snap = calloc(1, sizeof(*snap));
	if (!snap)
		return &remora_error_no_memory;
	snap->dict_type = REMORA_NO_NODE;
	l.snap = snap;
	l.zero_type = REMORA_NO_NODE;
	snap->path = strdup(path);
	if (!snap->path) {
		err = &remora_error_no_memory;
		goto out_snap;
	}
	err = snapshot_map(snap, path);
	if (err)
		goto out_snap;
	l.map = snap->map ? snap->map : empty;
	l.size = snap->map_size;

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
	l.file_rec = big_alloc(l.end.node_count, sizeof(uint64_t));
	l.file_edges = big_alloc(l.end.node_count + 1, sizeof(uint32_t));
	l.type_rec = malloc((l.end.type_count ? l.end.type_count : 1) * sizeof(uint64_t));
	if (!l.file_rec || !l.file_edges || !l.type_rec) {
		err = &remora_error_no_memory;
		goto out_loader;
	}
	err = loader_scan(&l, true);
	if (err)
		goto out_loader;
	err = loader_index(&l);
	if (err)
		goto out_loader;
	err = loader_types(&l);
	if (err)
		goto out_loader;
	err = loader_resolve(&l);
	if (err)
		goto out_loader;
	loader_owners(snap);
	for (uint32_t i = 0; i < snap->node_count; i++)
		snap->total_size += snap->size[i];

out_loader:
	free(l.file_rec);
	free(l.file_edges);
	free(l.type_rec);
	free(l.pairs);
	free(l.table);
	free(l.type_keys);
	free(l.type_vals);
	if (!err) {
		*ret = snap;
		return NULL;
	}
out_snap:
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
	free(snap->types);
	free(snap->root_target);
	free(snap->root_via);
	free(snap->edge_target);
	free(snap->edge_via);
	free(snap->edge_start);
	free(snap->edge_end);
	free(snap->owner);
	free(snap->rec);
	free(snap->type);
	free(snap->size);
	free(snap->addr);
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

static const struct remora_rec_node *snapshot_node_rec(const struct remora_snapshot *snap,
						       uint32_t id)
{
	return (const void *)(snap->map + snap->rec[id] + HEAD_SIZE);
}

uint64_t remora_snapshot_node_extra(const struct remora_snapshot *snap,
				    uint32_t id)
{
	return id < snap->node_count ? snapshot_node_rec(snap, id)->extra : 0;
}

uint32_t remora_snapshot_node_flags(const struct remora_snapshot *snap,
				    uint32_t id)
{
	return id < snap->node_count ? snapshot_node_rec(snap, id)->flags : 0;
}

const char *remora_snapshot_node_repr(const struct remora_snapshot *snap,
				      uint32_t id, size_t *len_ret)
{
	if (id >= snap->node_count) {
		*len_ret = 0;
		return NULL;
	}
	const struct remora_rec_head *h = (const void *)(snap->map + snap->rec[id]);
	*len_ret = h->n;
	return (const char *)(snap->map + snap->rec[id] + HEAD_SIZE + NODE_FIXED);
}

uint32_t remora_snapshot_node_owner(const struct remora_snapshot *snap,
				    uint32_t id)
{
	return id < snap->node_count ? snap->owner[id] : REMORA_NO_NODE;
}

uint32_t remora_snapshot_node_find(const struct remora_snapshot *snap,
				   uint64_t address)
{
	/* One lookup at a time: a binary search is right here. */
	uint32_t lo = 0, hi = snap->node_count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (snap->addr[mid] < address)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < snap->node_count && snap->addr[lo] == address ? lo
								  : REMORA_NO_NODE;
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
			   const uint64_t **vias_ret)
{
	*targets_ret = snap->root_target;
	*vias_ret = snap->root_via;
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
