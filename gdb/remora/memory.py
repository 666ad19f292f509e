"""memory.py — hp.memory(): where the process's memory goes, read from
the stopped process (its /proc/PID/smaps and pagemap, its pymalloc
state) or its core (the segments it saved), with the heap's objects
placed in it.  Nothing runs in the target.

Invariants:
  1. pymalloc's figures are _debugmallocstats's, computed as it computes
     them from the same state: every arena of every distinct obmalloc
     state (3.8-3.11 the static table, 3.12 each interpreter's, 3.13+
     what each interpreter points to), the pools carved in each, a pool
     with no block in use skipped (obmalloc.c's pymalloc_print_stats).
  2. Mappings are counted whole by what they are: thread stacks (the
     mapping holding a thread's stack pointer), files (the executable,
     libraries, any file), the kernel's ([vdso], [vvar], [vsyscall]),
     the rest anonymous; within the anonymous memory, pymalloc's arenas
     (their resident pages, from pagemap) and mmap.mmap objects' maps.
  3. A part that cannot be read is said in one line in its place; the
     rest is still shown.
  4. The interpreter's structures are counted by their sizes as
     allocated: a state inside another (3.11+'s main interpreter in
     _PyRuntime, its first thread in its interpreter) is not counted
     again; 3.11+'s frame stacks are every thread's chunks.
"""

import bisect
import os
import re
import struct

import gdb

from . import layout, memread
from .errors import RemoraError

POOL_OVERHEAD = 48                 # sizeof(struct pool_header), aligned
ARENA_OBJECT = 48                  # sizeof(struct arena_object)
ALIGNMENT_SHIFT = 4
PAGE = 4096
ARENAS_MAX = 1 << 24
USE_MAIN_OBMALLOC = 0x20           # Py_RTFLAGS_USE_MAIN_OBMALLOC
KERNEL = ("[vdso]", "[vvar]", "[vsyscall]", "[vvar_vclock]")
# shared anonymous memory shows as a deleted file of these names
SHARED_ANON = re.compile(r"^/(dev/zero|SYSV[0-9a-f]+|memfd:.*) \(deleted\)$|^/memfd:")


def _pool_size(minor):
    return 4096 if minor <= 9 else 16384


class _Pymalloc:
    """The figures _debugmallocstats prints, summed over the states."""

    def __init__(self):
        self.arenas = self.allocated = self.available = 0
        self.unused_pools = self.headers = self.quantization = self.alignment = 0
        self.ntimes = self.highwater = 0
        self.arena_bytes = 0
        self.pool_size = 0
        self.ranges = []           # (start, end) of each arena
        self.states = 0


def _states(mem, version):
    """[(arenas, maxarenas, ntimes, highwater)] of each distinct obmalloc
    state with arenas."""
    minor = (version >> 16) & 0xFF
    if minor <= 11:
        where = [layout.field(n) for n in ("RL_OBM_ARENAS", "RL_OBM_MAXARENAS",
                                           "RL_OBM_NTIMES", "RL_OBM_HIGHWATER")]
        if min(where) < 0:
            raise RemoraError("remora: hp.memory(): pymalloc's arenas are static variables "
                              "this CPython's symbols hide (install its debug symbols)")
        return [(mem.u64(where[0]), mem.u32(where[1]), mem.u64(where[2]), mem.u64(where[3]))]
    off = layout.field("RL_INTERP_OBMALLOC")
    mgmt = layout.field("RL_OBMALLOC_MGMT")
    fields = [layout.field(n) for n in ("RL_OBMGMT_ARENAS", "RL_OBMGMT_MAXARENAS",
                                        "RL_OBMGMT_NTIMES", "RL_OBMGMT_HIGHWATER")]
    if min([off, mgmt] + fields) < 0:
        raise RemoraError("remora: hp.memory(): this CPython's layout does not place "
                          "pymalloc's state")
    interp = mem.u64(layout.field("RL_RUNTIME_ADDR") + layout.field("RL_RUNTIME_INTERP_HEAD"))
    seen, out = set(), []
    for _ in range(4096):
        if not interp:
            break
        # 3.12 keeps the state in the interpreter (one sharing the main
        # interpreter's leaves its own empty); 3.13+ points to it
        state = interp + off if minor == 12 else mem.u64(interp + off)
        if state and state not in seen:
            seen.add(state)
            base = state + mgmt
            out.append((mem.u64(base + fields[0]), mem.u32(base + fields[1]),
                        mem.u64(base + fields[2]), mem.u64(base + fields[3])))
        interp = mem.u64(interp + layout.field("RL_INTERP_NEXT"))
    return out


