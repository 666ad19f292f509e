/* test_walker.c — the walker on hand-made images whose linked lists loop
 * (found by tests/fuzz/fuzz_walker: the walk hung, or wrote a snapshot the
 * loader refused), and on lists that do not, which it must follow whole.
 *
 * The image is a few 4 KiB pages of zeros, one per structure, at
 * PAGE_BASE + i * PAGE: runtime, interpreter, thread states, frames,
 * exception-state items.  The layout puts every field it does not name
 * here at FILL, an offset that reads zeros (NULL, 0) in any page, so the
 * walk meets one object only, the code object every frame runs (a frame
 * without one is damage: the walk marks it partial), of a plain type of
 * its own: only the lists are exercised.  A walk that loops forever is
 * cut by alarm() and fails the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "layout.h"
#include "reader.h"
#include "snapshot.h"
#include "snapshot_writer.h"
#include "unit.h"
#include "walker.h"

enum {
	PAGE = 0x1000,
	PAGES = 27,
	FILL = 0xf00,          /* zeros in every page */
	WALK_SECONDS = 30,     /* a walk that takes longer hangs */
};
static const uint64_t PAGE_BASE = 0x100000;

/* Page numbers of the structures. */
enum { P_RUNTIME = 0, P_INTERP = 1, P_TSTATE = 2, P_FRAME = 10, P_ITEM = 18,
       P_META = 24, P_TYPE = 25, P_CODE = 26 };

enum {
	OFF_FRAME_CODE = 0x10,
	OFF_TP_FLAGS = 0x40,
	OFF_TP_BASICSIZE = 0x48,
	TPF_READY = 1 << 12,
	TPF_TYPE_SUBCLASS = 1u << 31,
};

static uint8_t pages[PAGES][PAGE];
static struct remora_layout layout;

static uint64_t at(unsigned page)
{
	return PAGE_BASE + (uint64_t)page * PAGE;
}

static void put(unsigned page, int64_t off, uint64_t value)
{
	memcpy(&pages[page][off], &value, 8);
}

static void image_reset(void)
{
	memset(pages, 0, sizeof(pages));
	memset(&layout, 0, sizeof(layout));
	layout.magic = REMORA_LAYOUT_MAGIC;
	layout.field_count = RL_FIELD_COUNT;
	layout.python_version = 0x030b02f0;
	for (unsigned i = 0; i < RL_FIELD_COUNT; i++) {
		/* a field of other versions only (3.8-3.10's) is absent, as
		 * in a 3.11 layout */
		const char *spec = remora_layout_spec_get(i)->spec;
		bool other = spec[0] == '[' &&
			     !remora_layout_spec_required(spec, layout.python_version);
		layout.v[i] = other ? REMORA_LAYOUT_ABSENT : FILL;
	}
	layout.v[RL_TSTATE_CURRENT_FRAME] = REMORA_LAYOUT_ABSENT; /* 3.11: cframe */
	layout.v[RL_RUNTIME_ADDR] = (int64_t)at(P_RUNTIME);
	layout.v[RL_RUNTIME_INTERP_HEAD] = 0;
	layout.v[RL_INTERP_NEXT] = 0x10;
	layout.v[RL_INTERP_THREADS_HEAD] = 0x18;
	layout.v[RL_INTERP_GC_GENERATIONS] = 0x100;
	layout.v[RL_SIZEOF_GC_GENERATION] = 24;
	layout.v[RL_INTERP_GC_PERMANENT] = 0x200;
	layout.v[RL_SIZEOF_GC_HEAD] = 16;
	layout.v[RL_TSTATE_NEXT] = 0x10;
	layout.v[RL_TSTATE_CFRAME] = 0x20;   /* the cframe is in the same page */
	layout.v[RL_CFRAME_CURRENT] = 0x8;
	layout.v[RL_TSTATE_EXC_INFO] = 0x28;
	layout.v[RL_EXCITEM_PREVIOUS] = 0x8;
	layout.v[RL_IFRAME_PREVIOUS] = 0x8;
	layout.v[RL_IFRAME_CODE] = OFF_FRAME_CODE;
	layout.v[RL_OB_REFCNT] = 0;
	layout.v[RL_OB_TYPE] = 0x8;
	layout.v[RL_TP_FLAGS] = OFF_TP_FLAGS;
	layout.v[RL_TP_BASICSIZE] = OFF_TP_BASICSIZE;
	CU_ASSERT_EQUAL(remora_layout_check(&layout), -1);
	put(P_RUNTIME, 0, at(P_INTERP));
	/* the code object, of a type whose metatype is a type */
	put(P_META, 0, 1);
	put(P_META, 0x8, at(P_META));
	put(P_META, OFF_TP_FLAGS, TPF_READY | TPF_TYPE_SUBCLASS);
	put(P_META, OFF_TP_BASICSIZE, 64);
	put(P_TYPE, 0, 1);
	put(P_TYPE, 0x8, at(P_META));
	put(P_TYPE, OFF_TP_FLAGS, TPF_READY);
	put(P_TYPE, OFF_TP_BASICSIZE, 32);
	put(P_CODE, 0, 1);
	put(P_CODE, 0x8, at(P_TYPE));
	for (unsigned p = P_FRAME; p < P_ITEM; p++)
		put(p, OFF_FRAME_CODE, at(P_CODE));
	/* empty GC lists: each head points at itself */
	for (int64_t g = 0; g < 3; g++)
		put(P_INTERP, 0x100 + 24 * g, at(P_INTERP) + 0x100 + 24 * (uint64_t)g);
	put(P_INTERP, 0x200, at(P_INTERP) + 0x200);
}

