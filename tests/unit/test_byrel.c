/* test_byrel.c — relation labels (via.c) and the classifiers by incoming
 * references, byvia and byrcs (byrel.c), with symbolic selection's row
 * atoms and the combined classifier (partition.c), on a hand-built heap
 * whose answers are worked out by hand below; then byvia and byrcs of
 * random heaps (fixed seed) against a brute force written here from the
 * definitions: each object's set of relation labels, or of its
 * referrers' kinds, grouped and ordered as heapy does, compared row by
 * row (label, count, size, members, atoms).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"
#include "partition.h"
#include "snapshot.h"
#include "unit.h"

enum {
	T_DICT = 0x10, T_STR = 0x20, T_INT = 0x30, T_LIST = 0x40, T_FOO = 0x50,
	T_SET = 0x60, T_TUPLE = 0x70,
};

/* Objects (address: what):
 *   0x1000 dict D1   ['key'] -> S_V, ["it's"] -> S_Q, [42] -> S_W,
 *                    .keys()[0] -> K_KEY, .keys()[1] -> K_Q
 *   0x1100 dict D2   ['key'] -> S_V2
 *   0x1200 list L    [0] -> S_V2, [1] -> X
 *   0x1300 Foo F     .attr -> X (inline attribute), .__dict__ -> FD
 *   0x1400 dict FD   (F's __dict__)
 *   0x1500 set SET   list(_)[4] -> Y
 *   0x1600 tuple T   (held by a frame root only)
 *   0x2000.. strs: S_V 'v', S_Q 'q', S_W 'w', S_V2 'v2', K_KEY 'key',
 *                  K_Q "it's", N_ATTR 'attr', N_X 'x', X 'x-obj',
 *                  Y 'y', LONG (a 40-character key)
 *   0x3000 int I42 42
 * Roots: modules -> D1; a frame (thread 0, innermost of 2 frames, whose
 *        thread_id is 777) holds T as local 'x'; D2, L, F and SET are
 *        roots too (gc_only). */
enum {
	D1 = 0x1000, D2 = 0x1100, L = 0x1200, F = 0x1300, FD = 0x1400,
	SET = 0x1500, T = 0x1600,
	S_V = 0x2000, S_Q = 0x2040, S_W = 0x2080, S_V2 = 0x20c0, K_KEY = 0x2100,
	K_Q = 0x2140, N_ATTR = 0x2180, N_X = 0x21c0, X = 0x2200, Y = 0x2240,
	LONG = 0x2280, I42 = 0x3000,
};

static const char long_key[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCD";

static struct remora_snapshot *snap;

/* The size the fixture gave each object, as it wrote it: the expected
 * row sizes are sums of these. */
static struct {
	uint64_t addr;
	uint64_t size;
} fixture_sizes[32];
static size_t fixture_count;

static void node(struct unit_writer *u, uint64_t addr, uint64_t type,
		 uint64_t size, const char *repr)
{
	CU_ASSERT_FATAL(fixture_count < sizeof(fixture_sizes) / sizeof(fixture_sizes[0]));
	fixture_sizes[fixture_count].addr = addr;
	fixture_sizes[fixture_count].size = size;
	fixture_count++;
	unit_node(u, addr, type, size, repr);
}

static uint64_t size_of(uint64_t addr)
{
	for (size_t i = 0; i < fixture_count; i++) {
		if (fixture_sizes[i].addr == addr)
			return fixture_sizes[i].size;
	}
	CU_FAIL("no such fixture object");
	return 0;
}

static void str(struct unit_writer *u, uint64_t addr, const char *text)
{
	/* odd sizes: no inline values; 49 + length + 1 - 1 is getsizeof's
	 * size of an ASCII str before 3.12, so none looks truncated */
	node(u, addr, T_STR, 49 + strlen(text), text);
}

static struct remora_snapshot *open_fixture(void)
{
	struct unit_writer u;
	unit_writer_begin(&u, "byrel.remora");
	unit_type(&u, T_DICT, "dict", "builtins");
	unit_type(&u, T_STR, "str", "builtins");
	unit_type(&u, T_INT, "int", "builtins");
	unit_type(&u, T_LIST, "list", "builtins");
	unit_type(&u, T_FOO, "Foo", "__main__");
	unit_type(&u, T_SET, "set", "builtins");
	unit_type(&u, T_TUPLE, "tuple", "builtins");

	node(&u, D1, T_DICT, 233, NULL);
	unit_edge(&u, S_V, remora_via(REMORA_VIA_DICT_VALUE, K_KEY));
	unit_edge(&u, S_Q, remora_via(REMORA_VIA_DICT_VALUE, K_Q));
	unit_edge(&u, S_W, remora_via(REMORA_VIA_DICT_VALUE, I42));
	unit_edge(&u, K_KEY, remora_via(REMORA_VIA_DICT_KEY, 0));
	unit_edge(&u, K_Q, remora_via(REMORA_VIA_DICT_KEY, 1));
	unit_edge(&u, LONG, remora_via(REMORA_VIA_DICT_VALUE, LONG));
	node(&u, D2, T_DICT, 233, NULL);
	unit_edge(&u, S_V2, remora_via(REMORA_VIA_DICT_VALUE, K_KEY));
	node(&u, L, T_LIST, 73, NULL);
	unit_edge(&u, S_V2, remora_via(REMORA_VIA_INDEX, 0));
	unit_edge(&u, X, remora_via(REMORA_VIA_INDEX, 1));
	node(&u, F, T_FOO, 49, NULL);
	unit_edge(&u, X, remora_via(REMORA_VIA_ATTR, N_ATTR));
	unit_edge(&u, FD, remora_via(REMORA_VIA_FIELD, REMORA_FIELD_DICT));
	node(&u, FD, T_DICT, 105, NULL);
	node(&u, SET, T_SET, 217, NULL);
	unit_edge(&u, Y, remora_via(REMORA_VIA_SET_ITEM, 4));
	node(&u, T, T_TUPLE, 41, NULL);
	str(&u, S_V, "v");
	str(&u, S_Q, "q");
	str(&u, S_W, "w");
	str(&u, S_V2, "v2");
	str(&u, K_KEY, "key");
	str(&u, K_Q, "it's");
	str(&u, N_ATTR, "attr");
	str(&u, N_X, "x");
	str(&u, X, "x-obj");
	str(&u, Y, "y");
	str(&u, LONG, long_key);
	node(&u, I42, T_INT, 29, "42");

	unit_root(&u, D1, remora_via(REMORA_VIA_ROOT, REMORA_ROOT_MODULES));
	struct remora_rec_thread th = { .interp = 0, .index = 0, .thread_id = 777 };
	remora_writer_thread(&u.w, &th);
	unit_root_where(&u, T, remora_via(REMORA_VIA_LOCAL, N_X), remora_root_where(0, 0, 0));
	unit_root_where(&u, T, remora_via(REMORA_VIA_FIELD, REMORA_FIELD_F_CODE),
			remora_root_where(0, 0, 1));
	const uint64_t gc = remora_via(REMORA_VIA_ROOT, REMORA_ROOT_GC);
	unit_root(&u, D2, gc);
	unit_root(&u, L, gc);
	unit_root(&u, F, gc);
	unit_root(&u, SET, gc);
	struct remora_snapshot *s = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_snapshot_open(unit_writer_end(&u, 0), &s));
	return s;
}

