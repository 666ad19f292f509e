/* graph.c — dominos, the dominator tree and shortest paths from the roots
 * (graph.h).  Reads the edge rows of snapshot.h (invariant 2); the paths
 * also read the reverse edges (invariant 7).
 *
 * Every traversal is iterative: its stack or queue holds each node at most
 * once (nodes are marked when pushed), so it is bounded by the node count
 * and allocated once; nothing recurses, so a million-long chain is fine.
 * On a heap without address locality every visit is a cache miss: the
 * breadth-first traversals prefetch the rows of the nodes queued a little
 * ahead, and the DFS the row bounds of a node's unseen targets.
 *
 * The dominator tree is semi-NCA (Georgiadis' variant of Lengauer-Tarjan,
 * as in LLVM's SemiNCA and LeakCanary; PERF-NOTES.md):
 *
 *   dfs      an iterative depth-first search from R numbers the reachable
 *            nodes in preorder (R is 0), records each one's tree parent and
 *            lists every other edge as (target, source's number); a root
 *            entry is an edge from R.
 *   group    the listed edges, renumbered, grouped by target: each node's
 *            predecessors in preorder numbers (no reverse edges needed).
 *   semi     in reverse preorder, each node's semidominator: the least over
 *            its predecessors q of q itself if q is numbered below it, else
 *            of semi(eval(q)) (the path-compressed minimum of the
 *            semidominators on q's tree path, over nodes already done).
 *   nca      in preorder, idom(w) = the nearest of the dominators of w's
 *            parent (the idoms found so far) numbered <= semi(w).
 *   retained in reverse preorder, each node adds its retained size to its
 *            idom's (a child comes after its idom in preorder).
 * Everything after the DFS works on preorder numbers, so the arrays it
 * touches are dense, and a node's four words share a cache line.
 */
#include "graph.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "idset.h"
#include "snapshot.h"

static uint64_t graph_nwords(uint32_t n)
{
	return ((uint64_t)n + 63) / 64;
}

static bool graph_bit(const uint64_t *words, uint32_t i)
{
	return (words[i / 64] >> (i % 64)) & 1;
}

static void graph_bit_set(uint64_t *words, uint32_t i)
{
	words[i / 64] |= UINT64_C(1) << (i % 64);
}

