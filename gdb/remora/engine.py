"""engine.py — the ctypes binding of libremora's query engine
(include/remora/remora.h): snapshots, id sets, partitions.

Invariants:
  1. This is the one place C errors become Python exceptions: every call
     that returns a struct remora_error * goes through _check(), which
     raises RemoraError with the C message and frees the C error.
  2. Each handle class owns one C object and destroys it when collected;
     a set or partition holds a reference to its Snapshot, so the snapshot
     outlives everything made from it (remora.h: destroy sets first).
  3. No computation here: rows, counts and sizes come from C as they are.
"""

import ctypes
import os

from .errors import RemoraError

BY_CLODO, BY_TYPE, BY_SIZE, BY_UNITY = 0, 1, 2, 3
BY_VIA, BY_RCS, BY_ID, BY_MODULE = 4, 5, 6, 7
EXPORT_HEAPSNAPSHOT, EXPORT_SQLITE = 1, 2
LABEL_MAX = 4096
# via words (src/snapshot_format.h): kind << 56 | argument
VIA_INDEX, VIA_DICT_VALUE, VIA_FIELD = 1, 2, 5
FIELD_MRO, FIELD_NAME, FIELD_QUALNAME, FIELD_MODULE = 3, 6, 7, 8
FIELD_SELF, FIELD_FUNC = 18, 19
FIELD_CO_FILENAME, FIELD_CO_NAME, FIELD_CO_QUALNAME = 22, 23, 24
FIELD_F_CODE = 31
_VIA_ARG = (1 << 56) - 1
NO_NODE = 0xFFFFFFFF

_c_err = ctypes.c_void_p
_u32, _u64, _size = ctypes.c_uint32, ctypes.c_uint64, ctypes.c_size_t
_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)

