"""census_target.py WORKDIR — a program that lists every object its own gc
can reach, with id() and sys.getsizeof(), so a test can hold remora's
snapshot against it object by object.

It builds a varied heap (classes plain, slotted and with a materialized
__dict__, dict/list/set subclasses, every builtin container, strings of
each kind, ints of each sign, generators, a deque, closures, arrays,
BytesIO, Struct, buffered file, ElementTree Element and Decimal objects,
itertools' combinatoric iterators, picklers and unpicklers, simple queues
(3.15 counts their ring),
ctypes types (whose layout info counts its format and fields), 3.8-3.9's
parser syntax trees (their nodes and token strings)
and, where numpy imports, numpy arrays owning their data and views,
whose C __sizeof__ counts their items, buffers, format codes, children,
digits and data),
runs
asyncio.run(asyncio.sleep(0.01)) (which leaves dead future iterators on
_asyncio's free list: 3.12 keeps it in the module's state and its
traverse visits them), then walks gc.get_objects() + gc.get_referents()
to a closure and writes
WORKDIR/census.json: {"objects": [[address, module.qualname, size], ...]}.
It drops what it used for the walk, creates WORKDIR/ready, and waits for
SIGUSR1; then it checks that its data holds what it was built with and
exits 0 (1 if not).
"""

import array
import asyncio
import collections
import ctypes
import decimal
import io
import itertools
import gc
import json
import os
import pickle
import queue
import signal
import struct
import sys
import threading
from xml.etree import ElementTree

from referents import referents as gc_referents  # as the references are

try:
    # 3.8-3.9's parser module (deprecated in 3.9, gone in 3.10)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import parser
except ImportError:
    parser = None

try:
    # (Debian's python3-numpy, for its python3.11; one BLAS thread)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy
except ImportError:
    numpy = None


class Plain:
    def __init__(self, i):
        self.i = i
        self.name = "plain-%d" % i


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, i):
        self.a = i
        self.b = [i]


class Opened:
    pass


class Bag(dict):
    pass


class Row(list):
    pass


class Tags(set):
    pass


def gen(n):
    total = 0
    for i in range(n):
        total += i
        yield total


def make_closure(x):
    def inner():
        return x
    return inner


