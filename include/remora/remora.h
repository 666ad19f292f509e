/* remora.h — the public API of libremora's query engine: load a snapshot
 * (src/snapshot_format.h), form sets of its objects, and partition them the
 * way heapy does.  Everything here is what gdb's Python binds with ctypes.
 *
 * Conventions (STYLE.md):
 *  - Handles are opaque.  A call that can fail returns a struct remora_error *
 *    (NULL on success) and its result through the last argument; the error
 *    belongs to the caller, who frees it with remora_error_destroy().
 *  - Object ids are 0..N-1, assigned in ascending address order.
 *  - A string returned as const char * belongs to the handle it came from
 *    and stays valid until that handle (for type names: the snapshot) is
 *    destroyed.  Nothing here is thread-safe for concurrent mutation, and no
 *    handle is mutated after creation (but for a snapshot's referrer
 *    index and dominator tree, each published atomically), so concurrent
 *    readers are fine.
 *  - Sets, partitions and paths refer to their snapshot: destroy them
 *    first.
 *  - Every _destroy(NULL) does nothing.
 */
#ifndef REMORA_REMORA_H
#define REMORA_REMORA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REMORA_EXPORT __attribute__((visibility("default")))

/* ---- errors ---------------------------------------------------------- */

enum remora_error_code {
	REMORA_ERROR_OK = 0,          /* only from accessors given NULL */
	REMORA_ERROR_NO_MEMORY = 1,
	REMORA_ERROR_OS = 2,          /* a system call failed: errno, path */
	REMORA_ERROR_FORMAT = 3,      /* a malformed snapshot: address is the
	                               * file offset of the offending record */
	REMORA_ERROR_INVALID_ARGUMENT = 4,
	REMORA_ERROR_FAULT = 5,       /* target memory unreadable: address */
	REMORA_ERROR_OTHER = 6,
};

struct remora_error;

REMORA_EXPORT enum remora_error_code
remora_error_code(const struct remora_error *err);
/* One line, no trailing newline. */
REMORA_EXPORT const char *remora_error_message(const struct remora_error *err);
REMORA_EXPORT int remora_error_errno(const struct remora_error *err);
/* The file involved, or NULL. */
REMORA_EXPORT const char *remora_error_path(const struct remora_error *err);
REMORA_EXPORT bool remora_error_has_address(const struct remora_error *err);
REMORA_EXPORT uint64_t remora_error_address(const struct remora_error *err);
REMORA_EXPORT void remora_error_destroy(struct remora_error *err);

/* ---- snapshots ------------------------------------------------------- */

/* "No such object": an id that is not one. */
static const uint32_t REMORA_NO_NODE = UINT32_MAX;

struct remora_snapshot;

/* Maps and validates the file at path, then indexes it.  A truncated or
 * corrupt file is a REMORA_ERROR_FORMAT error naming the offset; the file
 * may be deleted once this returns. */
REMORA_EXPORT struct remora_error *
remora_snapshot_open(const char *path, struct remora_snapshot **ret);
REMORA_EXPORT void remora_snapshot_destroy(struct remora_snapshot *snap);

REMORA_EXPORT const char *remora_snapshot_path(const struct remora_snapshot *snap);
/* The target's PY_VERSION_HEX. */
REMORA_EXPORT uint32_t
remora_snapshot_python_version(const struct remora_snapshot *snap);
/* REMORA_SNAP_* flags from the header (1: partial walk), and
 * REMORA_SNAPSHOT_SIZES_CLAMPED if the loader set it. */
REMORA_EXPORT uint32_t remora_snapshot_flags(const struct remora_snapshot *snap);
/* Set by the loader, never read from a file: the objects' sizes added up
 * past 2^64 - 1 (absurd sizes: a damaged heap or file), so the largest
 * were lowered to the one cap that makes them fit; no total, row or
 * retained size can then wrap.  Sizes below the cap are kept. */
static const uint32_t REMORA_SNAPSHOT_SIZES_CLAMPED = UINT32_C(1) << 31;
REMORA_EXPORT uint32_t remora_snapshot_node_count(const struct remora_snapshot *snap);
/* Edges kept (those whose target has a NODE record). */
REMORA_EXPORT uint64_t remora_snapshot_edge_count(const struct remora_snapshot *snap);
/* Edges and roots dropped because their target has no NODE record. */
REMORA_EXPORT uint64_t
remora_snapshot_dangling_count(const struct remora_snapshot *snap);
REMORA_EXPORT uint32_t remora_snapshot_root_count(const struct remora_snapshot *snap);
REMORA_EXPORT uint32_t remora_snapshot_type_count(const struct remora_snapshot *snap);
/* Sum of the sizes of all objects. */
REMORA_EXPORT uint64_t remora_snapshot_total_size(const struct remora_snapshot *snap);