def read_pymalloc(mem, version):
    """_Pymalloc of the process (RemoraError when it cannot be read)."""
    minor = (version >> 16) & 0xFF
    pool = _pool_size(minor)
    out = _Pymalloc()
    out.pool_size = pool
    numpools, numblocks, numfree = {}, {}, {}
    for arenas, maxarenas, ntimes, highwater in _states(mem, version):
        if not arenas or not maxarenas:
            continue
        if maxarenas > ARENAS_MAX:
            raise RemoraError("remora: hp.memory(): pymalloc's arena table does not read as "
                              "one (%d arenas)" % maxarenas)
        out.states += 1
        out.ntimes += ntimes
        out.highwater += highwater
        table = mem.read_direct(arenas, maxarenas * ARENA_OBJECT)
        for i in range(maxarenas):
            address, pool_address, nfreepools, ntotalpools = struct.unpack_from(
                "<QQII", table, i * ARENA_OBJECT)
            if not address:
                continue
            out.arenas += 1
            out.unused_pools += nfreepools
            base = address
            if base & (pool - 1):
                out.alignment += pool
                base = (base & ~(pool - 1)) + pool
            size = (ntotalpools + (1 if address & (pool - 1) else 0)) * pool
            out.ranges.append((address, address + size))
            out.arena_bytes += size
            if not address <= pool_address <= address + size:
                raise RemoraError("remora: hp.memory(): pymalloc's arena at 0x%x does not "
                                  "read as one" % address)
            carved = (pool_address - base) // pool
            if carved <= 0:
                continue
            # the pool headers of the carved pools, one read each
            for p in range(base, pool_address, pool):
                count, = struct.unpack("<I", mem.read_direct(p, 4))
                if count == 0:
                    continue
                szidx, = struct.unpack("<I", mem.read_direct(p + 36, 4))
                if szidx >= 64:
                    raise RemoraError("remora: hp.memory(): a pymalloc pool at 0x%x does "
                                      "not read as one" % p)
                numpools[szidx] = numpools.get(szidx, 0) + 1
                numblocks[szidx] = numblocks.get(szidx, 0) + count
                nblocks = (pool - POOL_OVERHEAD) // ((szidx + 1) << ALIGNMENT_SHIFT)
                numfree[szidx] = numfree.get(szidx, 0) + nblocks - count
    for sz, pools in numpools.items():
        size = (sz + 1) << ALIGNMENT_SHIFT
        out.allocated += numblocks[sz] * size
        out.available += numfree[sz] * size
        out.headers += pools * POOL_OVERHEAD
        out.quantization += pools * ((pool - POOL_OVERHEAD) % size)
    out.ranges.sort()
    return out


# ---- interpreter structures -----------------------------------------

INTERPS_MAX = 4096
THREADS_MAX = 1 << 16
CHUNKS_MAX = 1 << 20


class _Structures:
    """The interpreter's own structures, by their sizes: the states as
    allocated (those inside _PyRuntime or inside their interpreter's
    state, 3.11+'s main interpreter and first thread, counted apart),
    3.11+'s frame stacks (their chunks)."""

    def __init__(self):
        self.interps = self.interp_bytes = self.static_interps = self.static_interp_bytes = 0
        self.threads = self.thread_bytes = self.embedded_threads = 0
        self.chunks = self.chunk_bytes = 0
        self.chunk_ranges = []
        self.frame_stacks = False          # frames live in chunks (3.11+)


