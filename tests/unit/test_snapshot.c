/* test_snapshot.c — the snapshot loader: round trips through the real
 * writer, every kind of damaged file (each must be a FORMAT error with
 * a clear message, never a crash), and saving a set (IdSet.dump) and
 * loading it back: the same graph, exactly the set's addresses.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "snapshot.h"
#include "snapshot_format.h"
#include "typename.h"
#include "unit.h"

enum {
	T_TYPE = 0x1000, T_DICT = 0x1100, T_STR = 0x1200, T_MOD = 0x1300,
	T_FOO = 0x1400, T_CODE = 0x1500,
	A_MOD = 0x20000, A_D1 = 0x20010, A_S1 = 0x20020, A_FOO = 0x20030,
	A_D2 = 0x20040, A_D3 = 0x20050,
};

static uint64_t via_field(enum remora_field f)
{
	return remora_via(REMORA_VIA_FIELD, f);
}

/* GIVEN a small heap: a module owning its dict, a Foo owning its
 * __dict__, an unowned dict, a dangling edge and a dangling root. */
static const char *write_basic(const char *name)
{
	struct unit_writer u;
	unit_writer_begin(&u, name);
	unit_type(&u, T_TYPE, "type", "builtins");
	unit_type(&u, T_DICT, "dict", "builtins");
	unit_node(&u, A_FOO, T_FOO, 48, "<Foo object>");
	unit_edge(&u, A_D1, via_field(REMORA_FIELD_DICT));
	unit_edge(&u, T_FOO, via_field(REMORA_FIELD_OB_TYPE));
	unit_node(&u, A_D1, T_DICT, 104, NULL);
	unit_edge(&u, A_S1, remora_via(REMORA_VIA_DICT_VALUE, A_S1));
	unit_node(&u, A_S1, T_STR, 53, "'hello'");
	unit_type(&u, T_STR, "str", "builtins");
	unit_root(&u, A_MOD, remora_via(REMORA_VIA_ROOT, REMORA_ROOT_MODULES));
	unit_node(&u, A_MOD, T_MOD, 72, "<module 'm'>");
	unit_edge(&u, A_D2, via_field(REMORA_FIELD_MD_DICT));
	unit_edge(&u, 0xdead0, remora_via(REMORA_VIA_ATTR, 0x1));
	unit_node(&u, A_D2, T_DICT, 1200, NULL);
	unit_node(&u, A_D3, T_DICT, 64, NULL);
	unit_root(&u, 0xbeef0, remora_via(REMORA_VIA_ROOT, REMORA_ROOT_SYSDICT));
	unit_type(&u, T_MOD, "module", "builtins");
	unit_type(&u, T_FOO, "Foo", "__main__");
	return unit_writer_end(&u, REMORA_SNAP_PARTIAL);
}

static struct remora_snapshot *open_ok(const char *path)
{
	struct remora_snapshot *snap = NULL;
	struct remora_error *err = remora_snapshot_open(path, &snap);
	if (err) {
		fprintf(stderr, "\nunexpected error: %s\n", remora_error_message(err));
		remora_error_destroy(err);
	}
	CU_ASSERT_PTR_NULL_FATAL(err);
	return snap;
}

/* The invariants of snapshot.h, checked on a loaded snapshot. */
static bool snapshot_valid(const struct remora_snapshot *snap)
{
	for (uint32_t i = 0; i < snap->node_count; i++) {
		if (i && snap->addr[i - 1] >= snap->addr[i])
			return false;
		if (snap->type[i] >= snap->type_count)
			return false;
		if (snap->edge_start[i] > snap->edge_end[i] ||
		    snap->edge_end[i] > snap->edge_count)
			return false;
		/* 1 and 6: 8-aligned addresses, each found at its id */
		if ((snap->addr[i] & 7) ||
		    remora_snapshot_node_find(snap, snap->addr[i]) != i)
			return false;
		/* 4: owners only for exact dicts */
		if (snap->owner[i] != REMORA_NO_NODE &&
		    (snap->type[i] != snap->dict_type ||
		     snap->owner[i] >= snap->node_count))
			return false;
	}
	for (uint64_t e = 0; e < snap->edge_count; e++) {
		if (snap->edge_target[e] >= snap->node_count)
			return false;
	}
	for (uint32_t r = 0; r < snap->root_count; r++) {
		if (snap->root_target[r] >= snap->node_count)
			return false;
	}
	return true;
}

/* Asserts that opening path fails with code, and with a message holding
 * needle (unless NULL).  Returns false if it unexpectedly succeeded. */
static bool expect_error(const char *path, enum remora_error_code code,
			 const char *needle)
{
	struct remora_snapshot *snap = NULL;
	struct remora_error *err = remora_snapshot_open(path, &snap);
	CU_ASSERT_PTR_NOT_NULL(err);
	if (!err) {
		remora_snapshot_destroy(snap);
		return false;
	}
	CU_ASSERT_EQUAL(remora_error_code(err), code);
	if (needle && !strstr(remora_error_message(err), needle)) {
		fprintf(stderr, "\nmessage %s lacks \"%s\"\n",
			remora_error_message(err), needle);
		CU_FAIL("error message");
	}
	remora_error_destroy(err);
	return true;
}

static void patch32(uint8_t *data, size_t off, uint32_t v)
{
	memcpy(data + off, &v, sizeof(v));
}

static void patch64(uint8_t *data, size_t off, uint64_t v)
{
	memcpy(data + off, &v, sizeof(v));
}

/* Offset of the k-th record with tag in the image (k from 0), or 0. */
static size_t find_record(const uint8_t *data, size_t len, uint32_t tag,
			  int k)
{
	size_t offs[256];
	size_t n = unit_record_offsets(data, len, offs, 256);
	for (size_t i = 0; i < n; i++) {
		uint32_t t;
		memcpy(&t, data + offs[i], 4);
		if (t == tag && k-- == 0)
			return offs[i];
	}
	return 0;
}

