/* test_byrel.c — relation labels (via.c) and the classifiers by incoming
 * references, byvia and byrcs (byrel.c), with symbolic selection's row
 * atoms and the combined classifier (partition.c), on a hand-built heap
 * whose answers are worked out by hand below.
 */
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
	CU_ASSERT_PTR_NOT_NULL(remora_partition_select_kind(part, key, 1, "<>", &sel));
	remora_partition_destroy(part);

	/* not a byvia or byrcs partition */
	part = partition(members, 5, REMORA_BY_TYPE);
	CU_ASSERT_PTR_NOT_NULL(remora_partition_select_kind(part, key, 1, "==", &sel));
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
	CU_ASSERT_PTR_NOT_NULL(remora_partition_create_and(all, by, 1, &part));
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
		{ "selection by kind", test_select_kind },
		{ "combined classifier", test_combined },
		{ "byid", test_byid },
		{ NULL, NULL },
	};
	int status = unit_run("byrel", tests);
	remora_snapshot_destroy(snap);
	return status;
}
