/* idset.c — id sets: construction, algebra, queries (idset.h).
 *
 * Binary operations work on whichever representation the operands have:
 * two arrays merge; otherwise the result is computed as a bitset (an array
 * operand is spread into one first) and then stored in the representation
 * invariant 1 picks for its count.  Referents and referrers follow the
 * edge rows of snapshot.h (invariants 2 and 7) from every member.
 */
#include "idset.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "snapshot.h"

enum idset_op { OP_UNION, OP_INTERSECTION, OP_DIFFERENCE, OP_SYMMETRIC };

static uint64_t idset_nwords(uint32_t universe)
{
	return ((uint64_t)universe + 63) / 64;
}

static bool idset_wants_array(uint64_t count, uint32_t universe)
{
	return count == 0 || count < universe / 32;
}

static struct remora_idset *idset_alloc(const struct remora_snapshot *snap)
{
	struct remora_idset *set = calloc(1, sizeof(*set));
	if (set) {
		set->snap = snap;
		set->universe = snap->node_count;
	}
	return set;
}

/* Takes ownership of ids (sorted, distinct, n of them; may be NULL if
 * n == 0) and turns them into a set, computing count and size. */
static struct remora_error *idset_from_array(const struct remora_snapshot *snap,
					     uint32_t *ids, uint64_t n,
					     struct remora_idset **ret)
{
	struct remora_idset *set = idset_alloc(snap);
	if (!set) {
		free(ids);
		return &remora_error_no_memory;
	}
	set->count = n;
	for (uint64_t i = 0; i < n; i++)
		set->size += snap->size[ids[i]];
	if (idset_wants_array(n, set->universe)) {
		if (n == 0) {
			free(ids);
			ids = NULL;
		}
		set->ids = ids;
	} else {
		set->words = calloc(idset_nwords(set->universe), sizeof(uint64_t));
		if (!set->words) {
			free(ids);
			free(set);
			return &remora_error_no_memory;
		}
		for (uint64_t i = 0; i < n; i++)
			set->words[ids[i] / 64] |= UINT64_C(1) << (ids[i] % 64);
		free(ids);
	}
	*ret = set;
	return NULL;
}

/* Takes ownership of words (universe bits, tail zero) and turns them into
 * a set, computing count and size. */
static struct remora_error *idset_from_words(const struct remora_snapshot *snap,
					     uint64_t *words,
					     struct remora_idset **ret)
{
	struct remora_idset *set = idset_alloc(snap);
	if (!set) {
		free(words);
		return &remora_error_no_memory;
	}
	uint64_t nwords = idset_nwords(set->universe);
	for (uint64_t w = 0; w < nwords; w++) {
		uint64_t bits = words[w];
		set->count += (uint64_t)__builtin_popcountll(bits);
		while (bits) {
			uint64_t id = w * 64 + (uint64_t)__builtin_ctzll(bits);
			set->size += snap->size[id];
			bits &= bits - 1;
		}
	}
	if (idset_wants_array(set->count, set->universe)) {
		set->ids = malloc((set->count ? set->count : 1) * sizeof(uint32_t));
		if (!set->ids) {
			free(words);
			free(set);
			return &remora_error_no_memory;
		}
		uint64_t k = 0;
		for (uint64_t w = 0; w < nwords; w++) {
			for (uint64_t bits = words[w]; bits; bits &= bits - 1)
				set->ids[k++] = (uint32_t)(w * 64 + (uint64_t)__builtin_ctzll(bits));
		}
		if (set->count == 0) {
			free(set->ids);
			set->ids = NULL;
		}
		free(words);
	} else {
		set->words = words;
	}
	*ret = set;
	return NULL;
}