static void graph_bit_clear(uint64_t *words, uint32_t i)
{
	words[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* A zeroed bitset of n bits (at least one word), or NULL. */
static uint64_t *graph_bits_alloc(uint32_t n)
{
	uint64_t nwords = graph_nwords(n);
	return calloc(nwords ? nwords : 1, sizeof(uint64_t));
}

/* The set whose members are the bits of words (node_count of them); the
 * words stay the caller's.  idset.c picks the representation. */
static struct remora_error *graph_set_from_bits(const struct remora_snapshot *snap,
						const uint64_t *words,
						struct remora_idset **ret)
{
	uint64_t nwords = graph_nwords(snap->node_count), count = 0;
	for (uint64_t w = 0; w < nwords; w++)
		count += (uint64_t)__builtin_popcountll(words[w]);
	uint32_t *ids = malloc((count ? count : 1) * sizeof(*ids));
	if (!ids)
		return &remora_error_no_memory;
	uint64_t k = 0;
	for (uint64_t w = 0; w < nwords; w++) {
		for (uint64_t bits = words[w]; bits; bits &= bits - 1)
			ids[k++] = (uint32_t)(w * 64 + (uint64_t)__builtin_ctzll(bits));
	}
	struct remora_error *err = remora_idset_create_sorted(snap, ids, count, ret);
	free(ids);
	return err;
}

/* ---- dominos ---------------------------------------------------------- */

/* How far ahead of the queue's head the traversals ask for rows: the
 * bounds of the node PREFETCH_BOUNDS ahead, the edges of the one
 * PREFETCH_ROW ahead (whose bounds were asked for earlier).  On a heap
 * without locality every row is a cache miss; these overlap them. */
enum { PREFETCH_BOUNDS = 16, PREFETCH_ROW = 8 };

/* always_inline: a function doing nothing but prefetches counts as
 * const for GCC, and a call to it is then dropped as dead. */
__attribute__((always_inline))
static inline void graph_prefetch(const struct remora_snapshot *snap,
				  const uint32_t *queue, uint32_t head,
				  uint32_t tail)
{
	if (head + PREFETCH_BOUNDS < tail) {
		uint32_t x = queue[head + PREFETCH_BOUNDS];
		__builtin_prefetch(&snap->edge_start[x]);
		__builtin_prefetch(&snap->edge_end[x]);
	}
	if (head + PREFETCH_ROW < tail)
		__builtin_prefetch(&snap->edge_target[snap->edge_start[queue[head + PREFETCH_ROW]]]);
}

/* Two breadth-first phases, together one traversal of what R reaches:
 *   1. from R, never entering S: marks A = reachable while avoiding S.
 *      An S member met on the way (a root entry or an edge from A) is a
 *      seed: it is reachable from R, and the first non-A node on any path
 *      from R is such a seed.
 *   2. from the seeds, never entering A: marks exactly the nodes
 *      reachable from R but not in A (after the last A node of a path
 *      from R, the rest of it is non-A and starts at a seed).
 * The result is S and phase 2's marks.  Phase 1's queue grows up from
 * queue[0] and the seeds down from queue[n]: they hold distinct A and S
 * nodes, disjoint, so they never meet.  Phase 2's queue holds the seeds
 * and then distinct non-A nodes. */
struct remora_error *remora_idset_create_dominos(const struct remora_idset *set,
						 struct remora_idset **ret)
{
	const struct remora_snapshot *snap = set->snap;
	uint32_t n = snap->node_count;
	struct remora_error *err = &remora_error_no_memory;

	uint64_t *in_s = remora_idset_to_bits(set);
	if (!in_s)
		goto out;
	uint64_t *avoid = graph_bits_alloc(n);
	if (!avoid)
		goto out_in_s;
	uint64_t *lost = graph_bits_alloc(n);
	if (!lost)
		goto out_avoid;
	uint32_t *queue = malloc((n ? n : 1) * sizeof(*queue));
	if (!queue)
		goto out_lost;

	uint32_t head = 0, tail = 0, seeds = n;
	for (uint32_t r = 0; r < snap->root_count; r++) {
		uint32_t t = snap->root_target[r];
		if (graph_bit(in_s, t)) {
			if (!graph_bit(lost, t)) {
				graph_bit_set(lost, t);
				queue[--seeds] = t;
			}
		} else if (!graph_bit(avoid, t)) {
			graph_bit_set(avoid, t);
			queue[tail++] = t;
		}
	}
	while (head < tail) {
		graph_prefetch(snap, queue, head, tail);
		uint32_t v = queue[head++];
		for (uint32_t e = snap->edge_start[v]; e < snap->edge_end[v]; e++) {
			uint32_t t = snap->edge_target[e];
			if (graph_bit(in_s, t)) {
				if (!graph_bit(lost, t)) {
					graph_bit_set(lost, t);
					queue[--seeds] = t;
				}
			} else if (!graph_bit(avoid, t)) {
				graph_bit_set(avoid, t);
				queue[tail++] = t;
			}
		}
	}

	head = 0;
	tail = n - seeds;
	memmove(queue, queue + seeds, (size_t)tail * sizeof(*queue));
	while (head < tail) {
		graph_prefetch(snap, queue, head, tail);
		uint32_t v = queue[head++];
		for (uint32_t e = snap->edge_start[v]; e < snap->edge_end[v]; e++) {
			uint32_t t = snap->edge_target[e];
			if (!graph_bit(avoid, t) && !graph_bit(lost, t)) {
				graph_bit_set(lost, t);
				queue[tail++] = t;
			}
		}
	}

	uint64_t nwords = graph_nwords(n);
	for (uint64_t w = 0; w < nwords; w++)
		lost[w] |= in_s[w];
	err = graph_set_from_bits(snap, lost, ret);

	free(queue);
out_lost:
	free(lost);
out_avoid:
	free(avoid);
out_in_s:
	free(in_s);
out:
	return err;
}

/* ---- the dominator tree ------------------------------------------------ */

void remora_dominators_destroy(struct remora_dominators *dom)
{
	if (!dom)
		return;
	free(dom->reachable);
	remora_big_free(dom->retained);
	remora_big_free(dom->idom);
	free(dom);
}

/* One node of a build, by preorder number (0 is R): the four words the
 * semi and nca passes touch for it, in one cache line. */
struct dom_node {
	uint32_t anc;     /* tree parent, then compressed by dom_eval() */
	uint32_t label;   /* node of least semi on the compressed path */
	uint32_t semi;    /* see dom_dfs(), then the semidominator */
	uint32_t idom;    /* tree parent, then the immediate dominator */
};

/* A non-tree edge q -> w: w is an id until dom_group() turns it into its
 * preorder number; q is a preorder number (0: a root entry). */
struct dom_pair {
	uint32_t w;
	uint32_t q;
};

/* The arrays of one build, indexed by preorder number but for pre[],
 * which maps ids to them.  m is 1 + the number of reachable nodes. */
struct dom_work {
	uint32_t m;
	uint64_t *seen;          /* [n] bits: numbered (pre[] is valid) */
	uint32_t *pre;           /* [n] id -> preorder, where seen */
	uint32_t *vertex;        /* [n + 1] preorder -> id (vertex[0] unused) */
	struct dom_node *node;   /* [n + 1] */
	struct dom_pair *pairs;  /* [edge_count + root_count]: non-tree edges */
	uint64_t n_pairs;
	uint32_t *pred_start;    /* [m + 1] the pairs grouped by w: */
	uint32_t *pred;          /* the q of w in pred[pred_start[w] ..
				  * pred_start[w + 1]) */
	uint32_t *path;          /* [m] dom_eval()'s stack */
};

struct dom_frame {
	uint32_t node;     /* id, or REMORA_NO_NODE for R */
	uint32_t pu;       /* its preorder number */
	uint32_t cursor;   /* next root index (R) or edge index */
	uint32_t end;
};

/* Asks for the row bounds of the unseen targets among the first edges of
 * a row the DFS enters: it descends into the first at once, but the rest
 * it reaches only after that subtree, by which time they have arrived.
 * always_inline: see graph_prefetch(). */
__attribute__((always_inline))
static inline void dom_prefetch_unseen(const struct remora_snapshot *snap,
				       const uint64_t *seen, uint32_t begin,
				       uint32_t end)
{
	for (uint32_t e = begin; e < end && e - begin < 8; e++) {
		uint32_t t = snap->edge_target[e];
		if (!graph_bit(seen, t)) {
			__builtin_prefetch(&snap->edge_start[t]);
			__builtin_prefetch(&snap->edge_end[t]);
		}
	}
}

/* Preorder numbers, vertex[] and tree parents for everything R reaches
 * (root entries in root order, edges in row order: a root entry is an
 * edge from R), and the predecessors, so the referrers are never looked
 * up: a tree edge u -> v makes u v's parent and initial semi, any other
 * edge but a self-loop becomes a pair (v's id, u's number).  The DFS
 * itself tests only the seen bits (which stay in cache) and writes the
 * pairs in sequence; dom_group() does the scattered lookups, which do not
 * depend on one another. */
static struct remora_error *dom_dfs(const struct remora_snapshot *snap,
				    struct dom_work *w)
{
	uint32_t n = snap->node_count;
	struct dom_frame *stack = remora_big_alloc((size_t)n + 1, sizeof(*stack));
	if (!stack)
		return &remora_error_no_memory;
	uint32_t m = 1, sp = 0;
	uint64_t np = 0;
	w->node[0] = (struct dom_node){ 0, 0, 0, 0 };
	stack[sp++] = (struct dom_frame){ .node = REMORA_NO_NODE, .pu = 0,
					  .cursor = 0, .end = snap->root_count };
	while (sp) {
		struct dom_frame *f = &stack[sp - 1];
		if (f->cursor == f->end) {
			sp--;
			continue;
		}
		uint32_t v = f->node == REMORA_NO_NODE
				     ? snap->root_target[f->cursor++]
				     : snap->edge_target[f->cursor++];
		uint32_t pu = f->pu;
		if (!graph_bit(w->seen, v)) {
			graph_bit_set(w->seen, v);
			w->pre[v] = m;
			w->vertex[m] = v;
			w->node[m] = (struct dom_node){ .anc = pu, .label = m,
							.semi = pu, .idom = pu };
			uint32_t begin = snap->edge_start[v], end = snap->edge_end[v];
			dom_prefetch_unseen(snap, w->seen, begin, end);
			stack[sp++] = (struct dom_frame){
				.node = v, .pu = m, .cursor = begin, .end = end };
			m++;
		} else if (v != f->node) {
			w->pairs[np++] = (struct dom_pair){ .w = v, .q = pu };
		}
	}
	remora_big_free(stack);
	w->m = m;
	w->n_pairs = np;
	return NULL;
}

/* Renumbers the pairs' w and groups them by it (a counting sort, like
 * the reverse edges of snapshot.c): pred_start[w] first counts, then
 * (prefix sums) ends, and the fill, walking the pairs backwards,
 * decrements it to the start. */
static void dom_group(struct dom_work *w)
{
	uint32_t *start = w->pred_start;
	memset(start, 0, ((size_t)w->m + 1) * sizeof(*start));
	for (uint64_t k = 0; k < w->n_pairs; k++) {
		uint32_t pw = w->pre[w->pairs[k].w];
		w->pairs[k].w = pw;
		start[pw]++;
	}
	uint32_t sum = 0;
	for (uint32_t i = 0; i < w->m; i++) {
		sum += start[i];
		start[i] = sum;
	}
	start[w->m] = sum;
	for (uint64_t k = w->n_pairs; k-- > 0;)
		w->pred[--start[w->pairs[k].w]] = w->pairs[k].q;
}

/* The label of least semi on the path from v up to (excluding) the first
 * ancestor numbered below last, compressing the path on the way; the
 * nodes numbered >= last are the ones whose semi is final. */
static uint32_t dom_eval(struct dom_work *w, uint32_t v, uint32_t last)
{
	struct dom_node *node = w->node;
	if (node[v].anc < last)
		return node[v].label;
	uint32_t top = 0;
	do {
		w->path[top++] = v;
		v = node[v].anc;
	} while (node[v].anc >= last);
	uint32_t p = v, plabel = node[p].label;
	do {
		v = w->path[--top];
		node[v].anc = node[p].anc;
		if (node[plabel].semi < node[node[v].label].semi)
			node[v].label = plabel;
		else
			plabel = node[v].label;
		p = v;
	} while (top);
	return node[v].label;
}

/* Semidominators in reverse preorder: the least over the predecessors q
 * of q itself if q < i (the tree parent is the first), else of
 * semi(eval(q)).  0 (R) is the least there is. */
static void dom_semi(struct dom_work *w)
{
	struct dom_node *node = w->node;
	for (uint32_t i = w->m; i-- > 1;) {
		uint32_t s = node[i].semi;
		for (uint32_t k = w->pred_start[i]; s && k < w->pred_start[i + 1]; k++) {
			uint32_t q = w->pred[k];
			if (q > i)
				q = node[dom_eval(w, q, i + 1)].semi;
			if (q < s)
				s = q;
		}
		node[i].semi = s;
	}
}

/* In preorder, idom(w) = the nearest of its parent's dominators (idoms
 * found so far) numbered <= semi(w). */
static void dom_nca(struct dom_work *w)
{
	struct dom_node *node = w->node;
	for (uint32_t i = 1; i < w->m; i++) {
		uint32_t c = node[i].idom;
		while (c > node[i].semi)
			c = node[c].idom;
		node[i].idom = c;
	}
}

static void dom_work_free(struct dom_work *w)
{
	remora_big_free(w->path);
	remora_big_free(w->pred);
	remora_big_free(w->pred_start);
	remora_big_free(w->pairs);
	remora_big_free(w->node);
	remora_big_free(w->vertex);
	remora_big_free(w->pre);
	free(w->seen);
}

/* The phases in order, each array freed as soon as the rest can do
 * without it: the peak is during the DFS, about 40 bytes per object and
 * 8 per edge (16 of the 40 the DFS stack, as deep as the DFS goes). */
static struct remora_error *dom_build(const struct remora_snapshot *snap,
				      struct remora_dominators **ret)
{
	uint32_t n = snap->node_count;
	size_t n1 = (size_t)n + 1;
	uint64_t edges = snap->edge_count + snap->root_count;
	/* pred_start[] counts the pairs in 32 bits */
	if (edges > UINT32_MAX)
		return remora_error_create(REMORA_ERROR_OTHER,
					   "%llu edges and roots are too many for the dominator tree",
					   (unsigned long long)edges);
	struct remora_error *err = &remora_error_no_memory;
	struct remora_dominators *dom = NULL;
	struct dom_work w = {
		.seen = graph_bits_alloc(n),
		.pre = remora_big_alloc(n, sizeof(uint32_t)),
		.vertex = remora_big_alloc(n1, sizeof(uint32_t)),
		.node = remora_big_alloc(n1, sizeof(struct dom_node)),
		.pairs = remora_big_alloc(edges, sizeof(struct dom_pair)),
	};
	if (!w.seen || !w.pre || !w.vertex || !w.node || !w.pairs)
		goto out;
	err = dom_dfs(snap, &w);
	if (err)
		goto out;

	err = &remora_error_no_memory;
	w.pred_start = remora_big_alloc((size_t)w.m + 1, sizeof(uint32_t));
	w.pred = remora_big_alloc(w.n_pairs, sizeof(uint32_t));
	if (!w.pred_start || !w.pred)
		goto out;
	dom_group(&w);
	remora_big_free(w.pairs);
	w.pairs = NULL;
	remora_big_free(w.pre);
	w.pre = NULL;

	w.path = remora_big_alloc(w.m, sizeof(uint32_t));
	if (!w.path)
		goto out;
	dom_semi(&w);
	dom_nca(&w);

	dom = calloc(1, sizeof(*dom));
	if (!dom)
		goto out;
	dom->idom = remora_big_alloc(n, sizeof(*dom->idom));
	dom->retained = remora_big_alloc(n, sizeof(*dom->retained));
	if (!dom->idom || !dom->retained)
		goto out;
	/* what the DFS saw is what R reaches */
	dom->reachable = w.seen;
	w.seen = NULL;
	memset(dom->idom, 0xff, (size_t)n * sizeof(*dom->idom));
	memcpy(dom->retained, snap->size, (size_t)n * sizeof(*dom->retained));
	for (uint32_t i = w.m; i-- > 1;) {
		uint32_t v = w.vertex[i];
		if (w.node[i].idom == 0)
			continue;
		uint32_t d = w.vertex[w.node[i].idom];
		dom->idom[v] = d;
		dom->retained[d] += dom->retained[v];
	}
	*ret = dom;
	dom = NULL;
	err = NULL;
out:
	dom_work_free(&w);
	remora_dominators_destroy(dom);
	return err;
}

struct remora_error *
remora_snapshot_dominator_tree(const struct remora_snapshot *snap,
			       const struct remora_dominators **ret)
{
	/* The snapshot is logically immutable; this cache is a late-filled
	 * field like the reverse edges (graph.h invariant 1), hence the
	 * cast. */
	struct remora_dominators **slot =
		&((struct remora_snapshot *)snap)->dominators;
	struct remora_dominators *dom = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!dom) {
		struct remora_error *err = dom_build(snap, &dom);
		if (err)
			return err;
		struct remora_dominators *expected = NULL;
		if (!__atomic_compare_exchange_n(slot, &expected, dom, false,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE)) {
			remora_dominators_destroy(dom);
			dom = expected;
		}
	}
	*ret = dom;
	return NULL;
}

/* The published tree, or NULL before the first successful build. */
static const struct remora_dominators *dom_peek(const struct remora_snapshot *snap)
{
	return __atomic_load_n(&snap->dominators, __ATOMIC_ACQUIRE);
}

struct remora_error *remora_snapshot_dominators(const struct remora_snapshot *snap)
{
	const struct remora_dominators *dom;
	return remora_snapshot_dominator_tree(snap, &dom);
}

uint32_t remora_snapshot_node_idom(const struct remora_snapshot *snap,
				   uint32_t id)
{
	const struct remora_dominators *dom = dom_peek(snap);
	return dom && id < snap->node_count ? dom->idom[id] : REMORA_NO_NODE;
}

uint64_t remora_snapshot_node_retained(const struct remora_snapshot *snap,
				       uint32_t id)
{
	const struct remora_dominators *dom = dom_peek(snap);
	return dom && id < snap->node_count ? dom->retained[id] : 0;
}

bool remora_snapshot_node_reachable(const struct remora_snapshot *snap,
				    uint32_t id)
{
	const struct remora_dominators *dom = dom_peek(snap);
	return dom && id < snap->node_count && graph_bit(dom->reachable, id);
}

struct remora_error *remora_idset_create_imdom(const struct remora_idset *set,
					       struct remora_idset **ret)
{
	const struct remora_dominators *dom;
	struct remora_error *err = remora_snapshot_dominator_tree(set->snap, &dom);
	if (err)
		return err;
	uint64_t *words = graph_bits_alloc(set->universe);
	if (!words)
		return &remora_error_no_memory;
	struct remora_idset_iter it;
	uint32_t id;
	remora_idset_iter_init(&it, set);
	while (remora_idset_iter_next(&it, &id)) {
		if (dom->idom[id] != REMORA_NO_NODE)
			graph_bit_set(words, dom->idom[id]);
	}
	err = graph_set_from_bits(set->snap, words, ret);
	free(words);
	return err;
}

struct remora_error *remora_snapshot_dominated(const struct remora_snapshot *snap,
					       uint32_t id, struct remora_idset **ret)
{
	const struct remora_dominators *dom;
	struct remora_error *err = remora_snapshot_dominator_tree(snap, &dom);
	if (err)
		return err;
	uint64_t *words = graph_bits_alloc(snap->node_count);
	if (!words)
		return &remora_error_no_memory;
	for (uint32_t i = 0; i < snap->node_count; i++) {
		if (dom->idom[i] == id && (id != REMORA_NO_NODE || graph_bit(dom->reachable, i)))
			graph_bit_set(words, i);
	}
	err = graph_set_from_bits(snap, words, ret);
	free(words);
	return err;
}

/* a ranks before b: larger retained size, then smaller id. */
static bool top_before(const uint64_t *retained, uint32_t a, uint32_t b)
{
	return retained[a] != retained[b] ? retained[a] > retained[b] : a < b;
}

/* Restores the heap order below slot i of heap[0..n): every parent ranks
 * after its children, so heap[0] is the one to drop first. */
static void top_sift_down(const uint64_t *retained, uint32_t *heap, size_t n,
			  size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && top_before(retained, heap[c], heap[c + 1]))
			c++;
		if (!top_before(retained, heap[i], heap[c]))
			return;
		uint32_t t = heap[i];
		heap[i] = heap[c];
		heap[c] = t;
		i = c;
	}
}

