"""test_core.py — a core dump gives the snapshot the live process gave
(issue 3, postmortem capture; DESIGN.md invariant 5).

For each interpreter:
GIVEN targets/census_target.py stopped, captured from outside
      (/proc/PID/mem) and then dumped with gcore, without running between,
WHEN  a new gdb opens the interpreter with that core and captures it
      (py-heap on a core),
THEN  the core's snapshot equals the live one exactly — the same objects,
      types and their names (read from the files the core's NT_FILE note
      names: gcore leaves read-only file mappings out), sizes, references
      and roots — and, independently of remora's other readers, every
      object of the target's own census is in it at its getsizeof size,
      bar those only C state holds (objects an injected capture of the
      same state finds and the outside one does not, as test_outside.py
      explains); `py-heap` prints the partition with no traceback.
And once (Debian's python3.11, or the first interpreter found):
GIVEN a core made while the interpreter was finalizing,
THEN  py-heap says so in one line and prints what is left.
GIVEN that core truncated to half its size (gcore writes its notes last,
      so gdb cannot open it),
THEN  py-heap prints one line saying gdb could not open the core file and
      why (remora's core reader: the note segment is cut short), no
      traceback, and gdb survives.
GIVEN a core of a process that is not Python (/bin/sleep),
THEN  py-heap prints one line saying it is not running CPython.
GIVEN a core of a process that ran a copy of libpython since deleted
      (the first interpreter with a shared libpython),
THEN  py-heap prints one line naming the missing file.
GIVEN a core opened with another build of its libpython in its place
      (`set sysroot`; where a second build with the same name exists),
THEN  py-heap refuses in one line naming both build-ids.
GIVEN each interpreter's core opened with the executable of each
      interpreter of another version (a 3.12 core with python3.11, ...),
THEN  where either program has the interpreter linked in (so gdb reads
      another interpreter's symbols, or none), py-heap says in one line
      that the core was made by its own program, naming it and the
      executable gdb was given; where both load a shared libpython (gdb
      then takes the core's own libpython), py-heap prints the partition.
"""

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import time

import harness
import snapread
from harness import Tap, Target, TargetError

HERE = harness.HERE
NO_TRACEBACK = ("Traceback", "Python Exception", "Error occurred in Python")


def one_line(tap, name, g, section, pattern):
    """py-heap (run between the markers of section) failed with exactly one
    line, which matches the regex pattern; nothing else failed."""
    text = g.section(section) or ""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    tap.ok("%s: py-heap prints one line: %r" % (name, lines[:1]),
           len(lines) == 1 and re.search(pattern, lines[0]) is not None,
           lambda: "want one line matching %r, printed %d lines:\n%s\n%s"
           % (pattern, len(lines), text, g.report()))
    tap.ok("%s: gdb ran to its end and only py-heap failed" % name,
           g.ok(may_fail=("py-heap",)) and [f["command"] for f in g.failed] == ["py-heap"],
           g.report)
    tap.ok("%s: no Python traceback" % name,
           not any(s in g.out for s in NO_TRACEBACK), g.report)


