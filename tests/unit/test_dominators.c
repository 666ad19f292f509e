/* test_dominators.c — the reference graph seen from the roots (graph.c):
 * dominos, the dominator tree (idom, retained sizes, reachability, imdom,
 * top retained) and shortest paths from the roots.  Small graphs with
 * answers worked out by hand, then random graphs against brute force
 * computed from the edge list the test wrote, straight from the
 * definitions.  The random edges carry every via kind the walker writes
 * (dict values and keys, items, attributes, C fields, frame locals and
 * stack slots, set members, no label), and the brute force ignores vias:
 * an engine pass that treated one kind differently would disagree, and
 * the test checks that every kind alone holds some objects.
 *
 * In the hand-made graphs object i has size 2^i, so a retained size, read
 * in binary, is the set of objects retained.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "idset.h"
#include "snapshot.h"
#include "unit.h"

static const uint64_t TYPE = 0x10;
static const uint32_t NO = REMORA_NO_NODE;

static uint64_t addr_of(uint32_t id)
{
	return 0x10000 + (uint64_t)id * 32;
}

/* An edge as the test writes it; via 0 means "1000 + its index". */
struct g_edge {
	uint32_t from;
	uint32_t to;
	uint64_t via;
};

/* A graph to write: n objects, edges in row order per source, root
 * entries in order (root r's via is 500 + r), sizes (NULL: 2^id). */
struct g_spec {
	const char *name;
	uint32_t n;
	const struct g_edge *edges;
	size_t n_edges;
	const uint32_t *roots;
	size_t n_roots;
	const uint64_t *sizes;
};

static uint64_t edge_via(const struct g_spec *g, size_t k)
{
	return g->edges[k].via ? g->edges[k].via : 1000 + k;
}

static uint64_t size_of(const struct g_spec *g, uint32_t id)
{
	return g->sizes ? g->sizes[id] : UINT64_C(1) << id;
}

/* Writes g (NODE records in a scrambled id order, so edge rows are not in
 * id order, snapshot.h invariant 2) and opens it. */
static struct remora_snapshot *g_open(const struct g_spec *g)
{
	struct unit_writer u;
	unit_writer_begin(&u, g->name);
	unit_type(&u, TYPE, "object", "builtins");
	for (size_t r = 0; r < g->n_roots; r++)
		unit_root(&u, addr_of(g->roots[r]), 500 + r);
	for (uint32_t j = 0; j < g->n; j++) {
		/* a permutation: 7919 is prime and no n here is its multiple */
		uint32_t id = (uint32_t)(((uint64_t)j * 7919) % g->n);
		unit_node(&u, addr_of(id), TYPE, size_of(g, id), NULL);
		for (size_t k = 0; k < g->n_edges; k++) {
			if (g->edges[k].from == id)
				unit_edge(&u, addr_of(g->edges[k].to), edge_via(g, k));
		}
	}
	struct remora_snapshot *s = NULL;
	struct remora_error *err = remora_snapshot_open(unit_writer_end(&u, 0), &s);
	if (err) {
		fprintf(stderr, "%s: %s\n", g->name, remora_error_message(err));
		exit(99);
	}
	return s;
}

static struct remora_idset *set_of(const struct remora_snapshot *s,
				   const uint32_t *ids, size_t n)
{
	struct remora_idset *set = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_from_ids(s, ids, n, &set));
	return set;
}

/* The set holds exactly ids[0..n) (n may be 0). */
static bool set_is(const struct remora_idset *set, const uint32_t *ids, size_t n)
{
	struct remora_idset *want = set_of(set->snap, ids, n);
	bool eq = remora_idset_equal(set, want);
	remora_idset_destroy(want);
	return eq;
}

#define IDS(...) ((const uint32_t[]){ __VA_ARGS__ }), \
	(sizeof((const uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t))
#define NONE NULL, 0
#define SPEC_EDGES(e) (e), (sizeof(e) / sizeof((e)[0]))

typedef struct remora_error *(*set_fn)(const struct remora_idset *,
				       struct remora_idset **);

/* GIVEN the members in[0..nin), WHEN fn is applied, THEN the result is
 * out[0..nout). */
static void check_set(const struct remora_snapshot *s, set_fn fn,
		      const uint32_t *in, size_t nin,
		      const uint32_t *out, size_t nout)
{
	struct remora_idset *set = set_of(s, in, nin), *got = NULL;
	CU_ASSERT_PTR_NULL_FATAL(fn(set, &got));
	CU_ASSERT(set_is(got, out, nout));
	remora_idset_destroy(got);
	remora_idset_destroy(set);
}

/* THEN object id's immediate dominator, retained size and reachability
 * are idom, retained, reachable. */
static void check_node(const struct remora_snapshot *s, uint32_t id,
		       uint32_t idom, uint64_t retained, bool reachable)
{
	CU_ASSERT_EQUAL(remora_snapshot_node_idom(s, id), idom);
	CU_ASSERT_EQUAL(remora_snapshot_node_retained(s, id), retained);
	CU_ASSERT_EQUAL(remora_snapshot_node_reachable(s, id), reachable);
}

static void build_tree(const struct remora_snapshot *s)
{
	CU_ASSERT_PTR_NULL_FATAL(remora_snapshot_dominators(s));
}

/* The paths to targets, at most max_paths. */
/* The snapshot of the paths paths_to() made last, for check_path(). */
static const struct remora_snapshot *paths_snap;

static struct remora_paths *paths_to(const struct remora_snapshot *s,
				     const uint32_t *ids, size_t n,
				     uint32_t max_paths)
{
	paths_snap = s;
	struct remora_idset *set = set_of(s, ids, n);
	struct remora_paths *p = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_paths_create(set, max_paths, &p));
	remora_idset_destroy(set);
	return p;
}

/* THEN path i is the root entry root, then the objects nodes[0..n) (the
 * first is the root entry's target), each step with the given via. */
static void check_path(const struct remora_paths *p, uint32_t i,
		       uint64_t root_via, const uint32_t *nodes, size_t n,
		       const uint64_t *vias)
{
	CU_ASSERT_EQUAL_FATAL(remora_paths_length(p, i), n);
	/* the root entry the path starts from: its target and via */
	uint32_t root = remora_paths_root(p, i);
	const struct remora_snapshot *snap = paths_snap;
	if (snap && n) {
		const uint32_t *targets;
		const uint64_t *rvias, *wheres;
		remora_snapshot_roots(snap, &targets, &rvias, &wheres);
		CU_ASSERT_FATAL(root < remora_snapshot_root_count(snap));
		CU_ASSERT_EQUAL(targets[root], nodes[0]);
		CU_ASSERT_EQUAL(rvias[root], root_via);
	}
	CU_ASSERT_EQUAL(remora_paths_root(p, remora_paths_count(p)), NO);
	for (uint32_t j = 0; j < n; j++) {
		uint32_t from = 7, to = 7;
		uint64_t via = 7;
		CU_ASSERT_FATAL(remora_paths_step(p, i, j, &from, &to, &via));
		CU_ASSERT_EQUAL(from, j == 0 ? NO : nodes[j - 1]);
		CU_ASSERT_EQUAL(to, nodes[j]);
		CU_ASSERT_EQUAL(via, j == 0 ? root_via : vias[j - 1]);
	}
}