# name: (restype, argtypes)
_PROTOTYPES = {
    "remora_error_code": (ctypes.c_int, [_p]),
    "remora_error_message": (ctypes.c_char_p, [_p]),
    "remora_error_errno": (ctypes.c_int, [_p]),
    "remora_error_path": (ctypes.c_char_p, [_p]),
    "remora_error_has_address": (ctypes.c_bool, [_p]),
    "remora_error_address": (_u64, [_p]),
    "remora_error_destroy": (None, [_p]),
    "remora_snapshot_open": (_c_err, [ctypes.c_char_p, _pp]),
    "remora_capture_proc": (_c_err, [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t,
                                     ctypes.c_int, _p]),
    "remora_capture_reader": (_c_err, [_p, ctypes.c_char_p, ctypes.c_size_t,
                                       ctypes.c_int, _p]),
    "remora_capture_sink_create": (ctypes.c_int, []),
    "remora_capture_patch_flags": (_c_err, [ctypes.c_int, _u32]),
    "remora_big_trim": (None, []),
    "remora_big_kept_bytes": (_u64, []),
    "remora_drainer_start": (_c_err, [ctypes.c_int, _u64, ctypes.c_int, _pp]),
    "remora_drainer_sync": (_c_err, [_p, ctypes.POINTER(_u64)]),
    "remora_drainer_stop": (_c_err, [_p]),
    "remora_capture_run": (ctypes.c_int, [ctypes.c_int, ctypes.c_int, ctypes.POINTER(_u64),
                                          ctypes.c_int, _u64, _u64, _u64, _p]),
    "remora_capture_home_frame": (ctypes.c_int, [ctypes.c_int, ctypes.c_int, _u64,
                                                 ctypes.POINTER(_u64), _u64, _u64,
                                                 ctypes.POINTER(_u64), ctypes.POINTER(_u64)]),
    "remora_capture_get_regs": (ctypes.c_int, [ctypes.c_int, ctypes.POINTER(_u64)]),
    "remora_capture_set_regs": (ctypes.c_int, [ctypes.c_int, ctypes.POINTER(_u64), _u64]),
    "remora_partial_text": (ctypes.c_char_p, [_u32]),
    "remora_capture_find": (_u64, [ctypes.c_int, _u64, _u64, ctypes.c_char_p, _size]),
    "remora_capture_segments": (_c_err, [ctypes.c_int, ctypes.POINTER(_u64), _size,
                                         ctypes.POINTER(_size)]),
    "remora_agent_image_open": (_c_err, [ctypes.c_char_p, _pp]),
    "remora_agent_image_destroy": (None, [_p]),
    "remora_agent_image_size": (_u64, [_p]),
    "remora_agent_image_text_size": (_u64, [_p]),
    "remora_agent_image_symbol": (ctypes.c_int64, [_p, ctypes.c_char_p]),
    "remora_agent_image_render": (None, [_p, _u64, _p]),
    "remora_core_open_flags": (_c_err, [ctypes.c_char_p, ctypes.c_uint, _pp]),
    "remora_core_truncated": (ctypes.c_bool, [_p, ctypes.POINTER(_u64),
                                              ctypes.POINTER(_u64)]),
    "remora_core_saved": (ctypes.c_bool, [_p, _u64, _u64]),
    "remora_core_destroy": (None, [_p]),
    "remora_core_reader": (_p, [_p]),
    "remora_core_file_count": (ctypes.c_size_t, [_p]),
    "remora_core_file_get": (_c_err, [_p, ctypes.c_size_t, ctypes.POINTER(_u64),
                                      ctypes.POINTER(_u64), ctypes.POINTER(_u64),
                                      ctypes.POINTER(ctypes.c_char_p)]),
    "remora_core_add_file": (_c_err, [_p, ctypes.c_size_t, ctypes.c_char_p]),
    "remora_snapshot_destroy": (None, [_p]),
    "remora_snapshot_path": (ctypes.c_char_p, [_p]),
    "remora_snapshot_python_version": (_u32, [_p]),
    "remora_snapshot_flags": (_u32, [_p]),
    "remora_snapshot_node_count": (_u32, [_p]),
    "remora_snapshot_edge_count": (_u64, [_p]),
    "remora_snapshot_dangling_count": (_u64, [_p]),
    "remora_snapshot_root_count": (_u32, [_p]),
    "remora_snapshot_type_count": (_u32, [_p]),
    "remora_snapshot_total_size": (_u64, [_p]),
    "remora_snapshot_node_address": (_u64, [_p, _u32]),
    "remora_snapshot_node_type": (_u32, [_p, _u32]),
    "remora_snapshot_node_size": (_u64, [_p, _u32]),
    "remora_snapshot_node_repr": (ctypes.c_void_p, [_p, _u32, ctypes.POINTER(_size)]),
    "remora_snapshot_node_owner": (_u32, [_p, _u32]),
    "remora_snapshot_node_flags": (_u32, [_p, _u32]),
    "remora_snapshot_nodes_of_type": (_size, [_p, _u32, ctypes.POINTER(_u32), _size]),
    "remora_snapshot_in_ranges": (None, [_p, ctypes.POINTER(_u64), _size,
                                         ctypes.POINTER(_u64), ctypes.POINTER(_u64)]),
    "remora_snapshot_nodes_info": (None, [_p, ctypes.POINTER(_u32), _size,
                                          ctypes.POINTER(_u64), ctypes.POINTER(_u32),
                                          ctypes.POINTER(_u32)]),
    "remora_snapshot_type_flags": (_u64, [_p, _u32]),
    "remora_snapshot_node_find": (_u32, [_p, _u64]),
    "remora_snapshot_type_name": (ctypes.c_char_p, [_p, _u32]),
    "remora_snapshot_type_module": (ctypes.c_char_p, [_p, _u32]),
    "remora_snapshot_type_display": (ctypes.c_char_p, [_p, _u32]),
    "remora_snapshot_type_address": (_u64, [_p, _u32]),
    "remora_idset_create_all": (_c_err, [_p, _pp]),
    "remora_idset_create_empty": (_c_err, [_p, _pp]),
    "remora_idset_create_from_ids": (_c_err, [_p, ctypes.POINTER(_u32), _size, _pp]),
    "remora_idset_create_union": (_c_err, [_p, _p, _pp]),
    "remora_idset_create_intersection": (_c_err, [_p, _p, _pp]),
    "remora_idset_create_difference": (_c_err, [_p, _p, _pp]),
    "remora_idset_create_symmetric_difference": (_c_err, [_p, _p, _pp]),
    "remora_idset_create_complement": (_c_err, [_p, _pp]),
    "remora_idset_create_referents": (_c_err, [_p, _pp]),
    "remora_idset_create_referrers": (_c_err, [_p, _pp]),
    "remora_idset_destroy": (None, [_p]),
    "remora_idset_count": (_u64, [_p]),
    "remora_idset_size": (_u64, [_p]),
    "remora_idset_count_flagged": (_u64, [_p, _u32]),
    "remora_idset_owned": (_u64, [_p]),
    "remora_idset_contains": (ctypes.c_bool, [_p, _u32]),
    "remora_idset_ids": (_size, [_p, _u64, ctypes.POINTER(_u32), _size]),
    "remora_idset_equal": (ctypes.c_bool, [_p, _p]),
    "remora_idset_subset": (ctypes.c_bool, [_p, _p]),
    "remora_partition_create": (_c_err, [_p, ctypes.c_int, _pp]),
    "remora_partition_destroy": (None, [_p]),
    "remora_partition_header": (ctypes.c_char_p, [_p]),
    "remora_partition_count": (_u64, [_p]),
    "remora_partition_size": (_u64, [_p]),
    "remora_partition_num_rows": (_size, [_p]),
    "remora_partition_row_label": (ctypes.c_char_p, [_p, _size]),
    "remora_partition_row_count": (_u64, [_p, _size]),
    "remora_partition_row_size": (_u64, [_p, _size]),
    "remora_partition_row_cumulative": (_u64, [_p, _size]),
    "remora_partition_row_set": (_c_err, [_p, _size, _pp]),
    "remora_partition_create_and": (_c_err, [_p, ctypes.POINTER(ctypes.c_int), _size, _pp]),
    "remora_partition_select": (_c_err, [_p, ctypes.c_char_p, _pp]),
    "remora_partition_select_kind": (_c_err, [_p, ctypes.POINTER(ctypes.c_char_p), _size,
                                              ctypes.c_char_p, _pp]),
    "remora_snapshot_module_name": (_size, [_p, _u32, ctypes.c_char_p, _size]),
    "remora_snapshot_path_step": (_size, [_p, ctypes.c_char_p, _u32, _u64,
                                          ctypes.c_char_p, _size]),
    "remora_snapshot_node_edges": (_u32, [_p, _u32, ctypes.POINTER(ctypes.POINTER(_u32)),
                                          ctypes.POINTER(ctypes.POINTER(_u64))]),
    "remora_idset_save": (_c_err, [_p, ctypes.c_char_p]),
    "remora_idset_create_saved": (_c_err, [_p, _pp]),
    "remora_idset_create_present": (_c_err, [_p, _p, _pp]),
    "remora_idset_create_dominos": (_c_err, [_p, _pp]),
    "remora_snapshot_dominators": (_c_err, [_p]),
    "remora_snapshot_dominated": (_c_err, [_p, _u32, _pp]),
    "remora_snapshot_export": (_c_err, [_p, ctypes.c_int, ctypes.c_char_p,
                                        ctypes.POINTER(_u32), ctypes.POINTER(ctypes.c_char_p),
                                        _size]),
    "remora_snapshot_node_retained": (_u64, [_p, _u32]),
    "remora_snapshot_node_reachable": (ctypes.c_bool, [_p, _u32]),
    "remora_idset_create_imdom": (_c_err, [_p, _pp]),
    "remora_idset_top_retained": (_c_err, [_p, ctypes.POINTER(_u32), _size,
                                           ctypes.POINTER(_size)]),
    "remora_paths_create": (_c_err, [_p, _u32, _pp]),
    "remora_paths_destroy": (None, [_p]),
    "remora_paths_count": (_u32, [_p]),
    "remora_paths_truncated": (ctypes.c_bool, [_p]),
    "remora_paths_length": (_u32, [_p, _u32]),
    "remora_paths_step": (ctypes.c_bool, [_p, _u32, _u32, ctypes.POINTER(_u32),
                                          ctypes.POINTER(_u32), ctypes.POINTER(_u64)]),
    "remora_paths_root": (_u32, [_p, _u32]),
}

