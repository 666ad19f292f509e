/* byrel.c — byvia and byrcs (byrel.h).
 *
 * heapy rescans every referrer of every object to find how it refers
 * (quadratic in the worst case); here the snapshot's edges carry their
 * labels, so one pass does:
 *
 *   byvia: for every edge s -> t with t a member, the edge's atom goes to
 *          t's bucket, a slice of one array placed by the reverse index's
 *          counts (snapshot.h invariant 7); roots' atoms come from the
 *          (few) root entries.  via word -> atom is cached, so a label is
 *          rendered once per distinct via word.
 *   byrcs: for every member t, the clodo kinds of its referrers (the
 *          reverse index lists them) and RootState if a root holds it.
 *
 * Each member's atoms are then sorted, made unique and interned: equal
 * atom sets share a class (invariant 1).
 */
#include "byrel.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "idset.h"
#include "snapshot.h"
#include "via.h"

enum { LABEL_MAX = 1024 };

/* An open-addressing map from 64-bit keys to u32 values, at most half
 * full; empty slots have value UINT32_MAX. */
struct u64map {
	uint64_t *keys;
	uint32_t *vals;
	uint64_t mask;
	uint64_t used;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static bool u64map_grow(struct u64map *m)
{
	uint64_t cap = m->keys ? (m->mask + 1) * 2 : 1024;
	uint64_t *keys = malloc(cap * sizeof(*keys));
	uint32_t *vals = malloc(cap * sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return false;
	}
	memset(vals, 0xff, cap * sizeof(*vals));
	for (uint64_t i = 0; m->keys && i <= m->mask; i++) {
		if (m->vals[i] == UINT32_MAX)
			continue;
		uint64_t s = mix64(m->keys[i]) & (cap - 1);
		while (vals[s] != UINT32_MAX)
			s = (s + 1) & (cap - 1);
		keys[s] = m->keys[i];
		vals[s] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->mask = cap - 1;
	return true;
}

/* The slot of key: holding it, or the empty slot where it would go. */
static uint64_t u64map_slot(const struct u64map *m, uint64_t key)
{
	uint64_t s = mix64(key) & m->mask;
	while (m->vals[s] != UINT32_MAX && m->keys[s] != key)
		s = (s + 1) & m->mask;
	return s;
}

static void u64map_deinit(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
}

struct byrel {
	const struct remora_snapshot *snap;
	enum remora_classifier by;

	/* atoms: text, and text hash -> atom (collisions checked by text) */
	char **atom_text;
	uint32_t atom_count, atom_cap;
	struct u64map atom_by_hash;     /* key: hash of text (chained by +1) */
	struct u64map atom_by_via;      /* byvia: via word -> atom */
	/* a direct-mapped cache in front of atom_by_via (edges that share
	 * a via word come in runs: a list's [0], [1], ...) */
	uint64_t via_cache_key[1 << 12];
	uint32_t via_cache_atom[1 << 12];
	/* atom -> class of the one-atom set {atom}, or UINT32_MAX: most
	 * objects are held one way, and find their class without hashing */
	uint32_t *single_class;
	uint32_t single_cap;

	/* classes: atoms[first .. first + len) of pool */
	uint32_t *pool;
	uint64_t pool_len, pool_cap;
	uint64_t *class_first;
	uint32_t *class_len;
	uint32_t class_count, class_cap;
	struct u64map class_by_hash;
};

static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * UINT64_C(0x100000001b3);
	return h;
}

/* The atom for text (interned: invariant 2). */
static struct remora_error *byrel_atom(struct byrel *b, const char *text,
				       size_t n, uint32_t *ret)
{
	struct u64map *m = &b->atom_by_hash;
	if ((m->used + 1) * 2 > (m->keys ? m->mask + 1 : 0) && !u64map_grow(m))
		return &remora_error_no_memory;
	/* probe keys h, h+1, ... until the text matches or a slot is free */
	for (uint64_t h = hash_bytes(text, n);; h++) {
		uint64_t s = u64map_slot(m, h);
		if (m->vals[s] == UINT32_MAX) {
			if (b->atom_count == b->atom_cap) {
				uint32_t cap = b->atom_cap ? b->atom_cap * 2 : 256;
				char **t = realloc(b->atom_text, cap * sizeof(*t));
				if (!t)
					return &remora_error_no_memory;
				b->atom_text = t;
				b->atom_cap = cap;
			}
			char *copy = malloc(n + 1);
			if (!copy)
				return &remora_error_no_memory;
			memcpy(copy, text, n);
			copy[n] = '\0';
			b->atom_text[b->atom_count] = copy;
			m->keys[s] = h;
			m->vals[s] = b->atom_count;
			m->used++;
			*ret = b->atom_count++;
			return NULL;
		}
		const char *t = b->atom_text[m->vals[s]];
		if (strlen(t) == n && !memcmp(t, text, n)) {
			*ret = m->vals[s];
			return NULL;
		}
	}
}

static struct remora_error *byrel_via_atom(struct byrel *b, uint64_t via,
					   uint32_t *ret)
{
	uint32_t c = (uint32_t)(mix64(via) >> 52);
	if (b->via_cache_key[c] == via && b->via_cache_atom[c] != UINT32_MAX) {
		*ret = b->via_cache_atom[c];
		return NULL;
	}
	struct u64map *m = &b->atom_by_via;
	if ((m->used + 1) * 2 > (m->keys ? m->mask + 1 : 0) && !u64map_grow(m))
		return &remora_error_no_memory;
	uint64_t s = u64map_slot(m, via);
	if (m->vals[s] != UINT32_MAX) {
		*ret = m->vals[s];
		b->via_cache_key[c] = via;
		b->via_cache_atom[c] = *ret;
		return NULL;
	}
	char buf[LABEL_MAX];
	size_t n = remora_snapshot_via_label(b->snap, via, buf, sizeof(buf));
	struct remora_error *err = byrel_atom(b, buf, n < sizeof(buf) ? n : sizeof(buf) - 1, ret);
	if (err)
		return err;
	s = u64map_slot(m, via); /* byrel_atom does not touch this map */
	m->keys[s] = via;
	m->vals[s] = *ret;
	m->used++;
	b->via_cache_key[c] = via;
	b->via_cache_atom[c] = *ret;
	return NULL;
}

/* The clodo kind's display text of id, as partition.c labels clodo rows. */
static void clodo_text(const struct remora_snapshot *snap, uint32_t id,
		       struct via_text *t)
{
	uint32_t type = snap->type[id];
	if (type != snap->dict_type) {
		const char *d = snap->types[type].display;
		via_text_put(t, d, strlen(d));
		return;
	}
	uint32_t owner = snap->owner[id];
	if (owner == REMORA_NO_NODE) {
		via_text_put(t, "dict (no owner)", 15);
		return;
	}
	via_text_printf(t, "dict of %s", snap->types[snap->type[owner]].display);
}

/* The atom of a referrer's clodo kind; cached per class key in
 * atom_by_via (byrcs does not use it for via words). */
static struct remora_error *byrel_rcs_atom(struct byrel *b, uint32_t src,
					   uint32_t *ret)
{
	const struct remora_snapshot *snap = b->snap;
	uint64_t key;
	uint32_t type = snap->type[src];
	if (type != snap->dict_type)
		key = 2 * (uint64_t)type;
	else if (snap->owner[src] == REMORA_NO_NODE)
		key = 2 * (uint64_t)snap->type_count;
	else
		key = 2 * (uint64_t)snap->type[snap->owner[src]] + 1;
	struct u64map *m = &b->atom_by_via;
	if ((m->used + 1) * 2 > (m->keys ? m->mask + 1 : 0) && !u64map_grow(m))
		return &remora_error_no_memory;
	uint64_t s = u64map_slot(m, key);
	if (m->vals[s] != UINT32_MAX) {
		*ret = m->vals[s];
		return NULL;
	}
	char buf[LABEL_MAX];
	struct via_text t;
	via_text_init(&t, buf, sizeof(buf));
	clodo_text(snap, src, &t);
	struct remora_error *err =
		byrel_atom(b, buf, t.len < sizeof(buf) ? t.len : sizeof(buf) - 1, ret);
	if (err)
		return err;
	s = u64map_slot(m, key);
	m->keys[s] = key;
	m->vals[s] = *ret;
	m->used++;
	return NULL;
}

static int compare_u32(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	return (a > b) - (a < b);
}

/* Sorts and dedups atoms[0..n) in place; returns the new length. */
static uint32_t sort_unique(uint32_t *atoms, uint32_t n)
{
	if (n < 2)
		return n;
	if (n <= 16) {
		for (uint32_t i = 1; i < n; i++) {
			uint32_t v = atoms[i], j = i;
			while (j > 0 && atoms[j - 1] > v) {
				atoms[j] = atoms[j - 1];
				j--;
			}
			atoms[j] = v;
		}
	} else {
		qsort(atoms, n, sizeof(*atoms), compare_u32);
	}
	uint32_t k = 1;
	for (uint32_t i = 1; i < n; i++) {
		if (atoms[i] != atoms[k - 1])
			atoms[k++] = atoms[i];
	}
	return k;
}

/* The class of the atom set atoms[0..n) (sorted, unique): interned. */
static struct remora_error *byrel_class_hashed(struct byrel *b,
					       const uint32_t *atoms, uint32_t n,
					       uint32_t *ret);

static struct remora_error *byrel_class(struct byrel *b, const uint32_t *atoms,
					uint32_t n, uint32_t *ret)
{
	if (n != 1)
		return byrel_class_hashed(b, atoms, n, ret);
	uint32_t a = atoms[0];
	if (a >= b->single_cap) {
		uint32_t cap = b->single_cap ? b->single_cap : 1024;
		while (cap <= a)
			cap *= 2;
		uint32_t *sc = realloc(b->single_class, cap * sizeof(*sc));
		if (!sc)
			return &remora_error_no_memory;
		memset(sc + b->single_cap, 0xff, (cap - b->single_cap) * sizeof(*sc));
		b->single_class = sc;
		b->single_cap = cap;
	}
	if (b->single_class[a] == UINT32_MAX) {
		struct remora_error *err = byrel_class_hashed(b, atoms, 1, &b->single_class[a]);
		if (err)
			return err;
	}
	*ret = b->single_class[a];
	return NULL;
}

static struct remora_error *byrel_class_hashed(struct byrel *b,
					       const uint32_t *atoms, uint32_t n,
					       uint32_t *ret)
{
	struct u64map *m = &b->class_by_hash;
	if ((m->used + 1) * 2 > (m->keys ? m->mask + 1 : 0) && !u64map_grow(m))
		return &remora_error_no_memory;
	for (uint64_t h = hash_bytes(atoms, n * sizeof(*atoms)) ^ n;; h++) {
		uint64_t s = u64map_slot(m, h);
		if (m->vals[s] == UINT32_MAX) {
			if (b->class_count == b->class_cap) {
				uint32_t cap = b->class_cap ? b->class_cap * 2 : 256;
				uint64_t *f = realloc(b->class_first, cap * sizeof(*f));
				if (f)
					b->class_first = f;
				uint32_t *l = realloc(b->class_len, cap * sizeof(*l));
				if (l)
					b->class_len = l;
				if (!f || !l)
					return &remora_error_no_memory;
				b->class_cap = cap;
			}
			/* allocated even for an empty kind (n = 0, no
			 * referrers): pool + offset needs a pool */
			if (!b->pool || b->pool_len + n > b->pool_cap) {
				uint64_t cap = b->pool_cap ? b->pool_cap * 2 : 4096;
				while (cap < b->pool_len + n)
					cap *= 2;
				uint32_t *p = realloc(b->pool, cap * sizeof(*p));
				if (!p)
					return &remora_error_no_memory;
				b->pool = p;
				b->pool_cap = cap;
			}
			memcpy(b->pool + b->pool_len, atoms, n * sizeof(*atoms));
			b->class_first[b->class_count] = b->pool_len;
			b->class_len[b->class_count] = n;
			b->pool_len += n;
			m->keys[s] = h;
			m->vals[s] = b->class_count;
			m->used++;
			*ret = b->class_count++;
			return NULL;
		}
		uint32_t c = m->vals[s];
		if (b->class_len[c] == n &&
		    !memcmp(b->pool + b->class_first[c], atoms, n * sizeof(*atoms))) {
			*ret = c;
			return NULL;
		}
	}
}

/* Root entries (target, atom) sorted by target, for the merge with the
 * members' ascending order. */
struct root_atom {
	uint32_t target;
	uint32_t atom;
};

static int compare_root_atom(const void *pa, const void *pb)
{
	const struct root_atom *a = pa, *b = pb;
	if (a->target != b->target)
		return a->target < b->target ? -1 : 1;
	return (a->atom > b->atom) - (a->atom < b->atom);
}

static struct remora_error *byrel_root_atoms(struct byrel *b,
					     const uint64_t *member_bits,
					     struct root_atom **ret, uint32_t *n_ret)
{
	const struct remora_snapshot *snap = b->snap;
	struct root_atom *ra = malloc((snap->root_count ? snap->root_count : 1) * sizeof(*ra));
	if (!ra)
		return &remora_error_no_memory;
	uint32_t n = 0;
	uint32_t root_state = UINT32_MAX;
	for (uint32_t r = 0; r < snap->root_count; r++) {
		uint32_t t = snap->root_target[r];
		if (!(member_bits[t >> 6] >> (t & 63) & 1))
			continue;
		uint32_t atom;
		struct remora_error *err;
		if (b->by == REMORA_BY_VIA) {
			char buf[LABEL_MAX];
			size_t len = remora_snapshot_root_label(snap, r, buf, sizeof(buf));
			err = byrel_atom(b, buf, len < sizeof(buf) ? len : sizeof(buf) - 1, &atom);
		} else {
			err = root_state == UINT32_MAX ?
				      byrel_atom(b, "RootState", 9, &root_state) : NULL;
			atom = root_state;
		}
		if (err) {
			free(ra);
			return err;
		}
		ra[n++] = (struct root_atom){ .target = t, .atom = atom };
	}
	qsort(ra, n, sizeof(*ra), compare_root_atom);
	*ret = ra;
	*n_ret = n;
	return NULL;
}

struct remora_error *byrel_classify(const struct remora_idset *set,
				    enum remora_classifier by, uint32_t *cls_of,
				    struct byrel **ret)
{
	const struct remora_snapshot *snap = set->snap;
	const struct remora_snapshot_reverse *rev;
	struct remora_error *err = remora_snapshot_reverse(snap, &rev);
	if (err)
		return err;
	struct byrel *b = calloc(1, sizeof(*b));
	uint64_t *bits = remora_idset_to_bits(set);
	uint32_t *fill = NULL, *slots = NULL, *scratch = NULL;
	struct root_atom *roots = NULL;
	uint32_t nroots = 0;
	if (!b || !bits) {
		err = &remora_error_no_memory;
		goto out;
	}
	b->snap = snap;
	b->by = by;
	memset(b->via_cache_atom, 0xff, sizeof(b->via_cache_atom));

