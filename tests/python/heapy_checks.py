"""heapy_checks.py — runs inside gdb (gdb -batch -nx -x heapy_checks.py):
the gdb package's heapy API, table text and py-heap command, against
snapshots written by snapfile.py.  Prints TAP (test_heapy.py relays it).

Environment: REMORA_TOP_SRCDIR (the tree), REMORA_WORKDIR (scratch).
The expected tables are written out literally: they are heapy's format,
character for character (numbers checked by hand: e.g. 3000/10376 is
28.9% -> 29; 12.5% rounds to 12 and 37.5% to 38, half to even).
"""

import json
import os
import random
import re
import resource
import subprocess
import sys
import time
import traceback
import types

import gdb

TOP = os.environ["REMORA_TOP_SRCDIR"]
WORK = os.environ["REMORA_WORKDIR"]
sys.path.insert(0, os.path.join(TOP, "gdb"))
sys.path.insert(0, os.path.join(TOP, "tests", "python"))

from snapfile import (FIELD_DICT, FIELD_MD_DICT, FIELD_MRO, VIA_DICT_KEY,  # noqa: E402
                      VIA_DICT_VALUE, VIA_FIELD, VIA_INDEX, VIA_ROOT, SnapshotWriter,
                      via)

_count = 0
_failed = 0


def check(ok, description, detail=None):
    global _count, _failed
    _count += 1
    if not ok:
        _failed += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", _count, description))
    if not ok and detail:
        for line in str(detail).splitlines():
            print("# " + line)
    sys.stdout.flush()


def check_text(got, want, description):
    ok = got == want
    detail = None
    if not ok:
        detail = "got:\n%s\nwant:\n%s" % (got, want)
    check(ok, description, detail)


class RecordingWriter(SnapshotWriter):
    """A SnapshotWriter that remembers what it wrote, so the checks can
    work out referrers and referents from the edges themselves:
    GRAPHS[path] = ({address: size}, [(source, target address)])."""

    GRAPHS = {}

    def __init__(self, path, *args, **kwargs):
        super().__init__(path, *args, **kwargs)
        self.sizes, self.edges, self.last = {}, [], None
        RecordingWriter.GRAPHS[path] = (self.sizes, self.edges)

    def node(self, address, type_address, size, *args, **kwargs):
        super().node(address, type_address, size, *args, **kwargs)
        self.sizes[address] = size
        self.last = address

    def edge(self, target, via_word=0):
        super().edge(target, via_word)
        self.edges.append((self.last, target))


def expected_neighbours(path, members):
    """(referents, referrers) of the addresses in members, as address sets,
    from the edges written (edges to unwritten addresses do not count)."""
    sizes, edges = RecordingWriter.GRAPHS[path]
    out = {t for s, t in edges if s in members and t in sizes}
    into = {s for s, t in edges if t in members and t in sizes}
    return out, into


T_TYPE, T_DICT, T_STR, T_MOD, T_FUNC, T_FOO, T_BAR, T_CODE, T_ODICT = \
    [0x10 * i for i in range(1, 10)]


def write_main(path):
    """GIVEN the heap of test_partition.c: 28 objects, 10376 bytes."""
    w = RecordingWriter(path)
    for addr, name, module in [
            (T_TYPE, "type", "builtins"), (T_DICT, "dict", "builtins"),
            (T_STR, "str", "builtins"), (T_MOD, "module", "builtins"),
            (T_FUNC, "function", "builtins"), (T_FOO, "Foo", "__main__"),
            (T_BAR, "Bar", "__main__"), (T_CODE, "code", "builtins"),
            (T_ODICT, "OrderedDict", "collections")]:
        w.type(addr, name, module)

    def owned(owner, owner_type, owner_size, field, dict_addr, dict_size):
        w.node(owner, owner_type, owner_size)
        w.edge(dict_addr, via(VIA_FIELD, field))
        w.node(dict_addr, T_DICT, dict_size)

    owned(T_FOO, T_TYPE, 1064, FIELD_DICT, 0x1000, 1184)
    owned(T_BAR, T_TYPE, 1064, FIELD_DICT, 0x1010, 1184)
    owned(0x2000, T_MOD, 72, FIELD_MD_DICT, 0x1020, 2000)
    owned(0x2010, T_MOD, 72, FIELD_MD_DICT, 0x1030, 1000)
    for k in range(3):
        owned(0x3000 + 16 * k, T_FOO, 48, FIELD_DICT, 0x1100 + 16 * k, 104)
    owned(0x3100, T_BAR, 56, FIELD_DICT, 0x1200, 232)
    w.node(0x3110, T_BAR, 56)
    w.edge(0x5000, via(VIA_FIELD, FIELD_DICT))
    w.node(0x5000, T_ODICT, 300)
    w.node(0x1300, T_DICT, 640)
    w.node(0x1310, T_DICT, 232)
    for k in range(5):
        w.node(0x6000 + 16 * k, T_STR, 50 + k, repr="'s%d'" % k)
    w.node(0x4000, T_FUNC, 152)
    w.node(0x4010, T_FUNC, 152)
    w.node(0x4100, T_CODE, 200)
    return w.close()


