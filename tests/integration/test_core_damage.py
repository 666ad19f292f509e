"""test_core_damage.py — a damaged core gives a clear error or a snapshot
marked partial, never a crash (issue 3; DESIGN.md invariant 3).

Once, on the first usable interpreter (Debian's python3.11 first):
GIVEN targets/census_target.py captured from outside (so the objects'
      addresses and types are known) and dumped with gcore, and copies of
      that core damaged by editing their PT_LOAD data (coredamage.py):
        zeroed     4 KiB pages zeroed where dicts and lists crowd, and the
                   pages of the biggest dict and of its keys table;
        headers    ~200 objects with a garbage ob_type (0xdeadbeef..., NULL,
                   small integers, an odd address, the object's own
                   address) or ob_refcnt 0 or -1, and lists, tuples and
                   dicts with huge size fields;
        wild       list items, list item arrays, tuple items and dict keys
                   and values pointers aimed at unmapped space, the kernel
                   half, the last word of a segment, misaligned and
                   mid-object addresses;
        gc-cycle   the longest GC list met links its first three objects
                   into a cycle of their own (the third's _gc_next to
                   the first): its head is never met again;
        frame-cycle  a thread's second interpreter frame's `previous`
                   points back to its first (the frames' addresses from
                   gdb and CPython's debug info, gdb_core_frames.py);
        frame-zeroed  a thread's second interpreter frame all zeros (as
                   gcore saves a chrooted 3.14 thread's C-stack entry
                   frame): no code, no `previous`;
        truncated  the core without its last 3 MiB (gcore writes its notes
                   last, so they go too, and gdb cannot open it);
        cut-kernel the core laid out as the kernel writes one (notes
                   first), without its last 3 MiB: memory lost mid-segment;
WHEN  a fresh gdb opens each (`gdb -nx -batch PYTHON CORE`) and runs
      `py-heap`, then captures with capture.capture_core()
      (gdb_core_damage.py),
THEN  gdb runs every command (no signal, no timeout, no "Fatal signal")
      and prints no Python traceback;
      for the cores gdb opens (all but `truncated`), py-heap prints the
      partition (after one-line notes), the capture succeeds — a damaged
      core is read, never refused — and its snapshot is marked partial
      (zeroed pages: partial or fewer objects than the undamaged core's,
      as zeroed pointers read as NULL), records no object whose header
      was zeroed, whose ob_type is no address at all, or that lies in
      memory a truncated core lost, and names a type record for every
      object; for cut-kernel py-heap also says the core is truncated;
      for gc-cycle, py-heap finishes (within the 60 s a damaged core's
      gdb run is given) and the snapshot holds every object of the
      undamaged core (only a link between objects was damaged); for
      frame-cycle and frame-zeroed, it has no more roots than the
      undamaged core's;
      for `truncated`, which gdb refuses, py-heap prints one line saying
      gdb could not open the core and why (remora's core reader: the
      notes are cut short), and the capture fails the same way.
And once more on the first 3.8-3.10 interpreter with debug info, where
a thread's frames are objects linked by f_back, the frame damages only:
frame-cycle (a second frame's f_back is the first), frame-zeroed (the
second frame object zeroed) and frame-nocode (its f_code NULL), each
marked partial with the frame chain named as the cause (the frames the
chain no longer reaches are GC objects, found as roots of their own: the
root count is not checked there).
And, with an AddressSanitizer (and UBSan) build of libremora made in a
scratch copy of the tree (in the background, while gdb runs):
GIVEN the same cores,
WHEN  core_capture_driver.c (linked with that build) opens, captures,
      loads and partitions each one — gdb cannot host ASan: with libasan
      preloaded it hangs at startup in setlocale(),
THEN  no sanitizer report, no signal, the driver's JSON agrees with gdb's
      capture, and the partition counts every object.
REMORA_TEST_ASAN=0 skips the ASan part (visibly).
"""

import json
import os
import random
import re
import shutil
import subprocess
import time

import coredamage
import harness
import snapread
from harness import Tap, Target, TargetError

HERE = harness.HERE
NO_TRACEBACK = ("Traceback", "Python Exception", "Error occurred in Python")
CUT = 3 << 20
SEED = 3

# CPython 3.11/3.12 object headers (non-debug builds); use_header() moves
# them for a free-threaded build's 16 bytes longer header
OB_REFCNT, OB_TYPE, OB_SIZE = 0, 8, 16     # OB_SIZE: a dict's ma_used
LIST_ITEMS, LIST_ALLOCATED = 24, 32
TUPLE_ITEMS = 24
DICT_KEYS, DICT_VALUES = 32, 40
FREE_THREADED = False


