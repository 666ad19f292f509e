"""heapy.py — heapy's user API over remora snapshots: hpy(), IdSet and
partitions, printed character for character as guppy3 prints them.

Formatting only (STYLE.md habit 8): which objects fall in which row, the
row order, counts, sizes and labels all come from the C engine
(engine.py); here they are laid out as guppy3's Part.py and
OutputHandling.py lay them out:

  Partition of a set of 28 objects. Total size = 10376 bytes.
   Index  Count   %     Size   % Cumulative  % Kind (class / dict of class)
       0      2   7     3000  29      3000  29 dict of module
  ...
  <3 more rows. Type e.g. '_.more' to view.>

Rules kept from heapy (see the research notes in the repository history):
  - percentages are int('%.0f' % pct): rounded half to even, not truncated;
  - a row is textwrap.wrap()ed to 100 columns, continuation lines indented
    under the label; the column header is textwrap.fill()ed the same way;
  - 10 rows a page; an 11th row that is the last is printed instead of the
    footer, so the footer never says "1 more rows";
  - `.more` repeats the column header but not the label and continues
    where the previous page stopped; `.all` prints everything;
  - indexing a set gives the row's subset, which prints as a one-row
    partition keeping the parent's index and cumulative size (heapy's
    FastPartition), while any other derived set starts afresh at index 0;
  - an empty set prints as <prefix>Nothing, the prefix being the name the
    hpy object is bound to in gdb's __main__ (else "hpy().").
"""

import sys
import textwrap

from . import engine
from .errors import RemoraError

LINE_LENGTH = 100
MAX_MORE_LINES = 10
STAT_HEADER = " Index  Count   %     Size   % Cumulative  % "
ROW_FORMAT = "%6d %6d %3d %8d %3d %9d %3d "
MORE_MESSAGE = "<%d more rows. Type e.g. '_.more' to view.>"

_CLASSIFIERS = {
    "clodo": engine.BY_CLODO,
    "type": engine.BY_TYPE,
    "size": engine.BY_SIZE,
    "unity": engine.BY_UNITY,
}


def _percent(part, total):
    """heapy's percentage column: the value rounded as '%.0f' rounds."""
    if not total:
        return 0
    return int("%.0f" % (part * 100.0 / total))


class Row:
    """One row of a partition: its position, label and totals."""

    __slots__ = ("index", "label", "count", "size", "cumulsize")

    def __init__(self, index, label, count, size, cumulsize):
        self.index = index
        self.label = label
        self.count = count
        self.size = size
        self.cumulsize = cumulsize

    def __repr__(self):
        return "Row(%d, %r, count=%d, size=%d)" % (self.index, self.label,
                                                    self.count, self.size)


class Partition:
    """A set of objects split into rows of equal kind (heapy's
    SetPartition, or FastPartition when made for one row of a parent)."""

    def __init__(self, idset, handle, fast_row=None):
        self.set = idset
        self._handle = handle
        self.kindheader = handle.header
        if fast_row is None:
            rows = []
            cumul = 0
            for index, (label, count, size) in enumerate(handle.rows()):
                cumul += size
                rows.append(Row(index, label, count, size, cumul))
            self.rows = rows
            self.count = handle.count
            self.size = handle.size
        else:
            self.rows = [fast_row]
            self.count = fast_row.count
            self.size = fast_row.size
        self._fast = fast_row is not None
        self._lines = {}
        self._row_sets = {}
        self._next_lineno = None
        self._more = None

    @property
    def numrows(self):
        return len(self.rows)

    def __len__(self):
        return len(self.rows)

    # -- the text ----------------------------------------------------------

    def label_line(self):
        return "Partition of a set of %d object%s. Total size = %d bytes." % (
            self.count, "" if self.count == 1 else "s", self.size)

    def row_header(self):
        if not (self.count or self.size):
            return ""
        return textwrap.fill(STAT_HEADER + self.kindheader, width=LINE_LENGTH,
                             subsequent_indent=" " * len(STAT_HEADER))

    def row_text(self, position):
        """The formatted row at position (0 .. numrows-1), wrapped."""
        text = self._lines.get(position)
        if text is None:
            row = self.rows[position]
            prefix = ROW_FORMAT % (
                row.index,
                row.count, _percent(row.count, self.count),
                row.size, _percent(row.size, self.size),
                row.cumulsize, _percent(row.cumulsize, self.size))
            indent = " " * len(prefix)
            parts = row.label.split("\n")
            lines = textwrap.wrap(prefix + parts[0], width=LINE_LENGTH,
                                  subsequent_indent=indent)
            for part in parts[1:]:
                lines.extend(textwrap.wrap(part, width=LINE_LENGTH,
                                           initial_indent=indent,
                                           subsequent_indent=indent))
            text = "\n".join(lines)
            self._lines[position] = text
        return text

    def render(self, start, max_lines, is_top):
        """(text, next position): the label if is_top, then rows from start,
        at most max_lines of them (None: all) — OutputHandling's get_str."""
        out = []
        if is_top:
            out.append(self.label_line())
        position = start
        if start < self.numrows:
            out.append(self.row_header())
            shown = 0
            while position < self.numrows:
                if max_lines is not None and shown >= max_lines:
                    if position + 1 >= self.numrows:
                        out.append(self.row_text(position))
                        position += 1
                    else:
                        out.append(MORE_MESSAGE % (self.numrows - position))
                    break
                out.append(self.row_text(position))
                shown += 1
                position += 1
        return "\n".join(out).rstrip(), position

    def __repr__(self):
        text, self._next_lineno = self.render(0, MAX_MORE_LINES, True)
        return text

    __str__ = __repr__

    def next_lineno(self):
        """Where `.more` continues: after the top page."""
        if self._next_lineno is None:
            repr(self)
        return self._next_lineno

    @property
    def more(self):
        if self._more is None:
            self._more = MorePrinter(self, self, self)
        return self._more

    @property
    def all(self):
        return AllPrinter(self, self)

    # -- rows as sets ------------------------------------------------------

    def row_set(self, position):
        """The IdSet of the row at position (cached, as heapy caches it)."""
        s = self._row_sets.get(position)
        if s is None:
            if self._fast:
                s = self.set
            else:
                handle = self._handle.row_set(position)
                s = IdSet(self.set.hpy, handle, self.set.er, self.rows[position])
            self._row_sets[position] = s
        return s

    def to_json(self):
        return {
            "type": "partition",
            "count": self.count,
            "size": self.size,
            "kind_header": self.kindheader,
            "rows": [{"index": r.index, "count": r.count, "size": r.size,
                      "label": r.label} for r in self.rows],
        }