def write_graph(path):
    """GIVEN 300 objects of three types and 1200 random edges: self-loops,
    duplicates, edges to 20 addresses without objects, and 30 objects
    written last that no edge touches."""
    rng = random.Random(4)
    w = RecordingWriter(path)
    w.type(0x10, "A", "m")
    w.type(0x20, "B", "m")
    w.type(0x30, "C", "m")
    linked = [0x100000 + 32 * i for i in range(270)]
    missing = [0x900000 + 32 * i for i in range(20)]
    for i, addr in enumerate(linked):
        w.node(addr, 0x10 * (1 + i % 3), 16 + i % 7)
        for _ in range(rng.choice((0, 0, 1, 2, 4, 9))):
            w.edge(rng.choice(linked + missing))
        if i % 50 == 0:
            w.edge(addr)                   # a self-loop
            w.edge(linked[0])
            w.edge(linked[0])              # a duplicate
    for i in range(30):
        w.node(0x800000 + 32 * i, 0x30, 40)
    return w.close()


LONG = "pkg_with_a_long_name.subpackage_also_long.module_name.VeryLongClassName"


def write_rounding(path):
    """GIVEN 8 objects of 100 bytes: 4 C, 3 B, 1 A (percentages 50, 37.5,
    12.5), plus, in a second file, one object of a very long class name."""
    w = SnapshotWriter(path)
    w.type(0x10, "A", "m")
    w.type(0x20, "B", "m")
    w.type(0x30, "C", "m")
    addr = 0x1000
    for t, n in ((0x10, 1), (0x20, 3), (0x30, 4)):
        for _ in range(n):
            w.node(addr, t, 100)
            addr += 16
    return w.close()


ABSURD = 1 << 63


def write_absurd(path):
    """GIVEN two objects of 2^63 bytes each (the sizes a damaged heap or a
    corrupt file can claim), one of 100 and one of 7: their true total,
    2^64 + 107, does not fit in 64 bits."""
    w = SnapshotWriter(path)
    w.type(0x10, "Huge", "m")
    w.type(0x20, "Small", "m")
    w.type(0x30, "Tiny", "m")
    w.node(0x1000, 0x10, ABSURD)
    w.node(0x1010, 0x10, ABSURD)
    w.node(0x1020, 0x20, 100)
    w.node(0x1030, 0x30, 7)
    return w.close()


def load_in_fresh_gdb(path, timeout=20, address_space=None):
    """`py-heap hp.load(PATH)` in a new gdb (killed after timeout seconds;
    address_space: its RLIMIT_AS).  Returns (output lines, seconds,
    timed out)."""
    def limit():
        if address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    argv = [os.environ.get("GDB") or "gdb", "-batch", "-nx",
            "-ex", "source " + os.path.join(TOP, "remora.py"),
            "-ex", "py-heap hp.load(%r)" % path]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True,
                         preexec_fn=limit, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        out, _ = p.communicate()
        timed_out = True
    return [ln for ln in out.splitlines() if ln.strip()], time.monotonic() - t0, timed_out


def check_bad_files():
    """hp.load of what is no snapshot: one line, and gdb goes on."""
    fifo = os.path.join(WORK, "fifo.remora")
    os.mkfifo(fifo)
    lines, secs, timed_out = load_in_fresh_gdb(fifo)
    check(not timed_out and len(lines) == 1
          and re.match(r"^remora: snapshot .*fifo\.remora: not a regular file$", lines[0]),
          "hp.load of a FIFO (no writer) refuses it in one line, without waiting",
          "%s after %.1fs: %r" % ("killed" if timed_out else "done", secs, lines))
    big = os.path.join(WORK, "big.remora")
    with open(big, "wb") as f:
        f.write(b"GARBAGE!" * 4)
        f.truncate(3 << 30)   # sparse: 3 GiB that take no disk
    # a 2 GiB address space: mapping the file before reading its header
    # fails (it did, with MAP_POPULATE: 8 s and 3.1 GB resident)
    lines, secs, timed_out = load_in_fresh_gdb(big, timeout=120, address_space=2 << 30)
    os.unlink(big)
    check(not timed_out and len(lines) == 1 and re.match(
        r"^remora: snapshot .*big\.remora: not a remora snapshot \(bad magic\)$", lines[0]),
          "hp.load of a 3 GiB file with a garbage header: its header is read before "
          "anything is mapped (%.1fs)" % secs,
          "%s after %.1fs: %r" % ("killed" if timed_out else "done", secs, lines))