static void test_round_trip(void)
{
	/* WHEN the basic heap is written and loaded */
	struct remora_snapshot *snap = open_ok(write_basic("basic.remora"));

	/* THEN ids follow addresses, and every field survives */
	CU_ASSERT_EQUAL(remora_snapshot_node_count(snap), 6);
	CU_ASSERT(snapshot_valid(snap));
	CU_ASSERT_EQUAL(remora_snapshot_python_version(snap), 0x030b04f0);
	CU_ASSERT_EQUAL(remora_snapshot_flags(snap), REMORA_SNAP_PARTIAL);
	const uint64_t want_addr[] = { A_MOD, A_D1, A_S1, A_FOO, A_D2, A_D3 };
	const uint64_t want_size[] = { 72, 104, 53, 48, 1200, 64 };
	for (uint32_t i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL(remora_snapshot_node_address(snap, i), want_addr[i]);
		CU_ASSERT_EQUAL(remora_snapshot_node_size(snap, i), want_size[i]);
		/* unit_node: inline values for even sizes only */
		uint32_t inline_values = want_size[i] % 2 ? 0 : REMORA_NODE_INLINE_VALUES;
		CU_ASSERT_EQUAL(remora_snapshot_node_extra(snap, i),
				inline_values ? want_size[i] / 2 : 0);
		CU_ASSERT_EQUAL(remora_snapshot_node_flags(snap, i),
				REMORA_NODE_GC | inline_values);
		CU_ASSERT_EQUAL(remora_snapshot_node_find(snap, want_addr[i]), i);
		CU_ASSERT_EQUAL(remora_snapshot_node_find(snap, want_addr[i] + 4),
				REMORA_NO_NODE);
	}
	CU_ASSERT_EQUAL(remora_snapshot_node_find(snap, 0x20008), REMORA_NO_NODE);
	CU_ASSERT_EQUAL(remora_snapshot_node_find(snap, 0x7f0000000000), REMORA_NO_NODE);
	CU_ASSERT_EQUAL(remora_snapshot_node_find(snap, 1), REMORA_NO_NODE);
	CU_ASSERT_EQUAL(remora_snapshot_node_find(snap, UINT64_MAX), REMORA_NO_NODE);
	CU_ASSERT_EQUAL(remora_snapshot_total_size(snap), 72 + 104 + 53 + 48 + 1200 + 64);

	size_t len;
	const char *repr = remora_snapshot_node_repr(snap, 2, &len);
	CU_ASSERT(len == 7 && memcmp(repr, "'hello'", 7) == 0);
	repr = remora_snapshot_node_repr(snap, 1, &len);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_PTR_NULL(remora_snapshot_node_repr(snap, 6, &len));

	/* types: one per TYPE record, none synthetic */
	CU_ASSERT_EQUAL(remora_snapshot_type_count(snap), 5);
	uint32_t t_foo = remora_snapshot_node_type(snap, 3);
	CU_ASSERT_STRING_EQUAL(remora_snapshot_type_name(snap, t_foo), "Foo");
	CU_ASSERT_STRING_EQUAL(remora_snapshot_type_module(snap, t_foo), "__main__");
	CU_ASSERT_STRING_EQUAL(remora_snapshot_type_display(snap, t_foo), "__main__.Foo");
	CU_ASSERT_EQUAL(remora_snapshot_type_address(snap, t_foo), T_FOO);
	CU_ASSERT_STRING_EQUAL(remora_snapshot_type_display(snap,
		remora_snapshot_node_type(snap, 0)), "module");
	CU_ASSERT_STRING_EQUAL(remora_snapshot_type_display(snap,
		remora_snapshot_node_type(snap, 4)), "dict");
	CU_ASSERT_PTR_NULL(remora_snapshot_type_name(snap, 99));

	/* edges: file order kept, dangling ones dropped and counted */
	const uint32_t *targets;
	const uint64_t *vias;
	CU_ASSERT_EQUAL(remora_snapshot_node_edges(snap, 0, &targets, &vias), 1);
	CU_ASSERT_EQUAL(targets[0], 4);
	CU_ASSERT_EQUAL(vias[0], via_field(REMORA_FIELD_MD_DICT));
	CU_ASSERT_EQUAL(remora_snapshot_node_edges(snap, 3, &targets, &vias), 1);
	CU_ASSERT_EQUAL(targets[0], 1);
	CU_ASSERT_EQUAL(remora_snapshot_node_edges(snap, 1, &targets, &vias), 1);
	CU_ASSERT_EQUAL(targets[0], 2);
	CU_ASSERT_EQUAL(vias[0], remora_via(REMORA_VIA_DICT_VALUE, A_S1));
	CU_ASSERT_EQUAL(remora_snapshot_node_edges(snap, 5, &targets, &vias), 0);
	CU_ASSERT_EQUAL(remora_snapshot_edge_count(snap), 3);
	/* Foo -> its type (no NODE), module -> 0xdead0, root -> 0xbeef0 */
	CU_ASSERT_EQUAL(remora_snapshot_dangling_count(snap), 3);

	CU_ASSERT_EQUAL(remora_snapshot_root_count(snap), 1);
	const uint64_t *wheres;
	remora_snapshot_roots(snap, &targets, &vias, &wheres);
	CU_ASSERT_EQUAL(targets[0], 0);
	CU_ASSERT_EQUAL(vias[0], remora_via(REMORA_VIA_ROOT, REMORA_ROOT_MODULES));
	CU_ASSERT_EQUAL(wheres[0], remora_root_where(0, -1, -1));

	/* owners: module's dict, Foo's dict; D3 has none; non-dicts none */
	CU_ASSERT_EQUAL(remora_snapshot_node_owner(snap, 4), 0);
	CU_ASSERT_EQUAL(remora_snapshot_node_owner(snap, 1), 3);
	CU_ASSERT_EQUAL(remora_snapshot_node_owner(snap, 5), REMORA_NO_NODE);
	CU_ASSERT_EQUAL(remora_snapshot_node_owner(snap, 2), REMORA_NO_NODE);
	CU_ASSERT_STRING_EQUAL(remora_snapshot_path(snap),
			       unit_path("basic.remora"));
	remora_snapshot_destroy(snap);
	remora_snapshot_destroy(NULL);
}

static void test_owners(void)
{
	/* GIVEN a dict held through __dict__ by two objects, the higher one
	 * written first and both before the dict; a str held through
	 * __dict__; a dict held through a module's __dict__ */
	struct unit_writer u;
	unit_writer_begin(&u, "owners.remora");
	unit_type(&u, T_DICT, "dict", "builtins");
	unit_node(&u, 0x3000, T_FOO, 48, NULL);
	unit_edge(&u, 0x2000, via_field(REMORA_FIELD_DICT));
	unit_edge(&u, 0x5000, via_field(REMORA_FIELD_MD_DICT));
	unit_node(&u, 0x1000, T_FOO, 48, NULL);
	unit_edge(&u, 0x4000, via_field(REMORA_FIELD_DICT));
	unit_edge(&u, 0x2000, via_field(REMORA_FIELD_DICT));
	unit_node(&u, 0x2000, T_DICT, 104, NULL);
	unit_node(&u, 0x4000, T_STR, 50, NULL);
	unit_node(&u, 0x5000, T_DICT, 104, NULL);
	struct remora_snapshot *snap = open_ok(unit_writer_end(&u, 0));

	/* THEN the dict's owner is the lowest holder, the str has none, the
	 * module dict has its module */
	CU_ASSERT_EQUAL(remora_snapshot_node_owner(snap, 1), 0);
	CU_ASSERT_EQUAL(remora_snapshot_node_owner(snap, 3), REMORA_NO_NODE);
	CU_ASSERT_EQUAL(remora_snapshot_node_owner(snap, 4), 2);
	CU_ASSERT_EQUAL(remora_snapshot_node_owner(snap, 0), REMORA_NO_NODE);
	CU_ASSERT(snapshot_valid(snap));
	remora_snapshot_destroy(snap);
}

static void test_many_edges_split_records(void)
{
	/* GIVEN a node with more edges than the writer's buffer holds */
	enum { N_EDGES = 10000 };
	struct unit_writer u;
	unit_writer_begin(&u, "many.remora");
	unit_type(&u, 0x100, "list", "builtins");
	unit_node(&u, 0x5000, 0x100, 80056, NULL);
	for (uint64_t k = 0; k < N_EDGES; k++)
		unit_edge(&u, k % 2 ? 0x5000 : 0x6000, remora_via(REMORA_VIA_INDEX, k));
	unit_node(&u, 0x6000, 0x100, 56, NULL);
	const char *path = unit_writer_end(&u, 0);
	size_t len;
	uint8_t *data = unit_read_file(path, &len);
	CU_ASSERT(find_record(data, len, REMORA_REC_EDGES, 1) != 0);
	free(data);

	/* WHEN it is loaded THEN all edges are one CSR row, in order */
	struct remora_snapshot *snap = open_ok(path);
	const uint32_t *targets;
	const uint64_t *vias;
	CU_ASSERT_EQUAL_FATAL(remora_snapshot_node_edges(snap, 0, &targets, &vias), N_EDGES);
	for (uint64_t k = 0; k < N_EDGES; k++) {
		if (targets[k] != (k % 2 ? 0u : 1u) ||
		    vias[k] != remora_via(REMORA_VIA_INDEX, k)) {
			CU_FAIL("edge order");
			break;
		}
	}
	CU_ASSERT_EQUAL(remora_snapshot_node_edges(snap, 1, &targets, &vias), 0);
	remora_snapshot_destroy(snap);
}

