"""test_install.py — `make install` puts remora where gdb loads it by itself.

GIVEN a built tree,
WHEN  `make install DESTDIR=...` runs,
THEN  libremora.so and remora-agent.so land in one directory, the package
      lands in gdb's Python directory with paths.py pointing at that
      directory (without DESTDIR), gdb/command/remora.py beside it, and
      `make uninstall DESTDIR=...` removes every file again.
GIVEN an install into a scratch prefix whose gdb Python directory is a copy
      of the system gdb data directory (symlinks) plus remora,
WHEN  gdb starts with that data directory and no `source` command, free
      to write Python bytecode (PYTHONDONTWRITEBYTECODE empty),
THEN  `py-heap` exists, remora.paths names the installed libraries,
      `py-heap` on a Python process prints a partition, and gdb's system
      data directory gains no file (no __pycache__ of remora's or gdb's).
"""

import os
import re
import shutil
import signal
import subprocess

import harness
from harness import Tap, Target, TargetError

MAKE = os.environ.get("MAKE") or "make"


def make(*args):
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    r = subprocess.run([MAKE, "-C", harness.TOP_BUILDDIR] + list(args), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=600)
    return r.returncode, r.stdout


def files_under(root):
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.join(d, n) for n in names]
    return sorted(out)


def destdir_install(tap, wdir):
    dest = os.path.join(wdir, "destdir")
    rc, log = make("install", "DESTDIR=" + dest)
    if not tap.ok("install: make install DESTDIR=... succeeds", rc == 0, log):
        return
    files = files_under(dest)
    listing = "\n".join(os.path.relpath(f, dest) for f in files)
    engines = [f for f in files if os.path.basename(f) == "libremora.so"]
    agents = [f for f in files if os.path.basename(f) == "remora-agent.so"]
    tap.ok("install: libremora.so and remora-agent.so in one directory",
           len(engines) == 1 and len(agents) == 1
           and os.path.dirname(engines[0]) == os.path.dirname(agents[0]), listing)
    pkgs = [f for f in files if f.endswith(os.path.join("remora", "paths.py"))]
    if not tap.ok("install: package installed (remora/paths.py)", len(pkgs) == 1, listing):
        return
    pkgdir = os.path.dirname(pkgs[0])
    pydir = os.path.dirname(pkgdir)
    tap.ok("install: remora/__init__.py installed",
           os.path.exists(os.path.join(pkgdir, "__init__.py")), listing)
    tap.ok("install: gdb/command/remora.py beside the package (gdb auto-imports it)",
           os.path.exists(os.path.join(pydir, "gdb", "command", "remora.py")), listing)
    with open(pkgs[0]) as f:
        m = re.search(r"^_PKGLIBDIR = '([^']*)'$", f.read(), re.M)
    if engines:
        want = "/" + os.path.relpath(os.path.dirname(engines[0]), dest)
        tap.equal("install: paths.py names the install directory, without DESTDIR",
                  m.group(1) if m else None, want)
    tap.ok("install: the remora command in bindir, executable",
           any(f.endswith(os.path.join("bin", "remora")) and os.access(f, os.X_OK)
               for f in files), listing)
    tap.ok("install: its manual, man1/remora.1",
           any(f.endswith(os.path.join("man1", "remora.1")) for f in files), listing)
    rc, log = make("uninstall", "DESTDIR=" + dest)
    tap.ok("install: make uninstall DESTDIR=... succeeds", rc == 0, log)
    left = files_under(dest)
    tap.ok("install: uninstall leaves no file behind", not left,
           "\n".join(os.path.relpath(f, dest) for f in left))