def check_absurd_sizes(hp):
    """Sizes that add up past 2^64 do not wrap any total: the loader
    lowers the absurd ones, keeps the others, and says so."""
    path = write_absurd(os.path.join(WORK, "absurd.remora"))
    note = run("python import remora; h_absurd = remora.hpy().load(%r)" % path)
    h = sys.modules["__main__"].h_absurd
    check(2 ** 63 <= h.size < 2 ** 64,
          "sizes adding up past 2^64: the total is at least the largest object's, "
          "not wrapped (%d)" % h.size)
    rows = {r.label: r.size for r in h.bytype.partition.rows}
    check((rows.get("m.Small"), rows.get("m.Tiny")) == (100, 7),
          "and the objects of sane sizes keep theirs", rows)
    check(rows.get("m.Huge", 0) + 107 == h.size,
          "the rows add up to the total", rows)
    check(re.match(r"^remora: .*sizes.*\n$", note) is not None,
          "hp.load says the sizes were absurd, in one line", repr(note))


def write_long(path):
    w = SnapshotWriter(path)
    w.type(0x10, "Outer." + LONG.rsplit(".", 1)[1], LONG.rsplit(".", 1)[0])
    w.node(0x1000, 0x10, 10)
    return w.close()


HEADER = " Index  Count   %     Size   % Cumulative  % Kind (class / dict of class)"
ROWS = [
    "     0      2   7     3000  29      3000  29 dict of module",
    "     1      2   7     2368  23      5368  52 dict of type",
    "     2      2   7     2128  21      7496  72 type",
    "     3      2   7      872   8      8368  81 dict (no owner)",
    "     4      3  11      312   3      8680  84 dict of __main__.Foo",
    "     5      2   7      304   3      8984  87 function",
    "     6      1   4      300   3      9284  89 collections.OrderedDict",
    "     7      5  18      260   3      9544  92 str",
    "     8      1   4      232   2      9776  94 dict of __main__.Bar",
    "     9      1   4      200   2      9976  96 types.CodeType",
    "    10      3  11      144   1     10120  98 __main__.Foo",
    "    11      2   7      144   1     10264  99 module",
    "    12      2   7      112   1     10376 100 __main__.Bar",
]
LABEL = "Partition of a set of 28 objects. Total size = 10376 bytes."
TOP_PAGE = "\n".join([LABEL, HEADER] + ROWS[:10] +
                     ["<3 more rows. Type e.g. '_.more' to view.>"])
MORE_PAGE = "\n".join([HEADER] + ROWS[10:])
ALL = "\n".join([LABEL, HEADER] + ROWS)

BYTYPE = """\
Partition of a set of 28 objects. Total size = 10376 bytes.
 Index  Count   %     Size   % Cumulative  % Type
     0     10  36     6784  65      6784  65 dict
     1      2   7     2128  21      8912  86 type
     2      2   7      304   3      9216  89 function
     3      1   4      300   3      9516  92 collections.OrderedDict
     4      5  18      260   3      9776  94 str
     5      1   4      200   2      9976  96 types.CodeType
     6      3  11      144   1     10120  98 __main__.Foo
     7      2   7      144   1     10264  99 module
     8      2   7      112   1     10376 100 __main__.Bar"""

BYSIZE = """\
Partition of a set of 28 objects. Total size = 10376 bytes.
 Index  Count   %     Size   % Cumulative  % Individual Size
     0      2   7     2368  23      2368  23      1184
     1      2   7     2128  21      4496  43      1064
     2      1   4     2000  19      6496  63      2000
     3      1   4     1000  10      7496  72      1000
     4      1   4      640   6      8136  78       640
     5      2   7      464   4      8600  83       232
     6      3  11      312   3      8912  86       104
     7      2   7      304   3      9216  89       152
     8      1   4      300   3      9516  92       300
     9      1   4      200   2      9716  94       200
<8 more rows. Type e.g. '_.more' to view.>"""

BYUNITY = """\
Partition of a set of 28 objects. Total size = 10376 bytes.
 Index  Count   %     Size   % Cumulative  % <unclassified>
     0     28 100    10376 100     10376 100 <Anything>"""

# h[3]: heapy's FastPartition keeps the parent's index and cumulative size.
ROW3 = """\
Partition of a set of 2 objects. Total size = 872 bytes.
 Index  Count   %     Size   % Cumulative  % Kind (class / dict of class)
     3      2 100      872 100      8368 960 dict (no owner)"""

ROUNDING = """\
Partition of a set of 8 objects. Total size = 800 bytes.
 Index  Count   %     Size   % Cumulative  % Kind (class / dict of class)
     0      4  50      400  50       400  50 m.C
     1      3  38      300  38       700  88 m.B
     2      1  12      100  12       800 100 m.A"""

LONG_TABLE = "\n".join([
    "Partition of a set of 1 object. Total size = 10 bytes.",
    HEADER,
    "     0      1 100       10 100        10 100",
    " " * 45 + LONG[:55],
    " " * 45 + LONG[55:],
])


def run(command):
    return gdb.execute(command, to_string=True)


def run_error(command):
    try:
        gdb.execute(command, to_string=True)
    except gdb.error as exc:
        return str(exc)
    return None