static void test_records_longer_than_reads(void)
{
	/* GIVEN one EDGES record of 200,000 edges and one ROOTS record of
	 * 100,000 roots, each longer than the loader reads at a time (1 MiB),
	 * among nodes whose records straddle its reads: every third edge
	 * dangling, the others alternately to the two other nodes */
	enum { N_EDGES = 200000, N_ROOTS = 100000, N_SMALL = 40000 };
	struct unit_writer u;
	unit_writer_begin_big(&u, "long-records.remora", 8 << 20);
	unit_type(&u, 0x100, "list", "builtins");
	unit_node(&u, 0x5000, 0x100, 1600056, NULL);
	for (uint64_t k = 0; k < N_EDGES; k++)
		unit_edge(&u, k % 3 == 2 ? 0x9000 : k % 3 ? 0x5000 : 0x6000,
			  remora_via(REMORA_VIA_INDEX, k));
	unit_node(&u, 0x6000, 0x100, 57, NULL);
	for (uint32_t i = 0; i < N_SMALL; i++)
		unit_node(&u, 0x7f0000100000 + 64 * (uint64_t)i, 0x100, 56 + 2 * (i % 2),
			  i % 5 ? NULL : "a repr that makes the records uneven");
	for (uint64_t k = 0; k < N_ROOTS; k++)
		unit_root_where(&u, k % 2 ? 0x5000 : 0x6000, remora_via(REMORA_VIA_INDEX, k),
				remora_root_where(0, 0, (int64_t)(k % 7)));
	const char *path = unit_writer_end(&u, 0);
	size_t len;
	uint8_t *data = unit_read_file(path, &len);
	size_t edges_at = find_record(data, len, REMORA_REC_EDGES, 0);
	uint32_t n_in_record = 0;
	if (edges_at)
		memcpy(&n_in_record, data + edges_at + 4, 4);
	CU_ASSERT_EQUAL(n_in_record, N_EDGES);
	free(data);

	/* WHEN it is loaded THEN every edge, in order, and every root */
	struct remora_snapshot *snap = open_ok(path);
	CU_ASSERT_EQUAL_FATAL(remora_snapshot_node_count(snap), N_SMALL + 2);
	uint32_t big = remora_snapshot_node_find(snap, 0x5000);
	uint32_t other = remora_snapshot_node_find(snap, 0x6000);
	CU_ASSERT_FATAL(big != REMORA_NO_NODE && other != REMORA_NO_NODE);
	const uint32_t *targets;
	const uint64_t *vias;
	CU_ASSERT_EQUAL_FATAL(remora_snapshot_node_edges(snap, big, &targets, &vias),
			      N_EDGES - N_EDGES / 3);
	bool ok = true;
	uint32_t e = 0;
	for (uint64_t k = 0; k < N_EDGES && ok; k++) {
		if (k % 3 == 2)
			continue;
		ok &= targets[e] == (k % 3 ? big : other);
		ok &= vias[e] == remora_via(REMORA_VIA_INDEX, k);
		e++;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(remora_snapshot_dangling_count(snap), N_EDGES / 3);
	CU_ASSERT_EQUAL_FATAL(remora_snapshot_root_count(snap), N_ROOTS);
	const uint64_t *wheres;
	remora_snapshot_roots(snap, &targets, &vias, &wheres);
	for (uint64_t k = 0; k < N_ROOTS && ok; k++) {
		ok &= targets[k] == (k % 2 ? big : other);
		ok &= vias[k] == remora_via(REMORA_VIA_INDEX, k);
		ok &= wheres[k] == remora_root_where(0, 0, (int64_t)(k % 7));
	}
	CU_ASSERT(ok);
	for (uint32_t i = 0; i < N_SMALL && ok; i++) {
		uint32_t id = remora_snapshot_node_find(snap, 0x7f0000100000 + 64 * (uint64_t)i);
		ok &= id != REMORA_NO_NODE &&
		      remora_snapshot_node_size(snap, id) == 56 + 2 * (i % 2);
	}
	CU_ASSERT(ok);
	CU_ASSERT(snapshot_valid(snap));
	remora_snapshot_destroy(snap);
}

static void test_large_unsorted(void)
{
	/* GIVEN 50000 nodes at scattered addresses, each pointing at the next
	 * one written */
	enum { N = 50000 };
	uint64_t *addr = malloc(N * sizeof(*addr));
	srand(7);
	for (uint32_t i = 0; i < N; i++)
		addr[i] = 0x7f0000000000 + (((uint64_t)i * 2654435761u) % 1000003u) * 16;
	struct unit_writer u;
	unit_writer_begin(&u, "large.remora");
	unit_type(&u, 0x100, "int", "builtins");
	for (uint32_t i = 0; i < N; i++) {
		unit_node(&u, addr[i], 0x100, 28 + i % 3, NULL);
		unit_edge(&u, addr[(i + 1) % N], remora_via(REMORA_VIA_INDEX, i));
	}
	struct remora_snapshot *snap = open_ok(unit_writer_end(&u, 0));

	/* THEN ids are in address order and edges resolve to the right ids */
	CU_ASSERT_EQUAL_FATAL(remora_snapshot_node_count(snap), N);
	bool ok = true;
	for (uint32_t id = 1; id < N; id++)
		ok &= snap->addr[id - 1] < snap->addr[id];
	CU_ASSERT(ok);
	for (uint32_t i = 0; i < N && ok; i++) {
		uint32_t id = remora_snapshot_node_find(snap, addr[i]);
		const uint32_t *targets;
		const uint64_t *vias;
		ok &= id != REMORA_NO_NODE;
		ok &= remora_snapshot_node_edges(snap, id, &targets, &vias) == 1;
		ok &= remora_snapshot_node_address(snap, targets[0]) == addr[(i + 1) % N];
		ok &= vias[0] == remora_via(REMORA_VIA_INDEX, i);
		ok &= remora_snapshot_node_size(snap, id) == 28 + i % 3;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(remora_snapshot_dangling_count(snap), 0);
	CU_ASSERT(snapshot_valid(snap));
	remora_snapshot_destroy(snap);
	free(addr);
}

/* GIVEN objects over more 1 MiB chunks than the loader has bitmaps for
 * (a 4 MiB budget: 128 chunks, for a small heap), one to three objects a
 * chunk, written in an order unrelated to their addresses, each pointing
 * at the next one written, at a word in its chunk with no object, and at
 * an unaligned address. */
enum { SCATTER_CHUNKS = 400 };

static uint32_t write_scattered(struct unit_writer *u, const char *name,
				uint64_t *addr)
{
	uint32_t n = 0;
	for (uint32_t c = 0; c < SCATTER_CHUNKS; c++) {
		/* chunks in a scrambled order, 0x7f.. and low addresses both */
		uint64_t chunk = (c % 2 ? UINT64_C(0x7f0000000000) : UINT64_C(0x1000000)) +
				 ((uint64_t)(c * 7919u % 1000u) << 20);
		for (uint32_t k = 0; k <= c % 3; k++)
			addr[n++] = chunk + 0xffff8 - 0x40 * k * (c + 1);
	}
	unit_writer_begin(u, name);
	unit_type(u, 0x100, "int", "builtins");
	for (uint32_t i = 0; i < n; i++) {
		unit_node(u, addr[i], 0x100, 28 + i % 2, NULL);
		unit_edge(u, addr[(i + 1) % n], remora_via(REMORA_VIA_INDEX, i));
		unit_edge(u, addr[i] - 8, remora_via(REMORA_VIA_INDEX, 0));
		unit_edge(u, addr[i] + 1, remora_via(REMORA_VIA_INDEX, 0));
	}
	return n;
}

static void test_scattered_heap(void)
{
	uint64_t addr[SCATTER_CHUNKS * 3];
	struct unit_writer u;
	uint32_t n = write_scattered(&u, "scattered.remora", addr);
	struct remora_snapshot *snap = open_ok(unit_writer_end(&u, 0));

	/* THEN both kinds of chunk are in use */
	uint32_t dense = 0, sparse = 0;
	for (uint64_t s = 0; s <= snap->chunk_mask; s++) {
		if (snap->chunks[s].count)
			snap->chunks[s].words ? dense++ : sparse++;
	}
	CU_ASSERT_EQUAL(dense + sparse, SCATTER_CHUNKS);
	CU_ASSERT(dense > 0 && sparse > 0);
	CU_ASSERT(snapshot_valid(snap));

	/* THEN ids are address order, every object and edge is found, and
	 * the addresses without objects are dangling */
	CU_ASSERT_EQUAL_FATAL(remora_snapshot_node_count(snap), n);
	bool ok = true;
	for (uint32_t id = 1; id < n; id++)
		ok &= snap->addr[id - 1] < snap->addr[id];
	CU_ASSERT(ok);
	for (uint32_t i = 0; i < n && ok; i++) {
		uint32_t id = remora_snapshot_node_find(snap, addr[i]);
		const uint32_t *targets;
		const uint64_t *vias;
		ok &= id != REMORA_NO_NODE && snap->addr[id] == addr[i];
		ok &= remora_snapshot_node_edges(snap, id, &targets, &vias) == 1;
		ok &= remora_snapshot_node_address(snap, targets[0]) == addr[(i + 1) % n];
		ok &= vias[0] == remora_via(REMORA_VIA_INDEX, i);
		ok &= remora_snapshot_node_find(snap, addr[i] - 8) == REMORA_NO_NODE;
		ok &= remora_snapshot_node_find(snap, addr[i] + 8) == REMORA_NO_NODE;
		ok &= remora_snapshot_node_find(snap, addr[i] + (UINT64_C(1) << 30)) ==
		      REMORA_NO_NODE;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(remora_snapshot_edge_count(snap), n);
	CU_ASSERT_EQUAL(remora_snapshot_dangling_count(snap), 2 * n);
	remora_snapshot_destroy(snap);
}

static void test_scattered_duplicates(void)
{
	/* GIVEN the scattered heap with a second NODE for an object of the
	 * last chunk written (a sparse one), or of the first (a dense one)
	 * THEN a FORMAT error names both records */
	uint64_t addr[SCATTER_CHUNKS * 3];
	struct unit_writer u;
	char want[64];
	uint32_t n = write_scattered(&u, "scatterdup.remora", addr);
	unit_node(&u, addr[n - 1], 0x100, 29, NULL);
	snprintf(want, sizeof(want), "for address 0x%llx",
		 (unsigned long long)addr[n - 1]);
	expect_error(unit_writer_end(&u, 0), REMORA_ERROR_FORMAT, want);

	n = write_scattered(&u, "scatterdup2.remora", addr);
	unit_node(&u, addr[0], 0x100, 29, NULL);
	snprintf(want, sizeof(want), "for address 0x%llx",
		 (unsigned long long)addr[0]);
	expect_error(unit_writer_end(&u, 0), REMORA_ERROR_FORMAT, want);
}

static void test_node_encoding(void)
{
	/* GIVEN NODE records with and without inline values and reprs, one
	 * with extra but no flag, one with flags past bit 23 and one with a
	 * 300-byte repr */
	static const char long_repr[301] = { [0 ... 299] = 'x' };
	static const struct {
		uint64_t extra;
		uint32_t flags;
		const char *repr;
		size_t record;   /* bytes on disk, head included */
		uint64_t extra_back;
		uint32_t flags_back;
		size_t repr_back;
	} cases[] = {
		{ 0, 0, NULL, 32, 0, 0, 0 },
		{ 7, REMORA_NODE_INLINE_VALUES, NULL, 40, 7, REMORA_NODE_INLINE_VALUES, 0 },
		{ 0, REMORA_NODE_GC, "abc", 40, 0, REMORA_NODE_GC, 3 },
		{ 9, REMORA_NODE_INLINE_VALUES, "12345678", 48, 9, REMORA_NODE_INLINE_VALUES, 8 },
		{ 5, REMORA_NODE_TYPE, NULL, 32, 0, REMORA_NODE_TYPE, 0 },
		{ 0, REMORA_NODE_GC | 1u << 24, NULL, 32, 0, REMORA_NODE_GC, 0 },
		{ 0, 0, long_repr, 32 + 256, 0, 0, 255 },
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct unit_writer u;
	unit_writer_begin(&u, "encoding.remora");
	for (uint32_t i = 0; i < N; i++) {
		struct remora_rec_node node = {
			.address = 0x1000 + 0x10 * i,
			.type = 0x100,
			.size = 100 + i,
			.extra = cases[i].extra,
			.flags = cases[i].flags,
		};
		remora_writer_node(&u.w, &node, cases[i].repr,
				   cases[i].repr ? strlen(cases[i].repr) : 0);
	}
	const char *path = unit_writer_end(&u, 0);
	size_t len, offs[N + 1];
	uint8_t *data = unit_read_file(path, &len);
	CU_ASSERT_EQUAL_FATAL(unit_record_offsets(data, len, offs, N + 1), N + 1);
	free(data);

	/* THEN each record has its length and reads back as written, less
	 * what the format cannot hold */
	struct remora_snapshot *snap = open_ok(path);
	for (uint32_t i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(offs[i + 1] - offs[i], cases[i].record);
		CU_ASSERT_EQUAL(remora_snapshot_node_size(snap, i), 100 + i);
		CU_ASSERT_EQUAL(remora_snapshot_node_extra(snap, i), cases[i].extra_back);
		CU_ASSERT_EQUAL(remora_snapshot_node_flags(snap, i), cases[i].flags_back);
		/* and the bulk accessor gives the same, for ids in any order */
		uint32_t id = N - 1 - i, t = 0, f = 0;
		uint64_t a = 0;
		remora_snapshot_nodes_info(snap, &id, 1, &a, &t, &f);
		CU_ASSERT_EQUAL(a, 0x1000 + 0x10 * id);
		CU_ASSERT_EQUAL(t, remora_snapshot_node_type(snap, id));
		CU_ASSERT_EQUAL(f, cases[id].flags_back);
		size_t repr_len;
		const char *repr = remora_snapshot_node_repr(snap, i, &repr_len);
		CU_ASSERT_EQUAL(repr_len, cases[i].repr_back);
		if (repr_len)
			CU_ASSERT(memcmp(repr, cases[i].repr, repr_len) == 0);
	}
	remora_snapshot_destroy(snap);
}

static void test_empty_snapshot(void)
{
	/* GIVEN a file with a header and END only THEN it loads, empty */
	struct unit_writer u;
	unit_writer_begin(&u, "empty.remora");
	struct remora_snapshot *snap = open_ok(unit_writer_end(&u, 0));
	CU_ASSERT_EQUAL(remora_snapshot_node_count(snap), 0);
	CU_ASSERT_EQUAL(remora_snapshot_edge_count(snap), 0);
	CU_ASSERT_EQUAL(remora_snapshot_node_find(snap, 0x1000), REMORA_NO_NODE);
	remora_snapshot_destroy(snap);
}

static void test_unknown_type_is_synthetic(void)
{
	/* GIVEN nodes whose type has no TYPE record (one of them type 0) */
	struct unit_writer u;
	unit_writer_begin(&u, "notype.remora");
	unit_node(&u, 0x100, 0xabc0, 16, NULL);
	unit_node(&u, 0x200, 0xabc0, 16, NULL);
	unit_node(&u, 0x300, 0, 16, NULL);
	unit_node(&u, 0x400, 0, 16, NULL);
	struct remora_snapshot *snap = open_ok(unit_writer_end(&u, 0));
	/* THEN each unknown type gets one entry, shared by its objects */
	CU_ASSERT_EQUAL(remora_snapshot_type_count(snap), 2);
	CU_ASSERT_EQUAL(remora_snapshot_node_type(snap, 0), remora_snapshot_node_type(snap, 1));
	CU_ASSERT_EQUAL(remora_snapshot_node_type(snap, 2), remora_snapshot_node_type(snap, 3));
	CU_ASSERT_STRING_EQUAL(remora_snapshot_type_display(snap,
		remora_snapshot_node_type(snap, 0)), "<type 0xabc0>");
	CU_ASSERT_STRING_EQUAL(remora_snapshot_type_display(snap,
		remora_snapshot_node_type(snap, 2)), "<type 0x0>");
	remora_snapshot_destroy(snap);
}

static void test_truncated_everywhere(void)
{
	/* GIVEN a valid file WHEN cut at every length short of its own THEN
	 * each prefix is a FORMAT error */
	size_t len;
	uint8_t *data = unit_read_file(write_basic("whole.remora"), &len);
	const char *cut = unit_path("cut.remora");
	for (size_t n = 0; n < len; n++) {
		unit_write_file(cut, data, n);
		if (!expect_error(cut, REMORA_ERROR_FORMAT, NULL)) {
			fprintf(stderr, "\nprefix of %zu bytes loaded\n", n);
			break;
		}
	}
	free(data);
}

static void test_truncated_at_record_boundaries(void)
{
	/* GIVEN cuts exactly between records THEN the error says the END
	 * record is missing; cuts inside a head say "truncated" */
	size_t len, offs[64];
	uint8_t *data = unit_read_file(write_basic("whole2.remora"), &len);
	size_t n = unit_record_offsets(data, len, offs, 64);
	CU_ASSERT(n > 10);
	const char *cut = unit_path("cut2.remora");
	for (size_t i = 0; i < n; i++) {
		unit_write_file(cut, data, offs[i]);
		expect_error(cut, REMORA_ERROR_FORMAT, "no END record");
		unit_write_file(cut, data, offs[i] + 4);
		expect_error(cut, REMORA_ERROR_FORMAT, "truncated record head");
		unit_write_file(cut, data, offs[i] + 8);
		uint32_t tag;
		memcpy(&tag, data + offs[i], 4);
		uint32_t count;
		memcpy(&count, data + offs[i] + 4, 4);
		if (tag != REMORA_REC_EDGES && tag != REMORA_REC_ROOTS)
			expect_error(cut, REMORA_ERROR_FORMAT, "truncated");
	}
	unit_write_file(cut, data, 20);
	expect_error(cut, REMORA_ERROR_FORMAT, "shorter than the 32-byte header");
	free(data);
}

static void test_bad_header(void)
{
	size_t len;
	uint8_t *data = unit_read_file(write_basic("hdr.remora"), &len);
	const char *bad = unit_path("badhdr.remora");
	uint8_t *copy = malloc(len);

	memcpy(copy, data, len);
	copy[1] = 'X';
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT, "bad magic");

	memcpy(copy, data, len);
	patch32(copy, 8, 6);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT, "format version 6");

	/* a version-4 file (no NyHeapDef flag or via) is read as it was */
	memcpy(copy, data, len);
	patch32(copy, 8, 4);
	unit_write_file(bad, copy, len);
	{
		struct remora_snapshot *snap = NULL;
		struct remora_error *err = remora_snapshot_open(bad, &snap);
		CU_ASSERT_PTR_NULL(err);
		if (err)
			remora_error_destroy(err);
		else
			remora_snapshot_destroy(snap);
	}

	/* a version-3 file (16-bit frame depths in where words) is refused
	 * by its header */
	memcpy(copy, data, len);
	patch32(copy, 8, 3);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT,
		     "format version 3, this remora reads versions 4 and 5");

	/* a version-2 file (16-byte ROOTS entries) is refused by its header */
	memcpy(copy, data, len);
	patch32(copy, 8, 2);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT,
		     "format version 2, this remora reads versions 4 and 5");

	/* a version-1 file (48-byte NODE payloads) is refused by its header */
	memcpy(copy, data, len);
	patch32(copy, 8, 1);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT,
		     "format version 1, this remora reads versions 4 and 5");

	memcpy(copy, data, len);
	patch32(copy, 12, 40);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT, "header size 40");

	memcpy(copy, data, len);
	patch64(copy, 24, 4);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT, "pointer size 4");
	free(copy);
	free(data);
}

