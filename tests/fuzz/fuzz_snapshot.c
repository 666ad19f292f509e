/* fuzz_snapshot.c — libFuzzer target: the snapshot loader (src/snapshot.c)
 * on any file, then the queries that read what it indexed: accessors,
 * every partition, referrers and referents, dominators, shortest paths,
 * labels, and a save that must load back the same.
 *
 * A file the loader accepts is held to snapshot.h's invariants: ids in
 * ascending address order, every id found again by its address, edge and
 * root targets valid ids, dict owners only for dicts.  A broken one is a
 * finding (abort), as is any sanitizer report.  Seeds: corpus/snapshot/,
 * cut from a real capture by tests/fuzz/make-seeds, plus hand-made ones.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "remora/remora.h"

enum {
	IDS_MAX = 64,     /* ids the per-object checks look at, at most */
	PATHS_MAX = 8,
};

static int in_fd = -1;
static char in_path[64];
static char save_path[256];
/* REMORA_FUZZ_STRICT: an input the loader refuses is an error (run-fuzz
 * runs the seeds cut from a real capture so, to notice when a format
 * change leaves them behind). */
static bool strict;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_snapshot: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	strict = getenv("REMORA_FUZZ_STRICT") != NULL;
	in_fd = memfd_create("remora-fuzz-snapshot", MFD_CLOEXEC);
	if (in_fd < 0)
		die("memfd_create failed");
	snprintf(in_path, sizeof(in_path), "/proc/self/fd/%d", in_fd);
	/* saves go to memory too where there is a tmpfs */
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	snprintf(save_path, sizeof(save_path), "%s/remora-fuzz-%d.remora",
		 dir && *dir ? dir : "/tmp", (int)getpid());
	return 0;
}

static void ok(struct remora_error *err, const char *what)
{
	if (err) {
		fprintf(stderr, "fuzz_snapshot: %s: %s\n", what,
			remora_error_message(err));
		abort();
	}
}

/* The error of a call that may fail (memory, an empty set): dropped. */
static bool done(struct remora_error *err)
{
	if (!err)
		return true;
	if (!remora_error_message(err))
		die("an error without a message");
	remora_error_destroy(err);
	return false;
}

static void check_objects(const struct remora_snapshot *snap)
{
	uint32_t n = remora_snapshot_node_count(snap);
	uint32_t types = remora_snapshot_type_count(snap);
	uint64_t prev = 0;
	for (uint32_t id = 0; id < n; id++) {
		uint64_t a = remora_snapshot_node_address(snap, id);
		if (id > 0 && a <= prev)
			die("addresses not strictly increasing (invariant 1)");
		prev = a;
		if (remora_snapshot_node_find(snap, a) != id)
			die("an object not found by its address (invariant 6)");
		if (remora_snapshot_node_type(snap, id) >= types)
			die("a type index out of range (invariant 3)");
		if (id >= IDS_MAX && id < n - IDS_MAX)
			continue;
		const uint32_t *targets;
		const uint64_t *vias;
		uint32_t e = remora_snapshot_node_edges(snap, id, &targets, &vias);
		for (uint32_t i = 0; i < e; i++) {
			if (targets[i] >= n)
				die("an edge to no object (invariant 2)");
			char label[128];
			remora_snapshot_via_label(snap, vias[i], label, sizeof(label));
		}
		size_t len = 0;
		const char *repr = remora_snapshot_node_repr(snap, id, &len);
		if (len && !repr)
			die("a repr length without a repr");
		uint32_t owner = remora_snapshot_node_owner(snap, id);
		if (owner != REMORA_NO_NODE && owner >= n)
			die("an owner out of range (invariant 4)");
		remora_snapshot_node_size(snap, id);
		remora_snapshot_node_extra(snap, id);
		remora_snapshot_node_flags(snap, id);
		char name[128];
		remora_snapshot_module_name(snap, id, name, sizeof(name));
	}
	remora_snapshot_node_find(snap, 0);
	remora_snapshot_node_find(snap, UINT64_MAX);
	for (uint32_t t = 0; t < types; t++) {
		if (!remora_snapshot_type_name(snap, t) ||
		    !remora_snapshot_type_module(snap, t) ||
		    !remora_snapshot_type_display(snap, t))
			die("a type without a name");
	}
	const uint32_t *targets;
	const uint64_t *vias, *wheres;
	remora_snapshot_roots(snap, &targets, &vias, &wheres);
	for (uint32_t r = 0; r < remora_snapshot_root_count(snap); r++) {
		if (targets[r] >= n)
			die("a root to no object (invariant 2)");
		char label[160];
		remora_snapshot_root_label(snap, r, label, sizeof(label));
		remora_snapshot_path_step(snap, "hp.Root", r, vias[r], label,
					  sizeof(label));
	}
}