_lib = None


def library_path():
    """Absolute path of libremora.so: remora.paths decides; without it (a
    bare source tree), <top>/.libs/libremora.so."""
    try:
        from . import paths
    except ImportError:
        top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        return os.path.join(top, ".libs", "libremora.so")
    return paths.engine_library()


def lib():
    """The loaded engine, its prototypes declared (loaded once)."""
    global _lib
    if _lib is not None:
        return _lib
    path = library_path()
    if not os.path.exists(path):
        try:
            from . import paths
            hint = paths.missing_hint(path)
        except ImportError:
            hint = "%s is missing: build remora first" % path
        raise RemoraError("remora: " + hint)
    try:
        loaded = ctypes.CDLL(path)
    except OSError as e:
        raise RemoraError("remora: cannot load the engine %s: %s" % (path, e)) from None
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(loaded, name)
        except AttributeError:
            raise RemoraError("remora: %s lacks %s: rebuild remora" % (path, name)) from None
        fn.restype = restype
        fn.argtypes = argtypes
    _lib = loaded
    return _lib


def _text(b):
    return b.decode("utf-8", "replace") if b is not None else None


def _check(err):
    """Raise the C error err (a pointer, or None for success) as a
    RemoraError, freeing it (invariant 1)."""
    if not err:
        return
    L = lib()
    message = _text(L.remora_error_message(err))
    code = L.remora_error_code(err)
    errnum = L.remora_error_errno(err) or None
    path = _text(L.remora_error_path(err))
    address = L.remora_error_address(err) if L.remora_error_has_address(err) else None
    L.remora_error_destroy(err)
    if not message.startswith("remora: "):
        message = "remora: " + message
    raise RemoraError(message, code=code, errno=errnum, path=path, address=address)