#define VIAS(...) ((const uint64_t[]){ __VA_ARGS__ })

/* ---- a diamond --------------------------------------------------------- */

/*   R -> 0;  0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, 3 -> 4 */
static const struct g_edge diamond_edges[] = {
	{ 0, 1, 0 }, { 0, 2, 0 }, { 1, 3, 0 }, { 2, 3, 0 }, { 3, 4, 0 },
};
static const struct g_spec diamond = {
	"diamond.remora", 5, SPEC_EDGES(diamond_edges), IDS(0), NULL,
};

static void test_diamond(void)
{
	struct remora_snapshot *s = g_open(&diamond);
	/* GIVEN no build yet, THEN the accessors say so */
	check_node(s, 3, NO, 0, false);
	build_tree(s);
	/* THEN the join node is dominated by the fork, not by either arm */
	check_node(s, 0, NO, 31, true);
	check_node(s, 1, 0, 2, true);
	check_node(s, 2, 0, 4, true);
	check_node(s, 3, 0, 8 + 16, true);
	check_node(s, 4, 3, 16, true);
	/* out of range */
	check_node(s, 5, NO, 0, false);
	/* building again changes nothing */
	const struct remora_dominators *a = NULL, *b = NULL;
	CU_ASSERT_PTR_NULL(remora_snapshot_dominator_tree(s, &a));
	build_tree(s);
	CU_ASSERT_PTR_NULL(remora_snapshot_dominator_tree(s, &b));
	CU_ASSERT_PTR_EQUAL(a, b);

	check_set(s, remora_idset_create_dominos, IDS(1), IDS(1));
	check_set(s, remora_idset_create_dominos, IDS(1, 2), IDS(1, 2, 3, 4));
	check_set(s, remora_idset_create_dominos, IDS(3), IDS(3, 4));
	check_set(s, remora_idset_create_dominos, IDS(0), IDS(0, 1, 2, 3, 4));
	check_set(s, remora_idset_create_dominos, IDS(1, 4), IDS(1, 4));
	check_set(s, remora_idset_create_dominos, NONE, NONE);

	check_set(s, remora_idset_create_imdom, IDS(3, 4), IDS(0, 3));
	check_set(s, remora_idset_create_imdom, IDS(0), NONE);
	check_set(s, remora_idset_create_imdom, IDS(1, 2, 3), IDS(0));

	/* WHEN the target is the join, THEN both arms give a path, the one
	 * through the earlier edge of 0's row first */
	struct remora_paths *p = paths_to(s, IDS(3), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 2);
	CU_ASSERT_FALSE(remora_paths_truncated(p));
	check_path(p, 0, 500, IDS(0, 1, 3), VIAS(1000, 1002));
	check_path(p, 1, 500, IDS(0, 2, 3), VIAS(1001, 1003));
	remora_paths_destroy(p);
	/* one edge further: the same two paths and the edge 3 -> 4 */
	p = paths_to(s, IDS(4), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 2);
	check_path(p, 0, 500, IDS(0, 1, 3, 4), VIAS(1000, 1002, 1004));
	check_path(p, 1, 500, IDS(0, 2, 3, 4), VIAS(1001, 1003, 1004));
	remora_paths_destroy(p);
	/* only the nearest level counts: 1 is nearer than 4 */
	p = paths_to(s, IDS(1, 4), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 1);
	check_path(p, 0, 500, IDS(0, 1), VIAS(1000));
	remora_paths_destroy(p);
	/* two targets on one level: by target id */
	p = paths_to(s, IDS(2, 1), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 2);
	check_path(p, 0, 500, IDS(0, 1), VIAS(1000));
	check_path(p, 1, 500, IDS(0, 2), VIAS(1001));
	remora_paths_destroy(p);
	/* a root entry's target: the root step alone */
	p = paths_to(s, IDS(0, 3), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 1);
	check_path(p, 0, 500, IDS(0), NULL);
	remora_paths_destroy(p);
	/* out of range accessors */
	p = paths_to(s, IDS(3), 1);
	CU_ASSERT_EQUAL(remora_paths_count(p), 1);
	CU_ASSERT_TRUE(remora_paths_truncated(p));
	CU_ASSERT_EQUAL(remora_paths_length(p, 1), 0);
	uint32_t from = 7, to = 7;
	uint64_t via = 7;
	CU_ASSERT_FALSE(remora_paths_step(p, 0, 3, &from, &to, &via));
	CU_ASSERT_FALSE(remora_paths_step(p, 1, 0, &from, &to, &via));
	CU_ASSERT_EQUAL(from, 7);
	remora_paths_destroy(p);
	remora_paths_destroy(NULL);
	remora_snapshot_destroy(s);
}

/* ---- a chain ----------------------------------------------------------- */

enum { CHAIN_N = 10 };

static void test_chain(void)
{
	struct g_edge edges[CHAIN_N - 1];
	for (uint32_t i = 0; i + 1 < CHAIN_N; i++)
		edges[i] = (struct g_edge){ i, i + 1, 0 };
	const struct g_spec chain = {
		"chain.remora", CHAIN_N, SPEC_EDGES(edges), IDS(0), NULL,
	};
	struct remora_snapshot *s = g_open(&chain);
	build_tree(s);
	/* THEN each link dominates the rest of the chain */
	for (uint32_t i = 0; i < CHAIN_N; i++) {
		uint64_t rest = (UINT64_C(1) << CHAIN_N) - (UINT64_C(1) << i);
		check_node(s, i, i ? i - 1 : NO, rest, true);
	}
	check_set(s, remora_idset_create_dominos, IDS(5),
		  IDS(5, 6, 7, 8, 9));
	check_set(s, remora_idset_create_dominos, IDS(9), IDS(9));
	check_set(s, remora_idset_create_imdom, IDS(5, 9), IDS(4, 8));
	struct remora_paths *p = paths_to(s, IDS(9), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 1);
	CU_ASSERT_EQUAL(remora_paths_length(p, 0), CHAIN_N);
	check_path(p, 0, 500, IDS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
		   VIAS(1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008));
	remora_paths_destroy(p);
	uint32_t top[4];
	size_t n = 99;
	struct remora_idset *all = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_all(s, &all));
	CU_ASSERT_PTR_NULL(remora_idset_top_retained(all, top, 4, &n));
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT(top[0] == 0 && top[1] == 1 && top[2] == 2 && top[3] == 3);
	remora_idset_destroy(all);
	remora_snapshot_destroy(s);
}