	struct remora_idset_iter it;
	uint32_t id;
	uint32_t max_in = 0;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id)) {
		uint32_t in = rev->start[id + 1] - rev->start[id];
		if (in > max_in)
			max_in = in;
	}
	err = byrel_root_atoms(b, bits, &roots, &nroots);
	if (err)
		goto out;
	uint32_t max_roots = 0;
	for (uint32_t i = 0, run = 0; i < nroots; i++) {
		run = i && roots[i].target == roots[i - 1].target ? run + 1 : 1;
		if (run > max_roots)
			max_roots = run;
	}
	scratch = malloc(((uint64_t)max_in + max_roots + 1) * sizeof(*scratch));
	if (!scratch) {
		err = &remora_error_no_memory;
		goto out;
	}

	if (by == REMORA_BY_VIA) {
		/* One pass over every edge row: a member's atoms land in its
		 * slice slots[start[t] ..), counted by fill[t]. */
		fill = calloc(snap->node_count ? snap->node_count : 1, sizeof(*fill));
		slots = malloc((snap->edge_count ? snap->edge_count : 1) * sizeof(*slots));
		if (!fill || !slots) {
			err = &remora_error_no_memory;
			goto out;
		}
		for (uint32_t s = 0; s < snap->node_count; s++) {
			for (uint32_t e = snap->edge_start[s]; e < snap->edge_end[s]; e++) {
				uint32_t t = snap->edge_target[e];
				if (!(bits[t >> 6] >> (t & 63) & 1))
					continue;
				uint32_t atom;
				err = byrel_via_atom(b, snap->edge_via[e], &atom);
				if (err)
					goto out;
				slots[rev->start[t] + fill[t]++] = atom;
			}
		}
	}

	uint64_t k = 0;
	uint32_t r = 0;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id)) {
		uint32_t n = 0;
		if (by == REMORA_BY_VIA) {
			memcpy(scratch, slots + rev->start[id], fill[id] * sizeof(*scratch));
			n = fill[id];
		} else {
			for (uint32_t i = rev->start[id]; i < rev->start[id + 1]; i++) {
				err = byrel_rcs_atom(b, rev->source[i], &scratch[n]);
				if (err)
					goto out;
				n++;
			}
		}
		while (r < nroots && roots[r].target < id)
			r++;
		while (r < nroots && roots[r].target == id)
			scratch[n++] = roots[r++].atom;
		n = sort_unique(scratch, n);
		err = byrel_class(b, scratch, n, &cls_of[k++]);
		if (err)
			goto out;
	}

