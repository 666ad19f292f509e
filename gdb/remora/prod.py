"""prod.py — heapy's byprod: each object by the line that allocated it,
read from tracemalloc's own tables in the process gdb has stopped or in
its core; nothing runs in the target (doc/byprod-research.md has the
layouts and where each version keeps them).

Invariants:
  1. Only memory is read: the tracing flag, then the traces table (a
     _Py_hashtable_t: nbuckets at +8, buckets at +16; entries {next,
     key_hash, key, value} of 32 bytes, 3.9 to 3.15 alike; 3.8's keeps
     its key and trace inline, after {next, key_hash}), each trace
     {size, traceback} and each traceback's most recent frame (frames
     at +12, 12 bytes each: filename, lineno), the frame heapy's byprod
     shows.
  2. An object's trace is the one of its memory block: its address less
     what CPython puts before it (the GC header on builds with a GIL,
     the managed dict's pointers: 3.11 for MANAGED_DICT, 3.12+ for
     MANAGED_DICT or MANAGED_WEAKREF).  Objects with no trace (made
     before tracemalloc started, static, or in no block of their own)
     are "<unknown>".
  3. A table that cannot be read, or does not read as one, is an error in
     one line, never a partial answer passed off as whole.
"""

import itertools
import os
import struct

import gdb

from . import layout, memread
from .errors import RemoraError

UNKNOWN = "<unknown>"
HEADER = "Producer (line of allocation)"

_HT_NBUCKETS, _HT_BUCKETS = 8, 16
_ENTRY = struct.Struct("<QQQQ")              # next, key_hash, key, value
_TRACE_TRACEBACK = 8
_TB_NFRAME, _TB_FRAMES = 8, 12
_FRAME = struct.Struct("<QI")                # filename, lineno (packed)
_GC_FLAG = 1                                 # REMORA_NODE_GC
_MANAGED_DICT, _MANAGED_WEAKREF = 1 << 4, 1 << 3
_MAX_BUCKETS = 1 << 28
_HEADS_AT_ONCE = 1 << 16
_FILENAME_MAX = 4096
_U64 = struct.Struct("<Q")


def _tracing(mem, version):
    """Whether tracemalloc traces: its config's flag (exported in 3.8-3.11,
    in _PyRuntime since)."""
    if (version >> 16) & 0xFF >= 12:
        return mem.i32(layout.field("RL_RUNTIME_ADDR") + layout.field("RL_RUNTIME_TM_TRACING"))
    config = layout.field("RL_TM_CONFIG")
    if config < 0:
        raise RemoraError("remora: byprod: this CPython has no _Py_tracemalloc_config symbol")
    return mem.i32(config + layout.field("RL_TM_CONFIG_TRACING"))


def _traces_pointer(version):
    """The address of the pointer to the traces table (domain 0; in 3.8
    every domain's)."""
    minor = (version >> 16) & 0xFF
    if minor >= 12:
        return layout.field("RL_RUNTIME_ADDR") + layout.field("RL_RUNTIME_TM_TRACES")
    traces = layout.field("RL_TM_TRACES")
    if traces < 0:
        raise RemoraError("remora: byprod: this CPython 3.%d hides tracemalloc's tables "
                          "(static symbols): install its debug symbols (Debian: apt install "
                          "python3.%d-dbg)" % (minor, minor))
    return traces


def _text(mem, version, filename):
    """A frame's file name: a str object (3.8-3.14) or a C string (3.15)."""
    if not filename:
        return UNKNOWN
    if (version >> 16) & 0xFF >= 15:
        raw = b""
        while len(raw) < _FILENAME_MAX:
            chunk = mem.read(filename + len(raw), 64)
            end = chunk.find(b"\0")
            raw += chunk if end < 0 else chunk[:end]
            if end >= 0:
                break
        return raw.decode("utf-8", "surrogateescape")
    if mem.u64(filename + layout.field("RL_OB_TYPE")) != layout.field("RL_TYPE_STR"):
        return "<file name at 0x%x>" % filename
    n = mem.u64(filename + layout.field("RL_STR_LENGTH"))
    state = mem.u64(filename + layout.field("RL_STR_STATE")) & 0xFFFFFFFF
    kind, compact, ascii = (state >> 2) & 7, (state >> 5) & 1, (state >> 6) & 1
    if not compact or n > _FILENAME_MAX or kind not in (1, 2, 4):
        return "<file name at 0x%x>" % filename
    start = filename + layout.field("RL_SIZEOF_ASCII" if ascii else "RL_SIZEOF_COMPACT")
    raw = mem.read(start, n * kind) if n else b""
    codec = {1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}[kind]
    return raw.decode(codec, "replace")