class MorePrinter:
    """The next page of a partition's table (heapy's `_.more`).  Other
    attributes are the client's (the set or partition it pages)."""

    def __init__(self, partition, client, previous):
        self._partition = partition
        self._client = client
        self._previous = previous
        self._next_lineno = None

    def __repr__(self):
        start = self._previous.next_lineno()
        text, self._next_lineno = self._partition.render(start, MAX_MORE_LINES, False)
        return text

    __str__ = __repr__

    def next_lineno(self):
        if self._next_lineno is None:
            repr(self)
        return self._next_lineno

    @property
    def more(self):
        return MorePrinter(self._partition, self._client, self)

    @property
    def all(self):
        return AllPrinter(self._partition, self._client)

    @property
    def prev(self):
        return self._previous

    @property
    def top(self):
        return self._client

    @property
    def partition(self):
        return self._partition

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._client, name)


class AllPrinter:
    """The whole table, label and every row (heapy's `_.all`)."""

    def __init__(self, partition, client):
        self._partition = partition
        self._client = client

    def __repr__(self):
        return self._partition.render(0, None, True)[0]

    __str__ = __repr__

    @property
    def partition(self):
        return self._partition

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._client, name)


class IdSet:
    """A set of objects of one snapshot (heapy's IdentitySet): printed as
    its partition by the set's equivalence relation (byclodo unless made
    by .bytype etc.), indexed by that partition's rows."""

    def __init__(self, hpy, handle, er="clodo", fast_row=None):
        self.hpy = hpy
        self._handle = handle
        self.er = er
        self._fast_row = fast_row
        self._partition = None
        self._more = None

    # -- sizes ---------------------------------------------------------------

    @property
    def count(self):
        """The number of objects in the set."""
        return self._handle.count

    @property
    def size(self):
        """The total size of the objects, in bytes."""
        return self._handle.size

    def __len__(self):
        return self._handle.count

    def __bool__(self):
        return self._handle.count != 0

    @property
    def snapshot(self):
        """The engine.Snapshot the set's objects belong to."""
        return self._handle.snapshot

    @property
    def addresses(self):
        """The objects' addresses in the target, ascending."""
        snap = self._handle.snapshot
        return [snap.node_address(i) for i in self._handle.ids()]

    # -- the reference graph ------------------------------------------------

    @property
    def referents(self):
        """The set of objects that the objects of this set refer to."""
        return IdSet(self.hpy, self._handle.referents())

    @property
    def referrers(self):
        """The set of objects that refer to the objects of this set."""
        return IdSet(self.hpy, self._handle.referrers())

    # -- equivalence relations ------------------------------------------------

    def by(self, er):
        if er not in _CLASSIFIERS:
            raise RemoraError("remora: no equivalence relation %r (have: %s)"
                              % (er, ", ".join(sorted(_CLASSIFIERS))))
        return IdSet(self.hpy, self._handle, er)

    @property
    def byclodo(self):
        """The set, partitioned by kind: type, or dict of the owner's type."""
        return self.by("clodo")

    @property
    def bytype(self):
        """The set, partitioned by type."""
        return self.by("type")

    @property
    def bysize(self):
        """The set, partitioned by individual size."""
        return self.by("size")

    @property
    def byunity(self):
        """The set, as one row."""
        return self.by("unity")

    @property
    def partition(self):
        if self._partition is None:
            handle = self._handle.partition(_CLASSIFIERS[self.er])
            self._partition = Partition(self, handle, self._fast_row)
        return self._partition

    def __getitem__(self, index):
        part = self.partition
        if isinstance(index, slice):
            start, stop, step = index.indices(part.numrows)
            if step <= 0:
                raise ValueError("Step must be positive.")
            acc = self._handle.snapshot.empty()
            for i in range(start, stop, step):
                acc = acc.union(part.row_set(i)._handle)
            return IdSet(self.hpy, acc, self.er)
        if not isinstance(index, int):
            raise TypeError("set indices must be integers or slices")
        if index < 0:
            index += part.numrows
        if not 0 <= index < part.numrows:
            raise IndexError("Partition index out of range.")
        return part.row_set(index)

    # -- printing -------------------------------------------------------------

    def __repr__(self):
        if not self._handle.count:
            return self.hpy._reprefix() + "Nothing"
        return repr(self.partition)

    __str__ = __repr__

    @property
    def more(self):
        if self._more is None:
            part = self.partition
            self._more = MorePrinter(part, self, part)
        return self._more

    @property
    def all(self):
        return self.more.all

    # -- set algebra ----------------------------------------------------------

    def _other(self, other):
        if not isinstance(other, IdSet):
            return None
        if other._handle.snapshot is not self._handle.snapshot:
            raise RemoraError("remora: the two sets come from different snapshots")
        return other._handle

    def _binary(self, other, op):
        h = self._other(other)
        if h is None:
            return NotImplemented
        return IdSet(self.hpy, getattr(self._handle, op)(h))

    def __and__(self, other):
        return self._binary(other, "intersection")

    def __or__(self, other):
        return self._binary(other, "union")

    def __xor__(self, other):
        return self._binary(other, "symmetric_difference")

    def __sub__(self, other):
        return self._binary(other, "difference")

    def __invert__(self):
        return IdSet(self.hpy, self._handle.complement())

    def __eq__(self, other):
        h = self._other(other)
        return NotImplemented if h is None else self._handle.equal(h)

    def __ne__(self, other):
        h = self._other(other)
        return NotImplemented if h is None else not self._handle.equal(h)

    def __le__(self, other):
        h = self._other(other)
        return NotImplemented if h is None else self._handle.subset(h)

    def __ge__(self, other):
        h = self._other(other)
        return NotImplemented if h is None else h.subset(self._handle)

    def __lt__(self, other):
        h = self._other(other)
        return NotImplemented if h is None else (
            self._handle.subset(h) and not h.subset(self._handle))

    def __gt__(self, other):
        h = self._other(other)
        return NotImplemented if h is None else (
            h.subset(self._handle) and not self._handle.subset(h))

    __hash__ = None

    def to_json(self):
        """A non-empty set is shown as its partition; the empty set as a set."""
        if self._handle.count:
            return self.partition.to_json()
        return {"type": "set", "count": 0, "size": 0}