def use_header(free_threaded):
    """The fields' offsets for a GIL build's header, or a free-threaded
    one's (ob_tid, flags and the owner's count, the others' count, then
    ob_type: every field after the header 16 bytes further)."""
    global OB_TYPE, OB_SIZE, LIST_ITEMS, LIST_ALLOCATED, TUPLE_ITEMS, DICT_KEYS
    global DICT_VALUES, FREE_THREADED
    shift = 16 if free_threaded else 0
    OB_TYPE, OB_SIZE = 8 + shift, 16 + shift
    LIST_ITEMS, LIST_ALLOCATED, TUPLE_ITEMS = 24 + shift, 32 + shift, 24 + shift
    DICT_KEYS, DICT_VALUES = 32 + shift, 40 + shift
    FREE_THREADED = free_threaded


def put_refcnt(core, a, n, what):
    """Write reference count n into the object at a's header."""
    if not FREE_THREADED:
        core.put_u64(a + OB_REFCNT, n & 0xFFFFFFFFFFFFFFFF, what)
        return
    # the owner's count (the word's high half) to 0, the others' to n
    core.put_u64(a + 8, core.u64(a + 8) & 0xFFFFFFFF, what + " (the owner's: 0)")
    core.put_u64(a + 16, (n << 2) & 0xFFFFFFFFFFFFFFFF, what + " (the others')")
NODE_GC = 1 << 0        # snapshot_format.h: REMORA_NODE_GC
NODE_TYPE = 1 << 4      # snapshot_format.h: REMORA_NODE_TYPE
GC_HEAD = 16            # sizeof(PyGC_Head): _gc_next, then _gc_prev
SNAP_PARTIAL = 1        # REMORA_SNAP_PARTIAL
HUGE = (1 << 62, (1 << 63) - 1, 1 << 35, 1 << 33)


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------- the damage

class Damage:
    """One damaged core and what the test needs to know about it."""

    def __init__(self, name, path, what):
        self.name, self.path, self.what = name, path, what
        self.out = None             # the capture's JSON; its snapshot at + ".remora"
        self.zeroed_pages = set()   # page addresses
        self.self_typed = set()     # objects whose ob_type is their own address
        self.no_type = set()        # objects whose ob_type is no address
        self.strict = False         # a snapshot must be marked partial (not
                                    # merely smaller: NULLs read as NULLs)
        self.edits = ""
        self.lost = []              # [(start, end)] of memory the core lost
        self.expect_error = None    # regex of the one-line error, if one is
                                    # expected; else the capture must succeed
        self.expect_note = None     # regex of a note py-heap must print
        self.keep_all = False       # every object of the undamaged core must
                                    # be in the snapshot (no object's memory
                                    # was damaged, only a link between them)
        self.fewer_roots = False    # no more ROOTS entries than the
                                    # undamaged core's snapshot has
        self.undamaged = None       # the undamaged core's snapshot (run())


def objects(snap, core, type_name=None):
    """Addresses of non-type objects whose first 48 bytes the core saved."""
    return sorted(a for a, (t, _s, flags) in snap.nodes.items()
                  if not flags & NODE_TYPE and core.saved(a, 48)
                  and (type_name is None or snap.types.get(t) == type_name))


def damage_zeroed(snap, src, wdir):
    d = Damage("zeroed", os.path.join(wdir, "zeroed.core"), "")
    with coredamage.Core(src, d.path) as core:
        dicts = objects(snap, core, "builtins.dict")
        lists = objects(snap, core, "builtins.list")
        big = max(dicts, key=lambda a: len(snap.edges[a]))
        pages = [big & ~4095]
        keys = core.u64(big + DICT_KEYS)
        if core.saved(keys, 4096):
            pages.append(keys & ~4095)
        crowd = {}
        for a in dicts + lists:
            crowd[a & ~4095] = crowd.get(a & ~4095, 0) + 1
        for page, _n in sorted(crowd.items(), key=lambda kv: (-kv[1], kv[0])):
            if len(pages) >= 4:
                break
            if page not in pages:
                pages.append(page)
        for page in pages:
            if core.saved(page, 4096):
                core.zero_page(page, "zeroed page")
                d.zeroed_pages.add(page)
        lost = sum(1 for a in snap.nodes if a & ~4095 in d.zeroed_pages)
        d.what = "%d pages zeroed (biggest dict 0x%x, %d edges), %d objects' headers in them" % (
            len(d.zeroed_pages), big, len(snap.edges[big]), lost)
        d.edits = core.describe_edits()
    return d