def read_structures(mem, version):
    """_Structures of the process (RemoraError when they cannot be read)."""
    minor = (version >> 16) & 0xFF
    names = ["RL_RUNTIME_ADDR", "RL_RUNTIME_INTERP_HEAD", "RL_SIZEOF_RUNTIME",
             "RL_SIZEOF_INTERP", "RL_SIZEOF_TSTATE", "RL_INTERP_NEXT", "RL_TSTATE_NEXT",
             "RL_INTERP_THREADS_HEAD" if minor >= 11 else "RL_INTERP_TSTATE_HEAD"]
    if minor >= 11:
        names += ["RL_TSTATE_DATASTACK", "RL_CHUNK_PREVIOUS", "RL_CHUNK_SIZE"]
    f = dict((n, layout.field(n)) for n in names)
    if min(f.values()) < 0:
        raise RemoraError("remora: hp.memory(): this CPython's layout does not give the "
                          "sizes of its interpreter and thread states")
    head = f[names[7]]
    out = _Structures()
    out.frame_stacks = minor >= 11
    runtime = f["RL_RUNTIME_ADDR"]
    interp = mem.u64(runtime + f["RL_RUNTIME_INTERP_HEAD"])
    for _ in range(INTERPS_MAX):
        if not interp:
            break
        out.interps += 1
        if runtime <= interp < runtime + f["RL_SIZEOF_RUNTIME"]:
            out.static_interps += 1
            out.static_interp_bytes += f["RL_SIZEOF_INTERP"]
        else:
            out.interp_bytes += f["RL_SIZEOF_INTERP"]
        ts = mem.u64(interp + head)
        for _ in range(THREADS_MAX):
            if not ts:
                break
            out.threads += 1
            if interp <= ts < interp + f["RL_SIZEOF_INTERP"]:
                out.embedded_threads += 1
            else:
                out.thread_bytes += f["RL_SIZEOF_TSTATE"]
            if out.frame_stacks:
                chunk = mem.u64(ts + f["RL_TSTATE_DATASTACK"])
                for _ in range(CHUNKS_MAX):
                    if not chunk:
                        break
                    size = mem.u64(chunk + f["RL_CHUNK_SIZE"])
                    out.chunks += 1
                    out.chunk_bytes += size
                    out.chunk_ranges.append((chunk, chunk + size))
                    chunk = mem.u64(chunk + f["RL_CHUNK_PREVIOUS"])
            ts = mem.u64(ts + f["RL_TSTATE_NEXT"])
        interp = mem.u64(interp + f["RL_INTERP_NEXT"])
    return out


def _objects_of(snapshot, display):
    """(count, bytes) of the heap's objects whose type is display."""
    count = size = 0
    for t, (_addr, name) in enumerate(snapshot.types()):
        if name == display:
            for node in snapshot.nodes_of_type(t):
                count += 1
                size += snapshot.node_size(node)
    return count, size


# ---- mappings ---------------------------------------------------------

_SMAPS_HEAD = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$")


def _smaps(pid):
    """[(start, end, path, rss bytes)] of /proc/PID/smaps."""
    out = []
    with open("/proc/%d/smaps" % pid) as f:
        current = None
        for line in f:
            m = _SMAPS_HEAD.match(line)
            if m:
                current = [int(m.group(1), 16), int(m.group(2), 16), m.group(3).strip(), 0]
                out.append(current)
            elif line.startswith("Rss:") and current is not None:
                current[3] = int(line.split()[1]) * 1024
    return [tuple(c) for c in out]