/* GIVEN a chain far longer than any call stack could recurse, THEN the
 * tree, the dominos and the path come out (nothing recurses). */
enum { LONG_N = 200000 };

static void test_long_chain(void)
{
	struct g_edge *edges = malloc(sizeof(*edges) * LONG_N);
	uint64_t *sizes = malloc(sizeof(*sizes) * LONG_N);
	CU_ASSERT_PTR_NOT_NULL_FATAL(edges);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sizes);
	/* a back edge from every object to the first: a cycle through all */
	for (uint32_t i = 0; i < LONG_N; i++) {
		edges[i] = (struct g_edge){ i, i + 1 < LONG_N ? i + 1 : 0, 7 };
		sizes[i] = 1;
	}
	/* written in id order here: the edge loop of g_open is quadratic */
	struct unit_writer u;
	unit_writer_begin(&u, "long.remora");
	unit_type(&u, TYPE, "object", "builtins");
	unit_root(&u, addr_of(0), 500);
	for (uint32_t i = 0; i < LONG_N; i++) {
		unit_node(&u, addr_of(i), TYPE, 1, NULL);
		unit_edge(&u, addr_of(edges[i].to), 7);
	}
	struct remora_snapshot *s = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_snapshot_open(unit_writer_end(&u, 0), &s));
	build_tree(s);
	check_node(s, 0, NO, LONG_N, true);
	check_node(s, LONG_N - 1, LONG_N - 2, 1, true);
	check_node(s, LONG_N / 2, LONG_N / 2 - 1, LONG_N / 2, true);
	struct remora_idset *set = set_of(s, IDS(LONG_N / 2)), *got = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_dominos(set, &got));
	CU_ASSERT_EQUAL(remora_idset_count(got), LONG_N / 2);
	remora_idset_destroy(got);
	remora_idset_destroy(set);
	struct remora_paths *p = paths_to(s, IDS(LONG_N - 1), 5);
	CU_ASSERT_EQUAL(remora_paths_count(p), 1);
	CU_ASSERT_EQUAL(remora_paths_length(p, 0), LONG_N);
	uint32_t from, to;
	uint64_t via;
	CU_ASSERT(remora_paths_step(p, 0, LONG_N - 1, &from, &to, &via));
	CU_ASSERT(from == LONG_N - 2 && to == LONG_N - 1 && via == 7);
	remora_paths_destroy(p);
	remora_snapshot_destroy(s);
	free(sizes);
	free(edges);
}

/* ---- cycles -------------------------------------------------------------- */

/* A cycle entered at one point:  R -> 0 -> 1 -> 2 -> 3 -> 1, 3 -> 4
 * and one entered at two:        R -> 5 -> 6 -> 7 -> 8 -> 6, 5 -> 8 */
static const struct g_edge cycle_edges[] = {
	{ 0, 1, 0 }, { 1, 2, 0 }, { 2, 3, 0 }, { 3, 1, 0 }, { 3, 4, 0 },
	{ 5, 6, 0 }, { 6, 7, 0 }, { 7, 8, 0 }, { 8, 6, 0 }, { 5, 8, 0 },
};
static const struct g_spec cycles = {
	"cycles.remora", 9, SPEC_EDGES(cycle_edges), IDS(0, 5), NULL,
};

static void test_cycles(void)
{
	struct remora_snapshot *s = g_open(&cycles);
	build_tree(s);
	/* THEN the entry dominates the whole cycle and what hangs off it */
	check_node(s, 0, NO, 31, true);
	check_node(s, 1, 0, 2 + 4 + 8 + 16, true);
	check_node(s, 2, 1, 4 + 8 + 16, true);
	check_node(s, 3, 2, 8 + 16, true);
	check_node(s, 4, 3, 16, true);
	/* THEN with two entries, neither dominates the other's arm */
	check_node(s, 5, NO, 32 + 64 + 128 + 256, true);
	check_node(s, 6, 5, 64 + 128, true);
	check_node(s, 7, 6, 128, true);
	check_node(s, 8, 5, 256, true);
	check_set(s, remora_idset_create_dominos, IDS(2), IDS(2, 3, 4));
	check_set(s, remora_idset_create_dominos, IDS(1), IDS(1, 2, 3, 4));
	check_set(s, remora_idset_create_dominos, IDS(6), IDS(6, 7));
	check_set(s, remora_idset_create_dominos, IDS(7), IDS(7));
	check_set(s, remora_idset_create_dominos, IDS(6, 8), IDS(6, 7, 8));
	check_set(s, remora_idset_create_imdom, IDS(1, 6, 7, 8), IDS(0, 5, 6));
	/* THEN the back edge is never on a shortest path */
	struct remora_paths *p = paths_to(s, IDS(1), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 1);
	check_path(p, 0, 500, IDS(0, 1), VIAS(1000));
	remora_paths_destroy(p);
	p = paths_to(s, IDS(6), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 1);
	check_path(p, 0, 501, IDS(5, 6), VIAS(1005));
	remora_paths_destroy(p);
	p = paths_to(s, IDS(7, 8), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 1);
	check_path(p, 0, 501, IDS(5, 8), VIAS(1009));
	remora_paths_destroy(p);
	remora_snapshot_destroy(s);
}

/* ---- unreachable objects ---------------------------------------------- */

/*   R -> 0 -> 1;  2 -> 1, 2 -> 3, 3 -> 3 (R reaches neither 2 nor 3);
 *   4 isolated */
static const struct g_edge unreach_edges[] = {
	{ 0, 1, 0 }, { 2, 1, 0 }, { 2, 3, 0 }, { 3, 3, 0 },
};
static const struct g_spec unreach = {
	"unreachable.remora", 5, SPEC_EDGES(unreach_edges), IDS(0), NULL,
};

static void test_unreachable(void)
{
	struct remora_snapshot *s = g_open(&unreach);
	build_tree(s);
	/* THEN an unreachable referrer does not matter to dominance */
	check_node(s, 0, NO, 1 + 2, true);
	check_node(s, 1, 0, 2, true);
	/* THEN unreachable objects are outside the tree, retaining themselves */
	check_node(s, 2, NO, 4, false);
	check_node(s, 3, NO, 8, false);
	check_node(s, 4, NO, 16, false);
	/* THEN unreachable members are kept, what only they reach is not */
	check_set(s, remora_idset_create_dominos, IDS(2), IDS(2));
	check_set(s, remora_idset_create_dominos, IDS(0), IDS(0, 1));
	check_set(s, remora_idset_create_dominos, IDS(0, 2), IDS(0, 1, 2));
	check_set(s, remora_idset_create_imdom, IDS(1, 2, 3, 4), IDS(0));
	/* THEN no path is not an error */
	struct remora_paths *p = paths_to(s, IDS(3, 4), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 0);
	CU_ASSERT_FALSE(remora_paths_truncated(p));
	CU_ASSERT_EQUAL(remora_paths_length(p, 0), 0);
	remora_paths_destroy(p);
	p = paths_to(s, NONE, 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 0);
	remora_paths_destroy(p);
	p = paths_to(s, IDS(1, 3), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 1);
	check_path(p, 0, 500, IDS(0, 1), VIAS(1000));
	remora_paths_destroy(p);
	remora_snapshot_destroy(s);
}