static void test_end_counts(void)
{
	/* GIVEN each END count off by one either way THEN a FORMAT error */
	size_t len;
	uint8_t *data = unit_read_file(write_basic("end.remora"), &len);
	size_t end = find_record(data, len, REMORA_REC_END, 0);
	CU_ASSERT_FATAL(end == len - 40);
	const char *bad = unit_path("badend.remora");
	uint8_t *copy = malloc(len);
	for (int field = 0; field < 4; field++) {
		for (int delta = -1; delta <= 1; delta += 2) {
			memcpy(copy, data, len);
			uint64_t v;
			memcpy(&v, copy + end + 8 + 8 * field, 8);
			patch64(copy, end + 8 + 8 * field, v + (uint64_t)(int64_t)delta);
			unit_write_file(bad, copy, len);
			expect_error(bad, REMORA_ERROR_FORMAT, "END record");
		}
	}
	/* absurd counts are refused before anything is allocated */
	memcpy(copy, data, len);
	patch64(copy, end + 8, UINT64_C(1) << 60);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT, "cannot fit");
	/* END with n != 0 */
	memcpy(copy, data, len);
	patch32(copy, end + 4, 1);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT, "END record at offset");
	free(copy);
	free(data);
}

static void test_edges_count_lies(void)
{
	size_t len;
	uint8_t *data = unit_read_file(write_basic("lies.remora"), &len);
	size_t edges = find_record(data, len, REMORA_REC_EDGES, 0);
	size_t roots = find_record(data, len, REMORA_REC_ROOTS, 0);
	CU_ASSERT_FATAL(edges && roots);
	const char *bad = unit_path("badlies.remora");
	uint8_t *copy = malloc(len);
	const uint32_t lies[] = { 0, 1, 3, 4, 1000, 0x0fffffff, UINT32_MAX };
	const size_t records[] = { edges, roots };
	for (size_t r = 0; r < 2; r++) {
		uint32_t n;
		memcpy(&n, data + records[r] + 4, 4);
		for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
			if (n == lies[i])
				continue;
			memcpy(copy, data, len);
			patch32(copy, records[r] + 4, lies[i]);
			unit_write_file(bad, copy, len);
			expect_error(bad, REMORA_ERROR_FORMAT, NULL);
		}
	}
	/* an EDGES count running past the file names the record */
	memcpy(copy, data, len);
	patch32(copy, edges + 4, 0x0fffffff);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT, "truncated EDGES record");
	free(copy);
	free(data);
}