/* Per-object accessors; an id >= node count gives 0 (NULL for repr). */
REMORA_EXPORT uint64_t
remora_snapshot_node_address(const struct remora_snapshot *snap, uint32_t id);
/* Index into the type table. */
REMORA_EXPORT uint32_t
remora_snapshot_node_type(const struct remora_snapshot *snap, uint32_t id);
REMORA_EXPORT uint64_t
remora_snapshot_node_size(const struct remora_snapshot *snap, uint32_t id);
REMORA_EXPORT uint64_t
remora_snapshot_node_extra(const struct remora_snapshot *snap, uint32_t id);
/* REMORA_NODE_* flags. */
REMORA_EXPORT uint32_t
remora_snapshot_node_flags(const struct remora_snapshot *snap, uint32_t id);
/* For each of n ids: its address, type index and REMORA_NODE_* flags
 * (the three above, for many nodes in one call). */
REMORA_EXPORT void
remora_snapshot_nodes_info(const struct remora_snapshot *snap, const uint32_t *ids,
			   size_t n, uint64_t *address, uint32_t *type, uint32_t *flags);
/* The ids of the objects of type (an index in the type table), at most
 * cap of them into out; returns how many there are. */
REMORA_EXPORT size_t
remora_snapshot_nodes_of_type(const struct remora_snapshot *snap, uint32_t type,
			      uint32_t *out, size_t cap);
/* The bytes the object owns outside itself and its memory block: what
 * its size counts past its type's basic size and its pre-header (a
 * list's items, a dict's keys and values, a set's table, a bytearray's
 * buffer, what an extension type's size model adds), when its type keeps
 * no variable part inside its objects; and its inline attribute values
 * (REMORA_NODE_INLINE_VALUES), which its size does not count.  Without
 * its type's shape (a version-4 file) the values alone. */
REMORA_EXPORT uint64_t
remora_snapshot_node_owned(const struct remora_snapshot *snap, uint32_t id);
/* How many objects lie at addresses in the n ranges [start, end) given as
 * pairs (start0, end0, start1, ...), and the sum of their sizes. */
REMORA_EXPORT void
remora_snapshot_in_ranges(const struct remora_snapshot *snap, const uint64_t *ranges,
			  size_t n, uint64_t *count, uint64_t *bytes);
/* The short representation (UTF-8, not NUL-terminated) and its length. */
REMORA_EXPORT const char *
remora_snapshot_node_repr(const struct remora_snapshot *snap, uint32_t id,
			  size_t *len_ret);
/* The owner of a dict (the object whose __dict__ it is), or REMORA_NO_NODE. */
REMORA_EXPORT uint32_t
remora_snapshot_node_owner(const struct remora_snapshot *snap, uint32_t id);
/* The id of the object at address, or REMORA_NO_NODE. */
REMORA_EXPORT uint32_t
remora_snapshot_node_find(const struct remora_snapshot *snap, uint64_t address);
/* The outgoing edges of id: targets (ids) and via words, both arrays of the
 * returned length, in the order the walker found them. */
REMORA_EXPORT uint32_t
remora_snapshot_node_edges(const struct remora_snapshot *snap, uint32_t id,
			   const uint32_t **targets_ret,
			   const uint64_t **vias_ret);
/* The roots: targets (ids), via words and where words (which thread and
 * frame, snapshot_format.h), remora_snapshot_root_count() long. */
REMORA_EXPORT void remora_snapshot_roots(const struct remora_snapshot *snap,
					 const uint32_t **targets_ret,
					 const uint64_t **vias_ret,
					 const uint64_t **wheres_ret);

/* Type table; an index >= type count gives 0 / NULL.  name is the
 * qualified name, module the __module__; display is heapy's rendering
 * ("str", "function", "types.CodeType", "__main__.Foo"). */
