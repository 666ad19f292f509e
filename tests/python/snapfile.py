"""snapfile.py — writes remora snapshot files (src/snapshot_format.h,
version 4) from Python, for tests that need hand-made heaps.

    w = SnapshotWriter(path, python_version=0x030b04f0)
    w.type(0x10, "dict", "builtins")
    w.node(0x1000, 0x10, 232, repr="{}")
    w.edge(0x2000, via(VIA_FIELD, FIELD_DICT))   # an edge of the last node
    w.root(0x1000, via(VIA_ROOT, 0))
    w.close()

One EDGES record follows each node that has edges; the file is written
when close() is called.
"""

import struct

MAGIC = b"\x89RMRSNP\n"
VERSION = 4
HEADER_SIZE = 32
REC_NODE, REC_EDGES, REC_ROOTS, REC_TYPE, REC_END = 1, 2, 3, 4, 0x454E44

NODE_GC, NODE_TRAVERSED, NODE_PARTIAL, NODE_INLINE_VALUES, NODE_TYPE = 1, 2, 4, 8, 16

VIA_UNKNOWN, VIA_INDEX, VIA_DICT_VALUE, VIA_DICT_KEY, VIA_ATTR = 0, 1, 2, 3, 4
VIA_FIELD, VIA_LOCAL, VIA_SET_ITEM, VIA_ROOT, VIA_STACK = 5, 6, 7, 8, 9
FIELD_OB_TYPE, FIELD_DICT, FIELD_MRO = 0, 1, 3
FIELD_MD_DICT = 41
FIELD_OTHER = 43


def via(kind, arg=0):
    return (kind << 56) | (arg & ((1 << 56) - 1))


def _pad(b):
    return b + b"\0" * (-len(b) % 8)


class SnapshotWriter:
    def __init__(self, path, python_version=0x030B04F0, flags=0):
        self.path = path
        self.python_version = python_version
        self.flags = flags
        self.records = []
        self.pending = []     # edges of the last node
        self.roots = []
        self.counts = [0, 0, 0, 0]  # nodes, edges, types, roots

    def _flush_edges(self):
        if self.pending:
            body = b"".join(struct.pack("<QQ", t, v) for t, v in self.pending)
            self.records.append(struct.pack("<II", REC_EDGES, len(self.pending)) + body)
            self.pending = []

    def type(self, address, name, module, flags=0):
        self._flush_edges()
        n, m = name.encode(), module.encode()
        self.records.append(struct.pack("<IIQQHHI", REC_TYPE, len(n) + len(m), address,
                                        flags, len(n), len(m), 0) + _pad(n + m))
        self.counts[2] += 1

    def node(self, address, type_address, size, extra=0, flags=0, repr=""):
        """A NODE; a nonzero extra implies NODE_INLINE_VALUES (the only
        NODE that carries the extra word)."""
        self._flush_edges()
        r = repr.encode()[:255]
        if extra:
            flags |= NODE_INLINE_VALUES
        body = struct.pack("<IIQQQ", REC_NODE, len(r) | flags << 8, address,
                           type_address, size)
        if flags & NODE_INLINE_VALUES:
            body += struct.pack("<Q", extra)
        self.records.append(body + _pad(r))
        self.counts[0] += 1

    def edge(self, target, via_word=0):
        self.pending.append((target, via_word))
        self.counts[1] += 1

    def root(self, target, via_word=0):
        self._flush_edges()
        self.records.append(struct.pack("<IIQQQ", REC_ROOTS, 1, target, via_word, 0))
        self.counts[3] += 1

    def close(self):
        self._flush_edges()
        header = MAGIC + struct.pack("<IIIIQ", VERSION, HEADER_SIZE,
                                     self.python_version, self.flags, 8)
        end = struct.pack("<II4Q", REC_END, 0, *self.counts)
        with open(self.path, "wb") as f:
            f.write(header + b"".join(self.records) + end)
        return self.path