/* ---- self-loops and duplicate edges ----------------------------------- */

/*   R -> 0;  0 -> 0;  0 -> 1 three times (vias 11, 12, 13);  1 -> 1;
 *   1 -> 2 */
static const struct g_edge dup_edges[] = {
	{ 0, 0, 10 }, { 0, 1, 11 }, { 0, 1, 12 }, { 0, 1, 13 },
	{ 1, 1, 14 }, { 1, 2, 15 },
};
static const struct g_spec dups = {
	"duplicates.remora", 3, SPEC_EDGES(dup_edges), IDS(0), NULL,
};

static void test_duplicates(void)
{
	struct remora_snapshot *s = g_open(&dups);
	build_tree(s);
	check_node(s, 0, NO, 7, true);
	check_node(s, 1, 0, 6, true);
	check_node(s, 2, 1, 4, true);
	check_set(s, remora_idset_create_dominos, IDS(1), IDS(1, 2));
	check_set(s, remora_idset_create_dominos, IDS(0), IDS(0, 1, 2));
	/* THEN every duplicate edge is a path of its own, in row order */
	struct remora_paths *p = paths_to(s, IDS(2), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 3);
	CU_ASSERT_FALSE(remora_paths_truncated(p));
	check_path(p, 0, 500, IDS(0, 1, 2), VIAS(11, 15));
	check_path(p, 1, 500, IDS(0, 1, 2), VIAS(12, 15));
	check_path(p, 2, 500, IDS(0, 1, 2), VIAS(13, 15));
	remora_paths_destroy(p);
	/* THEN max_paths keeps the first ones and says more existed */
	p = paths_to(s, IDS(2), 2);
	CU_ASSERT_EQUAL(remora_paths_count(p), 2);
	CU_ASSERT_TRUE(remora_paths_truncated(p));
	check_path(p, 0, 500, IDS(0, 1, 2), VIAS(11, 15));
	check_path(p, 1, 500, IDS(0, 1, 2), VIAS(12, 15));
	remora_paths_destroy(p);
	p = paths_to(s, IDS(2), 3);
	CU_ASSERT_EQUAL(remora_paths_count(p), 3);
	CU_ASSERT_FALSE(remora_paths_truncated(p));
	remora_paths_destroy(p);
	p = paths_to(s, IDS(2), 0);
	CU_ASSERT_EQUAL(remora_paths_count(p), 0);
	CU_ASSERT_TRUE(remora_paths_truncated(p));
	remora_paths_destroy(p);
	remora_snapshot_destroy(s);
}

/* ---- several roots ------------------------------------------------------ */

/*   root entries 0, 1, 0 (vias 500, 501, 502)
 *   0 -> 2, 1 -> 2, 2 -> 3, 0 -> 4, 1 -> 5 */
static const struct g_edge shared_edges[] = {
	{ 0, 2, 0 }, { 1, 2, 0 }, { 2, 3, 0 }, { 0, 4, 0 }, { 1, 5, 0 },
};
static const struct g_spec shared = {
	"shared.remora", 6, SPEC_EDGES(shared_edges), IDS(0, 1, 0), NULL,
};

static void test_shared_subtree(void)
{
	struct remora_snapshot *s = g_open(&shared);
	build_tree(s);
	/* THEN a subtree shared by two roots hangs off R */
	check_node(s, 0, NO, 1 + 16, true);
	check_node(s, 1, NO, 2 + 32, true);
	check_node(s, 2, NO, 4 + 8, true);
	check_node(s, 3, 2, 8, true);
	check_node(s, 4, 0, 16, true);
	check_node(s, 5, 1, 32, true);
	check_set(s, remora_idset_create_dominos, IDS(0), IDS(0, 4));
	check_set(s, remora_idset_create_dominos, IDS(0, 1),
		  IDS(0, 1, 2, 3, 4, 5));
	check_set(s, remora_idset_create_imdom, IDS(2, 3, 4, 5), IDS(0, 1, 2));
	/* THEN each root entry starts its own paths, in root order */
	struct remora_paths *p = paths_to(s, IDS(3), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 3);
	check_path(p, 0, 500, IDS(0, 2, 3), VIAS(1000, 1002));
	check_path(p, 1, 501, IDS(1, 2, 3), VIAS(1001, 1002));
	check_path(p, 2, 502, IDS(0, 2, 3), VIAS(1000, 1002));
	remora_paths_destroy(p);
	p = paths_to(s, IDS(0), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 2);
	check_path(p, 0, 500, IDS(0), NULL);
	check_path(p, 1, 502, IDS(0), NULL);
	remora_paths_destroy(p);
	remora_snapshot_destroy(s);
}

/* ---- top retained --------------------------------------------------------- */

/*   R -> 0..4, no edges; sizes 5, 7, 7, 3, 7 */
static void test_top_retained(void)
{
	static const uint64_t sizes[] = { 5, 7, 7, 3, 7 };
	const struct g_spec g = {
		"top.remora", 5, NULL, 0, IDS(0, 1, 2, 3, 4), sizes,
	};
	struct remora_snapshot *s = g_open(&g);
	struct remora_idset *all = NULL, *some = set_of(s, IDS(0, 3, 4));
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_all(s, &all));
	uint32_t top[10];
	size_t n = 99;
	/* WHEN the tree is not built yet, THEN top_retained builds it */
	CU_ASSERT_PTR_NULL(remora_idset_top_retained(all, top, 3, &n));
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(top[0] == 1 && top[1] == 2 && top[2] == 4);
	CU_ASSERT_PTR_NULL(remora_idset_top_retained(all, top, 10, &n));
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT(top[0] == 1 && top[1] == 2 && top[2] == 4 && top[3] == 0 &&
		  top[4] == 3);
	CU_ASSERT_PTR_NULL(remora_idset_top_retained(some, top, 2, &n));
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT(top[0] == 4 && top[1] == 0);
	CU_ASSERT_PTR_NULL(remora_idset_top_retained(all, NULL, 0, &n));
	CU_ASSERT_EQUAL(n, 0);
	remora_idset_destroy(some);
	remora_idset_destroy(all);
	remora_snapshot_destroy(s);
}

/* GIVEN a container holding many targets, all on one level, THEN the
 * paths go by target id and stop after max_paths, whichever targets that
 * leaves out. */