def damage_headers(snap, src, wdir):
    d = Damage("headers", os.path.join(wdir, "headers.core"), "")
    d.strict = True
    rnd = random.Random(SEED)
    with coredamage.Core(src, d.path) as core:
        sized = []
        for name in ("builtins.list", "builtins.tuple", "builtins.dict"):
            pool = objects(snap, core, name)
            sized += rnd.sample(pool, min(20, len(pool)))
        for i, a in enumerate(sized):
            huge = HUGE[i % len(HUGE)]
            core.put_u64(a + OB_SIZE, huge, "size field")
            if snap.type_name(a) == "builtins.list" and i % 2:
                core.put_u64(a + LIST_ALLOCATED, huge, "list allocated")
        taken = set(sized)
        pool = [a for a in objects(snap, core) if a not in taken]
        sample = rnd.sample(pool, min(200, len(pool)))
        type_addrs = sorted(snap.types)
        counts = {}
        for i, a in enumerate(sample):
            kind = i % 8
            if kind == 0:
                core.put_u64(a + OB_TYPE, 0xDEADBEEFDEADBEEF, "ob_type garbage")
            elif kind == 1:
                core.put_u64(a + OB_TYPE, (1, 3, 8, 16, 0x40, 0x1000)[i % 6], "ob_type small")
            elif kind == 2:
                core.put_u64(a + OB_TYPE, type_addrs[i % len(type_addrs)] + 1, "ob_type odd")
            elif kind == 3:
                core.put_u64(a + OB_TYPE, 0, "ob_type NULL")
            elif kind == 4:
                core.put_u64(a + OB_TYPE, a, "ob_type self")
            elif kind == 5:
                put_refcnt(core, a, 0, "ob_refcnt 0")
            elif kind == 6:
                put_refcnt(core, a, -1, "ob_refcnt -1")
            else:
                core.put_u64(a + OB_TYPE, 0xDEADBEEFDEADBEEF, "ob_type garbage")
                put_refcnt(core, a, -1, "ob_refcnt -1")
            if kind in (0, 1, 2, 3, 7):
                d.no_type.add(a)
            elif kind == 4:
                d.self_typed.add(a)
            counts[kind] = counts.get(kind, 0) + 1
        d.what = "%d objects' headers (%s), %d size fields" % (
            len(sample), ", ".join("%s %d" % (k, counts.get(i, 0)) for i, k in enumerate(
                ("deadbeef", "small", "odd", "NULL", "self", "refcnt0", "refcnt-1", "both"))),
            len(sized))
        d.edits = core.describe_edits()
    return d


def damage_wild(snap, src, wdir):
    d = Damage("wild", os.path.join(wdir, "wild.core"), "")
    d.strict = True
    rnd = random.Random(SEED + 1)
    with coredamage.Core(src, d.path) as core:
        everyone = objects(snap, core)
        last = [s.end - 8 for s in core.segments if s.filesz >= 16]
        unmapped = (core.unmapped(), 0xFFFF800000000000, 0xFFFFFFFFFFFFFFF8)

        def mid(delta):
            return rnd.choice(everyone) + delta

        lists = [a for a in objects(snap, core, "builtins.list") if len(snap.edges[a]) >= 3]
        n_items = 0
        for i, a in enumerate(rnd.sample(lists, min(30, len(lists)))):
            items = core.u64(a + LIST_ITEMS)
            kind = i % 5
            if kind == 0:
                core.put_u64(a + LIST_ITEMS, unmapped[i % 3], "ob_item unmapped")
            elif kind == 1:
                core.put_u64(a + LIST_ITEMS, mid(8), "ob_item mid-object")
            elif kind == 4:
                core.put_u64(a + LIST_ITEMS, rnd.choice(last), "ob_item at a segment's end")
            elif core.saved(items, 24):
                if kind == 2:
                    core.put_u64(items, unmapped[i % 3], "item unmapped")
                    core.put_u64(items + 8, mid(16), "item mid-object")
                    core.put_u64(items + 16, mid(4), "item misaligned")
                else:
                    core.put_u64(items, rnd.choice(last), "item: a segment's last word")
                    core.put_u64(items + 8, rnd.choice(last) - 8, "item: 16 bytes before an end")
                n_items += 1
        tuples = [a for a in objects(snap, core, "builtins.tuple") if len(snap.edges[a]) >= 2]
        for i, a in enumerate(rnd.sample(tuples, min(10, len(tuples)))):
            core.put_u64(a + TUPLE_ITEMS, unmapped[i % 3] if i % 2 else mid(24),
                         "tuple item wild")
        dicts = objects(snap, core, "builtins.dict")
        for i, a in enumerate(rnd.sample(dicts, min(20, len(dicts)))):
            kind = i % 4
            if kind == 0:
                core.put_u64(a + DICT_KEYS, unmapped[i % 3], "ma_keys unmapped")
            elif kind == 1:
                core.put_u64(a + DICT_KEYS, mid(8), "ma_keys mid-object")
            elif kind == 2:
                core.put_u64(a + DICT_KEYS, rnd.choice(last), "ma_keys at a segment's end")
            else:
                core.put_u64(a + DICT_VALUES, unmapped[i % 3], "ma_values unmapped")
        d.what = "%d pointers: 30 lists (%d item arrays), 10 tuples, 20 dicts" % (
            len(core.edits), n_items)
        d.edits = core.describe_edits()
    return d


def gc_list_of(snap, core, obj):
    """[head, first, second, ...] of the GC list holding obj: the GC
    heads' addresses (an object's head is the GC_HEAD bytes before it),
    in _gc_next order; the head is the one element that is no object's.
    None if the list cannot be followed in the core."""
    chain, g = [], obj - GC_HEAD
    for _ in range(len(snap.nodes) + 2):
        if not core.saved(g, 8):
            return None
        chain.append(g)
        if g + GC_HEAD not in snap.nodes:
            break
        g = core.u64(g) & ~3
    else:
        return None
    head = chain[-1]
    order, g = [head], core.u64(head) & ~3
    while g != head and len(order) <= len(snap.nodes) + 1:
        if not core.saved(g, 8):
            return None
        order.append(g)
        g = core.u64(g) & ~3
    return order if g == head else None


