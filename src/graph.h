/* graph.h — the reference graph seen from the roots: dominated sets
 * (heapy's dominos), the dominator tree with retained sizes, and shortest
 * paths from the roots; public API in include/remora/remora.h.
 *
 * The graph is the snapshot's (snapshot.h invariant 2) plus a virtual root
 * R with one edge to every root_target[] entry, in root order.  R has no
 * id; where an id is expected it is REMORA_NO_NODE.
 *
 * Invariants of the dominator tree, established by
 * remora_snapshot_dominator_tree() and never changed afterwards:
 *  1. It is built once per snapshot, on first use, published with an
 *     atomic compare-and-swap on snap->dominators (a loser of the race
 *     frees its copy), and freed only by remora_snapshot_destroy().
 *  2. reachable has bit v set iff v is reachable from R.
 *  3. idom[v] is v's immediate dominator when that is an object; it is
 *     REMORA_NO_NODE when v's immediate dominator is R (no object lies on
 *     every path from R to v) and when v is unreachable (bit v of
 *     reachable clear).
 *  4. retained[v] = size[v] + the sum of retained[c] over the children c
 *     of v (idom[c] == v): the bytes freed if v went away.  An
 *     unreachable v retains its own size only.
 * Memory kept: 12 bytes per object and one bit (idom, retained,
 * reachable).  The build does not need the reverse edges (snapshot.h
 * invariant 7): it collects the predecessors it needs during its DFS.
 */
#ifndef REMORA_GRAPH_H
#define REMORA_GRAPH_H

#include <stdint.h>

#include "remora/remora.h"

struct remora_dominators {
	uint32_t *idom;       /* [node_count], invariant 3 */
	uint64_t *retained;   /* [node_count], invariant 4 */
	uint64_t *reachable;  /* [(node_count + 63) / 64] bits, invariant 2 */
};

/* The snapshot's dominator tree, built on the first call (semi-NCA,
 * graph.c: near linear time on heaps; at the peak, during its DFS, about
 * 40 bytes per object and 8 per edge besides the snapshot).  Safe to call
 * from concurrent readers: a loser of the race frees its copy.  The
 * result is valid until remora_snapshot_destroy(). */
struct remora_error *
remora_snapshot_dominator_tree(const struct remora_snapshot *snap,
			       const struct remora_dominators **ret);

/* Frees a tree built by remora_snapshot_dominator_tree(); NULL is fine.
 * Only remora_snapshot_destroy() calls it. */
void remora_dominators_destroy(struct remora_dominators *dom);

#endif
