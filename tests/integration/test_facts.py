"""test_facts.py — remora's numbers are the target's own (DESIGN.md invariant 4).

For each interpreter:
GIVEN targets/facts_target.py, stopped after building objects of known
      shape and writing facts about them (computed inside it with gc,
      sys.getsizeof and its own data),
WHEN  gdb attaches, sources remora.py and runs `py-heap`,
      `py-heap -json -- h.bytype`, `... h.byclodo` and `... h[i].bysize`
      for the rows i of h labelled str, int and list, then detaches,
THEN  every count and size remora reports for those objects equals the
      target's facts exactly, objects held only by a thread's or main()'s
      local are found, and after detach the target computes the same facts
      again, finds every value of the data it built (instances'
      attributes, dicts, lists, strings, ints, the threads' locals) as
      it built it, and exits 0.
"""

import json
import os
import re
import signal

import harness
from harness import Target, TargetError, find_row, rows_summary, size_of_label

GDB_SCRIPT = os.path.join(harness.HERE, "gdb_facts.py")
DEFAULT_HEADER = re.compile(r"Partition of a set of (\d+) objects\. Total size = (\d+) bytes\.")


class Checker:
    """Runs the assertions for one interpreter; prints the gdb log once."""

    def __init__(self, tap, name, gdbrun, results):
        self.tap, self.name, self.gdbrun, self.results = tap, name, gdbrun, results
        self.reported = False

    def detail(self, extra=""):
        """A callable for Tap: the gdb log is attached to the first failure only."""
        def build():
            if self.reported:
                return extra
            self.reported = True
            return (extra + "\n" if extra else "") + self.gdbrun.report()
        return build

    def partition(self, key):
        """The parsed partition for KEY, or None after a failed assertion."""
        step = self.results.get(key)
        if step is None:  # not run: an earlier step failed, and said so
            return None
        if not step.get("ok"):
            self.tap.fail("%s: `%s` succeeded" % (self.name, step.get("command", key)),
                          self.detail("error: %s\n%s" % (step.get("error"),
                                                         step.get("traceback", ""))))
            return None
        try:
            return harness.parse_partition(step["text"])
        except ValueError as exc:
            self.tap.fail("%s: `%s` printed a JSON partition" % (self.name, step["command"]),
                          self.detail(str(exc)))
            return None

    def row_equals(self, part, what, label, want):
        row = find_row(part, label)
        desc = "%s: %s row %r count=%d size=%d" % (self.name, what, label, want["count"],
                                                    want["size"])
        if row is None:
            return self.tap.fail(desc, self.detail("no such row\n" + rows_summary(part)))
        got = {"count": row.get("count"), "size": row.get("size")}
        return self.tap.equal(desc, got, {"count": want["count"], "size": want["size"]},
                              self.detail(rows_summary(part)))

    def size_row(self, part, what, size, count):
        desc = "%s: %s has %d object(s) of %d bytes" % (self.name, what, count, size)
        if part is None:
            return self.tap.fail(desc, self.detail("no partition to look in (see the failures above)"))
        for row in part.get("rows", []):
            if size_of_label(row.get("label")) == size:
                return self.tap.equal(desc, row.get("count"), count,
                                      self.detail(rows_summary(part, 60)))
        return self.tap.fail(desc, self.detail("no row labelled %d\n%s"
                                               % (size, rows_summary(part, 60))))


def check_interpreter(tap, it):
    name = "facts %s" % it.name
    wdir = harness.workdir("facts", it.name)
    with Target.python(it, "facts_target.py", wdir) as target:
        try:
            target.wait_ready()
        except TargetError as exc:
            tap.fail("%s: target starts and writes its facts" % name, str(exc))
            return
        facts = target.json("facts.json")
        out = os.path.join(wdir, "gdb.json")
        g = harness.run_gdb(["source " + GDB_SCRIPT, "detach"], pid=target.pid,
                            env={"REMORA_TEST_OUT": out})
        results = {}
        if os.path.exists(out):
            with open(out) as f:
                results = json.load(f)
        c = Checker(tap, name, g, results)
        tap.ok("%s: gdb session finished (%.1fs)" % (name, g.seconds),
               g.ok() and bool(results), c.detail())
        for key in ("default", "bytype", "byclodo", "bysize_str"):
            if key in results:
                tap.diag("%s: `%s` took %.2fs" % (name, results[key].get("command"),
                                                  results[key].get("seconds", 0)))

        bytype = c.partition("bytype")
        byclodo = c.partition("byclodo")

        # THEN the default partition prints heapy's header for the same set.
        step = results.get("default", {})
        m = DEFAULT_HEADER.search(step.get("text") or "")
        tap.ok("%s: `py-heap` prints heapy's partition header" % name, m is not None,
               c.detail("output: %r\nerror: %s" % ((step.get("text") or "")[:800],
                                                   step.get("error"))))

        for cls, want in sorted(facts["classes"].items()):
            if bytype is not None:
                c.row_equals(bytype, "h.bytype", cls, want)
            else:
                tap.fail("%s: h.bytype row %r" % (name, cls), "no h.bytype partition")
            if byclodo is not None:
                c.row_equals(byclodo, "h.byclodo", cls, want)
            else:
                tap.fail("%s: h.byclodo row %r" % (name, cls), "no h.byclodo partition")
        for cls, want in sorted(facts["dict_of"].items()):
            if byclodo is not None:
                c.row_equals(byclodo, "h.byclodo", "dict of " + cls, want)
            else:
                tap.fail("%s: h.byclodo row 'dict of %s'" % (name, cls), "no h.byclodo partition")

        sized = {}
        for tname in ("str", "int", "list"):
            sized[tname] = c.partition("bysize_" + tname)
            want = facts["bysize"][tname]
            c.size_row(sized[tname], "h[<%s row>].bysize" % tname, want["size"], want["count"])
        for who in ("thread_only", "main_only"):
            want = facts[who]
            c.size_row(sized.get(want["type"]), "%s %s (held only by %s)" % (
                want["type"], who.replace("_only", ""),
                "a worker thread's local" if who == "thread_only" else "main()'s local"),
                want["size"], 1)

        # THEN after detach the target goes on, finds its data as it was,
        # and finishes its own work.
        target.send(signal.SIGUSR1)
        rc = target.wait_exit(60)
        tap.equal("%s: target finishes with exit 0 after detach" % name, rc, 0,
                  target.output())
        after = harness.load_json(target.path("after.json"))
        tap.equal("%s: after detach, the target's own facts are what they were" % name,
                  after.get("facts"), facts, target.output)
        tap.equal("%s: after detach, the target's data holds what it built" % name,
                  after.get("damaged"), [], target.output)


def main():
    return harness.run_per_interpreter("test_facts", "facts", check_interpreter)


if __name__ == "__main__":
    raise SystemExit(main())
