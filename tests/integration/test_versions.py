"""test_versions.py — a CPython remora cannot read says so in one line,
naming its version (issue 10).

For every CPython under ~/.pyenv/versions (2.7, 3.6 to 3.10 on these
machines) and in the unstable root tests/pythons/build makes whose major.minor remora does not read,
GIVEN a live process of it (time.sleep in the main thread),
WHEN  py-heap runs,
THEN  it prints exactly one line, "remora: CPython X.Y is not supported
      (...)" — "not supported yet" from 3.8 on, naming the switch that
      reads 3.8-3.10 experimentally — with X.Y as the interpreter itself
      reports it, and the process goes on.
Versions remora reads are tested by every other test.
"""

import glob
import os
import re
import subprocess

import harness
from harness import Tap, Target

READ = ((3, 11), (3, 12), (3, 13), (3, 14), (3, 15))


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


def main():
    tap = Tap("test_versions")
    found = 0
    for exe, root in pythons():
        r = subprocess.run(argv(exe, root, "-c",
                                "import sys; sys.stdout.write('%d %d' % sys.version_info[:2])"),
                           capture_output=True, text=True, timeout=60)
        version = tuple(int(x) for x in r.stdout.split() if x.isdigit())
        if len(version) != 2:
            tap.diag("%s does not run: %s" % (exe, r.stderr.strip()))
            continue
        if version in READ:
            continue
        found += 1
        name = "CPython %d.%d (%s)" % (version + (exe,))
        wdir = harness.workdir("versions", "%d.%d" % version)
        with Target(argv(exe, root, "-c", "import time\nwhile True: time.sleep(0.2)"),
                    wdir) as target:
            g = harness.run_gdb(harness.marked("py-heap", "py-heap") + ["detach"],
                                pid=target.pid)
            lines = [ln for ln in (g.section("py-heap") or "").splitlines() if ln.strip()]
            # 3.8-3.10 (read behind REMORA_EXPERIMENTAL_OLD) say how
            want = re.compile(r"^remora: CPython %d\.%d is not supported%s \(.+ are%s\)$"
                              % (version + (" yet" if version >= (3, 8) else "",
                                            "; REMORA_EXPERIMENTAL_OLD=1 tries it"
                                            if version >= (3, 8) else "")))
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