static void test_unknown_tag(void)
{
	size_t len;
	uint8_t *data = unit_read_file(write_basic("tag.remora"), &len);
	size_t type = find_record(data, len, REMORA_REC_TYPE, 1);
	patch32(data, type, 77);
	const char *bad = unit_path("badtag.remora");
	unit_write_file(bad, data, len);
	expect_error(bad, REMORA_ERROR_FORMAT, "unknown record tag 0x4d");
	free(data);
}

static void test_bad_records(void)
{
	size_t len;
	uint8_t *data = unit_read_file(write_basic("rec.remora"), &len);
	const char *bad = unit_path("badrec.remora");
	uint8_t *copy = malloc(len + 8);

	/* TYPE lengths that do not add up */
	memcpy(copy, data, len);
	size_t type = find_record(copy, len, REMORA_REC_TYPE, 0);
	copy[type + 8 + 16] = 3; /* name_len 4 -> 3 */
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT, "lengths");

	/* node flags this version does not define (they could change the
	 * record's length) */
	memcpy(copy, data, len);
	size_t node = find_record(copy, len, REMORA_REC_NODE, 0);
	uint32_t n;
	memcpy(&n, copy + node + 4, 4);
	patch32(copy, node + 4, n | 1u << 31);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT, "unknown flags 0x80");

	/* an object address that is not 8-aligned */
	memcpy(copy, data, len);
	patch64(copy, node + 8, A_FOO + 4);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT, "0x20034 is not 8-aligned");

	/* the inline-values flag toggled on the last NODE: its record's
	 * length changes by 8 and the records after it are misread */
	memcpy(copy, data, len);
	node = find_record(copy, len, REMORA_REC_NODE, 5);
	memcpy(&n, copy + node + 4, 4);
	patch32(copy, node + 4, n ^ REMORA_NODE_INLINE_VALUES << REMORA_NODE_FLAGS_SHIFT);
	unit_write_file(bad, copy, len);
	expect_error(bad, REMORA_ERROR_FORMAT, NULL);

	/* bytes after END */
	memcpy(copy, data, len);
	memset(copy + len, 0, 8);
	unit_write_file(bad, copy, len + 8);
	expect_error(bad, REMORA_ERROR_FORMAT, "after the END record");
	free(copy);
	free(data);
}

