"""partition.py — heapy's partition tables: a set split into rows of
equal kind, printed character for character as guppy3's Part.py and
OutputHandling.py print them, ten rows a page (.more, .all).

Formatting only (STYLE.md habit 8): which objects fall in which row, the
row order, counts, sizes and labels come from the C engine (engine.py).
The rules kept from heapy are listed in heapy.py's header.
"""

import textwrap

LINE_LENGTH = 100
MAX_MORE_LINES = 10
STAT_HEADER = " Index  Count   %     Size   % Cumulative  % "
ROW_FORMAT = "%6d %6d %3d %8d %3d %9d %3d "
MORE_MESSAGE = "<%d more rows. Type e.g. '_.more' to view.>"


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


class _Rows:
    """The rows of an engine partition, fetched when first used (a table
    shows ten; whole-heap byvia has hundreds of thousands)."""

    def __init__(self, handle):
        self._handle = handle
        self._rows = {}

    def __len__(self):
        return self._handle.num_rows

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("Partition index out of range.")
        row = self._rows.get(i)
        if row is None:
            label, count, size, cumul = self._handle.row(i)
            row = Row(i, label, count, size, cumul)
            self._rows[i] = row
        return row

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


class Partition:
    """A set of objects split into rows of equal kind (heapy's
    SetPartition, or FastPartition when made for one row of a parent)."""

    def __init__(self, idset, handle, fast_row=None):
        self.set = idset
        self._handle = handle
        self.kindheader = handle.header
        if fast_row is None:
            self.rows = _Rows(handle)
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

    def size_lower_count(self):
        """How many of the set's objects have a size that is a lower bound
        (IdSetHandle.size_lower_count)."""
        handle = getattr(self.set, "_handle", None)
        return handle.size_lower_count() if handle is not None else 0

    def lower_bound_line(self):
        """The line a table ends with when some sizes are lower bounds;
        "" when none is (heapy's table, unchanged)."""
        n = self.size_lower_count()
        if not n:
            return ""
        what = "1 object's size is a lower bound" if n == 1 else \
            "%d objects' sizes are lower bounds" % n
        return ("remora: %s: their types' NyHeapDef size functions run only in an "
                "injected capture" % what)

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
        lower = self.lower_bound_line() if is_top else ""
        if lower:
            out.append(lower)
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
                s = type(self.set)(self.set.hpy, handle, self.set.er,
                                   self.rows[position])
            self._row_sets[position] = s
        return s

    def to_json(self):
        out = {
            "type": "partition",
            "count": self.count,
            "size": self.size,
            "kind_header": self.kindheader,
            "rows": [{"index": r.index, "count": r.count, "size": r.size,
                      "label": r.label} for r in self.rows],
        }
        lower = self.size_lower_count()
        if lower:
            # sizes of that many objects are lower bounds (NyHeapDef)
            out["size_lower_bound_objects"] = lower
        return out


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
