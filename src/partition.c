/* partition.c — classifying a set and ordering the rows (partition.h).
 *
 * heapy's classifiers, as guppy3 renders them (Classifiers.py):
 *   byclodo  header "Kind (class / dict of class)"; a row per type, and
 *            for an exact dict "dict of <owner's type>" when an object
 *            holds it as its __dict__, else "dict (no owner)".
 *   bytype   header "Type"; a row per type.
 *   bysize   header "Individual Size"; a row per individual size,
 *            labelled "%9d" (right-aligned, as heapy renders it).
 *   byunity  header "<unclassified>"; one row, "<Anything>".
 * Type names are the snapshot's display names (typename.h).
 *
 * Two scans over the set: the first classifies each member (remembering
 * its class) and sums counts and sizes per class; rows are then made and
 * sorted; the second places each member in its row's slice.
 */
#include "partition.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byrel.h"
#include "error.h"
#include "idset.h"
#include "snapshot.h"
#include "snapshot_format.h"
#include "via.h"

static const char *const partition_headers[] = {
	[REMORA_BY_CLODO] = "Kind (class / dict of class)",
	[REMORA_BY_TYPE] = "Type",
	[REMORA_BY_SIZE] = "Individual Size",
	[REMORA_BY_UNITY] = "<unclassified>",
	[REMORA_BY_VIA] = "Referred Via:",
	[REMORA_BY_RCS] = "Referrers by Kind (class / dict of class)",
	[REMORA_BY_ID] = "Representation (limited)",
	[REMORA_BY_MODULE] = "Module",
};

/* Distinct individual sizes -> class numbers, for bysize: an
 * open-addressing table kept at most half full. */
struct size_classes {
	uint64_t *keys;
	uint32_t *vals;     /* REMORA_NO_NODE: empty slot */
	uint64_t mask;
	uint32_t count;
	uint64_t *sizes;    /* [count] class number -> size */
};

static uint64_t size_hash(uint64_t size)
{
	return (size * UINT64_C(0x9e3779b97f4a7c15)) >> 20;
}

static struct remora_error *size_classes_resize(struct size_classes *sc,
					       uint64_t cap)
{
	uint64_t *keys = malloc(cap * sizeof(*keys));
	uint32_t *vals = malloc(cap * sizeof(*vals));
	uint64_t *sizes = realloc(sc->sizes, cap / 2 * sizeof(*sizes));
	if (sizes)
		sc->sizes = sizes;
	if (!keys || !vals || !sizes) {
		free(keys);
		free(vals);
		return &remora_error_no_memory;
	}
	memset(vals, 0xff, cap * sizeof(*vals));
	for (uint32_t c = 0; c < sc->count; c++) {
		uint64_t s = size_hash(sc->sizes[c]) & (cap - 1);
		while (vals[s] != REMORA_NO_NODE)
			s = (s + 1) & (cap - 1);
		keys[s] = sc->sizes[c];
		vals[s] = c;
	}
	free(sc->keys);
	free(sc->vals);
	sc->keys = keys;
	sc->vals = vals;
	sc->mask = cap - 1;
	return NULL;
}

static void size_classes_deinit(struct size_classes *sc)
{
	free(sc->keys);
	free(sc->vals);
	free(sc->sizes);
}

static struct remora_error *size_classes_get(struct size_classes *sc,
					     uint64_t size, uint32_t *cls_ret)
{
	if (!sc->keys || (uint64_t)(sc->count + 1) * 2 > sc->mask + 1) {
		struct remora_error *err =
			size_classes_resize(sc, sc->keys ? (sc->mask + 1) * 2 : 256);
		if (err)
			return err;
	}
	uint64_t s = size_hash(size) & sc->mask;
	while (sc->vals[s] != REMORA_NO_NODE) {
		if (sc->keys[s] == size) {
			*cls_ret = sc->vals[s];
			return NULL;
		}
		s = (s + 1) & sc->mask;
	}
	sc->keys[s] = size;
	sc->vals[s] = sc->count;
	sc->sizes[sc->count] = size;
	*cls_ret = sc->count++;
	return NULL;
}

