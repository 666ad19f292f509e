#!/usr/bin/env python3
"""test_heapy.py — the gdb package (engine binding, hpy(), heapy's tables,
py-heap) tested in gdb against hand-made snapshots; a TAP producer.

GIVEN snapshot files written by snapfile.py, WHEN heapy_checks.py runs in
`gdb -batch -nx`, THEN every check it reports passes.  This script starts
gdb, relays the checks' TAP lines and turns gdb's other output into
diagnostics.  Needs the built engine (REMORA_LIBDIR, else <builddir>/.libs).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("REMORA_TOP_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("REMORA_TOP_BUILDDIR") or TOP
GDB = os.environ.get("GDB") or shutil.which("gdb") or "gdb"
TAP = re.compile(r"^(ok|not ok) \d+|^1\.\.\d+$|^#")


def main():
    if not shutil.which(GDB) and not os.path.exists(GDB):
        print("1..0 # SKIP gdb not found")
        return 0
    work = tempfile.mkdtemp(prefix="remora-heapy-")
    # no __pycache__ from gdb (as root, into its system data directory;
    # test_install checks that directory gains no file)
    env = dict(os.environ, REMORA_TOP_SRCDIR=TOP, REMORA_WORKDIR=work,
               PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("REMORA_LIBDIR", os.path.join(BUILD, ".libs"))
    try:
        proc = subprocess.run(
            [GDB, "-batch", "-nx", "-x", os.path.join(HERE, "heapy_checks.py")],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=300, universal_newlines=True)
        output = proc.stdout
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or "") + "\nnot ok - gdb timed out\n"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    planned = False
    seen = 0
    for line in output.splitlines():
        if TAP.match(line):
            planned |= line.startswith("1..")
            seen += line.startswith(("ok", "not ok"))
            print(line)
        else:
            print("# gdb: " + line)
    if not planned:
        print("not ok %d - heapy_checks.py did not finish (see the gdb output above)"
              % (seen + 1))
        print("1..%d" % (seen + 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