uint64_t *remora_idset_to_bits(const struct remora_idset *set)
{
	uint64_t nwords = idset_nwords(set->universe);
	uint64_t *words = malloc((nwords ? nwords : 1) * sizeof(uint64_t));
	if (!words)
		return NULL;
	if (set->words) {
		memcpy(words, set->words, nwords * sizeof(uint64_t));
	} else {
		memset(words, 0, nwords * sizeof(uint64_t));
		for (uint64_t i = 0; i < set->count; i++)
			words[set->ids[i] / 64] |= UINT64_C(1) << (set->ids[i] % 64);
	}
	return words;
}

struct remora_error *remora_idset_create_sorted(const struct remora_snapshot *snap,
						const uint32_t *ids, size_t n,
						struct remora_idset **ret)
{
	uint32_t *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy)
		return &remora_error_no_memory;
	if (n)
		memcpy(copy, ids, n * sizeof(*copy));
	return idset_from_array(snap, copy, n, ret);
}

struct remora_error *remora_idset_create_empty(const struct remora_snapshot *snap,
					       struct remora_idset **ret)
{
	return idset_from_array(snap, NULL, 0, ret);
}

struct remora_error *remora_idset_create_all(const struct remora_snapshot *snap,
					     struct remora_idset **ret)
{
	uint64_t nwords = idset_nwords(snap->node_count);
	uint64_t *words = malloc((nwords ? nwords : 1) * sizeof(uint64_t));
	if (!words)
		return &remora_error_no_memory;
	memset(words, 0xff, nwords * sizeof(uint64_t));
	if (snap->node_count % 64)
		words[nwords - 1] = (UINT64_C(1) << (snap->node_count % 64)) - 1;
	return idset_from_words(snap, words, ret);
}

static int idset_compare_ids(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

struct remora_error *remora_idset_create_from_ids(const struct remora_snapshot *snap,
						  const uint32_t *ids, size_t n,
						  struct remora_idset **ret)
{
	bool ascending = true;
	for (size_t i = 0; i < n; i++) {
		if (ids[i] >= snap->node_count)
			return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
						   "object id %u out of range (the snapshot has %u objects)",
						   ids[i], snap->node_count);
		if (i && ids[i] <= ids[i - 1])
			ascending = false;
	}
	uint32_t *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy)
		return &remora_error_no_memory;
	if (n)
		memcpy(copy, ids, n * sizeof(*copy));
	/* a saved set comes back in order (hp.load of a whole heap: 10M ids) */
	if (!ascending)
		qsort(copy, n, sizeof(*copy), idset_compare_ids);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k == 0 || copy[k - 1] != copy[i])
			copy[k++] = copy[i];
	}
	return idset_from_array(snap, copy, k, ret);
}

