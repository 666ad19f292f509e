"""snapread.py — an independent reader of remora snapshot files (formats 4 and 5,
src/snapshot_format.h) for the integration tests: written from the format
description, not from the engine, so that tests comparing snapshots do not
trust the code they test.
"""

import struct

MAGIC = b"\x89RMRSNP\n"
NODE, EDGES, ROOTS, TYPE, SET, THREAD, END = 1, 2, 3, 4, 5, 6, 0x454E44
NODE_INLINE_VALUES = 1 << 3
NODE_MEMBERS = 1 << 5


class Snapshot:
    """nodes: {address: (type, size, flags)}; edges: {address: [target]};
    roots: [target]; types: {address: "module.name"}; flags (header)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            b = f.read()
        if b[:8] != MAGIC:
            raise ValueError("%s: not a remora snapshot" % path)
        version, header_size, self.python, self.flags = struct.unpack_from("<IIII", b, 8)
        # 5 is 4 with a NyHeapDef node flag, a via kind and the TYPE
        # record's shape word, none of which this reader needs
        if version not in (4, 5):
            raise ValueError("%s: format %d, this reader knows 4 and 5" % (path, version))
        self.nodes, self.edges, self.roots, self.types = {}, {}, [], {}
        off, last = header_size, None
        while off < len(b):
            tag, n = struct.unpack_from("<II", b, off)
            off += 8
            if tag == NODE:
                repr_len, flags = n & 0xFF, n >> 8
                addr, typ, size = struct.unpack_from("<QQQ", b, off)
                off += 24 + (8 if flags & NODE_INLINE_VALUES else 0)
                off += (repr_len + 7) & ~7
                self.nodes[addr] = (typ, size, flags)
                self.edges[addr] = []
                last = addr
            elif tag in (EDGES, ROOTS):
                size = 16 if tag == EDGES else 24  # roots add a where word
                targets = [struct.unpack_from("<Q", b, off + size * i)[0] for i in range(n)]
                off += size * n
                (self.edges[last] if tag == EDGES else self.roots).extend(targets)
            elif tag == TYPE:
                addr, _flags, nl, ml, _r = struct.unpack_from("<QQHHI", b, off)
                off += 24
                name = b[off:off + nl].decode("utf-8", "replace")
                module = b[off + nl:off + nl + ml].decode("utf-8", "replace")
                off += (nl + ml + 7) & ~7
                self.types[addr] = "%s.%s" % (module, name)
            elif tag == SET:
                off += 8 * n
            elif tag == THREAD:
                off += 32
            elif tag == END:
                return
            else:
                raise ValueError("%s: unknown record tag %#x at %d" % (path, tag, off - 8))
        raise ValueError("%s: no END record" % path)

    def type_name(self, addr):
        return self.types.get(self.nodes[addr][0], "?")
