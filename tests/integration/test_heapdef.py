"""test_heapdef.py — heapy's NyHeapDef interface (issue 9): an extension
module that exports _NyHeapDefs_ has its types sized, traversed and
related by its own functions in an injected capture; from outside and in
cores its objects get their basic size, marked as a lower bound.

For each interpreter:
GIVEN targets/heapdef_ext.c built against the interpreter's headers
      (heapdefmod: Blob owns a malloc'd buffer getsizeof does not count
      and holds a list and a dict in C fields no traverse shows), and
      targets/heapdef_target.py holding 7 Blobs of distinctive sizes,
      which wrote the sum of their sys.getsizeof and of their buffers,
WHEN  gdb captures the live process with the agent (gdb_heapdef.py),
THEN  the Blobs' size is getsizeof + buffers (the NyHeapDef's size), with
      no lower-bound note; what they hold is referred to via '.left' and
      '->right', as their relate says (the edges their traverse gives);
WHEN  gdb reads it from outside (-no-inject), and on a gcore of it,
THEN  the size is the getsizeof sum, -json says all 7 sizes are lower
      bounds and the table ends with a line saying so;
AND   the target exits 0: its facts unchanged, the relators' reference
      counts too (relate passes each with a new reference, which the
      capture gives back).
"""

import os
import shutil
import signal
import subprocess

import harness
from harness import Target, TargetError

GDB_SCRIPT = os.path.join(harness.HERE, "gdb_heapdef.py")
SOURCE = os.path.join(harness.HERE, "targets", "heapdef_ext.c")
N_BLOBS = 7
LABELS = {"'.left'": N_BLOBS, "'->right'": N_BLOBS}


def build_module(it, wdir):
    """Builds heapdefmod for it into wdir: None, or why it cannot be."""
    argv = [it.path, "-c", "import sysconfig; print(sysconfig.get_paths()['include']); "
            "print(sysconfig.get_config_var('EXT_SUFFIX'))"]
    if it.root:
        argv = harness.in_root(it.root, argv)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, **it.env))
    words = r.stdout.split()
    if r.returncode != 0 or len(words) != 2:
        return "the interpreter did not say where its headers are: %s" % r.stderr[-300:]
    include, suffix = words
    if it.root:
        include = it.root + include
    if not os.path.exists(os.path.join(include, "Python.h")):
        return "no Python.h under %s (its headers are not installed)" % include
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not cc:
        return "no C compiler"
    # a container's Debian headers include their multiarch pyconfig.h
    # from its /usr/include: looked for after the host's own
    extra = ["-idirafter", it.root + "/usr/include"] if it.root else []
    r = subprocess.run([cc, "-shared", "-fPIC", "-O1", "-Wall", "-I", include] + extra +
                       ["-o", os.path.join(wdir, "heapdefmod" + suffix), SOURCE],
                       capture_output=True, text=True, timeout=300)
    return None if r.returncode == 0 else "the module did not build: %s" % r.stderr[-1500:]


def run_gdb(it, wdir, target, outside=False, core=None):
    out = os.path.join(wdir, "heapdef-%s.json" % ("core" if core else
                                                 "outside" if outside else "live"))
    return harness.run_gdb_script(GDB_SCRIPT, it, target, out, core,
                                  {"REMORA_TEST_OUTSIDE": "1" if outside else "0"})


def check(tap, name, facts, g, res, injected):
    if not tap.ok("%s: gdb ran its commands" % name, g.ok() and res.get("ok"),
                  lambda: "%s\n%s" % (res.get("error"), g.report())):
        return
    part = res.get("blobs") or {}
    table = res.get("table") or ""
    tap.equal("%s: the Blobs are all there" % name, part.get("count"), N_BLOBS, table)
    if injected:
        tap.equal("%s: their size is what their NyHeapDef size gives (getsizeof + buffers)"
                  % name, part.get("size"), facts["getsizeof"] + facts["buffers"], table)
        tap.ok("%s: no size is called a lower bound" % name,
               "size_lower_bound_objects" not in part and "lower bound" not in table, table)
        held = res.get("held") or {}
        got = {r["label"]: r["count"] for r in held.get("rows", [])}
        tap.equal("%s: what they hold is referred to as their relate says" % name,
                  got, LABELS, res.get("held_error"))
        return
    tap.equal("%s: their size is their basic size (getsizeof)" % name, part.get("size"),
              facts["getsizeof"], table)
    tap.equal("%s: -json says the %d sizes are lower bounds" % (name, N_BLOBS),
              part.get("size_lower_bound_objects"), N_BLOBS, part)
    last = table.strip().splitlines()[-1] if table.strip() else ""
    tap.ok("%s: the table ends saying so" % name,
           last.startswith("remora: %d objects' sizes are lower bounds" % N_BLOBS)
           and "NyHeapDef" in last, table)


def check_interpreter(tap, it):
    name = "heapdef %s" % it.name
    wdir = harness.workdir("heapdef", it.name)
    why = build_module(it, wdir)
    if why is not None:
        tap.skip("%s: the NyHeapDef module" % name, why)
        return
    with Target.python(it, "heapdef_target.py", wdir, wdir) as target:
        try:
            target.wait_ready()
        except TargetError as exc:
            tap.fail("%s: target starts and writes its facts" % name, str(exc))
            return
        facts = target.json("facts.json")
        g, res = run_gdb(it, wdir, target)
        check(tap, name, facts, g, res, injected=True)
        g, res = run_gdb(it, wdir, target, outside=True)
        check(tap, name + " (outside)", facts, g, res, injected=False)
        core = os.path.join(wdir, "heapdef.core")
        harness.run_gdb(["gcore " + core, "detach"], pid=target.pid, load_remora=False)
        if tap.ok("%s: gcore made a core" % name, os.path.exists(core)):
            g, res = run_gdb(it, wdir, target, core=core)
            check(tap, name + " (core)", facts, g, res, injected=False)
            os.unlink(core)
        target.send(signal.SIGUSR1)
        tap.equal("%s: target exits 0 after detach, its facts and the relators' "
                  "reference counts unchanged" % name, target.wait_exit(60), 0,
                  target.output())


def main():
    return harness.run_per_interpreter("test_heapdef", "heapdef", check_interpreter)


if __name__ == "__main__":
    raise SystemExit(main())