static void test_duplicate_and_misplaced(void)
{
	struct unit_writer u;
	/* two NODE records for one address */
	unit_writer_begin(&u, "dup.remora");
	unit_node(&u, 0x100, 0x10, 16, NULL);
	unit_node(&u, 0x200, 0x10, 16, NULL);
	unit_node(&u, 0x100, 0x10, 24, NULL);
	/* records of 40 bytes (inline values, no repr) from offset 32 */
	expect_error(unit_writer_end(&u, 0), REMORA_ERROR_FORMAT,
		     "(offsets 32 and 112) for address 0x100");

	/* two TYPE records for one type */
	unit_writer_begin(&u, "duptype.remora");
	unit_type(&u, 0x10, "int", "builtins");
	unit_type(&u, 0x10, "str", "builtins");
	expect_error(unit_writer_end(&u, 0), REMORA_ERROR_FORMAT,
		     "a second TYPE record");

	/* EDGES before any NODE */
	unit_writer_begin(&u, "orphan.remora");
	unit_edge(&u, 0x100, 0);
	unit_node(&u, 0x100, 0x10, 16, NULL);
	expect_error(unit_writer_end(&u, 0), REMORA_ERROR_FORMAT,
		     "follows no NODE");

	/* EDGES after a TYPE record */
	unit_writer_begin(&u, "orphan2.remora");
	unit_node(&u, 0x100, 0x10, 16, NULL);
	unit_type(&u, 0x10, "int", "builtins");
	unit_edge(&u, 0x100, 0);
	expect_error(unit_writer_end(&u, 0), REMORA_ERROR_FORMAT,
		     "follows no NODE");

	/* an object at address 0; a type at address 0 */
	unit_writer_begin(&u, "zero.remora");
	unit_node(&u, 0, 0x10, 16, NULL);
	expect_error(unit_writer_end(&u, 0), REMORA_ERROR_FORMAT, "address 0");
	unit_writer_begin(&u, "zerotype.remora");
	unit_type(&u, 0, "int", "builtins");
	expect_error(unit_writer_end(&u, 0), REMORA_ERROR_FORMAT, "address 0");
}

static void test_os_errors(void)
{
	struct remora_snapshot *snap = NULL;
	const char *missing = unit_path("missing.remora");
	struct remora_error *err = remora_snapshot_open(missing, &snap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_OS);
	CU_ASSERT_EQUAL(remora_error_errno(err), ENOENT);
	CU_ASSERT_STRING_EQUAL(remora_error_path(err), missing);
	CU_ASSERT_PTR_NOT_NULL(strstr(remora_error_message(err), "No such file"));
	remora_error_destroy(err);

	const char *dir = unit_path("adir");
	mkdir(dir, 0700);
	expect_error(dir, REMORA_ERROR_INVALID_ARGUMENT, "not a regular file");

	/* the static out-of-memory error survives destroy */
	remora_error_destroy(&remora_error_no_memory);
	remora_error_destroy(NULL);
	CU_ASSERT_STRING_EQUAL(remora_error_message(&remora_error_no_memory),
			       "out of memory");
	CU_ASSERT_EQUAL(remora_error_code(NULL), REMORA_ERROR_OK);
}

/* Random damage (byte flips, word overwrites, truncations) to the valid
 * file at path: loading either fails cleanly or yields a snapshot that
 * keeps its invariants.  Returns how many damaged files loaded. */
static int fuzz_file(const char *path, int rounds, unsigned seed)
{
	size_t len;
	uint8_t *data = unit_read_file(path, &len);
	uint8_t *copy = malloc(len);
	const char *bad = unit_path("badfuzz.remora");
	srand(seed);
	int loaded = 0;
	for (int round = 0; round < rounds; round++) {
		memcpy(copy, data, len);
		size_t n = len;
		int flips = 1 + rand() % 4;
		for (int f = 0; f < flips; f++) {
			size_t at = 32 + (size_t)rand() % (len - 32);
			switch (rand() % 3) {
			case 0: copy[at] ^= (uint8_t)(1u << (rand() % 8)); break;
			case 1: copy[at] = (uint8_t)rand(); break;
			default:
				if (at + 4 <= len)
					patch32(copy, at & ~(size_t)3, (uint32_t)rand());
			}
		}
		if (rand() % 8 == 0)
			n = 32 + (size_t)rand() % (len - 32);
		unit_write_file(bad, copy, n);
		struct remora_snapshot *snap = NULL;
		struct remora_error *err = remora_snapshot_open(bad, &snap);
		if (err) {
			CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_FORMAT);
			remora_error_destroy(err);
			continue;
		}
		loaded++;
		CU_ASSERT(snapshot_valid(snap));
		remora_snapshot_destroy(snap);
	}
	free(copy);
	free(data);
	return loaded;
}

static void test_fuzz(void)
{
	/* GIVEN random damage to the basic heap, and to a scattered one (both
	 * kinds of index chunk) THEN no crash, and some damage is harmless
	 * (sizes, reprs, vias) */
	CU_ASSERT(fuzz_file(write_basic("fuzz.remora"), 3000, 12345) > 0);
	uint64_t addr[SCATTER_CHUNKS * 3];
	struct unit_writer u;
	write_scattered(&u, "fuzz2.remora", addr);
	CU_ASSERT(fuzz_file(unit_writer_end(&u, 0), 300, 54321) > 0);
}

/* Whether a and b hold the same graph: header fields, every object
 * (address, type name and module, size, extra, flags, repr), its edges
 * (target addresses and vias, in order), and the roots (target
 * addresses, vias and where words, in order). */
static bool same_graph(const struct remora_snapshot *a,
		       const struct remora_snapshot *b)
{
	uint32_t n = remora_snapshot_node_count(a);
	if (n != remora_snapshot_node_count(b) ||
	    remora_snapshot_edge_count(a) != remora_snapshot_edge_count(b) ||
	    remora_snapshot_root_count(a) != remora_snapshot_root_count(b) ||
	    remora_snapshot_type_count(a) != remora_snapshot_type_count(b) ||
	    remora_snapshot_python_version(a) != remora_snapshot_python_version(b) ||
	    remora_snapshot_flags(a) != remora_snapshot_flags(b))
		return false;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t ta = remora_snapshot_node_type(a, i);
		uint32_t tb = remora_snapshot_node_type(b, i);
		size_t la, lb;
		const char *ra = remora_snapshot_node_repr(a, i, &la);
		const char *rb = remora_snapshot_node_repr(b, i, &lb);
		if (remora_snapshot_node_address(a, i) != remora_snapshot_node_address(b, i) ||
		    remora_snapshot_node_size(a, i) != remora_snapshot_node_size(b, i) ||
		    remora_snapshot_node_extra(a, i) != remora_snapshot_node_extra(b, i) ||
		    remora_snapshot_node_flags(a, i) != remora_snapshot_node_flags(b, i) ||
		    remora_snapshot_type_address(a, ta) != remora_snapshot_type_address(b, tb) ||
		    strcmp(remora_snapshot_type_name(a, ta), remora_snapshot_type_name(b, tb)) ||
		    strcmp(remora_snapshot_type_module(a, ta), remora_snapshot_type_module(b, tb)) ||
		    la != lb || (la && memcmp(ra, rb, la)))
			return false;
		const uint32_t *ea, *eb;
		const uint64_t *va, *vb;
		uint32_t ne = remora_snapshot_node_edges(a, i, &ea, &va);
		if (ne != remora_snapshot_node_edges(b, i, &eb, &vb))
			return false;
		for (uint32_t k = 0; k < ne; k++) {
			if (remora_snapshot_node_address(a, ea[k]) !=
			    remora_snapshot_node_address(b, eb[k]) || va[k] != vb[k])
				return false;
		}
	}
	const uint32_t *rta, *rtb;
	const uint64_t *rva, *rvb, *rwa, *rwb;
	remora_snapshot_roots(a, &rta, &rva, &rwa);
	remora_snapshot_roots(b, &rtb, &rvb, &rwb);
	for (uint32_t r = 0; r < remora_snapshot_root_count(a); r++) {
		if (remora_snapshot_node_address(a, rta[r]) !=
		    remora_snapshot_node_address(b, rtb[r]) ||
		    rva[r] != rvb[r] || rwa[r] != rwb[r])
			return false;
	}
	return true;
}

