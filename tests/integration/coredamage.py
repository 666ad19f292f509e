"""coredamage.py — damaged copies of an ELF core file, for
test_core_damage.py (issue 3; DESIGN.md invariant 3).

The core's own program headers say where each saved byte of the target's
memory lies in the file: a PT_LOAD segment holds [p_vaddr, p_vaddr +
p_filesz) at [p_offset, p_offset + p_filesz).  This module parses them
itself (not through remora, whose reader is under test) and edits the
bytes of a copy of the core at target addresses.  It knows nothing of
CPython beyond the few header offsets the callers give it.

Every edit is recorded as (address, what, before, after), so that a
failing test can say exactly what it did to the core.
"""

import os
import shutil
import struct

PT_LOAD = 1
PN_XNUM = 0xFFFF
PAGE = 4096


class CoreError(Exception):
    pass


class Segment:
    __slots__ = ("vaddr", "offset", "filesz", "memsz")

    def __init__(self, vaddr, offset, filesz, memsz):
        self.vaddr, self.offset, self.filesz, self.memsz = vaddr, offset, filesz, memsz

    @property
    def end(self):
        """End of the bytes the core saved (not p_memsz)."""
        return self.vaddr + self.filesz


def program_headers(path):
    """[(p_type, p_offset, p_vaddr, p_filesz, p_memsz)] of an ELF64 LE file."""
    with open(path, "rb") as f:
        ehdr = f.read(64)
        if len(ehdr) < 64 or ehdr[:4] != b"\x7fELF" or ehdr[4] != 2 or ehdr[5] != 1:
            raise CoreError("%s: not an ELF64 little-endian file" % path)
        phoff, shoff = struct.unpack_from("<QQ", ehdr, 32)
        phentsize, phnum, _shentsize = struct.unpack_from("<HHH", ehdr, 54)
        if phnum == PN_XNUM:
            # more than 65534 headers: the count is section 0's sh_info
            f.seek(shoff + 44)
            phnum = struct.unpack("<I", f.read(4))[0]
        if phentsize != 56:
            raise CoreError("%s: program header size %d, not 56" % (path, phentsize))
        f.seek(phoff)
        raw = f.read(phnum * 56)
    if len(raw) != phnum * 56:
        raise CoreError("%s: program headers cut short" % path)
    out = []
    for i in range(phnum):
        p_type, _flags, off, vaddr, _paddr, filesz, memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", raw, i * 56)
        out.append((p_type, off, vaddr, filesz, memsz))
    return out


class Core:
    """A writable copy of a core file, addressed by target address."""

    def __init__(self, src, dst):
        shutil.copyfile(src, dst)
        self.path = dst
        self.size = os.path.getsize(dst)
        self.segments = sorted(
            (Segment(vaddr, off, filesz, memsz)
             for p_type, off, vaddr, filesz, memsz in program_headers(dst)
             if p_type == PT_LOAD and filesz > 0),
            key=lambda s: s.vaddr)
        self.edits = []
        self._f = open(dst, "r+b")

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def segment_of(self, addr, length=1):
        """The segment whose saved bytes hold [addr, addr + length), or None."""
        for s in self.segments:
            if s.vaddr <= addr and addr + length <= s.end:
                return s
        return None

    def saved(self, addr, length=1):
        return self.segment_of(addr, length) is not None

    def _offset(self, addr, length):
        s = self.segment_of(addr, length)
        if s is None:
            raise CoreError("0x%x+%d is not saved in the core" % (addr, length))
        off = s.offset + (addr - s.vaddr)
        if off + length > self.size:
            raise CoreError("0x%x+%d lies past the end of the file" % (addr, length))
        return off

    def read(self, addr, length):
        self._f.seek(self._offset(addr, length))
        return self._f.read(length)

    def write(self, addr, data, what):
        off = self._offset(addr, len(data))
        self._f.seek(off)
        before = self._f.read(len(data))
        self._f.seek(off)
        self._f.write(data)
        self.edits.append((addr, what, before, bytes(data)))

    def u64(self, addr):
        return struct.unpack("<Q", self.read(addr, 8))[0]

    def put_u64(self, addr, value, what):
        self.write(addr, struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF), what)

    def zero_page(self, addr, what):
        page = addr & ~(PAGE - 1)
        self.write(page, bytes(PAGE), what)
        return page

    def unmapped(self, near=0x100000000000):
        """An 8-aligned address at or above `near` in no segment at all
        (p_memsz counted): a pointer into nothing."""
        addr = near & ~7
        while any(s.vaddr <= addr < s.vaddr + max(s.memsz, s.filesz)
                  for s in self.segments):
            addr += 1 << 32
        return addr

    def describe_edits(self, limit=20):
        lines = ["%d edits" % len(self.edits)]
        for addr, what, before, after in self.edits[:limit]:
            lines.append("  0x%x %s: %s -> %s" % (
                addr, what, before[:8].hex(), after[:8].hex()))
        if len(self.edits) > limit:
            lines.append("  ...")
        return "\n".join(lines)


def notes_first(src, dst):
    """Copy the core src to dst laid out as the kernel writes cores:
    headers, then the notes, then the segments' data in file order, and no
    section headers.  gcore writes its notes last, so cutting a gcore core
    short loses its notes before any memory; cutting this copy short
    loses only memory, like a kernel core hitting `ulimit -c`."""
    with open(src, "rb") as f:
        data = f.read()
    ehdr = bytearray(data[:64])
    phoff = struct.unpack_from("<Q", ehdr, 32)[0]
    phnum = struct.unpack_from("<H", ehdr, 56)[0]
    if phnum == PN_XNUM:
        raise CoreError("%s: too many program headers to relayout" % src)
    headers = program_headers(src)
    phdrs = bytearray(data[phoff:phoff + 56 * phnum])
    order = sorted(range(phnum), key=lambda i: (headers[i][0] == PT_LOAD, headers[i][1]))
    out = bytearray()
    pos = 64 + 56 * phnum
    for i in order:
        _p_type, off, _vaddr, filesz, _memsz = headers[i]
        struct.pack_into("<Q", phdrs, i * 56 + 8, pos if filesz else 0)
        out += data[off:off + filesz]
        pos += filesz
    struct.pack_into("<Q", ehdr, 32, 64)       # e_phoff
    struct.pack_into("<Q", ehdr, 40, 0)        # e_shoff
    struct.pack_into("<HHH", ehdr, 58, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
    with open(dst, "wb") as g:
        g.write(bytes(ehdr) + bytes(phdrs) + bytes(out))


def lost_ranges(src, size):
    """[(start, end)] of the target addresses whose saved bytes lie past
    `size` in the core src: what a copy cut to `size` bytes lost."""
    out = []
    for p_type, off, vaddr, filesz, _memsz in program_headers(src):
        if p_type == PT_LOAD and filesz and off + filesz > size:
            out.append((vaddr + max(0, size - off), vaddr + filesz))
    return sorted(out)


def truncate(src, dst, cut):
    """Copy src to dst without its last `cut` bytes.  Returns (size,
    segment) where segment is the PT_LOAD whose data the cut falls in
    (None if it falls between segments' data)."""
    size = os.path.getsize(src) - cut
    with open(src, "rb") as f, open(dst, "wb") as g:
        g.write(f.read(size))
    for p_type, off, _vaddr, filesz, _memsz in program_headers(src):
        if p_type == PT_LOAD and off < size < off + filesz:
            return size, (off, filesz)
    return size, None