static bool idset_array_contains(const struct remora_idset *set, uint32_t id)
{
	uint64_t lo = 0, hi = set->count;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (set->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < set->count && set->ids[lo] == id;
}

bool remora_idset_contains(const struct remora_idset *set, uint32_t id)
{
	if (id >= set->universe)
		return false;
	if (set->words)
		return (set->words[id / 64] >> (id % 64)) & 1;
	return idset_array_contains(set, id);
}

/* Both operands arrays: a sorted merge. */
static struct remora_error *idset_merge(const struct remora_idset *a,
					const struct remora_idset *b,
					enum idset_op op,
					struct remora_idset **ret)
{
	uint64_t cap = a->count + b->count;
	uint32_t *out = malloc((cap ? cap : 1) * sizeof(*out));
	if (!out)
		return &remora_error_no_memory;
	uint64_t i = 0, j = 0, k = 0;
	while (i < a->count || j < b->count) {
		bool in_a, in_b;
		uint32_t id;
		if (j >= b->count || (i < a->count && a->ids[i] < b->ids[j])) {
			id = a->ids[i++];
			in_a = true;
			in_b = false;
		} else if (i >= a->count || b->ids[j] < a->ids[i]) {
			id = b->ids[j++];
			in_a = false;
			in_b = true;
		} else {
			id = a->ids[i++];
			j++;
			in_a = in_b = true;
		}
		bool keep;
		switch (op) {
		case OP_UNION: keep = true; break;
		case OP_INTERSECTION: keep = in_a && in_b; break;
		case OP_DIFFERENCE: keep = in_a && !in_b; break;
		default: keep = in_a != in_b; break;
		}
		if (keep)
			out[k++] = id;
	}
	return idset_from_array(a->snap, out, k, ret);
}

/* Members of the array set a kept or dropped by membership in b. */
static struct remora_error *idset_filter(const struct remora_idset *a,
					 const struct remora_idset *b,
					 bool keep_members,
					 struct remora_idset **ret)
{
	uint32_t *out = malloc((a->count ? a->count : 1) * sizeof(*out));
	if (!out)
		return &remora_error_no_memory;
	uint64_t k = 0;
	for (uint64_t i = 0; i < a->count; i++) {
		if (remora_idset_contains(b, a->ids[i]) == keep_members)
			out[k++] = a->ids[i];
	}
	return idset_from_array(a->snap, out, k, ret);
}

static struct remora_error *idset_binary(const struct remora_idset *a,
					 const struct remora_idset *b,
					 enum idset_op op,
					 struct remora_idset **ret)
{
	if (a->snap != b->snap)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "the two sets belong to different snapshots");
	if (!a->words && !b->words)
		return idset_merge(a, b, op, ret);
	if (op == OP_INTERSECTION && !a->words)
		return idset_filter(a, b, true, ret);
	if (op == OP_INTERSECTION && !b->words)
		return idset_filter(b, a, true, ret);
	if (op == OP_DIFFERENCE && !a->words)
		return idset_filter(a, b, false, ret);

	uint64_t *words = remora_idset_to_bits(a);
	if (!words)
		return &remora_error_no_memory;
	uint64_t nwords = idset_nwords(a->universe);
	if (b->words) {
		for (uint64_t w = 0; w < nwords; w++) {
			switch (op) {
			case OP_UNION: words[w] |= b->words[w]; break;
			case OP_INTERSECTION: words[w] &= b->words[w]; break;
			case OP_DIFFERENCE: words[w] &= ~b->words[w]; break;
			default: words[w] ^= b->words[w]; break;
			}
		}
	} else {
		for (uint64_t i = 0; i < b->count; i++) {
			uint32_t id = b->ids[i];
			uint64_t bit = UINT64_C(1) << (id % 64);
			switch (op) {
			case OP_UNION: words[id / 64] |= bit; break;
			case OP_DIFFERENCE: words[id / 64] &= ~bit; break;
			default: words[id / 64] ^= bit; break;
			}
		}
	}
	return idset_from_words(a->snap, words, ret);
}

struct remora_error *remora_idset_create_union(const struct remora_idset *a,
					       const struct remora_idset *b,
					       struct remora_idset **ret)
{
	return idset_binary(a, b, OP_UNION, ret);
}

struct remora_error *remora_idset_create_intersection(const struct remora_idset *a,
						      const struct remora_idset *b,
						      struct remora_idset **ret)
{
	return idset_binary(a, b, OP_INTERSECTION, ret);
}

struct remora_error *remora_idset_create_difference(const struct remora_idset *a,
						    const struct remora_idset *b,
						    struct remora_idset **ret)
{
	return idset_binary(a, b, OP_DIFFERENCE, ret);
}

struct remora_error *remora_idset_create_symmetric_difference(const struct remora_idset *a,
							      const struct remora_idset *b,
							      struct remora_idset **ret)
{
	return idset_binary(a, b, OP_SYMMETRIC, ret);
}

struct remora_error *remora_idset_create_complement(const struct remora_idset *a,
						    struct remora_idset **ret)
{
	uint64_t *words = remora_idset_to_bits(a);
	if (!words)
		return &remora_error_no_memory;
	uint64_t nwords = idset_nwords(a->universe);
	for (uint64_t w = 0; w < nwords; w++)
		words[w] = ~words[w];
	if (a->universe % 64)
		words[nwords - 1] &= (UINT64_C(1) << (a->universe % 64)) - 1;
	return idset_from_words(a->snap, words, ret);
}

