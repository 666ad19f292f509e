"""test_debug_offsets.py — CPython 3.13+ states its own offsets in
_PyRuntime.debug_offsets (cookie "xdebugpy", its version, then where each
field lies); remora checks them against the layout it uses, and a
disagreement is said, not ignored (issue 10).

For each interpreter of 3.13 or later (with and without debug info):
GIVEN a core of targets/busy_target.py (gcore), and, independently of
      remora, the target's own word that its _PyRuntime begins with the
      cookie (ctypes reads it in the process),
WHEN  py-heap captures the core as gcore wrote it,
THEN  it says nothing of the debug offsets, and gives the Kept row;
WHEN  the core's copy states interpreter_state.threads_head 8 bytes off,
THEN  py-heap says in one line that the interpreter's own _Py_DebugOffsets
      differ in RL_INTERP_THREADS_HEAD, and which it uses: with debug info
      the debug info (and the Kept row is the undamaged core's), without
      the interpreter's;
WHEN  the core's copy has its cookie damaged,
THEN  py-heap says in one line that the cookie is missing, and, using the
      debug info or the table, gives the undamaged core's Kept row;
WHEN  (3.14+) the core's copy says the build is free-threaded,
THEN  py-heap says in one line that the interpreter's word and its
      symbols disagree: with debug info that it uses the debug info (and
      the Kept row is the undamaged core's), without that it reads it as
      the interpreter says.
"""

import os
import re
import signal
import subprocess

import harness
from coredamage import Core
from harness import Tap, Target

WHERE = ("python from remora import layout as l; print('AT %d %d' % ("
         "l.field('RL_RUNTIME_ADDR') + l.field('RL_RUNTIME_DEBUG_OFFSETS'), "
         "l.field('RL_DBG_INTERP_THREADS_HEAD')))")
# the target's own reading of the first 8 bytes of its _PyRuntime
COOKIE_FACT = ("import ctypes; a = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "
               "'_PyRuntime')); print(ctypes.string_at(a, 8))")


def kept_row(text):
    return harness.row_figures(text, "Kept")


def notes(text):
    return [ln for ln in text.splitlines() if ln.startswith("remora:")]


def capture(it, core, extra=()):
    g = harness.run_gdb(list(extra) + harness.marked("py-heap", "py-heap -json -- h.bytype"),
                        args=[it.path, core])
    return g, g.section("py-heap") or ""


def run(tap, it):
    name = "debug offsets %s" % it.name
    wdir = harness.workdir("debug-offsets", it.name)
    core = os.path.join(wdir, "target.core")
    with Target.python(it, "busy_target.py", wdir, "sleep") as target:
        if not harness.target_started(tap, name, target):
            return
        g = harness.run_gdb(["gcore " + core, "detach"], pid=target.pid, load_remora=False)
        if not tap.ok("%s: gcore made a core" % name, os.path.exists(core), g.report):
            return
        target.send(signal.SIGUSR1)
        target.wait_exit(60)
    argv = [it.path, "-c", COOKIE_FACT]
    r = subprocess.run(harness.in_root(it.root, argv) if it.root else argv,
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, **it.env))
    tap.equal("%s: the interpreter's own _PyRuntime begins with its cookie" % name,
              r.stdout.strip(), "b'xdebugpy'", r.stderr)

    g, text = capture(it, core, harness.marked("where", WHERE))
    m = re.search(r"AT (\d+) (\d+)", g.section("where") or "")
    if not tap.ok("%s: gdb finds _PyRuntime.debug_offsets in the core" % name,
                  m and int(m.group(2)) > 0, g.report):
        return
    at, threads_head = int(m.group(1)), int(m.group(2))
    base = kept_row(text)
    tap.ok("%s: the core as gcore wrote it: the Kept row (%s), no word of the debug offsets"
           % (name, base), base is not None and not any("debug" in n.lower() for n in
                                                        notes(text)), g.report)

    damaged = os.path.join(wdir, "offsets.core")
    with Core(core, damaged) as c:
        stated = c.u64(at + threads_head)
        c.put_u64(at + threads_head, stated + 8, "interpreter_state.threads_head + 8")
    g, text = capture(it, damaged)
    want = re.compile(r"^remora: CPython [\d.]+'s own _Py_DebugOffsets differ from the "
                      r"(debug info|[\d.]+ table) in RL_INTERP_THREADS_HEAD \(%d, its own %d\)"
                      r": using (the debug info|the interpreter's)$" % (stated, stated + 8))
    said = [n for n in notes(text) if "DebugOffsets" in n]
    tap.ok("%s: a stated offset 8 bytes off: py-heap says so in one line" % name,
           len(said) == 1 and want.match(said[0]), g.report)
    uses = "the debug info" if it.debug_info else "the interpreter's"
    tap.ok("%s: ... and uses %s" % (name, uses), said and said[0].endswith(uses), str(said))
    if it.debug_info:
        tap.equal("%s: ... and the Kept row is the undamaged core's" % name,
                  kept_row(text), base, g.report)
    os.unlink(damaged)

    damaged = os.path.join(wdir, "cookie.core")
    with Core(core, damaged) as c:
        c.write(at, b"ydebugpy", "the cookie")
    g, text = capture(it, damaged)
    said = [n for n in notes(text) if "cookie" in n]
    tap.ok("%s: a damaged cookie: py-heap says so in one line" % name,
           len(said) == 1 and "lacks its cookie" in said[0], g.report)
    tap.equal("%s: ... and the Kept row is the undamaged core's" % name,
              kept_row(text), base, g.report)
    os.unlink(damaged)

    if it.version >= (3, 14):
        # 3.14's _Py_DebugOffsets also says whether the build is free-
        # threaded (its third word); these are GIL builds
        damaged = os.path.join(wdir, "ft.core")
        with Core(core, damaged) as c:
            flag = c.u64(at + 16)
            c.put_u64(at + 16, 1, "free_threaded = 1")
        tap.equal("%s: the core's _Py_DebugOffsets says free_threaded 0" % name, flag, 0)
        g, text = capture(it, damaged)
        said = [n for n in notes(text) if "free-threaded" in n]
        source, what = (("debug info", "using the debug info") if it.debug_info else
                        ("symbols", "reading it as free-threaded"))
        tap.ok("%s: free_threaded stated 1 in a GIL build: py-heap says so in one line, %s"
               % (name, what), len(said) == 1 and re.match(
                   r"^remora: CPython [\d.]+'s _Py_DebugOffsets says it is free-threaded, its "
                   r"%s that it is not: %s$" % (source, what), said[0]), g.report)
        if it.debug_info:
            tap.equal("%s: ... and the Kept row is the undamaged core's" % name,
                      kept_row(text), base, g.report)
        os.unlink(damaged)
    os.unlink(core)


def main():
    tap = Tap("test_debug_offsets")
    interps = harness.interpreters()
    harness.report_interpreters(tap, interps)
    for it in interps:
        if not it.skip and it.version < (3, 13):
            tap.skip("debug offsets %s" % it.name, "CPython %d.%d has no _Py_DebugOffsets"
                     % it.version)
            continue
        harness.each_interpreter(tap, [it], "debug offsets", run)
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
