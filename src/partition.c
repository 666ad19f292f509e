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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "idset.h"
#include "snapshot.h"

static const char *const partition_headers[] = {
	[REMORA_BY_CLODO] = "Kind (class / dict of class)",
	[REMORA_BY_TYPE] = "Type",
	[REMORA_BY_SIZE] = "Individual Size",
	[REMORA_BY_UNITY] = "<unclassified>",
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

static struct remora_error *partition_label(struct remora_partition *part,
					    const struct size_classes *sc,
					    struct remora_partition_row *row)
{
	const struct remora_snapshot *snap = part->snap;
	int r = 0;
	switch (part->by) {
	case REMORA_BY_CLODO:
		if (row->cls == 2 * snap->type_count)
			row->label = "dict (no owner)";
		else if (row->cls % 2 == 0)
			row->label = snap->types[row->cls / 2].display;
		else
			r = asprintf(&row->owned_label, "dict of %s",
				     snap->types[row->cls / 2].display);
		break;
	case REMORA_BY_TYPE:
		row->label = snap->types[row->cls].display;
		break;
	case REMORA_BY_SIZE:
		r = asprintf(&row->owned_label, "%9" PRIu64, sc->sizes[row->cls]);
		break;
	case REMORA_BY_UNITY:
		row->label = "<Anything>";
		break;
	}
	if (r < 0) {
		row->owned_label = NULL;
		return &remora_error_no_memory;
	}
	if (row->owned_label)
		row->label = row->owned_label;
	return NULL;
}

static int partition_compare_rows(const void *pa, const void *pb)
{
	const struct remora_partition_row *a = pa, *b = pb;
	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	int c = strcmp(a->label, b->label);
	if (c)
		return c;
	return (a->cls > b->cls) - (a->cls < b->cls);
}

struct remora_error *remora_partition_create(const struct remora_idset *set,
					     enum remora_classifier by,
					     struct remora_partition **ret)
{
	if ((unsigned)by > REMORA_BY_UNITY)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "unknown classifier %d", (int)by);
	const struct remora_snapshot *snap = set->snap;
	struct remora_error *err = NULL;
	struct size_classes sc = { 0 };
	uint64_t *class_count = NULL, *class_size = NULL;
	uint32_t *rank = NULL;
	uint64_t *next = NULL;

	struct remora_partition *part = calloc(1, sizeof(*part));
	uint32_t *cls_of = malloc((set->count ? set->count : 1) * sizeof(*cls_of));
	if (!part || !cls_of) {
		err = &remora_error_no_memory;
		goto out;
	}
	part->snap = snap;
	part->by = by;
	part->header = partition_headers[by];
	part->count = set->count;
	part->size = set->size;

	uint64_t nclasses;
	switch (by) {
	case REMORA_BY_CLODO: nclasses = 2 * (uint64_t)snap->type_count + 1; break;
	case REMORA_BY_TYPE: nclasses = snap->type_count; break;
	case REMORA_BY_SIZE: nclasses = 0; break; /* known after the scan */
	default: nclasses = 1; break;
	}

	/* Scan 1: classify. */
	struct remora_idset_iter it;
	uint32_t id;
	uint64_t k = 0;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id)) {
		uint32_t cls;
		switch (by) {
		case REMORA_BY_CLODO: cls = partition_clodo_class(snap, id); break;
		case REMORA_BY_TYPE: cls = snap->type[id]; break;
		case REMORA_BY_SIZE:
			err = size_classes_get(&sc, snap->size[id], &cls);
			if (err)
				goto out;
			break;
		default: cls = 0; break;
		}
		cls_of[k++] = cls;
	}
	if (by == REMORA_BY_SIZE)
		nclasses = sc.count;

	class_count = calloc(nclasses ? nclasses : 1, sizeof(*class_count));
	class_size = calloc(nclasses ? nclasses : 1, sizeof(*class_size));
	rank = malloc((nclasses ? nclasses : 1) * sizeof(*rank));
	if (!class_count || !class_size || !rank) {
		err = &remora_error_no_memory;
		goto out;
	}
	k = 0;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id)) {
		class_count[cls_of[k]]++;
		class_size[cls_of[k]] += snap->size[id];
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
		err = partition_label(part, &sc, row);
		if (err)
			goto out;
	}
	qsort(part->rows, nrows, sizeof(*part->rows), partition_compare_rows);

	/* Scan 2: place the members (invariant 3). */
	next = malloc((nrows ? nrows : 1) * sizeof(*next));
	part->members = malloc((set->count ? set->count : 1) * sizeof(*part->members));
	if (!next || !part->members) {
		err = &remora_error_no_memory;
		goto out;
	}
	uint64_t first = 0;
	for (size_t r = 0; r < nrows; r++) {
		rank[part->rows[r].cls] = (uint32_t)r;
		part->rows[r].first = first;
		next[r] = first;
		first += part->rows[r].count;
	}
	k = 0;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id))
		part->members[next[rank[cls_of[k++]]]++] = id;

out:
	free(next);
	free(rank);
	free(class_size);
	free(class_count);
	free(cls_of);
	size_classes_deinit(&sc);
	if (err) {
		remora_partition_destroy(part);
		return err;
	}
	*ret = part;
	return NULL;
}

void remora_partition_destroy(struct remora_partition *part)
{
	if (!part)
		return;
	for (size_t r = 0; r < part->num_rows; r++)
		free(part->rows[r].owned_label);
	free(part->rows);
	free(part->members);
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