/* The union of the adjacency rows adj[begin[id] .. end[id]) of set's
 * members.  When the rows hold fewer entries than a bitset would be worth
 * (invariant 1), they are gathered into an array, sorted and deduplicated;
 * otherwise they are marked in a bitset.  Either buffer becomes the
 * result, so nothing else proportional to the snapshot is allocated. */
static struct remora_error *idset_adjacent(const struct remora_idset *set,
					   const uint32_t *begin,
					   const uint32_t *end,
					   const uint32_t *adj,
					   struct remora_idset **ret)
{
	const struct remora_snapshot *snap = set->snap;
	struct remora_idset_iter it;
	uint32_t id;
	uint64_t total = 0;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id))
		total += end[id] - begin[id];

	if (idset_wants_array(total, set->universe)) {
		uint32_t *ids = malloc((total ? total : 1) * sizeof(*ids));
		if (!ids)
			return &remora_error_no_memory;
		uint64_t k = 0;
		remora_idset_iter_init(&it, set);
		while (remora_idset_iter_next(&it, &id)) {
			for (uint32_t e = begin[id]; e < end[id]; e++)
				ids[k++] = adj[e];
		}
		qsort(ids, k, sizeof(*ids), idset_compare_ids);
		uint64_t n = 0;
		for (uint64_t i = 0; i < k; i++) {
			if (n == 0 || ids[n - 1] != ids[i])
				ids[n++] = ids[i];
		}
		return idset_from_array(snap, ids, n, ret);
	}

	uint64_t nwords = idset_nwords(set->universe);
	uint64_t *words = calloc(nwords ? nwords : 1, sizeof(uint64_t));
	if (!words)
		return &remora_error_no_memory;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id)) {
		for (uint32_t e = begin[id]; e < end[id]; e++)
			words[adj[e] / 64] |= UINT64_C(1) << (adj[e] % 64);
	}
	return idset_from_words(snap, words, ret);
}

struct remora_error *remora_idset_create_referents(const struct remora_idset *set,
						   struct remora_idset **ret)
{
	const struct remora_snapshot *snap = set->snap;
	return idset_adjacent(set, snap->edge_start, snap->edge_end,
			      snap->edge_target, ret);
}

struct remora_error *remora_idset_create_referrers(const struct remora_idset *set,
						   struct remora_idset **ret)
{
	const struct remora_snapshot_reverse *rev;
	struct remora_error *err = remora_snapshot_reverse(set->snap, &rev);
	if (err)
		return err;
	return idset_adjacent(set, rev->start, rev->start + 1, rev->source, ret);
}

void remora_idset_destroy(struct remora_idset *set)
{
	if (!set)
		return;
	free(set->ids);
	free(set->words);
	free(set);
}

const struct remora_snapshot *remora_idset_snapshot(const struct remora_idset *set)
{
	return set->snap;
}

uint64_t remora_idset_count(const struct remora_idset *set)
{
	return set->count;
}

uint64_t remora_idset_size(const struct remora_idset *set)
{
	return set->size;
}

size_t remora_idset_ids(const struct remora_idset *set, uint64_t start,
			uint32_t *out, size_t cap)
{
	if (start >= set->count || cap == 0)
		return 0;
	if (!set->words) {
		uint64_t n = set->count - start;
		if (n > cap)
			n = cap;
		memcpy(out, set->ids + start, n * sizeof(*out));
		return (size_t)n;
	}
	/* Skip whole words up to the one holding the start-th member. */
	uint64_t nwords = idset_nwords(set->universe);
	uint64_t w = 0, seen = 0;
	for (; w < nwords; w++) {
		uint64_t c = (uint64_t)__builtin_popcountll(set->words[w]);
		if (seen + c > start)
			break;
		seen += c;
	}
	size_t k = 0;
	for (; w < nwords && k < cap; w++) {
		for (uint64_t bits = set->words[w]; bits && k < cap; bits &= bits - 1) {
			if (seen++ < start)
				continue;
			out[k++] = (uint32_t)(w * 64 + (uint64_t)__builtin_ctzll(bits));
		}
	}
	return k;
}

