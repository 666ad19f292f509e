"""test_unchanged.py — the target is not changed (DESIGN.md invariant 1).

For each interpreter:
GIVEN targets/unchanged_target.py, which measured itself five times in a
      row with its worker threads parked (measure(): refcounts of its
      whole heap bar the shared objects, gc.get_count(), gc.get_stats(),
      the number of tracked objects and of gc.garbage, without
      collecting; sys.getallocatedblocks(); /proc/self/maps; the fd
      table; every thread's signal masks and every signal's handler) and
      waits,
WHEN  gdb attaches, runs `py-heap` (then, on another target,
      `py-heap -no-inject`) and detaches, and the target is told
      (SIGUSR1) to measure itself again and finish its work,
THEN  no page of zeros was made resident in its anonymous memory while
      gdb had it (pagemap before and after: reading a page it never
      touched through /proc/PID/mem would allocate one), and from outside
      no page of a file beyond what gdb alone makes resident (smaps' Rss
      by file, against the control run);
AND   every measurement is what it was before: equal, but for the three
      figures that measuring itself moves (gc.get_count()[0], the
      allocated blocks and the bytes of anonymous read-write mappings, as
      free lists fill), which move by what the measurements before the
      attach moved, within margins the test states; every thread keeps
      making progress; and the target computes the right result and
      exits 0.
A control run (attach and detach without remora) first shows that the
measurement itself is stable, so a failure in the second run is remora's.
"""

import difflib
import json
import os
import re
import signal

import harness
from harness import Tap, Target, TargetError

N_PLAIN = 5000          # keep in sync with targets/unchanged_target.py
EXPECTED_CHECKSUM = (sum(range(N_PLAIN)) + sum(range(257)) + len("unchanged-" * 50)
                     + (10 ** 200 + 7) % 1000003)
SERIES = ("m1", "m2", "m3", "before")   # the target's measurements in a row
# Beyond the range the series itself shows: measured over 36 consecutive
# pairs on Debian's 3.11 and pyenv's 3.11.7 and 3.12.1, one measurement
# moved the allocated blocks by 5 to 11 and gc.get_count()[0] by exactly
# 4; a series of four can miss the extremes by a few.  Materializing one
# __dict__ per instance, as heapy does, would move the blocks by N_PLAIN.
BLOCKS_MARGIN = 3
GC0_MARGIN = 1
# pymalloc maps and unmaps its 1 MiB arenas as measuring allocates, at one
# of two addresses in turn, and the free lists measuring fills take a new
# arena now and then (seen between two measurements in a row): the
# anonymous read-write mappings' addresses and total move by that much.
ANON_RW = re.compile(r"^[0-9a-f]+-[0-9a-f]+ rw-p 00000000 00:00 0\s*$")
ANON_MARGIN = 1 << 20
# C malloc (glibc's mallinfo2): measuring leaves 2.3 to 9 KiB more in use
# each time and has not moved the heap's size or the mmapped chunks'.
# The old agent's dlopen left 112 to 2432 bytes in use and once grew the
# heap by 728 KiB; the window catches the growth of the heap, the bytes in
# use only when they pass the measurements' own range (a capture frees
# nothing of the target's, so only the upper bound holds anything).
MALLOC_MARGIN = 4096
# 3.8's own measuring leaves malloc's bytes in use 4-11 KiB higher each
# time, by amounts that do not grow steadily (a control run with gdb
# attached and no remora passed the window as often as py-heap's run):
# there, only that one figure is not compared.
IN_USE_NOISE = ("3.8's own measuring moves malloc's bytes in use by 4-11 KiB each time, "
                "unevenly: no window holds (the heap's size is still compared)")


def canonical_maps(text):
    """(the mappings but anonymous read-write ones, exactly; the bytes of
    the anonymous read-write ones).  Anything remora left — the agent's
    file, code, a change to [heap] — shows in the first; a scratch area
    of more than ANON_MARGIN in the second."""
    exact, anon = [], 0
    for line in text.splitlines():
        if ANON_RW.match(line):
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            anon += hi - lo
        else:
            exact.append(line)
    return exact, anon


def anon(m):
    return canonical_maps(m["maps"])[1]


def series_deltas(series, figure):
    return [figure(b) - figure(a) for a, b in zip(series, series[1:])]


def gc0(m):
    return m["gc_count"][0]


def blocks(m):
    return m["allocated_blocks"]


def malloc(key):
    def figure(m):
        return m["malloc"][key]
    return figure


in_use = malloc("in_use")


