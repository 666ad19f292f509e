/* test_partition.c — heapy's partitions on a hand-built heap: labels,
 * headers, counts, sizes and row order for byclodo, bytype, bysize and
 * byunity, and the row sets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"
#include "partition.h"
#include "snapshot.h"
#include "unit.h"

enum {
	T_TYPE = 0x10, T_DICT = 0x20, T_STR = 0x30, T_MOD = 0x40, T_FUNC = 0x50,
	T_FOO = 0x60, T_BAR = 0x70, T_CODE = 0x80, T_ODICT = 0x90,
};

static struct remora_snapshot *snap;

static void owned(struct unit_writer *u, uint64_t owner, uint64_t owner_type,
		  uint64_t owner_size, enum remora_field field, uint64_t dict,
		  uint64_t dict_size)
{
	unit_node(u, owner, owner_type, owner_size, NULL);
	unit_edge(u, dict, remora_via(REMORA_VIA_FIELD, field));
	unit_node(u, dict, T_DICT, dict_size, NULL);
}

/* GIVEN classes Foo and Bar with their namespace dicts, two modules and
 * their dicts, three Foo and two Bar instances with __dict__s (one Bar's
 * "__dict__" is an OrderedDict, which is no dict), two unowned dicts, five
 * strs, two functions and a code object: 28 objects, 10376 bytes. */
static struct remora_snapshot *open_fixture(void)
{
	struct unit_writer u;
	unit_writer_begin(&u, "part.remora");
	unit_type(&u, T_TYPE, "type", "builtins");
	unit_type(&u, T_DICT, "dict", "builtins");
	unit_type(&u, T_STR, "str", "builtins");
	unit_type(&u, T_MOD, "module", "builtins");
	unit_type(&u, T_FUNC, "function", "builtins");
	unit_type(&u, T_FOO, "Foo", "__main__");
	unit_type(&u, T_BAR, "Bar", "__main__");
	unit_type(&u, T_CODE, "code", "builtins");
	unit_type(&u, T_ODICT, "OrderedDict", "collections");
	owned(&u, T_FOO, T_TYPE, 1064, REMORA_FIELD_DICT, 0x1000, 1184);
	owned(&u, T_BAR, T_TYPE, 1064, REMORA_FIELD_DICT, 0x1010, 1184);
	owned(&u, 0x2000, T_MOD, 72, REMORA_FIELD_MD_DICT, 0x1020, 2000);
	owned(&u, 0x2010, T_MOD, 72, REMORA_FIELD_MD_DICT, 0x1030, 1000);
	for (uint64_t k = 0; k < 3; k++)
		owned(&u, 0x3000 + 16 * k, T_FOO, 48, REMORA_FIELD_DICT,
		      0x1100 + 16 * k, 104);
	owned(&u, 0x3100, T_BAR, 56, REMORA_FIELD_DICT, 0x1200, 232);
	unit_node(&u, 0x3110, T_BAR, 56, NULL);
	unit_edge(&u, 0x5000, remora_via(REMORA_VIA_FIELD, REMORA_FIELD_DICT));
	unit_node(&u, 0x5000, T_ODICT, 300, NULL);
	unit_node(&u, 0x1300, T_DICT, 640, NULL);
	unit_node(&u, 0x1310, T_DICT, 232, NULL);
	/* a dict held through a field other than __dict__ has no owner */
	unit_edge(&u, 0x1310, remora_via(REMORA_VIA_FIELD, REMORA_FIELD_OTHER));
	for (uint64_t k = 0; k < 5; k++)
		unit_node(&u, 0x6000 + 16 * k, T_STR, 50 + k, NULL);
	unit_node(&u, 0x4000, T_FUNC, 152, NULL);
	unit_node(&u, 0x4010, T_FUNC, 152, NULL);
	unit_node(&u, 0x4100, T_CODE, 200, NULL);
	struct remora_snapshot *s = NULL;
	struct remora_error *err = remora_snapshot_open(unit_writer_end(&u, 0), &s);
	if (err) {
		fprintf(stderr, "%s\n", remora_error_message(err));
		exit(99);
	}
	return s;
}

struct want_row {
	const char *label;
	uint64_t count, size;
};

static struct remora_partition *partition_all(enum remora_classifier by)
{
	struct remora_idset *all = NULL;
	struct remora_partition *part = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_all(snap, &all));
	CU_ASSERT_PTR_NULL_FATAL(remora_partition_create(all, by, &part));
	remora_idset_destroy(all);
	return part;
}