static uint32_t id_of(uint64_t addr)
{
	return remora_snapshot_node_find(snap, addr);
}

static const char *label(uint64_t via)
{
	static char buf[256];
	remora_snapshot_via_label(snap, via, buf, sizeof(buf));
	return buf;
}

/* GIVEN the fixture WHEN each kind of via word is labelled THEN the label
 * is heapy's spelling, keys as Python reprs. */
static void test_edge_labels(void)
{
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_INDEX, 3)), "[3]");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_DICT_VALUE, K_KEY)), "['key']");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_DICT_VALUE, K_Q)), "[\"it's\"]");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_DICT_VALUE, I42)), "[42]");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_DICT_KEY, 2)), ".keys()[2]");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_ATTR, N_ATTR)), ".attr");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_LOCAL, N_X)), ".f_locals['x']");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_SET_ITEM, 4)), "list(_)[4]");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_STACK, 2)), "->f_valuestack[2]");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_FIELD, REMORA_FIELD_DICT)), ".__dict__");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_FIELD, REMORA_FIELD_OB_TYPE)), "->ob_type");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_FIELD, 250)), ".??");
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_UNKNOWN, 0)), ".??");
	/* a key that is no object of the snapshot still has a label */
	CU_ASSERT_PTR_NOT_NULL(strstr(label(remora_via(REMORA_VIA_DICT_VALUE, 0x9990)), "?"));

	/* the snprintf contract: cut to the buffer, whole length returned */
	char small[4];
	CU_ASSERT_EQUAL(remora_snapshot_via_label(snap, remora_via(REMORA_VIA_DICT_VALUE, K_KEY),
						  small, sizeof(small)), 7);
	CU_ASSERT_STRING_EQUAL(small, "['k");
}

/* GIVEN the fixture's roots WHEN labelled THEN heapy's RootState names,
 * a frame numbered from the thread's oldest frame and named by the
 * thread's ident. */
static void test_root_labels(void)
{
	char buf[256];
	CU_ASSERT_EQUAL(remora_snapshot_root_count(snap), 7);
	remora_snapshot_root_label(snap, 0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, ".i0_modules");
	remora_snapshot_root_label(snap, 1, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, ".i0_t777_f1.f_locals['x']");
	remora_snapshot_root_label(snap, 2, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, ".i0_t777_f0.f_code");
	remora_snapshot_root_label(snap, 3, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, ".i0_gc_only");
}

/* GIVEN path prefixes WHEN a step is applied THEN heapy's path text: a
 * root's label, keys abbreviated as reprlib does, a set member wrapping
 * the prefix. */
static void test_path_steps(void)
{
	char buf[256];
	remora_snapshot_path_step(snap, "hp.Root", 0, 0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "hp.Root.i0_modules");
	remora_snapshot_path_step(snap, "P", REMORA_NO_NODE,
				  remora_via(REMORA_VIA_DICT_VALUE, K_KEY), buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "P['key']");
	remora_snapshot_path_step(snap, "P", REMORA_NO_NODE,
				  remora_via(REMORA_VIA_SET_ITEM, 4), buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "list(P)[4]");
	/* reprlib.repr of a 42-character repr: 13 + "..." + 14 */
	remora_snapshot_path_step(snap, "P", REMORA_NO_NODE,
				  remora_via(REMORA_VIA_DICT_VALUE, LONG), buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "P['abcdefghijkl...123456789ABCD']");
	/* byvia keeps it whole */
	CU_ASSERT_STRING_EQUAL(label(remora_via(REMORA_VIA_DICT_VALUE, LONG)),
			       "['abcdefghijklmnopqrstuvwxyz0123456789ABCD']");
}

static struct remora_partition *partition(uint64_t *addrs, size_t n,
					  enum remora_classifier by)
{
	uint32_t ids[16];
	for (size_t i = 0; i < n; i++)
		ids[i] = id_of(addrs[i]);
	struct remora_idset *set = NULL;
	struct remora_partition *part = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_from_ids(snap, ids, n, &set));
	CU_ASSERT_PTR_NULL_FATAL(remora_partition_create(set, by, &part));
	remora_idset_destroy(set);
	return part;
}

/* The row holding addr. */
static size_t row_of(struct remora_partition *part, uint64_t addr)
{
	for (size_t r = 0; r < remora_partition_num_rows(part); r++) {
		struct remora_idset *rs = NULL;
		CU_ASSERT_PTR_NULL_FATAL(remora_partition_row_set(part, r, &rs));
		bool in = remora_idset_contains(rs, id_of(addr));
		remora_idset_destroy(rs);
		if (in)
			return r;
	}
	CU_FAIL("object in no row");
	return 0;
}

/* GIVEN objects held in known ways WHEN partitioned byvia THEN objects
 * held by the same set of relations share a row, labelled by the
 * relations' reprs sorted as strings and joined by ", ", its size the
 * sum of its members' sizes. */