def _core_segments(path):
    """[(start, end, path, saved bytes)] of the core's PT_LOAD segments,
    path from its NT_FILE note ("" for anonymous memory)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            raise RemoraError("remora: hp.memory(): %s is not an ELF core" % path)
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        f.seek(phoff)
        phdrs = f.read(phentsize * phnum)
        loads, files = [], []
        for i in range(phnum):
            p_type, _fl, off, vaddr, _pa, filesz, memsz, _al = struct.unpack_from(
                "<IIQQQQQQ", phdrs, i * phentsize)
            if p_type == 1:
                loads.append((vaddr, vaddr + memsz, filesz))
            elif p_type == 4:
                f.seek(off)
                files += _nt_file(f.read(filesz))
    files.sort()
    starts = [s for s, _e, _n in files]
    out = []
    for start, end, saved in loads:
        i = bisect.bisect_right(starts, start) - 1
        name = files[i][2] if i >= 0 and files[i][0] <= start < files[i][1] else ""
        out.append((start, end, name, saved))
    return out


def _nt_file(notes):
    """[(start, end, path)] of the NT_FILE note among notes."""
    at = 0
    while at + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from("<III", notes, at)
        desc = at + 12 + ((namesz + 3) & ~3)
        if ntype == 0x46494C45:                           # NT_FILE
            count, _page = struct.unpack_from("<QQ", notes, desc)
            ranges = [struct.unpack_from("<QQQ", notes, desc + 16 + 24 * k)
                      for k in range(count)]
            names = notes[desc + 16 + 24 * count:desc + descsz].split(b"\0")
            return [(s, e, os.fsdecode(n)) for (s, e, _o), n in zip(ranges, names)]
        at = desc + ((descsz + 3) & ~3)
    return []


def _thread_sps():
    """The stack pointer of every thread gdb sees; the user's thread and
    frame selected again after."""
    from . import capture
    inf = gdb.selected_inferior()
    selected = gdb.selected_thread()
    level = capture._selected_level()
    sps = []
    try:
        for t in inf.threads():
            t.switch()
            try:
                sps.append(int(gdb.parse_and_eval("$sp")) & 0xFFFFFFFFFFFFFFFF)
            except gdb.error:
                continue
    finally:
        capture._reselect(selected, level)
    return sps


def _resident_in(pid, ranges):
    """Bytes of ranges whose pages are resident (/proc/PID/pagemap)."""
    total = 0
    with open("/proc/%d/pagemap" % pid, "rb", buffering=0) as f:
        for start, end in ranges:
            first, last = start // PAGE, (end + PAGE - 1) // PAGE
            f.seek(first * 8)
            data = f.read((last - first) * 8)
            for (entry,) in struct.iter_unpack("<Q", data):
                if entry >> 63:
                    total += PAGE
    return total


def _intersect(ranges, maps):
    """The parts of the sorted, disjoint ranges inside any of maps
    (start, end, ...) tuples."""
    out = []
    for start, end, *_rest in maps:
        i = max(bisect.bisect_right(ranges, (start, 1 << 64)) - 1, 0)
        while i < len(ranges) and ranges[i][0] < end:
            lo, hi = max(ranges[i][0], start), min(ranges[i][1], end)
            if hi > lo:
                out.append((lo, hi))
            i += 1
    return sorted(out)


def _overlap(ranges, start, end):
    """Bytes of [start, end) inside the sorted, disjoint ranges."""
    return sum(hi - lo for lo, hi in _intersect(ranges, [(start, end)]))


# ---- the report -------------------------------------------------------

def _mmaps(snapshot, mem):
    """[(data address, size)] of the heap's open mmap.mmap objects."""
    out = []
    data_at = layout.field("RL_OB_TYPE") + 8      # the object header's end
    for t, (_addr, display) in enumerate(snapshot.types()):
        if display != "mmap.mmap":
            continue
        for node in snapshot.nodes_of_type(t):
            obj = snapshot.node_address(node)
            data, size = struct.unpack("<Qq", mem.read(obj + data_at, 16))
            if data and size > 0:
                out.append((data, data + size))
    return sorted(out)


class MemoryReport:
    """hp.memory()'s answer: its table, and -json's figures."""

    def __init__(self, figures, lines):
        self.figures = figures
        self._lines = lines

    def __repr__(self):
        return "\n".join(self._lines)

    def to_json(self):
        return dict(self.figures, type="memory")


def _row(lines, depth, label, value, note=""):
    text = "%s%-*s %15s" % ("  " * depth, 54 - 2 * depth, label, "{:,}".format(value))
    lines.append(text + ("  " + note if note else ""))