REMORA_EXPORT uint64_t
remora_snapshot_type_address(const struct remora_snapshot *snap, uint32_t type);
REMORA_EXPORT uint64_t
remora_snapshot_type_flags(const struct remora_snapshot *snap, uint32_t type);
REMORA_EXPORT const char *
remora_snapshot_type_name(const struct remora_snapshot *snap, uint32_t type);
REMORA_EXPORT const char *
remora_snapshot_type_module(const struct remora_snapshot *snap, uint32_t type);
REMORA_EXPORT const char *
remora_snapshot_type_display(const struct remora_snapshot *snap, uint32_t type);

/* ---- id sets --------------------------------------------------------- */

/* An immutable set of object ids of one snapshot. */
struct remora_idset;

REMORA_EXPORT struct remora_error *
remora_idset_create_all(const struct remora_snapshot *snap,
			struct remora_idset **ret);
REMORA_EXPORT struct remora_error *
remora_idset_create_empty(const struct remora_snapshot *snap,
			  struct remora_idset **ret);
/* ids in any order, duplicates allowed; an id >= node count is an
 * REMORA_ERROR_INVALID_ARGUMENT error. */
REMORA_EXPORT struct remora_error *
remora_idset_create_from_ids(const struct remora_snapshot *snap,
			     const uint32_t *ids, size_t n,
			     struct remora_idset **ret);
/* Set algebra; both sets must come from the same snapshot.  The
 * complement is taken with respect to all objects of the snapshot. */
REMORA_EXPORT struct remora_error *
remora_idset_create_union(const struct remora_idset *a,
			  const struct remora_idset *b,
			  struct remora_idset **ret);
REMORA_EXPORT struct remora_error *
remora_idset_create_intersection(const struct remora_idset *a,
				 const struct remora_idset *b,
				 struct remora_idset **ret);
REMORA_EXPORT struct remora_error *
remora_idset_create_difference(const struct remora_idset *a,
			       const struct remora_idset *b,
			       struct remora_idset **ret);
REMORA_EXPORT struct remora_error *
remora_idset_create_symmetric_difference(const struct remora_idset *a,
					 const struct remora_idset *b,
					 struct remora_idset **ret);
REMORA_EXPORT struct remora_error *
remora_idset_create_complement(const struct remora_idset *a,
			       struct remora_idset **ret);
/* heapy's .referents: every object some member of set has an edge to.
 * O(edges of the members) plus a sort when the result is small. */
REMORA_EXPORT struct remora_error *
remora_idset_create_referents(const struct remora_idset *set,
			      struct remora_idset **ret);
/* heapy's .referrers: every object with an edge to some member of set.
 * The first call on a snapshot indexes its edges by target (O(nodes +
 * edges) time; 4 B/object + 4 B/edge kept until the snapshot is
 * destroyed); later calls cost O(edges into the members). */
REMORA_EXPORT struct remora_error *
remora_idset_create_referrers(const struct remora_idset *set,
			      struct remora_idset **ret);
REMORA_EXPORT void remora_idset_destroy(struct remora_idset *set);

REMORA_EXPORT const struct remora_snapshot *
remora_idset_snapshot(const struct remora_idset *set);
REMORA_EXPORT uint64_t remora_idset_count(const struct remora_idset *set);
/* Sum of the members' sizes. */
REMORA_EXPORT uint64_t remora_idset_size(const struct remora_idset *set);
/* The bytes the members own outside themselves (remora_snapshot_node_owned). */
REMORA_EXPORT uint64_t remora_idset_owned(const struct remora_idset *set);
/* How many members have any of the REMORA_NODE_* flags. */
REMORA_EXPORT uint64_t remora_idset_count_flagged(const struct remora_idset *set,
						  uint32_t flags);
REMORA_EXPORT bool remora_idset_contains(const struct remora_idset *set,
					 uint32_t id);
/* Copies up to cap member ids, in ascending order, starting at the
 * start-th smallest member, into out; returns how many it copied. */
REMORA_EXPORT size_t remora_idset_ids(const struct remora_idset *set,
				      uint64_t start, uint32_t *out,
				      size_t cap);
/* Saves the set's snapshot, whole, to a snapshot file at path (replaced
 * if it exists; written beside it first, so a failure leaves it as it
 * was), recording the set's members in SET records: opening the file and
 * remora_idset_create_saved() give the set back, with its whole graph. */
REMORA_EXPORT struct remora_error *
remora_idset_save(const struct remora_idset *set, const char *path);
/* The set a file was saved from (remora_idset_save), or all its objects
 * if it was written by a capture. */
REMORA_EXPORT struct remora_error *
remora_idset_create_saved(const struct remora_snapshot *snap,
			  struct remora_idset **ret);
