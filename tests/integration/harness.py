"""harness.py — shared machinery of remora's integration tests.

Each tests/integration/test_*.py is run by `make check` under the system
Python 3 and prints TAP (one line per assertion and interpreter).  They use
this module to:
  * find the interpreters to test (Debian's python3.11 with python3.11-dbg,
    pyenv's 3.11.7 and 3.12.1) and say plainly which were skipped and why;
  * start a target program under one of them and wait for its ready file
    (the handshake: the target writes its facts, then creates `ready`);
  * run gdb attached to a target, always with a timeout, and keep its
    stdout/stderr for the failure report;
  * make sure no target outlives the test (atexit, SIGTERM, SIGINT, SIGHUP).

Nothing here knows remora's internals: tests reach remora the way a user
does, through `source remora.py` and `py-heap`.

Environment (set by Makefile.am; defaults work from a source checkout):
  REMORA_TOP_SRCDIR, REMORA_TOP_BUILDDIR   the trees
  GDB                                       gdb to run
  REMORA_TEST_PYTHONS   comma list of NAME=PATH replacing the default set
  REMORA_TEST_ONLY      comma list of interpreter names to keep
  REMORA_TEST_GDB_TIMEOUT  seconds for one gdb run (default 120)
"""

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

from pyheap_json import (find_row, parse_partition, row_figures, rows_summary,  # noqa: F401
                         size_of_label)

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.path.abspath(os.environ.get("REMORA_TOP_SRCDIR")
                             or os.path.join(HERE, "..", ".."))
TOP_BUILDDIR = os.path.abspath(os.environ.get("REMORA_TOP_BUILDDIR") or TOP_SRCDIR)
GDB = os.environ.get("GDB") or shutil.which("gdb") or "gdb"
if GDB == "no":
    GDB = shutil.which("gdb") or "gdb"
TARGETS = os.path.join(HERE, "targets")
REMORA_PY = os.path.join(TOP_SRCDIR, "remora.py")
GDB_TIMEOUT = float(os.environ.get("REMORA_TEST_GDB_TIMEOUT", "120"))
READY_TIMEOUT = 120.0


# --------------------------------------------------------------------- TAP

class Tap:
    """TAP producer: numbered results, plan printed at the end."""

    def __init__(self, name):
        self.name = name
        self.n = 0
        self.passed = self.failed = self.skipped = 0
        install_cleanup()
        sys.stdout.reconfigure(line_buffering=True)

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            print("# " + line)

    def ok(self, desc, cond=True, detail=None):
        self.n += 1
        desc = desc.replace("#", "\\#")
        if cond:
            self.passed += 1
            print("ok %d - %s" % (self.n, desc))
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, desc))
            if callable(detail):  # built only on failure
                detail = detail()
            if detail:
                self.diag(detail)
        return cond

    def fail(self, desc, detail=None):
        return self.ok(desc, False, detail)

    def skip(self, desc, reason):
        self.n += 1
        self.skipped += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc.replace("#", "\\#"), reason))

    def equal(self, desc, got, want, detail=None):
        """Pass when got == want; on failure say both."""
        def msg():
            d = detail() if callable(detail) else detail
            return "want %r, got %r" % (want, got) + ("\n" + d if d else "")
        return self.ok(desc, got == want, msg)

    def finish(self):
        print("1..%d" % self.n)
        self.diag("%s: %d passed, %d failed, %d skipped"
                  % (self.name, self.passed, self.failed, self.skipped))
        # with nothing failed there is nothing to look at: the work
        # directories (cores and snapshots, gigabytes over a whole run)
        # go, unless REMORA_TEST_KEEP is set; a failure keeps them all
        if not self.failed and not os.environ.get("REMORA_TEST_KEEP"):
            for d in _workdirs:
                shutil.rmtree(d, ignore_errors=True)
        return 0


# ------------------------------------------------------------ interpreters