/* The addresses of the SET records of the file at path, in file order
 * (at most cap), read from the bytes themselves. */
static size_t file_set_addresses(const char *path, uint64_t *out, size_t cap)
{
	size_t len, n = 0;
	uint8_t *data = unit_read_file(path, &len);
	size_t max = len / 8;
	size_t *offs = malloc(max * sizeof(*offs));
	CU_ASSERT_PTR_NOT_NULL_FATAL(offs);
	size_t records = unit_record_offsets(data, len, offs, max);
	for (size_t i = 0; i < records; i++) {
		struct remora_rec_head h;
		memcpy(&h, data + offs[i], sizeof(h));
		if (h.tag != REMORA_REC_SET)
			continue;
		for (uint32_t k = 0; k < h.n && n < cap; k++)
			memcpy(&out[n++], data + offs[i] + 8 + 8 * (size_t)k, 8);
	}
	free(offs);
	free(data);
	return n;
}

/* THEN the file at path lists exactly want[0..n) in its SET records, and
 * snap, opened from it, gives back exactly the objects at those
 * addresses. */
static void check_saved(const char *path, const struct remora_snapshot *snap,
			const uint64_t *want, size_t n)
{
	uint64_t *got = malloc((n + 1) * sizeof(*got));
	uint32_t *ids = malloc((n + 1) * sizeof(*ids));
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
	CU_ASSERT_EQUAL(file_set_addresses(path, got, n + 1), n);
	CU_ASSERT(memcmp(got, want, n * sizeof(*want)) == 0);

	struct remora_idset *back = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_saved(snap, &back));
	CU_ASSERT_EQUAL(remora_idset_count(back), n);
	size_t k = remora_idset_ids(back, 0, ids, n + 1);
	CU_ASSERT_EQUAL(k, n);
	bool same = k == n;
	for (size_t i = 0; same && i < n; i++)
		same = remora_snapshot_node_address(snap, ids[i]) == want[i];
	CU_ASSERT(same);
	remora_idset_destroy(back);
	free(ids);
	free(got);
}

/* The set of the objects at addrs[0..n) (each must be one). */
static struct remora_idset *set_at(const struct remora_snapshot *snap,
				   const uint64_t *addrs, size_t n)
{
	uint32_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
	for (size_t i = 0; i < n; i++) {
		ids[i] = remora_snapshot_node_find(snap, addrs[i]);
		CU_ASSERT_FATAL(ids[i] != REMORA_NO_NODE);
	}
	struct remora_idset *set = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_from_ids(snap, ids, n, &set));
	free(ids);
	return set;
}

/* GIVEN the basic snapshot and the objects at A_D1, A_FOO and A_D2
 * WHEN  the set is saved, the file opened and saved again with another set
 * THEN  the saved file has the same graph, lists exactly those addresses
 *       and gives exactly those objects back (the original gives all
 *       objects), the second save replaces the first set, and a SET
 *       naming no object is refused. */
static void test_save_set(void)
{
	struct remora_snapshot *snap = open_ok(write_basic("save.remora"));
	static const uint64_t pick[] = { A_D1, A_FOO, A_D2 };
	struct remora_idset *set = set_at(snap, pick, 3), *all = NULL, *every = NULL;
	CU_ASSERT_PTR_NULL(remora_idset_create_saved(snap, &all));
	CU_ASSERT_PTR_NULL(remora_idset_create_all(snap, &every));
	CU_ASSERT(remora_idset_equal(all, every));
	CU_ASSERT_PTR_NULL(remora_idset_save(set, unit_path("saved.remora")));

	struct remora_snapshot *again = open_ok(unit_path("saved.remora"));
	CU_ASSERT(same_graph(snap, again));
	check_saved(unit_path("saved.remora"), again, pick, 3);

	/* saving from a file with SET records drops them first */
	static const uint64_t one[] = { A_S1 };
	struct remora_idset *single = set_at(again, one, 1);
	CU_ASSERT_PTR_NULL(remora_idset_save(single, unit_path("saved.remora")));
	struct remora_snapshot *third = open_ok(unit_path("saved.remora"));
	CU_ASSERT(same_graph(snap, third));
	check_saved(unit_path("saved.remora"), third, one, 1);

	/* a SET address without a NODE record */
	size_t len;
	uint8_t *data = unit_read_file(unit_path("saved.remora"), &len);
	size_t at = find_record(data, len, REMORA_REC_SET, 0);
	CU_ASSERT(at != 0);
	if (at) {
		uint64_t wild = 0xdead0;
		memcpy(data + at + 8, &wild, 8);
		const char *bad = unit_path("badset.remora");
		unit_write_file(bad, data, len);
		expect_error(bad, REMORA_ERROR_FORMAT, "names 0xdead0");
	}
	free(data);
	remora_idset_destroy(single);
	remora_idset_destroy(set);
	remora_idset_destroy(every);
	remora_idset_destroy(all);
	remora_snapshot_destroy(third);
	remora_snapshot_destroy(again);
	remora_snapshot_destroy(snap);
}

enum { SAVE_BIG = 80000 };

/* GIVEN a heap of SAVE_BIG objects, each holding the next, and two sets of
 * them: all but every 13th (a bitset, more members than one SET record
 * takes) and every 1000th (an array)
 * WHEN  each is saved and the file opened
 * THEN  the file lists exactly the set's addresses, ascending, and gives
 *       exactly those objects back, with the whole graph. */
static void test_save_big_set(void)
{
	struct unit_writer u;
	unit_writer_begin(&u, "big.remora");
	unit_type(&u, T_DICT, "dict", "builtins");
	unit_root(&u, 0x100000, remora_via(REMORA_VIA_ROOT, REMORA_ROOT_GC));
	for (uint32_t i = 0; i < SAVE_BIG; i++) {
		unit_node(&u, 0x100000 + (uint64_t)i * 16, T_DICT, 64 + i % 7, NULL);
		if (i + 1 < SAVE_BIG)
			unit_edge(&u, 0x100000 + (uint64_t)(i + 1) * 16,
				  remora_via(REMORA_VIA_INDEX, i));
	}
	struct remora_snapshot *snap = open_ok(unit_writer_end(&u, 0));
	uint64_t *want = malloc(SAVE_BIG * sizeof(*want));
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	for (int kind = 0; kind < 2; kind++) {
		size_t n = 0;
		for (uint32_t i = 0; i < SAVE_BIG; i++) {
			if (kind == 0 ? i % 13 != 0 : i % 1000 == 0)
				want[n++] = 0x100000 + (uint64_t)i * 16;
		}
		struct remora_idset *set = set_at(snap, want, n);
		const char *path = unit_path("big-saved.remora");
		CU_ASSERT_PTR_NULL(remora_idset_save(set, path));
		struct remora_snapshot *back = open_ok(path);
		CU_ASSERT(same_graph(snap, back));
		check_saved(path, back, want, n);
		remora_snapshot_destroy(back);
		remora_idset_destroy(set);
	}
	free(want);
	remora_snapshot_destroy(snap);
}