def build():
    keep = {}
    keep["plain"] = [Plain(i) for i in range(300)]
    keep["slotted"] = [Slotted(i) for i in range(200)]
    opened = [Opened() for _ in range(50)]
    for i, o in enumerate(opened):
        o.v = i
        o.__dict__  # materializes the attribute dict
    keep["opened"] = opened
    keep["bags"] = [Bag(k=i) for i in range(40)]
    keep["rows"] = [Row(range(i)) for i in range(40)]
    keep["tags"] = [Tags({i, i + 1}) for i in range(40)]
    keep["dicts"] = [{("k%d" % j): j for j in range(i)} for i in range(60)]
    keep["lists"] = [list(range(i)) for i in range(60)]
    keep["sets"] = [set(range(i)) for i in range(60)]
    keep["frozen"] = [frozenset(range(i)) for i in range(30)]
    keep["tuples"] = [tuple(range(i)) for i in range(30)]
    keep["strs"] = ["ascii-%d" % i for i in range(100)]
    keep["latin"] = ["caf\xe9-%d" % i for i in range(50)]
    keep["ucs2"] = ["\u20ac-%d" % i for i in range(50)]
    keep["ucs4"] = ["\U0001f600-%d" % i for i in range(50)]
    keep["utf8"] = ["\u20ac-utf8-%d" % i for i in range(20)]
    for s in keep["utf8"]:
        s.encode("utf-8").decode("utf-8")
    keep["ints"] = [(-1) ** i * 7 ** i for i in range(200)]
    keep["floats"] = [i / 7 for i in range(50)]
    keep["bytes"] = [b"x" * i for i in range(50)]
    keep["bytearrays"] = [bytearray(b"y" * i) for i in range(50)]
    keep["gens"] = [gen(i + 1) for i in range(20)]
    for g in keep["gens"][::2]:
        next(g)
    keep["deques"] = [collections.deque(range(i * 40)) for i in range(10)]
    keep["odicts"] = [collections.OrderedDict(a=i) for i in range(5)]
    keep["closures"] = [make_closure(i) for i in range(20)]
    # sized beyond the object by their C __sizeof__: an array's items, a
    # BytesIO's buffer (not counted while shared: SHARED is the code's
    # constant too)
    keep["arrays"] = ([array.array(code, range(n)) for code, n in
                       (("d", 100000), ("b", 0), ("i", 1000), ("q", 7), ("B", 3))]
                      + [SubArray("h", range(50))])
    keep["bytesios"] = [io.BytesIO() for _ in range(3)] + [io.BytesIO(SHARED)]
    keep["structs"] = [struct.Struct(f) for f in ("", "i", "10i2h", "<qqd", "3s?x")]
    root = ElementTree.Element("root", {"a": "1"})
    keep["elements"] = [root, ElementTree.Element("empty")] + [
        ElementTree.SubElement(root, "child", {"i": str(i)}) for i in range(100)]
    for i in range(3):
        ElementTree.SubElement(keep["elements"][2], "grandchild")
    wide = decimal.Context(prec=200)
    keep["decimals"] = [decimal.Decimal(1), decimal.Decimal("1.5"),
                        wide.power(decimal.Decimal(7), 200), wide.divide(1, 7)]
    # ctypes' types keep their layout in a dict of their own (StgDict,
    # 3.8-3.12) or in the type object (3.13+), sized with its format
    # string and field types
    keep["ctypes"] = [Point, Point(1, 2), (ctypes.c_double * 3)(), ctypes.c_int(5)]
    if numpy is not None:
        owner = numpy.arange(100000, dtype=numpy.float64)
        keep["ndarrays"] = [owner, owner[::2], owner.reshape(400, 250).T,
                            numpy.zeros((3, 4), dtype=numpy.int16, order="F"),
                            numpy.array(7.5), numpy.empty(0)]
    keep["itertools"] = [itertools.product("ab", range(3), "xyz"),
                         itertools.combinations(range(10), 4),
                         itertools.combinations_with_replacement("abc", 2),
                         itertools.permutations(range(6), 3), itertools.permutations("ab")]
    for it in keep["itertools"][::2]:
        next(it)
    # picklers: a memo table and an output buffer; unpicklers: a memo,
    # marks and their encoding and errors strings (their files are
    # BytesIO objects: with the others, for their sizes taken again)
    files = [io.BytesIO(), io.BytesIO(pickle.dumps([1, 2, 3] * 50)), io.BytesIO(b"")]
    keep["bytesios"] += files
    keep["picklers"] = [pickle.Pickler(files[0]), pickle.Unpickler(files[1]),
                        pickle.Unpickler(files[2], encoding="latin1", errors="ignore")]
    keep["picklers"][0].dump([list(range(100)), {"a": [1, 2]}, "x" * 50])
    keep["picklers"][1].load()
    keep["queues"] = [queue.SimpleQueue() for _ in range(2)]
    for i in range(100):
        keep["queues"][1].put(i)
    if parser is not None:
        # syntax trees: their nodes, child arrays and token strings
        keep["parser"] = [parser.suite("x = 1\nif x:\n    y = [i * 2 for i in range(3)]\n"),
                          parser.expr("a + b * 'str' - f(c, *d)"),
                          parser.suite(";".join("v%d = %d" % (i, i) for i in range(300)))]
    keep["buffered"] = [open(__file__, "rb"), io.BufferedWriter(io.BytesIO(), 1000),
                        io.BufferedRandom(io.BytesIO(), 333)]
    for i, b in enumerate(keep["bytesios"][:3]):
        b.write(b"z" * (1000 * 10 ** i + i))
    return keep


class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]


class SubArray(array.array):
    pass


SHARED = b"a BytesIO's initial bytes, shared with this module"


