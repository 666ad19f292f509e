"""capture.py — capture the heap of the inferior into a snapshot, by one
of three paths (capture_auto() picks):

  capture()          a live process, by injecting the agent (inject.py
                     drives it: no function call, no dlopen, no lock, no
                     file in the target; every other thread held still);
  capture_outside()  a live process read from gdb's own process through
                     /proc/PID/mem (py-heap -no-inject): the walker runs in
                     libremora, nothing runs in the target;
  capture_core()     a core file, through libelf and the files its NT_FILE
                     note names, as gdb found them.

Every path writes its snapshot into an in-memory file of gdb's (a memfd,
engine.sink_create()), named by a path "/proc/self/fd/N" that
engine.Snapshot opens and discard() closes: nothing on any file system,
nothing left if gdb dies.
"""

import ctypes
import os
import re
import time

import gdb

from . import elfsyms, engine, inject, layout, progress
from .errors import RemoraError

AS_OUTSIDE = 1   # REMORA_AGENT_AS_OUTSIDE: walk without calling tp_traverse
NO_SIZE_MODELS = 2   # REMORA_AGENT_NO_SIZE_MODELS: plain sizes (bench/)

last_result = None   # dict of the last capture's figures (tests, bench)
_sinks = {}          # path "/proc/self/fd/N" -> N, for discard()


def _gil_holder_lwp(version):
    """LWP of the thread holding the GIL, or None if unknown / free."""
    minor = (version >> 16) & 0xFF
    exprs = []
    if minor == 11:
        exprs.append(("_PyRuntime.ceval.gil.locked._value",
                      "_PyRuntime.ceval.gil.last_holder._value"))
    else:
        exprs.append(("_PyRuntime.interpreters.main->ceval.gil->locked._value",
                      "_PyRuntime.interpreters.main->ceval.gil->last_holder._value"))
    for locked_e, holder_e in exprs:
        try:
            if not int(gdb.parse_and_eval(locked_e)):
                return None
            holder = int(gdb.parse_and_eval(holder_e))
            if not holder:
                return None
            return int(gdb.parse_and_eval(
                "((PyThreadState *)%d)->native_thread_id" % holder))
        except gdb.error:
            continue
    return None


def _new_sink():
    """(fd, path) of a new in-memory snapshot file."""
    fd = engine.sink_create()
    path = "/proc/self/fd/%d" % fd
    _sinks[path] = fd
    return fd, path


def discard(path):
    """Closes a snapshot file a capture made (a loaded snapshot's mapping
    stays valid: the memory goes when both are gone)."""
    fd = _sinks.pop(path, None)
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


def _take(fd, path, fn):
    """fn(), closing the new sink if it fails."""
    try:
        return fn()
    except BaseException:
        discard(path)
        raise


class _Stats(ctypes.Structure):
    """struct remora_capture_stats (include/remora/remora.h)."""
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "nodes", "edges", "roots", "types", "bad_objects", "read_faults",
        "peak_mapped", "bytes_written", "reader_reads", "reader_syscalls")] + [
        ("snapshot_flags", ctypes.c_uint32), ("partial_why", ctypes.c_uint32)]


def capture_outside(inferior=None):
    """Capture the heap of a stopped live inferior by reading its memory
    from gdb's process (/proc/PID/mem): nothing runs in the target.
    Returns the path of a new snapshot file; RemoraError on failure."""
    global last_result
    inf = _live_inferior(inferior)
    version, descriptor = layout.build()
    fd, path = _new_sink()
    stats = _Stats()
    t0 = time.perf_counter()
    key = progress.process_key(inf.pid)
    with progress.shown("capturing from outside", lambda: stats.nodes, fd=fd,
                        key=key):
        _take(fd, path, lambda: engine.capture_proc(inf.pid, descriptor, fd, stats))
    seconds = time.perf_counter() - t0
    progress.remember(key, stats.nodes)
    last_result = {name: getattr(stats, name) for name, _t in _Stats._fields_}
    last_result.update(status=0, flags=stats.snapshot_flags, path=path,
                       python_version=version, mode="outside",
                       walk_seconds=seconds, total_seconds=seconds,
                       inject_seconds=0.0)
    return path