class Interp:
    """An interpreter to test.  env: what its targets' environment adds
    (a stripped libpython's directory); gdb_args: what gdb's command line
    adds whenever it reads this interpreter's processes or cores (hiding
    the debug files); debug_info: whether gdb sees its DWARF."""

    def __init__(self, name, path, skip=None, env=None, gdb_args=(), debug_info=True,
                 root=None, attach_with_exe=False):
        self.name, self.path, self.skip = name, path, skip
        self.env, self.gdb_args, self.debug_info = dict(env or {}), list(gdb_args), debug_info
        # root: the interpreter's files live under this directory (a
        # container's); its targets run chrooted there, and path is the
        # executable as seen from here.  attach_with_exe: gdb gets the
        # executable before -p (needed with `set sysroot`)
        self.root, self.attach_with_exe = root, attach_with_exe

    def __repr__(self):
        return "Interp(%s, %s, skip=%r)" % (self.name, self.path, self.skip)

    @property
    def version(self):
        """(major, minor), asked of the interpreter itself."""
        if not hasattr(self, "_version"):
            argv = [self.path, "-c", "import sys; print(*sys.version_info[:2])"]
            if self.root:
                argv = in_root(self.root, argv)
            out = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                                 env=dict(os.environ, **self.env)).stdout.split()
            self._version = tuple(int(x) for x in out)
        return self._version

    @property
    def free_threaded(self):
        """Whether it is a free-threaded build (3.13t on: no GIL, objects
        in mimalloc's heaps, a longer object header)."""
        if not hasattr(self, "_free_threaded"):
            argv = [self.path, "-c", "import sysconfig; "
                    "print(int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))))"]
            if self.root:
                argv = in_root(self.root, argv)
            out = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                                 env=dict(os.environ, **self.env)).stdout.split()
            self._free_threaded = out == ["1"]
        return self._free_threaded


DEFAULT_PYTHONS = [
    ("debian-3.11", "/usr/bin/python3.11",
     "apt-get install python3.11 python3.11-dbg"),
    ("pyenv-3.11.7", "~/.pyenv/versions/3.11.7/bin/python3", "pyenv install 3.11.7"),
    ("pyenv-3.12.1", "~/.pyenv/versions/3.12.1/bin/python3", "pyenv install 3.12.1"),
    ("pyenv-3.13.0", "~/.pyenv/versions/3.13.0/bin/python3", "pyenv install 3.13.0"),
]
# The same interpreters without debug info, as production runs them:
# Debian's with its -dbg files hidden from gdb (the package not installed),
# pyenv's with a copy of libpython stripped by `strip --strip-all`.
NO_DEBUG_INFO = [
    ("debian-3.11-nodbg", "debian-3.11", "hide"),
    ("pyenv-3.11.7-stripped", "pyenv-3.11.7", "strip"),
    ("pyenv-3.12.1-stripped", "pyenv-3.12.1", "strip"),
    ("pyenv-3.13.0-stripped", "pyenv-3.13.0", "strip"),
]
HIDE_DEBUG_FILES = ["-iex", "set debug-file-directory /nonexistent"]
CACHE_DIR = os.path.join(os.path.expanduser("~"), ".cache", "remora")
STRIPPED_CACHE = os.path.join(CACHE_DIR, "stripped")


def stripped_libpython_dir(exe):
    """A directory holding a `strip --strip-all` copy of exe's libpython
    (made once, under ~/.cache/remora/stripped), or raise OSError."""
    lib = _libpython_of(exe)
    if os.path.realpath(lib) == os.path.realpath(exe):
        raise OSError("%s has no shared libpython to strip" % exe)
    st = os.stat(lib)
    d = os.path.join(STRIPPED_CACHE, "%s-%d-%d" % (
        os.path.basename(lib), st.st_size, int(st.st_mtime)))
    out = os.path.join(d, os.path.basename(lib))
    if not os.path.exists(out):
        os.makedirs(d, exist_ok=True)
        tmp = out + ".tmp%d" % os.getpid()
        subprocess.run(["strip", "--strip-all", "-o", tmp, lib], check=True,
                       capture_output=True)
        os.rename(tmp, out)
    return d