/* The members of set whose address held an object of the same type in
 * old (a set of another snapshot, e.g. one taken earlier of the same
 * process), and of the same size where the type is an immutable builtin
 * (str, bytes, int, float, complex, tuple, frozenset): heapy's setrelheap
 * excludes them from later heaps.  An address freed and reused by a new
 * object of the same type (and size) counts as present (the snapshots
 * cannot tell). */
REMORA_EXPORT struct remora_error *
remora_idset_create_present(const struct remora_idset *set,
			    const struct remora_idset *old,
			    struct remora_idset **ret);
/* False for sets of different snapshots. */
REMORA_EXPORT bool remora_idset_equal(const struct remora_idset *a,
				      const struct remora_idset *b);
/* a is a subset of (or equal to) b. */
REMORA_EXPORT bool remora_idset_subset(const struct remora_idset *a,
				       const struct remora_idset *b);

/* ---- relation labels (via.c) ------------------------------------------ */

/* These write a NUL-terminated label into buf (cut to cap) and return the
 * length it has whole, as snprintf does. */

/* heapy's label for an edge's via word, as byvia shows it: "['key']",
 * "[3]", ".attr", ".keys()[2]", ".f_locals['x']", "list(_)[4]", ".??". */
REMORA_EXPORT size_t
remora_snapshot_via_label(const struct remora_snapshot *snap, uint64_t via,
			  char *buf, size_t cap);
/* The label of root (an index below remora_snapshot_root_count()) as
 * heapy names RootState's members: ".i0_modules", ".i0_t<ident>_dict",
 * ".i0_t<ident>_f2.f_locals['x']" (frames numbered from the oldest). */
REMORA_EXPORT size_t
remora_snapshot_root_label(const struct remora_snapshot *snap, uint32_t root,
			   char *buf, size_t cap);
/* The __name__ of module id, as bymodule labels its row. */
REMORA_EXPORT size_t
remora_snapshot_module_name(const struct remora_snapshot *snap, uint32_t id,
			    char *buf, size_t cap);
/* One step of a shortest path as heapy prints it: prefix followed by the
 * root's label (root != REMORA_NO_NODE) or the edge's (via), keys
 * abbreviated as reprlib.repr() does; a set member wraps the prefix,
 * "list(<prefix>)[i]". */
REMORA_EXPORT size_t
remora_snapshot_path_step(const struct remora_snapshot *snap,
			  const char *prefix, uint32_t root, uint64_t via,
			  char *buf, size_t cap);

/* ---- partitions ------------------------------------------------------ */

/* heapy's equivalence relations. */
enum remora_classifier {
	REMORA_BY_CLODO = 0, /* type, or "dict of <owner type>" */
	REMORA_BY_TYPE = 1,
	REMORA_BY_SIZE = 2,  /* individual size */
	REMORA_BY_UNITY = 3, /* everything in one row */
	REMORA_BY_VIA = 4,   /* the set of labels its referrers hold it by */
	REMORA_BY_RCS = 5,   /* the set of its referrers' clodo kinds */
	REMORA_BY_ID = 6,    /* each object a row of its own */
	REMORA_BY_MODULE = 7, /* a module by its name; the rest "~module" */
};
enum { REMORA_PARTITION_AND_MAX = 4 };

/* A set split into rows of equal kind, in heapy's order: total size
 * descending, then label ascending. */
struct remora_partition;

REMORA_EXPORT struct remora_error *
remora_partition_create(const struct remora_idset *set,
			enum remora_classifier by,
			struct remora_partition **ret);
/* heapy's combined classifier (hp.Type & hp.Size): a row per distinct
 * combination of the n (2 .. REMORA_PARTITION_AND_MAX) classifiers'
 * kinds, labelled "str & 49"; the header joins theirs with " & ". */
REMORA_EXPORT struct remora_error *
remora_partition_create_and(const struct remora_idset *set,
			    const enum remora_classifier *by, size_t n,
			    struct remora_partition **ret);
REMORA_EXPORT void remora_partition_destroy(struct remora_partition *part);