/* A thread state in page p; its _PyCFrame is at 0x800 of the page. */
static void tstate(unsigned p, uint64_t next, uint64_t frame, uint64_t item)
{
	put(p, 0x10, next);
	put(p, 0x20, at(p) + 0x800);
	put(p, 0x808, frame);
	put(p, 0x28, item);
}

struct walked {
	enum remora_walk_status status;
	uint32_t flags;
	uint32_t why;       /* the walk's first cause of partial */
	uint32_t threads;   /* THREAD records in the snapshot */
	uint32_t nodes;     /* objects in the snapshot */
	bool loaded;
};

/* Walks the image, loads what it wrote. */
static struct walked walk(void)
{
	static struct remora_segment segs[PAGES];
	for (unsigned i = 0; i < PAGES; i++)
		segs[i] = (struct remora_segment){
			.start = at(i), .end = at(i) + PAGE, .host = pages[i],
		};
	struct remora_reader reader;
	remora_reader_init(&reader, segs, PAGES);
	struct unit_writer *u = malloc(sizeof(*u));
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	unit_writer_begin(u, "walk.remora");
	struct remora_walk_options options = { .self = false };
	struct remora_walk_stats stats;
	alarm(WALK_SECONDS);
	struct walked out = {
		.status = remora_walk(&reader, &layout, &u->w, &options, &stats),
		.flags = stats.snapshot_flags,
		.why = stats.partial_why,
	};
	alarm(0);
	const char *path = unit_writer_end(u, stats.snapshot_flags);
	free(u);
	struct remora_snapshot *snap = NULL;
	struct remora_error *err = remora_snapshot_open(path, &snap);
	if (err) {
		fprintf(stderr, "\n    %s\n", remora_error_message(err));
		remora_error_destroy(err);
		return out;
	}
	out.loaded = true;
	out.threads = snap->thread_count;
	out.nodes = snap->node_count;
	remora_snapshot_destroy(snap);
	return out;
}

/* Five thread states in a row, thread t with a chain of t + 1 frames
 * and of t + 1 exception states (frame t's previous is frame t - 1: the
 * chains share their tails). */