def capture_proc(pid, descriptor, fd, stats):
    """Walk the stopped process pid from this process into the empty
    snapshot file fd; stats is a ctypes struct remora_capture_stats."""
    L = lib()
    _check(L.remora_capture_proc(pid, descriptor, len(descriptor), fd, ctypes.byref(stats)))


def sink_create():
    """A new in-memory snapshot file (memfd): its fd.  Nothing of it is on
    any file system, so nothing stays behind if gdb dies."""
    fd = lib().remora_capture_sink_create()
    if fd < 0:
        raise RemoraError("remora: cannot create an in-memory file for the snapshot: %s"
                          % os.strerror(-fd), errno=-fd)
    return fd


def big_trim():
    """Give back the memory the engine keeps from freed snapshots for the
    next capture."""
    lib().remora_big_trim()


def big_kept_bytes():
    return lib().remora_big_kept_bytes()


class Drainer:
    """A thread of gdb's that copies the agent's stream slots into fd
    while the walk runs (src/agent.h); ctl: the agent's control block in
    process pid."""

    def __init__(self, pid, ctl, fd):
        handle = ctypes.c_void_p()
        _check(lib().remora_drainer_start(pid, ctl, fd, ctypes.byref(handle)))
        self._handle = handle

    def sync(self):
        """Copies every slot filled so far; the number of slots copied."""
        n = _u64()
        _check(lib().remora_drainer_sync(self._handle, ctypes.byref(n)))
        return n.value

    def stop(self):
        handle, self._handle = self._handle, None
        if handle:
            _check(lib().remora_drainer_stop(handle))


RUN_RETURNED, RUN_SIGNAL, RUN_EVENT, RUN_GONE = 1, 2, 3, 4


class RunStop(ctypes.Structure):
    """struct remora_run_stop: where remora_capture_run's thread stopped."""
    _fields_ = [("kind", ctypes.c_int32), ("signal", ctypes.c_int32),
                ("which", ctypes.c_int32), ("event", ctypes.c_int32),
                ("interrupted", ctypes.c_int32), ("pad", ctypes.c_int32),
                ("rip", _u64), ("rsp", _u64), ("rax", _u64)]


def run_thread(pid, tid, returns=(), pass_mask=0, stop_mask=0, abort_addr=0):
    """Runs thread tid (stopped, traced by gdb) without gdb until one of
    its system calls returns to one of returns ((rip, rsp) pairs; rsp 0:
    any) or it stops for a signal in stop_mask (remora.h:
    remora_capture_run); the RunStop."""
    words = [w for pair in returns for w in pair]
    arr = (_u64 * max(len(words), 1))(*words)
    stop = RunStop()
    r = lib().remora_capture_run(pid, tid, arr, len(returns), pass_mask, stop_mask,
                                 abort_addr, ctypes.byref(stop))
    if r < 0:
        raise RemoraError("remora: cannot run thread %d for the capture: %s"
                          % (tid, os.strerror(-r)), errno=-r)
    return stop


# remora_capture_get_regs' words (remora.h), by gdb's names
REGS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
        "r12", "r13", "r14", "r15", "rip", "eflags", "orig_rax")


def get_regs(tid):
    """{name: value} of thread tid's general registers and orig_rax, as
    the kernel keeps them (no frame of gdb's computed)."""
    words = (_u64 * len(REGS))()
    r = lib().remora_capture_get_regs(tid, words)
    if r < 0:
        raise RemoraError("remora: cannot read thread %d's registers: %s"
                          % (tid, os.strerror(-r)), errno=-r)
    return dict(zip(REGS, words))


def set_regs(tid, regs):
    """Sets thread tid's registers named in regs (REGS' names); the caller
    has gdb read them afresh."""
    words = (_u64 * len(REGS))()
    mask = 0
    for i, name in enumerate(REGS):
        if name in regs:
            words[i] = regs[name] & (2 ** 64 - 1)
            mask |= 1 << i
    r = lib().remora_capture_set_regs(tid, words, mask)
    if r < 0:
        raise RemoraError("remora: cannot set thread %d's registers: %s"
                          % (tid, os.strerror(-r)), errno=-r)


def home_frame(pid, tid, below, regs, restore_rt, share_fp=0):
    """Writes under tid's stack, below `below`, the frame that takes the
    thread to regs (18 words, struct remora_sigframe_regs' order) by
    rt_sigreturn (remora.h: remora_capture_home_frame): (its address, its
    extended state's), or raises with the errno."""
    at, fp = _u64(), _u64()
    r = lib().remora_capture_home_frame(pid, tid, below, (_u64 * 18)(*regs), restore_rt,
                                        share_fp, ctypes.byref(at), ctypes.byref(fp))
    if r < 0:
        raise RemoraError("remora: cannot write a frame under thread %d's stack: %s"
                          % (tid, os.strerror(-r)), errno=-r)
    return at.value, fp.value