static uint32_t partition_clodo_class(const struct remora_snapshot *snap,
				      uint32_t id)
{
	uint32_t t = snap->type[id];
	if (t != snap->dict_type)
		return 2 * t;
	uint32_t owner = snap->owner[id];
	if (owner == REMORA_NO_NODE)
		return 2 * snap->type_count;
	return 2 * snap->type[owner] + 1;
}

/* One classifier's view of a set: a class per member, and what it takes
 * to label a class. */
struct classing {
	enum remora_classifier by;
	uint32_t *cls_of;          /* [set count], members in ascending order;
	                            * NULL: computed where needed (lazy) */
	uint64_t nclasses;
	struct size_classes sc;    /* bysize */
	struct byrel *rel;         /* byvia, byrcs */
	uint32_t *ids;             /* byid: class -> id; bymodule: class -> id
	                            * of the module (class 0: not a module) */
};

static void classing_deinit(struct classing *c)
{
	remora_big_free(c->cls_of);
	size_classes_deinit(&c->sc);
	byrel_destroy(c->rel);
	free(c->ids);
}

/* Whether id is a module object. */
static bool partition_is_module(const struct remora_snapshot *snap, uint32_t id)
{
	const struct remora_snapshot_type *t = &snap->types[snap->type[id]];
	return !strcmp(t->name, "module") && !strcmp(t->module, "builtins");
}

/* Whether by's class of a member is a load or two (no table kept). */
static bool class_is_direct(enum remora_classifier by)
{
	return by == REMORA_BY_CLODO || by == REMORA_BY_TYPE;
}

/* The class of id, for a classifier class_is_direct() says is. */
static uint32_t class_direct(const struct remora_snapshot *snap, enum remora_classifier by,
			     uint32_t id)
{
	return by == REMORA_BY_CLODO ? partition_clodo_class(snap, id) : snap->type[id];
}

/* lazy: a direct classifier keeps no cls_of (4 bytes per member, on a
 * first py-heap new memory: on these machines its first touch costs more
 * than computing the class twice). */
static struct remora_error *classing_run(struct classing *c,
					 const struct remora_idset *set,
					 enum remora_classifier by, bool lazy)
{
	const struct remora_snapshot *snap = set->snap;
	c->by = by;
	bool keep = !(lazy && class_is_direct(by));
	c->cls_of = keep ? remora_big_alloc(set->count, sizeof(*c->cls_of)) : NULL;
	if (keep && !c->cls_of)
		return &remora_error_no_memory;
	switch (by) {
	case REMORA_BY_CLODO: c->nclasses = 2 * (uint64_t)snap->type_count + 1; break;
	case REMORA_BY_TYPE: c->nclasses = snap->type_count; break;
	case REMORA_BY_VIA:
	case REMORA_BY_RCS: {
		struct remora_error *err = byrel_classify(set, by, c->cls_of, &c->rel);
		if (err)
			return err;
		c->nclasses = byrel_class_count(c->rel);
		return NULL;
	}
	case REMORA_BY_ID:
	case REMORA_BY_MODULE:
		c->ids = malloc((set->count + 1) * sizeof(*c->ids));
		if (!c->ids)
			return &remora_error_no_memory;
		c->nclasses = by == REMORA_BY_ID ? set->count : 1;
		c->ids[0] = REMORA_NO_NODE;
		break;
	case REMORA_BY_SIZE: c->nclasses = 0; break; /* known after the scan */
	default: c->nclasses = 1; break;
	}
	if (!keep)
		return NULL;
	struct remora_idset_iter it;
	uint32_t id;
	uint64_t k = 0;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id)) {
		uint32_t cls;
		switch (by) {
		case REMORA_BY_CLODO: cls = partition_clodo_class(snap, id); break;
		case REMORA_BY_TYPE: cls = snap->type[id]; break;
		case REMORA_BY_SIZE: {
			struct remora_error *err = size_classes_get(&c->sc, snap->size[id], &cls);
			if (err)
				return err;
			break;
		}
		case REMORA_BY_ID:
			cls = (uint32_t)k;
			c->ids[k] = id;
			break;
		case REMORA_BY_MODULE:
			cls = 0;
			if (partition_is_module(snap, id)) {
				cls = (uint32_t)c->nclasses++;
				c->ids[cls] = id;
			}
			break;
		default: cls = 0; break;
		}
		c->cls_of[k++] = cls;
	}
	if (by == REMORA_BY_SIZE)
		c->nclasses = c->sc.count;
	return NULL;
}