def _libpython_of(exe, env=None):
    """The ELF file holding the interpreter's code: libpython if shared
    (as the dynamic loader finds it with env added to the environment)."""
    try:
        out = subprocess.run(["ldd", exe], capture_output=True, text=True,
                             env=dict(os.environ, **(env or {})), timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return exe
    m = re.search(r"libpython\S*\s+=>\s+(\S+)", out)
    return m.group(1) if m else exe


def _has_debug_info(exe):
    """True if gdb can see CPython's thread-state struct for EXE."""
    elf = _libpython_of(exe)
    try:
        r = subprocess.run([GDB, "-nx", "-batch", "-ex", "ptype struct _ts", elf],
                           capture_output=True, text=True, timeout=120, env=gdb_env())
    except (OSError, subprocess.SubprocessError) as exc:
        return False, "gdb failed: %s" % exc
    if "interp" in r.stdout and "type = struct _ts" in r.stdout:
        return True, ""
    return False, "no debug symbols for %s" % elf


# CPython 3.8 to 3.10, after the others (the tests that run on "the
# first usable interpreter" keep Debian's), also with libpython stripped.
OLD_PYTHONS = [
    ("pyenv-3.8.18", "~/.pyenv/versions/3.8.18/bin/python3.8", "pyenv install 3.8.18"),
    ("pyenv-3.9.18", "~/.pyenv/versions/3.9.18/bin/python3.9", "pyenv install 3.9.18"),
    ("pyenv-3.10.13", "~/.pyenv/versions/3.10.13/bin/python3.10", "pyenv install 3.10.13"),
]
OLD_NO_DEBUG_INFO = [(name + "-stripped", name, "strip") for name, _path, _how in OLD_PYTHONS]


def _with_stripped(cands, variants, only):
    """cands, then their variants without debug info (variants: as
    _without_debug_info's) unless REMORA_TEST_NO_DEBUG_INFO=0."""
    found = _candidates(cands, only)
    if os.environ.get("REMORA_TEST_NO_DEBUG_INFO", "1") != "0":
        found += _without_debug_info(found, only, variants)
    return found


# CPython 3.13.5 built from trixie's source package by tests/pythons/build
# (shared libpython, debug info; with Debian's patches, gh-130327's among
# them): a 3.13 patch release beside pyenv's 3.13.0, and its free-threaded
# twin (no GIL, objects in mimalloc's heaps), each also stripped.
BUILT_PYTHONS = [
    ("built-3.13.5", os.path.join(CACHE_DIR, "pythons", "3.13.5", "bin", "python3.13"),
     "tests/pythons/build ft"),
    ("built-3.13.5t", os.path.join(CACHE_DIR, "pythons", "3.13.5t", "bin", "python3.13t"),
     "tests/pythons/build ft"),
]
BUILT_NO_DEBUG_INFO = [(name + "-stripped", name, "strip") for name, _p, _h in BUILT_PYTHONS]



def _candidates(cands, only, gdb_args=()):
    """An Interp for each (name, path, how to install it) of cands."""
    found = []
    for name, path, how in cands:
        path = os.path.expanduser(path)
        if only and name not in only:
            found.append(Interp(name, path, "not selected (REMORA_TEST_ONLY)"))
        elif not os.access(path, os.X_OK):
            found.append(Interp(name, path, "not installed: %s%s"
                                % (path, " (%s)" % how if how else "")))
        else:
            ok, why = _has_debug_info(path)
            found.append(Interp(name, path, None if ok else "%s%s" % (
                why, " (%s)" % how if how else ""), gdb_args=gdb_args))
    return found


def interpreters():
    """The interpreters to test, each with .skip set if it cannot be."""
    spec = os.environ.get("REMORA_TEST_PYTHONS")
    if spec:
        cands = [(kv.split("=", 1)[0], kv.split("=", 1)[1], "")
                 for kv in spec.split(",") if "=" in kv]
    else:
        cands = DEFAULT_PYTHONS
    only = [s for s in os.environ.get("REMORA_TEST_ONLY", "").split(",") if s]
    found = _candidates(cands, only)
    if not spec and os.environ.get("REMORA_TEST_NO_DEBUG_INFO", "1") != "0":
        found += _without_debug_info(found, only)
    if not spec:
        found += _rooted(only)
    if not spec:
        found += _with_stripped(OLD_PYTHONS, OLD_NO_DEBUG_INFO, only)
        found += _with_stripped(BUILT_PYTHONS, BUILT_NO_DEBUG_INFO, only)
    return found


# Debian unstable's CPythons, in the root tests/pythons/build makes: run
# chrooted there, as in a container.  gdb gets the executable under the
# root and `set sysroot` (so that its own view of libc is right for the
# tests' breakpoints); with debug info the -dbg files are found under the
# sysroot, without they are hidden.  test_hostile also attaches with
# nothing but the pid, as a user would to a container's process.
SID_ROOT = os.path.join(os.path.expanduser("~"), ".cache", "remora", "roots", "sid")
ROOTED_PYTHONS = [("sid-3.14", "3.14"), ("sid-3.15", "3.15")]


def _rooted(only):
    out = []
    for name, version in ROOTED_PYTHONS:
        exe = os.path.join(SID_ROOT, "usr", "bin", "python" + version)
        for variant, dbg in ((name, True), (name + "-nodbg", False)):
            if only and variant not in only:
                out.append(Interp(variant, exe, "not selected (REMORA_TEST_ONLY)"))
            elif not os.access(exe, os.X_OK):
                out.append(Interp(variant, exe, "not installed: %s (tests/pythons/build sid)"
                                  % exe))
            elif dbg:
                out.append(Interp(variant, exe, gdb_args=["-iex", "set sysroot " + SID_ROOT],
                                  root=SID_ROOT, attach_with_exe=True))
            else:
                out.append(Interp(variant, exe, gdb_args=["-iex", "set sysroot " + SID_ROOT]
                                  + HIDE_DEBUG_FILES, debug_info=False, root=SID_ROOT,
                                  attach_with_exe=True))
    return out


def _without_debug_info(found, only, variants=NO_DEBUG_INFO, gdb_args=()):
    """The variants (name, base name, "hide" | "strip") of found's
    interpreters without debug info; gdb_args for each gdb."""
    out = []
    by_name = {it.name: it for it in found}
    for name, base_name, how in variants:
        base = by_name.get(base_name)
        if only and name not in only:
            out.append(Interp(name, "", "not selected (REMORA_TEST_ONLY)"))
            continue
        if base is None or not os.access(base.path, os.X_OK):
            out.append(Interp(name, "", "%s is not installed" % base_name))
            continue
        if how == "hide":
            out.append(Interp(name, base.path, gdb_args=list(gdb_args) + HIDE_DEBUG_FILES,
                              debug_info=False))
            continue
        try:
            d = stripped_libpython_dir(base.path)
        except (OSError, subprocess.SubprocessError) as exc:
            out.append(Interp(name, base.path, "cannot strip its libpython: %s" % exc))
            continue
        out.append(Interp(name, base.path, env={"LD_LIBRARY_PATH": d}, debug_info=False,
                          gdb_args=gdb_args))
    return out


def target_started(tap, name, target, timeout=READY_TIMEOUT):
    """Waits for target's `ready`; False, with "NAME: target starts"
    failed and why, if it never came."""
    try:
        target.wait_ready(timeout=timeout)
    except TargetError as exc:
        tap.fail("%s: target starts" % name, str(exc))
        return False
    return True


def census_gone(target):
    """{(address, type)} of the census (targets/census_target.py) objects
    that, by the target's own count after the capture, had gone: read
    once the target has exited 0 (gone.json)."""
    try:
        with open(target.path("gone.json")) as f:
            return {(a, t) for a, t in json.load(f)}
    except (OSError, ValueError):
        return set()


def report_interpreters(tap, interps):
    """Say which interpreters run and which are skipped, and why; a run
    that could test none fails rather than passing vacuously."""
    for it in interps:
        if it.skip:
            tap.diag("interpreter %s SKIPPED: %s" % (it.name, it.skip))
        else:
            how = ""
            if it.root:
                how = " (chrooted in %s; gdb %s)" % (it.root, " ".join(it.gdb_args))
            elif not it.debug_info:
                how = (" (libpython stripped: LD_LIBRARY_PATH=%s)" % it.env["LD_LIBRARY_PATH"]
                       if "LD_LIBRARY_PATH" in it.env else " (gdb %s)" % " ".join(it.gdb_args))
            tap.diag("interpreter %s: %s%s" % (it.name, it.path, how))
    if all(it.skip for it in interps):
        tap.fail("%s: at least one interpreter to test" % tap.name,
                 "every interpreter was skipped (scripts/install-deps installs "
                 "python3.11 and python3.11-dbg)")


# ----------------------------------------------------------------- targets

_live = set()       # Targets not yet reaped
_live_gdbs = set()  # gdb processes still running (each in its own session)


def _kill_all():
    for p in list(_live_gdbs):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    for t in list(_live):
        t.kill()


def _on_signal(signum, frame):
    _kill_all()
    sys.stdout.flush()
    os._exit(128 + signum)


def install_cleanup():
    """Kill every live target when this test exits or is killed."""
    atexit.register(_kill_all)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)