/* heapy's kind column header, e.g. "Kind (class / dict of class)". */
REMORA_EXPORT const char *
remora_partition_header(const struct remora_partition *part);
/* Objects and bytes in the whole partitioned set. */
REMORA_EXPORT uint64_t remora_partition_count(const struct remora_partition *part);
REMORA_EXPORT uint64_t remora_partition_size(const struct remora_partition *part);
REMORA_EXPORT size_t remora_partition_num_rows(const struct remora_partition *part);
/* Row accessors; a row >= num_rows gives 0 / NULL. */
REMORA_EXPORT const char *
remora_partition_row_label(const struct remora_partition *part, size_t row);
REMORA_EXPORT uint64_t
remora_partition_row_count(const struct remora_partition *part, size_t row);
REMORA_EXPORT uint64_t
remora_partition_row_size(const struct remora_partition *part, size_t row);
/* The total size of rows 0 .. row (heapy's Cumulative column). */
REMORA_EXPORT uint64_t
remora_partition_row_cumulative(const struct remora_partition *part, size_t row);
/* The kind of a byvia or byrcs row as its atoms (byrel.h): the labels or
 * referrer kinds, unquoted, in no particular order; 0 / NULL for other
 * classifiers and rows out of range. */
REMORA_EXPORT uint32_t
remora_partition_row_atom_count(const struct remora_partition *part, size_t row);
REMORA_EXPORT const char *
remora_partition_row_atom(const struct remora_partition *part, size_t row,
			  uint32_t i);
/* The union of the rows whose flag is nonzero (flags: num_rows bytes). */
REMORA_EXPORT struct remora_error *
remora_partition_select(const struct remora_partition *part,
			const uint8_t *flags, struct remora_idset **ret);
/* Symbolic selection (hp.Via('.key').alt('<')): the union of the rows of
 * a byvia or byrcs partition whose kind K compares with the kind made of
 * atoms[0..n) as op says: "==", "!=", "<=" (K a subset), "<" (a proper
 * subset), ">=" (a superset), ">" (a proper superset). */
REMORA_EXPORT struct remora_error *
remora_partition_select_kind(const struct remora_partition *part,
			     const char *const *atoms, size_t n, const char *op,
			     struct remora_idset **ret);
/* A new set holding the row's objects. */
REMORA_EXPORT struct remora_error *
remora_partition_row_set(const struct remora_partition *part, size_t row,
			 struct remora_idset **ret);

/* ---- the reference graph (graph.c) ---- */

/* The graph below is the snapshot's objects and edges plus a virtual root
 * R with one edge to every root entry (remora_snapshot_roots()), in root
 * order.  R has no id.  Weak references have no edges, so they are never
 * followed.  A real snapshot's roots include the objects the GC lists that
 * nothing else reached, so R reaches every object of it; a hand-made one
 * may have objects R does not reach. */

/* heapy's .dominos: set itself, and every object R reaches but would no
 * longer reach if set's members were removed (the objects reachable from
 * the roots only through set).  Members R does not reach are in the
 * result; what only they reach is not.  One traversal of what R reaches,
 * O(nodes + edges); a new set, which the caller destroys. */
REMORA_EXPORT struct remora_error *
remora_idset_create_dominos(const struct remora_idset *set,
			    struct remora_idset **ret);

/* Builds the snapshot's dominator tree (rooted at R) and retained sizes on
 * the first call; later calls return at once.  Safe from concurrent
 * readers.  Near linear time; while building, about 40 bytes per object
 * and 8 per edge; 12 bytes per object kept until the snapshot is
 * destroyed.  The accessors below read the tree: before a successful
 * call they answer REMORA_NO_NODE / 0 / false. */
REMORA_EXPORT struct remora_error *
remora_snapshot_dominators(const struct remora_snapshot *snap);
/* id's immediate dominator: the object nearest to id that lies on every
 * path from R to id.  REMORA_NO_NODE when that is R itself (no object lies
 * on every such path, e.g. id is a root entry's target), when id is not
 * reachable from R (see remora_snapshot_node_reachable()), when id is out
 * of range, and before remora_snapshot_dominators() succeeded. */
REMORA_EXPORT uint32_t
remora_snapshot_node_idom(const struct remora_snapshot *snap, uint32_t id);
/* id's retained size: its own size plus the retained sizes of the objects
 * it immediately dominates, i.e. the sizes of all objects it dominates
 * (itself included), which would be freed if id went away.  An object R
 * does not reach retains its own size only.  0 for an id out of range or
 * before remora_snapshot_dominators() succeeded. */
REMORA_EXPORT uint64_t
remora_snapshot_node_retained(const struct remora_snapshot *snap, uint32_t id);
/* Whether R reaches id.  False for an id out of range or before
 * remora_snapshot_dominators() succeeded. */