# The hierarchy heap: classes A, B(A), C(B) and object, each type object
# with its __mro__ tuple; instances 1 A, 2 B, 3 C, 4 object; a dict D
# holding the A instance as ['a'] and a list holding it and a C as [0], [1].
H_TYPE, H_TUPLE, H_OBJ, H_A, H_B, H_C, H_DICT, H_LIST, H_STR = \
    [0x100 * i for i in range(1, 10)]


def write_hierarchy(path):
    w = RecordingWriter(path)
    for addr, name, module in [(H_TYPE, "type", "builtins"), (H_TUPLE, "tuple", "builtins"),
                               (H_OBJ, "object", "builtins"), (H_A, "A", "__main__"),
                               (H_B, "B", "__main__"), (H_C, "C", "__main__"),
                               (H_DICT, "dict", "builtins"), (H_LIST, "list", "builtins"),
                               (H_STR, "str", "builtins")]:
        w.type(addr, name, module)
    mros = {H_OBJ: [H_OBJ], H_A: [H_A, H_OBJ], H_B: [H_B, H_A, H_OBJ],
            H_C: [H_C, H_B, H_A, H_OBJ]}
    for k, (t, mro) in enumerate(sorted(mros.items())):
        tup = 0x10000 + 0x100 * k
        w.node(t, H_TYPE, 1001)
        w.edge(tup, via(VIA_FIELD, FIELD_MRO))
        w.node(tup, H_TUPLE, 41 + 8 * len(mro))
        for i, base in enumerate(mro):
            w.edge(base, via(VIA_INDEX, i))
    objs = [(H_A, 1), (H_B, 2), (H_C, 3), (H_OBJ, 4)]
    addr = 0x20000
    first = {}
    for t, n in objs:
        for _ in range(n):
            first.setdefault(t, addr)
            w.node(addr, t, 49)
            addr += 0x40
    w.node(0x30000, H_STR, 50, repr="a")
    w.node(0x30100, H_DICT, 233)
    w.edge(first[H_A], via(VIA_DICT_VALUE, 0x30000))
    w.edge(0x30000, via(VIA_DICT_KEY, 0))
    w.node(0x30200, H_LIST, 73)
    w.edge(first[H_A], via(VIA_INDEX, 0))
    w.edge(first[H_C], via(VIA_INDEX, 1))
    w.root(0x30100, via(VIA_ROOT, 0))
    w.root(0x30200, via(VIA_ROOT, 1))
    return w.close(), first