def damage_gc_cycle(snap, src, wdir):
    """A GC list whose first three objects link into a cycle of their own
    (_gc_next of the third back to the first): the list's head is never
    met again."""
    d = Damage("gc-cycle", os.path.join(wdir, "gc-cycle.core"), "")
    d.strict = True
    d.expect_note = r"^remora: the snapshot is partial: a GC list is damaged; "
    d.keep_all = True
    rnd = random.Random(SEED + 2)
    with coredamage.Core(src, d.path) as core:
        tracked = [a for a, (_t, _s, flags) in snap.nodes.items()
                   if flags & NODE_GC and core.saved(a - GC_HEAD, GC_HEAD)
                   and core.u64(a - GC_HEAD) != 0]
        lists = []
        for a in rnd.sample(tracked, min(20, len(tracked))):
            order = gc_list_of(snap, core, a)
            if order and len(order) > 4 and order[0] not in (o[0] for o in lists):
                lists.append(order)
        order = max(lists, key=len)
        head, first, _second, third = order[:4]
        core.put_u64(third, first, "_gc_next of the third object: the first")
        d.what = ("the GC list with head 0x%x (%d objects, the longest of %d met) "
                  "cycles through its first three objects" % (head, len(order) - 1, len(lists)))
        d.edits = core.describe_edits()
    return d


def damage_heap_cycle(src, wdir, frames):
    """A free-threaded build's GC heap whose page queue loops: the second
    page's `next` back to the first (gdb_core_frames.py found them)."""
    d = Damage("heap-cycle", os.path.join(wdir, "heap-cycle.core"), "")
    d.strict = True
    d.expect_note = r"^remora: the snapshot is partial: a mimalloc heap's pages are damaged; "
    first, second = frames["pages"]
    with coredamage.Core(src, d.path) as core:
        core.put_u64(second + frames["page_next"], first, "the second page's next: the first")
        d.what = ("a GC heap's page queue loops: the page at 0x%x's next is the first, 0x%x"
                  % (second, first))
        d.edits = core.describe_edits()
    return d


def frame_damage(name, wdir):
    """A Damage of a thread's frames: marked partial, the frame chain
    named as the cause, no more roots than the undamaged core's."""
    d = Damage(name, os.path.join(wdir, name + ".core"), "")
    d.strict = True
    d.expect_note = r"^remora: the snapshot is partial: a thread's frame chain is damaged; "
    d.fewer_roots = True
    return d


def damage_frame_cycle(src, wdir, frames):
    """A thread's second frame whose `previous` is its first: the chain
    of frames never ends.  frames: what gdb_core_frames.py found."""
    d = frame_damage("frame-cycle", wdir)
    chain = max(frames["threads"], key=len)
    with coredamage.Core(src, d.path) as core:
        core.put_u64(chain[1] + frames["previous"], chain[0],
                     "previous of a thread's second frame: its first")
        d.what = "a thread's frames 0x%x and 0x%x (of %d) linked into a cycle" % (
            chain[0], chain[1], len(chain))
        d.edits = core.describe_edits()
    return d


def damage_frame_zeroed(src, wdir, frames):
    """A thread's second frame all zeros (seen in gcore's cores of
    chrooted 3.14 targets: the C stack's entry frame): no code object, no
    `previous` — the chain seems to end there, and what the older frames
    held is lost."""
    d = frame_damage("frame-zeroed", wdir)
    chain = max(frames["threads"], key=len)
    with coredamage.Core(src, d.path) as core:
        core.write(chain[1], bytes(frames["size"]), "a thread's second frame, zeroed")
        d.what = "a thread's second frame 0x%x (of %d) zeroed" % (chain[1], len(chain))
        d.edits = core.describe_edits()
    return d


def damage_frame_nocode(src, wdir, frames):
    """A thread's second frame object (3.8-3.10) without its code: every
    frame object has one, so the frame is damaged; the chain goes on
    through its f_back."""
    d = frame_damage("frame-nocode", wdir)
    chain = max(frames["threads"], key=len)
    with coredamage.Core(src, d.path) as core:
        core.put_u64(chain[1] + frames["code"], 0, "f_code of a thread's second frame: NULL")
        d.what = "a thread's second frame object 0x%x (of %d) without f_code" % (
            chain[1], len(chain))
        d.edits = core.describe_edits()
    return d