/* The sum of each(snap, id, arg) over the members. */
static uint64_t idset_sum(const struct remora_idset *set,
			  uint64_t (*each)(const struct remora_snapshot *, uint32_t, uint32_t),
			  uint32_t arg)
{
	uint32_t ids[4096];
	uint64_t n = 0;
	size_t got;
	for (uint64_t at = 0; (got = remora_idset_ids(set, at, ids, 4096)) > 0; at += got) {
		for (size_t i = 0; i < got; i++)
			n += each(set->snap, ids[i], arg);
	}
	return n;
}

static uint64_t node_owned(const struct remora_snapshot *snap, uint32_t id, uint32_t unused)
{
	(void)unused;
	return remora_snapshot_node_owned(snap, id);
}

static uint64_t node_flagged(const struct remora_snapshot *snap, uint32_t id, uint32_t flags)
{
	return (remora_snapshot_node_flags(snap, id) & flags) != 0;
}

uint64_t remora_idset_owned(const struct remora_idset *set)
{
	return idset_sum(set, node_owned, 0);
}

uint64_t remora_idset_count_flagged(const struct remora_idset *set, uint32_t flags)
{
	return idset_sum(set, node_flagged, flags);
}

bool remora_idset_subset(const struct remora_idset *a,
			 const struct remora_idset *b)
{
	if (a->snap != b->snap || a->count > b->count)
		return false;
	if (a->words && b->words) {
		uint64_t nwords = idset_nwords(a->universe);
		for (uint64_t w = 0; w < nwords; w++) {
			if (a->words[w] & ~b->words[w])
				return false;
		}
		return true;
	}
	struct remora_idset_iter it;
	uint32_t id;
	remora_idset_iter_init(&it, a);
	while (remora_idset_iter_next(&it, &id)) {
		if (!remora_idset_contains(b, id))
			return false;
	}
	return true;
}

bool remora_idset_equal(const struct remora_idset *a,
			const struct remora_idset *b)
{
	return a->count == b->count && a->size == b->size &&
	       remora_idset_subset(a, b);
}

/* Builtin types whose objects never change size while they live. */
static bool idset_type_is_immutable(const char *display)
{
	static const char *const immutable[] = {
		"str", "bytes", "int", "float", "complex", "tuple", "frozenset",
	};
	for (size_t i = 0; display && i < sizeof(immutable) / sizeof(immutable[0]); i++) {
		if (!strcmp(display, immutable[i]))
			return true;
	}
	return false;
}

struct remora_error *remora_idset_create_present(const struct remora_idset *set,
						 const struct remora_idset *old,
						 struct remora_idset **ret)
{
	const struct remora_snapshot *snap = set->snap, *prev = old->snap;
	uint32_t *ids = malloc((old->count ? old->count : 1) * sizeof(*ids));
	if (!ids)
		return &remora_error_no_memory;
	size_t n = 0;
	struct remora_idset_iter it;
	uint32_t id;
	remora_idset_iter_init(&it, old);
	while (remora_idset_iter_next(&it, &id)) {
		uint32_t now = remora_snapshot_node_find(snap, prev->addr[id]);
		if (now == REMORA_NO_NODE || !remora_idset_contains(set, now))
			continue;
		if (snap->types[snap->type[now]].address !=
		    prev->types[prev->type[id]].address)
			continue;
		/* an object of an immutable builtin type keeps its size: at
		 * another size it is another object, made where one was freed */
		if (snap->size[now] != prev->size[id] &&
		    idset_type_is_immutable(snap->types[snap->type[now]].display))
			continue;
		ids[n++] = now; /* ascending: both snapshots are in address order */
	}
	struct remora_error *err = remora_idset_create_sorted(snap, ids, n, ret);
	free(ids);
	return err;
}
