"""test_prod.py — heapy's byprod read from tracemalloc's tables in the
stopped process and in its core (issue 9), against the target's own
tracemalloc.

For each interpreter:
GIVEN targets/prod_target.py, which started tracemalloc first, made
      lists, slotted instances, strs, dicts and tuples on lines of their
      own and counted them (number and sys.getsizeof sum) by the line
      tracemalloc.get_object_traceback() gives each,
WHEN  gdb captures the live process and asks `hp.iso(<those objects>)
      .byprod` and `h.byprod` (gdb_prod.py), then the same on a gcore of it,
THEN  the rows of the target's objects are exactly the target's counts
      and sizes, line by line, and the whole heap's table has a row at
      least as large for each of those lines, headed "Producer (line of
      allocation)"; `remora attach PID --json h.byprod` (which reads the
      tables before it detaches) gives that whole-heap table too;
      where remora cannot read the tables, one line says why: 3.8-3.11
      without symbols (the tables are static variables);
GIVEN the same program with tracemalloc not started,
THEN  byprod says in one line that tracemalloc is not tracing.
"""

import json
import os
import signal
import subprocess

import harness
from harness import Target, TargetError

GDB_SCRIPT = os.path.join(harness.HERE, "gdb_prod.py")
REMORA = os.path.join(harness.TOP_BUILDDIR, "remora")
HEADER = "Producer (line of allocation)"


def run_gdb(it, wdir, target, core=None):
    out = os.path.join(wdir, "prod-%s.json" % ("core" if core else "live"))
    return harness.run_gdb_script(GDB_SCRIPT, it, target, out, core)


def expected_refusal(it):
    """The words of the one line byprod must say for it, or None."""
    if it.version < (3, 12) and not it.debug_info:
        return "hides tracemalloc's tables"
    return None


def check(tap, name, it, facts, g, res):
    if not tap.ok("%s: gdb ran its commands" % name, g.ok() and res.get("ok"),
                  lambda: "%s\n%s" % (res.get("error"), g.report())):
        return
    refusal = expected_refusal(it) if facts["tracing"] else "tracemalloc is not tracing"
    if refusal is not None:
        msg = res.get("message") or ""
        tap.ok("%s: byprod says in one line: ...%s..." % (name, refusal),
               refusal in msg and msg.startswith("remora: byprod:") and "\n" not in msg.strip(),
               repr(msg or res.get("table")))
        return
    part = res.get("set") or {}
    got = {r["label"]: [r["count"], r["size"]] for r in part.get("rows", [])}
    tap.equal("%s: byprod of the target's objects: its own counts and sizes, line by line"
              % name, got, facts["want"], res.get("message"))
    tap.equal("%s: the header is heapy's" % name, part.get("kind_header"), HEADER)
    heap = {r["label"]: r for r in (res.get("heap") or {}).get("rows", [])}
    short = [lb for lb, (count, size) in facts["want"].items()
             if lb != "<unknown>" and (lb not in heap or heap[lb]["count"] < count
                                       or heap[lb]["size"] < size)]
    tap.ok("%s: h.byprod has each of those lines with at least as much" % name,
           not short, "short: %s\n%s" % (short, res.get("table", "")[:2000]))


def run_target(tap, it, wdir, mode):
    name = "byprod %s%s" % (it.name, "" if mode is None else " (tracemalloc off)")
    args = () if mode is None else (mode,)
    with Target.python(it, "prod_target.py", wdir, *args) as target:
        try:
            target.wait_ready()
        except TargetError as exc:
            tap.fail("%s: target starts and writes its facts" % name, str(exc))
            return
        facts = target.json("facts.json")
        pages_before = harness.anon_pages(target.pid)
        g, res = run_gdb(it, wdir, target)
        check(tap, name, it, facts, g, res)
        # byprod reads tracemalloc's tables through 64 KiB blocks
        new_zero = harness.zero_pages(target.pid, harness.anon_pages(target.pid) - pages_before)
        tap.ok("%s: no page of zeros was made resident in the target (pagemap)" % name,
               not new_zero, "%d pages, the first at %s" % (
                   len(new_zero), ", ".join("0x%x" % p for p in new_zero[:8])))
        if mode is None and res.get("heap") and not it.root:
            # the command reads the tables before it lets the process go
            r = subprocess.run([REMORA, "attach", str(target.pid), "--json", "h.byprod"],
                               capture_output=True, text=True, timeout=300,
                               env=harness.gdb_env())
            try:
                rows = json.loads(r.stdout)["rows"]
            except (ValueError, KeyError, TypeError):
                rows = None
            tap.equal("%s: remora attach PID h.byprod gives the table py-heap gave" % name,
                      rows, res["heap"]["rows"], r.stderr[-2000:])
        core = os.path.join(wdir, "prod.core")
        if mode is None:
            harness.run_gdb(["gcore " + core, "detach"], pid=target.pid, load_remora=False)
            if tap.ok("%s: gcore made a core" % name, os.path.exists(core)):
                g, res = run_gdb(it, wdir, target, core)
                check(tap, name + " (core)", it, facts, g, res)
                os.unlink(core)
        target.send(signal.SIGUSR1)
        tap.equal("%s: target exits 0 after detach" % name, target.wait_exit(60), 0,
                  target.output())


def check_interpreter(tap, it):
    wdir = harness.workdir("prod", it.name)
    run_target(tap, it, wdir, None)
    run_target(tap, it, harness.workdir("prod-off", it.name), "off")


def main():
    return harness.run_per_interpreter("test_prod", "prod", check_interpreter)


if __name__ == "__main__":
    raise SystemExit(main())
