/* test_graph.c — referents and referrers of id sets (idset.c) and the
 * reverse edge index behind them (snapshot.h invariant 7): small graphs
 * with answers worked out by hand, then random graphs against a brute
 * force over the edge list the test wrote.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"
#include "snapshot.h"
#include "unit.h"

static const uint64_t TYPE = 0x10;
static const uint64_t MISSING = 0xdead0; /* no NODE record: dangling */
static const uint64_t VIA = 0;           /* the via word does not matter */

static uint64_t addr_of(uint32_t id)
{
	return 0x10000 + (uint64_t)id * 32;
}

static struct remora_snapshot *open_or_die(const char *path)
{
	struct remora_snapshot *s = NULL;
	struct remora_error *err = remora_snapshot_open(path, &s);
	if (err) {
		fprintf(stderr, "%s: %s\n", path, remora_error_message(err));
		exit(99);
	}
	return s;
}

/* ---- the hand-made graph --------------------------------------------- */

/* Ids (address order):
 *   diamond    0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3
 *   cycle      4 -> 5 -> 6 -> 4
 *   self-loop  7 -> 7
 *   duplicates 8 -> 9 three times
 *   dangling   10 -> MISSING, 10 -> 11, 11 -> MISSING
 *   isolated   12, 13: no edges in or out
 * The NODE records are written in descending id order, so edge rows are
 * not in id order (snapshot.h invariant 2). */
enum { HAND_N = 14 };
static const struct { uint32_t from; uint32_t to; } hand_edges[] = {
	{ 0, 1 }, { 0, 2 }, { 1, 3 }, { 2, 3 },
	{ 4, 5 }, { 5, 6 }, { 6, 4 },
	{ 7, 7 },
	{ 8, 9 }, { 8, 9 }, { 8, 9 },
	{ 10, UINT32_MAX }, { 10, 11 }, { 11, UINT32_MAX },
};
static const size_t HAND_EDGES = sizeof(hand_edges) / sizeof(hand_edges[0]);

static struct remora_snapshot *hand;