def exact_figures(m):
    """What no measurement moves: {name: value}."""
    return {"refcounts": m["refcounts"], "gc_objects": m["gc_objects"],
            "gc_garbage": m["gc_garbage"], "gc_stats": m["gc_stats"],
            "gc_count[1:]": m["gc_count"][1:], "maps": canonical_maps(m["maps"])[0],
            "fds": m["fds"], "signals": m["signals"]}


def unstable(series):
    """Why the target's own measurements in a row disagree, or None."""
    for a, b in zip(series, series[1:]):
        ea, eb = exact_figures(a), exact_figures(b)
        diffs = [k for k in ea if ea[k] != eb[k]]
        if diffs:
            return "two measurements in a row differ in %s%s" % (diffs, "".join(
                difflib.unified_diff([ln + "\n" for ln in ea["maps"]],
                                     [ln + "\n" for ln in eb["maps"]], "maps", "next maps")))
    return None


def compare(tap, name, series, after, gc0_margin=GC0_MARGIN, in_use_noise=None):
    before = series[-1]
    eb, ea = exact_figures(before), exact_figures(after)
    moved = [i for i, (x, y) in enumerate(zip(eb["refcounts"], ea["refcounts"])) if x != y]
    tap.ok("%s: refcounts of %d objects unchanged" % (name, len(eb["refcounts"])),
           not moved and len(eb["refcounts"]) == len(ea["refcounts"]),
           lambda: "%d moved; first (index, before, after): %r" % (len(moved), [
               (i, eb["refcounts"][i], ea["refcounts"][i]) for i in moved[:20]]))
    tap.equal("%s: gc tracks as many objects (not collected first)" % name,
              ea["gc_objects"], eb["gc_objects"])
    tap.equal("%s: gc.garbage unchanged" % name, ea["gc_garbage"], eb["gc_garbage"])
    tap.equal("%s: no garbage collection ran (gc.get_stats())" % name,
              ea["gc_stats"], eb["gc_stats"])
    tap.equal("%s: gc.get_count()[1:] unchanged" % name, ea["gc_count[1:]"], eb["gc_count[1:]"])
    windows = [("gc.get_count()[0]", gc0, gc0_margin),
               ("sys.getallocatedblocks()", blocks, BLOCKS_MARGIN),
               ("bytes of anonymous read-write mappings", anon, ANON_MARGIN)]
    if before.get("malloc") and after.get("malloc"):
        if in_use_noise:
            tap.skip("%s: malloc's bytes in use" % name, in_use_noise)
        else:
            windows.append(("malloc's bytes in use", in_use, MALLOC_MARGIN))
        windows += [("the size of malloc's heap", malloc("heap"), 0),
                    ("malloc's mmapped chunks", malloc("mmapped"), 0)]
    else:
        tap.skip("%s: malloc's figures" % name, "the target's libc has no mallinfo2")
    for what, figure, margin in windows:
        d = series_deltas(series, figure)
        lo, hi = min(d) - margin, max(d) + margin
        allowed = "%+d..%+d" % (lo, hi)
        if figure is in_use:
            lo, allowed = None, "up to %+d" % hi
        got = figure(after) - figure(before)
        tap.ok("%s: %s moved by %+d; measuring alone moved it by %s (allowed %s)"
               % (name, what, got, "/".join("%+d" % x for x in d), allowed),
               (lo is None or lo <= got) and got <= hi,
               "before %d, after %d" % (figure(before), figure(after)))
    same = ea["maps"] == eb["maps"]
    tap.ok("%s: /proc/self/maps unchanged (but anonymous read-write)" % name, same,
           lambda: "".join(difflib.unified_diff([ln + "\n" for ln in eb["maps"]],
                                                [ln + "\n" for ln in ea["maps"]],
                                                "maps before", "maps after")))
    tap.equal("%s: the fd table is unchanged" % name, ea["fds"], eb["fds"])
    tap.equal("%s: signal masks and handlers unchanged" % name, ea["signals"], eb["signals"])


def resident(pid):
    """{(start, path): resident bytes} of pid's mappings (/proc/PID/smaps),
    but the kernel's."""
    out, key = {}, None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            head = re.match(r"^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$", line)
            if head:
                key = (head.group(1), head.group(2).strip())
            elif line.startswith("Rss:") and key[1] not in harness.KERNEL_MAPS:
                out[key] = int(line.split()[1]) * 1024
    return out


def is_file(path):
    return path.startswith("/")


def growth(before, after):
    """{(start, path): bytes} of the mappings whose resident size changed."""
    return {k: after.get(k, 0) - v for k, v in before.items() if after.get(k, 0) != v}


def by_file(grown):
    """{path: bytes} of the files' mappings in grown."""
    out = {}
    for (_start, path), d in grown.items():
        if is_file(path):
            out[path] = out.get(path, 0) + d
    return out