static void check_rows(const struct remora_partition *part, const char *header,
		       const struct want_row *want, size_t n)
{
	CU_ASSERT_STRING_EQUAL(remora_partition_header(part), header);
	CU_ASSERT_EQUAL(remora_partition_num_rows(part), n);
	uint64_t count = 0, size = 0;
	for (size_t r = 0; r < n && r < remora_partition_num_rows(part); r++) {
		const char *label = remora_partition_row_label(part, r);
		if (strcmp(label, want[r].label) ||
		    remora_partition_row_count(part, r) != want[r].count ||
		    remora_partition_row_size(part, r) != want[r].size) {
			fprintf(stderr, "\nrow %zu: got '%s' %llu %llu, want '%s' %llu %llu\n",
				r, label,
				(unsigned long long)remora_partition_row_count(part, r),
				(unsigned long long)remora_partition_row_size(part, r),
				want[r].label, (unsigned long long)want[r].count,
				(unsigned long long)want[r].size);
			CU_FAIL("row");
		}
		count += want[r].count;
		size += want[r].size;
	}
	CU_ASSERT_EQUAL(remora_partition_count(part), count);
	CU_ASSERT_EQUAL(remora_partition_size(part), size);
	CU_ASSERT_PTR_NULL(remora_partition_row_label(part, n));
	CU_ASSERT_EQUAL(remora_partition_row_count(part, n), 0);
}

/* The row sets are disjoint, cover the set, and match the row counts. */
static void check_row_sets(const struct remora_partition *part)
{
	struct remora_idset *acc = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_empty(snap, &acc));
	for (size_t r = 0; r < remora_partition_num_rows(part); r++) {
		struct remora_idset *row = NULL, *both = NULL, *next = NULL;
		CU_ASSERT_PTR_NULL_FATAL(remora_partition_row_set(part, r, &row));
		CU_ASSERT_EQUAL(remora_idset_count(row), remora_partition_row_count(part, r));
		CU_ASSERT_EQUAL(remora_idset_size(row), remora_partition_row_size(part, r));
		CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_intersection(acc, row, &both));
		CU_ASSERT_EQUAL(remora_idset_count(both), 0);
		CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_union(acc, row, &next));
		remora_idset_destroy(acc);
		remora_idset_destroy(both);
		remora_idset_destroy(row);
		acc = next;
	}
	CU_ASSERT_EQUAL(remora_idset_count(acc), remora_partition_count(part));
	struct remora_idset *bad = NULL;
	struct remora_error *err =
		remora_partition_row_set(part, remora_partition_num_rows(part), &bad);
	CU_ASSERT_PTR_NOT_NULL(err);
	remora_error_destroy(err);
	remora_idset_destroy(acc);
}

static void test_byclodo(void)
{
	/* WHEN the whole heap is partitioned by clodo THEN heapy's rows, by
	 * size descending; the 144-byte tie goes to the smaller label */
	static const struct want_row want[] = {
		{ "dict of module", 2, 3000 },
		{ "dict of type", 2, 2368 },
		{ "type", 2, 2128 },
		{ "dict (no owner)", 2, 872 },
		{ "dict of __main__.Foo", 3, 312 },
		{ "function", 2, 304 },
		{ "collections.OrderedDict", 1, 300 },
		{ "str", 5, 260 },
		{ "dict of __main__.Bar", 1, 232 },
		{ "types.CodeType", 1, 200 },
		{ "__main__.Foo", 3, 144 },
		{ "module", 2, 144 },
		{ "__main__.Bar", 2, 112 },
	};
	struct remora_partition *part = partition_all(REMORA_BY_CLODO);
	check_rows(part, "Kind (class / dict of class)", want,
		   sizeof(want) / sizeof(want[0]));
	CU_ASSERT_EQUAL(remora_partition_count(part), 28);
	CU_ASSERT_EQUAL(remora_partition_size(part), 10376);
	check_row_sets(part);

	/* a row's set, partitioned again, is that one row */
	struct remora_idset *row = NULL;
	struct remora_partition *again = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_partition_row_set(part, 4, &row));
	uint32_t ids[3];
	CU_ASSERT_EQUAL(remora_idset_ids(row, 0, ids, 3), 3);
	for (int k = 0; k < 3; k++)
		CU_ASSERT_EQUAL(remora_snapshot_node_address(snap, ids[k]),
				0x1100 + 16 * (uint64_t)k);
	CU_ASSERT_PTR_NULL_FATAL(remora_partition_create(row, REMORA_BY_CLODO, &again));
	check_rows(again, "Kind (class / dict of class)", &want[4], 1);
	remora_partition_destroy(again);
	remora_idset_destroy(row);
	remora_partition_destroy(part);
}

