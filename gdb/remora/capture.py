"""capture.py — capture the heap of the inferior into a snapshot file, by
one of three paths (capture_auto() picks):

  capture()          a live process, by injecting the agent (below);
  capture_outside()  a live process read from gdb's own process through
                     /proc/PID/mem (py-heap -no-inject, or when injecting
                     is unsafe): the walker runs in libremora, nothing runs
                     in the target;
  capture_core()     a core file, through libelf and the files its NT_FILE
                     note names, as gdb found them.

Injection, step by step (DESIGN.md invariants 1 and 2):
  1. refuse unless every thread is outside malloc and the dynamic loader
     (dlopen takes their locks; a thread stopped inside would deadlock us);
  2. map one scratch area in the target (mmap: a system call, no lock);
  3. write the agent's path there and dlopen() it;
  4. write the argument block (snapshot path + layout descriptor) there and
     call remora_agent_capture() on the thread holding the GIL, so no
     other thread runs Python code while the agent reads;
  5. dlclose() the agent and munmap() the scratch area, whatever happened.
Every call runs with `unwindonsignal on`, so a signal inside the target
unwinds the call instead of leaving the target in it.  scheduler-locking
is left alone: dlopen may need a lock another thread holds.

Only gdb's own commands touch the target; nothing here allocates in it.
"""

import atexit
import ctypes
import os
import re
import shutil
import struct
import tempfile
import time

import gdb

from . import elfsyms, engine, layout, paths
from .errors import RemoraError

AGENT_ABI = 2
AS_OUTSIDE = 1   # REMORA_AGENT_AS_OUTSIDE: walk without calling tp_traverse
PATH_MAX = 4096
RESULT_FORMAT = "<ii10QII"
RESULT_SIZE = struct.calcsize(RESULT_FORMAT)
RTLD_NOW = 2
PROT_RW = 3
MAP_PRIVATE_ANON = 0x22

STATUS_TEXT = {
    1: "the agent rejected its arguments (version mismatch?)",
    2: "the agent could not read /proc/self/maps",
    3: "the agent could not create the snapshot file",
    4: "the agent could not map memory in the target",
    5: "the layout descriptor is incomplete for this interpreter",
    6: "no interpreter found (_PyRuntime has no interpreters: "
       "not initialized yet, or finalizing)",
    7: "writing the snapshot failed",
}

# Functions in whose frames a thread holds (or may hold) malloc's or the
# dynamic loader's locks.
_MALLOC_NAMES = {
    "malloc", "free", "realloc", "calloc", "memalign", "posix_memalign",
    "aligned_alloc", "valloc", "pvalloc", "cfree", "malloc_trim",
    "malloc_consolidate", "sysmalloc", "systrim", "__libc_malloc",
    "__libc_free", "__libc_realloc", "__libc_calloc", "__libc_memalign",
    "_int_malloc", "_int_free", "_int_realloc", "_int_memalign",
    "tcache_init", "arena_get2", "__malloc_arena_thread_freeres",
    "malloc_printerr", "__malloc_fork_lock_parent", "_mid_memalign",
}
_MALLOC_PREFIXES = ("__GI___libc_malloc", "__GI___libc_free", "_int_", "tcache_",
                    "__libc_malloc", "__libc_free", "__libc_realloc",
                    "__libc_calloc", "malloc_")
_LOADER_NAMES = {"dlopen", "dlclose", "dlsym", "dlmopen", "dlvsym", "dladdr",
                 "dl_iterate_phdr", "__libc_dlopen_mode", "__libc_dlclose",
                 "__libc_dlsym", "dlerror"}
_LOADER_PREFIXES = ("_dl_", "__dl", "dl_open", "dl_close", "___dlopen",
                    "__dlopen", "__dlclose", "dlopen_", "_dlerror")

last_result = None   # dict of the last capture's figures (tests, bench)
_call_times = []     # seconds each inferior call of the last capture took
_tmpdir = None


class _InInterpreter(Exception):
    """Raised by _frame_problem at the first frame of the interpreter."""