REMORA_EXPORT bool
remora_snapshot_node_reachable(const struct remora_snapshot *snap, uint32_t id);
/* The immediate dominators of set's members (R, which has no id, left
 * out); builds the tree if needed.  A new set, which the caller
 * destroys. */
REMORA_EXPORT struct remora_error *
remora_idset_create_imdom(const struct remora_idset *set,
			  struct remora_idset **ret);
/* The objects id immediately dominates (its children in the dominator
 * tree; REMORA_NO_NODE: R's, the objects no object lies on every path
 * to); builds the tree if needed.  O(objects).  A new set, which the
 * caller destroys. */
REMORA_EXPORT struct remora_error *
remora_snapshot_dominated(const struct remora_snapshot *snap, uint32_t id,
			  struct remora_idset **ret);
/* The (at most) k members of set with the largest retained sizes, largest
 * first, equal sizes by ascending id, into ids[0..*n_ret) (ids has room
 * for k; it may be NULL if k is 0).  Builds the tree if needed; O(members
 * x log k). */
REMORA_EXPORT struct remora_error *
remora_idset_top_retained(const struct remora_idset *set, uint32_t *ids,
			  size_t k, size_t *n_ret);

/* heapy's shortest paths (sp, shpaths): every shortest reference path from
 * R to the members of a set that are nearest to R. */
struct remora_paths;

/* A breadth-first search from R (root entries in root order, then each
 * object's edges in row order) stops at the first level that holds a
 * member of targets; the result is every path of that minimal length from
 * R to each member found at that level.  Duplicate root entries or edges
 * (same ends, whatever their vias) make distinct paths.  Paths are ordered
 * by target id, then lexicographically by (root index, edge indices)
 * along the path.  At most max_paths are kept (4 bytes per step each);
 * remora_paths_truncated() says whether more existed.  No target
 * reachable: zero paths, not an error.  Time: O(nodes + edges) at most
 * for the search, plus, per target enumerated, the referrers of the
 * objects on its shortest paths, plus the rows along each path kept.  The
 * walk back from a target uses the referrer index of
 * remora_idset_create_referrers(), built on first need (not when the
 * nearest targets are root entries' targets).  The paths refer to the
 * snapshot: destroy them first. */
REMORA_EXPORT struct remora_error *
remora_paths_create(const struct remora_idset *targets, uint32_t max_paths,
		    struct remora_paths **ret);
REMORA_EXPORT void remora_paths_destroy(struct remora_paths *paths);
/* Paths kept, at most max_paths. */
REMORA_EXPORT uint32_t remora_paths_count(const struct remora_paths *paths);
/* True if more than max_paths shortest paths existed. */
REMORA_EXPORT bool remora_paths_truncated(const struct remora_paths *paths);
/* Path i's number of steps (all paths have the same): 1 for a root entry's
 * target, 2 for an object one edge further, ...; 0 for i >= count. */
REMORA_EXPORT uint32_t remora_paths_length(const struct remora_paths *paths,
					   uint32_t i);
/* Step j of path i.  Step 0 is the root entry: from = REMORA_NO_NODE (R),
 * to its target, via its via word (remora_snapshot_roots()); step j > 0
 * is an edge: from = step j - 1's to, to its target, via its via word.
 * The last step's to is the path's target.  False (outputs untouched) for
 * i >= count or j >= length. */
/* The root entry path i starts from (an index below
 * remora_snapshot_root_count(), for remora_snapshot_path_step());
 * REMORA_NO_NODE for i >= count. */
REMORA_EXPORT uint32_t remora_paths_root(const struct remora_paths *paths,
					 uint32_t i);
REMORA_EXPORT bool remora_paths_step(const struct remora_paths *paths,
				     uint32_t i, uint32_t j, uint32_t *from,
				     uint32_t *to, uint64_t *via);

/* ---- exports (export.c) ---------------------------------------------- */

enum remora_export_format {
	REMORA_EXPORT_HEAPSNAPSHOT = 1, /* Chrome DevTools' .heapsnapshot (JSON) */
	REMORA_EXPORT_SQLITE = 2,       /* tables objects, edges, roots, types */
};

/* Writes the whole snapshot to path in format: every object, edge (with
 * heapy's via label) and root; retained sizes from the dominator tree
 * (built if needed).  names[i] names object ids[i] (count of them; the
 * caller's words for what an object is); the others are named by their
 * text (str, int) or kind.  path appears only when complete. */