/* The label of class cls; in_and: as a part of a combined label. */
static void classing_label(const struct classing *c,
			   const struct remora_snapshot *snap, uint32_t cls,
			   bool in_and, struct via_text *out)
{
	const char *text = NULL;
	switch (c->by) {
	case REMORA_BY_CLODO:
		if (cls == 2 * snap->type_count) {
			text = "dict (no owner)";
		} else if (cls % 2 == 0) {
			text = snap->types[cls / 2].display;
		} else {
			via_text_printf(out, "dict of %s", snap->types[cls / 2].display);
			return;
		}
		break;
	case REMORA_BY_TYPE:
		text = snap->types[cls].display;
		break;
	case REMORA_BY_SIZE:
		via_text_printf(out, in_and ? "%" PRIu64 : "%9" PRIu64, c->sc.sizes[cls]);
		return;
	case REMORA_BY_VIA:
	case REMORA_BY_RCS:
		byrel_label(c->rel, cls, in_and, out);
		return;
	case REMORA_BY_ID: {
		/* the object's value where the snapshot has one (a str's or
		 * an int's repr); heapy's other renderings need more than
		 * the engine keeps and are made by the gdb package */
		uint32_t id = c->ids[cls];
		uint32_t t = snap->type[id];
		if (t != REMORA_NO_NODE &&
		    (t == snap->str_type || t == snap->int_type || t == snap->bool_type)) {
			size_t n;
			remora_snapshot_node_repr(snap, id, &n);
			if (n || t == snap->str_type)
				via_text_object(out, snap, id, false);
		}
		return;
	}
	case REMORA_BY_MODULE:
		if (cls == 0)
			text = "~module";
		else
			via_text_module_name(out, snap, c->ids[cls]);
		break;
	case REMORA_BY_UNITY:
		text = "<Anything>";
		break;
	}
	if (text)
		via_text_put(out, text, strlen(text));
}

/* A row label rendered into the partition's label arena (row->label is
 * set once the arena stops moving: partition_fix_labels()): the text of
 * each part, joined by " & " for a combined classifier. */
static struct remora_error *partition_label(struct remora_partition *part,
					    const struct classing *cs, size_t n,
					    const uint32_t *tuple,
					    struct remora_partition_row *row)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct via_text t;
		via_text_init(&t, part->labels + part->labels_len,
			      part->labels_cap - part->labels_len);
		for (size_t i = 0; i < n; i++) {
			if (i)
				via_text_put(&t, " & ", 3);
			classing_label(&cs[i], part->snap, tuple[i], n > 1, &t);
		}
		if (part->labels_len + t.len < part->labels_cap) {
			row->label_off = part->labels_len;
			part->labels_len += t.len + 1;
			return NULL;
		}
		size_t cap = part->labels_cap ? part->labels_cap * 2 : 1 << 16;
		while (cap < part->labels_len + t.len + 1)
			cap *= 2;
		char *labels = realloc(part->labels, cap);
		if (!labels)
			return &remora_error_no_memory;
		part->labels = labels;
		part->labels_cap = cap;
	}
	return &remora_error_no_memory; /* not reached: the second fits */
}

static void partition_fix_labels(struct remora_partition *part)
{
	for (size_t r = 0; r < part->num_rows; r++)
		part->rows[r].label = part->labels + part->rows[r].label_off;
}

/* Row order (invariant 2); byid rows of two ints compare by value, as
 * heapy sorts a size group by the objects themselves.  ctx: the byid
 * classing, or NULL. */
struct row_order {
	const struct remora_snapshot *snap;
	const struct classing *byid;
};

static int partition_compare_rows(const void *pa, const void *pb, void *ctx)
{
	const struct remora_partition_row *a = pa, *b = pb;
	const struct row_order *order = ctx;
	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	if (order->byid) {
		const struct remora_snapshot *snap = order->snap;
		uint32_t ia = order->byid->ids[a->cls], ib = order->byid->ids[b->cls];
		uint32_t ta = snap->type[ia], tb = snap->type[ib];
		if (ta == tb && ta == snap->int_type && a->label[0] && b->label[0]) {
			long long va = strtoll(a->label, NULL, 10);
			long long vb = strtoll(b->label, NULL, 10);
			if (va != vb)
				return va < vb ? -1 : 1;
		}
	}
	int c = strcmp(a->label, b->label);
	if (c)
		return c;
	return (a->cls > b->cls) - (a->cls < b->cls);
}

