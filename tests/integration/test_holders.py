"""test_holders.py — referrers, via labels and shortest paths of objects
held in each of the ways Python holds objects.

For each interpreter:
GIVEN targets/holders_target.py, stopped with markers held ONLY by: a module
      global, a class attribute, a closure cell, a list in a tuple in a
      dict, a set member (holders_mod, reached through sys.modules only), a
      local of a non-main thread's innermost frame, and one of a thread's
      innermost frame 70,000 Python calls deep; the target wrote each
      marker's id(), its holder's id(), the holder's heapy kind and its
      referrers' kinds (gc.get_referrers), the set member's position
      list(s).index(m), the threads' idents and the frames' numbers
      (counted f_back by f_back from the innermost frame), and
      checked every "held only by" with sys.getrefcount,
WHEN  gdb attaches and runs, for each marker, hp.iso(ADDR).count,
      .referrers.addresses, .byvia, .byrcs, .referrers.byrcs and .sp, and
      h.byvia once (gdb_holders.py) on the heap captured by the agent, then again read
      from outside (-no-inject), then on a gcore of the same state,
THEN  the marker is one object, its referrers are exactly its holder, its
      byvia row is heapy's label for that holder, its byrcs row is the
      holder's kind, its referrers' byrcs row is the kinds of the holder's
      referrers, and .sp prints the one shortest path heapy would print;
      the whole heap's byvia (every root labelled) has one row for each
      thread local, its label naming the frame; the three captures answer alike (DESIGN.md invariant 5).
The labels and paths expected are heapy's (guppy3's Path.py relations and
RootState member names); the ones a reader may need to adjust are each in
one function below.
"""

import os
import signal

import harness
from harness import Target, TargetError, rows_summary
from gdb_session import rcs_parts, via_parts
from test_session import Checker

GDB_SCRIPT = os.path.join(harness.HERE, "gdb_holders.py")
MODULE_DICT = "hp.Root.i0_modules['holders_mod'].__dict__"


def thread_frame_root(m):
    """The root step to a thread's frame: heapy's RootState attribute
    i<interp>_t<thread ident>_f<frame number from the oldest frame>
    (guppy3 rootstate.c)."""
    return "hp.Root.i0_t%d_f%d" % (m["thread_ident"], m["frameno"])


def set_member_path(container_path, position):
    """heapy's R_INSET in a path wraps the container: list(<path>)[i]
    (guppy3 Path.py, R_INSET); remora reports the member's real position."""
    return "list(%s)[%d]" % (container_path, position)


def thread_local_expected(m, frame_objects=False):
    """The marker in a local of a thread's innermost frame.  Before 3.11
    (frame_objects) the frame is an object that holds its locals: the
    target's own holder facts stand (the frame object, types.FrameType),
    the via is the local, and the path goes through the root's frame.  In CPython
    3.11+ a running frame's locals live in the thread's interpreter frame,
    not in the frame object (whose tp_traverse skips them even when it
    exists, as here: the target made it with sys._getframe()), so remora
    keeps them as roots, named as heapy names them from its RootState:
    no referrers, the root label as the via, RootState as the referrers'
    kind, and the path through the root's frame attribute."""
    if frame_objects:
        return {"referrers": [m["holder"]], "holder_kind": m["holder_kind"],
                "via": ".f_locals['local_marker']",
                "path": thread_frame_root(m) + ".f_locals['local_marker']",
                "holder_referrer_kinds": None}
    label = thread_frame_root(m)[len("hp.Root"):] + ".f_locals['local_marker']"
    return {"referrers": [], "holder_kind": "RootState",
            "via": label,
            "path": thread_frame_root(m) + ".f_locals['local_marker']",
            "holder_referrer_kinds": None}


def expected(tag, m, frame_objects=False):
    """What gdb must show for marker TAG: its referrers' addresses, byvia
    label, byrcs kind (the holder's), shortest path, and the kinds of the
    holder's referrers (None: not asserted)."""
    if tag in ("thread local", "deep thread local"):
        return thread_local_expected(m, frame_objects)
    via, path = {
        "global": ("['x']", MODULE_DICT + "['x']"),
        "class attribute": ("['attr']", MODULE_DICT + "['Holder'].__dict__['attr']"),
        "closure cell": (".cell_contents", MODULE_DICT + "['f'].__closure__[0].cell_contents"),
        "list in a tuple in a dict": ("[0]", MODULE_DICT + "['d']['k'][0][0]"),
        "set member": ("list(_)[%d]" % m.get("position", -1),
                       set_member_path(MODULE_DICT + "['s']", m.get("position", -1))),
    }[tag]
    return {"referrers": [m["holder"]], "holder_kind": m["holder_kind"], "via": via,
            "path": path, "holder_referrer_kinds": m["holder_referrer_kinds"]}


def one_row(c, key, desc, parse, want):
    """The -json partition at KEY is one row, parse(label) == want, count 1."""
    part = c.partition(key)
    if part is None:
        return
    rows = [(parse(r.get("label", "")), r.get("count")) for r in part.get("rows", [])]
    c.equal(desc, rows, [(want, 1)], rows_summary(part))