/* A heap of the k best seen so far, in ids[] itself, whose top is the
 * worst of them; then heapsort, which leaves the best first. */
struct remora_error *remora_idset_top_retained(const struct remora_idset *set,
					       uint32_t *ids, size_t k,
					       size_t *n_ret)
{
	const struct remora_dominators *dom;
	struct remora_error *err = remora_snapshot_dominator_tree(set->snap, &dom);
	if (err)
		return err;
	const uint64_t *retained = dom->retained;
	size_t n = 0;
	struct remora_idset_iter it;
	uint32_t id;
	remora_idset_iter_init(&it, set);
	while (k && remora_idset_iter_next(&it, &id)) {
		if (n < k) {
			/* sift up */
			size_t i = n++;
			ids[i] = id;
			while (i > 0 && top_before(retained, ids[(i - 1) / 2], ids[i])) {
				uint32_t t = ids[i];
				ids[i] = ids[(i - 1) / 2];
				ids[(i - 1) / 2] = t;
				i = (i - 1) / 2;
			}
		} else if (top_before(retained, id, ids[0])) {
			ids[0] = id;
			top_sift_down(retained, ids, n, 0);
		}
	}
	for (size_t end = n; end > 1; end--) {
		uint32_t t = ids[0];
		ids[0] = ids[end - 1];
		ids[end - 1] = t;
		top_sift_down(retained, ids, end - 1, 0);
	}
	*n_ret = n;
	return NULL;
}