static void check_partitions(const struct remora_idset *set)
{
	for (int by = REMORA_BY_CLODO; by <= REMORA_BY_MODULE; by++) {
		struct remora_partition *part = NULL;
		if (!done(remora_partition_create(set, by, &part)))
			continue;
		uint64_t count = 0;
		size_t rows = remora_partition_num_rows(part);
		for (size_t r = 0; r < rows; r++) {
			if (!remora_partition_row_label(part, r))
				die("a row without a label");
			count += remora_partition_row_count(part, r);
			remora_partition_row_cumulative(part, r);
			uint32_t atoms = remora_partition_row_atom_count(part, r);
			for (uint32_t a = 0; a < atoms; a++)
				if (!remora_partition_row_atom(part, r, a))
					die("a row atom missing");
		}
		if (count != remora_partition_count(part) ||
		    count != remora_idset_count(set))
			die("a partition's rows do not count its set");
		if (rows) {
			struct remora_idset *row = NULL;
			if (done(remora_partition_row_set(part, 0, &row)))
				remora_idset_destroy(row);
			if (remora_partition_row_atom_count(part, 0)) {
				const char *atom = remora_partition_row_atom(part, 0, 0);
				struct remora_idset *sel = NULL;
				if (done(remora_partition_select_kind(part, &atom, 1, "<=", &sel)))
					remora_idset_destroy(sel);
			}
		}
		remora_partition_destroy(part);
	}
	enum remora_classifier and[] = { REMORA_BY_TYPE, REMORA_BY_SIZE };
	struct remora_partition *part = NULL;
	if (done(remora_partition_create_and(set, and, 2, &part)))
		remora_partition_destroy(part);
}

static void check_graph(const struct remora_snapshot *snap,
			const struct remora_idset *all)
{
	uint32_t n = remora_snapshot_node_count(snap);
	uint32_t few[] = { 0, n / 2, n ? n - 1 : 0 };
	struct remora_idset *some = NULL, *rel = NULL;
	if (!done(remora_idset_create_from_ids(snap, few, n ? 3 : 0, &some)))
		return;
	if (done(remora_idset_create_referrers(some, &rel)))
		remora_idset_destroy(rel);
	if (done(remora_idset_create_referents(some, &rel)))
		remora_idset_destroy(rel);
	if (done(remora_idset_create_dominos(some, &rel)))
		remora_idset_destroy(rel);
	if (done(remora_snapshot_dominators(snap))) {
		for (uint32_t i = 0; i < 3 && n; i++) {
			uint32_t idom = remora_snapshot_node_idom(snap, few[i]);
			if (idom != REMORA_NO_NODE && idom >= n)
				die("an immediate dominator out of range");
			remora_snapshot_node_retained(snap, few[i]);
			remora_snapshot_node_reachable(snap, few[i]);
		}
		if (done(remora_idset_create_imdom(some, &rel)))
			remora_idset_destroy(rel);
		uint32_t top[4];
		size_t got = 0;
		done(remora_idset_top_retained(all, top, 4, &got));
	}
	struct remora_paths *paths = NULL;
	if (done(remora_paths_create(some, PATHS_MAX, &paths))) {
		for (uint32_t i = 0; i < remora_paths_count(paths); i++) {
			uint32_t len = remora_paths_length(paths, i);
			char label[160];
			uint32_t root = remora_paths_root(paths, i);
			for (uint32_t j = 0; j < len; j++) {
				uint32_t from, to;
				uint64_t via;
				if (!remora_paths_step(paths, i, j, &from, &to, &via))
					die("a path step missing");
				if (to >= n || (j > 0 && from >= n))
					die("a path step out of range");
				remora_snapshot_path_step(snap, "x", j ? REMORA_NO_NODE : root,
							  via, label, sizeof(label));
			}
		}
		remora_paths_destroy(paths);
	}
	struct remora_idset *a = NULL, *b = NULL;
	if (done(remora_idset_create_complement(some, &a))) {
		if (done(remora_idset_create_union(a, some, &b))) {
			if (!remora_idset_equal(b, all))
				die("a set and its complement are not everything");
			remora_idset_destroy(b);
		}
		remora_idset_destroy(a);
	}
	remora_idset_destroy(some);
}

/* Saved and loaded back: the same objects, edges and roots, and the
 * saved set. */
static void check_save(const struct remora_snapshot *snap,
		       const struct remora_idset *set)
{
	if (!done(remora_idset_save(set, save_path)))
		return;
	struct remora_snapshot *back = NULL;
	ok(remora_snapshot_open(save_path, &back), "a saved snapshot does not load");
	unlink(save_path);
	if (remora_snapshot_node_count(back) != remora_snapshot_node_count(snap) ||
	    remora_snapshot_edge_count(back) != remora_snapshot_edge_count(snap) ||
	    remora_snapshot_root_count(back) != remora_snapshot_root_count(snap))
		die("a saved snapshot loads back different");
	struct remora_idset *saved = NULL;
	ok(remora_idset_create_saved(back, &saved), "the saved set");
	if (remora_idset_count(saved) != remora_idset_count(set))
		die("the saved set loads back different");
	remora_idset_destroy(saved);
	remora_snapshot_destroy(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(in_fd, 0) < 0)
		die("ftruncate failed");
	for (size_t off = 0; off < size;) {
		ssize_t w = pwrite(in_fd, data + off, size - off, (off_t)off);
		if (w <= 0)
			die("pwrite failed");
		off += (size_t)w;
	}
	struct remora_snapshot *snap = NULL;
	struct remora_error *err = remora_snapshot_open(in_path, &snap);
	if (err && strict) {
		fprintf(stderr, "fuzz_snapshot: a real seed no longer loads (%s): "
			"remake the seeds with tests/fuzz/make-seeds\n",
			remora_error_message(err));
		abort();
	}
	if (!done(err))
		return 0;
	check_objects(snap);
	struct remora_idset *all = NULL, *saved = NULL;
	ok(remora_idset_create_all(snap, &all), "the set of all objects");
	ok(remora_idset_create_saved(snap, &saved), "the saved set");
	check_partitions(saved);
	check_graph(snap, all);
	check_save(snap, saved);
	remora_idset_destroy(saved);
	remora_idset_destroy(all);
	remora_snapshot_destroy(snap);
	return 0;
}