def check_marker(c, tag, m, frame_objects):
    want = expected(tag, m, frame_objects)
    c.name = "%s %s" % (c.base, tag)
    ok, got = c.value(tag + "/count")
    if ok:
        c.equal("hp.iso(<marker>).count", got, 1)
    ok, got = c.value(tag + "/referrers")
    if ok:
        c.equal("hp.iso(<marker>).referrers is its holder (a %s)" % want["holder_kind"],
                got, want["referrers"])
    one_row(c, tag + "/byvia", "byvia: one row %r" % want["via"], via_parts, [want["via"]])
    one_row(c, tag + "/byrcs", "byrcs: one row %r" % want["holder_kind"],
            lambda lb: rcs_parts(lb, strip_module=False), [want["holder_kind"]])
    kinds = want["holder_referrer_kinds"]
    if kinds is not None:
        one_row(c, tag + "/referrers.byrcs", "referrers.byrcs: one row %r" % ", ".join(kinds),
                lambda lb: rcs_parts(lb, strip_module=False), kinds)
    else:
        st = c.steps.get(tag + "/referrers.byrcs", {})
        c.tap.diag("%s: referrers.byrcs (not asserted): %s" % (
            c.name, [r.get("label") for r in st["json"].get("rows", [])]
            if st.get("json") else st.get("error")))
    st = c.step(tag + "/sp")
    if st is not None:
        c.equal("hp.iso(<marker>).sp", st.get("text", "").rstrip("\n"), " 0: " + want["path"])


# The three ways a heap is read: the same questions must get the same
# answers (DESIGN.md invariant 5).
CAPTURES = (
    ("injected", "py-heap h = hp.heap()"),
    ("outside", "py-heap h = hp.heap(inject=False)"),
    ("core", "py-heap h = hp.heap()"),
)


def check_capture(tap, it, name, wdir, target, facts, how, command, core=None):
    """Ask gdb_holders.py's questions of one capture and check the answers."""
    out = os.path.join(wdir, "gdb-%s.json" % how)
    g, results = harness.run_gdb_script(GDB_SCRIPT, it, target, out, core,
                                        {"REMORA_TEST_CAPTURE": command})
    label = "%s %s" % (name, how)
    c = Checker(tap, label, g, results)
    c.base = label
    frame_objects = it.version < (3, 11)
    c.ok("gdb session finished (%.1fs)" % g.seconds,
         g.ok() and bool(results.get("steps")))
    if "script" in c.steps:
        c.step("script")
    if c.step("capture") is not None:
        for tag, m in sorted(facts["markers"].items()):
            check_marker(c, tag, m, frame_objects)
        c.name = label
        mf = facts["module frame"]
        part = c.partition("module frame/byvia")
        if part is not None:
            mine = ".i0_t%d_f%d." % (mf["thread_ident"], mf["frameno"])
            labels = [r.get("label", "") for r in part.get("rows", [])]
            parts = [p for lb in labels for p in via_parts(lb)]
            if frame_objects:
                # the frame object holds it twice, as heapy relates a
                # frame: f_globals and f_locals
                c.equal("a module-level frame object holds its namespace as f_globals "
                        "and as f_locals", sorted(parts), [".f_globals", ".f_locals"],
                        str(labels))
            else:
                c.equal("a module-level frame's f_locals is its f_globals: the roots "
                        "name that namespace once, as f_globals",
                        [p for p in parts if p.startswith(mine)], [mine + "f_globals"],
                        str(labels))
        ok, got = c.value("heap/byvia thread locals")
        if ok:
            vias = [thread_local_expected(facts["markers"][tag], frame_objects)["via"]
                    for tag in ("thread local", "deep thread local")]
            want = sorted(([v], vias.count(v)) for v in set(vias))
            c.equal("h.byvia (the whole heap): one row per thread local, its frame's",
                    sorted((via_parts(label), n) for label, n in got), want)
    c.name = label
    return c


def check_interpreter(tap, it):
    name = "holders %s" % it.name
    wdir = harness.workdir("holders", it.name)
    with Target.python(it, "holders_target.py", wdir) as target:
        try:
            target.wait_ready()
        except TargetError as exc:
            tap.fail("%s: target starts and writes its facts" % name, str(exc))
            return
        facts = target.json("facts.json")
        c = None
        for how, command in CAPTURES:
            core = None
            if how == "core" and it.root and it.version >= (3, 14):
                # seen here: gdb's gcore of a chrooted 3.14 target saves
                # a thread's C-stack entry frame as zeros, so the frames
                # older than it are not in the core (the walk stops
                # there): frame numbers cannot match the live process
                tap.skip("%s core" % name, "gcore loses a chrooted 3.14 thread's C-stack "
                         "entry frame (it reads as zeros in the core)")
                continue
            if how == "core":
                core = os.path.join(wdir, "core")
                harness.run_gdb(["gcore " + core, "detach"], pid=target.pid,
                                load_remora=False)
                if not tap.ok("%s: gcore made a core" % name, os.path.exists(core)):
                    continue
            c = check_capture(tap, it, name, wdir, target, facts, how, command, core)
            if core is not None:
                os.unlink(core)
        target.send(signal.SIGUSR1)
        tap.equal("%s: target finishes with exit 0 after detach" % name,
                  target.wait_exit(60), 0, target.output())


def main():
    return harness.run_per_interpreter("test_holders", "holders", check_interpreter)


if __name__ == "__main__":
    raise SystemExit(main())