def damage_truncated(src, wdir):
    d = Damage("truncated", os.path.join(wdir, "truncated.core"), "")
    d.strict = True
    size, seg = coredamage.truncate(src, d.path, CUT)
    d.what = "cut to %d bytes (-%d), %s" % (
        size, CUT, "inside PT_LOAD data at file offset 0x%x" % seg[0] if seg
        else "between segments' data")
    d.edits = d.what
    d.expect_error = r"^remora: gdb could not open the core file .*: truncated core: "
    return d


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def damage_cut_kernel(src, wdir, runtime):
    d = Damage("cut-kernel", os.path.join(wdir, "cut-kernel.core"), "")
    d.strict = True
    relaid = os.path.join(wdir, "kernel-layout.core")
    coredamage.notes_first(src, relaid)
    size, seg = coredamage.truncate(relaid, d.path, CUT)
    d.lost = coredamage.lost_ranges(relaid, size)
    os.unlink(relaid)
    d.what = "notes first, cut to %d bytes (-%d), %s" % (
        size, CUT, "inside PT_LOAD data at file offset 0x%x" % seg[0] if seg
        else "between segments' data")
    d.edits = d.what
    lost = sum(e - s for s, e in d.lost)
    first = d.lost[0][0] if d.lost else 0
    if runtime is not None and any(s <= runtime < e for s, e in d.lost):
        # a libpython mapped high: its _PyRuntime went with the cut, and
        # with it every way to the objects
        d.what += ", _PyRuntime (0x%x) among the lost bytes" % runtime
        d.expect_error = (r"^remora: the core file is truncated and lost the interpreter's "
                          r"state \(_PyRuntime at 0x%x; %d bytes of the process's memory were "
                          r"not saved, the first at 0x%x\): there is nothing to read\. "
                          % (runtime, lost, first))
        return d
    d.expect_note = (r"^remora: the core file is truncated: %d bytes of the process's "
                     r"memory were not saved \(the first at 0x%x\)" % (lost, first))
    return d


# ------------------------------------------------------------------- gdb

def gdb_capture(it, core, out, extra=(), env=None):
    """A fresh gdb on core: py-heap, then gdb_core_damage.py.  Returns
    (GdbRun, the script's JSON or None)."""
    if os.path.exists(out):
        os.unlink(out)
    g = harness.run_gdb(harness.marked("py-heap", "py-heap")
                        + ["source " + os.path.join(HERE, "gdb_core_damage.py")]
                        + list(extra),
                        args=[it.path, core], env=dict(env or {}, REMORA_DAMAGE_OUT=out),
                        timeout=min(harness.GDB_TIMEOUT, 60))
    return g, load_json(out)


SOLIBS_NOTE = re.compile(r"^remora: the core lists no shared libraries \(cut short\?\): "
                        r"\S*libpython\S* read where the core's file mappings place it$")


def check_damaged(tap, d, base_nodes, g, res):
    name = "damaged core, %s" % d.name
    detail = lambda: "%s\n%s\n%s" % (d.what, d.edits, g.report())  # noqa: E731
    may_fail = ("py-heap",) if d.expect_error else ()
    tap.ok("%s: gdb runs every command, no signal, no timeout%s"
           % (name, ", only py-heap fails" if may_fail else ""),
           g.ok(may_fail) and "Fatal signal" not in g.out, detail)
    tap.ok("%s: no Python traceback" % name,
           not any(s in g.out for s in NO_TRACEBACK), detail)
    text = g.section("py-heap")
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    if res is None:
        tap.fail("%s: the capture script reported" % name, detail)
        return
    if d.expect_error:
        # a core whose list of libraries went with its end: gdb is told
        # where libpython was mapped, and says so first
        lines = [ln for ln in lines if not SOLIBS_NOTE.match(ln)]
        tap.ok("%s: py-heap prints one line: %r" % (name, lines[:1]),
               len(lines) == 1 and re.search(d.expect_error, lines[0]), detail)
        tap.ok("%s: the capture fails the same way" % name, not res["ok"] and re.search(
            d.expect_error, res["error"][len("RemoraError: "):]),
            lambda: "capture %r\n%s" % (res, detail()))
        return
    # notes ("remora: the snapshot is partial: ...") come before the table
    notes = []
    while lines and lines[0].startswith("remora: "):
        notes.append(lines.pop(0))
    tap.ok("%s: py-heap prints the partition: %r" % (name, lines[:1]),
           bool(lines) and lines[0].startswith("Partition of a set of"), detail)
    if not tap.ok("%s: the damaged core is read, not refused" % name, res["ok"],
                  lambda: "capture %r\n%s" % (res, detail())):
        return
    partial = bool(res["flags"] & SNAP_PARTIAL)
    tap.diag("%s: %s -> snapshot, %s, %d objects (undamaged %d), %d bad objects, "
             "%d read faults" % (name, d.what, "partial" if partial else "NOT partial",
                                 res["nodes"], base_nodes, res["bad_objects"],
                                 res["read_faults"]))
    tap.equal("%s: py-heap says the snapshot is partial exactly when it is" % name,
              any(n.startswith("remora: the snapshot is partial") for n in notes),
              partial, detail)
    if d.expect_note:
        tap.ok("%s: py-heap says so: %s" % (name, d.expect_note),
               any(re.search(d.expect_note, n) for n in notes), detail)
    if d.strict:
        tap.ok("%s: the snapshot is marked partial" % name, partial,
               lambda: "capture %r\n%s" % (res, detail()))
    else:
        tap.ok("%s: the snapshot is marked partial or lost objects" % name,
               partial or res["nodes"] < base_nodes,
               lambda: "capture %r, undamaged %d objects\n%s" % (res, base_nodes, detail()))
    try:
        s = snapread.Snapshot(d.out + ".remora")
    except (OSError, ValueError) as exc:
        tap.fail("%s: the snapshot file reads back" % name, "%s\n%s" % (exc, detail()))
        return
    untyped = [a for a, (t, _s, _f) in s.nodes.items() if t not in s.types]
    tap.equal("%s: every object's type has a TYPE record" % name, len(untyped), 0,
              lambda: "first %s" % [hex(a) for a in untyped[:10]])
    if d.zeroed_pages:
        ghosts = [a for a in s.nodes if a & ~4095 in d.zeroed_pages]
        tap.equal("%s: no object recorded from a zeroed page" % name, len(ghosts), 0,
                  lambda: "first %s" % [hex(a) for a in ghosts[:10]])
    if d.lost:
        ghosts = [a for a in s.nodes if any(lo <= a < hi for lo, hi in d.lost)]
        tap.equal("%s: no object recorded from memory the core lost" % name, len(ghosts), 0,
                  lambda: "first %s" % [hex(a) for a in ghosts[:10]])
    if d.no_type:
        kept = [a for a in d.no_type if a in s.nodes]
        tap.equal("%s: no object recorded whose ob_type is no address" % name, len(kept), 0,
                  lambda: "first %s" % [(hex(a), hex(s.nodes[a][0])) for a in kept[:10]])
    base = snapread.Snapshot(d.undamaged)
    if d.fewer_roots:
        tap.ok("%s: no more roots than the undamaged core's (%d)" % (name, len(base.roots)),
               len(s.roots) <= len(base.roots), lambda: "%d roots" % len(s.roots))
    if d.keep_all:
        lost = sorted(set(base.nodes) - set(s.nodes))
        tap.equal("%s: every object of the undamaged core is there (%d)" % (name, len(base.nodes)),
                  len(lost), 0, lambda: "%d lost, first %s" % (
                      len(lost), [(hex(a), base.type_name(a)) for a in lost[:10]]))
    if d.self_typed:
        tap.diag("%s: %d of %d objects typed as themselves recorded" % (
            name, sum(1 for a in d.self_typed if a in s.nodes), len(d.self_typed)))