def sites(version):
    """{block address: "file:line"} of every trace tracemalloc keeps for
    domain 0 (Python's allocators), its most recent frame's line.
    RemoraError when tracemalloc is not tracing or its tables cannot be
    read."""
    mem = memread.Memory("remora: byprod: cannot read tracemalloc's tables at 0x%x "
                         "(damaged, or the process changed)")
    try:
        if not _tracing(mem, version):
            raise RemoraError("remora: byprod: tracemalloc is not tracing in this process "
                              "(start it there with tracemalloc.start() or "
                              "PYTHONTRACEMALLOC=1; objects made before it started have "
                              "no producer)")
        table = mem.u64(_traces_pointer(version))
        if not table:
            raise RemoraError("remora: byprod: tracemalloc is tracing but has no traces table")
        old = (version >> 16) & 0xFF == 8
        if old:
            # 3.8: {num_buckets, entries, buckets, key_size, data_size};
            # an entry holds its key (a pointer, or with domains a packed
            # {pointer, u32 domain}) and its trace {size, traceback} inline
            nbuckets, nentries = mem.u64(table), mem.u64(table + 8)
            key_size, data_size = mem.u64(table + 24), mem.u64(table + 32)
            if key_size not in (8, 12) or data_size != 16:
                raise RemoraError("remora: byprod: tracemalloc's traces table at 0x%x does "
                                  "not read as one (keys of %d bytes, data of %d)"
                                  % (table, key_size, data_size))
        else:
            nbuckets, nentries = mem.u64(table + _HT_NBUCKETS), mem.u64(table)
        if not 0 < nbuckets <= _MAX_BUCKETS or nentries > 64 * nbuckets:
            raise RemoraError("remora: byprod: tracemalloc's traces table at 0x%x does not "
                              "read as one (%d buckets, %d entries)" % (table, nbuckets, nentries))
        buckets = mem.u64(table + _HT_BUCKETS)
        get_block = mem.blocks.get
        traceback_of = {}
        steps = 0
        for first in range(0, nbuckets, _HEADS_AT_ONCE):
            n = min(_HEADS_AT_ONCE, nbuckets - first)
            for entry in struct.unpack("<%dQ" % n, mem.read(buckets + 8 * first, 8 * n)):
                while entry:
                    if old:
                        raw = mem.read(entry, 16 + key_size + 16)
                        nxt, key = struct.unpack_from("<Q8xQ", raw)
                        domain = struct.unpack_from("<I", raw, 24)[0] if key_size == 12 else 0
                        if domain == 0:
                            traceback_of[key] = struct.unpack_from("<Q", raw,
                                                                   16 + key_size + 8)[0]
                    else:
                        # mem.read's block cache, inlined: a million
                        # entries are read in seconds, not tens of them
                        block = get_block(entry >> memread.BLOCK_BITS)
                        at = entry & memread.BLOCK_MASK
                        if block is not None and at + 32 <= len(block):
                            nxt, _hash, key, trace = _ENTRY.unpack_from(block, at)
                        else:
                            nxt, _hash, key, trace = _ENTRY.unpack(mem.read(entry, 32))
                        word = trace + _TRACE_TRACEBACK
                        block = get_block(word >> memread.BLOCK_BITS)
                        at = word & memread.BLOCK_MASK
                        if block is not None and at + 8 <= len(block):
                            traceback_of[key] = _U64.unpack_from(block, at)[0]
                        else:
                            traceback_of[key] = mem.u64(word)
                    steps += 1
                    if steps > nentries:    # a chain that loops, or a wrong count
                        raise RemoraError("remora: byprod: tracemalloc's traces table "
                                          "holds more entries than it counts (%d): "
                                          "damaged" % nentries)
                    entry = nxt
        labels = {}
        for tb in set(traceback_of.values()):
            label = UNKNOWN
            if tb and struct.unpack("<H", mem.read(tb + _TB_NFRAME, 2))[0] > 0:
                filename, lineno = _FRAME.unpack(mem.read(tb + _TB_FRAMES, _FRAME.size))
                if filename and lineno:
                    label = "%s:%d" % (_text(mem, version, filename), lineno)
            labels[tb] = label
        return {key: labels[tb] for key, tb in traceback_of.items()}
    finally:
        mem.close()