def partial_text(why):
    """A partial snapshot's first cause in words (remora_partial_text), or
    None."""
    text = lib().remora_partial_text(why) if why else None
    return text.decode() if text else None


def find_bytes(pid, start, end, pattern):
    """Address of pattern in process pid's [start, end), or None."""
    at = lib().remora_capture_find(pid, start, end, pattern, len(pattern))
    return at or None


def patch_flags(fd, flags):
    """Write a snapshot header's flags word in fd."""
    _check(lib().remora_capture_patch_flags(fd, flags))


def process_segments(pid, limit=1 << 16):
    """The readable mappings of pid, as a flat array of ctypes uint64
    (start, end, start, end...), and their count."""
    words = (_u64 * (2 * limit))()
    count = _size()
    _check(lib().remora_capture_segments(pid, words, limit, ctypes.byref(count)))
    return words, count.value


class AgentImage:
    """remora-agent.so laid out by hand for a target (src/agent_image.h)."""

    def __init__(self, path, symbols):
        self._lib = lib()
        self._h = None
        self._h = _create(self._lib.remora_agent_image_open, os.fsencode(path))
        self.size = self._lib.remora_agent_image_size(self._h)
        self.text_size = self._lib.remora_agent_image_text_size(self._h)
        self.sym = {}
        for name in symbols:
            off = self._lib.remora_agent_image_symbol(self._h, name.encode())
            if off < 0:
                raise RemoraError("remora: %s has no %s: rebuild remora" % (path, name))
            self.sym[name] = off

    def render(self, base):
        """The image's bytes, laid out and relocated for base."""
        buf = ctypes.create_string_buffer(self.size)
        self._lib.remora_agent_image_render(self._h, base, buf)
        return buf.raw

    def __del__(self):
        if getattr(self, "_h", None):
            self._lib.remora_agent_image_destroy(self._h)
            self._h = None


CORE_ALLOW_TRUNCATED = 1   # REMORA_CORE_ALLOW_TRUNCATED
SIZES_CLAMPED = 1 << 31    # REMORA_SNAPSHOT_SIZES_CLAMPED
SNAP_SIZE_LOWER = 1 << 2   # REMORA_SNAP_SIZE_LOWER
NODE_SIZE_LOWER = 1 << 6   # REMORA_NODE_SIZE_LOWER


class Core:
    """A core file opened for reading (remora_core, src/core_reader.h).
    flags: CORE_ALLOW_TRUNCATED accepts a core cut short (its lost bytes
    fault); without it such a core is a RemoraError."""

    def __init__(self, path, flags=0):
        self._lib = lib()
        self._h = None
        self._h = _create(self._lib.remora_core_open_flags, os.fsencode(path), flags)

    def __del__(self):
        if getattr(self, "_h", None):
            self._lib.remora_core_destroy(self._h)
            self._h = None

    def files(self):
        """[(index, start, end, file_offset, path)] of the NT_FILE note."""
        out = []
        for i in range(self._lib.remora_core_file_count(self._h)):
            start, end, off = _u64(), _u64(), _u64()
            path = ctypes.c_char_p()
            _check(self._lib.remora_core_file_get(
                self._h, i, ctypes.byref(start), ctypes.byref(end),
                ctypes.byref(off), ctypes.byref(path)))
            out.append((i, start.value, end.value, off.value, _text(path.value)))
        return out

    def truncated(self):
        """(first lost address, bytes lost) of a core cut short, or None."""
        address, lost = _u64(), _u64()
        if not self._lib.remora_core_truncated(self._h, ctypes.byref(address),
                                               ctypes.byref(lost)):
            return None
        return address.value, lost.value

    def saved(self, address, length):
        """Whether the core itself saved length bytes at address."""
        return bool(self._lib.remora_core_saved(self._h, address, length))

    def add_file(self, index, local_path):
        """Back NT_FILE entry index with local_path (RemoraError if refused,
        e.g. a build-id mismatch)."""
        _check(self._lib.remora_core_add_file(self._h, index, os.fsencode(local_path)))

    def capture(self, descriptor, fd, stats):
        _check(self._lib.remora_capture_reader(
            self._lib.remora_core_reader(self._h), descriptor, len(descriptor),
            fd, ctypes.byref(stats)))


def _create(fn, *args):
    """Call a C constructor whose last argument is the result pointer."""
    out = ctypes.c_void_p()
    _check(fn(*args, ctypes.byref(out)))
    return out