# ------------------------------------------------------------------ ASan

class AsanBuild:
    """libremora built with --enable-asan in a scratch copy of the tree,
    and core_capture_driver linked with it; made in the background."""

    def __init__(self):
        self.dir = self.log = self.driver = None   # set by start()
        self.proc = None
        self.skip = None
        self.seconds = None   # the build's own time, from its log
        libasan = _cc_output(["-print-file-name=libasan.so"])
        if os.environ.get("REMORA_TEST_ASAN", "1") == "0":
            self.skip = "REMORA_TEST_ASAN=0"
        elif not libasan or not os.path.isabs(libasan) or not os.path.exists(libasan):
            self.skip = "the compiler has no libasan (%s)" % (libasan or "no cc")

    def start(self):
        if self.skip:
            return
        wdir = harness.workdir("core-damage", "asan")
        self.dir = os.path.join(wdir, "asan-tree")
        self.log = os.path.join(wdir, "asan-build.log")
        self.driver = os.path.join(wdir, "core_capture_driver")
        src = harness.TOP_SRCDIR
        ignore = shutil.ignore_patterns(
            ".git", "work", ".libs", ".deps", "*.o", "*.lo", "*.la", "*.remora",
            "__pycache__", "*.log", "*.trs", "autom4te.cache")
        shutil.copytree(src, self.dir, ignore=ignore, symlinks=True)
        inc = "-I%s -I%s" % (os.path.join(self.dir, "include"), os.path.join(self.dir, "src"))
        libs = os.path.join(self.dir, ".libs")
        script = (
            "set -e; t0=$(date +%%s%%N); rm -f config.status; "
            "./configure -q --enable-asan CFLAGS='-g -O0'; "
            "${MAKE:-make} -j2 libremora.la; "
            "CC=$(sed -n 's/^CC = //p' Makefile); "
            "$CC -std=gnu11 -g -O0 -fsanitize=address,undefined -fno-omit-frame-pointer "
            "%s %s -o %s -L%s -lremora -Wl,-rpath,%s" % (
                inc, os.path.join(HERE, "core_capture_driver.c"), self.driver, libs, libs)
            + "; echo \"build ms $(( ($(date +%s%N) - t0) / 1000000 ))\"")
        env = dict(os.environ)
        env.pop("MAKEFLAGS", None)
        env.pop("MFLAGS", None)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["sh", "-c", script], cwd=self.dir, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, start_new_session=True)
        # killed with gdb's processes if the test is (harness: _kill_all)
        harness._live_gdbs.add(self.proc)

    def wait(self, timeout=240):
        """None when the driver is ready, else why not."""
        if self.skip:
            return self.skip
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            rc = "timeout"
        harness._live_gdbs.discard(self.proc)
        with open(self.log, errors="replace") as f:
            log = f.read()
        m = re.search(r"^build ms (\d+)$", log, re.M)
        self.seconds = int(m.group(1)) / 1000 if m else None
        if rc != 0 or not os.path.exists(self.driver):
            return "build failed (%s):\n%s" % (rc, log[-3000:])
        return None

    def run(self, core, layout, out):
        if os.path.exists(out):
            os.unlink(out)
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
        # UBSan reports and goes on, so that ASan still sees the rest
        env["UBSAN_OPTIONS"] = "print_stacktrace=1"
        t = time.monotonic()
        try:
            p = subprocess.run([self.driver, core, layout, out], capture_output=True,
                               timeout=60, env=env)
            rc, text = p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")
        except subprocess.TimeoutExpired as exc:
            rc, text = "timeout", ((exc.stdout or b"") + (exc.stderr or b"")).decode(
                "utf-8", "replace")
        res = None
        for line in text.splitlines():
            if line.startswith("{"):
                try:
                    res = json.loads(line)
                except ValueError:
                    pass
        return rc, text, res, time.monotonic() - t