def _in_interpreter(solib):
    """Frames of the executable or libpython: never malloc or the loader.
    Everything a thread is doing in malloc or dlopen lies above (newer
    than) its newest such frame, so the check stops there: unwinding
    further, and naming interpreter frames, would make gdb read
    libpython's full debug info, the slow part of a first capture."""
    return solib is None or os.path.basename(solib).startswith("libpython")


def _frame_problem(frame):
    """What makes injection unsafe in this frame, or None."""
    try:
        solib = gdb.solib_name(frame.pc())
    except gdb.error:
        solib = ""
    if _in_interpreter(solib):
        raise _InInterpreter()
    name = frame.name() or ""
    base = name.split("@")[0]
    if base in _MALLOC_NAMES or base.startswith(_MALLOC_PREFIXES):
        return "inside malloc (%s)" % base
    if base in _LOADER_NAMES or base.startswith(_LOADER_PREFIXES):
        return "inside the dynamic loader (%s)" % base
    if "/ld-linux" in solib or os.path.basename(solib).startswith("ld-"):
        return "inside the dynamic loader (%s)" % (base or os.path.basename(solib))
    return None


def unsafe_threads(inferior):
    """[(thread, reason)] for threads stopped where injection could
    deadlock.  Selection is restored."""
    problems = []
    selected = gdb.selected_thread()
    try:
        frame0 = gdb.selected_frame()
    except gdb.error:
        frame0 = None
    try:
        for thread in inferior.threads():
            if not thread.is_valid() or thread.is_exited():
                continue
            thread.switch()
            try:
                frame = gdb.newest_frame()
            except gdb.error:
                continue
            # malloc and the loader take their locks near the top of the
            # stack; 32 frames covers dlopen's deepest path into malloc.
            depth = 0
            while frame is not None and depth < 32:
                try:
                    reason = _frame_problem(frame)
                except _InInterpreter:
                    break
                if reason:
                    problems.append((thread, reason))
                    break
                try:
                    frame = frame.older()
                except gdb.error:
                    break
                depth += 1
    finally:
        if selected is not None and selected.is_valid():
            selected.switch()
            if frame0 is not None and frame0.is_valid():
                frame0.select()
    return problems


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


def _call(expr):
    try:
        t = time.perf_counter()
        v = gdb.parse_and_eval(expr)
        _call_times.append(time.perf_counter() - t)
        return v
    except gdb.error as e:
        raise RemoraError("remora: call into the target failed: %s" % e) from None


_LIBC_FUNCTIONS = ("mmap", "munmap", "dlopen", "dlsym", "dlclose", "dlerror")
_libc = {}   # name -> address, for the process being captured


def _fn(name, signature):
    """A C cast expression calling `name` with `signature`, e.g.
    _fn('mmap', 'void *(*)(void *, unsigned long, int, int, int, long)').
    By address when libc's symbol table gave one (fast), else by name."""
    return "((%s)%s)" % (signature, _libc.get(name, name))


def _snapshot_path(pid):
    global _tmpdir
    if _tmpdir is None or not os.path.isdir(_tmpdir):
        # memory-backed when possible: the file is written once, read once
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        _tmpdir = tempfile.mkdtemp(prefix="remora-", dir=base)
        # the target may run as another user: let it create (not list) files
        os.chmod(_tmpdir, 0o733)
    name = "heap-%d-%d.remora" % (pid, time.monotonic_ns())
    return os.path.join(_tmpdir, name)


def discard(path):
    """Removes a snapshot file capture() made (its mappings stay valid)."""
    try:
        os.unlink(path)
    except OSError:
        pass


def _remove_tmpdir():
    if _tmpdir is not None:
        shutil.rmtree(_tmpdir, ignore_errors=True)


atexit.register(_remove_tmpdir)