REMORA_EXPORT struct remora_error *
remora_snapshot_export(const struct remora_snapshot *snap,
		       enum remora_export_format format, const char *path,
		       const uint32_t *ids, const char *const *names, size_t count);

/* ---- capture from outside (capture.c) --------------------------------- */

/* What a capture did.  Plain data. */
struct remora_capture_stats {
	uint64_t nodes;           /* also as the walk goes, every 1024th: a
	                           * thread of the caller's may show progress */
	uint64_t edges;
	uint64_t roots;
	uint64_t types;
	uint64_t bad_objects;     /* addresses reached that were not objects */
	uint64_t read_faults;     /* reads the reader refused */
	uint64_t peak_mapped;     /* the walker's work memory, at most */
	uint64_t bytes_written;
	uint64_t reader_reads;    /* reads that reached the proc reader's cache
	                           * (the inline window serves the rest) */
	uint64_t reader_syscalls; /* system calls the reader made */
	uint32_t snapshot_flags;  /* REMORA_SNAP_* (1: partial) */
	uint32_t partial_why;     /* why partial: the walk's first cause, or 0 */
};

/* A partial snapshot's first cause (the partial_why of the stats above,
 * and of the injected capture's result) in a few words; NULL for 0 or a
 * code this build does not know. */
REMORA_EXPORT const char *remora_partial_text(uint32_t why);

struct remora_reader;

/* Walks the interpreter that reader shows (a core file's reader, from
 * remora_core_reader()) into the snapshot file fd (written from its
 * current offset, which must be 0: an empty file, e.g. a new sink).
 * layout as for remora_capture_proc(). */
REMORA_EXPORT struct remora_error *
remora_capture_reader(struct remora_reader *reader, const void *layout,
		      size_t layout_size, int fd,
		      struct remora_capture_stats *stats);

/* Captures the stopped process pid (which must stay stopped: gdb holds it)
 * by reading its memory from this process, into the empty snapshot file
 * fd.  layout is the descriptor gdb's Python builds
 * (gdb/remora/layout.py), layout_size its length. */
REMORA_EXPORT struct remora_error *
remora_capture_proc(int pid, const void *layout, size_t layout_size,
		    int fd, struct remora_capture_stats *stats);

/* A new, empty, anonymous in-memory file for a snapshot (memfd_create):
 * nothing on any file system, nothing left behind when this process dies
 * (DESIGN.md invariant 2: gdb killed mid-capture leaves no file).  Open
 * it with remora_snapshot_open("/proc/self/fd/N").  Returns the fd, or
 * -errno. */
REMORA_EXPORT int remora_capture_sink_create(void);

/* The engine keeps the big arrays of a freed snapshot for the next one
 * (a load then touches no new page): at most 4 GiB.  This gives them
 * back; remora_big_kept_bytes() says how much is kept. */
REMORA_EXPORT void remora_big_trim(void);
REMORA_EXPORT uint64_t remora_big_kept_bytes(void);

/* gdb's side of the agent's stream (src/agent.h): a thread of this
 * process that, while the walk runs, copies each slot the agent fills
 * in process pid into fd and counts it in the agent's control block at
 * ctl (its struct remora_agent_ctl), so that the walk goes on while its
 * output is copied. */
struct remora_drainer;
REMORA_EXPORT struct remora_error *
remora_drainer_start(int pid, uint64_t ctl, int fd, struct remora_drainer **ret);
/* Copies every slot filled so far and counts it (at the agent's stops,
 * with the thread stopped); *drained: the slots copied in all.  Returns
 * the first error the drainer met, once. */
REMORA_EXPORT struct remora_error *
remora_drainer_sync(struct remora_drainer *d, uint64_t *drained);
/* Stops the thread and frees d (NULL: nothing); returns an error not
 * returned yet. */
REMORA_EXPORT struct remora_error *remora_drainer_stop(struct remora_drainer *d);

/* Writes the snapshot header's flags word (REMORA_SNAP_*) in fd: the
 * agent knows them only at the end, when the header has long been
 * drained. */
REMORA_EXPORT struct remora_error *remora_capture_patch_flags(int fd, uint32_t flags);

/* The address of the first occurrence of pattern[0 .. len) in process
 * pid's memory [start, end), or 0 (also when it cannot be read).  gdb
 * finds libc's __restore_rt with it (agent.h, step 5). */
REMORA_EXPORT uint64_t remora_capture_find(int pid, uint64_t start, uint64_t end,
					   const void *pattern, size_t len);