/* ---- shortest paths from the roots ------------------------------------ */

/* steps[i * length + j] is path i's step j: for j == 0 a root index, else
 * an edge index; the target of step j - 1 is the source of step j. */
struct remora_paths {
	const struct remora_snapshot *snap;
	uint32_t count;
	uint32_t length;
	bool truncated;
	uint32_t *steps;
	size_t cap;        /* paths steps[] has room for */
};

/* A level of the path being enumerated: the rest of its compact row. */
struct paths_frame {
	uint32_t cursor;
	uint32_t end;
};

/* The state of one remora_paths_create().  Of the targets found nearest,
 * only the first max_paths + 1 (by id) can contribute a path, so the
 * search stops at them: U is the set of nodes on a shortest path to one
 * of those, and each compact row is a row cut to its edges into U one
 * level down, the only ones an enumeration can take.  A big container
 * holding many targets is then scanned once, not once per path. */
struct paths_work {
	const struct remora_snapshot *snap;
	const struct remora_snapshot_reverse *rev;
	uint32_t length;      /* the level of the targets found */
	uint32_t *dist;       /* [n] BFS level (root targets 1), or NO_NODE */
	uint32_t *queue;      /* [n] BFS order, levels one after the other */
	uint64_t *in_u;       /* [n] bits: U */
	uint32_t *u_list;     /* [n] U's members */
	uint64_t *useful;     /* [n] bits: on a shortest path to one target */
	uint32_t *list;       /* [n] the nodes with a useful bit */
	uint32_t *slot;       /* [n] compact row number of a U node above
			       * the target level (R's row is 0) */
	uint32_t *row_start;  /* compact row s is row_edge[row_start[s] ..
			       * row_start[s + 1]): root indices for R, edge
			       * indices for the others */
	uint32_t *row_edge;
	size_t row_cap;
	struct paths_frame *frames; /* [length] enumeration stack */
	uint32_t *step;       /* [length] the path being enumerated */
	uint32_t max_paths;
};

