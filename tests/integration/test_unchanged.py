"""test_unchanged.py — the target is not changed (DESIGN.md invariant 1).

For each interpreter:
GIVEN targets/unchanged_target.py, which measured itself (refcounts of
      sample objects, len(gc.get_objects()) after gc.collect(),
      sys.getallocatedblocks(), /proc/self/maps) and waits,
WHEN  gdb attaches, runs `py-heap` and detaches, and the target is told
      (SIGUSR1) to measure itself again and finish its work,
THEN  every measurement is what it was before (allocated blocks within
      BLOCKS_TOLERANCE, far fewer than materializing one __dict__ per
      sample instance would add), and the target computes the right
      result and exits 0.
A control run (attach and detach without remora) first shows that the
measurement itself is stable, so a failure in the second run is remora's.
"""

import difflib
import json
import os
import signal

import harness
from harness import Tap, Target, TargetError

N_PLAIN = 5000          # keep in sync with targets/unchanged_target.py
BLOCKS_TOLERANCE = 32   # the target's own measuring moves a few blocks
EXPECTED_CHECKSUM = (sum(range(N_PLAIN)) + sum(range(257)) + len("unchanged-" * 50)
                     + (10 ** 200 + 7) % 1000003)


def differences(a, b):
    """What differs between two measurements, beyond the blocks tolerance."""
    diffs = [k for k in ("refcounts", "gc_objects", "maps") if a[k] != b[k]]
    if abs(a["allocated_blocks"] - b["allocated_blocks"]) > BLOCKS_TOLERANCE:
        diffs.append("allocated_blocks")
    return diffs


def compare(tap, name, before, after):
    tap.equal("%s: refcounts of sample objects unchanged" % name,
              after["refcounts"], before["refcounts"])
    tap.equal("%s: len(gc.get_objects()) unchanged" % name,
              after["gc_objects"], before["gc_objects"])
    moved = after["allocated_blocks"] - before["allocated_blocks"]
    tap.ok("%s: sys.getallocatedblocks() moved by %+d (tolerance %d; one dict per "
           "instance would be >= %d)" % (name, moved, BLOCKS_TOLERANCE, N_PLAIN),
           abs(moved) <= BLOCKS_TOLERANCE,
           "before %d, after %d" % (before["allocated_blocks"], after["allocated_blocks"]))
    same = after["maps"] == before["maps"]
    tap.ok("%s: /proc/self/maps unchanged" % name, same, lambda: "".join(
        difflib.unified_diff(before["maps"].splitlines(True), after["maps"].splitlines(True),
                             "maps before", "maps after")))


def one_run(tap, it, label, commands, load_remora):
    name = "unchanged %s %s" % (it.name, label)
    wdir = harness.workdir("unchanged-" + label, it.name)
    with Target.python(it, "unchanged_target.py", wdir) as target:
        try:
            target.wait_ready()
        except TargetError as exc:
            tap.fail("%s: target starts and measures itself" % name, str(exc))
            return
        first, before = target.json("first.json"), target.json("before.json")
        if differences(first, before):
            tap.fail("%s: the target's own measurement is stable" % name,
                     "two measurements before any attach differ in %s: the test, not "
                     "remora, is at fault\nfirst: %s\nbefore: %s" % (
                         differences(first, before),
                         {k: v for k, v in first.items() if k != "maps"},
                         {k: v for k, v in before.items() if k != "maps"}))
            return
        g = harness.run_gdb(commands + ["detach"], pid=target.pid, load_remora=load_remora)
        ok = tap.ok("%s: gdb session finished (%.1fs)" % (name, g.seconds),
                    not g.timed_out and g.rc == 0, g.report)
        if load_remora:
            text = g.section("py-heap") or ""
            tap.ok("%s: py-heap printed a partition" % name,
                   "Partition of a set of" in text,
                   (lambda: "py-heap printed:\n%s" % text) if not ok else g.report)
        target.send(signal.SIGUSR1)
        rc = target.wait_exit(60)
        tap.equal("%s: target exits 0 after detach" % name, rc, 0, target.output)
        if rc != 0 or not os.path.exists(target.path("after.json")):
            tap.fail("%s: target measured itself after detach" % name, target.output())
            return
        compare(tap, name, before, target.json("after.json"))
        result = target.json("result.json")
        tap.equal("%s: target's own result is right" % name,
                  result.get("checksum"), EXPECTED_CHECKSUM)


def main():
    tap = Tap("test_unchanged")
    interps = harness.interpreters()
    harness.report_interpreters(tap, interps)
    def both_runs(tap, it):
        one_run(tap, it, "control", ["info threads"], load_remora=False)
        one_run(tap, it, "py-heap", harness.marked("py-heap", "py-heap"),
                load_remora=True)
    harness.each_interpreter(tap, interps, "unchanged", both_runs)
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