def fingerprint(keep):
    """The values of everything build() made, as plain data: equal before
    and after a capture unless something changed them."""
    def value(o):
        if isinstance(o, (Plain, Opened)):
            return sorted(vars(o).items())
        if isinstance(o, Slotted):
            return (o.a, o.b)
        if isinstance(o, (set, frozenset)):
            return sorted(o)
        if isinstance(o, dict):
            return sorted(o.items(), key=repr)
        if isinstance(o, (list, tuple, collections.deque)):
            return list(o)
        if callable(o) and hasattr(o, "__closure__"):
            return o()
        if numpy is not None and isinstance(o, numpy.ndarray):
            return (o.shape, o.dtype.str, float(o.sum()))
        if isinstance(o, ctypes.Structure):
            return (o.x, o.y)
        if isinstance(o, ctypes.Array):
            return list(o)
        if isinstance(o, ctypes._SimpleCData):
            return o.value
        if isinstance(o, queue.SimpleQueue):
            return o.qsize()
        if isinstance(o, array.array):
            return (o.typecode, len(o), o.buffer_info()[1])
        if isinstance(o, ElementTree.Element):
            return (o.tag, sorted(o.items()), len(o))   # (.attrib would make extra)
        if isinstance(o, struct.Struct):
            return (o.format, o.size)
        if isinstance(o, io.BytesIO):
            return o.tell()       # (getvalue() would trim the buffer)
        if hasattr(o, "gi_frame"):
            return o.gi_frame.f_lasti if o.gi_frame else None
        return o
    return repr([(k, [(type(o).__name__, value(o)) for o in v]) for k, v in sorted(keep.items())])


def referents(o):
    """gc.get_referents(o); of the _asyncio module, its __dict__ only: on
    3.12 its traverse also visits the dead future iterators on its free
    list, which get_referents would bring back to life, and freeing them
    again corrupts the free list (the interpreter then loops at exit)."""
    if o is sys.modules.get("_asyncio"):
        return [vars(o)]
    return gc_referents(o)


def census():
    """Objects the gc reaches, leaving out this function's own working
    state (its frame, `seen`, `todo`): what they alone hold dies when it
    returns, so it could not be in a later snapshot."""
    gc.collect()
    seen = {}
    todo = gc.get_objects()
    todo.append(sys.modules)
    mine = {id(seen), id(todo), id(sys._getframe())}
    while todo:
        o = todo.pop()
        if id(o) in seen or id(o) in mine:
            continue
        seen[id(o)] = o
        todo.extend(referents(o))
    rows = []
    for addr, o in seen.items():
        t = type(o)
        rows.append([addr, "%s.%s" % (t.__module__, t.__qualname__), sys.getsizeof(o)])
    return rows


def main():
    wdir = sys.argv[1]
    keep = build()
    asyncio.run(asyncio.sleep(0.01))
    rows = census()
    # a BytesIO counts its buffer only while nothing else refers to it,
    # and the census held every buffer gc reaches (3.12+'s traverse visits
    # it): their sizes again, now that it holds none
    now = {id(o): sys.getsizeof(o) for o in keep["bytesios"]}
    for row in rows:
        row[2] = now.get(row[0], row[2])
    # the buffers of the BytesIO objects where gc sees them (3.12+'s
    # traverse visits them; a buffer is held by nothing else)
    buffers = [id(r) for b in keep["bytesios"] for r in gc.get_referents(b)
               if type(r) is bytes and len(r) >= 1000]
    with open(os.path.join(wdir, "census.json.tmp"), "w") as f:
        json.dump({"objects": rows, "bytesio_buffers": buffers}, f)
    os.rename(os.path.join(wdir, "census.json.tmp"), os.path.join(wdir, "census.json"))
    del rows
    done = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *a: done.set())
    before = fingerprint(keep)
    with open(os.path.join(wdir, "ready"), "w") as f:
        f.write(str(os.getpid()))
    while not done.wait(1.0):
        pass
    # what of the census is still there after the capture, by the
    # target's own count: on 3.14 and 3.15 a few objects asyncio.run()
    # left behind (seen: an interned name of its sslproto module, in a
    # tuple and two dicts) can go after the census, before any capture;
    # the tests need not find those.  An object is known by its address
    # and type, so nothing may be made before this second census that it
    # would reach: reading census.json first made ~50,000 strs (its type
    # names), one of which could take the address of a str gone before
    # the capture and pass it off as still there (the rare "str missing
    # from the snapshot" on 3.14/3.15).
    alive = {(r[0], r[1]) for r in census()}
    listed = {(r[0], r[1]) for r in json.load(open(os.path.join(wdir, "census.json")))["objects"]}
    write = os.path.join(wdir, "gone.json")
    with open(write + ".tmp", "w") as f:
        json.dump(sorted(listed - alive), f)
    os.rename(write + ".tmp", write)
    # the program's own data holds what it was built with
    if fingerprint(keep) != before:
        print("census_target: the data changed while stopped")
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