class Hpy:
    """heapy's session object: `hp = remora.hpy(); h = hp.heap()`."""

    def heap(self, inject=True):
        """Capture the selected inferior's heap; the set of all its objects.
        Injects the agent when that is safe, else (or with inject=False)
        reads the process from outside."""
        from . import capture  # needs gdb: imported only when used
        path = capture.capture_auto(inject=inject)
        try:
            return self.load(path)
        finally:
            # the engine keeps its mapping; the file itself is not needed
            # (and in /dev/shm it would hold memory until reboot)
            capture.discard(path)

    def load(self, path):
        """The set of all objects of the snapshot file at path."""
        return IdSet(self, engine.Snapshot(path).all())

    def _reprefix(self):
        """'<name>.' if this object is bound to a name in __main__ or in
        py-heap's namespace, else 'hpy().' (heapy's Use.reprefix)."""
        for namespace in _namespaces():
            for name, value in list(namespace.items()):
                if value is self and not name.startswith("_"):
                    return name + "."
        return "hpy()."


def _namespaces():
    main = sys.modules.get("__main__")
    if main is not None:
        yield vars(main)
    command = sys.modules.get(__package__ + ".command")
    if command is not None and getattr(command, "namespace", None) is not None:
        yield command.namespace


def hpy():
    """A new heapy session object (heapy's guppy.hpy())."""
    return Hpy()


def to_json(value):
    """The -json form of a py-heap result."""
    if isinstance(value, (IdSet, Partition)):
        return value.to_json()
    if isinstance(value, (MorePrinter, AllPrinter)):
        return value.partition.to_json()
    return {"type": "value", "repr": repr(value)}