static void test_many_targets(void)
{
	/* R -> 0 -> 1..8 (edges written in descending target order) */
	static const struct g_edge edges[] = {
		{ 0, 8, 0 }, { 0, 7, 0 }, { 0, 6, 0 }, { 0, 5, 0 },
		{ 0, 4, 0 }, { 0, 3, 0 }, { 0, 2, 0 }, { 0, 1, 0 },
	};
	const struct g_spec g = {
		"many.remora", 9, SPEC_EDGES(edges), IDS(0), NULL,
	};
	struct remora_snapshot *s = g_open(&g);
	struct remora_paths *p = paths_to(s, IDS(7, 2, 5, 3), 2);
	CU_ASSERT_EQUAL(remora_paths_count(p), 2);
	CU_ASSERT_TRUE(remora_paths_truncated(p));
	check_path(p, 0, 500, IDS(0, 2), VIAS(1006));
	check_path(p, 1, 500, IDS(0, 3), VIAS(1005));
	remora_paths_destroy(p);
	p = paths_to(s, IDS(7, 2, 5, 3), 4);
	CU_ASSERT_EQUAL(remora_paths_count(p), 4);
	CU_ASSERT_FALSE(remora_paths_truncated(p));
	check_path(p, 3, 500, IDS(0, 7), VIAS(1001));
	remora_paths_destroy(p);
	remora_snapshot_destroy(s);
}

/* GIVEN a snapshot without objects (or without roots), THEN everything is
 * empty and nothing fails. */
static void test_empty(void)
{
	const struct g_spec none = { "empty.remora", 0, NULL, 0, NULL, 0, NULL };
	struct remora_snapshot *s = g_open(&none);
	build_tree(s);
	struct remora_idset *all = NULL, *got = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_all(s, &all));
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_dominos(all, &got));
	CU_ASSERT_EQUAL(remora_idset_count(got), 0);
	remora_idset_destroy(got);
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_imdom(all, &got));
	CU_ASSERT_EQUAL(remora_idset_count(got), 0);
	remora_idset_destroy(got);
	struct remora_paths *p = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_paths_create(all, 10, &p));
	CU_ASSERT_EQUAL(remora_paths_count(p), 0);
	remora_paths_destroy(p);
	remora_idset_destroy(all);
	remora_snapshot_destroy(s);

	const struct g_spec rootless = { "rootless.remora", 3, NULL, 0, NULL, 0, NULL };
	s = g_open(&rootless);
	build_tree(s);
	check_node(s, 1, NO, 2, false);
	check_set(s, remora_idset_create_dominos, IDS(1, 2), IDS(1, 2));
	p = paths_to(s, IDS(0, 1, 2), 10);
	CU_ASSERT_EQUAL(remora_paths_count(p), 0);
	remora_paths_destroy(p);
	remora_snapshot_destroy(s);
}

/* ---- random graphs against brute force --------------------------------- */

enum { RN = 300, RMAX_EDGES = 4 * RN, RMAX_ROOTS = 8 };

/* The via kinds an edge can have (REMORA_VIA_ROOT is for roots only). */
enum { RKIND_COUNT = REMORA_VIA_STACK + 1 };

/* What the random rounds met, so a quiet pass is not an empty one. */
static struct {
	uint32_t unreachable;   /* objects R does not reach */
	uint32_t deep;          /* objects whose idom has an idom */
	uint32_t under_r;       /* reachable objects whose idom is R */
	uint32_t many_paths;    /* path queries with more than 5 paths */
	uint32_t truncated;
	uint32_t long_paths;    /* path queries of length >= 4 */
	/* reachable objects, no root's target, whose referrers all hold
	 * them by vias of one kind: a traversal that skipped that kind would
	 * not reach them, so each kind must have some */
	uint32_t held_only_by[RKIND_COUNT];
} seen;

/* What a random object is, for the vias of its row: each role writes the
 * kinds the walker writes for its CPython counterpart (snapshot_format.h),
 * so edges of every kind run between objects of every role. */
enum rrole {
	RROLE_DICT,      /* values ['key'] and keys .keys()[i] */
	RROLE_LIST,      /* items [i] */
	RROLE_INSTANCE,  /* ->ob_type, .__dict__, then attributes .name */
	RROLE_SET,       /* members list(_)[i] */
	RROLE_FRAME,     /* .f_back, .f_code, then locals and stack slots */
	RROLE_OPAQUE,    /* tp_traverse: no label (.??) */
	RROLE_COUNT
};

struct rgraph {
	uint32_t n;
	struct g_edge edges[RMAX_EDGES];   /* vias as written */
	size_t n_edges;
	uint32_t roots[RMAX_ROOTS];
	uint64_t root_vias[RMAX_ROOTS];
	uint64_t root_wheres[RMAX_ROOTS];
	size_t n_roots;
	uint64_t sizes[RN];
	uint8_t role[RN];
	uint32_t row_len[RN];
	/* the edges of object v are edges[row[row_first[v] ..
	 * row_first[v + 1])], in written order */
	uint32_t row_first[RN + 1];
	uint32_t row[RMAX_EDGES];
};

enum { LAYER = 20 };

/* An object whose address a dict value or attribute via names as its key
 * or name: distinct for distinct p < RN (37 and RN are coprime). */
static uint64_t key_addr(uint32_t p)
{
	return addr_of((p * 37 + 11) % RN);
}

/* The via of the next edge a -> b of a's row, as a's role writes it.  In
 * a row no two edges to one target share a via, so a path step (from,
 * to, via) names one edge (rgraph_edge()). */
static uint64_t rgraph_via(const struct rgraph *g, uint32_t a, uint32_t b)
{
	uint32_t p = g->row_len[a];
	switch (g->role[a]) {
	case RROLE_DICT:
		return p % 2 ? remora_via(REMORA_VIA_DICT_KEY, p / 2)
			     : remora_via(REMORA_VIA_DICT_VALUE, key_addr(p));
	case RROLE_LIST:
		return remora_via(REMORA_VIA_INDEX, p);
	case RROLE_INSTANCE:
		if (p < 2)
			return remora_via(REMORA_VIA_FIELD, p ? REMORA_FIELD_DICT
							      : REMORA_FIELD_OB_TYPE);
		return remora_via(REMORA_VIA_ATTR, key_addr(p));
	case RROLE_SET:
		return remora_via(REMORA_VIA_SET_ITEM, p);
	case RROLE_FRAME:
		if (p < 2)
			return remora_via(REMORA_VIA_FIELD, p ? REMORA_FIELD_F_CODE
							      : REMORA_FIELD_F_BACK);
		return p % 2 ? remora_via(REMORA_VIA_LOCAL, key_addr(p))
			     : remora_via(REMORA_VIA_STACK, p);
	default:
		/* tp_traverse gives no label: a second edge to the same
		 * target gets an index, as if it were a tuple's */
		for (size_t k = 0; k < g->n_edges; k++) {
			if (g->edges[k].from == a && g->edges[k].to == b &&
			    g->edges[k].via == remora_via(REMORA_VIA_UNKNOWN, 0))
				return remora_via(REMORA_VIA_INDEX, p);
		}
		return remora_via(REMORA_VIA_UNKNOWN, 0);
	}
}