def core_file():
    """The path of the core file gdb is examining, or None (a live process
    or nothing)."""
    inf = gdb.selected_inferior()
    conn = getattr(inf, "connection", None)
    if conn is not None and getattr(conn, "type", None) != "core":
        return None
    text = gdb.execute("info target", to_string=True)
    m = re.search(r"Local core dump file:\s*`(.*)', file type", text)
    return m.group(1) if m else None


def _local_file(start, path):
    """Where the file a core mapped at start lives here: gdb's own answer
    (its solib list honours sysroot and solib-search-path), else the
    executable gdb was given, else the path itself."""
    name = gdb.solib_name(start)
    if name and os.path.exists(name):
        return name
    exe = gdb.current_progspace().filename
    if exe and os.path.basename(exe) == os.path.basename(path) and os.path.exists(exe):
        return exe
    clean = path[:-len(" (deleted)")] if path.endswith(" (deleted)") else path
    return clean if os.path.exists(clean) else None


def _is_interpreter_image(path, exe_name, has_libpython):
    """Whether an NT_FILE path is the interpreter's image: libpython, or
    the executable when the interpreter is linked into it."""
    base = os.path.basename(path.replace(" (deleted)", ""))
    if base.startswith("libpython"):
        return True
    return not has_libpython and base == exe_name


def _core_program(files):
    """The NT_FILE path of the program the core ran: the file mapped at
    its entry point (AT_ENTRY, as gdb's `info auxv` reads the core), or
    None."""
    try:
        text = gdb.execute("info auxv", to_string=True)
    except gdb.error:
        return None
    m = re.search(r"^\s*\d+\s+AT_ENTRY\s.*?(0x[0-9a-fA-F]+)\s*$", text, re.M)
    entry = int(m.group(1), 16) if m else None
    return next((p for _i, s, e, _o, p in files if entry is not None and s <= entry < e),
                None)


def _symbols_file():
    """The file gdb reads the interpreter's symbols from: the one whose
    memory holds _PyRuntime (not a separate debug file, nor an executable
    whose DWARF merely declares it), or None."""
    return layout.symbol_file("_PyRuntime")


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_interpreter(files, core_path):
    """RemoraError, in one line, when gdb does not read the interpreter
    the core ran (libpython, or the program itself when it is linked in):
    gdb was given another program than the core's, so it read the wrong
    interpreter's symbols, or none.  Both programs are named."""
    program = _core_program(files)
    images = ([(s, p) for _i, s, _e, _o, p in files
               if os.path.basename(p).startswith("libpython")]
              or [(s, p) for _i, s, _e, _o, p in files if p == program])
    exe = gdb.current_progspace().filename or ""
    symbols = _symbols_file()
    if symbols is None and (not program or _same_file(exe, _clean(program))):
        return  # the layout says what is missing (not CPython, no debug info)
    for start, path in images:
        local = _local_file(start, path)
        if symbols and local and _same_file(local, symbols):
            return
    made_by = _clean(program or (images[0][1] if images else "?"))
    raise RemoraError("remora: the core was made by %s, not by %s, the executable gdb "
                      "was given: open it with `gdb %s %s`"
                      % (made_by, exe or "(none)", made_by, core_path))


def _check_runtime_saved(core, truncated):
    """RemoraError when a truncated core lost the interpreter's runtime
    state: with it goes every way to the objects (the core's memory from
    the first lost address on is gone, and the library's file holds only
    the state it starts with)."""
    runtime = layout.runtime_address()
    if not core.saved(runtime, RUNTIME_NEEDED):
        raise RemoraError("remora: the core file is truncated and lost the interpreter's "
                          "state (_PyRuntime at 0x%x; %d bytes of the process's memory were "
                          "not saved, the first at 0x%x): there is nothing to read.  Raise "
                          "the core size limit (ulimit -c), or take the core with gcore"
                          % (runtime, truncated[1], truncated[0]))


# the start of _PyRuntime that holds the way to the interpreters
RUNTIME_NEEDED = 1024