static void test_byvia(void)
{
	uint64_t members[] = { S_V, S_V2, X, Y, T, D1, FD, S_Q, I42 };
	struct remora_partition *part = partition(members, 9, REMORA_BY_VIA);
	CU_ASSERT_STRING_EQUAL(remora_partition_header(part), "Referred Via:");
	struct { uint64_t addr; const char *label; } want[] = {
		{ S_V, "\"['key']\"" },
		/* the same label from another dict, plus a list item */
		{ S_V2, "\"['key']\", '[0]'" },
		{ X, "'.attr', '[1]'" },
		{ Y, "'list(_)[4]'" },
		{ T, "\".i0_t777_f1.f_locals['x']\", '.i0_t777_f0.f_code'" },
		{ D1, "'.i0_modules'" },
		{ FD, "'.__dict__'" },
		{ S_Q, "'[\"it\\'s\"]'" },
		{ I42, "" }, /* no referrers: heapy's empty label */
	};
	/* every member is held in a way of its own: a row each */
	CU_ASSERT_EQUAL(remora_partition_num_rows(part), 9);
	uint64_t total = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t r = row_of(part, want[i].addr);
		CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, r), want[i].label);
		CU_ASSERT_EQUAL(remora_partition_row_count(part, r), 1);
		CU_ASSERT_EQUAL(remora_partition_row_size(part, r), size_of(want[i].addr));
		total += size_of(want[i].addr);
	}
	CU_ASSERT_EQUAL(remora_partition_size(part), total);
	/* the atoms of a row: its relations, unquoted */
	size_t r = row_of(part, X);
	CU_ASSERT_EQUAL(remora_partition_row_atom_count(part, r), 2);
	const char *a0 = remora_partition_row_atom(part, r, 0);
	const char *a1 = remora_partition_row_atom(part, r, 1);
	CU_ASSERT((!strcmp(a0, ".attr") && !strcmp(a1, "[1]")) ||
		  (!strcmp(a0, "[1]") && !strcmp(a1, ".attr")));
	CU_ASSERT_PTR_NULL(remora_partition_row_atom(part, r, 2));
	remora_partition_destroy(part);

	/* S_V and S_V2's neighbour from D2 share the label: the two members
	 * held only as ['key'] from different dicts are one row */
	uint64_t same[] = { S_V, S_W };
	part = partition(same, 2, REMORA_BY_VIA);
	CU_ASSERT_EQUAL(remora_partition_num_rows(part), 2);
	CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, row_of(part, S_W)), "'[42]'");
	CU_ASSERT_EQUAL(remora_partition_row_size(part, row_of(part, S_W)), size_of(S_W));
	CU_ASSERT_EQUAL(remora_partition_row_size(part, row_of(part, S_V)), size_of(S_V));
	remora_partition_destroy(part);
}

/* GIVEN the same objects WHEN partitioned byrcs THEN rows by the set of
 * their referrers' clodo kinds, RootState for a root, <Nothing> for
 * none, each row's count and size its members'; selection by rows gives
 * their union. */
static void test_byrcs(void)
{
	uint64_t members[] = { S_V, S_V2, X, Y, T, FD, I42, D1 };
	struct remora_partition *part = partition(members, 8, REMORA_BY_RCS);
	CU_ASSERT_STRING_EQUAL(remora_partition_header(part),
			       "Referrers by Kind (class / dict of class)");
	/* addr's row, and the other member it holds (0: none) */
	struct { uint64_t addr; const char *label; uint64_t also; } want[] = {
		{ S_V, "dict (no owner)", 0 },
		{ S_V2, "dict (no owner), list", 0 },
		{ X, "__main__.Foo, list", 0 },
		{ Y, "set", 0 },
		{ T, "RootState", D1 },
		{ FD, "__main__.Foo", 0 },
		{ I42, "<Nothing>", 0 },
		{ D1, "RootState", T },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t r = row_of(part, want[i].addr);
		uint64_t also = want[i].also;
		CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, r), want[i].label);
		CU_ASSERT_EQUAL(remora_partition_row_count(part, r), also ? 2 : 1);
		CU_ASSERT_EQUAL(remora_partition_row_size(part, r),
				size_of(want[i].addr) + (also ? size_of(also) : 0));
	}
	/* T and D1 share the RootState row */
	CU_ASSERT_EQUAL(row_of(part, T), row_of(part, D1));
	CU_ASSERT_EQUAL(remora_partition_num_rows(part), 7);

	uint8_t flags[16] = { 0 };
	flags[row_of(part, S_V)] = 1;
	flags[row_of(part, T)] = 1;
	struct remora_idset *sel = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_partition_select(part, flags, &sel));
	CU_ASSERT_EQUAL(remora_idset_count(sel), 3);
	CU_ASSERT_EQUAL(remora_idset_size(sel), size_of(S_V) + size_of(T) + size_of(D1));
	CU_ASSERT(remora_idset_contains(sel, id_of(S_V)));
	CU_ASSERT(remora_idset_contains(sel, id_of(T)));
	CU_ASSERT(remora_idset_contains(sel, id_of(D1)));
	remora_idset_destroy(sel);
	remora_partition_destroy(part);
}

/* GIVEN a set whose only member nothing refers to WHEN partitioned
 * byvia and byrcs THEN one row of the empty kind (the first kind made
 * has no atoms: found by fuzz_snapshot, regressions/snapshot/
 * byrel-no-referrers). */
static void test_no_referrers_only(void)
{
	uint64_t members[] = { I42 };
	struct remora_partition *part = partition(members, 1, REMORA_BY_VIA);
	CU_ASSERT_EQUAL(remora_partition_num_rows(part), 1);
	CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, 0), "");
	CU_ASSERT_EQUAL(remora_partition_row_atom_count(part, 0), 0);
	remora_partition_destroy(part);
	part = partition(members, 1, REMORA_BY_RCS);
	CU_ASSERT_EQUAL(remora_partition_num_rows(part), 1);
	CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, 0), "<Nothing>");
	CU_ASSERT_EQUAL(remora_partition_row_size(part, 0), size_of(I42));
	remora_partition_destroy(part);
}

static uint64_t select_count(struct remora_partition *part, const char *const *atoms,
			     size_t n, const char *op)
{
	struct remora_idset *sel = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_partition_select_kind(part, atoms, n, op, &sel));
	uint64_t count = remora_idset_count(sel);
	remora_idset_destroy(sel);
	return count;
}