def check_graph_api(hp):
    """Kinds, the byid table, paths, dominators, dump/load and diff on the
    hierarchy heap; errors as heapy raises them."""
    from remora import kinds, views
    path, first = write_hierarchy(os.path.join(WORK, "hier.remora"))
    h = hp.load(path)
    a_inst = first[H_A]

    def count(kind):
        return (h & kind).count

    check(count(hp.Type("__main__.A")) == 1, "hp.Type selects the exact type")
    check(count(hp.Type("__main__.A").alt("<=")) == 6,
          "Type.alt('<='): A and its subclasses' instances (by __mro__)")
    check(count(hp.Type("__main__.A").alt("<")) == 5, "Type.alt('<'): strict subclasses")
    check(count(hp.Type("__main__.C").alt(">=")) == 10,
          "Type.alt('>='): instances of C and of its bases")
    check(count(hp.Type("__main__.C").alt(">")) == 7, "Type.alt('>'): strict bases")
    check(count(hp.Type("__main__.A").alt("!=")) == h.count - 1, "alt('!='): the rest")
    check((h & dict).count == 1 and (h & "dict").count == 1,
          "a Python class or a type name stands for the target's type")
    sizes = RecordingWriter.GRAPHS[path][0]
    check(count(hp.Size(49)) == sum(1 for v in sizes.values() if v == 49) and
          count(hp.Size(50).alt("<")) == sum(1 for v in sizes.values() if v < 50) and
          count(hp.Size(57).alt(">=")) == sum(1 for v in sizes.values() if v >= 57),
          "hp.Size and its alternatives")
    check(count(hp.Via("['a']")) == 0 and count(hp.Via("['a']", "[0]")) == 1,
          "hp.Via: the exact set of relations")
    check(count(hp.Via("['a']").alt(">=")) == 1 and count(hp.Via("[1]")) == 1,
          "hp.Via(...).alt('>='): held that way among others")
    check(count(hp.Via("[1]").alt("<")) ==
          count(hp.Via("[1]").alt("<=")) - count(hp.Via("[1]")),
          "hp.Via(...).alt('<'): a proper subset, not the set itself")
    check(count(hp.Rcs("dict (no owner)", "list")) == 1 and
          count(hp.Rcs("list").alt(">=")) == 2 and count(hp.Rcs("RootState")) == 2,
          "hp.Rcs: referrer kinds, RootState for a root")
    check(repr(h & hp.Via(".nowhere")) == "hpy().Nothing" and
          (h & hp.Nothing).count == 0, "an empty selection is Nothing")
    check(repr(hp.Via(".key").alt("<")) == "hpy().Via('.key').alt('<')" and
          str(hp.Size(8)) == "<size = 8>" and str(~hp.Type("dict")) == "~dict",
          "kinds print as heapy's")
    for expr, exc_type, message in [
            (lambda: hp.Via("bad"), SyntaxError, "Cant make a relation of 'bad'."),
            (lambda: hp.Size(3).alt("<<"), ValueError, "No such comparison symbol: '<<'"),
            (lambda: hp.Clodo(dict), TypeError, None),
            (lambda: h.theone, ValueError, "theone requires a singleton set"),
            (lambda: h.by("nosuch"), ValueError,
             "by(): No such equivalence relation defined in heapy.Use: 'er_nosuch'"),
            (lambda: h.by(42), TypeError, "by(): Equivalence relation or string expected."),
            (lambda: iter(h), TypeError, "iteration over non-sequence")]:
        try:
            expr()
            check(False, "%s raised" % (message or exc_type.__name__))
        except exc_type as exc:
            check(message is None or str(exc) == message,
                  "heapy's %s: %s" % (exc_type.__name__, message or "raised"), str(exc))

    # byid: one object a row, largest first, heapy's IdFormat
    check_text(repr(hp.iso(0x30100, 0x30200).byid), """\
Set of 2 <mixed> objects. Total size = 306 bytes.
 Index     Size   %   Cumulative  %   Brief
     0      233  76.1       233  76.1 dict (no owner): 0x30100*1
     1       73  23.9       306 100.0 list: 0x30200*2""", "byid of a mixed set")
    check_text(repr(hp.iso(0x30100, 0x30200).byidset), """\
Partition of a set of 2 objects. Total size = 306 bytes.
 Index  Count   %     Size   % Cumulative  % by identity set
     0      1  50      233  76       233  76 <1 dict (no owner): 0x30100*1>
     1      1  50       73  24       306 100 <1 list: 0x30200*2>""", "byidset: rows by brief")
    one = hp.iso(a_inst)
    check(one.theone.address == a_inst and "__main__.A" in repr(one.theone),
          "theone: the object, its address and type")
    check([o.address for o in hp.iso(a_inst, first[H_C]).nodes] == [a_inst, first[H_C]],
          ".nodes: the objects, in address order")

    # paths and retention
    check_text(repr(one.sp), " 0: hpy().Root.i0_modules['a']\n 1: hpy().Root.i0_sysdict[0]",
               "sp: every shortest path, heapy's text")
    check(one.domisize == 49 and one.dominos.count == 1 and
          hp.iso(0x30200).domisize == 73 + 49,
          "domisize: the set and what only it keeps alive (the list: a C instance)")
    check(hp.iso(first[H_C]).imdom.addresses == [0x30200], "imdom: the list")
    # retained sizes come from the dominator tree, domisize from two
    # searches: two algorithms, one answer (test_retained.py holds both
    # against brute force on real heaps)
    snap = h._handle.snapshot
    rows = [h.byretained[i] for i in range(min(5, h.count))]
    got = [(r.count, snap.node_retained(r._handle.ids()[0]), r.domisize) for r in rows]
    check(all(n == 1 and ret == dom for n, ret, dom in got) and
          [ret for _n, ret, _d in got] == sorted((ret for _n, ret, _d in got), reverse=True),
          "byretained: one object a row, largest first, each retaining its domisize", got)

    # dump and load, diff
    saved = os.path.join(WORK, "saved.remora")
    hp.iso(0x30100, 0x30200).dump(saved)
    back = hp.load(saved)
    check(back.count == 2 and sorted(back.addresses) == [0x30100, 0x30200]
          and sorted(back.referents.addresses) == sorted([a_inst, 0x30000, first[H_C]]),
          "dump/load: the set back, with its graph")
    d = h.diff(back)
    diff = repr(d)
    check(diff.startswith("Summary of difference operation (A-B).") and
          "Differences by kind" in diff, "diff prints heapy's difference table", diff)
    # a difference of 13 kinds, A having one object of k bytes of kind k
    # more than B for each: .more shows rows 10..12, cumulating from 10
    class Part:
        def __init__(self, rows):
            self.kindheader = "Kind"
            self.rows = [types.SimpleNamespace(label=l, count=c, size=s) for l, c, s in rows]
            self.count, self.size = sum(r.count for r in self.rows), sum(r.size for r in self.rows)
    a = [("k%d" % k, 2, 100 * k + 7) for k in range(1, 14)]
    b = [("k%d" % k, 1, 7) for k in range(1, 14)]
    d = views.Diff(types.SimpleNamespace(partition=Part(a)),
                   types.SimpleNamespace(partition=Part(b)))
    first, more = repr(d).splitlines(), repr(d.more).splitlines()
    want = [r.split() for r in more[1:]]
    check(first[-1] == "<3 more rows. Type e.g. '_.more' to view.>"
          and more[0].startswith(" Index  Count") and len(more) == 4
          and [(w[0], w[1], w[2], w[3], w[5]) for w in want] ==
          [(str(i), "1", str(100 * k), str(sum(100 * j for j in range(13, k - 1, -1))),
            "k%d" % k) for i, k in ((10, 3), (11, 2), (12, 1))],
          "diff.more: the rows after the first 10, cumulative sizes going on", more)
    check(kinds.type_display(dict) == "dict", "gdb's dict names the target's dict")