def _load_unlisted_libpython(files):
    """A core cut short can lose the dynamic linker's list of libraries
    (it lives in memory the core no longer holds): gdb then loads no
    shared library, and finds no _PyRuntime.  The core's NT_FILE note
    still says where libpython was mapped: gdb reads its symbols from
    there (add-symbol-file at the address it was loaded at), and says so."""
    if _symbols_file() is not None:
        return
    # gdb given another program than the core's lists no libraries either:
    # that is _check_interpreter's to say
    program = _core_program(files)
    exe = gdb.current_progspace().filename or ""
    if not program or not _same_file(exe, _clean(program)):
        return
    for _i, start, _e, offset, path in files:
        if offset or not os.path.basename(path).startswith("libpython"):
            continue
        if gdb.solib_name(start):
            return  # gdb has it, and it holds no _PyRuntime: the layout says why
        local = _local_file(start, path)
        try:
            with open(local or "", "rb") as f:
                head = f.read(1 << 16)
        except OSError:
            return
        if head[:4] != b"\x7fELF":
            return
        bias = start - (elfsyms.first_load_vaddr(head) & ~0xFFF)
        gdb.execute("add-symbol-file %s -o %#x" % (quoted(local), bias), to_string=True)
        gdb.write("remora: the core lists no shared libraries (cut short?): %s read "
                  "where the core's file mappings place it\n" % local, gdb.STDERR)
        return


def quoted(path):
    """path as one argument of a gdb command that splits its arguments
    (`file`, `add-symbol-file`; `core-file` takes the rest of the line)."""
    return '"%s"' % path.replace("\\", "\\\\").replace('"', '\\"')


def _clean(path):
    return path[:-len(" (deleted)")] if path.endswith(" (deleted)") else path


def capture_core(core_path=None):
    """Capture the heap saved in the core file gdb examines.  Returns the
    path of a new snapshot file; RemoraError with one line on failure (not
    a core of CPython, libpython missing or not the one the process ran,
    a truncated core...)."""
    global last_result
    core_path = core_path or core_file()
    if core_path is None:
        _raise_if_core_refused()
        raise RemoraError("remora: no core file: open one with `gdb PROGRAM CORE`")
    t0 = time.perf_counter()
    core = engine.Core(core_path, engine.CORE_ALLOW_TRUNCATED)
    truncated = core.truncated()
    files = core.files()
    exe = gdb.current_progspace().filename or ""
    has_libpython = any(os.path.basename(p).startswith("libpython")
                        for _i, _s, _e, _o, p in files)
    for index, start, end, offset, path in files:
        image = _is_interpreter_image(path, os.path.basename(exe), has_libpython)
        local = _local_file(start, path)
        if local is None:
            if image:
                raise RemoraError("remora: the core's interpreter %s is not on this "
                                  "machine (gdb looks for it under `set sysroot` and "
                                  "`solib-search-path`)" % path)
            continue
        try:
            core.add_file(index, local)
        except RemoraError as exc:
            if image:
                raise RemoraError("%s: the interpreter the core ran is not this one"
                                  % exc) from None
            continue
    _load_unlisted_libpython(files)
    _check_interpreter(files, core_path)
    version, descriptor = layout.build()
    if truncated:
        _check_runtime_saved(core, truncated)
    fd, path = _new_sink()
    stats = _Stats()
    t1 = time.perf_counter()
    key = progress.core_key(core_path)
    with progress.shown("capturing from a core", lambda: stats.nodes, fd=fd,
                        key=key):
        _take(fd, path, lambda: core.capture(descriptor, fd, stats))
    t2 = time.perf_counter()
    progress.remember(key, stats.nodes)
    del core
    last_result = {name: getattr(stats, name) for name, _t in _Stats._fields_}
    last_result.update(status=0, flags=stats.snapshot_flags, path=path,
                       python_version=version, mode="core", truncated=truncated,
                       walk_seconds=t2 - t1, total_seconds=time.perf_counter() - t0,
                       inject_seconds=0.0)
    return path


def finalizing():
    """Whether the target's interpreter has begun Py_Finalize (its heap is
    being torn down), as far as its debug info tells."""
    # the layout's offset: one read (the debug info's expression costs a
    # fiftieth of a second of the pause), else that expression
    try:
        off = layout.field("RL_RUNTIME_FINALIZING")
        if off >= 0:
            addr = layout.field("RL_RUNTIME_ADDR") + off
            return any(bytes(gdb.selected_inferior().read_memory(addr, 8)))
    except (gdb.error, gdb.MemoryError, RemoraError, ValueError):
        pass
    for expr in ("_PyRuntime._finalizing._value", "_PyRuntime._finalizing"):
        try:
            return int(gdb.parse_and_eval(expr)) != 0
        except (gdb.error, RuntimeError):
            continue
    return False


