"""test_versions.py — a CPython remora cannot read says so in one line,
naming its version (issue 10).

For every CPython under ~/.pyenv/versions (2.7, 3.6 and 3.7 on these
machines) and in the unstable root tests/pythons/build makes whose
major.minor remora does not read,
GIVEN a live process of it (time.sleep in the main thread),
WHEN  py-heap runs,
THEN  it prints exactly one line, "remora: CPython X.Y is not supported
      (3.8–3.15 are)", with X.Y as the interpreter itself reports it,
      and the process goes on.
Versions remora reads are tested by every other test (free-threaded
builds among them, tests/pythons/build's 3.13t: harness.BUILT_PYTHONS);
this one also
checks, on each of 3.8-3.10 (which have no Py_Version), that the release
remora reads from the interpreter's file is the interpreter's own
sys.hexversion.
"""

import glob
import os
import re
import subprocess

import harness
from harness import Tap, Target

READ = ((3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13), (3, 14), (3, 15))


def pythons():
    """[(executable, root or None)]: pyenv's, and those of the unstable
    root tests/pythons/build makes (run chrooted there)."""
    out = []
    for d in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/*"))):
        exes = sorted(glob.glob(os.path.join(d, "bin", "python[23].[0-9]*")))
        exes = [e for e in exes if re.search(r"python\d\.\d+m?$", e)]
        if exes:
            out.append((exes[0], None))
    for exe in sorted(glob.glob(os.path.join(harness.SID_ROOT, "usr", "bin", "python3.[0-9]*"))):
        if re.search(r"python3\.\d+$", exe):
            out.append((exe, harness.SID_ROOT))
    return out


def argv(exe, root, *args):
    a = [exe] + list(args)
    return harness.in_root(root, a) if root else a


def release_read(tap, exe, root, version, hexversion):
    """3.8-3.10 keep no Py_Version: remora's version of a live process of
    exe is its sys.hexversion, from PY_VERSION in its file."""
    name = "CPython %d.%d (%s)" % (version + (exe,))
    wdir = harness.workdir("versions", "%d.%d" % version)
    with Target(argv(exe, root, "-c", "import time\nwhile True: time.sleep(0.2)"),
                wdir) as target:
        g = harness.run_gdb(harness.marked("version", "python import remora.layout as l; "
                                           "print('VERSION %#x' % l.python_version())")
                            + ["detach"], pid=target.pid)
        m = re.search(r"VERSION (0x[0-9a-f]+)", g.section("version") or "")
        tap.equal("%s: the release remora reads is sys.hexversion" % name,
                  int(m.group(1), 16) if m else None, hexversion, g.report)


def main():
    tap = Tap("test_versions")
    found = 0
    for exe, root in pythons():
        r = subprocess.run(argv(exe, root, "-c",
                                "import sys; sys.stdout.write('%d %d %d' % "
                                "(sys.version_info[:2] + (sys.hexversion,)))"),
                           capture_output=True, text=True, timeout=60)
        numbers = [int(x) for x in r.stdout.split() if x.isdigit()]
        if len(numbers) != 3:
            tap.diag("%s does not run: %s" % (exe, r.stderr.strip()))
            continue
        version, hexversion = tuple(numbers[:2]), numbers[2]
        if version in READ:
            if version < (3, 11):
                release_read(tap, exe, root, version, hexversion)
            continue
        found += 1
        name = "CPython %d.%d (%s)" % (version + (exe,))
        wdir = harness.workdir("versions", "%d.%d" % version)
        with Target(argv(exe, root, "-c", "import time\nwhile True: time.sleep(0.2)"),
                    wdir) as target:
            g = harness.run_gdb(harness.marked("py-heap", "py-heap") + ["detach"],
                                pid=target.pid)
            lines = [ln for ln in (g.section("py-heap") or "").splitlines() if ln.strip()]
            want = re.compile(r"^remora: CPython %d\.%d is not supported "
                              r"\(3\.8\u20133\.15 are\)$" % version)
            tap.ok("%s: py-heap says in one line that it is not supported" % name,
                   len(lines) == 1 and want.match(lines[0]), g.report)
            tap.ok("%s: gdb ran to its end; only py-heap failed" % name,
                   g.ok(may_fail=("py-heap",)), g.report)
            tap.ok("%s: the process goes on" % name, target.alive())
    if not found:
        tap.skip("versions remora does not read", "none installed under ~/.pyenv/versions")
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