# The modules heap: module objects named by the str their dict holds
# under '__name__' (one unnamed, two named 'io' as io and _io are), and an
# instance of a module subclass.
M_MOD, M_DICT, M_STR, M_LAZY = 0x10, 0x20, 0x30, 0x40
MODULES = [  # (module address, its __name__ or None, its dict's size)
    (0x1000, "os", 640), (0x1010, "io", 360), (0x1020, "io", 232), (0x1030, None, 64)]
NAME_KEY = 0x2000


def write_modules(path):
    w = RecordingWriter(path)
    for addr, name, module in [(M_MOD, "module", "builtins"), (M_DICT, "dict", "builtins"),
                               (M_STR, "str", "builtins"),
                               (M_LAZY, "_LazyModule", "importlib.util")]:
        w.type(addr, name, module)
    names = {}
    w.node(NAME_KEY, M_STR, 57, repr="__name__")
    for value in ["os", "io", "lazy"]:
        names[value] = 0x2010 + 0x10 * len(names)
        w.node(names[value], M_STR, 49 + len(value), repr=value)
    for addr, name, dict_size in MODULES + [(0x1040, "lazy", 104)]:
        w.node(addr, M_LAZY if name == "lazy" else M_MOD, 72)
        w.edge(addr + 0x100, via(VIA_FIELD, FIELD_MD_DICT))
        w.node(addr + 0x100, M_DICT, dict_size)
        if name is not None:
            w.edge(NAME_KEY, via(VIA_DICT_KEY, 0))
            w.edge(names[name], via(VIA_DICT_VALUE, NAME_KEY))
    return w.close()


def check_modules(hp):
    """bymodule and hp.Module as heapy's Module classifier has them
    (guppy3 Classifiers.ByModule): each object of type exactly module is
    a kind of its own, labelled by its __name__; everything else,
    instances of module subclasses too, is ~module."""
    path = write_modules(os.path.join(WORK, "modules.remora"))
    h = hp.load(path)
    sizes = RecordingWriter.GRAPHS[path][0]
    modules = {addr for addr, _name, _size in MODULES}
    rest = [a for a in sizes if a not in modules]
    part = h.bymodule.partition
    rows = sorted((label, count, size) for label, count, size in part._handle.rows()
                  if label != "~module")
    check(rows == sorted(((name or "<module at 0x%x>" % addr), 1, sizes[addr])
                         for addr, name, _size in MODULES),
          "bymodule: a row per module object, labelled by its __name__ (remora's "
          "<module at 0x...> without one)", rows)
    check([(c, s) for label, c, s in part._handle.rows() if label == "~module"] ==
          [(len(rest), sum(sizes[a] for a in rest))],
          "bymodule: one ~module row, a module subclass's instance in it")
    check_text(repr(h.bymodule).splitlines()[1][-7:], " Module", "bymodule's column header")
    # Not checked: heapy's hp.Module('io') is sys.modules['io'] alone, while
    # remora's selects every module whose __name__ is 'io' (here both).
    os_module = h & hp.Module("os")
    check(os_module.addresses == [0x1000] and os_module.size == sizes[0x1000],
          "hp.Module('os') selects the module named os")
    check(sorted((h & hp.Module()).addresses) == sorted(rest),
          "hp.Module() selects everything but modules (~module)")
    check(repr(hp.Module("os")) == "hpy().Module('os')" and str(hp.Module()) == "~module",
          "Module kinds print as heapy's")