def fake_data_directory(wdir):
    """(a gdb data directory, the system one): the system one by
    symlinks, but for a copy of its python/ directory (without
    __pycache__) to install into, where gdb writes what bytecode it
    writes: through a symlinked directory it would land in the system's.
    """
    r = subprocess.run([harness.GDB, "-nx", "-batch", "-ex", "python print(gdb.PYTHONDIR)"],
                       capture_output=True, text=True, timeout=60, env=harness.gdb_env())
    sys_python = r.stdout.strip().splitlines()[-1]
    sys_data = os.path.dirname(sys_python)
    fake = os.path.join(wdir, "gdb-data")
    os.makedirs(fake)
    for name in os.listdir(sys_data):
        if name == os.path.basename(sys_python):
            shutil.copytree(sys_python, os.path.join(fake, name), symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            os.symlink(os.path.join(sys_data, name), os.path.join(fake, name))
    return fake, sys_data


# gdb as a user runs it: free to write bytecode next to what it imports
WRITES_BYTECODE = {"REMORA_LIBDIR": "", "PYTHONDONTWRITEBYTECODE": ""}


def prefix_install(tap, wdir):
    prefix = os.path.join(wdir, "prefix")
    fake, sys_data = fake_data_directory(wdir)
    sys_files = set(files_under(sys_data))
    pydir = os.path.join(fake, "python")
    rc, log = make("install", "prefix=" + prefix, "gdbpythondir=" + pydir)
    if not tap.ok("installed: make install prefix=... gdbpythondir=... succeeds", rc == 0, log):
        return
    libdir = os.path.join(prefix, "lib", "remora")
    g = harness.run_gdb(
        ["python import remora.paths as p; print('ENGINE=' + p.engine_library()); "
         "print('AGENT=' + p.agent_library())"] + harness.marked("help", "help py-heap"),
        load_remora=False, args=["-data-directory", fake], env=WRITES_BYTECODE)
    tap.ok("installed: every gdb command succeeded", g.ok(), g.report)
    engine = re.search(r"^ENGINE=(.*)$", g.out, re.M)
    agent = re.search(r"^AGENT=(.*)$", g.out, re.M)
    tap.equal("installed: remora.paths.engine_library() is the installed one",
              engine and engine.group(1), os.path.join(libdir, "libremora.so"), g.report)
    tap.equal("installed: remora.paths.agent_library() is the installed one",
              agent and agent.group(1), os.path.join(libdir, "remora-agent.so"), g.report)
    tap.ok("installed: both libraries exist",
           all(os.path.exists(os.path.join(libdir, n))
               for n in ("libremora.so", "remora-agent.so")), g.report)
    helptext = g.section("help") or ""
    tap.ok("installed: gdb knows py-heap without `source`",
           helptext.strip() and "Undefined command" not in helptext, g.report)

    debian = [it for it in harness.interpreters() if it.name == "debian-3.11"]
    if not debian or debian[0].skip:
        tap.skip("installed: py-heap on a Python process",
                 debian[0].skip if debian else "no debian-3.11 interpreter")
    else:
        twdir = harness.workdir("installed", "debian-3.11")
        with Target.python(debian[0], "unchanged_target.py", twdir) as target:
            try:
                target.wait_ready()
            except TargetError as exc:
                tap.fail("installed: py-heap on a Python process", str(exc))
            else:
                g = harness.run_gdb(harness.marked("py-heap", "py-heap") + ["detach"],
                                    pid=target.pid, load_remora=False,
                                    args=["-data-directory", fake],
                                    env=WRITES_BYTECODE)
                tap.ok("installed: py-heap on a Python process prints a partition",
                       g.ok() and "Partition of a set of" in (g.section("py-heap") or ""),
                       g.report)
                # the installed command, its gdb given the data directory
                # where the package was installed
                wrapper = os.path.join(wdir, "gdb-with-data")
                with open(wrapper, "w") as f:
                    f.write('#!/bin/sh\nexec %s -data-directory %s "$@"\n'
                            % (harness.GDB, fake))
                os.chmod(wrapper, 0o755)
                r = subprocess.run([os.path.join(prefix, "bin", "remora"), "attach",
                                    str(target.pid)], capture_output=True, text=True,
                                   timeout=300, env=dict(harness.gdb_env(WRITES_BYTECODE),
                                                         REMORA_GDB=wrapper))
                tap.ok("installed: `remora attach PID` prints a partition",
                       r.returncode == 0 and r.stdout.startswith("Partition of a set of"),
                       "exit %s\n%s%s" % (r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
                target.send(signal.SIGUSR1)
                tap.equal("installed: target exits 0 after detach",
                          target.wait_exit(60), 0, target.output)
    rc, log = make("uninstall", "prefix=" + prefix, "gdbpythondir=" + pydir)
    tap.ok("installed: make uninstall succeeds", rc == 0, log)
    gained = sorted(set(files_under(sys_data)) - sys_files)
    tap.ok("installed: gdb's system data directory %s gains no file" % sys_data,
           not gained, "\n".join(gained))


def main():
    tap = Tap("test_install")
    wdir = harness.workdir("install", "tree")
    for step in (destdir_install, prefix_install):
        harness.guarded(tap, step.__name__, step, tap, wdir)
    shutil.rmtree(wdir, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
