/* test_idset.c — id set algebra, checked against a plain boolean model on
 * random sets of every density (so both representations, and every mix of
 * them, meet every operation).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"
#include "snapshot.h"
#include "unit.h"

enum { N = 2000 };

static struct remora_snapshot *snap;
static struct remora_snapshot *other_snap;

/* GIVEN a snapshot of N objects, object i of size i % 97 + 1. */
static struct remora_snapshot *open_fixture(const char *name, uint32_t n)
{
	struct unit_writer u;
	unit_writer_begin(&u, name);
	unit_type(&u, 0x10, "int", "builtins");
	for (uint32_t i = 0; i < n; i++)
		unit_node(&u, 0x10000 + (uint64_t)i * 32, 0x10, i % 97 + 1, NULL);
	struct remora_snapshot *s = NULL;
	struct remora_error *err = remora_snapshot_open(unit_writer_end(&u, 0), &s);
	if (err) {
		fprintf(stderr, "%s\n", remora_error_message(err));
		exit(99);
	}
	return s;
}

static uint64_t size_of(uint32_t id)
{
	return id % 97 + 1;
}

static struct remora_idset *make_set(const bool *model)
{
	uint32_t *ids = malloc(2 * N * sizeof(*ids));
	size_t n = 0;
	/* descending with duplicates: create_from_ids must sort and dedup */
	for (uint32_t i = N; i-- > 0;) {
		if (model[i]) {
			ids[n++] = i;
			if (i % 5 == 0)
				ids[n++] = i;
		}
	}
	struct remora_idset *set = NULL;
	struct remora_error *err = remora_idset_create_from_ids(snap, ids, n, &set);
	CU_ASSERT_PTR_NULL_FATAL(err);
	free(ids);
	return set;
}

static void random_model(bool *model, int density_permille)
{
	for (uint32_t i = 0; i < N; i++)
		model[i] = rand() % 1000 < density_permille;
}

/* The set equals the model: membership, count, size, ids() in order. */
static bool set_matches(const struct remora_idset *set, const bool *model)
{
	uint64_t count = 0, size = 0;
	for (uint32_t i = 0; i < N; i++) {
		if (remora_idset_contains(set, i) != model[i])
			return false;
		if (model[i]) {
			count++;
			size += size_of(i);
		}
	}
	if (remora_idset_count(set) != count || remora_idset_size(set) != size)
		return false;
	if (remora_idset_contains(set, N) || remora_idset_contains(set, UINT32_MAX))
		return false;
	/* page through ids() 7 at a time */
	uint32_t buf[7];
	uint64_t start = 0;
	uint32_t expect = 0;
	for (;;) {
		size_t got = remora_idset_ids(set, start, buf, 7);
		if (got == 0)
			break;
		for (size_t k = 0; k < got; k++) {
			while (expect < N && !model[expect])
				expect++;
			if (buf[k] != expect)
				return false;
			expect++;
		}
		start += got;
	}
	if (start != count)
		return false;
	/* invariant 1: the representation fits the count */
	return set->words ? !(count == 0 || count < N / 32) : (count == 0 || count < N / 32);
}

static void test_create(void)
{
	struct remora_idset *all = NULL, *empty = NULL, *bad = NULL;
	CU_ASSERT_PTR_NULL(remora_idset_create_all(snap, &all));
	CU_ASSERT_PTR_NULL(remora_idset_create_empty(snap, &empty));
	bool model[N];
	memset(model, 1, sizeof(model));
	CU_ASSERT(set_matches(all, model));
	memset(model, 0, sizeof(model));
	CU_ASSERT(set_matches(empty, model));
	CU_ASSERT_PTR_EQUAL(remora_idset_snapshot(all), snap);

	const uint32_t ids[] = { 3, N };
	struct remora_error *err = remora_idset_create_from_ids(snap, ids, 2, &bad);
	CU_ASSERT_PTR_NOT_NULL(err);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	remora_error_destroy(err);
	remora_idset_destroy(all);
	remora_idset_destroy(empty);
	remora_idset_destroy(NULL);
}

