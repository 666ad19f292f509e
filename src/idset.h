/* idset.h — immutable sets of object ids of one snapshot (public API in
 * include/remora/remora.h), and the member iteration partition.c uses.
 *
 * Invariants:
 *  1. A set is a sorted array of distinct ids when that is smaller than a
 *     bitset (count < universe / 32), otherwise a bitset of universe bits
 *     whose bits past universe are zero.  Exactly one of ids/words is
 *     used; the empty set is an array of length 0.
 *  2. count and size (sum of member sizes) are computed once, at creation.
 *  3. A set never changes after creation and does not own its snapshot;
 *     it must be destroyed before the snapshot.
 */
#ifndef REMORA_IDSET_H
#define REMORA_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remora/remora.h"

struct remora_idset {
	const struct remora_snapshot *snap;
	uint32_t universe;  /* the snapshot's node count */
	uint64_t count;
	uint64_t size;
	uint32_t *ids;      /* sorted, distinct; NULL when words is used */
	uint64_t *words;    /* (universe + 63) / 64 words, or NULL */
};

/* A set of n sorted, distinct, valid ids (copied). */
struct remora_error *remora_idset_create_sorted(const struct remora_snapshot *snap,
						const uint32_t *ids, size_t n,
						struct remora_idset **ret);

/* A fresh bitset of universe bits holding set's members (at least one
 * word), or NULL without memory; the caller frees it. */
uint64_t *remora_idset_to_bits(const struct remora_idset *set);

/* Ascending iteration over members:
 *   struct remora_idset_iter it;
 *   remora_idset_iter_init(&it, set);
 *   while (remora_idset_iter_next(&it, &id)) ...
 */
struct remora_idset_iter {
	const struct remora_idset *set;
	uint64_t pos;     /* array index, or word index */
	uint64_t word;    /* remaining bits of words[pos] */
};

static inline void remora_idset_iter_init(struct remora_idset_iter *it,
					  const struct remora_idset *set)
{
	it->set = set;
	it->pos = 0;
	it->word = set->words && set->universe ? set->words[0] : 0;
}

static inline bool remora_idset_iter_next(struct remora_idset_iter *it,
					  uint32_t *id_ret)
{
	const struct remora_idset *set = it->set;
	if (!set->words) {
		if (it->pos >= set->count)
			return false;
		*id_ret = set->ids[it->pos++];
		return true;
	}
	uint64_t nwords = ((uint64_t)set->universe + 63) / 64;
	while (!it->word) {
		if (++it->pos >= nwords)
			return false;
		it->word = set->words[it->pos];
	}
	*id_ret = (uint32_t)(it->pos * 64 + (uint64_t)__builtin_ctzll(it->word));
	it->word &= it->word - 1;
	return true;
}

#endif