def _cc_output(args):
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not cc:
        return None
    try:
        return subprocess.run(cc.split() + args, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def check_asan(tap, asan, layout, cores, gdb_results):
    why = asan.wait()
    if why and asan.skip:
        tap.skip("ASan: damaged cores through the ASan build", why)
        return
    if not tap.ok("ASan: libremora and the driver build (in %.1fs, beside gdb)"
                  % (asan.seconds or 0), why is None, why):
        return
    for d in cores:
        name = "ASan, %s core" % d.name
        rc, text, res, secs = asan.run(d.path, layout, d.out + ".asan.remora")
        ub = sorted(set(re.findall(r"^\S+: runtime error: .*$", text, re.M)))
        detail = lambda: "driver exit %s after %.1fs on %s (%s)\n%s\n%s" % (  # noqa: E731
            rc, secs, d.path, d.what, "\n".join(ub), text[-6000:])
        tap.ok("%s: no AddressSanitizer report, no signal" % name,
               rc == 0 and "Sanitizer" not in text, detail)
        tap.equal("%s: no undefined behaviour (UBSan)" % name, len(ub), 0, detail)
        if res is None:
            tap.fail("%s: the driver reported" % name, detail)
            continue
        ref = gdb_results.get(d.name)
        tap.diag("%s: %s" % (name, json.dumps(res)))
        if res["ok"]:
            tap.equal("%s: the partition counts every object" % name,
                      res["counted"], res["nodes"], detail)
        if ref is not None and ref["ok"] and res["ok"]:
            tap.equal("%s: same objects and flags as in gdb" % name,
                      (res["nodes"], res["flags"]), (ref["nodes"], ref["flags"]), detail)
        elif ref is not None and not d.expect_error:
            # (where gdb itself cannot open the core, the driver, which
            # needs no gdb, may read what is left of it)
            tap.equal("%s: fails where gdb's capture fails" % name, res["ok"], ref["ok"],
                      lambda: "gdb: %r\n%s" % (ref, detail()))


# ------------------------------------------------------------------- main

def run(tap, it, asan, timings, cores_made, frames_only=False):
    """The damaged cores of it; frames_only: only those of the thread's
    frames (the frame objects of 3.8-3.10), without the ASan runs."""
    wdir = harness.workdir("core-damage", it.name)
    use_header(it.free_threaded)
    t = time.monotonic()
    with Target.python(it, "census_target.py", wdir) as target:
        try:
            target.wait_ready()
        except TargetError as exc:
            tap.fail("damage %s: target starts" % it.name, str(exc))
            return
        g = harness.run_gdb(["source " + os.path.join(HERE, "gdb_core_live.py"), "detach"],
                            pid=target.pid, env={"REMORA_CORE_DIR": wdir})
        live = load_json(os.path.join(wdir, "live.json")) or {}
        if not tap.ok("damage %s: live capture from outside and gcore" % it.name,
                      live.get("ok"), lambda: "%s\n%s" % (live.get("error"), g.report())):
            return
    timings["target, capture, gcore"] = time.monotonic() - t

    src = os.path.join(wdir, "target.core")
    cores_made.append(src)
    live_snap = snapread.Snapshot(os.path.join(wdir, "outside.remora"))
    layout = os.path.join(wdir, "layout.bin")

    t = time.monotonic()
    base = Damage("undamaged", src, "the core as gcore wrote it")
    base.out = os.path.join(wdir, "undamaged.json")
    frames_out = os.path.join(wdir, "frames.json")
    runtime_out = os.path.join(wdir, "runtime.txt")
    g, res = gdb_capture(it, src, base.out, [
        "python from remora import layout as _l; open(%r, 'wb').write(_l.build()[1])" % layout,
        "source " + os.path.join(HERE, "gdb_core_frames.py"),
        # where the interpreter's state is, as gdb's own symbols say
        "python open(%r, 'w').write(str(int(gdb.parse_and_eval("
        "\"(unsigned long)&'_PyRuntime'\"))))" % runtime_out],
        env={"REMORA_FRAMES_OUT": frames_out})
    if not tap.ok("damage %s: the undamaged core captures, not partial" % it.name,
                  res is not None and res["ok"] and not res["flags"] & SNAP_PARTIAL
                  and os.path.exists(layout),
                  lambda: "%r\n%s" % (res, g.report())):
        return
    frames = load_json(frames_out) or {}
    if not tap.ok("damage %s: gdb lists a thread's frames in the core" % it.name,
                  max(map(len, frames.get("threads") or [[]])) >= 2
                  and frames.get("previous") is not None,
                  lambda: "%r\n%s" % (frames, g.report())):
        return
    base_nodes = res["nodes"]
    results = {"undamaged": res}
    timings["undamaged core in gdb"] = time.monotonic() - t

    t = time.monotonic()
    if frames_only:
        cores = [damage_frame_cycle(src, wdir, frames), damage_frame_zeroed(src, wdir, frames)]
        if frames.get("objects"):
            cores.append(damage_frame_nocode(src, wdir, frames))
            # frame objects are in the GC lists: the frames a damaged
            # chain no longer reaches are found there, as roots of their own
            for d in cores:
                d.fewer_roots = False
        for d in cores:
            d.name = "%s-%s" % (d.name, it.name)
    else:
        cores = [damage_zeroed(live_snap, src, wdir), damage_headers(live_snap, src, wdir),
                 damage_wild(live_snap, src, wdir)]
        if it.free_threaded and frames.get("pages"):
            # no GC lists: its GC objects are found in mimalloc's heaps
            cores.append(damage_heap_cycle(src, wdir, frames))
        elif it.free_threaded:
            tap.fail("damage %s: gdb found a GC heap's page queue of three pages" % it.name,
                     json.dumps(frames))
        else:
            cores.append(damage_gc_cycle(live_snap, src, wdir))
        framed = [damage_frame_cycle(src, wdir, frames), damage_frame_zeroed(src, wdir, frames)]
        if it.free_threaded:
            # the GC's objects are met page by page, by size class, not in
            # the order they were made: what only the lost frames held
            # comes back as more roots than it would through GC lists
            for d in framed:
                d.fewer_roots = False
        cores += framed + [damage_truncated(src, wdir),
                           damage_cut_kernel(src, wdir, read_int(runtime_out))]
    timings["damaging"] = time.monotonic() - t
    cores_made.extend(d.path for d in cores)
    for d in cores:
        t = time.monotonic()
        d.out = os.path.join(wdir, d.name + ".json")
        d.undamaged = base.out + ".remora"
        g, res = gdb_capture(it, d.path, d.out)
        results[d.name] = res
        check_damaged(tap, d, base_nodes, g, res)
        timings["%s core in gdb" % d.name] = time.monotonic() - t
    if frames_only:
        return

    t = time.monotonic()
    check_asan(tap, asan, layout, [base] + cores, results)
    timings["ASan build wait and runs"] = time.monotonic() - t


def main():
    t0 = time.monotonic()
    tap = Tap("test_core_damage")
    asan = AsanBuild()
    timings = {}
    cores_made = []
    try:
        asan.start()
    except OSError as exc:
        asan.skip = "cannot copy the tree: %s" % exc
    interps = harness.interpreters()
    harness.report_interpreters(tap, interps)
    first = next((it for it in interps if not it.skip), None)
    # and the frame damages once more where frames are objects (3.8-3.10)
    old = next((it for it in interps if not it.skip and it.debug_info
                and re.match(r"pyenv-3\.(8|9|10)\.", it.name)), None)
    for it in interps:
        if it.skip:
            tap.skip("damaged cores, %s" % it.name, it.skip)
        elif it is not first and it is not old:
            tap.skip("damaged cores, %s" % it.name,
                     "run on the first usable interpreter only (%s)%s" % (
                         first.name, ", frame damages also on %s" % old.name if old else ""))
    if first is not None:
        harness.guarded(tap, "damaged cores, %s" % first.name, run,
                        tap, first, asan, timings, cores_made)
    if old is not None:
        harness.guarded(tap, "damaged frames, %s" % old.name, run,
                        tap, old, asan, timings, cores_made, True)
    if asan.proc is not None and asan.proc.poll() is None:
        os.killpg(asan.proc.pid, 9)
    if tap.failed == 0:
        # ~10 MB of tree and ~50 MB of cores: kept only to debug a failure
        if asan.dir:
            shutil.rmtree(asan.dir, ignore_errors=True)
        for path in cores_made:
            try:
                os.unlink(path)
            except OSError:
                pass
    for k, v in timings.items():
        tap.diag("time: %-28s %5.1fs" % (k, v))
    tap.diag("time: total %.1fs" % (time.monotonic() - t0))
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