out:
	free(scratch);
	free(roots);
	free(slots);
	free(fill);
	free(bits);
	if (err) {
		byrel_destroy(b);
		return err;
	}
	*ret = b;
	return NULL;
}

void byrel_destroy(struct byrel *b)
{
	if (!b)
		return;
	for (uint32_t i = 0; i < b->atom_count; i++)
		free(b->atom_text[i]);
	free(b->atom_text);
	u64map_deinit(&b->atom_by_hash);
	u64map_deinit(&b->atom_by_via);
	u64map_deinit(&b->class_by_hash);
	free(b->single_class);
	free(b->pool);
	free(b->class_first);
	free(b->class_len);
	free(b);
}

uint32_t byrel_class_count(const struct byrel *b)
{
	return b->class_count;
}

void byrel_class_atoms(const struct byrel *b, uint32_t cls,
		       const uint32_t **atoms, uint32_t *n)
{
	*atoms = b->pool + b->class_first[cls];
	*n = b->class_len[cls];
}

const char *byrel_atom_text(const struct byrel *b, uint32_t atom)
{
	return atom < b->atom_count ? b->atom_text[atom] : NULL;
}

static int compare_strings(const void *pa, const void *pb)
{
	return strcmp(*(char *const *)pa, *(char *const *)pb);
}