def main():
    import remora
    from remora import command, heapy

    main_path = write_main(os.path.join(WORK, "main.remora"))
    hp = remora.hpy()
    h = hp.load(main_path)
    check_graph_api(hp)
    check_modules(hp)

    # -- the API and its tables ---------------------------------------------
    check_text(repr(h), TOP_PAGE, "h prints heapy's byclodo table, 10 rows and the footer")
    check_text(str(h), TOP_PAGE, "str(h) is the same table")
    check((h.count, h.size, len(h)) == (28, 10376, 28), "count, size, len")
    check_text(repr(h.more), MORE_PAGE, "h.more: header again, rows 10.. with absolute indexes")
    check_text(repr(h.more), MORE_PAGE, "h.more always continues after the top page")
    check_text(repr(h.more.more), "", "past the end, .more prints nothing")
    check_text(repr(h.all), ALL, "h.all: label, header, every row, no footer")
    check_text(repr(h.bytype), BYTYPE, "bytype: 9 rows, no footer")
    check_text(repr(h.bysize), BYSIZE, "bysize: labels %9d, rows by total size")
    check_text(repr(h.byunity), BYUNITY, "byunity: one <Anything> row")
    check_text(repr(h[3]), ROW3, "h[3] is heapy's one-row FastPartition")
    check_text(repr(h[-1]).splitlines()[-1],
               "    12      2 100      112 100     10376 9264 __main__.Bar",
               "negative index")
    check(h[3] is h[3], "row sets are cached")
    check_text(repr(h[0:11]).splitlines()[-1],
               "    10      3  12      144   1     10120 100 __main__.Foo",
               "an 11-row table prints its 11th row instead of a footer")
    check_text(repr(h[0:12]).splitlines()[-1],
               "<2 more rows. Type e.g. '_.more' to view.>",
               "a 12-row table ends with '<2 more rows'")
    check_text(repr(h[4].bysize), """\
Partition of a set of 3 objects. Total size = 312 bytes.
 Index  Count   %     Size   % Cumulative  % Individual Size
     0      3 100      312 100       312 100       104""",
               "a row's set, repartitioned, starts at index 0")
    check(h.bytype[0].count == 10 and h.bytype[0].size == 6784,
          "rows of h.bytype index by type")
    try:
        h[13]
        check(False, "h[13] raises IndexError")
    except IndexError as exc:
        check(str(exc) == "Partition index out of range.", "h[13] raises IndexError")

    # -- set algebra ---------------------------------------------------------
    a, b = h[0] | h[1], h[1] | h[2]
    check((a & b) == h[1], "intersection")
    check((a | b).count == 6 and (a | b).size == 3000 + 2368 + 2128, "union")
    check((a ^ b) == (h[0] | h[2]), "symmetric difference")
    check((a - b) == h[0], "difference")
    check((~a).count == 24 and (~~a) == a, "complement")
    check(h[0] <= a and h[0] < a and not a < a and a >= h[1] and a > h[1],
          "subset comparisons")
    check(h == h.bytype and h != h[0], "equality ignores the partition")
    check(not (a & h[5]) and repr(a & h[5]) == "hpy().Nothing",
          "the empty set is falsy and prints as hpy().Nothing")
    hp_main = sys.modules["__main__"]
    hp_main.hq = hp
    check(repr(a & h[5]) == "hq.Nothing", "Nothing is prefixed by hpy's name in __main__")
    del hp_main.hq

    # -- referents and referrers ---------------------------------------------
    def check_neighbours(path, s, what):
        members = set(s.addresses)
        out, into = expected_neighbours(path, members)
        sizes = RecordingWriter.GRAPHS[path][0]
        r, q = s.referents, s.referrers
        check(sorted(out) == r.addresses and r.count == len(out)
              and r.size == sum(sizes[a] for a in out),
              "referents of %s: %d objects, as the edges written say" % (what, len(out)),
              "got %d, want %d" % (r.count, len(out)))
        check(sorted(into) == q.addresses and q.count == len(into)
              and q.size == sum(sizes[a] for a in into),
              "referrers of %s: %d objects, as the edges written say" % (what, len(into)),
              "got %d, want %d" % (q.count, len(into)))

    check_neighbours(main_path, h, "the whole main heap")
    check_neighbours(main_path, h[0], "the dicts of modules")
    check_neighbours(main_path, h[2] | h[7], "types and strs")
    check_text(repr(h.referents).splitlines()[0],
               "Partition of a set of 9 objects. Total size = 6212 bytes.",
               "h.referents prints as a partition (the 9 __dict__s)")
    check_text(repr(h[0].referrers), """\
Partition of a set of 2 objects. Total size = 144 bytes.
 Index  Count   %     Size   % Cumulative  % Kind (class / dict of class)
     0      2 100      144 100       144 100 module""",
               "the referrers of the modules' dicts are the modules")
    check(repr(h[7].referents) == "hpy().Nothing" and not h[7].referrers,
          "strs refer to nothing and nothing refers to them")
    check(repr((h[0] & h[1]).referrers) == "hpy().Nothing",
          "the empty set has no referrers")
    graph_path = write_graph(os.path.join(WORK, "graph.remora"))
    g = hp.load(graph_path)
    check_neighbours(graph_path, g, "a random graph, all of it")
    for i in range(g.partition.numrows):
        check_neighbours(graph_path, g[i], "a random graph, row %d" % i)
    check_neighbours(graph_path, g.referrers, "its referrers")
    check_neighbours(graph_path, g.referents.referents, "its referents' referents")

    rounding = hp.load(write_rounding(os.path.join(WORK, "round.remora")))
    check_text(repr(rounding), ROUNDING, "percentages round half to even (37.5 -> 38, 12.5 -> 12)")
    longset = hp.load(write_long(os.path.join(WORK, "long.remora")))
    check_text(repr(longset), LONG_TABLE,
               "a label too long for 100 columns wraps under itself; singular 'object'")

    try:
        hp.load(os.path.join(WORK, "missing.remora"))
        check(False, "a missing file is a RemoraError")
    except remora.RemoraError as exc:
        check(str(exc).startswith("remora: cannot open snapshot") and exc.errno == 2,
              "a missing file is a RemoraError", exc)
    bad = os.path.join(WORK, "bad.remora")
    with open(main_path, "rb") as f:
        data = f.read()
    with open(bad, "wb") as f:
        f.write(data[:len(data) // 2])
    try:
        hp.load(bad)
        check(False, "a truncated file is a RemoraError")
    except remora.RemoraError as exc:
        check("snapshot %s:" % bad in str(exc) and "\n" not in str(exc),
              "a truncated file is a one-line RemoraError", exc)

    check_bad_files()
    check_absurd_sizes(hp)

    # -- py-heap ---------------------------------------------------------------
    captures = []

    def fake_heap(inject=True):
        captures.append(1)
        return hp.load(main_path)
    command.hp.heap = fake_heap

    check("Usage:" in run("help py-heap"), "help py-heap explains usage")
    check_text(run("py-heap"), TOP_PAGE + "\n", "py-heap captures, binds h and prints it")
    check_text(run("py-heap _.more"), MORE_PAGE + "\n", "py-heap _.more pages on")
    check_text(run("py-heap _.more"), "\n", "and then has nothing more")
    run("py-heap")
    check(len(captures) == 1, "py-heap reuses the capture while the inferior has not run")
    check_text(run("py-heap h.bytype"), BYTYPE + "\n", "py-heap EXPR")
    check_text(run("py-heap big = h[0]"), "", "py-heap NAME = EXPR prints nothing")
    check_text(run("py-heap big.count, big.size"), "(2, 3000)\n", "and binds NAME")
    check_text(run("py-heap big == h[0]"), "True\n", "== is not taken for an assignment")
    check_text(run("py-heap n = big.count; n + 1"), "3\n",
               "statements separated by ';' run in order, the last one's value printed")
    check_text(run("py-heap big.referrers.count, big.referents.count"), "(2, 0)\n",
               "py-heap reaches .referrers and .referents")
    check(".referrers" in run("help py-heap") and ".referents" in run("help py-heap"),
          "help py-heap documents .referrers and .referents")
    out = json.loads(run("py-heap -json -- h.bytype"))
    check(out["type"] == "partition" and out["count"] == 28 and out["size"] == 10376
          and out["kind_header"] == "Type" and len(out["rows"]) == 9
          and out["rows"][0] == {"index": 0, "count": 10, "size": 6784, "label": "dict"},
          "py-heap -json -- EXPR gives a partition with every row", out)
    out = json.loads(run("py-heap -json -- h"))
    check(len(out["rows"]) == 13 and out["rows"][12]["label"] == "__main__.Bar",
          "-json lists all rows, not one page")
    check(json.loads(run("py-heap -json -- h[0] & h[1]")) ==
          {"type": "set", "count": 0, "size": 0}, "-json of the empty set")
    check(json.loads(run("py-heap -json -- 6 * 7")) == {"type": "value", "repr": "42"},
          "-json of another value")
    check(json.loads(run("py-heap -json h.count")) == {"type": "value", "repr": "28"},
          "-json without --")

    err = run_error("py-heap nosuch")
    check(err == "py-heap: NameError: name 'nosuch' is not defined", "NameError in one line", err)
    err = run_error("py-heap h[99]")
    check(err == "py-heap: IndexError: Partition index out of range.", "IndexError in one line", err)
    err = run_error("py-heap 1 +")
    check(err is not None and err.startswith("py-heap: syntax error"), "syntax error in one line", err)
    err = run_error("py-heap hp.load(%r)" % bad)
    check(err is not None and err.startswith("remora: snapshot ") and "\n" not in err,
          "a RemoraError from the engine is gdb's error, one line", err)
    err = run_error("py-heap -json")
    check(err is not None and "needs an expression" in err, "-json without an expression", err)

    # -- the capture is dropped when the inferior runs --------------------------
    try:
        gdb.execute("file /bin/true", to_string=True)
        gdb.execute("starti", to_string=True)
        started = True
    except gdb.error as exc:
        started = False
        print("# skipped: cannot start /bin/true (%s)" % exc)
    if started:
        before = len(captures)
        run("py-heap")
        run("py-heap")
        check(len(captures) == before + 1, "a new inferior is captured once")
        gdb.execute("stepi", to_string=True)
        run("py-heap")
        check(len(captures) == before + 2, "running the inferior drops the capture")
        gdb.execute("kill", to_string=True)
    else:
        check(True, "# SKIP cannot start an inferior here")
        check(True, "# SKIP cannot start an inferior here")

    # -- python import remora ----------------------------------------------------
    gdb.execute("python import remora; hp2 = remora.hpy(); h2 = hp2.load(%r)" % main_path)
    main_ns = vars(sys.modules["__main__"])
    check(repr(main_ns["h2"]) == TOP_PAGE, "import remora; hp = remora.hpy() from gdb's python")


try:
    main()
except Exception:  # noqa: BLE001 — reported as a failed test, then the plan
    check(False, "the checks ran to the end", traceback.format_exc())
print("1..%d" % _count)
sys.stdout.flush()