_workdirs = []   # made by workdir() in this test's process


def workdir(test, interp_name):
    """A new directory under tests/integration/work for one case; removed
    by Tap.finish() when the test file had no failure."""
    base = os.path.join(TOP_BUILDDIR, "tests", "integration", "work")
    os.makedirs(base, exist_ok=True)
    d = tempfile.mkdtemp(prefix="%s-%s-" % (test, interp_name), dir=base)
    _workdirs.append(d)
    return d


# Run argv (whose program is under root) chrooted into root, in a mount
# namespace of its own where the source and build trees (scripts, work
# directories) and /proc are mounted at the same paths: one process, the
# target itself, whose pid the caller gets.
IN_ROOT = ('R=$1; shift; for d in "$TOP_SRC" "$TOP_BUILD"; do '
           'mkdir -p "$R$d" && mount --bind "$d" "$R$d" || exit 97; done; '
           'mount -t proc proc "$R/proc" || exit 97; exec chroot "$R" "$@"')


def in_root(root, argv):
    return (["env", "TOP_SRC=" + TOP_SRCDIR, "TOP_BUILD=" + TOP_BUILDDIR,
             shutil.which("unshare") or "unshare", "--mount", "sh", "-c", IN_ROOT, "sh", root,
             argv[0][len(root):] if argv[0].startswith(root + "/") else argv[0]]
            + argv[1:])