void byrel_label(const struct byrel *b, uint32_t cls, bool in_and,
		 struct via_text *out)
{
	const uint32_t *atoms;
	uint32_t n;
	byrel_class_atoms(b, cls, &atoms, &n);
	if (n == 0) {
		if (in_and)
			via_text_put(out, "{}", 2);
		else if (b->by == REMORA_BY_RCS)
			via_text_put(out, "<Nothing>", 9);
		return;
	}
	if (n == 1) {
		/* most classes: one relation, nothing to sort */
		const char *a = b->atom_text[atoms[0]];
		if (in_and)
			via_text_put(out, "{", 1);
		if (b->by == REMORA_BY_VIA)
			via_text_repr_str(out, a, strlen(a), false);
		else
			via_text_put(out, a, strlen(a));
		if (in_and)
			via_text_put(out, "}", 1);
		return;
	}
	/* byvia sorts the labels' reprs, byrcs the kinds themselves */
	char **texts = malloc(n * sizeof(*texts));
	bool ok = texts != NULL;
	uint32_t made = 0;
	for (; ok && made < n; made++) {
		const char *a = b->atom_text[atoms[made]];
		if (b->by == REMORA_BY_VIA) {
			size_t len = strlen(a);
			char *buf = malloc(len * 10 + 8);
			if (!buf) {
				ok = false;
				break;
			}
			struct via_text t;
			via_text_init(&t, buf, len * 10 + 8);
			via_text_repr_str(&t, a, len, false);
			texts[made] = buf;
		} else {
			texts[made] = strdup(a);
			ok = texts[made] != NULL;
			if (!ok)
				break;
		}
	}
	if (!ok) {
		/* out of memory: the atoms unsorted, as they are */
		for (uint32_t i = 0; i < n; i++) {
			const char *a = b->atom_text[atoms[i]];
			if (i)
				via_text_put(out, ", ", 2);
			via_text_put(out, a, strlen(a));
		}
	} else {
		qsort(texts, n, sizeof(*texts), compare_strings);
		if (in_and)
			via_text_put(out, "{", 1);
		for (uint32_t i = 0; i < n; i++) {
			if (i)
				via_text_put(out, ", ", 2);
			via_text_put(out, texts[i], strlen(texts[i]));
		}
		if (in_and)
			via_text_put(out, "}", 1);
	}
	for (uint32_t i = 0; i < made; i++)
		free(texts[i]);
	free(texts);
}

uint32_t byrel_atom_find(const struct byrel *b, const char *text)
{
	const struct u64map *m = &b->atom_by_hash;
	if (!m->keys)
		return UINT32_MAX;
	size_t n = strlen(text);
	for (uint64_t h = hash_bytes(text, n);; h++) {
		uint64_t s = u64map_slot(m, h);
		if (m->vals[s] == UINT32_MAX)
			return UINT32_MAX;
		if (!strcmp(b->atom_text[m->vals[s]], text))
			return m->vals[s];
	}
}