static void test_typename_render(void)
{
	static const struct {
		const char *name, *module;
		uint32_t version;
		const char *want;
	} cases[] = {
		{ "str", "builtins", 0x030b0000, "str" },
		{ "dict", "builtins", 0x030b0000, "dict" },
		{ "OSError", "builtins", 0x030b0000, "OSError" },
		{ "function", "builtins", 0x030b0000, "function" },
		{ "module", "builtins", 0x030b0000, "module" },
		{ "code", "builtins", 0x030b0000, "types.CodeType" },
		{ "builtin_function_or_method", "builtins", 0x030b0000, "types.BuiltinMethodType" },
		{ "wrapper_descriptor", "builtins", 0x030b0000, "types.WrapperDescriptorType" },
		{ "method-wrapper", "builtins", 0x030b0000, "types.MethodWrapperType" },
		{ "NoneType", "builtins", 0x030b0000, "types.NoneType" },
		{ "NoneType", "builtins", 0x03090000, "builtins.NoneType" },
		{ "PyCapsule", "builtins", 0x030c0000, "builtins.PyCapsule" },
		{ "PyCapsule", "builtins", 0x030d0000, "types.CapsuleType" },
		{ "dict_keys", "builtins", 0x030b0000, "builtins.dict_keys" },
		{ "Foo", "__main__", 0x030b0000, "__main__.Foo" },
		{ "Outer.Inner", "pkg.mod", 0x030b0000, "pkg.mod.Inner" },
		{ "f.<locals>.C", "__main__", 0x030b0000, "__main__.C" },
		{ "ReferenceType", "weakref", 0x030b0000, "weakref.ReferenceType" },
		{ "SimpleNamespace", "types", 0x030b0000, "types.SimpleNamespace" },
		{ "odd", "", 0x030b0000, "odd" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = remora_typename_render(cases[i].name, strlen(cases[i].name),
						   cases[i].module, strlen(cases[i].module),
						   cases[i].version);
		CU_ASSERT_PTR_NOT_NULL_FATAL(got);
		if (strcmp(got, cases[i].want)) {
			fprintf(stderr, "\n%s.%s: got %s, want %s\n", cases[i].module,
				cases[i].name, got, cases[i].want);
			CU_FAIL("typename");
		}
		free(got);
	}
}

/* remora_snapshot_node_owned: size less the type's basic size and the
 * pre-header, for a type that keeps no variable part inside its objects;
 * nothing more for one that does, or whose shape is not known. */
static void test_owned(void)
{
	struct unit_writer u;
	unit_writer_begin(&u, "owned.remora");
	/* a list-like GC type (basic size 40), a str-like one (inline), an
	 * unshaped one; 3.11: a GC object has 16 bytes before it */
	remora_writer_type(&u.w, 0x1000, UINT64_C(1) << 14, 40, "list", 4, "builtins", 8);
	remora_writer_type(&u.w, 0x2000, 0, 40 | REMORA_SHAPE_INLINE, "str", 3, "builtins", 8);
	remora_writer_type(&u.w, 0x3000, 0, 0, "Old", 3, "m", 1);
	struct remora_rec_node n = { .address = 0x10000, .type = 0x1000, .size = 56 + 800,
				     .flags = REMORA_NODE_GC };
	remora_writer_node(&u.w, &n, NULL, 0);
	n = (struct remora_rec_node){ .address = 0x10100, .type = 0x2000, .size = 90 };
	remora_writer_node(&u.w, &n, NULL, 0);
	n = (struct remora_rec_node){ .address = 0x10200, .type = 0x3000, .size = 500 };
	remora_writer_node(&u.w, &n, NULL, 0);
	struct remora_snapshot *snap = open_ok(unit_writer_end(&u, 0));
	CU_ASSERT_EQUAL(remora_snapshot_node_owned(snap, 0), 800);
	CU_ASSERT_EQUAL(remora_snapshot_node_owned(snap, 1), 0);
	CU_ASSERT_EQUAL(remora_snapshot_node_owned(snap, 2), 0);
	remora_snapshot_destroy(snap);
}

/* remora_snapshot_in_ranges: the objects whose address lies in any of
 * the ranges, [start, end), and their sizes (hp.memory()'s split by
 * allocator). */
static void test_in_ranges(void)
{
	struct remora_snapshot *snap = open_ok(write_basic("ranges.remora"));
	uint64_t count = 9, bytes = 9;
	const uint64_t middle[] = { A_D1, A_FOO + 1 };
	remora_snapshot_in_ranges(snap, middle, 1, &count, &bytes);
	CU_ASSERT_EQUAL(count, 3);
	CU_ASSERT_EQUAL(bytes, 104 + 53 + 48);
	const uint64_t two[] = { 0, A_MOD, A_D3, A_D3 + 8 };
	remora_snapshot_in_ranges(snap, two, 2, &count, &bytes);
	CU_ASSERT_EQUAL(count, 1);
	CU_ASSERT_EQUAL(bytes, 64);
	const uint64_t none[] = { A_D2 + 8, A_D3 };
	remora_snapshot_in_ranges(snap, none, 1, &count, &bytes);
	CU_ASSERT_EQUAL(count, 0);
	CU_ASSERT_EQUAL(bytes, 0);
	/* and the objects of a type: the three dicts, in address order */
	uint32_t ids[4] = { 0 };
	uint32_t dict = REMORA_NO_NODE;
	for (uint32_t t = 0; t < snap->type_count; t++) {
		if (snap->types[t].address == T_DICT)
			dict = t;
	}
	CU_ASSERT_EQUAL_FATAL(remora_snapshot_nodes_of_type(snap, dict, ids, 4), 3);
	CU_ASSERT_EQUAL(snap->addr[ids[0]], A_D1);
	CU_ASSERT_EQUAL(snap->addr[ids[1]], A_D2);
	CU_ASSERT_EQUAL(snap->addr[ids[2]], A_D3);
	CU_ASSERT_EQUAL(remora_snapshot_nodes_of_type(snap, dict, ids, 1), 3);
	remora_snapshot_destroy(snap);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "round trip", test_round_trip },
		{ "dict owners", test_owners },
		{ "many edges in several EDGES records", test_many_edges_split_records },
		{ "large unsorted heap", test_large_unsorted },
		{ "records longer than the loader's reads", test_records_longer_than_reads },
		{ "scattered heap: bitmap and searched chunks", test_scattered_heap },
		{ "duplicates in either kind of chunk", test_scattered_duplicates },
		{ "NODE record encoding", test_node_encoding },
		{ "empty snapshot", test_empty_snapshot },
		{ "types without TYPE records", test_unknown_type_is_synthetic },
		{ "truncated at every length", test_truncated_everywhere },
		{ "truncated at record boundaries", test_truncated_at_record_boundaries },
		{ "bad header", test_bad_header },
		{ "bad END counts", test_end_counts },
		{ "edge and root counts that lie", test_edges_count_lies },
		{ "unknown tag", test_unknown_tag },
		{ "bad records", test_bad_records },
		{ "duplicate and misplaced records", test_duplicate_and_misplaced },
		{ "OS errors", test_os_errors },
		{ "random damage", test_fuzz },
		{ "type display names", test_typename_render },
		{ "saving a set and loading it back", test_save_set },
		{ "saving a set of many members", test_save_big_set },
		{ "objects in address ranges", test_in_ranges },
		{ "what an object owns outside itself", test_owned },
		{ NULL, NULL },
	};
	return unit_run("snapshot", tests);
}