static const char *const and_headers[] = {
	[REMORA_BY_CLODO] = "Kind (class / dict of class)",
	[REMORA_BY_TYPE] = "Type",
	[REMORA_BY_SIZE] = "Individual Size",
	[REMORA_BY_UNITY] = "<unclassified>",
	[REMORA_BY_VIA] = "{Referred Via}",
	[REMORA_BY_RCS] = "{Referrers by Kind (class / dict of class)}",
	[REMORA_BY_ID] = "Identity",
	[REMORA_BY_MODULE] = "Module",
};

/* Tuples of classes -> combined class, for combined classifiers: an
 * open-addressing table of tuple hashes (at most half full), each slot
 * heading a chain (next[]) of the classes whose tuples have that hash. */
struct tuple_classes {
	uint64_t *hkeys;
	uint32_t *heads;           /* UINT32_MAX: empty slot */
	uint64_t mask;
	uint64_t used;
	uint32_t *tuples;          /* [count * n] */
	uint32_t *next;            /* [count] */
	uint32_t count, cap;
};

static uint64_t tuple_hash(const uint32_t *t, size_t n)
{
	uint64_t h = UINT64_C(0x9e3779b97f4a7c15);
	for (size_t i = 0; i < n; i++)
		h = (h ^ t[i]) * UINT64_C(0x100000001b3);
	return h ^ h >> 29;
}

static void tuple_classes_deinit(struct tuple_classes *tc)
{
	free(tc->hkeys);
	free(tc->heads);
	free(tc->tuples);
	free(tc->next);
}

static bool tuple_classes_grow(struct tuple_classes *tc)
{
	uint64_t cap = tc->hkeys ? (tc->mask + 1) * 2 : 256;
	uint64_t *hkeys = malloc(cap * sizeof(*hkeys));
	uint32_t *heads = malloc(cap * sizeof(*heads));
	if (!hkeys || !heads) {
		free(hkeys);
		free(heads);
		return false;
	}
	memset(heads, 0xff, cap * sizeof(*heads));
	for (uint64_t i = 0; tc->hkeys && i <= tc->mask; i++) {
		if (tc->heads[i] == UINT32_MAX)
			continue;
		uint64_t s = tc->hkeys[i] & (cap - 1);
		while (heads[s] != UINT32_MAX)
			s = (s + 1) & (cap - 1);
		hkeys[s] = tc->hkeys[i];
		heads[s] = tc->heads[i];
	}
	free(tc->hkeys);
	free(tc->heads);
	tc->hkeys = hkeys;
	tc->heads = heads;
	tc->mask = cap - 1;
	return true;
}

static struct remora_error *tuple_classes_get(struct tuple_classes *tc,
					      const uint32_t *t, size_t n,
					      uint32_t *ret)
{
	if ((tc->used + 1) * 2 > (tc->hkeys ? tc->mask + 1 : 0) &&
	    !tuple_classes_grow(tc))
		return &remora_error_no_memory;
	uint64_t h = tuple_hash(t, n);
	uint64_t s = h & tc->mask;
	while (tc->heads[s] != UINT32_MAX && tc->hkeys[s] != h)
		s = (s + 1) & tc->mask;
	for (uint32_t c = tc->heads[s]; c != UINT32_MAX; c = tc->next[c]) {
		if (!memcmp(tc->tuples + (uint64_t)c * n, t, n * sizeof(*t))) {
			*ret = c;
			return NULL;
		}
	}
	if (tc->count == tc->cap) {
		uint32_t cap = tc->cap ? tc->cap * 2 : 256;
		uint32_t *tu = realloc(tc->tuples, (uint64_t)cap * n * sizeof(*tu));
		if (tu)
			tc->tuples = tu;
		uint32_t *nx = realloc(tc->next, cap * sizeof(*nx));
		if (nx)
			tc->next = nx;
		if (!tu || !nx)
			return &remora_error_no_memory;
		tc->cap = cap;
	}
	uint32_t c = tc->count++;
	memcpy(tc->tuples + (uint64_t)c * n, t, n * sizeof(*t));
	if (tc->heads[s] == UINT32_MAX) {
		tc->hkeys[s] = h;
		tc->used++;
	}
	tc->next[c] = tc->heads[s];
	tc->heads[s] = c;
	*ret = c;
	return NULL;
}