static struct remora_snapshot *open_hand(void)
{
	struct unit_writer u;
	unit_writer_begin(&u, "graph.remora");
	unit_type(&u, TYPE, "object", "builtins");
	for (uint32_t id = HAND_N; id-- > 0;) {
		unit_node(&u, addr_of(id), TYPE, 16 + id, NULL);
		for (size_t k = 0; k < HAND_EDGES; k++) {
			if (hand_edges[k].from != id)
				continue;
			uint32_t to = hand_edges[k].to;
			unit_edge(&u, to == UINT32_MAX ? MISSING : addr_of(to), VIA);
		}
	}
	return open_or_die(unit_writer_end(&u, 0));
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

typedef struct remora_error *(*neighbour_fn)(const struct remora_idset *,
					     struct remora_idset **);

/* GIVEN the members in[0..nin), WHEN fn is applied, THEN the result is
 * out[0..nout). */
static void check(neighbour_fn fn, const uint32_t *in, size_t nin,
		  const uint32_t *out, size_t nout)
{
	struct remora_idset *set = set_of(hand, in, nin), *got = NULL;
	CU_ASSERT_PTR_NULL_FATAL(fn(set, &got));
	CU_ASSERT(set_is(got, out, nout));
	remora_idset_destroy(got);
	remora_idset_destroy(set);
}

#define IDS(...) ((const uint32_t[]){ __VA_ARGS__ }), \
	(sizeof((const uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t))
#define NONE NULL, 0

static void test_loaded(void)
{
	/* THEN the dangling edges were dropped and the rest kept */
	CU_ASSERT_EQUAL(remora_snapshot_node_count(hand), HAND_N);
	CU_ASSERT_EQUAL(remora_snapshot_edge_count(hand), HAND_EDGES - 2);
	CU_ASSERT_EQUAL(remora_snapshot_dangling_count(hand), 2);
}

static void test_diamond(void)
{
	check(remora_idset_create_referents, IDS(0), IDS(1, 2));
	check(remora_idset_create_referents, IDS(1, 2), IDS(3));
	check(remora_idset_create_referents, IDS(3), NONE);
	check(remora_idset_create_referrers, IDS(3), IDS(1, 2));
	check(remora_idset_create_referrers, IDS(1, 2), IDS(0));
	check(remora_idset_create_referrers, IDS(0), NONE);
	check(remora_idset_create_referrers, IDS(0, 1, 2, 3), IDS(0, 1, 2));
}

static void test_cycle(void)
{
	check(remora_idset_create_referents, IDS(4), IDS(5));
	check(remora_idset_create_referrers, IDS(4), IDS(6));
	check(remora_idset_create_referents, IDS(4, 5, 6), IDS(4, 5, 6));
	check(remora_idset_create_referrers, IDS(4, 5, 6), IDS(4, 5, 6));
}

static void test_self_loop(void)
{
	check(remora_idset_create_referents, IDS(7), IDS(7));
	check(remora_idset_create_referrers, IDS(7), IDS(7));
}

static void test_duplicates(void)
{
	check(remora_idset_create_referents, IDS(8), IDS(9));
	check(remora_idset_create_referrers, IDS(9), IDS(8));
	/* THEN the reverse row repeats the source, once per edge */
	const struct remora_snapshot_reverse *rev = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_snapshot_reverse(hand, &rev));
	CU_ASSERT_EQUAL(rev->start[10] - rev->start[9], 3);
}

static void test_dangling(void)
{
	check(remora_idset_create_referents, IDS(10), IDS(11));
	check(remora_idset_create_referents, IDS(11), NONE);
	check(remora_idset_create_referrers, IDS(11), IDS(10));
	check(remora_idset_create_referrers, IDS(10), NONE);
}

static void test_unreachable(void)
{
	check(remora_idset_create_referents, IDS(12, 13), NONE);
	check(remora_idset_create_referrers, IDS(12, 13), NONE);
}

static void test_empty_and_whole(void)
{
	check(remora_idset_create_referents, NONE, NONE);
	check(remora_idset_create_referrers, NONE, NONE);
	struct remora_idset *all = NULL, *got = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_all(hand, &all));
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_referents(all, &got));
	CU_ASSERT(set_is(got, IDS(1, 2, 3, 4, 5, 6, 7, 9, 11)));
	CU_ASSERT_EQUAL(remora_idset_size(got),
			(16 + 1) + (16 + 2) + (16 + 3) + (16 + 4) + (16 + 5) +
			(16 + 6) + (16 + 7) + (16 + 9) + (16 + 11));
	remora_idset_destroy(got);
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_referrers(all, &got));
	CU_ASSERT(set_is(got, IDS(0, 1, 2, 4, 5, 6, 7, 8, 10)));
	remora_idset_destroy(got);
	remora_idset_destroy(all);
}

/* THEN the index is built once and kept: every call sees the same one,
 * its rows partition the edges and each row ascends. */
static void test_reverse_index(void)
{
	const struct remora_snapshot_reverse *a = NULL, *b = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_snapshot_reverse(hand, &a));
	CU_ASSERT_PTR_NULL_FATAL(remora_snapshot_reverse(hand, &b));
	CU_ASSERT_PTR_EQUAL(a, b);
	CU_ASSERT_EQUAL(a->start[0], 0);
	CU_ASSERT_EQUAL(a->start[HAND_N], remora_snapshot_edge_count(hand));
	for (uint32_t t = 0; t < HAND_N; t++) {
		CU_ASSERT(a->start[t] <= a->start[t + 1]);
		for (uint32_t e = a->start[t]; e + 1 < a->start[t + 1]; e++)
			CU_ASSERT(a->source[e] <= a->source[e + 1]);
	}
}

/* GIVEN a snapshot without objects, THEN both are empty. */
static void test_no_objects(void)
{
	struct unit_writer u;
	unit_writer_begin(&u, "graph-empty.remora");
	struct remora_snapshot *s = open_or_die(unit_writer_end(&u, 0));
	struct remora_idset *all = NULL, *got = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_all(s, &all));
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_referrers(all, &got));
	CU_ASSERT_EQUAL(remora_idset_count(got), 0);
	remora_idset_destroy(got);
	CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_referents(all, &got));
	CU_ASSERT_EQUAL(remora_idset_count(got), 0);
	remora_idset_destroy(got);
	remora_idset_destroy(all);
	remora_snapshot_destroy(s);
}