class _Stats(ctypes.Structure):
    """struct remora_capture_stats (include/remora/remora.h)."""
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "nodes", "edges", "roots", "types", "bad_objects", "read_faults",
        "peak_mapped", "bytes_written", "reader_reads", "reader_syscalls")] + [
        ("snapshot_flags", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


def capture_outside(inferior=None):
    """Capture the heap of a stopped live inferior by reading its memory
    from gdb's process (/proc/PID/mem): nothing runs in the target.
    Returns the path of a new snapshot file; RemoraError on failure."""
    global last_result
    inf = _live_inferior(inferior)
    version, descriptor = layout.build()
    path = _snapshot_path(inf.pid)
    stats = _Stats()
    t0 = time.perf_counter()
    engine.capture_proc(inf.pid, descriptor, path, stats)
    seconds = time.perf_counter() - t0
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
    """The file gdb reads the interpreter's symbols from (the one defining
    _PyRuntime, not its separate debug file), or None."""
    sym = gdb.lookup_global_symbol("_PyRuntime") or gdb.lookup_static_symbol("_PyRuntime")
    if sym is None or sym.symtab is None:
        return None
    objfile = sym.symtab.objfile
    return (objfile.owner or objfile).filename


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
    _check_interpreter(files, core_path)
    version, descriptor = layout.build()
    path = _snapshot_path(gdb.selected_inferior().pid)
    stats = _Stats()
    t1 = time.perf_counter()
    core.capture(descriptor, path, stats)
    t2 = time.perf_counter()
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
    for expr in ("_PyRuntime._finalizing._value", "_PyRuntime._finalizing"):
        try:
            return int(gdb.parse_and_eval(expr)) != 0
        except (gdb.error, RuntimeError):
            continue
    return False


def _warn_if_partial():
    r = last_result or {}
    if r.get("flags", 0) & 1:
        gdb.write("remora: the snapshot is partial: %d addresses were not objects "
                  "and %d reads failed (torn or damaged memory)\n"
                  % (r.get("bad_objects", 0), r.get("read_faults", 0)))


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


def capture_auto(inferior=None, inject=True):
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
    if not inject:
        path = capture_outside(inf)
    else:
        try:
            path = capture(inf)
        except _Unsafe as exc:
            gdb.write("%s; reading the process from outside instead\n" % exc)
            path = capture_outside(inf)
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


class _Unsafe(RemoraError):
    """Injection refused: a thread is inside malloc or the loader."""


def capture(inferior=None, options=0):
    """Capture the heap of a stopped live inferior; returns the path of a
    new snapshot file.  Raises RemoraError with one line on failure.
    options: AS_OUTSIDE walks as a reader from outside would (tests)."""
    global last_result
    inf = _live_inferior(inferior)
    try:
        gdb.selected_thread()
        running = gdb.selected_thread().is_running()
    except (gdb.error, AttributeError):
        running = False
    if running:
        raise RemoraError("remora: the process is running: stop it first "
                          "(Ctrl-C or a breakpoint)")
    agent = paths.agent_library()
    if not os.path.exists(agent):
        raise RemoraError("remora: " + paths.missing_hint(agent))

    version, descriptor = layout.build()
    problems = unsafe_threads(inf)
    if problems:
        thread, reason = problems[0]
        raise _Unsafe("remora: refusing to inject: thread %d (LWP %d) is %s"
                      % (thread.num, thread.ptid[1], reason))

    _libc.clear()
    _libc.update(elfsyms.libc_functions(inf.pid, _LIBC_FUNCTIONS) or {})
    path = _snapshot_path(inf.pid)
    pathb = os.fsencode(path)
    if len(pathb) >= PATH_MAX:
        raise RemoraError("remora: snapshot path too long: %s" % path)
    args = struct.pack("<IIII", AGENT_ABI, 16 + PATH_MAX + len(descriptor),
                       options, 0)
    args += pathb + b"\0" * (PATH_MAX - len(pathb))
    args += descriptor
    agent_b = os.fsencode(agent) + b"\0"
    sym_b = b"remora_agent_capture\0"
    # scratch: [args][result][agent path][symbol name]
    off_result = (len(args) + 15) & ~15
    off_agent = off_result + ((RESULT_SIZE + 15) & ~15)
    off_sym = off_agent + ((len(agent_b) + 15) & ~15)
    scratch_size = (off_sym + len(sym_b) + 4095) & ~4095

    selected = gdb.selected_thread()
    try:
        frame0 = gdb.selected_frame()
    except gdb.error:
        frame0 = None
    holder = _gil_holder_lwp(version)
    if holder:
        for t in inf.threads():
            if t.ptid[1] == holder:
                t.switch()
                break

    saved = gdb.parameter("unwindonsignal")
    saved_solib = gdb.parameter("auto-solib-add")
    gdb.execute("set unwindonsignal on", to_string=True)
    # gdb need not read the agent's symbols: it is gone before we return
    gdb.execute("set auto-solib-add off", to_string=True)
    scratch = handle = 0
    del _call_times[:]
    t0 = time.perf_counter()
    try:
        scratch = int(_call("%s(0, %d, %d, %d, -1, 0)" % (
            _fn("mmap", "void *(*)(void *, unsigned long, int, int, int, long)"),
            scratch_size, PROT_RW, MAP_PRIVATE_ANON)))
        if scratch in (0, 0xFFFFFFFFFFFFFFFF):
            scratch = 0
            raise RemoraError("remora: could not map scratch memory in the target")
        inf.write_memory(scratch, args)
        inf.write_memory(scratch + off_agent, agent_b)
        inf.write_memory(scratch + off_sym, sym_b)
        handle = int(_call("%s(%d, %d)" % (
            _fn("dlopen", "void *(*)(const char *, int)"),
            scratch + off_agent, RTLD_NOW)))
        if not handle:
            why = ""
            try:
                msg = int(_call("%s()" % _fn("dlerror", "char *(*)(void)")))
                if msg:
                    why = ": " + gdb.Value(msg).cast(
                        gdb.lookup_type("char").pointer()).string()
            except (gdb.error, RemoraError):
                pass
            raise RemoraError("remora: the target could not load the agent%s" % why)
        fn = int(_call("%s(%d, %d)" % (
            _fn("dlsym", "void *(*)(void *, const char *)"),
            handle, scratch + off_sym)))
        if not fn:
            raise RemoraError("remora: the agent has no remora_agent_capture")
        t1 = time.perf_counter()
        _call("((int (*)(void *, void *))%d)(%d, %d)" % (
            fn, scratch, scratch + off_result))
        t2 = time.perf_counter()
        raw = bytes(inf.read_memory(scratch + off_result, RESULT_SIZE))
    finally:
        try:
            if handle:
                _call("%s(%d)" % (_fn("dlclose", "int (*)(void *)"), handle))
            if scratch:
                _call("%s(%d, %d)" % (
                    _fn("munmap", "int (*)(void *, unsigned long)"),
                    scratch, scratch_size))
        finally:
            gdb.execute("set unwindonsignal %s" % ("on" if saved else "off"),
                        to_string=True)
            gdb.execute("set auto-solib-add %s" % ("on" if saved_solib else "off"),
                        to_string=True)
            if selected is not None and selected.is_valid():
                selected.switch()
                if frame0 is not None and frame0.is_valid():
                    frame0.select()

    fields = struct.unpack(RESULT_FORMAT, raw)
    (status, errnum, nodes, edges, roots, types, bad, faults, traversed,
     segments, peak, written, flags, _reserved) = fields
    last_result = {
        "status": status, "errnum": errnum, "nodes": nodes, "edges": edges,
        "roots": roots, "types": types, "bad_objects": bad,
        "read_faults": faults, "traversed": traversed, "segments": segments,
        "peak_mapped": peak, "bytes_written": written, "flags": flags,
        "python_version": version, "path": path,
        "inject_seconds": t1 - t0, "walk_seconds": t2 - t1,
        "total_seconds": time.perf_counter() - t0,
        # mmap, dlopen, dlsym, capture, dlclose, munmap
        "call_seconds": list(_call_times),
    }
    if status != 0:
        text = STATUS_TEXT.get(status, "status %d" % status)
        if errnum:
            text += " (%s)" % os.strerror(errnum)
        try:
            os.unlink(path)
        except OSError:
            pass
        raise RemoraError("remora: capture failed: " + text)
    return path