/* GIVEN a byvia partition of S_V {['key']}, S_V2 {['key'], [0]}, X
 * {.attr, [1]}, Y {list(_)[4]} and I42 {} WHEN rows are selected by kind
 * THEN heapy's comparisons of relation sets: == equal, <= subset, <
 * proper subset, >= superset, > proper superset, != not equal; a relation
 * no member has matches nothing but still counts in the kind. */
static void test_select_kind(void)
{
	uint64_t members[] = { S_V, S_V2, X, Y, I42 };
	struct remora_partition *part = partition(members, 5, REMORA_BY_VIA);
	const char *key[] = { "['key']" };
	const char *key0[] = { "['key']", "[0]" };
	const char *none[] = { "['nowhere']" };
	CU_ASSERT_EQUAL(select_count(part, key, 1, "=="), 1);
	CU_ASSERT_EQUAL(select_count(part, key, 1, "!="), 4);
	CU_ASSERT_EQUAL(select_count(part, key0, 2, "<="), 3); /* S_V, S_V2, I42 */
	CU_ASSERT_EQUAL(select_count(part, key, 1, "<"), 1);   /* I42 */
	CU_ASSERT_EQUAL(select_count(part, key, 1, ">="), 2);  /* S_V, S_V2 */
	CU_ASSERT_EQUAL(select_count(part, key, 1, ">"), 1);   /* S_V2 */
	CU_ASSERT_EQUAL(select_count(part, none, 1, ">="), 0);
	CU_ASSERT_EQUAL(select_count(part, none, 1, "<="), 1); /* I42 */
	CU_ASSERT_EQUAL(select_count(part, NULL, 0, "=="), 1); /* I42 */
	struct remora_idset *sel = NULL;
	struct remora_error *err = remora_partition_select_kind(part, key, 1, "<>", &sel);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	remora_error_destroy(err);
	remora_partition_destroy(part);

	/* not a byvia or byrcs partition */
	part = partition(members, 5, REMORA_BY_TYPE);
	err = remora_partition_select_kind(part, key, 1, "==", &sel);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	remora_error_destroy(err);
	remora_partition_destroy(part);
}

/* GIVEN the whole heap WHEN partitioned by type & size THEN a row per
 * (type, size) pair, labelled "type & size", under the joined header. */
static void test_combined(void)
{
	struct remora_idset *all = NULL;
	struct remora_partition *part = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_all(snap, &all));
	enum remora_classifier by[] = { REMORA_BY_TYPE, REMORA_BY_SIZE };
	CU_ASSERT_PTR_NULL_FATAL(remora_partition_create_and(all, by, 2, &part));
	CU_ASSERT_STRING_EQUAL(remora_partition_header(part), "Type & Individual Size");
	/* dicts: D1 and D2 (233 each) are one row, FD (105) another */
	size_t r = row_of(part, D1);
	CU_ASSERT_EQUAL(r, row_of(part, D2));
	CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, r), "dict & 233");
	CU_ASSERT_EQUAL(remora_partition_row_count(part, r), 2);
	CU_ASSERT_EQUAL(remora_partition_row_size(part, r), size_of(D1) + size_of(D2));
	r = row_of(part, FD);
	CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, r), "dict & 105");
	CU_ASSERT_EQUAL(remora_partition_row_size(part, r), size_of(FD));
	/* strs 'v', 'q', 'w', 'x', 'y' are all 50 bytes */
	r = row_of(part, S_V);
	CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, r), "str & 50");
	CU_ASSERT_EQUAL(remora_partition_row_count(part, r), 5);
	CU_ASSERT_EQUAL(remora_partition_row_size(part, r),
			size_of(S_V) + size_of(S_Q) + size_of(S_W) + size_of(N_X) +
			size_of(Y));
	remora_partition_destroy(part);

	/* one part only is refused */
	struct remora_error *err = remora_partition_create_and(all, by, 1, &part);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	remora_error_destroy(err);
	remora_idset_destroy(all);
}

/* GIVEN the heap WHEN partitioned byid THEN a row per object, largest
 * first, a str labelled by its repr, an int by its value. */
static void test_byid(void)
{
	uint64_t members[] = { S_V, S_V2, I42, D1 };
	struct remora_partition *part = partition(members, 4, REMORA_BY_ID);
	CU_ASSERT_EQUAL(remora_partition_num_rows(part), 4);
	CU_ASSERT_EQUAL(row_of(part, D1), 0);
	CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, row_of(part, S_V2)), "'v2'");
	CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, row_of(part, I42)), "42");
	CU_ASSERT_STRING_EQUAL(remora_partition_row_label(part, row_of(part, D1)), "");
	remora_partition_destroy(part);
}

/* ---- random heaps against brute force ------------------------------------ */

/* A random heap as the test writes it: every object's type, size and
 * repr, every edge and root with the label heapy gives its relation
 * (worked out here from what the via means, never asked of via.c), and
 * the owner of each dict held by a __dict__ field.  Objects 0 .. RH_KEYS
 * - 1 are the strs that dict keys and attribute and local names use,
 * then RH_INTS int keys, then objects of random types; dicts, lists,
 * tuples, sets, instances and modules hold random objects the way
 * CPython's do. */
enum {
	RH_KEYS = 10,
	RH_INTS = 3,
	RH_OBJECTS = 400,
	RH_MAX_EDGES = 16 * RH_OBJECTS,
	RH_MAX_ROOTS = 40,
	RH_LABEL = 64,
	RH_FRAMES = 3,          /* thread 0's frames, depth 0 the innermost */
	RH_THREAD_ID = 777,
	RH_ROUNDS = 8,
	T_BAR = 0x80, T_MODULE = 0x90,
};

static const char *const rh_key_text[RH_KEYS] = {
	"k0", "k1", "key", "it's", "x y", "__init__", "say \"hi\"", "a", "b",
	"name",
};
static const char *const rh_int_text[RH_INTS] = { "0", "7", "42" };

/* heapy's display of each type: a builtin's name alone, another's module
 * and name. */