static void five_threads(void)
{
	put(P_INTERP, 0x18, at(P_TSTATE));
	for (unsigned t = 0; t < 5; t++) {
		tstate(P_TSTATE + t, t < 4 ? at(P_TSTATE + t + 1) : 0,
		       at(P_FRAME + t), at(P_ITEM + t));
		put(P_FRAME + t, 0x8, t ? at(P_FRAME + t - 1) : 0);
		put(P_ITEM + t, 0x8, t ? at(P_ITEM + t - 1) : 0);
	}
}

/* GIVEN five_threads() WHEN walked THEN every thread is met once and
 * nothing is cut: no list that ends is taken for a loop. */
static void test_lists_that_end(void)
{
	image_reset();
	five_threads();
	struct walked w = walk();
	CU_ASSERT_EQUAL(w.status, REMORA_WALK_OK);
	CU_ASSERT(w.loaded);
	CU_ASSERT_EQUAL(w.threads, 5);
	CU_ASSERT_EQUAL(w.flags & REMORA_SNAP_PARTIAL, 0);
	CU_ASSERT_EQUAL(w.why, REMORA_PARTIAL_NONE);
}

/* GIVEN five_threads(), one of whose frames is all zeros (no code, no
 * previous: a core that saved it so) WHEN walked THEN the snapshot is
 * partial: the frames past it are lost. */
static void test_zeroed_frame(void)
{
	image_reset();
	five_threads();
	memset(pages[P_FRAME + 2], 0, PAGE);
	struct walked w = walk();
	CU_ASSERT_EQUAL(w.status, REMORA_WALK_OK);
	CU_ASSERT(w.loaded);
	CU_ASSERT_EQUAL(w.threads, 5);
	CU_ASSERT(w.flags & REMORA_SNAP_PARTIAL);
	CU_ASSERT_EQUAL(w.why, REMORA_PARTIAL_FRAME);
}

/* GIVEN a thread-state list that loops (the last points back at the
 * second) WHEN walked THEN the walk ends having met each thread state,
 * none more than twice (Brent), the snapshot loads and says it is
 * partial. */
static void test_thread_list_loops(void)
{
	image_reset();
	put(P_INTERP, 0x18, at(P_TSTATE));
	tstate(P_TSTATE, at(P_TSTATE + 1), 0, 0);
	tstate(P_TSTATE + 1, at(P_TSTATE + 2), 0, 0);
	tstate(P_TSTATE + 2, at(P_TSTATE + 1), 0, 0);
	struct walked w = walk();
	CU_ASSERT_EQUAL(w.status, REMORA_WALK_OK);
	CU_ASSERT(w.loaded);
	CU_ASSERT(w.threads >= 3 && w.threads <= 6);
	CU_ASSERT(w.flags & REMORA_SNAP_PARTIAL);
	CU_ASSERT_EQUAL(w.why, REMORA_PARTIAL_THREADS);
}

/* GIVEN a thread whose frame chain and exception-state chain each loop
 * on themselves, in a thread list that loops too WHEN walked THEN the
 * walk ends (it took 2^16 x 2^20 steps before), partial. */
static void test_frames_and_items_loop(void)
{
	image_reset();
	put(P_INTERP, 0x18, at(P_TSTATE));
	tstate(P_TSTATE, at(P_TSTATE), at(P_FRAME), at(P_ITEM));
	put(P_FRAME, 0x8, at(P_FRAME));
	put(P_ITEM, 0x8, at(P_ITEM));
	struct walked w = walk();
	CU_ASSERT_EQUAL(w.status, REMORA_WALK_OK);
	CU_ASSERT(w.loaded);
	CU_ASSERT_EQUAL(w.threads, 1);
	CU_ASSERT(w.flags & REMORA_SNAP_PARTIAL);
	CU_ASSERT_EQUAL(w.why, REMORA_PARTIAL_FRAME);
}