class Snapshot:
    """A loaded snapshot file (remora_snapshot)."""

    def __init__(self, path):
        self._lib = lib()
        self._h = None
        self._h = _create(self._lib.remora_snapshot_open, os.fsencode(path))
        L, h = self._lib, self._h
        self.path = os.fsdecode(L.remora_snapshot_path(h))
        self.python_version = L.remora_snapshot_python_version(h)
        self.flags = L.remora_snapshot_flags(h)
        self.node_count = L.remora_snapshot_node_count(h)
        self.edge_count = L.remora_snapshot_edge_count(h)
        self.dangling_count = L.remora_snapshot_dangling_count(h)
        self.root_count = L.remora_snapshot_root_count(h)
        self.type_count = L.remora_snapshot_type_count(h)
        self.total_size = L.remora_snapshot_total_size(h)

    def __del__(self):
        if getattr(self, "_h", None):
            self._lib.remora_snapshot_destroy(self._h)
            self._h = None

    @property
    def partial(self):
        """True if the walk that wrote the snapshot skipped something."""
        return bool(self.flags & 1)

    @property
    def sizes_clamped(self):
        """True if the objects' sizes added up past 2^64 - 1 and the loader
        lowered the largest (REMORA_SNAPSHOT_SIZES_CLAMPED)."""
        return bool(self.flags & SIZES_CLAMPED)

    def node_address(self, node):
        return self._lib.remora_snapshot_node_address(self._h, node)

    def node_size(self, node):
        return self._lib.remora_snapshot_node_size(self._h, node)

    def node_type_display(self, node):
        t = self._lib.remora_snapshot_node_type(self._h, node)
        return _text(self._lib.remora_snapshot_type_display(self._h, t))

    def types(self):
        """[(type address, display name)] of the snapshot's type table."""
        L, h = self._lib, self._h
        return [(L.remora_snapshot_type_address(h, t),
                 _text(L.remora_snapshot_type_display(h, t)))
                for t in range(self.type_count)]

    def node_repr(self, node):
        n = _size()
        p = self._lib.remora_snapshot_node_repr(self._h, node, ctypes.byref(n))
        return ctypes.string_at(p, n.value).decode("utf-8", "replace") if p else ""

    def node_flags(self, node):
        """The node's REMORA_NODE_* flags (GC: 1)."""
        return self._lib.remora_snapshot_node_flags(self._h, node)

    def node_type(self, node):
        """The index of the node's type in the type table."""
        return self._lib.remora_snapshot_node_type(self._h, node)

    def nodes_info(self, ids):
        """(addresses, type indexes, flags) of the nodes ids, in order."""
        n = len(ids)
        c_ids = (_u32 * n)(*ids)
        addr, types, flags = (_u64 * n)(), (_u32 * n)(), (_u32 * n)()
        self._lib.remora_snapshot_nodes_info(self._h, c_ids, n, addr, types, flags)
        return list(addr), list(types), list(flags)

    def nodes_of_type(self, t):
        """The ids of the objects of type t (an index in the type table)."""
        n = self._lib.remora_snapshot_nodes_of_type(self._h, t, None, 0)
        buf = (_u32 * max(n, 1))()
        got = self._lib.remora_snapshot_nodes_of_type(self._h, t, buf, n)
        return list(buf[:min(n, got)])

    def in_ranges(self, ranges):
        """(count, bytes) of the objects at addresses in ranges, a list of
        (start, end) pairs."""
        flat = (_u64 * (2 * len(ranges)))(*[a for r in ranges for a in r])
        count, nbytes = _u64(), _u64()
        self._lib.remora_snapshot_in_ranges(self._h, flat, len(ranges), ctypes.byref(count),
                                            ctypes.byref(nbytes))
        return count.value, nbytes.value

    def type_flags(self, t):
        """tp_flags of type t (an index in the type table)."""
        return self._lib.remora_snapshot_type_flags(self._h, t)

    def node_owner(self, node):
        owner = self._lib.remora_snapshot_node_owner(self._h, node)
        return None if owner == NO_NODE else owner

    def find(self, address):
        """The id of the object at address, or None."""
        node = self._lib.remora_snapshot_node_find(self._h, address)
        return None if node == NO_NODE else node

    def all(self):
        return IdSetHandle(self, _create(self._lib.remora_idset_create_all, self._h))

    def saved(self):
        """The set the file was saved from (IdSet.dump), else all objects."""
        return IdSetHandle(self, _create(self._lib.remora_idset_create_saved, self._h))

    def _label(self, fn, *args):
        buf = ctypes.create_string_buffer(LABEL_MAX)
        n = fn(self._h, *args, buf, LABEL_MAX)
        if n >= LABEL_MAX:
            buf = ctypes.create_string_buffer(n + 1)
            fn(self._h, *args, buf, n + 1)
        return buf.value.decode("utf-8", "replace")

    def module_name(self, node):
        """The __name__ of the module node."""
        return self._label(self._lib.remora_snapshot_module_name, node)

    def path_step(self, prefix, root, via):
        """prefix followed by a root's (root != NO_NODE) or an edge's step."""
        return self._label(self._lib.remora_snapshot_path_step,
                           prefix.encode("utf-8"), root, via)

    def edges(self, node):
        """[(target id, via word)] of node's edges, in the walker's order."""
        targets = ctypes.POINTER(_u32)()
        vias = ctypes.POINTER(_u64)()
        n = self._lib.remora_snapshot_node_edges(self._h, node, ctypes.byref(targets),
                                                 ctypes.byref(vias))
        return [(targets[i], vias[i]) for i in range(n)]

    def edges_of_kind(self, node, kind):
        """[(target id, via argument)] of node's edges with that via kind."""
        return [(t, via & _VIA_ARG) for t, via in self.edges(node) if via >> 56 == kind]

    def field(self, node, field):
        """The target of node's C field edge `field`, or None."""
        for target, arg in self.edges_of_kind(node, VIA_FIELD):
            if arg == field:
                return target
        return None

    def dominators(self):
        """Build the dominator tree (once per snapshot)."""
        _check(self._lib.remora_snapshot_dominators(self._h))

    def node_retained(self, node):
        self.dominators()
        return self._lib.remora_snapshot_node_retained(self._h, node)

    def dominated(self, node):
        """The objects node immediately dominates (None: the root R's)."""
        return IdSetHandle(self, _create(self._lib.remora_snapshot_dominated, self._h,
                                         NO_NODE if node is None else node))

    def export(self, fmt, path, names):
        """Writes the snapshot to path in format fmt (EXPORT_*); names:
        {id: what the object is} for the objects named in words."""
        ids = sorted(names)
        c_ids = (_u32 * len(ids))(*ids)
        c_names = (ctypes.c_char_p * len(ids))(*(names[i].encode("utf-8", "replace")
                                                 for i in ids))
        _check(self._lib.remora_snapshot_export(self._h, fmt, os.fsencode(path),
                                                c_ids, c_names, len(ids)))


    def empty(self):
        return IdSetHandle(self, _create(self._lib.remora_idset_create_empty, self._h))

    def from_ids(self, ids):
        ids = list(ids)
        arr = (_u32 * len(ids))(*ids)
        return IdSetHandle(self, _create(self._lib.remora_idset_create_from_ids,
                                         self._h, arr, len(ids)))


