"""test_refusal.py — remora refuses what is unsafe and explains what it can't do.

1. For each interpreter (DESIGN.md invariant 2):
   GIVEN targets/malloc_target.py stopped by `break malloc` + `continue`,
         so that one thread is inside malloc,
   WHEN  `py-heap` runs, then gdb detaches,
   THEN  py-heap prints a line beginning "remora: refusing to inject:",
         then reads the process from outside and prints its partition, in
         which the target's own objects have the count and size it wrote;
         no Python traceback, the agent is not in the target's maps, and
         the target goes on allocating and finishes with exit 0.
2. Once:
   GIVEN a process that is not Python (/bin/sleep),
   WHEN  `py-heap` runs,
   THEN  it prints exactly one line of explanation, no traceback, and the
         process is left running without remora's agent.
"""

import json
import os
import re
import shutil
import signal
import time

import harness
from harness import Tap, Target, TargetError

NO_TRACEBACK = ("Traceback", "Python Exception", "Error occurred in Python")


def no_traceback(g):
    return not any(s in g.out or s in g.err for s in NO_TRACEBACK)


def maps_of(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return f.read()
    except OSError as exc:
        return "(unreadable: %s)" % exc


def refusal(tap, it):
    name = "refusal %s" % it.name
    wdir = harness.workdir("refusal", it.name)
    with Target.python(it, "malloc_target.py", wdir) as target:
        try:
            target.wait_ready()
        except TargetError as exc:
            tap.fail("%s: target starts" % name, str(exc))
            return
        cmds = ["break malloc", "continue", "delete"]
        cmds += harness.marked("where", "info threads")
        cmds += harness.marked("py-heap", "py-heap")
        cmds += harness.marked("bytype", "py-heap -json -- h.bytype")
        cmds += ["detach"]
        g = harness.run_gdb(cmds, pid=target.pid)
        tap.ok("%s: every gdb command succeeded (%.1fs)" % (name, g.seconds),
               g.ok(), g.report)
        where = g.section("where") or ""
        stopped_in_malloc = any("*" in ln.split("Thread")[0] and "malloc" in ln
                                for ln in where.splitlines())
        if not tap.ok("%s: GIVEN a thread stopped inside malloc" % name, stopped_in_malloc,
                      g.report):
            return
        text = g.section("py-heap")
        lines = [ln for ln in (text or "").splitlines() if ln.strip()]
        refusal = re.compile(r"^%s thread \d+ \(LWP \d+\) is inside malloc \(\w+\); "
                             r"reading the process from outside instead$"
                             % re.escape(harness.REFUSAL_PREFIX))
        tap.ok("%s: py-heap says why in one line: %r" % (name, refusal.pattern),
               sum(1 for ln in lines if refusal.match(ln)) == 1
               and sum(1 for ln in lines if ln.startswith("remora")) == 1,
               lambda: "py-heap printed:\n%s\n%s" % (text, g.report()))
        tap.ok("%s: py-heap then reads from outside and prints the partition" % name,
               any(ln.startswith("Partition of a set of") for ln in lines),
               lambda: "py-heap printed:\n%s" % text)
        facts = target.json("facts.json")
        try:
            rows = json.loads((g.section("bytype") or "").strip().splitlines()[-1])["rows"]
            kept = [r for r in rows if r["label"] == "__main__.Kept"]
        except (ValueError, KeyError, IndexError):
            kept = []
        tap.equal("%s: outside capture: count and size of the target's Kept objects"
                  % name, [(r["count"], r["size"]) for r in kept],
                  [(facts["kept_count"], facts["kept_size"])], g.report)
        tap.ok("%s: no Python traceback" % name, no_traceback(g), g.report)
        tap.ok("%s: agent not loaded into the target" % name,
               "remora-agent" not in maps_of(target.pid), maps_of(target.pid))
        # THEN the target goes on: it keeps allocating and finishes.
        time.sleep(0.3)
        target.send(signal.SIGUSR1)
        rc = target.wait_exit(60)
        tap.equal("%s: target exits 0 after detach" % name, rc, 0, target.output)
        if rc == 0:
            tap.ok("%s: target kept working" % name,
                   target.json("result.json").get("allocations", 0) > 0, target.output)


def not_python(tap):
    name = "non-Python process"
    sleep = shutil.which("sleep") or "/bin/sleep"
    wdir = harness.workdir("nonpython", "sleep")
    with Target([sleep, "600"], wdir) as target:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.realpath(
                "/proc/%d/exe" % target.pid) != os.path.realpath(sleep):
            time.sleep(0.05)
        g = harness.run_gdb(harness.marked("py-heap", "py-heap") + ["detach"], pid=target.pid)
        tap.ok("%s: gdb ran to its end; only py-heap failed (%.1fs)" % (name, g.seconds),
               g.ok(may_fail=("py-heap",)) and [f["command"] for f in g.failed] == ["py-heap"],
               g.report)
        text = g.section("py-heap")
        lines = [ln for ln in (text or "").splitlines() if ln.strip()]
        tap.ok("%s: py-heap says in one line that it is not CPython" % name,
               lines == ["remora: this process is not running CPython (no _PyRuntime symbol)"],
               lambda: "py-heap printed %d line(s):\n%s\n%s" % (len(lines), text, g.report()))
        tap.ok("%s: no Python traceback" % name, no_traceback(g), g.report)
        tap.ok("%s: process still running without the agent" % name,
               target.alive() and "remora-agent" not in maps_of(target.pid),
               maps_of(target.pid))


def main():
    tap = Tap("test_refusal")
    interps = harness.interpreters()
    harness.report_interpreters(tap, interps)
    harness.each_interpreter(tap, interps, "refusal", refusal)
    harness.guarded(tap, "non-Python process", not_python, tap)
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