def _structure_rows(figures, lines, mem, version):
    """The interpreter structures' rows (in the rest of the anonymous
    memory: malloc's, and the frame stacks' own maps)."""
    try:
        st = read_structures(mem, version)
    except RemoraError as exc:
        figures["interpreter_error"] = str(exc)
        lines.append("      %s" % exc)
        return
    total = st.interp_bytes + st.thread_bytes + st.chunk_bytes
    figures["interpreter"] = {
        "bytes": total,
        "interpreters": st.interps, "interpreter_states": st.interp_bytes,
        "static_interpreters": st.static_interps,
        "static_interpreter_bytes": st.static_interp_bytes,
        "threads": st.threads, "thread_states": st.thread_bytes,
        "embedded_threads": st.embedded_threads,
        "frame_stack_chunks": st.chunks if st.frame_stacks else None,
        "frame_stacks": st.chunk_bytes if st.frame_stacks else None,
    }
    _row(lines, 3, "interpreter structures", total, "by their sizes")
    note = ""
    if st.static_interps:
        note = "and %d static, in _PyRuntime: %s bytes" % (
            st.static_interps, "{:,}".format(st.static_interp_bytes))
    _row(lines, 4, "interpreter states (%d allocated)" % (st.interps - st.static_interps),
         st.interp_bytes, note)
    note = ""
    if st.embedded_threads:
        note = "and %d inside %s interpreter's state" % (
            st.embedded_threads, "its" if st.embedded_threads == 1 else "their")
    _row(lines, 4, "thread states (%d allocated)" % (st.threads - st.embedded_threads),
         st.thread_bytes, note)
    if st.frame_stacks:
        _row(lines, 4, "frame stacks (%d chunk%s)" % (st.chunks, "" if st.chunks == 1 else "s"),
             st.chunk_bytes, "the frames of %d thread%s"
             % (st.threads, "" if st.threads == 1 else "s"))
    else:
        lines.append("          (frames are frame objects before 3.11: below)")