def _warn_if_partial():
    r = last_result or {}
    if r.get("flags", 0) & 1:
        why = engine.partial_text(r.get("partial_why", 0))
        gdb.write("remora: the snapshot is partial: %s%d addresses were not objects "
                  "and %d reads failed (torn or damaged memory)\n"
                  % (why + "; " if why else "", r.get("bad_objects", 0),
                     r.get("read_faults", 0)))


def _warn_if_truncated():
    cut = (last_result or {}).get("truncated")
    if cut:
        gdb.write("remora: the core file is truncated: %d bytes of the process's memory "
                  "were not saved (the first at 0x%x); what only they held is missing\n"
                  % (cut[1], cut[0]))


def _warn_if_finalizing():
    if finalizing():
        gdb.write("remora: the interpreter is finalizing (Py_Finalize has begun): "
                  "objects are being torn down, the snapshot shows what is left\n")


def capture_auto(inferior=None, inject=True, keep_frame=True):
    """capture_core() for a core file; for a process, capture() when
    injecting is safe (and wanted), else capture_outside() after saying
    why in one line."""
    if core_file() is not None:
        path = capture_core()
        _warn_if_finalizing()
        _warn_if_truncated()
        _warn_if_partial()
        return path
    inf = _live_inferior(inferior)
    _warn_if_finalizing()
    try:
        path = capture(inf, keep_frame=keep_frame) if inject else capture_outside(inf)
    except KeyboardInterrupt:
        # before the agent ran, or while reading from outside: nothing to
        # undo (capture() itself says so when it stopped the agent)
        raise RemoraError("remora: capture interrupted; the process is as it was") from None
    _warn_if_partial()
    return path


# gdb's options that take a value as the next argument (gdb --help);
# "--opt=value" and single-dash spellings are the same options.
_GDB_VALUE_OPTIONS = {
    "ex", "eval-command", "iex", "init-eval-command", "x", "command", "ix",
    "init-command", "p", "pid", "c", "core", "cd", "d", "directory", "s",
    "symbols", "e", "exec", "se", "data-directory", "D", "b", "l", "tty", "i",
    "interpreter"}


def _core_argument():
    """The core file named on gdb's own command line (gdb PROGRAM CORE,
    --core=CORE, -c CORE), or None."""
    try:
        with open("/proc/self/cmdline", "rb") as f:
            argv = [os.fsdecode(a) for a in f.read().split(b"\0")[1:-1]]
    except OSError:
        return None
    positional, core = [], None
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--args":
            return core
        if arg.startswith("-") and arg != "-":
            name, eq, value = arg.lstrip("-").partition("=")
            if name in _GDB_VALUE_OPTIONS and not eq:
                value = argv[i] if i < len(argv) else ""
                i += 1
            if name in ("c", "core"):
                core = value
            continue
        positional.append(arg)
    if core is None and len(positional) >= 2 and not positional[1].isdigit():
        core = positional[1]
    return core


def _live_inferior(inferior):
    inf = inferior or gdb.selected_inferior()
    if inf is None or inf.pid == 0 or not inf.threads():
        _raise_if_core_refused()
        raise RemoraError("remora: nothing to capture: no live process and no "
                          "core file (gdb -p PID, or gdb PROGRAM CORE)")
    running = [t.num for t in inf.threads() if t.is_valid() and t.is_running()]
    if running:
        # non-stop mode: a thread that runs changes the heap while it is
        # read, and no snapshot of it could be exact
        raise RemoraError("remora: %d of the process's threads are running (gdb's non-stop "
                          "mode): stop them all first (interrupt -a)" % len(running))
    return inf