static const struct {
	uint64_t type;
	const char *name, *module, *display;
} rh_types[] = {
	{ T_DICT, "dict", "builtins", "dict" },
	{ T_STR, "str", "builtins", "str" },
	{ T_INT, "int", "builtins", "int" },
	{ T_LIST, "list", "builtins", "list" },
	{ T_SET, "set", "builtins", "set" },
	{ T_TUPLE, "tuple", "builtins", "tuple" },
	{ T_FOO, "Foo", "__main__", "__main__.Foo" },
	{ T_BAR, "Bar", "pkg.mod", "pkg.mod.Bar" },
	{ T_MODULE, "module", "builtins", "module" },
};

struct rh_obj {
	uint64_t type;
	uint64_t size;
	char repr[16];          /* strs and ints */
	int32_t owner;          /* a dict: who holds it as .__dict__, or -1 */
};

/* An edge (from -> to) or a root entry (where; from unused). */
struct rh_ref {
	uint32_t from;
	uint32_t to;
	uint64_t via;
	uint64_t where;
	char label[RH_LABEL];
};

struct rheap {
	struct rh_obj obj[RH_OBJECTS];
	struct rh_ref edges[RH_MAX_EDGES];
	size_t n_edges;
	struct rh_ref roots[RH_MAX_ROOTS];
	size_t n_roots;
};

static uint64_t rh_addr(uint32_t i)
{
	return 0x100000 + (uint64_t)i * 0x40;
}

static uint32_t rh_any(void)
{
	return (uint32_t)(rand() % RH_OBJECTS);
}

static const char *rh_display(uint64_t type)
{
	for (size_t i = 0; i < sizeof(rh_types) / sizeof(rh_types[0]); i++) {
		if (rh_types[i].type == type)
			return rh_types[i].display;
	}
	CU_FAIL("a type the heap does not use");
	return "?";
}

/* Python's repr() of an ASCII str without backslashes or control
 * characters (all this test's texts are): in single quotes unless it
 * holds a single quote and no double one; the quote used is escaped. */
