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
"""

import os
import struct

import gdb

from .errors import RemoraError

BLOCK_BITS = 16
BLOCK_MASK = (1 << BLOCK_BITS) - 1
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
        self.blocks = {}
        self.fd = None
        if self.inf.pid and not is_core():
            try:
                self.fd = os.open("/proc/%d/mem" % self.inf.pid, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                self.fd = None

    def read(self, addr, size):
        """size bytes at addr: from the 64 KiB block that holds them,
        read once, else alone."""
        index = addr >> BLOCK_BITS
        if self.use_blocks and (addr + size - 1) >> BLOCK_BITS == index:
            block = self.blocks.get(index)
            if block is None:
                if len(self.blocks) >= BLOCKS_KEPT:
                    self.blocks.clear()
                try:
                    block = self.read_direct(index << BLOCK_BITS, 1 << BLOCK_BITS)
                except RemoraError:      # the block crosses an unmapped page
                    block = b""
                self.blocks[index] = block
            offset = addr - (index << BLOCK_BITS)
            if offset + size <= len(block):
                return block[offset:offset + size]
        return self.read_direct(addr, size)

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
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