static void test_bytype(void)
{
	static const struct want_row want[] = {
		{ "dict", 10, 6784 },
		{ "type", 2, 2128 },
		{ "function", 2, 304 },
		{ "collections.OrderedDict", 1, 300 },
		{ "str", 5, 260 },
		{ "types.CodeType", 1, 200 },
		{ "__main__.Foo", 3, 144 },
		{ "module", 2, 144 },
		{ "__main__.Bar", 2, 112 },
	};
	struct remora_partition *part = partition_all(REMORA_BY_TYPE);
	check_rows(part, "Type", want, sizeof(want) / sizeof(want[0]));
	check_row_sets(part);
	remora_partition_destroy(part);
}

static void test_bysize(void)
{
	/* rows by total size; labels right-aligned in 9 columns; the 144-byte
	 * tie goes to "       48" before "       72" */
	static const struct want_row want[] = {
		{ "     1184", 2, 2368 },
		{ "     1064", 2, 2128 },
		{ "     2000", 1, 2000 },
		{ "     1000", 1, 1000 },
		{ "      640", 1, 640 },
		{ "      232", 2, 464 },
		{ "      104", 3, 312 },
		{ "      152", 2, 304 },
		{ "      300", 1, 300 },
		{ "      200", 1, 200 },
		{ "       48", 3, 144 },
		{ "       72", 2, 144 },
		{ "       56", 2, 112 },
		{ "       54", 1, 54 },
		{ "       53", 1, 53 },
		{ "       52", 1, 52 },
		{ "       51", 1, 51 },
		{ "       50", 1, 50 },
	};
	struct remora_partition *part = partition_all(REMORA_BY_SIZE);
	check_rows(part, "Individual Size", want, sizeof(want) / sizeof(want[0]));
	check_row_sets(part);
	remora_partition_destroy(part);
}

static void test_byunity(void)
{
	static const struct want_row want[] = { { "<Anything>", 28, 10376 } };
	struct remora_partition *part = partition_all(REMORA_BY_UNITY);
	check_rows(part, "<unclassified>", want, 1);
	check_row_sets(part);
	remora_partition_destroy(part);
}

static void test_empty_and_invalid(void)
{
	struct remora_idset *empty = NULL;
	struct remora_partition *part = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_empty(snap, &empty));
	for (int by = REMORA_BY_CLODO; by <= REMORA_BY_UNITY; by++) {
		CU_ASSERT_PTR_NULL_FATAL(remora_partition_create(empty, by, &part));
		CU_ASSERT_EQUAL(remora_partition_num_rows(part), 0);
		CU_ASSERT_EQUAL(remora_partition_count(part), 0);
		CU_ASSERT_EQUAL(remora_partition_size(part), 0);
		remora_partition_destroy(part);
	}
	struct remora_error *err = remora_partition_create(empty, 17, &part);
	CU_ASSERT_PTR_NOT_NULL(err);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	remora_error_destroy(err);
	remora_partition_destroy(NULL);
	remora_idset_destroy(empty);
}

static void test_many_sizes(void)
{
	/* GIVEN 5000 objects of 2500 distinct sizes THEN bysize has a row per
	 * size (the size table grows), each of two objects */
	struct unit_writer u;
	unit_writer_begin(&u, "sizes.remora");
	unit_type(&u, T_STR, "str", "builtins");
	for (uint64_t k = 0; k < 5000; k++)
		unit_node(&u, 0x100000 + 16 * k, T_STR, 49 + k % 2500, NULL);
	struct remora_snapshot *s = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_snapshot_open(unit_writer_end(&u, 0), &s));
	struct remora_idset *all = NULL;
	struct remora_partition *part = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_all(s, &all));
	CU_ASSERT_PTR_NULL_FATAL(remora_partition_create(all, REMORA_BY_SIZE, &part));
	CU_ASSERT_EQUAL_FATAL(remora_partition_num_rows(part), 2500);
	CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, 0), "     2548");
	CU_ASSERT_EQUAL(remora_partition_row_count(part, 0), 2);
	CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, 2499), "       49");
	remora_partition_destroy(part);
	remora_idset_destroy(all);
	remora_snapshot_destroy(s);
}

int main(void)
{
	snap = open_fixture();
	static const struct unit_test tests[] = {
		{ "byclodo", test_byclodo },
		{ "bytype", test_bytype },
		{ "bysize", test_bysize },
		{ "byunity", test_byunity },
		{ "empty set, bad classifier", test_empty_and_invalid },
		{ "many sizes", test_many_sizes },
		{ NULL, NULL },
	};
	int status = unit_run("partition", tests);
	remora_snapshot_destroy(snap);
	return status;
}