def _raise_if_core_refused():
    """With no core open: if gdb's command line named one, gdb refused it;
    raise a RemoraError saying so and why, as remora's core reader sees it."""
    path = _core_argument()
    if not path:
        return
    if not os.path.exists(path):
        why = "no such file"
    else:
        why = "gdb rejected it (its message is above); remora's core reader accepts it"
        try:
            engine.Core(path)
        except RemoraError as exc:
            why = str(exc)
            why = why[len("remora: "):] if why.startswith("remora: ") else why
            why = why[len(path) + 2:] if why.startswith(path + ": ") else why
    raise RemoraError("remora: gdb could not open the core file %s: %s" % (path, why))


def _capture_thread(inf, version):
    """The thread the agent runs on: the one holding the GIL (as a
    tp_traverse that looks at its thread state expects), else the
    selected one.  Every other thread stays stopped either way."""
    holder = _gil_holder_lwp(version)
    if holder:
        for t in inf.threads():
            if t.ptid[1] == holder:
                return t
    return gdb.selected_thread()


def _selected_level():
    """The level of the frame the user selected (gdb's `frame` says it:
    "#2  0x... in f () ..."), or None.  Not gdb.selected_frame(): that
    identifies the frame with the unwind tables and debug info of the
    code it is in, a quarter of a second on a first attach, where `frame`
    prints what gdb already knows."""
    try:
        text = gdb.execute("frame", to_string=True)
    except gdb.error:
        return None
    m = re.match(r"#(\d+)\s", text)
    return int(m.group(1)) if m else None


def _reselect(thread, level):
    """Selects thread and its frame at level again, as the user had them
    (the thread is back where it was: the same stack).  A Ctrl-C that
    interrupted the capture may still be pending in gdb and come out
    here: returns whether one did (the selection is made anyway)."""
    interrupted = False
    for _attempt in range(3):
        try:
            if thread is not None and thread.is_valid():
                thread.switch()
                if level:
                    gdb.execute("frame level %d" % level, to_string=True)
            return interrupted
        except KeyboardInterrupt:
            interrupted = True
        except gdb.error:
            return interrupted
    return interrupted


def capture(inferior=None, options=0, keep_frame=True):
    """Capture the heap of a stopped live inferior by injecting the agent;
    returns the path of a new in-memory snapshot file.  Raises RemoraError
    with one line on failure.  options: AS_OUTSIDE walks as a reader from
    outside would (tests).  keep_frame: select the user's frame again
    after (False where there is no user)."""
    global last_result
    inf = _live_inferior(inferior)
    version, descriptor = layout.build()
    selected = gdb.selected_thread()
    level = _selected_level() if keep_frame else None
    fd, path = _new_sink()
    t0 = time.perf_counter()
    interrupted = False
    thread = _capture_thread(inf, version)
    try:
        with inject.HeldStill():
            try:
                job = inject.Capture(inf, thread, descriptor, fd, options)
                fields = job.run()
            except KeyboardInterrupt:
                interrupted = True
            finally:
                # a Ctrl-C while remora ran the thread, not yet raised
                interrupted = inject.take_interrupt() or interrupted
    except BaseException:
        discard(path)
        raise
    finally:
        interrupted = _reselect(selected, level) or interrupted
    if interrupted:
        discard(path)
        raise RemoraError("remora: capture interrupted; the agent stopped and the process "
                          "is as it was")
    (status, errnum, nodes, edges, roots, types, bad, faults, traversed,
     segments, peak, written, flags, partial_why) = fields
    last_result = {
        "status": status, "errnum": errnum, "nodes": nodes, "edges": edges,
        "roots": roots, "types": types, "bad_objects": bad,
        "read_faults": faults, "traversed": traversed, "segments": segments,
        "peak_mapped": peak, "bytes_written": written, "flags": flags,
        "partial_why": partial_why, "python_version": version, "path": path, "mode": "injected",
        "yields": job.yields, "stops": job.stops, "scratch_bytes": job.total,
        "inject_seconds": job.seconds.get("inject", 0.0),
        "walk_seconds": job.seconds.get("walk", 0.0),
        "total_seconds": time.perf_counter() - t0,
    }
    if status != 0:
        discard(path)
        text = inject.STATUS_TEXT.get(status, "status %d" % status)
        if errnum:
            text += " (%s)" % os.strerror(errnum)
        raise RemoraError("remora: capture failed: " + text)
    engine.patch_flags(fd, flags)
    progress.remember(progress.process_key(inf.pid), nodes)
    return path