static struct remora_error *partition_create_n(const struct remora_idset *set,
					       const enum remora_classifier *by,
					       size_t n,
					       struct remora_partition **ret)
{
	if (n < 1 || n > REMORA_PARTITION_AND_MAX)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "a combined classifier has 2 to %d parts, not %zu",
					   REMORA_PARTITION_AND_MAX, n);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)by[i] > REMORA_BY_MODULE)
			return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
						   "unknown classifier %d", (int)by[i]);
	}
	const struct remora_snapshot *snap = set->snap;
	struct remora_error *err = NULL;
	struct classing cs[REMORA_PARTITION_AND_MAX] = { 0 };
	struct tuple_classes tc = { 0 };
	uint64_t *class_count = NULL, *class_size = NULL;
	uint32_t *rank = NULL, *combined = NULL;
	uint64_t *next = NULL;
	char *header = NULL;

	struct remora_partition *part = calloc(1, sizeof(*part));
	if (!part)
		return &remora_error_no_memory;
	part->snap = snap;
	part->by = by[0];
	part->labels_cap = 1 << 16;
	part->labels = malloc(part->labels_cap);
	if (!part->labels) {
		free(part);
		return &remora_error_no_memory;
	}
	part->count = set->count;
	part->size = set->size;
	for (size_t i = 0; i < n; i++) {
		err = classing_run(&cs[i], set, by[i], n == 1);
		if (err)
			goto out;
	}
	if (n == 1) {
		part->header = partition_headers[by[0]];
	} else {
		size_t len = 0;
		for (size_t i = 0; i < n; i++)
			len += strlen(and_headers[by[i]]) + 3;
		header = malloc(len + 1);
		if (!header) {
			err = &remora_error_no_memory;
			goto out;
		}
		header[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			if (i)
				strcat(header, " & ");
			strcat(header, and_headers[by[i]]);
		}
		part->header = part->owned_header = header;
		header = NULL;
	}

	/* The classes: the classifier's own, or interned tuples of them. */
	uint32_t *cls_of = cs[0].cls_of;
	uint64_t nclasses = cs[0].nclasses;
	if (n > 1) {
		combined = remora_big_alloc(set->count, sizeof(*combined));
		if (!combined) {
			err = &remora_error_no_memory;
			goto out;
		}
		for (uint64_t k = 0; k < set->count; k++) {
			uint32_t t[REMORA_PARTITION_AND_MAX];
			for (size_t i = 0; i < n; i++)
				t[i] = cs[i].cls_of[k];
			uint32_t c;
			err = tuple_classes_get(&tc, t, n, &c);
			if (err)
				goto out;
			combined[k] = c;
		}
		cls_of = combined;
		nclasses = tc.count;
	}

	class_count = calloc(nclasses ? nclasses : 1, sizeof(*class_count));
	class_size = calloc(nclasses ? nclasses : 1, sizeof(*class_size));
	rank = malloc((nclasses ? nclasses : 1) * sizeof(*rank));
	if (!class_count || !class_size || !rank) {
		err = &remora_error_no_memory;
		goto out;
	}
	struct remora_idset_iter it;
	uint32_t id;
	uint64_t k = 0;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id)) {
		uint32_t c = cls_of ? cls_of[k] : class_direct(snap, by[0], id);
		class_count[c]++;
		class_size[c] += snap->size[id];
		k++;
	}

	/* Rows, in heapy's order (invariant 2). */
	size_t nrows = 0;
	for (uint64_t c = 0; c < nclasses; c++)
		nrows += class_count[c] != 0;
	part->rows = calloc(nrows ? nrows : 1, sizeof(*part->rows));
	if (!part->rows) {
		err = &remora_error_no_memory;
		goto out;
	}
	for (uint64_t c = 0; c < nclasses; c++) {
		if (!class_count[c])
			continue;
		struct remora_partition_row *row = &part->rows[part->num_rows++];
		row->cls = (uint32_t)c;
		row->count = class_count[c];
		row->size = class_size[c];
		uint32_t one = (uint32_t)c;
		err = partition_label(part, cs, n,
				      n > 1 ? tc.tuples + c * n : &one, row);
		if (err)
			goto out;
	}
	partition_fix_labels(part);
	struct row_order order = {
		.snap = snap,
		.byid = n == 1 && by[0] == REMORA_BY_ID ? &cs[0] : NULL,
	};
	qsort_r(part->rows, nrows, sizeof(*part->rows), partition_compare_rows, &order);

	/* Scan 2: place the members (invariant 3). */
	next = malloc((nrows ? nrows : 1) * sizeof(*next));
	part->members = remora_big_alloc(set->count, sizeof(*part->members));
	if (!next || !part->members) {
		err = &remora_error_no_memory;
		goto out;
	}
	uint64_t first = 0, cumulative = 0;
	for (size_t r = 0; r < nrows; r++) {
		cumulative += part->rows[r].size;
		part->rows[r].cumulative = cumulative;
		rank[part->rows[r].cls] = (uint32_t)r;
		part->rows[r].first = first;
		next[r] = first;
		first += part->rows[r].count;
	}
	k = 0;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id)) {
		uint32_t c = cls_of ? cls_of[k] : class_direct(snap, by[0], id);
		part->members[next[rank[c]]++] = id;
		k++;
	}

	/* byvia / byrcs rows keep their kinds' atoms for selection */
	if (n == 1 && cs[0].rel) {
		part->rel = cs[0].rel;
		cs[0].rel = NULL;
	}