static void test_algebra(void)
{
	/* densities from empty to full, so arrays and bitsets mix */
	static const int densities[] = { 0, 1, 10, 30, 100, 500, 900, 1000 };
	enum { ND = sizeof(densities) / sizeof(densities[0]) };
	srand(42);
	int checked = 0;
	for (int round = 0; round < 3; round++) {
		for (int da = 0; da < ND; da++) {
			for (int db = 0; db < ND; db++) {
				bool a[N], b[N], want[N];
				random_model(a, densities[da]);
				random_model(b, densities[db]);
				struct remora_idset *sa = make_set(a), *sb = make_set(b);
				CU_ASSERT(set_matches(sa, a));
				CU_ASSERT(set_matches(sb, b));
				for (int op = 0; op < 5; op++) {
					struct remora_idset *r = NULL;
					struct remora_error *err;
					for (uint32_t i = 0; i < N; i++) {
						switch (op) {
						case 0: want[i] = a[i] || b[i]; break;
						case 1: want[i] = a[i] && b[i]; break;
						case 2: want[i] = a[i] && !b[i]; break;
						case 3: want[i] = a[i] != b[i]; break;
						default: want[i] = !a[i]; break;
						}
					}
					switch (op) {
					case 0: err = remora_idset_create_union(sa, sb, &r); break;
					case 1: err = remora_idset_create_intersection(sa, sb, &r); break;
					case 2: err = remora_idset_create_difference(sa, sb, &r); break;
					case 3: err = remora_idset_create_symmetric_difference(sa, sb, &r); break;
					default: err = remora_idset_create_complement(sa, &r); break;
					}
					CU_ASSERT_PTR_NULL_FATAL(err);
					if (!set_matches(r, want)) {
						fprintf(stderr, "\nop %d densities %d/%d\n", op,
							densities[da], densities[db]);
						CU_FAIL("set operation");
					}
					checked++;
					remora_idset_destroy(r);
				}
				/* subset and equality */
				bool sub = true, eq = true;
				for (uint32_t i = 0; i < N; i++) {
					sub &= !a[i] || b[i];
					eq &= a[i] == b[i];
				}
				CU_ASSERT_EQUAL(remora_idset_subset(sa, sb), sub);
				CU_ASSERT_EQUAL(remora_idset_equal(sa, sb), eq);
				CU_ASSERT(remora_idset_equal(sa, sa));
				CU_ASSERT(remora_idset_subset(sa, sa));
				remora_idset_destroy(sa);
				remora_idset_destroy(sb);
			}
		}
	}
	CU_ASSERT_EQUAL(checked, 3 * ND * ND * 5);
}

static void test_identities(void)
{
	/* (a | b) - (a & b) == a ^ b, and ~~a == a, across representations */
	bool a[N], b[N];
	srand(9);
	random_model(a, 20);
	random_model(b, 600);
	struct remora_idset *sa = make_set(a), *sb = make_set(b);
	struct remora_idset *u = NULL, *i = NULL, *d = NULL, *x = NULL, *c = NULL,
			    *cc = NULL;
	CU_ASSERT_PTR_NULL(remora_idset_create_union(sa, sb, &u));
	CU_ASSERT_PTR_NULL(remora_idset_create_intersection(sa, sb, &i));
	CU_ASSERT_PTR_NULL(remora_idset_create_difference(u, i, &d));
	CU_ASSERT_PTR_NULL(remora_idset_create_symmetric_difference(sb, sa, &x));
	CU_ASSERT(remora_idset_equal(d, x));
	CU_ASSERT(remora_idset_equal(x, d));
	CU_ASSERT(remora_idset_subset(i, sa) && remora_idset_subset(sa, u));
	CU_ASSERT_PTR_NULL(remora_idset_create_complement(sa, &c));
	CU_ASSERT_PTR_NULL(remora_idset_create_complement(c, &cc));
	CU_ASSERT(remora_idset_equal(cc, sa));
	CU_ASSERT(!remora_idset_equal(c, sa));
	CU_ASSERT_EQUAL(remora_idset_count(c) + remora_idset_count(sa), N);
	struct remora_idset *sets[] = { sa, sb, u, i, d, x, c, cc };
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++)
		remora_idset_destroy(sets[k]);
}

static void test_different_snapshots(void)
{
	/* GIVEN sets of two snapshots THEN algebra refuses, equality is false */
	struct remora_idset *a = NULL, *b = NULL, *r = NULL;
	CU_ASSERT_PTR_NULL(remora_idset_create_all(snap, &a));
	CU_ASSERT_PTR_NULL(remora_idset_create_all(other_snap, &b));
	struct remora_error *err = remora_idset_create_union(a, b, &r);
	CU_ASSERT_PTR_NOT_NULL(err);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	remora_error_destroy(err);
	CU_ASSERT(!remora_idset_equal(a, b));
	CU_ASSERT(!remora_idset_subset(a, b));
	remora_idset_destroy(a);
	remora_idset_destroy(b);
}

static void test_iteration(void)
{
	/* the internal iterator visits members in ascending order */
	bool model[N];
	srand(3);
	random_model(model, 700);
	struct remora_idset *set = make_set(model);
	struct remora_idset_iter it;
	uint32_t id, expect = 0;
	uint64_t seen = 0;
	bool ok = true;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id)) {
		while (!model[expect])
			expect++;
		ok &= id == expect++;
		seen++;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(seen, remora_idset_count(set));
	remora_idset_destroy(set);
}

int main(void)
{
	snap = open_fixture("idset.remora", N);
	other_snap = open_fixture("idset2.remora", N);
	static const struct unit_test tests[] = {
		{ "create", test_create },
		{ "algebra against a model", test_algebra },
		{ "identities", test_identities },
		{ "sets of different snapshots", test_different_snapshots },
		{ "iteration", test_iteration },
		{ NULL, NULL },
	};
	int status = unit_run("idset", tests);
	remora_snapshot_destroy(snap);
	remora_snapshot_destroy(other_snap);
	return status;
}