def run(tap, it, first, cores):
    name = "core %s" % it.name
    wdir = harness.workdir("core", it.name)
    env = {"REMORA_CORE_DIR": wdir}
    with Target.python(it, "census_target.py", wdir) as target:
        if not harness.target_started(tap, name, target):
            return
        g = harness.run_gdb(["source " + os.path.join(HERE, "gdb_core_live.py"), "detach"],
                            pid=target.pid, env=env)
        live = harness.load_json(os.path.join(wdir, "live.json"))
        tap.ok("%s: every gdb command succeeded on the live target" % name, g.ok(), g.report)
        if not tap.ok("%s: live captures and gcore" % name, live.get("ok"),
                      lambda: "%s\n%s" % (live.get("error"), g.report())):
            return
        with open(target.path("census.json")) as f:
            census = json.load(f)["objects"]
        target.send(signal.SIGUSR1)
        tap.equal("%s: target exits 0" % name, target.wait_exit(60), 0, target.output)
        gone = harness.census_gone(target)

    core = os.path.join(wdir, "target.core")
    if os.path.exists(core):
        cores.append((it, core))
    g = harness.run_gdb(["source " + os.path.join(HERE, "gdb_core_dead.py")]
                        + harness.marked("py-heap", "py-heap"),
                        args=[it.path, core], env=env)
    dead = harness.load_json(os.path.join(wdir, "dead.json"))
    tap.ok("%s: every gdb command succeeded on the core" % name, g.ok(), g.report)
    if not tap.ok("%s: capture from the core" % name, dead.get("ok"),
                  lambda: "%s\n%s" % (dead.get("error"), g.report())):
        return
    text = g.section("py-heap") or ""
    tap.ok("%s: py-heap on the core prints the partition" % name,
           "Partition of a set of" in text and not any(s in g.out for s in NO_TRACEBACK),
           g.report)
    a = snapread.Snapshot(os.path.join(wdir, "outside.remora"))
    b = snapread.Snapshot(os.path.join(wdir, "core.remora"))
    tap.ok("%s: same objects, types and sizes as live (%d)" % (name, len(a.nodes)),
           a.nodes == b.nodes,
           lambda: "live %d, core %d, only live %d, only core %d" % (
               len(a.nodes), len(b.nodes), len(set(a.nodes) - set(b.nodes)),
               len(set(b.nodes) - set(a.nodes))))
    diff = [x for x in a.nodes if x in b.nodes and
            collections.Counter(a.edges[x]) != collections.Counter(b.edges[x])]
    tap.equal("%s: same references as live" % name, len(diff), 0,
              lambda: "first: %r" % [(hex(x), a.type_name(x)) for x in diff[:10]])
    tap.equal("%s: same roots as live" % name, sorted(b.roots), sorted(a.roots))
    # gcore leaves read-only file mappings (libpython's .rodata, where
    # static types keep their names) out of the core: the names come
    # from the files on disk that NT_FILE points to
    tap.equal("%s: same type names as live (%d types)" % (name, len(a.types)),
              b.types, a.types)
    tap.ok("%s: the core's snapshot is not partial" % name, b.flags & 1 == 0)
    inj = snapread.Snapshot(os.path.join(wdir, "injected.remora"))
    c_state_only = set(inj.nodes) - set(a.nodes)
    missing = [(hex(x), t) for x, t, _s in census
               if x not in b.nodes and x not in c_state_only and (x, t) not in gone]
    tap.equal("%s: every census object is in the core's snapshot, bar %d held only "
              "through C state and %d the target says went before the capture (%d listed)"
              % (name, len(c_state_only), len(gone), len(census)),
              len(missing), 0, lambda: "missing (first 20): %r" % missing[:20])
    sized = [(t, s, b.nodes[x][1]) for x, t, s in census
             if x in b.nodes and b.nodes[x][1] != s]
    tap.equal("%s: census sizes equal getsizeof" % name, len(sized), 0,
              lambda: "first: %r" % sized[:10])

    if not first:
        return
    finalizing_core(tap, it)
    half = os.path.join(wdir, "truncated.core")
    with open(core, "rb") as src, open(half, "wb") as dst:
        dst.write(src.read(os.path.getsize(core) // 2))
    g = harness.run_gdb(harness.marked("py-heap", "py-heap"), args=[it.path, half])
    one_line(tap, "truncated core (%s)" % it.name, g, "py-heap",
             r"^remora: gdb could not open the core file %s: truncated core: the note "
             r"segment at 0x[0-9a-f]+ extends past the end of the file" % re.escape(half))


def shared_libpython(it):
    """The interpreter's shared libpython, or None if it is linked in."""
    lib = harness._libpython_of(it.path, it.env)
    return lib if lib and os.path.realpath(lib) != os.path.realpath(it.path) else None


def missing_libpython(tap, it):
    """GIVEN a core of a process that ran a copy of libpython since
    deleted, WHEN py-heap runs on it, THEN one line names the missing
    interpreter file."""
    name = "core without its libpython (%s)" % it.name
    lib = shared_libpython(it)
    if not lib:
        tap.skip(name, "%s has no shared libpython" % it.path)
        return
    wdir = harness.workdir("core", it.name + "-nolib")
    copy_dir = os.path.join(wdir, "lib")
    os.makedirs(copy_dir, exist_ok=True)
    copy = os.path.join(copy_dir, os.path.basename(lib))
    shutil.copy(lib, copy)
    core = os.path.join(wdir, "nolib.core")
    home = os.path.dirname(os.path.dirname(os.path.realpath(it.path)))
    # LD_LIBRARY_PATH wins over RUNPATH: the process maps the copy
    with Target.python(it, "census_target.py", wdir,
                       env={"LD_LIBRARY_PATH": copy_dir, "PYTHONHOME": home}) as target:
        if not harness.target_started(tap, name, target):
            return
        harness.run_gdb(["gcore " + core, "detach"], pid=target.pid, load_remora=False)
        target.send(signal.SIGUSR1)
        target.wait_exit(60)
    os.unlink(copy)
    if not tap.ok("%s: gcore made it" % name, os.path.exists(core)):
        return
    g = harness.run_gdb(harness.marked("py-heap", "py-heap"), args=[it.path, core])
    one_line(tap, name, g, "py-heap", r"^remora: the core's interpreter %s is not on this "
             r"machine" % re.escape(copy))


def finalizing_core(tap, it):
    """GIVEN a core of a process stopped inside Py_Finalize (a __del__ run
    while modules are cleared), WHEN py-heap runs on it, THEN it says the
    interpreter was finalizing and prints what is left, no traceback."""
    name = "core made while finalizing (%s)" % it.name
    wdir = harness.workdir("core", it.name + "-final")
    core = os.path.join(wdir, "final.core")
    with Target.python(it, "finalizing_target.py", wdir) as target:
        try:
            target.wait_ready()
        except TargetError as exc:
            tap.fail("%s: target reaches finalization" % name, str(exc))
            return
        harness.run_gdb(["gcore " + core, "detach"], pid=target.pid, load_remora=False)
    if not tap.ok("%s: gcore made it" % name, os.path.exists(core)):
        return
    g = harness.run_gdb(harness.marked("py-heap", "py-heap"), args=[it.path, core])
    text = g.section("py-heap") or ""
    tap.ok("%s: every gdb command succeeded" % name, g.ok(), g.report)
    tap.ok("%s: py-heap says the interpreter was finalizing" % name,
           "remora: the interpreter is finalizing" in text, g.report)
    tap.ok("%s: and prints what is left" % name,
           "Partition of a set of" in text and
           not any(s in g.out for s in NO_TRACEBACK), g.report)


def other_libpython(lib):
    """Another build of the same libpython (same file name), or None."""
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib", "/usr/local/lib"):
        cand = os.path.join(d, os.path.basename(lib))
        if os.path.exists(cand) and os.path.realpath(cand) != os.path.realpath(lib):
            return cand
    return None


def mismatched_libpython(tap, it, lib, other):
    """GIVEN a core of a process running lib, and a sysroot in which lib's
    path holds another build of it (other), WHEN py-heap runs on the core,
    THEN it refuses in one line naming both build-ids."""
    name = "core with another libpython (%s)" % it.name
    wdir = harness.workdir("core", it.name + "-otherlib")
    core = os.path.join(wdir, "c.core")
    with Target.python(it, "census_target.py", wdir) as target:
        if not harness.target_started(tap, name, target):
            return
        harness.run_gdb(["gcore " + core, "detach"], pid=target.pid, load_remora=False)
    root = os.path.join(wdir, "sysroot")
    fake = root + os.path.realpath(lib)
    os.makedirs(os.path.dirname(fake), exist_ok=True)
    shutil.copy(other, fake)
    if lib != os.path.realpath(lib):
        os.makedirs(os.path.dirname(root + lib), exist_ok=True)
        if not os.path.exists(root + lib):
            shutil.copy(other, root + lib)
    g = harness.run_gdb(["set sysroot " + root] + harness.marked("py-heap", "py-heap"),
                        args=[it.path, core])
    one_line(tap, name, g, "py-heap", r"^remora: .*build-id mismatch.*: the interpreter "
             r"the core ran is not this one$")


def python_version(it):
    """(major, minor) of an interpreter, as it says."""
    out = subprocess.run([it.path, "-c", "import sys; print(*sys.version_info[:2])"],
                         capture_output=True, text=True, timeout=60).stdout.split()
    return tuple(int(x) for x in out)


def other_executable(tap, it, core, other):
    """GIVEN it's core, WHEN gdb opens it with other's executable (another
    version) and py-heap runs, THEN one line says the core was made by
    it's program, not by the executable gdb was given, naming both;
    unless gdb found the core's own libpython through the executable it
    was given (both load one, and the other executable leads gdb to the
    core's list of libraries): then py-heap prints the partition."""
    name = "%s core with %s's executable" % (it.name, other.name)
    g = harness.run_gdb(harness.marked("libs", "info sharedlibrary")
                        + harness.marked("py-heap", "py-heap"), args=[other.path, core])
    own = shared_libpython(it)
    if own and shared_libpython(other) and os.path.basename(own) in (g.section("libs") or ""):
        text = g.section("py-heap") or ""
        tap.ok("%s: gdb read the core's libpython: py-heap prints the partition" % name,
               g.ok() and text.startswith("Partition of a set of")
               and not any(x in g.out for x in NO_TRACEBACK), g.report)
        return
    pattern = (r"^remora: the core was made by (/\S+), not by (/\S+), the executable "
               r"gdb was given")
    one_line(tap, name, g, "py-heap", pattern)
    m = re.search(pattern, g.section("py-heap") or "", re.M)
    tap.equal("%s: the line names the core's program and gdb's executable" % name,
              m and tuple(os.path.realpath(p) for p in m.groups()),
              (os.path.realpath(it.path), os.path.realpath(other.path)), g.report)


def not_python_core(tap):
    name = "core of /bin/sleep"
    sleep = shutil.which("sleep") or "/bin/sleep"
    wdir = harness.workdir("core", "sleep")
    core = os.path.join(wdir, "sleep.core")
    with Target([sleep, "600"], wdir) as target:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.realpath(
                "/proc/%d/exe" % target.pid) != os.path.realpath(sleep):
            time.sleep(0.05)
        harness.run_gdb(["gcore " + core, "detach"], pid=target.pid, load_remora=False)
    if not tap.ok("%s: gcore made it" % name, os.path.exists(core)):
        return
    g = harness.run_gdb(harness.marked("py-heap", "py-heap"), args=[sleep, core])
    one_line(tap, name, g, "py-heap",
             r"^remora: this process is not running CPython \(no _PyRuntime symbol\)$")


def main():
    tap = Tap("test_core")
    interps = harness.interpreters()
    harness.report_interpreters(tap, interps)
    usable = [it for it in interps if not it.skip]
    cores = []
    harness.each_interpreter(tap, interps, "core", lambda tap, it: run(
        tap, it, bool(usable) and it is usable[0],
        cores if it in usable else []))
    versions = {it.name: harness.guarded(tap, "version of %s" % it.name, python_version, it)
                for it in usable}
    for it, core in cores:
        others = [o for o in usable if versions[o.name] != versions[it.name]]
        if not others:
            tap.skip("%s core with another version's executable" % it.name,
                     "no interpreter of another version here")
        for other in others:
            harness.guarded(tap, "%s core with %s's executable" % (it.name, other.name),
                            other_executable, tap, it, core, other)
    with_lib = [it for it in usable if shared_libpython(it)]
    if not with_lib:
        tap.skip("core without its libpython", "no interpreter here has a shared libpython")
    for it in with_lib[:1]:
        harness.guarded(tap, "core without its libpython", missing_libpython, tap, it)
    pairs = [(it, shared_libpython(it), other_libpython(shared_libpython(it)))
             for it in with_lib]
    pairs = [p for p in pairs if p[2]]
    if not pairs:
        tap.skip("core with another libpython",
                 "no second build of any shared libpython here")
    for it, lib, other in pairs[:1]:
        harness.guarded(tap, "core with another libpython", mismatched_libpython,
                        tap, it, lib, other)
    harness.guarded(tap, "core of /bin/sleep", not_python_core, tap)
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