class IdSetHandle:
    """An immutable set of object ids of one snapshot (remora_idset)."""

    def __init__(self, snapshot, handle):
        self.snapshot = snapshot
        self._lib = snapshot._lib
        self._h = handle
        self.count = self._lib.remora_idset_count(handle)
        self.size = self._lib.remora_idset_size(handle)

    def __del__(self):
        if getattr(self, "_h", None):
            self._lib.remora_idset_destroy(self._h)
            self._h = None

    def _binary(self, fn, other):
        return IdSetHandle(self.snapshot, _create(fn, self._h, other._h))

    def union(self, other):
        return self._binary(self._lib.remora_idset_create_union, other)

    def intersection(self, other):
        return self._binary(self._lib.remora_idset_create_intersection, other)

    def difference(self, other):
        return self._binary(self._lib.remora_idset_create_difference, other)

    def symmetric_difference(self, other):
        return self._binary(self._lib.remora_idset_create_symmetric_difference, other)

    def complement(self):
        return IdSetHandle(self.snapshot,
                           _create(self._lib.remora_idset_create_complement, self._h))

    def referents(self):
        """Every object some member has an edge to."""
        return IdSetHandle(self.snapshot,
                           _create(self._lib.remora_idset_create_referents, self._h))

    def referrers(self):
        """Every object with an edge to some member (the first call on a
        snapshot indexes its edges by target)."""
        return IdSetHandle(self.snapshot,
                           _create(self._lib.remora_idset_create_referrers, self._h))

    def equal(self, other):
        return bool(self._lib.remora_idset_equal(self._h, other._h))

    def subset(self, other):
        return bool(self._lib.remora_idset_subset(self._h, other._h))

    def contains(self, node):
        return bool(self._lib.remora_idset_contains(self._h, node))

    def owned(self):
        """The bytes the members own outside themselves (remora_idset_owned)."""
        return self._lib.remora_idset_owned(self._h)

    def size_lower_count(self):
        """How many members' sizes are lower bounds: objects of a type
        whose NyHeapDef size function could not run (read from outside
        or from a core).  0 at once for a snapshot with none."""
        if not self.snapshot.flags & SNAP_SIZE_LOWER:
            return 0
        return self._lib.remora_idset_count_flagged(self._h, NODE_SIZE_LOWER)

    def ids(self, start=0, limit=None):
        """Member ids in ascending order, from the start-th, at most limit."""
        n = self.count - start if limit is None else min(limit, self.count - start)
        if n <= 0:
            return []
        buf = (_u32 * n)()
        got = self._lib.remora_idset_ids(self._h, start, buf, n)
        return list(buf[:got])

    def partition(self, by):
        if isinstance(by, (tuple, list)):
            arr = (ctypes.c_int * len(by))(*by)
            return PartitionHandle(self, _create(self._lib.remora_partition_create_and,
                                                 self._h, arr, len(by)))
        return PartitionHandle(self, _create(self._lib.remora_partition_create, self._h, by))

    def _unary(self, fn):
        return IdSetHandle(self.snapshot, _create(fn, self._h))

    def dominos(self):
        return self._unary(self._lib.remora_idset_create_dominos)

    def imdom(self):
        return self._unary(self._lib.remora_idset_create_imdom)

    def top_retained(self, k):
        """The ids of the (at most) k members retaining most, largest first."""
        buf = (_u32 * max(k, 1))()
        n = _size()
        _check(self._lib.remora_idset_top_retained(self._h, buf, k, ctypes.byref(n)))
        return list(buf[:n.value])

    def present(self, old):
        """The members whose address held an object of the same type in old."""
        return IdSetHandle(self.snapshot, _create(self._lib.remora_idset_create_present,
                                                  self._h, old._h))

    def save(self, path):
        _check(self._lib.remora_idset_save(self._h, os.fsencode(path)))

    def paths(self, max_paths):
        """[(root index, [(from, to, via), ...])], truncated flag: the
        shortest paths from the roots to the members nearest them."""
        L = self._lib
        h = _create(L.remora_paths_create, self._h, max_paths)
        try:
            out = []
            for i in range(L.remora_paths_count(h)):
                steps = []
                f, t, v = _u32(), _u32(), _u64()
                for j in range(L.remora_paths_length(h, i)):
                    L.remora_paths_step(h, i, j, ctypes.byref(f), ctypes.byref(t),
                                        ctypes.byref(v))
                    steps.append((f.value, t.value, v.value))
                out.append((L.remora_paths_root(h, i), steps))
            return out, bool(L.remora_paths_truncated(h))
        finally:
            L.remora_paths_destroy(h)