def thread_states(pid):
    """One line per thread of pid: its state, where it sleeps, its blocked
    and pending signals (for a diagnostic: why a process does not go on)."""
    lines = []
    try:
        tids = sorted(os.listdir("/proc/%d/task" % pid), key=int)
    except OSError as exc:
        return "(%s)" % exc
    for tid in tids:
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(base + "wchan") as f:
                wchan = f.read().strip() or "-"
            with open(base + "status") as f:
                sig = {k: v.strip() for k, _, v in (ln.partition(":") for ln in f)
                       if k in ("SigBlk", "SigPnd", "ShdPnd", "TracerPid")}
        except OSError as exc:
            lines.append("  %s: (%s)" % (tid, exc))
            continue
        lines.append("  %s: state %s wchan %s %s" % (
            tid, state, wchan, " ".join("%s %s" % kv for kv in sorted(sig.items()))))
    return "\n".join(lines)


class TargetError(Exception):
    pass


class Target:
    """A program under test, in its own session so it can be killed whole.

    The program gets its work directory as argv[1]; it writes `ready` there
    (atomically) once its facts are written and it is waiting.
    """

    def __init__(self, argv, wdir, env=None):
        self.argv = list(argv)
        self.wdir = wdir
        self.out_path = os.path.join(wdir, "target.out")
        self._out = open(self.out_path, "wb")
        e = dict(os.environ)
        e.pop("PYTHONPATH", None)
        e.pop("PYTHONHOME", None)
        if env:
            e.update(env)
        self.proc = subprocess.Popen(self.argv, stdout=self._out,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=e,
                                     cwd=wdir, start_new_session=True)
        self.pid = self.proc.pid
        self.rc = None
        _live.add(self)

    @classmethod
    def python(cls, interp, script, wdir, *args, env=None):
        argv = [interp.path, os.path.join(TARGETS, script), wdir] + list(args)
        if interp.root:
            argv = in_root(interp.root, argv)
        return cls(argv, wdir, dict(interp.env, **(env or {})))

    def path(self, name):
        return os.path.join(self.wdir, name)

    def alive(self):
        return self.proc.poll() is None

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        ready = self.path("ready")
        while time.monotonic() < deadline:
            if os.path.exists(ready):
                return
            if not self.alive():
                raise TargetError("target exited with %s before ready:\n%s"
                                  % (self.proc.returncode, self.output()))
            time.sleep(0.05)
        raise TargetError("target not ready after %.0fs:\n%s" % (timeout, self.output()))

    def wait_in_syscall(self, nr, timeout=READY_TIMEOUT):
        """Waits until the target's main thread sits in system call nr
        (/proc/PID/syscall): a target that wrote `ready` and then blocks
        may still be on its way there, with the temporaries of its last
        steps alive; gdb attaching then sees them, and they die after."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open("/proc/%d/syscall" % self.pid) as f:
                    if f.read().split()[:1] == [str(nr)]:
                        return
            except OSError:
                pass
            if not self.alive():
                raise TargetError("target exited with %s:\n%s"
                                  % (self.proc.returncode, self.output()))
            time.sleep(0.01)
        raise TargetError("target not blocked in system call %d after %.0fs:\n%s"
                          % (nr, timeout, self.output()))

    def json(self, name):
        with open(self.path(name)) as f:
            return json.load(f)

    def send(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait_exit(self, timeout=60.0):
        """Exit code, or None if it did not exit in time (it is then killed,
        and output() says what its threads were doing)."""
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stuck = thread_states(self.pid)
            self.kill()
            return None
        _live.discard(self)
        return self.rc

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        _live.discard(self)
        try:
            self._out.close()
        except OSError:
            pass

    def output(self):
        stuck = getattr(self, "stuck", None)
        stuck = "\nit did not exit; its threads then:\n" + stuck if stuck else ""
        try:
            if not self._out.closed:     # kill() closed it
                self._out.flush()
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace") + stuck
        except OSError as exc:
            return "(no output: %s)" % exc + stuck

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


# --------------------------------------------------------------------- gdb

STEPS_SCRIPT = os.path.join(HERE, "gdb_steps.py")


class GdbRun:
    """One gdb run: its exit status, output, and `failed`, the commands
    that failed as gdb_steps.py saw them ([{"command", "error"}]; None if
    gdb never reached the end of its commands)."""

    def __init__(self, argv, rc, out, err, seconds, timed_out):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err
        self.seconds, self.timed_out = seconds, timed_out
        m = re.search(r"^@@STEPS (.*)@@$", out, re.M)
        self.failed = json.loads(m.group(1)) if m else None

    def ok(self, may_fail=()):
        """gdb ran every command to its end (no timeout, no crash, exit 0)
        and none failed but commands listed in may_fail (as given)."""
        if self.timed_out or self.rc != 0 or self.failed is None:
            return False
        return all(f["command"] in may_fail for f in self.failed)

    def report(self, limit=150):
        """What to print when a test using this run fails."""
        def tail(text):
            lines = text.splitlines()
            if len(lines) > limit:
                lines = ["... (%d lines cut)" % (len(lines) - limit)] + lines[-limit:]
            return "\n".join("    " + ln for ln in lines)
        head = "gdb %s after %.1fs: %s" % (
            "TIMED OUT" if self.timed_out else "exit %s" % self.rc, self.seconds,
            " ".join(_quote(a) for a in self.argv))
        text = "%s\n  output (stdout and stderr):\n%s" % (head, tail(self.out))
        if self.failed is None:
            text += "\n  gdb did not reach the end of its commands"
        elif self.failed:
            text += "\n  failed commands:\n%s" % "\n".join(
                "    %s: %s" % (f["command"], f["error"]) for f in self.failed)
        if self.err:
            text += "\n  stderr:\n%s" % tail(self.err)
        return text

    def section(self, name):
        """Text printed between `echo @@BEGIN name@@` and `echo @@END name@@`."""
        m = re.search(r"^@@BEGIN %s@@\n(.*?)^@@END %s@@$" % (re.escape(name), re.escape(name)),
                      self.out, re.S | re.M)
        return m.group(1) if m else None


def _quote(a):
    return a if re.match(r"^[\w@%+=:,./-]+$", a) else "'" + a.replace("'", "'\\''") + "'"


def marked(name, command):
    """gdb -ex arguments that run COMMAND between markers (see GdbRun.section)."""
    return ["echo @@BEGIN %s@@\\n" % name, command, "echo @@END %s@@\\n" % name]


def gdb_env(extra=None):
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(k, None)
    # gdb run by root writes __pycache__ next to its own modules, in its
    # system data directory, and next to remora's, in the source tree:
    # the tests write neither (test_install checks the first)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if os.path.realpath(TOP_SRCDIR) != os.path.realpath(TOP_BUILDDIR):
        # VPATH build: remora.py is in the source tree, the .so files here.
        env["REMORA_LIBDIR"] = os.path.join(TOP_BUILDDIR, ".libs")
    if extra:
        env.update(extra)
    return env


def gdb_argv(commands, pid=None, load_remora=True, args=(), batch=True):
    """gdb's command line for run_gdb() and start_gdb()."""
    it = current_interp
    extra = it.gdb_args if it is not None else []
    argv = [GDB, "-nx"] + (["-batch"] if batch else []) + extra + list(args)
    if pid is not None:
        if it is not None and it.attach_with_exe and not args:
            argv.append(it.path)
        argv += ["-p", str(pid)]
    pre = ["set pagination off", "set width 0", "set confirm off"]
    if load_remora:
        pre.append("source %s" % REMORA_PY)
    argv += ["-ex", "source %s" % STEPS_SCRIPT]
    for c in pre + list(commands):
        argv += ["-ex", "test-step " + c]
    argv += ["-ex", "test-steps-verdict"]
    return argv