out:
	free(next);
	free(rank);
	free(class_size);
	free(class_count);
	remora_big_free(combined);
	free(header);
	tuple_classes_deinit(&tc);
	for (size_t i = 0; i < n; i++)
		classing_deinit(&cs[i]);
	if (err) {
		remora_partition_destroy(part);
		return err;
	}
	*ret = part;
	return NULL;
}

struct remora_error *remora_partition_create(const struct remora_idset *set,
					     enum remora_classifier by,
					     struct remora_partition **ret)
{
	return partition_create_n(set, &by, 1, ret);
}

struct remora_error *remora_partition_create_and(const struct remora_idset *set,
						 const enum remora_classifier *by,
						 size_t n,
						 struct remora_partition **ret)
{
	if (n < 2)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "a combined classifier has 2 to %d parts, not %zu",
					   REMORA_PARTITION_AND_MAX, n);
	return partition_create_n(set, by, n, ret);
}

void remora_partition_destroy(struct remora_partition *part)
{
	if (!part)
		return;
	free(part->labels);
	free(part->rows);
	remora_big_free(part->members);
	free(part->owned_header);
	byrel_destroy(part->rel);
	free(part);
}

const char *remora_partition_header(const struct remora_partition *part)
{
	return part->header;
}

uint64_t remora_partition_count(const struct remora_partition *part)
{
	return part->count;
}

uint64_t remora_partition_size(const struct remora_partition *part)
{
	return part->size;
}

size_t remora_partition_num_rows(const struct remora_partition *part)
{
	return part->num_rows;
}

const char *remora_partition_row_label(const struct remora_partition *part,
				       size_t row)
{
	return row < part->num_rows ? part->rows[row].label : NULL;
}

uint64_t remora_partition_row_count(const struct remora_partition *part,
				    size_t row)
{
	return row < part->num_rows ? part->rows[row].count : 0;
}

uint64_t remora_partition_row_size(const struct remora_partition *part,
				   size_t row)
{
	return row < part->num_rows ? part->rows[row].size : 0;
}

uint64_t remora_partition_row_cumulative(const struct remora_partition *part,
					 size_t row)
{
	return row < part->num_rows ? part->rows[row].cumulative : 0;
}

struct remora_error *remora_partition_row_set(const struct remora_partition *part,
					      size_t row,
					      struct remora_idset **ret)
{
	if (row >= part->num_rows)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "row %zu out of range (the partition has %zu rows)",
					   row, part->num_rows);
	const struct remora_partition_row *r = &part->rows[row];
	return remora_idset_create_sorted(part->snap, part->members + r->first,
					  r->count, ret);
}

