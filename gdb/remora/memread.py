"""memread.py — reading the stopped process's memory, or its core's,
from gdb's Python for what is read at query time rather than by the
walker (byprod's tracemalloc tables, hp.memory()'s allocator state).

Invariants:
  1. Only reads: /proc/PID/mem for a live process (pread: no ptrace
     round trip per word), gdb's read_memory for a core or where
     /proc/PID/mem cannot be opened.
  2. Reads go through 64 KiB blocks, each read once and kept (at most
     BLOCKS_KEPT of them): the tables read lie close together.  A read
     that cannot be made is a RemoraError with the caller's one line.
  3. A block holds only the pages the process has (pagemap: present
     or swapped): a page it never touched is read only when asked for
     (reading it maps or allocates it in the process).
"""

import os
import struct

import gdb

from .errors import RemoraError

BLOCK_BITS = 16
BLOCK_MASK = (1 << BLOCK_BITS) - 1
PAGE = 4096
BLOCK_PAGES = (1 << BLOCK_BITS) // PAGE
ALL_PAGES = (1 << BLOCK_PAGES) - 1
BLOCKS_KEPT = 8192                          # 512 MiB at most


def is_core():
    from . import capture
    return capture.core_file() is not None


class Memory:
    """The stopped process's memory (/proc/PID/mem, or gdb for a core).
    error: the one line a failed read raises, with %x for the address.
    blocks=False: every read exactly as asked (a read of a page the
    process never touched maps it: a block would map up to 16 of them,
    and the process's resident size would grow by what remora read)."""

    def __init__(self, error, blocks=True):
        self.error = error
        self.use_blocks = blocks
        self.inf = gdb.selected_inferior()
        self.blocks = {}             # index: a whole block's bytes, or b""
        self.partial = {}            # index: (bytes, page mask) of one not whole
        self.fd = self.pagemap = None
        if self.inf.pid and not is_core():
            try:
                self.fd = os.open("/proc/%d/mem" % self.inf.pid, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                self.fd = None
            try:
                self.pagemap = os.open("/proc/%d/pagemap" % self.inf.pid,
                                       os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                self.pagemap = None

    def read(self, addr, size):
        """size bytes at addr: from the 64 KiB block that holds them,
        read once, else alone."""
        index = addr >> BLOCK_BITS
        if self.use_blocks and (addr + size - 1) >> BLOCK_BITS == index:
            block = self.blocks.get(index)
            if block is None:
                if len(self.blocks) >= BLOCKS_KEPT:
                    self.blocks.clear()
                    self.partial.clear()
                block = self.blocks[index] = self._fill(index)
            offset = addr - (index << BLOCK_BITS)
            if offset + size <= len(block):
                return block[offset:offset + size]
            if index in self.partial:
                data, pages = self.partial[index]
                want = (((1 << ((offset + size - 1) // PAGE + 1)) - 1)
                        & ~((1 << (offset // PAGE)) - 1))
                if pages & want == want:
                    return bytes(data[offset:offset + size])
        return self.read_direct(addr, size)

    def _fill(self, index):
        """The bytes of block index, whole; or b"" when it is not whole
        — a page of it unreadable, or one the process never touched
        (pagemap: neither present nor swapped: reading it would allocate
        or map it in the process), the pages it has then kept in
        self.partial with their mask, the others read only if asked."""
        base = index << BLOCK_BITS
        pages = self._resident(base)
        if pages == ALL_PAGES:
            try:
                return self.read_direct(base, 1 << BLOCK_BITS)
            except RemoraError:          # the block crosses an unmapped page
                return b""
        data, got = bytearray(1 << BLOCK_BITS), 0
        for i in range(BLOCK_PAGES):
            if pages >> i & 1:
                try:
                    data[i * PAGE:(i + 1) * PAGE] = self.read_direct(base + i * PAGE, PAGE)
                    got |= 1 << i
                except RemoraError:
                    pass
        self.partial[index] = (data, got)
        return b""

    def _resident(self, base):
        """The mask of the block's pages the process has (present or
        swapped, /proc/PID/pagemap); all when that cannot be known."""
        if self.pagemap is None:
            return ALL_PAGES
        try:
            data = os.pread(self.pagemap, BLOCK_PAGES * 8, base // PAGE * 8)
        except OSError:
            return ALL_PAGES
        if len(data) != BLOCK_PAGES * 8:
            return ALL_PAGES
        mask = 0
        for i in range(BLOCK_PAGES):
            if data[i * 8 + 7] & 0xC0:                 # bits 63, 62
                mask |= 1 << i
        return mask

    def read_direct(self, addr, size):
        """size bytes at addr, read now (not through a block)."""
        try:
            if self.fd is not None:
                data = os.pread(self.fd, size, addr)
                if len(data) == size:
                    return data
            return bytes(self.inf.read_memory(addr, size))
        except (OSError, gdb.error, OverflowError):
            raise RemoraError(self.error % addr) from None

    def u64(self, addr):
        return struct.unpack("<Q", self.read(addr, 8))[0]

    def u32(self, addr):
        return struct.unpack("<I", self.read(addr, 4))[0]

    def i32(self, addr):
        return struct.unpack("<i", self.read(addr, 4))[0]

    def close(self):
        for fd in (self.fd, self.pagemap):
            if fd is not None:
                os.close(fd)
        self.fd = self.pagemap = None