/* Runs thread tid of process pid, which the caller traces and has
 * stopped (gdb: its Python runs on the tracing thread), until one of its
 * system calls returns to one of at[0 .. nat) (rip just after the
 * `syscall`, and rsp unless 0 there: a system call a signal handler
 * makes meanwhile has another stack), or it stops for a signal in
 * stop_mask (bit sig - 1), or dies.  A signal in pass_mask reaches the
 * program (its handler runs) and the thread goes on; any other is
 * discarded, as gdb's `handle ... nopass` would.  gdb never resumes the
 * thread itself, so none of its own breakpoints is in the target while
 * it runs, and remora sets none (no debug register: they outlive a
 * killed tracer); the returns are system-call stops, which end with
 * their tracer.  A SIGINT to gdb while the thread runs (remora's handler
 * stands in for gdb's meanwhile) writes 1 at abort_addr (unless 0) in
 * the target and sets out->interrupted once the thread has stopped.
 * The caller re-reads the registers afterwards (gdb: `maint flush
 * register-cache`).  0 or -errno (the thread then runs no more). */
enum remora_run_kind {
	REMORA_RUN_RETURNED = 1,    /* a system call returned to at[out->which] */
	REMORA_RUN_SIGNAL = 2,
	REMORA_RUN_EVENT = 3,       /* a PTRACE_EVENT stop (out->event) */
	REMORA_RUN_GONE = 4,        /* the thread exited or was killed */
};
struct remora_run_return {
	uint64_t rip, rsp;          /* rsp 0: any */
};
struct remora_run_stop {
	int32_t kind;               /* enum remora_run_kind */
	int32_t signal;             /* the stop's signal (GONE: the killing one) */
	int32_t which;              /* index into at, or -1 */
	int32_t event;
	int32_t interrupted;        /* a SIGINT came to gdb meanwhile */
	int32_t pad;
	uint64_t rip, rsp, rax;     /* at the stop */
};
REMORA_EXPORT int remora_capture_run(int pid, int tid, const struct remora_run_return *at,
				     int nat, uint64_t pass_mask, uint64_t stop_mask,
				     uint64_t abort_addr, struct remora_run_stop *out);

/* Thread tid's general registers as the kernel keeps them (the thread
 * stopped, traced by the calling thread: gdb's): REMORA_REGS_COUNT words,
 * rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8-r15, rip, eflags, orig_rax.
 * Read so, they cost no frame of gdb's (gdb finds the frame a thread is
 * in by the unwind tables of every object file: a fifth of a second on
 * a first attach).  0 or -errno. */
enum { REMORA_REGS_COUNT = 19 };
REMORA_EXPORT int remora_capture_get_regs(int tid, uint64_t *regs);

/* Sets the words of regs (in remora_capture_get_regs' order) whose bit is
 * set in mask; the thread's other registers stay.  The caller has gdb
 * read them afresh (`maint flush register-cache`).  0 or -errno. */
REMORA_EXPORT int remora_capture_set_regs(int tid, const uint64_t *regs, uint64_t mask);

/* Writes under thread tid's stack, below `below` less its red zone, an
 * rt_sigreturn frame (src/sigframe.h) that takes the thread to regs (18
 * words: rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8-r15, rip, eflags),
 * with its signal mask and extended state as they are now (or, share_fp
 * not 0, the extended state an earlier frame holds at share_fp) and its
 * alternate signal stack left as it is.  *at: the frame, whose first
 * word is restore_rt (libc's __restore_rt): a `ret` with rsp at *at
 * goes to regs.  *fp: where the frame's extended state is.  A thread
 * moved by remora with such a frame under it goes home by itself if gdb
 * dies (agent.h).  0 or -errno. */
REMORA_EXPORT int remora_capture_home_frame(int pid, int tid, uint64_t below,
					    const uint64_t *regs, uint64_t restore_rt,
					    uint64_t share_fp, uint64_t *at, uint64_t *fp);

/* The readable mappings of pid (/proc/PID/maps, as the proc reader keeps
 * them), as {start, end} pairs of uint64_t into out[0 .. 2 * cap).  The
 * count goes to *count; more than cap is a REMORA_ERROR_OTHER error. */
REMORA_EXPORT struct remora_error *
remora_capture_segments(int pid, uint64_t *out, size_t cap, size_t *count);

#ifdef __cplusplus
}
#endif

#endif