static void rgraph_add(struct rgraph *g, uint32_t a, uint32_t b)
{
	g->edges[g->n_edges] = (struct g_edge){ a, b, rgraph_via(g, a, b) };
	g->n_edges++;
	g->row_len[a]++;
}

/* Root r: a root of the interpreter (ROOT via), or a frame's local
 * (LOCAL via, with a where word naming thread 0's frame). */
static void rgraph_root(struct rgraph *g, size_t r, uint32_t target)
{
	static const enum remora_root_kind kinds[] = {
		REMORA_ROOT_MODULES, REMORA_ROOT_SYSDICT, REMORA_ROOT_BUILTINS,
		REMORA_ROOT_GC, REMORA_ROOT_INTERP_DICT, REMORA_ROOT_IMPORTLIB,
	};
	g->roots[r] = target;
	if (r % 3 == 2) {
		g->root_vias[r] = remora_via(REMORA_VIA_LOCAL, key_addr((uint32_t)r));
		g->root_wheres[r] = remora_root_where(0, 0, (int64_t)(r / 3));
	} else {
		g->root_vias[r] = remora_via(REMORA_VIA_ROOT,
					     kinds[rand() % (sizeof(kinds) / sizeof(kinds[0]))]);
		g->root_wheres[r] = remora_root_where(0, -1, -1);
	}
}

/* The rows: edge indices grouped by source, in written order. */
static void rgraph_index(struct rgraph *g)
{
	memset(g->row_first, 0, sizeof(g->row_first));
	for (size_t k = 0; k < g->n_edges; k++)
		g->row_first[g->edges[k].from + 1]++;
	for (uint32_t v = 0; v < g->n; v++)
		g->row_first[v + 1] += g->row_first[v];
	static uint32_t fill[RN];
	memcpy(fill, g->row_first, sizeof(fill));
	for (size_t k = 0; k < g->n_edges; k++)
		g->row[fill[g->edges[k].from]++] = (uint32_t)k;
}

/* The index of the edge from -> to with via, or NO. */
static uint32_t rgraph_edge(const struct rgraph *g, uint32_t from, uint32_t to,
			    uint64_t via)
{
	if (from >= g->n)
		return NO;
	for (uint32_t i = g->row_first[from]; i < g->row_first[from + 1]; i++) {
		const struct g_edge *e = &g->edges[g->row[i]];
		if (e->to == to && e->via == via)
			return g->row[i];
	}
	return NO;
}

/* Kinds of random graph: sparse and uniform (much unreachable); a chain
 * with random shortcuts and back edges (deep DFS, long compressions);
 * denser and uniform; layers of LAYER objects with edges from each layer
 * to the next, and a few anywhere (very many shortest paths).  Every
 * object has a random role, which gives its row's vias. */
static void rgraph_make(struct rgraph *g, int kind)
{
	g->n = RN;
	g->n_edges = 0;
	for (uint32_t i = 0; i < RN; i++) {
		g->sizes[i] = (uint64_t)(rand() % 100 + 1);
		g->role[i] = (uint8_t)(rand() % RROLE_COUNT);
		g->row_len[i] = 0;
	}
	if (kind == 3) {
		for (uint32_t i = 0; i + LAYER < RN; i++) {
			for (int k = 0; k < 3; k++) {
				uint32_t b = (i / LAYER + 1) * LAYER +
					     (uint32_t)(rand() % LAYER);
				rgraph_add(g, i, b);
			}
		}
		for (int k = 0; k < 40; k++)
			rgraph_add(g, (uint32_t)(rand() % RN), (uint32_t)(rand() % RN));
		g->n_roots = (size_t)(rand() % RMAX_ROOTS) + 1;
		for (size_t r = 0; r < g->n_roots; r++)
			rgraph_root(g, r, (uint32_t)(rand() % LAYER));
		rgraph_index(g);
		return;
	}
	size_t want = kind == 0 ? RN + RN / 4 : kind == 1 ? 2 * RN : 4 * RN - 10;
	if (kind == 1) {
		for (uint32_t i = 0; i + 1 < RN; i++)
			rgraph_add(g, i, i + 1);
	}
	while (g->n_edges < want) {
		uint32_t a = (uint32_t)(rand() % RN), b = (uint32_t)(rand() % RN);
		if (kind == 1 && rand() % 2)
			b = a > 5 ? a - (uint32_t)(rand() % 5) : b;
		rgraph_add(g, a, b);
		/* a duplicate edge: the same target again, another via */
		if (rand() % 20 == 0 && g->n_edges < want)
			rgraph_add(g, a, b);
	}
	g->n_roots = (size_t)(rand() % RMAX_ROOTS) + 1;
	for (size_t r = 0; r < g->n_roots; r++)
		rgraph_root(g, r, kind == 1 && r == 0 ? 0 : (uint32_t)(rand() % RN));
	rgraph_index(g);
}

/* Counts, for seen.held_only_by, the objects that some kind alone holds. */
static void rgraph_count_kinds(const struct rgraph *g, const bool *reach)
{
	static uint32_t kinds[RN];   /* bit k: held by a via of kind k */
	static bool rooted[RN];
	memset(kinds, 0, sizeof(kinds));
	memset(rooted, 0, sizeof(rooted));
	for (size_t r = 0; r < g->n_roots; r++)
		rooted[g->roots[r]] = true;
	for (size_t k = 0; k < g->n_edges; k++)
		kinds[g->edges[k].to] |= 1u << remora_via_kind_of(g->edges[k].via);
	for (uint32_t v = 0; v < g->n; v++) {
		if (!reach[v] || rooted[v] || !kinds[v] ||
		    (kinds[v] & (kinds[v] - 1)))
			continue;
		seen.held_only_by[__builtin_ctz(kinds[v])]++;
	}
}

/* Brute force: reach[v] = R reaches v when the objects with removed[] are
 * taken away (NULL: none). */
static void brute_reach(const struct rgraph *g, const bool *removed, bool *reach)
{
	static uint32_t queue[RN];
	uint32_t head = 0, tail = 0;
	memset(reach, 0, g->n * sizeof(*reach));
	for (size_t r = 0; r < g->n_roots; r++) {
		uint32_t t = g->roots[r];
		if (!reach[t] && !(removed && removed[t])) {
			reach[t] = true;
			queue[tail++] = t;
		}
	}
	while (head < tail) {
		uint32_t v = queue[head++];
		for (size_t k = 0; k < g->n_edges; k++) {
			uint32_t t = g->edges[k].to;
			if (g->edges[k].from == v && !reach[t] &&
			    !(removed && removed[t])) {
				reach[t] = true;
				queue[tail++] = t;
			}
		}
	}
}

