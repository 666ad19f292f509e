"""views.py — heapy's other printed forms, laid out from engine results:
the byid table (IdFormat), shortest paths, the difference of two heaps,
remora's retained-size table, and the objects themselves (theone, nodes).

Formats (guppy3's Part.py, Path.py, OutputHandling.py):
  Set of 3 <str> objects. Total size = 150 bytes.
   Index     Size   %   Cumulative  %   Representation (limited)
       0       56  37.3        56  37.3 'abc'
   0: hp.Root.i0_modules['__main__'].__dict__['x']
  <... 4 more paths ...>
  Summary of difference operation (A-B).
          Count     Size
    A      1234    56789
  ...
Formatting only: which objects, their order and sizes come from C.
"""

import copy
import textwrap

from . import engine
from .partition import Partition

MAX_LINES = 10
REPRLIB_MAX = 30


def reprlib_cut(text):
    """reprlib.repr()'s abbreviation of a repr longer than 30 characters.
    A repr the snapshot cut short (it ends in "..." before the quote) has
    no true tail to show: its head is shown, then "..."."""
    if len(text) <= REPRLIB_MAX:
        return text
    if text[-4:-1] == "...":
        return text[:(REPRLIB_MAX - 3) // 2] + "..."
    head = (REPRLIB_MAX - 3) // 2
    tail = REPRLIB_MAX - 3 - head
    return text[:head] + "..." + text[len(text) - tail:]


def _field_str(snap, node, field):
    """The text of the str node's C field `field` holds, or None."""
    target = snap.field(node, field)
    if target is not None and snap.node_type_display(target) == "str":
        return snap.node_repr(target)
    return None


# heapy's idpart header per kind (Classifiers.py renderers)
def id_header(kind):
    if kind in ("str", "bytes"):
        return "Representation (limited)"
    if kind in ("int", "float", "bool", "complex", "NoneType"):
        return "Value"
    if kind in ("dict", "list", "tuple", "dict (no owner)"):
        return "Address*Length"
    if kind in ("type", "function", "module", "builtin_function_or_method"):
        return "Name"
    if kind.startswith("dict of "):
        return "Owner Address"
    if kind == "<mixed>":
        return "Brief"
    return "Address"


def _qualified(snap, node):
    """module.qualname of a function or class, from its fields; None."""
    name = (_field_str(snap, node, engine.FIELD_QUALNAME) or
            _field_str(snap, node, engine.FIELD_NAME))
    if not name:
        return None
    module = _field_str(snap, node, engine.FIELD_MODULE)
    return "%s.%s" % (module, name) if module else name


def render_object(snap, node, kind, label):
    """One object as heapy's byid renders objects of its kind; label is
    the engine's value text (a str's or an int's repr), if any."""
    addr = snap.node_address(node)
    if kind in ("str",):
        return reprlib_cut(label) if label else "0x%x" % addr
    if kind in ("int", "bool"):
        return label if label else "0x%x" % addr
    if kind in ("list", "tuple"):
        return "0x%x*%d" % (addr, len(snap.edges_of_kind(node, engine.VIA_INDEX)))
    if kind in ("dict", "dict (no owner)"):
        return "0x%x*%d" % (addr, len(snap.edges_of_kind(node, engine.VIA_DICT_VALUE)))
    if kind.startswith("dict of "):
        owner = snap.node_owner(node)
        return "0x%x" % snap.node_address(owner) if owner is not None else "0x%x" % addr
    if kind == "function":
        name = _qualified(snap, node)
        if name:
            return name
    if kind == "module":
        return snap.module_name(node)
    if kind == "type":
        name = (_field_str(snap, node, engine.FIELD_QUALNAME) or
                _field_str(snap, node, engine.FIELD_NAME))
        if name:
            return name
    return "0x%x" % addr


def _type_names(snap):
    """{type address: its display name} of the snapshot's type table
    (the types objects of the snapshot have), made once per snapshot."""
    names = getattr(snap, "_type_names", None)
    if names is None:
        names = snap._type_names = dict(snap.types())
    return names


def object_name(snap, node, kind=None):
    """What one object is, in words, where the snapshot can say (remora's
    own views: byretained, the pictures): "dict of module __main__",
    "function: pkg.mod.f", "type: pkg.mod.C", "method: pkg.mod.C.m of
    0x7f..." (its function, and its self), "types.FrameType: f in
    file.py:12" (its code's name, file and the line it is at, where the
    snapshot knows it); else the kind and heapy's
    representation ("dict of pkg.C: 0x<owner>", "str: 'abc'")."""
    kind = kind or clodo_of(snap, node)
    if kind == "dict of module":
        owner = snap.node_owner(node)
        name = snap.module_name(owner) if owner is not None else None
        if name:
            return "dict of module %s" % name
    if kind == "type" or snap.field(node, engine.FIELD_MRO) is not None:
        # a class's module is in its dict: its type record names it whole
        name = _type_names(snap).get(snap.node_address(node)) or _qualified(snap, node)
        if name:
            return "%s: %s" % (kind, name)
    if kind in ("method", "types.MethodType"):
        func = snap.field(node, engine.FIELD_FUNC)
        name = _qualified(snap, func) if func is not None else None
        holder = snap.field(node, engine.FIELD_SELF)
        if name:
            return "method: %s%s" % (name, " of 0x%x" % snap.node_address(holder)
                                     if holder is not None else "")
    if kind in ("types.FrameType", "frame", "types.CodeType", "code"):
        # a frame's repr, where the walker could read it, is "f in
        # file.py:12"; older snapshots have none: its code's fields
        told = snap.node_repr(node) if "rame" in kind else None
        if told:
            return "%s: %s" % (kind, told)
        code = snap.field(node, engine.FIELD_F_CODE) if "rame" in kind else node
        if code is not None:
            name = (_field_str(snap, code, engine.FIELD_CO_QUALNAME) or
                    _field_str(snap, code, engine.FIELD_CO_NAME))
            where = _field_str(snap, code, engine.FIELD_CO_FILENAME)
            if name:
                return "%s: %s%s" % (kind, name, " in %s" % where if where else "")
    label = snap.node_repr(node)
    return "%s: %s" % (kind, render_object(snap, node, kind, repr(label)
                                           if kind == "str" else label))


def _what_else(snap, node, kind):
    """What heapy's byid leaves out of a row it renders by address alone
    (a module's dict, a frame, a method, code): " (NAME)" after it, NAME
    as object_name says; "" where there is nothing more to say."""
    if id_header(kind) not in ("Address", "Owner Address"):
        return ""
    name = object_name(snap, node, kind)
    head, colon, rest = name.partition(": ")
    if colon and head in (kind, "method"):       # "method: f of 0x.."
        name = rest
    elif name.startswith(kind + " "):            # "dict of module m"
        name = name[len(kind) + 1:]
    else:
        return ""
    return "" if name.startswith("0x") else " (%s)" % name


class IdTable(Partition):
    """A set printed object by object (heapy's IdentityPartition with
    IdFormat): largest first, equal sizes by value or address; a row
    heapy renders by its address alone also says what the object is
    ("0x7f.. (__main__)" for a module's dict).  Paging (.more, .all) is
    the partition's."""

    def __init__(self, idset, handle, kind):
        Partition.__init__(self, idset, handle)
        self.kind = kind                 # the set's clodo kind, or '<mixed>'
        self._ids = {}

    def row_id(self, position):
        node = self._ids.get(position)
        if node is None:
            node = self._handle.row_set(position).ids()[0]
            self._ids[position] = node
        return node

    def label_line(self):
        kind = self.kind if self.kind == "<mixed>" else "<%s>" % self.kind
        return "Set of %d %s object%s. Total size = %d bytes." % (
            self.count, kind, "" if self.count == 1 else "s", self.size)

    def row_header(self):
        return " Index     Size   %   Cumulative  %   " + id_header(self.kind)

    def row_text(self, position):
        text = self._lines.get(position)
        if text is None:
            row = self.rows[position]
            pct = 100.0 * row.size / self.size if self.size else 0.0
            cpct = 100.0 * row.cumulsize / self.size if self.size else 0.0
            snap = self._handle.snapshot
            node = self.row_id(position)
            kind = clodo_of(snap, node) if self.kind == "<mixed>" else self.kind
            rendering = render_object(snap, node, kind, row.label) + _what_else(snap, node, kind)
            if self.kind == "<mixed>":
                rendering = "%s: %s" % (kind, rendering)
            text = "%6d %8d %5.1f %9d %5.1f %s" % (position, row.size, pct,
                                                   row.cumulsize, cpct, rendering)
            self._lines[position] = text
        return text

    def to_json(self):
        snap = self._handle.snapshot
        return {"type": "idtable", "count": self.count, "size": self.size,
                "kind": self.kind,
                "rows": [{"index": i, "size": r.size,
                          "address": snap.node_address(self.row_id(i)),
                          "name": object_name(snap, self.row_id(i))}
                         for i, r in enumerate(self.rows[:1000])]}


def clodo_of(snap, node):
    """The clodo kind of one object: its type, or the dict's owner kind."""
    kind = snap.node_type_display(node)
    if kind == "dict":
        owner = snap.node_owner(node)
        kind = ("dict of %s" % snap.node_type_display(owner)
                if owner is not None else "dict (no owner)")
    return kind


class _BriefRows:
    """A byid partition's rows labelled by each object's brief, as heapy's
    byidset labels them: <1 str: 'abc'>."""

    def __init__(self, rows, table):
        self._rows = rows
        self._table = table
        self._done = {}

    def __len__(self):
        return len(self._rows)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        row = self._done.get(i)
        if row is None:
            row = self._rows[i]
            snap = self._table._handle.snapshot
            node = self._table._handle.row_set(i).ids()[0]
            kind = clodo_of(snap, node)
            row.label = "<1 %s: %s>" % (kind, render_object(snap, node, kind, row.label))
            self._done[i] = row
        return row

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


class IdSetTable(Partition):
    """heapy's byidset: a partition whose rows are one-object sets,
    labelled by their briefs, under the header "by identity set"."""

    def __init__(self, idset, handle):
        Partition.__init__(self, idset, handle)
        self.kindheader = "by identity set"
        self.rows = _BriefRows(self.rows, self)


class RemoteObject:
    """One object of the target (heapy's theone, and the members of
    .nodes): its address, type, size and representation; .value is a gdb
    value of it (PyObject *) when the target is still there."""

    def __init__(self, snapshot, node):
        self._snap = snapshot
        self.node = node
        self.address = snapshot.node_address(node)
        self.type = snapshot.node_type_display(node)
        self.size = snapshot.node_size(node)

    @property
    def representation(self):
        kind = self.type
        text = self._snap.node_repr(self.node)
        if kind == "str":
            return repr(text)
        if kind in ("int", "bool") and text:
            return text
        return "<%s at 0x%x>" % (kind, self.address)

    @property
    def value(self):
        import gdb
        return gdb.parse_and_eval("(PyObject *) 0x%x" % self.address)

    def __repr__(self):
        return self.representation

    def __str__(self):
        kind = self.type
        return "%s  (%s at 0x%x, %d bytes; gdb: (PyObject *) 0x%x)" % (
            self.representation, kind, self.address, self.size, self.address)

    def __eq__(self, other):
        return isinstance(other, RemoteObject) and other.address == self.address \
            and other._snap is self._snap

    def __hash__(self):
        return hash(self.address)

    def __int__(self):
        return self.address

    __index__ = __int__

    def to_json(self):
        return {"type": "object", "address": self.address, "kind": self.type,
                "size": self.size, "repr": self.representation}


class TheOne(RemoteObject):
    """theone prints the object in full: representation, address, value."""

    def __repr__(self):
        return RemoteObject.__str__(self)


def path_text(snap, prefix, root, steps):
    """One shortest path as heapy prints it: prefix (hp.Root), the root's
    label, then each step's ("['key']", ".attr", "[3]")."""
    text = prefix
    for j, (_f, _t, via) in enumerate(steps):
        text = snap.path_step(text, root if j == 0 else engine.NO_NODE, via)
    return text


class ShortestPaths:
    """heapy's ShortestPaths: every shortest path from the roots to the
    set's members nearest them, ten a page."""

    MAX_PATHS = 1000   # kept; beyond, the footer says 'at least'

    def __init__(self, idset):
        self.set = idset
        snap = idset.snapshot
        self._paths, self.truncated = idset._handle.paths(self.MAX_PATHS)
        prefix = idset.hpy._reprefix() + "Root"
        self.lines = [path_text(snap, prefix, root, steps) for root, steps in self._paths]
        self._start = 0

    @property
    def numpaths(self):
        return len(self.lines)

    def __len__(self):
        return len(self.lines)

    def __getitem__(self, i):
        return self.lines[i]

    def render(self, start):
        out = []
        end = min(start + MAX_LINES, len(self.lines))
        if len(self.lines) - start == MAX_LINES + 1:
            end = len(self.lines)
        for i in range(start, end):
            out.append("%2d: %s" % (i, self.lines[i]))
        if end < len(self.lines):
            more = len(self.lines) - end
            out.append("<... %s%d more paths ...>" % ("at least " if self.truncated else "",
                                                      more))
        elif start and start >= len(self.lines):
            out.append("<No more paths>")
        return "\n".join(out), end

    def __repr__(self):
        return self.render(0)[0]

    @property
    def more(self):
        return _PathsMore(self, self.render(0)[1])

    def to_json(self):
        return {"type": "paths", "paths": self.lines, "truncated": self.truncated}


class _PathsMore:
    def __init__(self, paths, start):
        self._paths = paths
        self._start = start

    def __repr__(self):
        return self._paths.render(self._start)[0] or "<No more paths>"

    @property
    def more(self):
        return _PathsMore(self._paths, self._paths.render(self._start)[1])


def _g3(x):
    return "%9.3g" % x


class Diff:
    """heapy's Stat difference (A-B), rows matched by kind label."""

    def __init__(self, a, b):
        pa, pb = a.partition, b.partition
        if pa.kindheader != pb.kindheader:
            raise ValueError("Mismatching table kind header, %r vs %r."
                             % (pa.kindheader, pb.kindheader))
        self.header = pa.kindheader
        self.a_count, self.a_size = pa.count, pa.size
        self.b_count, self.b_size = pb.count, pb.size
        brows = {r.label: r for r in pb.rows}
        rows = []
        seen = set()
        for r in pa.rows:
            o = brows.get(r.label)
            dc = r.count - (o.count if o else 0)
            ds = r.size - (o.size if o else 0)
            seen.add(r.label)
            if dc or ds:
                rows.append((dc, ds, r.label))
        for r in pb.rows:
            if r.label not in seen:
                rows.append((-r.count, -r.size, r.label))
        rows.sort(key=lambda x: -abs(x[1]))
        self.rows = rows
        self._start = 0

    @property
    def more(self):
        """The next MAX_LINES rows of the difference table."""
        nxt = copy.copy(self)
        nxt._start = self._start + MAX_LINES
        return nxt

    def _pct(self, size):
        return _g3(size * 100.0 / self.b_size) if self.b_size else "   (n.a.)"

    def __repr__(self):
        dc = self.a_count - self.b_count
        ds = self.a_size - self.b_size
        start, out = self._start, []
        if not start:
            out = ["Summary of difference operation (A-B).",
                   "        Count     Size",
                   "  A    %6d %8d" % (self.a_count, self.a_size),
                   "  B    %6d %8d" % (self.b_count, self.b_size),
                   "  A-B  %6d %8d  = %s %% of B" % (dc, ds, self._pct(ds))]
            if not (dc or ds):
                return "\n".join(out)
            out += ["", "Differences by kind, largest absolute size diffs first."]
        out.append(" Index  Count     Size  Cumulative  % of B " + self.header)
        cumul = sum(s for _c, s, _l in self.rows[:start])
        for i in range(start, min(start + MAX_LINES, len(self.rows))):
            c, s, label = self.rows[i]
            cumul += s
            prefix = "%6d %6d %8d %9d %s " % (i, c, s, cumul, self._pct(cumul))
            out.extend(textwrap.wrap(prefix + label, width=100,
                                     subsequent_indent=" " * len(prefix)))
        if len(self.rows) > start + MAX_LINES:
            out.append("<%d more rows. Type e.g. '_.more' to view.>"
                       % (len(self.rows) - start - MAX_LINES))
        return "\n".join(out)

    def to_json(self):
        return {"type": "diff", "a": [self.a_count, self.a_size],
                "b": [self.b_count, self.b_size],
                "rows": [{"count": c, "size": s, "label": l} for c, s, l in self.rows]}


class Retained:
    """remora's dominator-tree view (beyond heapy, as Eclipse MAT shows it):
    the set's members that retain most, with what each would free."""

    def __init__(self, idset, start=0):
        self.set = idset
        self._start = start
        snap = idset.snapshot
        self._ids = idset._handle.top_retained(start + MAX_LINES)
        self._snap = snap

    def __len__(self):
        return self.set.count

    def __getitem__(self, i):
        from .heapy import IdSet
        ids = self.set._handle.top_retained(i + 1)
        if not 0 <= i < len(ids):
            raise IndexError("Partition index out of range.")
        return IdSet(self.set.hpy, self._snap.from_ids([ids[i]]))

    def __repr__(self):
        snap = self._snap
        total = snap.total_size
        out = ["Retained sizes of the largest of a set of %d objects. Total size = %d bytes."
               % (self.set.count, self.set.size),
               " Index   Retained   %     Size What"]
        for i in range(self._start, len(self._ids)):
            node = self._ids[i]
            kind = clodo_of(snap, node)
            retained = snap.node_retained(node)
            pct = int("%.0f" % (retained * 100.0 / total)) if total else 0
            out.append("%6d %10d %3d %8d %s" % (
                i, retained, pct, snap.node_size(node), object_name(snap, node, kind)))
        if len(self._ids) == self._start + MAX_LINES and self.set.count > len(self._ids):
            out.append("<more rows. Type e.g. '_.more' to view.>")
        return "\n".join(out)

    @property
    def more(self):
        return Retained(self.set, self._start + MAX_LINES)

    def to_json(self):
        snap = self._snap
        return {"type": "retained",
                "rows": [{"address": snap.node_address(n), "retained": snap.node_retained(n),
                          "size": snap.node_size(n), "name": object_name(snap, n)}
                         for n in self._ids]}