uint32_t remora_partition_row_atom_count(const struct remora_partition *part,
					 size_t row)
{
	if (!part->rel || row >= part->num_rows)
		return 0;
	const uint32_t *atoms;
	uint32_t n;
	byrel_class_atoms(part->rel, part->rows[row].cls, &atoms, &n);
	return n;
}

const char *remora_partition_row_atom(const struct remora_partition *part,
				      size_t row, uint32_t i)
{
	if (!part->rel || row >= part->num_rows)
		return NULL;
	const uint32_t *atoms;
	uint32_t n;
	byrel_class_atoms(part->rel, part->rows[row].cls, &atoms, &n);
	return i < n ? byrel_atom_text(part->rel, atoms[i]) : NULL;
}

struct remora_error *remora_partition_select(const struct remora_partition *part,
					     const uint8_t *flags,
					     struct remora_idset **ret)
{
	uint64_t n = 0;
	for (size_t r = 0; r < part->num_rows; r++)
		n += flags[r] ? part->rows[r].count : 0;
	uint32_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	if (!ids)
		return &remora_error_no_memory;
	uint64_t k = 0;
	for (size_t r = 0; r < part->num_rows; r++) {
		if (!flags[r])
			continue;
		memcpy(ids + k, part->members + part->rows[r].first,
		       part->rows[r].count * sizeof(*ids));
		k += part->rows[r].count;
	}
	struct remora_error *err = remora_idset_create_from_ids(part->snap, ids, n, ret);
	free(ids);
	return err;
}

static int compare_atoms(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	return (a > b) - (a < b);
}

/* Whether every atom of a[0..na) is in b[0..nb) (both sorted). */
static bool atoms_subset(const uint32_t *a, uint32_t na, const uint32_t *b,
			 uint32_t nb)
{
	uint32_t j = 0;
	for (uint32_t i = 0; i < na; i++) {
		while (j < nb && b[j] < a[i])
			j++;
		if (j == nb || b[j] != a[i])
			return false;
	}
	return true;
}

struct remora_error *remora_partition_select_kind(const struct remora_partition *part,
						  const char *const *atoms, size_t n,
						  const char *op,
						  struct remora_idset **ret)
{
	static const char *const ops[] = { "==", "!=", "<", "<=", ">", ">=" };
	size_t o = 0;
	while (o < 6 && strcmp(op, ops[o]))
		o++;
	if (!part->rel || o == 6)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   part->rel ? "no comparison %s" :
					   "selection by kind needs a byvia or byrcs partition",
					   op);
	/* the kind's atoms as this partition numbers them; unknown ones (no
	 * member had them) count, and match nothing */
	uint32_t *want = malloc((n ? n : 1) * sizeof(*want));
	uint8_t *flags = calloc(part->num_rows ? part->num_rows : 1, 1);
	struct remora_error *err = NULL;
	if (!want || !flags) {
		err = &remora_error_no_memory;
		goto out;
	}
	uint32_t known = 0, unknown = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t a = byrel_atom_find(part->rel, atoms[i]);
		if (a == UINT32_MAX)
			unknown++;
		else
			want[known++] = a;
	}
	qsort(want, known, sizeof(*want), compare_atoms);
	uint32_t k = 0;
	for (uint32_t i = 0; i < known; i++) {
		if (!k || want[k - 1] != want[i])
			want[k++] = want[i];
	}
	known = k;
	for (size_t r = 0; r < part->num_rows; r++) {
		const uint32_t *have;
		uint32_t nh;
		byrel_class_atoms(part->rel, part->rows[r].cls, &have, &nh);
		bool sub = atoms_subset(have, nh, want, known);        /* row <= kind */
		bool super = !unknown && atoms_subset(want, known, have, nh); /* row >= kind */
		bool eq = sub && super;
		bool hit;
		switch (o) {
		case 0: hit = eq; break;
		case 1: hit = !eq; break;
		case 2: hit = sub && !eq; break;
		case 3: hit = sub; break;
		case 4: hit = super && !eq; break;
		default: hit = super; break;
		}
		flags[r] = hit;
	}
	err = remora_partition_select(part, flags, ret);
out:
	free(flags);
	free(want);
	return err;
}