/* GIVEN an interpreter that lists itself as the next one WHEN walked
 * THEN its threads are walked once, partial. */
static void test_interpreters_loop(void)
{
	image_reset();
	put(P_INTERP, 0x10, at(P_INTERP));
	put(P_INTERP, 0x18, at(P_TSTATE));
	tstate(P_TSTATE, 0, 0, 0);
	struct walked w = walk();
	CU_ASSERT_EQUAL(w.status, REMORA_WALK_OK);
	CU_ASSERT(w.loaded);
	CU_ASSERT_EQUAL(w.threads, 1);
	CU_ASSERT(w.flags & REMORA_SNAP_PARTIAL);
	CU_ASSERT_EQUAL(w.why, REMORA_PARTIAL_INTERPS);
}

/* GIVEN a GC generation whose list runs head -> A -> B -> A ..., never
 * back to its head WHEN walked THEN the walk ends (2^34 steps before),
 * partial. */
static void test_gc_list_loops(void)
{
	image_reset();
	uint64_t a = at(P_ITEM) + 0x400, b = at(P_ITEM) + 0x440;
	put(P_INTERP, 0x100, a);
	put(P_ITEM, 0x400, b);
	put(P_ITEM, 0x440, a);
	struct walked w = walk();
	CU_ASSERT_EQUAL(w.status, REMORA_WALK_OK);
	CU_ASSERT(w.loaded);
	CU_ASSERT(w.flags & REMORA_SNAP_PARTIAL);
	/* A and B are no objects here: that is met first (test_core_damage's
	 * gc-cycle core, of real objects, says "a GC list is damaged") */
	CU_ASSERT_EQUAL(w.why, REMORA_PARTIAL_NOT_OBJECT);
}

/* Objects A and B (GC heads at 0x400 and 0x440 of the item page) on the
 * youngest generation's list as it stands: head -> A -> B -> B_next,
 * with the head's prev at tail. */
static uint64_t two_tracked(uint64_t b_next, uint64_t tail)
{
	uint64_t head = at(P_INTERP) + 0x100;
	uint64_t a = at(P_ITEM) + 0x400, b = at(P_ITEM) + 0x440;
	put(P_INTERP, 0x100, a);
	put(P_INTERP, 0x108, tail);
	put(P_ITEM, 0x400, b);
	put(P_ITEM, 0x408, head);
	put(P_ITEM, 0x440, b_next);
	put(P_ITEM, 0x448, a);
	for (uint64_t o = 0x410; o <= 0x450; o += 0x40) {
		put(P_ITEM, (int64_t)o, 1);              /* ob_refcnt */
		put(P_ITEM, (int64_t)o + 8, at(P_TYPE)); /* ob_type */
	}
	return head;
}

/* GIVEN a generation's list as a thread leaves it when stopped inside
 * _PyObject_GC_TRACK (the tail A's next already the new object B, B's
 * next still 0, the head's prev still A) WHEN walked THEN the snapshot
 * is whole, with every object of the finished list; the same cut with
 * the head's prev at B is damage: partial. */
