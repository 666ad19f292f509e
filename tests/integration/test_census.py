"""test_census.py — every object the target's gc reaches is in the
snapshot, with sys.getsizeof's size (DESIGN.md invariant 4).

For each interpreter:
GIVEN targets/census_target.py, stopped after listing every object its
      own gc.get_objects() + gc.get_referents() closure reaches, with id()
      and sys.getsizeof() (a varied heap: classes plain, slotted and with
      a __dict__, builtin containers and their subclasses, str of every
      kind, ints of both signs, generators, deques, closures, and what
      asyncio.run(asyncio.sleep(0.01)) leaves: on 3.12, dead future
      iterators on the free list _asyncio's module state keeps and its
      traverse visits),
WHEN  gdb attaches and captures the heap,
THEN  every listed address is a node of the snapshot, the snapshot is
      not partial (no dead object taken for one), and every node's size
      equals the target's getsizeof (arrays, BytesIO, Struct and the
      buffered files' buffers included).
"""

import collections
import json
import os
import signal

import harness
from harness import Target

GDB_SCRIPT = os.path.join(harness.HERE, "gdb_census.py")


def census(tap, it):
    name = "census %s" % it.name
    wdir = harness.workdir("census", it.name)
    with Target.python(it, "census_target.py", wdir) as target:
        if not harness.target_started(tap, name, target):
            return
        out = os.path.join(wdir, "found.json")
        g = harness.run_gdb(["source " + GDB_SCRIPT, "detach"], pid=target.pid,
                            env={"REMORA_CENSUS": target.path("census.json"),
                                 "REMORA_CENSUS_OUT": out})
        res = harness.load_json(out)
        tap.ok("%s: every gdb command succeeded" % name, g.ok(), g.report)
        if not tap.ok("%s: capture and lookups ran" % name, res.get("ok"),
                      lambda: "%s\n%s" % (res.get("error"), g.report())):
            return
        with open(target.path("census.json")) as f:
            listed = len(json.load(f)["objects"])
        target.send(signal.SIGUSR1)
        tap.equal("%s: target exits 0" % name, target.wait_exit(60), 0, target.output)
        gone = harness.census_gone(target)
        missing = [m for m in res["missing"] if (m[0], m[1]) not in gone]
        tap.equal("%s: all %d objects the target's gc reaches are in the snapshot (%d went "
                  "before the capture, the target says)" % (name, listed, len(gone)),
                  missing, [], lambda: "missing (first 20): %r" % missing[:20])
        tap.ok("%s: the snapshot is complete (not partial)" % name, not res["partial"])
        wrong = res["mismatched"]
        by_type = collections.Counter(m[0] for m in wrong)
        tap.equal("%s: every size equals sys.getsizeof (%d objects)" % (name, res["found"]),
                  len(wrong), 0, lambda: "mismatches by type: %r\n[type, getsizeof, remora] "
                  "(first of each type): %r" % (dict(by_type), [
                      next(m for m in wrong if m[0] == t) for t in by_type]))
        tap.diag("%s: %d nodes in the snapshot" % (name, res["nodes"]))


def main():
    return harness.run_per_interpreter("test_census", "census", census)


if __name__ == "__main__":
    raise SystemExit(main())