def report(snapshot, version, owned):
    """The MemoryReport of the process or core gdb examines now, with the
    objects of snapshot (captured from it) placed in its memory; owned:
    what the heap's objects own outside themselves (IdSet.owned)."""
    from . import capture
    core = capture.core_file()
    pid = gdb.selected_inferior().pid
    if core is None and not pid:
        raise RemoraError("remora: hp.memory(): no process or core to read")
    mem = memread.Memory("remora: hp.memory(): cannot read the process's memory at 0x%x",
                         blocks=False)
    figures, lines = {}, []
    try:
        if core is not None:
            maps = _core_segments(core)
            source = "core %s: the bytes of each segment it saved" % core
            figures["source"] = "core"
        else:
            maps = _smaps(pid)
            source = "process %d: resident bytes (/proc/%d/smaps)" % (pid, pid)
            figures["source"] = "smaps"
        sps = _thread_sps()
        stacks = files = kernel = anon = nstacks = nthreads = 0
        anon_maps = []
        for start, end, path, rss in maps:
            # (one map may hold several threads' stacks: a C library that
            # guards them by madvise leaves no map between them)
            held = sum(1 for sp in sps if start <= sp < end)
            if path == "[stack]" or held:
                stacks += rss
                nstacks += 1
                nthreads += held
            elif path in KERNEL:
                kernel += rss
            elif path.startswith("/") and not SHARED_ANON.match(path):
                files += rss
            else:
                anon += rss
                anon_maps.append((start, end, rss))
        total = stacks + files + kernel + anon
        figures.update(total=total, thread_stacks=stacks, thread_stack_maps=nstacks,
                       thread_stack_threads=nthreads,
                       files=files, kernel=kernel, anonymous=anon)
        lines.append("Memory of %s" % source)
        _row(lines, 0, "Total", total)
        _row(lines, 1, "thread stacks (%d thread%s)" % (nthreads, "" if nthreads == 1 else "s"),
             stacks)
        _row(lines, 1, "executable, libraries and other files", files)
        if kernel:
            _row(lines, 1, "the kernel's ([vdso], [vvar])", kernel)
        _row(lines, 1, "anonymous memory", anon)

        try:
            pm = read_pymalloc(mem, version)
        except RemoraError as exc:
            pm = None
            figures["pymalloc_error"] = str(exc)
        if bool(snapshot.flags & 2):                # REMORA_SNAP_FREE_THREADED
            figures["pymalloc_error"] = ("remora: hp.memory(): a free-threaded build "
                                         "allocates objects with mimalloc, not pymalloc")
            pm = None
        arena_resident = 0
        if pm is not None:
            if core is None:
                arena_resident = _resident_in(pid, _intersect(pm.ranges, anon_maps))
            else:
                arena_resident = sum(min(_overlap(pm.ranges, s, e), saved)
                                     for s, e, saved in anon_maps)
            in_count, in_bytes = snapshot.in_ranges(pm.ranges)
            figures["pymalloc"] = {
                "arenas": pm.arenas, "arena_bytes": pm.arena_bytes,
                "arenas_allocated_total": pm.ntimes,
                "arenas_reclaimed": pm.ntimes - pm.arenas,
                "arenas_highwater": pm.highwater,
                "resident": arena_resident,
                "allocated_blocks": pm.allocated, "available_blocks": pm.available,
                "unused_pools": pm.unused_pools, "pool_size": pm.pool_size,
                "unused_pool_bytes": pm.unused_pools * pm.pool_size,
                "pool_headers": pm.headers, "quantization": pm.quantization,
                "arena_alignment": pm.alignment,
                "objects": in_count, "object_bytes": in_bytes,
            }
            _row(lines, 2, "pymalloc arenas (%d, %s bytes mapped)"
                 % (pm.arenas, "{:,}".format(pm.arena_bytes)), arena_resident)
            _row(lines, 3, "blocks in use", pm.allocated,
                 "%d objects of the heap, their sizes %s" % (in_count, "{:,}".format(in_bytes)))
            _row(lines, 3, "free blocks in pools in use", pm.available)
            _row(lines, 3, "unused pools (%d)" % pm.unused_pools,
                 pm.unused_pools * pm.pool_size)
            _row(lines, 3, "pool headers, quantization, alignment",
                 pm.headers + pm.quantization + pm.alignment)
        else:
            lines.append("    %s" % figures["pymalloc_error"])
        count_all, bytes_all = snapshot.node_count, snapshot.total_size
        out_count = count_all - figures.get("pymalloc", {}).get("objects", 0)
        out_bytes = bytes_all - figures.get("pymalloc", {}).get("object_bytes", 0)
        figures["objects_outside_pymalloc"] = {"objects": out_count, "bytes": out_bytes}
        maps_of_mmap = _mmaps(snapshot, mem)
        mapped = sum(e - s for s, e in maps_of_mmap)
        # a map of a file is the files' (above); of anonymous memory, its own
        anon_mmap = _intersect(maps_of_mmap, anon_maps)
        if core is None:
            mmap_resident = _resident_in(pid, anon_mmap) if anon_mmap else 0
        else:
            mmap_resident = sum(min(_overlap(anon_mmap, s, e), saved)
                                for s, e, saved in anon_maps)
        figures["mmap"] = {"objects": len(maps_of_mmap), "mapped": mapped,
                           "resident": mmap_resident}
        if maps_of_mmap:
            _row(lines, 2, "mmap.mmap maps (%d, %s bytes mapped)"
                 % (len(maps_of_mmap), "{:,}".format(mapped)), mmap_resident,
                 "not heap: each object's own mapping")
        rest = anon - arena_resident - mmap_resident
        figures["anonymous_rest"] = rest
        _row(lines, 2, "the rest (malloc's and any other)", rest)
        if pm is not None:
            _row(lines, 3, "Python objects outside the arenas", out_bytes,
                 "%d objects: their sizes" % out_count)
        _structure_rows(figures, lines, mem, version)
        code = _objects_of(snapshot, "types.CodeType")
        frames = _objects_of(snapshot, "types.FrameType")
        figures["objects"] = {"objects": count_all, "bytes": bytes_all,
                              "owned_outside": owned,
                              "code_objects": code[0], "code_bytes": code[1],
                              "frame_objects": frames[0], "frame_bytes": frames[1]}
        lines.append("The heap's %s objects: %s bytes by their sizes, of which %s are "
                     "buffers they own outside themselves (list items, dict keys and "
                     "values, set tables, buffers, inline attribute values); the "
                     "interpreter's among them: %s code objects, %s bytes (their "
                     "bytecode and its caches inside), %s frame objects, %s bytes"
                     % ("{:,}".format(count_all), "{:,}".format(bytes_all),
                        "{:,}".format(owned), "{:,}".format(code[0]), "{:,}".format(code[1]),
                        "{:,}".format(frames[0]), "{:,}".format(frames[1])))
    finally:
        mem.close()
    return MemoryReport(figures, lines)