static void py_repr(char *out, size_t cap, const char *s)
{
	char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
	size_t n = 0;
	CU_ASSERT_FATAL(cap > 2 * strlen(s) + 2);
	out[n++] = q;
	for (; *s; s++) {
		if (*s == q)
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = q;
	out[n] = '\0';
}

/* Sets a relation's label; a label that does not fit fails the test. */
__attribute__((format(printf, 2, 3)))
static void rh_label(struct rh_ref *e, const char *fmt, ...)
{
	char tmp[RH_LABEL];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(n >= 0 && n < RH_LABEL);
	memcpy(e->label, tmp, sizeof(tmp));
}

static struct rh_ref *rh_edge(struct rheap *h, uint32_t from, uint32_t to,
			      uint64_t via)
{
	CU_ASSERT_FATAL(h->n_edges < RH_MAX_EDGES);
	struct rh_ref *e = &h->edges[h->n_edges++];
	*e = (struct rh_ref){ .from = from, .to = to, .via = via };
	return e;
}

static struct rh_ref *rh_root(struct rheap *h, uint32_t to, uint64_t via,
			      uint64_t where)
{
	CU_ASSERT_FATAL(h->n_roots < RH_MAX_ROOTS);
	struct rh_ref *r = &h->roots[h->n_roots++];
	*r = (struct rh_ref){ .to = to, .via = via, .where = where };
	return r;
}

/* A dict nobody holds as .__dict__ yet, now owned by owner; or -1. */
static int32_t rh_take_dict(struct rheap *h, uint32_t owner)
{
	uint32_t start = rh_any();
	for (uint32_t k = 0; k < RH_OBJECTS; k++) {
		uint32_t d = (start + k) % RH_OBJECTS;
		if (h->obj[d].type == T_DICT && h->obj[d].owner < 0 && d != owner) {
			h->obj[d].owner = (int32_t)owner;
			return (int32_t)d;
		}
	}
	return -1;
}

/* The row of object i, as CPython's object of its type holds things. */
static void rh_row(struct rheap *h, uint32_t i)
{
	const struct rh_obj *o = &h->obj[i];
	char repr[RH_LABEL];
	uint32_t n;
	switch (o->type) {
	case T_DICT: {
		/* entries: the key (.keys()[e]) and the value ([repr(key)]);
		 * keys are distinct strs and ints, now and then an object */
		uint32_t keys[4];
		n = (uint32_t)(rand() % 5);
		for (uint32_t e = 0; e < n; e++) {
			uint32_t k;
			bool fresh;
			do {
				k = rand() % 8 ? (uint32_t)(rand() % (RH_KEYS + RH_INTS)) : rh_any();
				fresh = true;
				for (uint32_t j = 0; j < e; j++)
					fresh &= keys[j] != k;
			} while (!fresh);
			keys[e] = k;
			struct rh_ref *ke = rh_edge(h, i, k, remora_via(REMORA_VIA_DICT_KEY, e));
			rh_label(ke, ".keys()[%u]", e);
			struct rh_ref *ve = rh_edge(h, i, rh_any(),
						    remora_via(REMORA_VIA_DICT_VALUE, rh_addr(k)));
			const struct rh_obj *ko = &h->obj[k];
			if (ko->type == T_STR) {
				py_repr(repr, sizeof(repr), ko->repr);
				rh_label(ve, "[%s]", repr);
			} else if (ko->type == T_INT) {
				rh_label(ve, "[%s]", ko->repr);
			} else {
				rh_label(ve, "[<%s at 0x%llx>]",
					 rh_display(ko->type), (unsigned long long)rh_addr(k));
			}
		}
		return;
	}
	case T_LIST:
	case T_TUPLE:
		n = (uint32_t)(rand() % 6);
		for (uint32_t j = 0; j < n; j++) {
			struct rh_ref *e = rh_edge(h, i, rh_any(), remora_via(REMORA_VIA_INDEX, j));
			rh_label(e, "[%u]", j);
		}
		return;
	case T_SET:
		n = (uint32_t)(rand() % 5);
		for (uint32_t j = 0; j < n; j++) {
			struct rh_ref *e = rh_edge(h, i, rh_any(), remora_via(REMORA_VIA_SET_ITEM, j));
			rh_label(e, "list(_)[%u]", j);
		}
		return;
	case T_FOO:
	case T_BAR:
	case T_MODULE: {
		/* its __dict__, then (instances) attributes by distinct names
		 * and a reference with no name (tp_traverse) */
		int32_t d = rand() % 3 ? rh_take_dict(h, i) : -1;
		if (d >= 0) {
			enum remora_field f = o->type == T_MODULE ? REMORA_FIELD_MD_DICT
								  : REMORA_FIELD_DICT;
			struct rh_ref *e = rh_edge(h, i, (uint32_t)d, remora_via(REMORA_VIA_FIELD, f));
			rh_label(e, ".__dict__");
		}
		if (o->type == T_MODULE)
			return;
		n = (uint32_t)(rand() % 4);
		uint32_t first = (uint32_t)(rand() % RH_KEYS);
		for (uint32_t j = 0; j < n; j++) {
			uint32_t name = (first + j) % RH_KEYS;
			struct rh_ref *e = rh_edge(h, i, rh_any(),
						   remora_via(REMORA_VIA_ATTR, rh_addr(name)));
			rh_label(e, ".%s", h->obj[name].repr);
		}
		if (rand() % 4 == 0) {
			struct rh_ref *e = rh_edge(h, i, rh_any(), remora_via(REMORA_VIA_UNKNOWN, 0));
			rh_label(e, ".??");
		}
		return;
	}
	default:
		return;
	}
}

static void rheap_make(struct rheap *h)
{
	static const uint64_t mix[] = {
		T_DICT, T_DICT, T_DICT, T_LIST, T_TUPLE, T_SET, T_FOO, T_BAR,
		T_MODULE, T_STR, T_STR,
	};
	h->n_edges = 0;
	h->n_roots = 0;
	for (uint32_t i = 0; i < RH_OBJECTS; i++) {
		struct rh_obj *o = &h->obj[i];
		o->owner = -1;
		o->repr[0] = '\0';
		if (i < RH_KEYS) {
			o->type = T_STR;
			snprintf(o->repr, sizeof(o->repr), "%s", rh_key_text[i]);
		} else if (i < RH_KEYS + RH_INTS) {
			o->type = T_INT;
			snprintf(o->repr, sizeof(o->repr), "%s", rh_int_text[i - RH_KEYS]);
		} else {
			o->type = mix[rand() % (sizeof(mix) / sizeof(mix[0]))];
			if (o->type == T_STR)
				snprintf(o->repr, sizeof(o->repr), "s%u", i);
		}
		/* a str's size is getsizeof's (so none looks truncated) */
		o->size = o->type == T_STR ? 49 + strlen(o->repr) :
			  o->type == T_INT ? 28 : 16 + (uint64_t)(rand() % 400);
	}
	for (uint32_t i = 0; i < RH_OBJECTS; i++)
		rh_row(h, i);

	/* roots: the interpreter's, objects only a GC list reached, and
	 * thread 777's frames (heapy numbers them from the oldest) */
	struct rh_ref *r;
	r = rh_root(h, rh_any(), remora_via(REMORA_VIA_ROOT, REMORA_ROOT_MODULES),
		    remora_root_where(0, -1, -1));
	rh_label(r, ".i0_modules");
	r = rh_root(h, rh_any(), remora_via(REMORA_VIA_ROOT, REMORA_ROOT_SYSDICT),
		    remora_root_where(0, -1, -1));
	rh_label(r, ".i0_sysdict");
	for (int k = 0; k < 10; k++) {
		r = rh_root(h, rh_any(), remora_via(REMORA_VIA_ROOT, REMORA_ROOT_GC),
			    remora_root_where(0, -1, -1));
		rh_label(r, ".i0_gc_only");
	}
	for (uint32_t d = 0; d < RH_FRAMES; d++) {
		uint64_t where = remora_root_where(0, 0, d);
		unsigned f = RH_FRAMES - 1 - d;
		char name[RH_LABEL];
		uint32_t k = (uint32_t)(rand() % RH_KEYS);
		py_repr(name, sizeof(name), h->obj[k].repr);
		r = rh_root(h, rh_any(), remora_via(REMORA_VIA_LOCAL, rh_addr(k)), where);
		rh_label(r, ".i0_t%d_f%u.f_locals[%s]", RH_THREAD_ID, f, name);
		r = rh_root(h, rh_any(), remora_via(REMORA_VIA_FIELD, REMORA_FIELD_F_CODE), where);
		rh_label(r, ".i0_t%d_f%u.f_code", RH_THREAD_ID, f);
		r = rh_root(h, rh_any(), remora_via(REMORA_VIA_STACK, d), where);
		rh_label(r, ".i0_t%d_f%u->f_valuestack[%u]", RH_THREAD_ID, f, d);
	}
}

/* Writes h, objects in a scrambled order, and opens it. */
static struct remora_snapshot *rheap_open(const struct rheap *h)
{
	struct unit_writer u;
	unit_writer_begin(&u, "random-byrel.remora");
	for (size_t i = 0; i < sizeof(rh_types) / sizeof(rh_types[0]); i++)
		unit_type(&u, rh_types[i].type, rh_types[i].name, rh_types[i].module);
	struct remora_rec_thread th = { .interp = 0, .index = 0, .thread_id = RH_THREAD_ID };
	remora_writer_thread(&u.w, &th);
	for (size_t r = 0; r < h->n_roots; r++)
		unit_root_where(&u, rh_addr(h->roots[r].to), h->roots[r].via, h->roots[r].where);
	for (uint32_t j = 0; j < RH_OBJECTS; j++) {
		/* a permutation: 7919 is prime, RH_OBJECTS no multiple of it */
		uint32_t i = (uint32_t)(((uint64_t)j * 7919) % RH_OBJECTS);
		const struct rh_obj *o = &h->obj[i];
		unit_node(&u, rh_addr(i), o->type, o->size, o->repr[0] ? o->repr : NULL);
		for (size_t k = 0; k < h->n_edges; k++) {
			if (h->edges[k].from == i)
				unit_edge(&u, rh_addr(h->edges[k].to), h->edges[k].via);
		}
	}
	struct remora_snapshot *s = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_snapshot_open(unit_writer_end(&u, 0), &s));
	return s;
}

/* A growing string. */
struct rh_text {
	char *buf;
	size_t len, cap;
};