/* dom[d][v]: d dominates v (d == v included, for reachable v). */
static bool dom[RN][RN];

static void brute_dominators(const struct rgraph *g, const bool *reach)
{
	static bool removed[RN], without[RN];
	memset(dom, 0, sizeof(dom));
	for (uint32_t d = 0; d < g->n; d++) {
		if (!reach[d])
			continue;
		memset(removed, 0, sizeof(removed));
		removed[d] = true;
		brute_reach(g, removed, without);
		for (uint32_t v = 0; v < g->n; v++)
			dom[d][v] = reach[v] && (v == d || !without[v]);
	}
}

/* The strict dominator of v that all its other strict dominators
 * dominate, or NO. */
static uint32_t brute_idom(const struct rgraph *g, uint32_t v)
{
	for (uint32_t d = 0; d < g->n; d++) {
		if (d == v || !dom[d][v])
			continue;
		bool all = true;
		for (uint32_t o = 0; o < g->n && all; o++) {
			if (o != v && o != d && dom[o][v] && !dom[o][d])
				all = false;
		}
		if (all)
			return d;
	}
	return NO;
}

static uint64_t brute_retained(const struct rgraph *g, const bool *reach,
			       uint32_t v)
{
	if (!reach[v])
		return g->sizes[v];
	uint64_t sum = 0;
	for (uint32_t u = 0; u < g->n; u++)
		sum += dom[v][u] ? g->sizes[u] : 0;
	return sum;
}

static const uint64_t *top_sizes;

static int top_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (top_sizes[x] != top_sizes[y])
		return top_sizes[x] > top_sizes[y] ? -1 : 1;
	return (x > y) - (x < y);
}

/* THEN the tree's answers are the definitions'. */
static void check_random_tree(const struct rgraph *g,
			      const struct remora_snapshot *s,
			      const bool *reach)
{
	static uint64_t retained[RN];
	static uint32_t order[RN], top[RN];
	build_tree(s);
	bool ok = true;
	for (uint32_t v = 0; v < g->n; v++) {
		retained[v] = brute_retained(g, reach, v);
		ok &= remora_snapshot_node_reachable(s, v) == reach[v];
		ok &= remora_snapshot_node_idom(s, v) == brute_idom(g, v);
		ok &= remora_snapshot_node_retained(s, v) == retained[v];
		order[v] = v;
		uint32_t d = brute_idom(g, v);
		seen.unreachable += !reach[v];
		seen.under_r += reach[v] && d == NO;
		seen.deep += d != NO && brute_idom(g, d) != NO;
	}
	CU_ASSERT(ok);
	/* top_retained over all, against a full sort */
	top_sizes = retained;
	qsort(order, g->n, sizeof(*order), top_compare);
	struct remora_idset *all = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_all(s, &all));
	static const size_t ks[] = { 1, 7, 50, RN, RN + 5 };
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		size_t n = 0;
		CU_ASSERT_PTR_NULL(remora_idset_top_retained(all, top, ks[i] > RN ? RN : ks[i], &n));
		CU_ASSERT_EQUAL(n, ks[i] > RN ? RN : ks[i]);
		CU_ASSERT(memcmp(top, order, n * sizeof(*top)) == 0);
	}
	remora_idset_destroy(all);
}

/* THEN dominos(S) = S + (reachable - reachable without S), domisize is
 * the sum of their sizes, and imdom(S) is the idoms of S's members. */
static void check_random_sets(const struct rgraph *g,
			      const struct remora_snapshot *s,
			      const bool *reach)
{
	static bool member[RN], without[RN];
	static uint32_t ids[RN];
	static const int sizes[] = { 0, 1, 1, 1, 2, 3, 5, 20, 100 };
	for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
		memset(member, 0, sizeof(member));
		size_t n = 0;
		for (int k = 0; k < sizes[t]; k++) {
			uint32_t v = (uint32_t)(rand() % RN);
			if (!member[v]) {
				member[v] = true;
				ids[n++] = v;
			}
		}
		brute_reach(g, member, without);
		struct remora_idset *set = set_of(s, ids, n), *got = NULL;
		CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_dominos(set, &got));
		bool ok = true;
		uint64_t count = 0, size = 0;
		for (uint32_t v = 0; v < g->n; v++) {
			bool want = member[v] || (reach[v] && !without[v]);
			count += want;
			size += want ? g->sizes[v] : 0;
			ok &= remora_idset_contains(got, v) == want;
		}
		CU_ASSERT(ok);
		CU_ASSERT_EQUAL(remora_idset_count(got), count);
		CU_ASSERT_EQUAL(remora_idset_size(got), size);
		remora_idset_destroy(got);

		CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_imdom(set, &got));
		static bool want_imdom[RN];
		memset(want_imdom, 0, sizeof(want_imdom));
		for (size_t i = 0; i < n; i++) {
			uint32_t d = brute_idom(g, ids[i]);
			if (d != NO)
				want_imdom[d] = true;
		}
		ok = true;
		for (uint32_t v = 0; v < g->n; v++)
			ok &= remora_idset_contains(got, v) == want_imdom[v];
		CU_ASSERT(ok);
		remora_idset_destroy(got);
		remora_idset_destroy(set);
	}
}

/* A path's steps as comparable numbers: the root index, then each edge's
 * index in the written edge list (a step names one edge: rgraph_via()). */
static void path_keys(const struct rgraph *g, const struct remora_paths *p,
		      uint32_t i, uint64_t *keys)
{
	for (uint32_t j = 0; j < remora_paths_length(p, i); j++) {
		uint32_t from, to;
		uint64_t via;
		remora_paths_step(p, i, j, &from, &to, &via);
		keys[j] = j == 0 ? remora_paths_root(p, i) : rgraph_edge(g, from, to, via);
	}
}

enum { PATHS_CAP = 20000 };

/* THEN the paths are all the shortest ones, counted by brute force
 * (number of shortest paths to t = sum over shortest-path edges into t),
 * each a real chain of edges from a root entry to a nearest target, in
 * order and distinct; truncation keeps a prefix of the full list. */