/* ---- random graphs against brute force ------------------------------- */

enum { RAND_N = 3000, RAND_EDGES = 12000 };

/* GIVEN random graphs (duplicates, self-loops and dangling edges
 * included) and member sets of every density, so both the array and the
 * bitset paths of idset_adjacent() run, THEN each result equals the one
 * computed from the edge list as written. */
static void test_random(void)
{
	static uint32_t from[RAND_EDGES], to[RAND_EDGES];
	static bool member[RAND_N], want_out[RAND_N], want_in[RAND_N];
	static uint32_t ids[RAND_N];
	srand(4);
	for (int round = 0; round < 3; round++) {
		/* skewed sources: some objects have many edges, most few */
		for (uint32_t k = 0; k < RAND_EDGES; k++) {
			from[k] = (uint32_t)(rand() % RAND_N);
			if (k % 3 == 0)
				from[k] %= 50;
			to[k] = rand() % 20 == 0 ? UINT32_MAX
						 : (uint32_t)(rand() % RAND_N);
		}
		struct unit_writer u;
		unit_writer_begin(&u, "graph-random.remora");
		unit_type(&u, TYPE, "object", "builtins");
		/* edges grouped by source, written in a scrambled node order */
		for (uint32_t j = 0; j < RAND_N; j++) {
			uint32_t id = (j * 7919u) % RAND_N;
			unit_node(&u, addr_of(id), TYPE, id % 13 + 1, NULL);
			for (uint32_t k = 0; k < RAND_EDGES; k++) {
				if (from[k] == id)
					unit_edge(&u, to[k] == UINT32_MAX ? MISSING
									  : addr_of(to[k]), VIA);
			}
		}
		struct remora_snapshot *s = open_or_die(unit_writer_end(&u, 0));

		static const int densities[] = { 0, 1, 10, 100, 500, 1000 };
		for (size_t d = 0; d < sizeof(densities) / sizeof(densities[0]); d++) {
			size_t n = 0;
			for (uint32_t i = 0; i < RAND_N; i++) {
				member[i] = rand() % 1000 < densities[d];
				if (member[i])
					ids[n++] = i;
			}
			memset(want_out, 0, sizeof(want_out));
			memset(want_in, 0, sizeof(want_in));
			for (uint32_t k = 0; k < RAND_EDGES; k++) {
				if (to[k] == UINT32_MAX)
					continue;
				if (member[from[k]])
					want_out[to[k]] = true;
				if (member[to[k]])
					want_in[from[k]] = true;
			}
			struct remora_idset *set = set_of(s, ids, n);
			struct remora_idset *out = NULL, *in = NULL;
			CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_referents(set, &out));
			CU_ASSERT_PTR_NULL_FATAL(remora_idset_create_referrers(set, &in));
			uint64_t nout = 0, nin = 0;
			bool ok = true;
			for (uint32_t i = 0; i < RAND_N; i++) {
				nout += want_out[i];
				nin += want_in[i];
				ok &= remora_idset_contains(out, i) == want_out[i];
				ok &= remora_idset_contains(in, i) == want_in[i];
			}
			CU_ASSERT(ok);
			CU_ASSERT_EQUAL(remora_idset_count(out), nout);
			CU_ASSERT_EQUAL(remora_idset_count(in), nin);
			remora_idset_destroy(in);
			remora_idset_destroy(out);
			remora_idset_destroy(set);
		}
		remora_snapshot_destroy(s);
	}
}

int main(void)
{
	hand = open_hand();
	static const struct unit_test tests[] = {
		{ "loaded", test_loaded },
		{ "diamond", test_diamond },
		{ "cycle", test_cycle },
		{ "self-loop", test_self_loop },
		{ "duplicate edges", test_duplicates },
		{ "dangling edges", test_dangling },
		{ "unreachable objects", test_unreachable },
		{ "empty set and whole set", test_empty_and_whole },
		{ "reverse index", test_reverse_index },
		{ "snapshot without objects", test_no_objects },
		{ "random graphs", test_random },
		{ NULL, NULL },
	};
	int status = unit_run("graph", tests);
	remora_snapshot_destroy(hand);
	return status;
}