static void rh_put(struct rh_text *t, const char *s)
{
	size_t n = strlen(s);
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 64;
		while (cap < t->len + n + 1)
			cap *= 2;
		t->buf = realloc(t->buf, cap);
		CU_ASSERT_PTR_NOT_NULL_FATAL(t->buf);
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n + 1);
	t->len += n;
}

static int compare_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts atoms[0..n) by strcmp and drops repeats; returns the new n. */
static size_t sort_unique_str(const char **atoms, size_t n)
{
	qsort(atoms, n, sizeof(*atoms), compare_str);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k == 0 || strcmp(atoms[k - 1], atoms[i]))
			atoms[k++] = atoms[i];
	}
	return k;
}

/* One object's class by brute force: its atoms (sorted, distinct), the
 * key that names the set (the atoms joined by newlines, which no atom
 * holds) and the row label heapy gives it. */
struct rh_class {
	uint32_t obj;
	const char **atoms;
	size_t n_atoms;
	struct rh_text key;
	struct rh_text label;
};

/* The clodo kind of object i as a referrer. */
static void rh_kind(const struct rheap *h, uint32_t i, char *out, size_t cap)
{
	const struct rh_obj *o = &h->obj[i];
	if (o->type != T_DICT)
		snprintf(out, cap, "%s", rh_display(o->type));
	else if (o->owner < 0)
		snprintf(out, cap, "dict (no owner)");
	else
		snprintf(out, cap, "dict of %s", rh_display(h->obj[o->owner].type));
}

/* byvia: the labels of the edges and roots that hold i; byrcs: the kinds
 * of the objects whose edges hold i, and RootState if a root does.
 * Straight from the definitions: every edge and root is looked at. */
static void rh_classify(const struct rheap *h, uint32_t i, enum remora_classifier by,
			char (*kinds)[RH_LABEL], struct rh_class *c)
{
	size_t n = 0, cap = 8;
	c->obj = i;
	c->atoms = malloc(cap * sizeof(*c->atoms));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->atoms);
	for (size_t k = 0; k < h->n_edges + h->n_roots; k++) {
		bool root = k >= h->n_edges;
		const struct rh_ref *e = root ? &h->roots[k - h->n_edges] : &h->edges[k];
		if (e->to != i)
			continue;
		if (n == cap) {
			cap *= 2;
			c->atoms = realloc(c->atoms, cap * sizeof(*c->atoms));
			CU_ASSERT_PTR_NOT_NULL_FATAL(c->atoms);
		}
		if (by == REMORA_BY_VIA)
			c->atoms[n++] = e->label;
		else
			c->atoms[n++] = root ? "RootState" : kinds[e->from];
	}
	n = sort_unique_str(c->atoms, n);
	c->n_atoms = n;
	c->key = (struct rh_text){ 0 };
	c->label = (struct rh_text){ 0 };
	rh_put(&c->key, "");
	rh_put(&c->label, "");
	for (size_t a = 0; a < n; a++) {
		rh_put(&c->key, c->atoms[a]);
		rh_put(&c->key, "\n");
	}
	if (by == REMORA_BY_RCS) {
		/* the kinds sorted, joined; <Nothing> for none */
		for (size_t a = 0; a < n; a++) {
			if (a)
				rh_put(&c->label, ", ");
			rh_put(&c->label, c->atoms[a]);
		}
		if (!n)
			rh_put(&c->label, "<Nothing>");
		return;
	}
	/* the labels' reprs sorted, joined; nothing for none */
	char **reprs = malloc((n ? n : 1) * sizeof(*reprs));
	CU_ASSERT_PTR_NOT_NULL_FATAL(reprs);
	for (size_t a = 0; a < n; a++) {
		reprs[a] = malloc(2 * RH_LABEL + 3);
		CU_ASSERT_PTR_NOT_NULL_FATAL(reprs[a]);
		py_repr(reprs[a], 2 * RH_LABEL + 3, c->atoms[a]);
	}
	qsort(reprs, n, sizeof(*reprs), compare_str);
	for (size_t a = 0; a < n; a++) {
		if (a)
			rh_put(&c->label, ", ");
		rh_put(&c->label, reprs[a]);
		free(reprs[a]);
	}
	free(reprs);
}

static int compare_class_key(const void *a, const void *b)
{
	const struct rh_class *x = a, *y = b;
	int d = strcmp(x->key.buf, y->key.buf);
	return d ? d : (x->obj > y->obj) - (x->obj < y->obj);
}

/* A brute-force row: classes[first .. first + count) share its atoms. */
struct rh_row {
	size_t first;
	uint64_t count;
	uint64_t size;
	const char *label;
};

static int compare_rows(const void *a, const void *b)
{
	const struct rh_row *x = a, *y = b;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->label, y->label);
}

/* What the random rounds met, so a quiet pass is not an empty one. */
static struct {
	uint32_t rows;
	uint32_t multi_atom_rows;   /* rows whose kind has 2 or more atoms */
	uint32_t shared_rows;       /* rows of 2 or more objects */
	uint32_t via_kinds;         /* bit k: an atom from a via of kind k */
} rh_seen;

/* GIVEN the heap h, opened as s, and the member flags in[]
 * WHEN  partitioned by (byvia or byrcs)
 * THEN  the rows are the brute force's, row by row in heapy's order
 *       (size descending, then label): label, count, size, members and
 *       atoms. */