static void test_gc_list_mid_track(void)
{
	image_reset();
	uint64_t head = two_tracked(0, 0);
	put(P_INTERP, 0x100, head);                   /* the list empty */
	put(P_INTERP, 0x108, head);
	struct walked none = walk();
	CU_ASSERT_EQUAL(none.flags & REMORA_SNAP_PARTIAL, 0);

	image_reset();
	head = two_tracked(0, 0);
	put(P_INTERP, 0x108, head);
	put(P_ITEM, 0x448, head);
	put(P_INTERP, 0x100, at(P_ITEM) + 0x440);    /* head -> B -> 0: B first */
	struct walked first = walk();
	CU_ASSERT_EQUAL(first.flags & REMORA_SNAP_PARTIAL, 0);
	CU_ASSERT_EQUAL(first.nodes, none.nodes + 1);

	image_reset();
	head = two_tracked(0, 0);
	put(P_ITEM, 0x440, head);
	put(P_INTERP, 0x108, at(P_ITEM) + 0x440);    /* finished: head -> A -> B -> head */
	struct walked whole = walk();
	CU_ASSERT_EQUAL(whole.status, REMORA_WALK_OK);
	CU_ASSERT(whole.loaded);
	CU_ASSERT_EQUAL(whole.flags & REMORA_SNAP_PARTIAL, 0);
	CU_ASSERT_EQUAL(whole.nodes, none.nodes + 2);

	image_reset();
	two_tracked(0, at(P_ITEM) + 0x400);          /* mid-track: prev still A */
	struct walked mid = walk();
	CU_ASSERT_EQUAL(mid.status, REMORA_WALK_OK);
	CU_ASSERT(mid.loaded);
	CU_ASSERT_EQUAL(mid.flags & REMORA_SNAP_PARTIAL, 0);
	CU_ASSERT_EQUAL(mid.why, REMORA_PARTIAL_NONE);
	CU_ASSERT_EQUAL(mid.nodes, whole.nodes);

	image_reset();
	two_tracked(0, at(P_ITEM) + 0x440);          /* B the tail, yet next 0 */
	struct walked cut = walk();
	CU_ASSERT(cut.loaded);
	CU_ASSERT(cut.flags & REMORA_SNAP_PARTIAL);
	CU_ASSERT_EQUAL(cut.why, REMORA_PARTIAL_GC_LIST);
}

/* GIVEN specs with and without a range of minor versions WHEN asked
 * whether a version needs them THEN inside its range a spec is needed
 * unless optional, outside it never; and a layout of 3.11 lacking only
 * fields ranged up to 3.10 passes remora_layout_check(). */
static void test_version_ranges(void)
{
	const uint32_t v38 = 0x030812f0, v310 = 0x030a0df0, v311 = 0x030b07f0;
	CU_ASSERT(remora_layout_spec_required("off T f", v38));
	CU_ASSERT(!remora_layout_spec_required("?off T f", v311));
	CU_ASSERT(remora_layout_spec_required("[3.11-] off T f", v311));
	CU_ASSERT(!remora_layout_spec_required("[3.11-] off T f", v310));
	CU_ASSERT(remora_layout_spec_required("[-3.10] off T f", v310));
	CU_ASSERT(!remora_layout_spec_required("[-3.10] off T f", v311));
	CU_ASSERT(remora_layout_spec_required("[3.9-3.10] off T f", v310));
	CU_ASSERT(!remora_layout_spec_required("[3.9-3.10] off T f", v38));
	CU_ASSERT(!remora_layout_spec_required("[3.10-] ?off T f", v310));
	/* malformed: needed, so that a typo cannot hide a field */
	CU_ASSERT(remora_layout_spec_required("[3.10 off T f", v38));

	image_reset();
	struct remora_layout l = layout;
	l.python_version = v311;
	for (unsigned i = 0; i < RL_FIELD_COUNT; i++)
		if (!strncmp(remora_layout_spec_get(i)->spec, "[-3.10]", 7))
			l.v[i] = REMORA_LAYOUT_ABSENT;
	CU_ASSERT_EQUAL(remora_layout_check(&l), -1);
	l.python_version = v310;
	CU_ASSERT(remora_layout_check(&l) >= 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "lists that end are followed whole", test_lists_that_end },
		{ "a zeroed frame", test_zeroed_frame },
		{ "a thread-state list that loops", test_thread_list_loops },
		{ "frames and exception states that loop", test_frames_and_items_loop },
		{ "interpreters that loop", test_interpreters_loop },
		{ "a GC list that loops", test_gc_list_loops },
		{ "a GC list cut where a thread tracks an object", test_gc_list_mid_track },
		{ "fields by version range", test_version_ranges },
		{ NULL, NULL },
	};
	return unit_run("walker", tests);
}