def check_resident(tap, name, new_zero, grown, control_files):
    """Anonymous memory: no page made resident that holds only zeros —
    what reading a page the target never touched through /proc/PID/mem
    leaves (a page the target wrote itself, as a free-threaded build's
    threads may when gdb attaches, holds its data).  Files' mappings,
    where control_files (what gdb alone made resident in the control
    run, {path: bytes}) is given: no more than that."""
    tap.ok("%s: no page of zeros was made resident in the target's anonymous memory "
           "(pagemap)" % name, not new_zero,
           "%d pages, the first at %s" % (len(new_zero), ", ".join(
               "0x%x" % p for p in new_zero[:8])))
    if control_files is None:
        return
    files = by_file(grown)
    over = {p: d for p, d in files.items() if d > control_files.get(p, 0)}
    tap.ok("%s: no page of a file was made resident beyond what gdb alone does"
           % name, not over,
           "; ".join("%s: %+d bytes (gdb alone: %+d)" % (p, d, control_files.get(p, 0))
                     for p, d in sorted(over.items())))


def one_run(tap, it, label, commands, load_remora, control_files=None):
    """Runs commands in gdb on a new target and checks it; returns the
    resident bytes of files' mappings that grew meanwhile ({path:
    bytes}), or None if the run stopped early."""
    name = "unchanged %s %s" % (it.name, label)
    wdir = harness.workdir("unchanged-" + label, it.name)
    with Target.python(it, "unchanged_target.py", wdir) as target:
        try:
            target.wait_ready()
        except TargetError as exc:
            tap.fail("%s: target starts and measures itself" % name, str(exc))
            return
        series = [target.json(n + ".json") for n in SERIES]
        why = unstable(series)
        if why:
            tap.fail("%s: the target's own measurement is stable" % name,
                     "%s: the test, not remora, is at fault" % why)
            return
        rss_before, pages_before = resident(target.pid), harness.anon_pages(target.pid)
        g = harness.run_gdb(commands + ["detach"], pid=target.pid, load_remora=load_remora)
        ok = tap.ok("%s: every gdb command succeeded (%.1fs)" % (name, g.seconds),
                    g.ok(), g.report)
        # (the target waits for SIGUSR1: nothing of its own moves these)
        grown = growth(rss_before, resident(target.pid))
        new_zero = harness.zero_pages(target.pid, harness.anon_pages(target.pid) - pages_before)
        check_resident(tap, name, new_zero, grown, control_files)
        if load_remora:
            text = g.section("py-heap") or ""
            tap.ok("%s: py-heap printed a partition" % name,
                   "Partition of a set of" in text,
                   (lambda: "py-heap printed:\n%s" % text) if not ok else g.report)
        target.send(signal.SIGUSR1)
        rc = target.wait_exit(90)
        tap.equal("%s: target exits 0 after detach" % name, rc, 0, target.output)
        if rc != 0 or not os.path.exists(target.path("after.json")):
            tap.fail("%s: target measured itself after detach" % name, target.output())
            return
        compare(tap, name, series, target.json("after.json"),
                in_use_noise=IN_USE_NOISE if it.version < (3, 9) else None)
        progress = target.json("progress.json")
        tap.ok("%s: every thread makes progress after detach (steps %s)"
               % (name, progress["steps"]), progress["moved"], json.dumps(progress))
        result = target.json("result.json")
        tap.equal("%s: target's own result is right" % name,
                  result.get("checksum"), EXPECTED_CHECKSUM)
        return by_file(grown)


def main():
    tap = Tap("test_unchanged")
    interps = harness.interpreters()
    harness.report_interpreters(tap, interps)

    def both_runs(tap, it):
        gdb_alone = one_run(tap, it, "control", ["info threads"], load_remora=False)
        # (an injected capture's file pages are not compared: the agent
        # calls the tp_traverse of the GC types it has no model of, as
        # the target's own gc.collect() would, and that code may not
        # have run yet: on Debian's 3.14 contextvar_tp_traverse, whose
        # first run makes one 64 KiB fault-around block of the
        # executable resident; perf's page-faults with -d showed it)
        one_run(tap, it, "py-heap", harness.marked("py-heap", "py-heap"),
                load_remora=True)
        if gdb_alone is None:
            tap.skip("unchanged %s no-inject" % it.name, "the control run did not finish")
            return
        one_run(tap, it, "no-inject", harness.marked("py-heap", "py-heap -no-inject"),
                load_remora=True, control_files=gdb_alone)
    harness.each_interpreter(tap, interps, "unchanged", both_runs)
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