static void rh_check(const struct rheap *h, const struct remora_snapshot *s,
		     const bool *in, enum remora_classifier by)
{
	static char kinds[RH_OBJECTS][RH_LABEL];
	static struct rh_class cls[RH_OBJECTS];
	static struct rh_row rows[RH_OBJECTS];
	static uint32_t ids[RH_OBJECTS];
	size_t n = 0;
	for (uint32_t i = 0; i < RH_OBJECTS; i++)
		rh_kind(h, i, kinds[i], RH_LABEL);
	for (uint32_t i = 0; i < RH_OBJECTS; i++) {
		if (!in[i])
			continue;
		ids[n] = remora_snapshot_node_find(s, rh_addr(i));
		rh_classify(h, i, by, kinds, &cls[n]);
		n++;
	}
	if (by == REMORA_BY_VIA) {
		for (size_t k = 0; k < h->n_edges + h->n_roots; k++) {
			const struct rh_ref *e = k < h->n_edges ? &h->edges[k]
								: &h->roots[k - h->n_edges];
			if (in[e->to])
				rh_seen.via_kinds |= 1u << remora_via_kind_of(e->via);
		}
	}
	qsort(cls, n, sizeof(*cls), compare_class_key);
	size_t nrows = 0;
	uint64_t total = 0;
	for (size_t k = 0; k < n; k++) {
		if (k == 0 || strcmp(cls[k - 1].key.buf, cls[k].key.buf))
			rows[nrows++] = (struct rh_row){ .first = k, .label = cls[k].label.buf };
		rows[nrows - 1].count++;
		rows[nrows - 1].size += h->obj[cls[k].obj].size;
		total += h->obj[cls[k].obj].size;
	}
	qsort(rows, nrows, sizeof(*rows), compare_rows);

	struct remora_idset *set = NULL;
	struct remora_partition *part = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_from_ids(s, ids, n, &set));
	CU_ASSERT_PTR_NULL_FATAL(remora_partition_create(set, by, &part));
	CU_ASSERT_EQUAL(remora_partition_count(part), n);
	CU_ASSERT_EQUAL(remora_partition_size(part), total);
	CU_ASSERT_EQUAL_FATAL(remora_partition_num_rows(part), nrows);
	bool ok = true;
	for (size_t r = 0; r < nrows && ok; r++) {
		const struct rh_row *w = &rows[r];
		const struct rh_class *c = &cls[w->first];
		const char *label = remora_partition_row_label(part, r);
		ok &= remora_partition_row_count(part, r) == w->count;
		ok &= remora_partition_row_size(part, r) == w->size;
		ok &= !strcmp(label, w->label);
		/* the members */
		struct remora_idset *rs = NULL;
		CU_ASSERT_PTR_NULL_FATAL(remora_partition_row_set(part, r, &rs));
		ok &= remora_idset_count(rs) == w->count;
		for (size_t k = w->first; k < w->first + w->count; k++)
			ok &= remora_idset_contains(rs, remora_snapshot_node_find(s, rh_addr(cls[k].obj)));
		remora_idset_destroy(rs);
		/* the atoms, as a set */
		uint32_t na = remora_partition_row_atom_count(part, r);
		ok &= na == c->n_atoms;
		if (ok && na) {
			const char **got = malloc(na * sizeof(*got));
			CU_ASSERT_PTR_NOT_NULL_FATAL(got);
			for (uint32_t a = 0; a < na; a++)
				got[a] = remora_partition_row_atom(part, r, a);
			qsort(got, na, sizeof(*got), compare_str);
			for (uint32_t a = 0; a < na; a++)
				ok &= !strcmp(got[a], c->atoms[a]);
			free(got);
		}
		if (!ok)
			fprintf(stderr, "\n%s row %zu: engine \"%s\" x %llu, %llu bytes;"
				" brute force \"%s\" x %llu, %llu bytes\n",
				by == REMORA_BY_VIA ? "byvia" : "byrcs", r, label,
				(unsigned long long)remora_partition_row_count(part, r),
				(unsigned long long)remora_partition_row_size(part, r),
				w->label, (unsigned long long)w->count,
				(unsigned long long)w->size);
		rh_seen.rows++;
		rh_seen.multi_atom_rows += c->n_atoms > 1;
		rh_seen.shared_rows += w->count > 1;
	}
	CU_ASSERT(ok);
	remora_partition_destroy(part);
	remora_idset_destroy(set);
	for (size_t k = 0; k < n; k++) {
		free(cls[k].atoms);
		free(cls[k].key.buf);
		free(cls[k].label.buf);
	}
}

/* GIVEN random heaps (fixed seed) WHEN all their objects, and a random
 * third of them, are partitioned byvia and byrcs THEN every row is the
 * brute force's; and the rounds met rows of several objects, kinds of
 * several atoms and atoms from every via kind the heaps write. */
static void test_random(void)
{
	static struct rheap h;
	static bool in[RH_OBJECTS];
	srand(20240612);
	for (int round = 0; round < RH_ROUNDS; round++) {
		rheap_make(&h);
		struct remora_snapshot *s = rheap_open(&h);
		for (int part = 0; part < 2; part++) {
			for (uint32_t i = 0; i < RH_OBJECTS; i++)
				in[i] = part == 0 || rand() % 3 == 0;
			rh_check(&h, s, in, REMORA_BY_VIA);
			rh_check(&h, s, in, REMORA_BY_RCS);
		}
		remora_snapshot_destroy(s);
	}
	const uint32_t kinds_written =
		1u << REMORA_VIA_UNKNOWN | 1u << REMORA_VIA_INDEX |
		1u << REMORA_VIA_DICT_VALUE | 1u << REMORA_VIA_DICT_KEY |
		1u << REMORA_VIA_ATTR | 1u << REMORA_VIA_FIELD |
		1u << REMORA_VIA_LOCAL | 1u << REMORA_VIA_SET_ITEM |
		1u << REMORA_VIA_ROOT | 1u << REMORA_VIA_STACK;
	CU_ASSERT_EQUAL(rh_seen.via_kinds, kinds_written);
	CU_ASSERT(rh_seen.multi_atom_rows > 0 && rh_seen.shared_rows > 0);
	printf("\n    (%u rows, %u of several objects, %u with several atoms) ",
	       rh_seen.rows, rh_seen.shared_rows, rh_seen.multi_atom_rows);
}

static void setup(void)
{
	snap = open_fixture();
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "fixture", setup },
		{ "edge labels", test_edge_labels },
		{ "root labels", test_root_labels },
		{ "path steps", test_path_steps },
		{ "byvia", test_byvia },
		{ "byrcs and selection", test_byrcs },
		{ "byvia and byrcs of objects nothing refers to", test_no_referrers_only },
		{ "selection by kind", test_select_kind },
		{ "combined classifier", test_combined },
		{ "byid", test_byid },
		{ "byvia and byrcs of random heaps, by brute force", test_random },
		{ NULL, NULL },
	};
	int status = unit_run("byrel", tests);
	remora_snapshot_destroy(snap);
	return status;
}