static void check_random_paths(const struct rgraph *g,
			       const struct remora_snapshot *s)
{
	static bool member[RN];
	static uint32_t ids[RN], dist[RN];
	static uint64_t npaths[RN], keys[RN], prev[RN];
	/* brute-force BFS levels and path counts (saturating) */
	for (uint32_t v = 0; v < g->n; v++) {
		dist[v] = NO;
		npaths[v] = 0;
	}
	for (size_t r = 0; r < g->n_roots; r++) {
		dist[g->roots[r]] = 1;
		npaths[g->roots[r]]++;
	}
	for (uint32_t level = 1; level < g->n; level++) {
		for (size_t k = 0; k < g->n_edges; k++) {
			const struct g_edge *e = &g->edges[k];
			if (dist[e->from] != level)
				continue;
			if (dist[e->to] == NO)
				dist[e->to] = level + 1;
			if (dist[e->to] == level + 1) {
				npaths[e->to] += npaths[e->from];
				if (npaths[e->to] > UINT32_MAX)
					npaths[e->to] = UINT32_MAX;
			}
		}
	}
	static const int sizes[] = { 1, 1, 1, 2, 3, 10, 40 };
	for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
		memset(member, 0, sizeof(member));
		size_t n = 0;
		for (int k = 0; k < sizes[t]; k++) {
			uint32_t v = (uint32_t)(rand() % RN);
			if (!member[v]) {
				member[v] = true;
				ids[n++] = v;
			}
		}
		uint32_t level = NO;
		for (size_t i = 0; i < n; i++)
			level = dist[ids[i]] < level ? dist[ids[i]] : level;
		uint64_t total = 0;
		for (size_t i = 0; i < n; i++)
			total += dist[ids[i]] == level ? npaths[ids[i]] : 0;

		seen.many_paths += total > 5;
		seen.long_paths += total && level >= 4;
		struct remora_paths *all = paths_to(s, ids, n, PATHS_CAP);
		CU_ASSERT_EQUAL(remora_paths_truncated(all), total > PATHS_CAP);
		CU_ASSERT_EQUAL(remora_paths_count(all),
				total > PATHS_CAP ? PATHS_CAP : total);
		uint32_t last_target = 0;
		for (uint32_t i = 0; i < remora_paths_count(all); i++) {
			CU_ASSERT_EQUAL_FATAL(remora_paths_length(all, i), level);
			uint32_t at = NO;
			bool ok = true;
			for (uint32_t j = 0; j < level; j++) {
				uint32_t from, to;
				uint64_t via;
				ok &= remora_paths_step(all, i, j, &from, &to, &via);
				ok &= from == at;
				if (j == 0) {
					uint32_t r = remora_paths_root(all, i);
					ok &= r < g->n_roots && g->roots[r] == to &&
					      g->root_vias[r] == via;
				} else {
					ok &= rgraph_edge(g, from, to, via) != NO;
				}
				ok &= dist[to] == j + 1;
				at = to;
			}
			ok &= member[at];
			CU_ASSERT(ok);
			/* ordered by target, then lexicographically by step */
			path_keys(g, all, i, keys);
			if (i > 0) {
				CU_ASSERT(last_target <= at);
				if (last_target == at) {
					uint32_t j = 0;
					while (j < level && prev[j] == keys[j])
						j++;
					CU_ASSERT(j < level && prev[j] < keys[j]);
				}
			}
			memcpy(prev, keys, level * sizeof(*keys));
			last_target = at;
		}
		/* truncation: a prefix, flagged */
		uint32_t max = (uint32_t)(remora_paths_count(all) / 2);
		struct remora_paths *some = paths_to(s, ids, n, max);
		CU_ASSERT_EQUAL(remora_paths_count(some), max);
		CU_ASSERT_EQUAL(remora_paths_truncated(some), total > max);
		seen.truncated += remora_paths_truncated(some);
		for (uint32_t i = 0; i < max; i++) {
			uint64_t a[RN], b[RN];
			path_keys(g, all, i, a);
			path_keys(g, some, i, b);
			CU_ASSERT(memcmp(a, b, level * sizeof(*a)) == 0);
		}
		remora_paths_destroy(some);
		remora_paths_destroy(all);
	}
}

/* Writes g as g_open() does (NODE records in a scrambled id order), with
 * its vias and where words as they are. */
static struct remora_snapshot *rgraph_open(const struct rgraph *g)
{
	struct unit_writer u;
	unit_writer_begin(&u, "random.remora");
	unit_type(&u, TYPE, "object", "builtins");
	for (size_t r = 0; r < g->n_roots; r++)
		unit_root_where(&u, addr_of(g->roots[r]), g->root_vias[r],
				g->root_wheres[r]);
	for (uint32_t j = 0; j < g->n; j++) {
		uint32_t id = (uint32_t)(((uint64_t)j * 7919) % g->n);
		unit_node(&u, addr_of(id), TYPE, g->sizes[id], NULL);
		for (uint32_t i = g->row_first[id]; i < g->row_first[id + 1]; i++) {
			const struct g_edge *e = &g->edges[g->row[i]];
			unit_edge(&u, addr_of(e->to), e->via);
		}
	}
	struct remora_snapshot *s = NULL;
	struct remora_error *err = remora_snapshot_open(unit_writer_end(&u, 0), &s);
	if (err) {
		fprintf(stderr, "random.remora: %s\n", remora_error_message(err));
		exit(99);
	}
	return s;
}

static void test_random(void)
{
	static struct rgraph g;
	static bool reach[RN];
	srand(12);
	for (int round = 0; round < 12; round++) {
		rgraph_make(&g, round % 4);
		struct remora_snapshot *s = rgraph_open(&g);
		brute_reach(&g, NULL, reach);
		brute_dominators(&g, reach);
		rgraph_count_kinds(&g, reach);
		/* dominos and paths first: neither needs the tree */
		check_random_sets(&g, s, reach);
		check_random_paths(&g, s);
		check_random_tree(&g, s, reach);
		remora_snapshot_destroy(s);
	}
	CU_ASSERT(seen.unreachable > 0 && seen.deep > 0 && seen.under_r > 0);
	CU_ASSERT(seen.many_paths > 0 && seen.truncated > 0 && seen.long_paths > 0);
	printf("\n    (unreachable %u, deep %u, under R %u; path queries: >5 paths %u, truncated %u, length >= 4 %u;\n"
	       "     held by one via kind only:",
	       seen.unreachable, seen.deep, seen.under_r, seen.many_paths,
	       seen.truncated, seen.long_paths);
	for (int k = 0; k < RKIND_COUNT; k++) {
		if (k == REMORA_VIA_ROOT)
			continue;
		printf(" %d:%u", k, seen.held_only_by[k]);
		CU_ASSERT(seen.held_only_by[k] > 0);
	}
	printf(") ");
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "diamond", test_diamond },
		{ "chain", test_chain },
		{ "long chain", test_long_chain },
		{ "cycles", test_cycles },
		{ "unreachable objects", test_unreachable },
		{ "self-loops and duplicate edges", test_duplicates },
		{ "two roots sharing a subtree", test_shared_subtree },
		{ "top retained", test_top_retained },
		{ "many targets on one level", test_many_targets },
		{ "no objects, no roots", test_empty },
		{ "random graphs", test_random },
		{ NULL, NULL },
	};
	return unit_run("dominators", tests);
}