def start_gdb(commands, pid=None, **kw):
    """gdb as run_gdb() runs it, but returned running (a Popen whose
    stdout, stderr joined, is a pipe), for tests that signal it mid-run;
    killed with the test's other processes if the test dies."""
    p = subprocess.Popen(gdb_argv(commands, pid, **kw), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=gdb_env(), start_new_session=True)
    _live_gdbs.add(p)
    return p


def run_gdb(commands, pid=None, load_remora=True, timeout=None, args=(), env=None,
            batch=True):
    """Run gdb (-nx -batch) with the given -ex commands; never hangs.

    With load_remora, `source <top>/remora.py` runs first.  Each command
    runs through gdb_steps.py's test-step, so the GdbRun knows which
    failed (gdb's exit status tells only of the last).  The gdb process
    runs in its own session and is killed (with its children) on timeout.
    """
    timeout = timeout or GDB_TIMEOUT
    argv = gdb_argv(commands, pid, load_remora, args, batch)
    t0 = time.monotonic()
    # stderr joins stdout so that an error message lands between the
    # markers of the command that printed it (gdb flushes in order).
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env=gdb_env(env),
                         start_new_session=True)
    _live_gdbs.add(p)
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        out, err = p.communicate()
    finally:
        _live_gdbs.discard(p)
    return GdbRun(argv, p.returncode, out.decode("utf-8", "replace"), "",
                  time.monotonic() - t0, timed_out)