static void paths_work_free(struct paths_work *pw)
{
	free(pw->step);
	free(pw->frames);
	free(pw->row_edge);
	free(pw->row_start);
	remora_big_free(pw->slot);
	free(pw->list);
	free(pw->useful);
	free(pw->u_list);
	free(pw->in_u);
	free(pw->queue);
	remora_big_free(pw->dist);
}

static int paths_compare_ids(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* BFS from R, level by level, until a level holds a member of targets
 * (in_t): the members found go to found[0..*n_found), ascending (written
 * over the level's own stretch of queue[], which the BFS no longer
 * needs), and the level to pw->length; none found: *n_found = 0. */
static void paths_bfs(struct paths_work *pw, const uint64_t *in_t,
		      uint32_t **found, uint32_t *n_found)
{
	const struct remora_snapshot *snap = pw->snap;
	uint32_t *dist = pw->dist, *queue = pw->queue;
	uint32_t head = 0, tail = 0;
	*n_found = 0;
	memset(dist, 0xff, (size_t)snap->node_count * sizeof(*dist));
	for (uint32_t r = 0; r < snap->root_count; r++) {
		uint32_t t = snap->root_target[r];
		if (dist[t] == REMORA_NO_NODE) {
			dist[t] = 1;
			queue[tail++] = t;
		}
	}
	for (uint32_t level = 1; head < tail; level++) {
		uint32_t k = 0;
		for (uint32_t q = head; q < tail; q++)
			k += graph_bit(in_t, queue[q]);
		if (k) {
			/* out[k] is written at or behind queue[q], read already */
			uint32_t *out = queue + head;
			k = 0;
			for (uint32_t q = head; q < tail; q++) {
				if (graph_bit(in_t, queue[q]))
					out[k++] = queue[q];
			}
			qsort(out, k, sizeof(*out), paths_compare_ids);
			*found = out;
			*n_found = k;
			pw->length = level;
			return;
		}
		uint32_t end = tail;
		for (uint32_t q = head; q < end; q++) {
			graph_prefetch(snap, queue, q, end);
			uint32_t v = queue[q];
			for (uint32_t e = snap->edge_start[v]; e < snap->edge_end[v]; e++) {
				uint32_t t = snap->edge_target[e];
				if (dist[t] == REMORA_NO_NODE) {
					dist[t] = level + 1;
					queue[tail++] = t;
				}
			}
		}
		head = end;
	}
}

/* Marks in marks, and lists in list, the nodes on shortest paths from R
 * to targets[0..k) (themselves included): backwards from them through
 * referrers one level closer.  Returns how many it listed. */
static uint32_t paths_mark(const struct paths_work *pw, const uint32_t *targets,
			   uint32_t k, uint64_t *marks, uint32_t *list)
{
	const struct remora_snapshot_reverse *rev = pw->rev;
	uint32_t n = 0;
	for (uint32_t i = 0; i < k; i++) {
		graph_bit_set(marks, targets[i]);
		list[n++] = targets[i];
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t v = list[i], want = pw->dist[v] - 1;
		if (want == 0)
			continue;
		for (uint32_t e = rev->start[v]; e < rev->start[v + 1]; e++) {
			uint32_t p = rev->source[e];
			if (pw->dist[p] == want && !graph_bit(marks, p)) {
				graph_bit_set(marks, p);
				list[n++] = p;
			}
		}
	}
	return n;
}

static bool paths_row_push(struct paths_work *pw, size_t *len, uint32_t x)
{
	if (*len == pw->row_cap) {
		size_t cap = pw->row_cap ? 2 * pw->row_cap : 1024;
		uint32_t *edges = realloc(pw->row_edge, cap * sizeof(*edges));
		if (!edges)
			return false;
		pw->row_edge = edges;
		pw->row_cap = cap;
	}
	pw->row_edge[(*len)++] = x;
	return true;
}

/* The compact rows of R and of the n_u nodes of U (u_list) above the
 * target level; false when out of memory. */
static bool paths_compact(struct paths_work *pw, uint32_t n_u)
{
	const struct remora_snapshot *snap = pw->snap;
	pw->row_start = malloc(((size_t)n_u + 2) * sizeof(*pw->row_start));
	if (!pw->row_start)
		return false;
	size_t len = 0;
	uint32_t s = 0;
	pw->row_start[0] = 0;
	for (uint32_t r = 0; r < snap->root_count; r++) {
		if (graph_bit(pw->in_u, snap->root_target[r]) &&
		    !paths_row_push(pw, &len, r))
			return false;
	}
	for (uint32_t i = 0; i < n_u; i++) {
		uint32_t v = pw->u_list[i], below = pw->dist[v] + 1;
		if (below > pw->length)
			continue;
		pw->slot[v] = ++s;
		pw->row_start[s] = (uint32_t)len;
		for (uint32_t e = snap->edge_start[v]; e < snap->edge_end[v]; e++) {
			uint32_t u = snap->edge_target[e];
			if (pw->dist[u] == below && graph_bit(pw->in_u, u) &&
			    !paths_row_push(pw, &len, e))
				return false;
		}
	}
	pw->row_start[s + 1] = (uint32_t)len;
	return true;
}

/* Appends step[0..length) as a path; false when out of memory. */
static bool paths_append(struct remora_paths *paths, const uint32_t *step)
{
	if (paths->count == paths->cap) {
		size_t cap = paths->cap ? 2 * paths->cap : 16;
		if (cap > SIZE_MAX / sizeof(uint32_t) / paths->length)
			return false;
		uint32_t *steps = realloc(paths->steps,
					  cap * paths->length * sizeof(*steps));
		if (!steps)
			return false;
		paths->steps = steps;
		paths->cap = cap;
	}
	memcpy(paths->steps + (size_t)paths->count * paths->length, step,
	       paths->length * sizeof(*step));
	paths->count++;
	return true;
}

/* Every shortest path from R to the target marked useful, lexicographically
 * by (root index, edge indices): a depth-first walk from R along compact
 * rows that only steps to useful nodes, so every branch it takes ends at
 * the target.  Returns false when out of memory; sets truncated (and
 * stops) at the (max_paths + 1)-th path. */
static bool paths_enumerate(struct paths_work *pw, struct remora_paths *paths)
{
	const struct remora_snapshot *snap = pw->snap;
	uint32_t length = pw->length;
	struct paths_frame *f = pw->frames;
	uint32_t l = 0;
	f[0] = (struct paths_frame){ .cursor = pw->row_start[0],
				     .end = pw->row_start[1] };
	for (;;) {
		uint32_t child = REMORA_NO_NODE;
		while (f[l].cursor < f[l].end) {
			uint32_t x = pw->row_edge[f[l].cursor++];
			uint32_t u = l == 0 ? snap->root_target[x] : snap->edge_target[x];
			if (graph_bit(pw->useful, u)) {
				child = u;
				pw->step[l] = x;
				break;
			}
		}
		if (child == REMORA_NO_NODE) {
			if (l == 0)
				return true;
			l--;
			continue;
		}
		if (l + 1 == length) {
			/* child is the target: only it is useful at this level */
			if (paths->count == pw->max_paths) {
				paths->truncated = true;
				return true;
			}
			if (!paths_append(paths, pw->step))
				return false;
			continue;
		}
		uint32_t s = pw->slot[child];
		f[++l] = (struct paths_frame){ .cursor = pw->row_start[s],
					       .end = pw->row_start[s + 1] };
	}
}

struct remora_error *remora_paths_create(const struct remora_idset *targets,
					 uint32_t max_paths,
					 struct remora_paths **ret)
{
	const struct remora_snapshot *snap = targets->snap;
	uint32_t n = snap->node_count;
	struct remora_error *err = &remora_error_no_memory;
	struct remora_paths *paths = calloc(1, sizeof(*paths));
	if (!paths)
		return err;
	paths->snap = snap;
	if (targets->count == 0 || snap->root_count == 0) {
		*ret = paths;
		return NULL;
	}

	struct paths_work pw = {
		.snap = snap,
		.max_paths = max_paths,
		.dist = remora_big_alloc(n, sizeof(uint32_t)),
		.queue = malloc((size_t)n * sizeof(uint32_t)),
	};
	uint64_t *in_t = remora_idset_to_bits(targets);
	if (!pw.dist || !pw.queue || !in_t)
		goto out;

	uint32_t *found = NULL, n_found;
	paths_bfs(&pw, in_t, &found, &n_found);
	if (n_found == 0) {
		err = NULL;
		goto out;
	}
	if (pw.length > 1) {
		err = remora_snapshot_reverse(snap, &pw.rev);
		if (err)
			goto out;
		err = &remora_error_no_memory;
	}
	pw.in_u = graph_bits_alloc(n);
	pw.u_list = malloc((size_t)n * sizeof(uint32_t));
	pw.useful = graph_bits_alloc(n);
	pw.list = malloc((size_t)n * sizeof(uint32_t));
	pw.slot = remora_big_alloc(n, sizeof(uint32_t));
	pw.frames = malloc((size_t)pw.length * sizeof(*pw.frames));
	pw.step = malloc((size_t)pw.length * sizeof(*pw.step));
	if (!pw.in_u || !pw.u_list || !pw.useful || !pw.list || !pw.slot ||
	    !pw.frames || !pw.step)
		goto out;
	uint32_t n_used = (uint64_t)n_found > (uint64_t)max_paths + 1
				  ? max_paths + 1 : n_found;
	uint32_t n_u = paths_mark(&pw, found, n_used, pw.in_u, pw.u_list);
	if (!paths_compact(&pw, n_u))
		goto out;

	paths->length = pw.length;
	for (uint32_t k = 0; k < n_used && !paths->truncated; k++) {
		uint32_t marked = paths_mark(&pw, &found[k], 1, pw.useful, pw.list);
		bool ok = paths_enumerate(&pw, paths);
		for (uint32_t i = 0; i < marked; i++)
			graph_bit_clear(pw.useful, pw.list[i]);
		if (!ok)
			goto out;
	}
	err = NULL;
out:
	free(in_t);
	paths_work_free(&pw);
	if (err) {
		remora_paths_destroy(paths);
		return err;
	}
	if (paths->count == 0)
		paths->length = 0;
	*ret = paths;
	return NULL;
}

void remora_paths_destroy(struct remora_paths *paths)
{
	if (!paths)
		return;
	free(paths->steps);
	free(paths);
}

uint32_t remora_paths_count(const struct remora_paths *paths)
{
	return paths->count;
}

bool remora_paths_truncated(const struct remora_paths *paths)
{
	return paths->truncated;
}

uint32_t remora_paths_length(const struct remora_paths *paths, uint32_t i)
{
	return i < paths->count ? paths->length : 0;
}

bool remora_paths_step(const struct remora_paths *paths, uint32_t i,
		       uint32_t j, uint32_t *from, uint32_t *to, uint64_t *via)
{
	if (i >= paths->count || j >= paths->length)
		return false;
	const struct remora_snapshot *snap = paths->snap;
	const uint32_t *step = paths->steps + (size_t)i * paths->length;
	if (j == 0) {
		*from = REMORA_NO_NODE;
		*to = snap->root_target[step[0]];
		*via = snap->root_via[step[0]];
		return true;
	}
	*from = j == 1 ? snap->root_target[step[0]]
		       : snap->edge_target[step[j - 1]];
	*to = snap->edge_target[step[j]];
	*via = snap->edge_via[step[j]];
	return true;
}

uint32_t remora_paths_root(const struct remora_paths *paths, uint32_t i)
{
	if (i >= paths->count || paths->length == 0)
		return REMORA_NO_NODE;
	return paths->steps[(size_t)i * paths->length];
}
