"""cli.py — the `remora` command's work inside gdb (the command itself,
./remora, parses the shell's arguments and starts gdb in batch mode with
the job in REMORA_CLI_JOB; see remora.1).

A job is JSON: {"mode": "attach" | "core" | "snapshot" | "load" | "diff" |
"export", "pid", "core", "exe", "files", "output", "exprs", "json",
"format", "set"}.  main() runs
it and leaves gdb with the command's exit status:

  0  done
  1  an analysis error: one line on stderr ("remora: ...")
  3  the process cannot be attached: one line saying what to do

Results go to stdout, one expression after another (--json: one line of
JSON each); remora's own notes (a partial snapshot, ...) go to stderr, so
that --json output stays JSON.  A process is detached as soon as it is
captured (the expressions read the snapshot alone; for byprod, the
tracemalloc tables are read first), and before main() returns whatever
happened.
"""

import json
import os
import shutil
import time

import gdb

from . import command, progress
from .errors import RemoraError

EXIT_OK, EXIT_ERROR, EXIT_ATTACH = 0, 1, 3


class _Failed(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _say(text):
    gdb.write(text.rstrip("\n") + "\n", gdb.STDERR)


class _NotesToStderr:
    """While in effect, what remora writes through gdb.write to stdout
    that is a note of its own ("remora: ...") goes to stderr instead."""

    def __enter__(self):
        self._write = gdb.write

        def write(text, stream=None):
            if stream is None and text.startswith("remora:"):
                stream = gdb.STDERR
            if stream is None:
                return self._write(text)
            return self._write(text, stream)
        gdb.write = write
        return self

    def __exit__(self, *exc):
        gdb.write = self._write


def _first_line(exc):
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def attach_hint(pid, why):
    """One line: why pid cannot be attached, and what to do."""
    if not os.path.exists("/proc/%d" % pid):
        return "remora: no process %d" % pid
    hints = []
    try:
        with open("/proc/%d/status" % pid) as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        tracer = int(status.get("TracerPid", "0").split()[0])
        uid = int(status.get("Uid", "-1").split()[0])
    except (OSError, ValueError):
        tracer, uid = 0, -1
    if tracer:
        hints.append("process %d is traced already (by %d): detach that debugger first"
                     % (tracer, tracer))
    elif os.geteuid() != 0:
        try:
            with open("/proc/sys/kernel/yama/ptrace_scope") as f:
                scope = int(f.read().strip())
        except (OSError, ValueError):
            scope = 0
        if uid >= 0 and uid != os.geteuid():
            hints.append("it runs as uid %d: run remora as that user or as root" % uid)
        if scope >= 1:
            hints.append("kernel.yama.ptrace_scope is %d: run as root, give gdb "
                         "CAP_SYS_PTRACE, or `sysctl kernel.yama.ptrace_scope=0`" % scope)
    if not hints:
        hints.append("in a container, the debugger needs CAP_SYS_PTRACE "
                     "(docker run --cap-add=SYS_PTRACE) and the same PID namespace")
    return "remora: cannot attach to process %d (%s): %s" % (pid, why, "; ".join(hints))


class _Quiet:
    """While in effect, what gdb prints itself (the frame a process stops
    in, "[Inferior 1 detached]") goes nowhere: stdout is for results."""

    def __enter__(self):
        self._was = gdb.parameter("suppress-cli-notifications")
        gdb.execute("set suppress-cli-notifications on", to_string=True)
        return self

    def __exit__(self, *exc):
        gdb.execute("set suppress-cli-notifications %s" % ("on" if self._was else "off"),
                    to_string=True)


def _attach(pid):
    """Attaches gdb to pid; when the process was stopped (monotonic)."""
    try:
        with _Quiet():
            # the program's symbols read before the process stops: the
            # pause is shorter by that much
            try:
                gdb.execute("file /proc/%d/exe" % pid, to_string=True)
            except gdb.error:
                pass
            _prewarm(pid)
            # of the shared libraries only libpython's symbols are wanted
            # (the layout's); libc's debug info alone is a twentieth of
            # a second of the pause to read
            gdb.execute("set auto-solib-add off", to_string=True)
            paused = time.monotonic()
            gdb.execute("attach %d" % pid, to_string=True)
            gdb.execute("sharedlibrary libpython", to_string=True)
            if not _has_runtime():
                # CPython inside a library of another name (an embedding
                # application's): every library's symbols, as gdb reads them
                gdb.execute("sharedlibrary", to_string=True)
    except gdb.error as exc:
        raise _Failed(EXIT_ATTACH, attach_hint(pid, _first_line(exc).rstrip("."))) from None
    if gdb.selected_inferior().pid != pid:
        raise _Failed(EXIT_ATTACH, attach_hint(pid, "gdb did not attach"))
    return paused


def _has_runtime():
    """Whether gdb sees _PyRuntime (the interpreter's symbols are loaded)."""
    from . import layout
    try:
        return (gdb.lookup_global_symbol("_PyRuntime") is not None or
                layout._address_in_memory("_PyRuntime") is not None)
    except gdb.error:
        return False


def _prewarm(pid):
    """Reads now, while the process runs, what the capture would read
    from files while it is stopped: the layout's symbols and types
    (layout.prewarm) and libc's symbol the injection calls."""
    from . import elfsyms, inject, layout   # need a live gdb session
    layout.prewarm()
    elfsyms.libc_functions(pid, inject.LIBC_NAMES)


def _detach():
    inf = gdb.selected_inferior()
    if inf.pid:
        try:
            with _Quiet():
                gdb.execute("detach", to_string=True)
        except gdb.error:
            pass


def _open_core(core, exe):
    from . import capture        # needs a live gdb session
    try:
        with _Quiet():
            if exe:
                gdb.execute("file %s" % capture.quoted(exe), to_string=True)
            gdb.execute("core-file %s" % core, to_string=True)
    except gdb.error as exc:
        raise _Failed(EXIT_ERROR, "remora: cannot open the core %s: %s"
                      % (core, _first_line(exc))) from None


def _print(value, as_json):
    text = command.render(value, as_json) if value is not None else None
    if text is not None:
        gdb.write(text + "\n")


def _evaluate_all(exprs, as_json):
    for expr in exprs or ["h"]:
        try:
            # progress while it computes (stderr, a terminal only), gone
            # before the result is printed
            with progress.shown(expr):
                value = command.evaluate(expr)
                text = command.render(value, as_json) if value is not None else None
        except RemoraError as exc:
            raise _Failed(EXIT_ERROR, str(exc)) from None
        except SyntaxError as exc:
            raise _Failed(EXIT_ERROR, "remora: %s: syntax error: %s" % (expr, exc.msg)) from None
        except Exception as exc:  # noqa: BLE001 — the user sees one line
            raise _Failed(EXIT_ERROR, "remora: %s: %s: %s"
                          % (expr, type(exc).__name__, _first_line(exc))) from None
        command.namespace["_"] = value
        if text is not None:
            gdb.write(text + "\n")


def _load(path):
    try:
        return command.hp.load(path)
    except RemoraError as exc:
        raise _Failed(EXIT_ERROR, str(exc)) from None
    except OSError as exc:
        raise _Failed(EXIT_ERROR, "remora: cannot read %s: %s"
                      % (path, exc.strerror or exc)) from None


def _capture():
    try:
        return command.current_heap()
    except RemoraError as exc:
        raise _Failed(EXIT_ERROR, str(exc)) from None


def _read_producers(heap):
    """Reads the producers byprod will show (kept with the snapshot; an
    error is kept too, and said when byprod is asked for)."""
    from . import prod
    snapshot = heap.snapshot
    try:
        prod.labeller(snapshot)
    except RemoraError as exc:
        snapshot.prod_error = exc


def _snapshot(pid, output):
    """Attach, capture into gdb's in-memory file, detach; only then save
    it to output (the process waits for the capture alone)."""
    from . import capture        # needs a live gdb session
    paused = _attach(pid)
    try:
        try:
            path = capture.capture_auto(inject=True, keep_frame=False)
        except RemoraError as exc:
            raise _Failed(EXIT_ERROR, str(exc)) from None
    finally:
        _detach()
    seconds = time.monotonic() - paused
    try:
        shutil.copyfile(path, output)
    except OSError as exc:
        raise _Failed(EXIT_ERROR, "remora: cannot write %s: %s"
                      % (output, exc.strerror or exc)) from None
    finally:
        capture.discard(path)
    _say("remora: process %d paused %.3f s; %d objects saved to %s"
         % (pid, seconds, (capture.last_result or {}).get("nodes", 0), output))


def _export(job):
    from . import export
    h = command.namespace["h"] = _load(job["files"][0])
    target = h
    if job.get("format") == "dot":
        expr = job.get("set") or "h.byretained[0]"
        try:
            target = command.evaluate(expr)
        except Exception as exc:  # noqa: BLE001 — the user sees one line
            raise _Failed(EXIT_ERROR, "remora: %s: %s" % (expr, _first_line(exc))) from None
        if not hasattr(target, "_handle"):
            raise _Failed(EXIT_ERROR, "remora: %s is not a set of objects" % expr)
    try:
        with progress.shown("writing %s" % job["format"]):
            seconds = export.write(target, job["output"], job["format"])
    except RemoraError as exc:
        raise _Failed(EXIT_ERROR, str(exc)) from None
    _say("remora: %s written to %s in %.2f s" % (job["format"], job["output"], seconds))


def run(job):
    """Runs job (a dict: see the module's docstring); its exit status."""
    mode = job["mode"]
    try:
        with _NotesToStderr():
            if mode == "attach":
                # the expressions read the snapshot alone: the process
                # goes on once it is captured
                _attach(job["pid"])
                try:
                    heap = _capture()
                    if any("byprod" in e for e in job.get("exprs") or ()):
                        # tracemalloc's tables are the process's: read
                        # them before it goes on
                        _read_producers(heap)
                finally:
                    _detach()
                _evaluate_all(job.get("exprs"), job.get("json"))
            elif mode == "snapshot":
                _snapshot(job["pid"], job["output"])
            elif mode == "core":
                _open_core(job["core"], job.get("exe"))
                _capture()
                _evaluate_all(job.get("exprs"), job.get("json"))
            elif mode == "load":
                command.namespace["h"] = _load(job["files"][0])
                _evaluate_all(job.get("exprs"), job.get("json"))
            elif mode == "diff":
                old, new = (_load(path) for path in job["files"])
                _print(new.diff(old), job.get("json"))
            elif mode == "export":
                _export(job)
            else:
                raise _Failed(EXIT_ERROR, "remora: unknown job %r" % mode)
    except _Failed as exc:
        _say(str(exc))
        return exc.status
    except KeyboardInterrupt:
        _say("remora: interrupted")
        return EXIT_ERROR
    return EXIT_OK


def main():
    """The job in REMORA_CLI_JOB, then gdb quits with its status."""
    try:
        job = json.loads(os.environ["REMORA_CLI_JOB"])
    except (KeyError, ValueError):
        _say("remora: cli.main() needs a job in REMORA_CLI_JOB (run ./remora)")
        status = 2
    else:
        status = run(job)
    _detach()
    gdb.execute("quit %d" % status)