def load_json(path):
    """The JSON a gdb-side script wrote to path, or {} if it wrote none."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def run_gdb_script(script, it, target, out, core=None, env=None):
    """Sources script (a gdb_*.py of the tests) in gdb on target, live
    (then detaches) or on core (with it.path, its executable), with
    REMORA_TEST_OUT=out, REMORA_TEST_FACTS=the target's facts.json and
    env: (the GdbRun, the JSON the script wrote to out)."""
    env = dict(env or {}, REMORA_TEST_OUT=out, REMORA_TEST_FACTS=target.path("facts.json"))
    if core is None:
        g = run_gdb(["source " + script, "detach"], pid=target.pid, env=env)
    else:
        g = run_gdb(["source " + script], args=[it.path, core], env=env)
    return g, load_json(out)


def guarded(tap, label, fn, *args):
    """fn(*args); an exception in the harness itself is one failed test,
    "LABEL: harness error", with its traceback, and the run goes on."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 — reported as a test failure
        tap.fail("%s: harness error" % label, "%s\n%s" % (exc, traceback.format_exc()))
        return None


def each_interpreter(tap, interps, label, fn):
    """fn(tap, it) for every usable interpreter, guarded; the others are
    skipped by name with their reason."""
    global current_interp
    for it in interps:
        name = "%s %s" % (label, it.name)
        if it.skip:
            tap.skip(name, it.skip)
            continue
        current_interp = it
        try:
            guarded(tap, name, fn, tap, it)
        finally:
            current_interp = None