class PartitionHandle:
    """A set split by a classifier, rows in heapy's order (remora_partition)."""

    def __init__(self, idset, handle):
        self.snapshot = idset.snapshot
        self._lib = idset._lib
        self._h = handle
        L = self._lib
        self.header = _text(L.remora_partition_header(handle))
        self.count = L.remora_partition_count(handle)
        self.size = L.remora_partition_size(handle)
        self.num_rows = L.remora_partition_num_rows(handle)

    def __del__(self):
        if getattr(self, "_h", None):
            self._lib.remora_partition_destroy(self._h)
            self._h = None

    def row(self, r):
        """(label, count, size, cumulative size) of row r."""
        L, h = self._lib, self._h
        return (_text(L.remora_partition_row_label(h, r)),
                L.remora_partition_row_count(h, r),
                L.remora_partition_row_size(h, r),
                L.remora_partition_row_cumulative(h, r))

    def rows(self):
        """[(label, count, size)] for every row, in order."""
        L, h = self._lib, self._h
        return [(_text(L.remora_partition_row_label(h, r)),
                 L.remora_partition_row_count(h, r),
                 L.remora_partition_row_size(h, r))
                for r in range(self.num_rows)]

    def select(self, rows):
        """The union of the rows whose index is in rows."""
        flags = bytearray(self.num_rows)
        for r in rows:
            flags[r] = 1
        return IdSetHandle(self.snapshot, _create(self._lib.remora_partition_select,
                                                  self._h, bytes(flags)))

    def select_kind(self, atoms, op):
        """The union of the byvia / byrcs rows whose kind compares with
        the set of atoms as op says."""
        atoms = [a.encode("utf-8") for a in atoms]
        arr = (ctypes.c_char_p * max(len(atoms), 1))(*atoms)
        return IdSetHandle(self.snapshot, _create(self._lib.remora_partition_select_kind,
                                                  self._h, arr, len(atoms),
                                                  op.encode("ascii")))

    def row_set(self, row):
        return IdSetHandle(self.snapshot,
                           _create(self._lib.remora_partition_row_set, self._h, row))