def presize(version, free_threaded, node_flags, type_flags):
    """The bytes CPython puts before an object in its memory block."""
    minor = (version >> 16) & 0xFF
    size = 16 if node_flags & _GC_FLAG and not free_threaded else 0
    if minor == 11 and type_flags & _MANAGED_DICT:
        size += 16
    elif minor >= 12 and type_flags & (_MANAGED_DICT | _MANAGED_WEAKREF):
        size += 16
    return size


def labeller(snapshot):
    """labels(ids) -> each node's producer, "file:line" or UNKNOWN, for a
    snapshot captured from the process or core gdb examines now (the
    tables are read once per snapshot and kept with it)."""
    cached = getattr(snapshot, "_prod_label", None)
    if cached is not None:
        return cached
    if getattr(snapshot, "prod_error", None) is not None:
        raise snapshot.prod_error
    origin = getattr(snapshot, "origin", None)
    if origin is None or origin != current_origin():
        raise RemoraError("remora: byprod reads tracemalloc's tables from the process or "
                          "core the heap was captured from: capture it here (py-heap), "
                          "not from a snapshot file")
    version = snapshot.python_version
    free_threaded = bool(snapshot.flags & 2)        # REMORA_SNAP_FREE_THREADED
    by_block = sites(version)
    type_flags = {}

    def labels(ids):
        addresses, types, flags = snapshot.nodes_info(ids)
        out = []
        for address, t, node_flags in zip(addresses, types, flags):
            tf = type_flags.get(t)
            if tf is None:
                tf = type_flags[t] = snapshot.type_flags(t)
            pre = presize(version, free_threaded, node_flags, tf)
            out.append(by_block.get(address - pre, UNKNOWN))
        return out

    snapshot._prod_label = labels
    return labels


def current_origin():
    """What gdb examines: ("core", path) or ("pid", pid, start time)."""
    from . import capture, progress
    core = capture.core_file()
    if core is not None:
        return ("core", os.path.realpath(core))
    pid = gdb.selected_inferior().pid
    return ("pid", pid, progress.process_key(pid)) if pid else None


class ProdHandle:
    """A set split by producer, in the shape of the engine's partition
    handle (engine.PartitionHandle): rows by total size, then label, as
    heapy orders them."""

    header = HEADER

    def __init__(self, idset_handle):
        self.snapshot = snap = idset_handle.snapshot
        labels = labeller(snap)
        ids = idset_handle.ids()
        groups = {}
        for node, text in zip(ids, labels(ids)):
            groups.setdefault(text, []).append(node)
        rows = []
        for text, members in groups.items():
            handle = snap.from_ids(members)
            rows.append((handle.size, text, handle))
        rows.sort(key=lambda r: (-r[0], r[1]))
        self._rows = rows
        self._cumulative = list(itertools.accumulate(size for size, _t, _h in rows))
        self.count = idset_handle.count
        self.size = idset_handle.size
        self.num_rows = len(rows)

    def row(self, r):
        size, text, handle = self._rows[r]
        return text, handle.count, size, self._cumulative[r]

    def rows(self):
        return [(text, handle.count, size) for size, text, handle in self._rows]

    def row_set(self, r):
        return self._rows[r][2]

    def select(self, rows):
        ids = sorted(n for r in set(rows) for n in self._rows[r][2].ids())
        return self.snapshot.from_ids(ids)