# The interpreter each_interpreter() is testing: gdb's command line gets
# its gdb_args, whatever the test passes.
current_interp = None


def run_per_interpreter(test, label, fn):
    """The body of a test that checks every interpreter: a Tap named test,
    the interpreters reported, fn(tap, it) for each usable one (guarded,
    named "label <interpreter>"); returns the exit status."""
    tap = Tap(test)
    interps = interpreters()
    report_interpreters(tap, interps)
    each_interpreter(tap, interps, label, fn)
    return tap.finish()


# ---- pages of the target ------------------------------------------------

PAGE = 4096
# the kernel's mappings (gdb's attach itself reads [vdso] in: one page)
KERNEL_MAPS = ("[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]")


def anon_pages(pid):
    """The present pages (addresses) of pid's anonymous mappings, from
    /proc/PID/pagemap."""
    out = set()
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/pagemap" % pid, "rb") as pm:
        for line in maps:
            parts = line.split(None, 5)
            path = parts[5].strip() if len(parts) == 6 else ""
            if path.startswith("/") or path in KERNEL_MAPS:
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            pm.seek(lo // PAGE * 8)
            data = pm.read((hi - lo) // PAGE * 8)
            for i in range(len(data) // 8):
                if data[i * 8 + 7] & 0x80:               # bit 63: present
                    out.add(lo + i * PAGE)
    return out


def zero_pages(pid, pages):
    """Those of pages that hold only zeros: what reading a page the
    process never touched through /proc/PID/mem leaves in it (a page it
    wrote itself holds its data)."""
    out = []
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for p in sorted(pages):
            mem.seek(p)
            try:
                if not any(mem.read(PAGE)):
                    out.append(p)
            except OSError:
                continue
    return out
