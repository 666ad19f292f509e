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

import gc
import sys

from . import engine, kinds, views
from .errors import RemoraError
from .partition import AllPrinter, MorePrinter, Partition

_CLASSIFIERS = {
    "clodo": engine.BY_CLODO,
    "type": engine.BY_TYPE,
    "size": engine.BY_SIZE,
    "unity": engine.BY_UNITY,
    "via": engine.BY_VIA,
    "rcs": engine.BY_RCS,
    "id": engine.BY_ID,
    "idset": engine.BY_ID,
    "module": engine.BY_MODULE,
}
# heapy's names of the equivalence relations (hp.Type, ...) -> ours
_ER_NAMES = {"Clodo": "clodo", "Type": "type", "Size": "size", "Unity": "unity",
             "Via": "via", "Rcs": "rcs", "Id": "id", "Module": "module",
             "Idset": "idset", "": "unity"}


class IdSet:
    """A set of objects of one snapshot (heapy's IdentitySet): printed as
    its partition by the set's equivalence relation (byclodo unless made
    by .bytype etc.), indexed by that partition's rows."""

    def __init__(self, hpy, handle, er="clodo", fast_row=None):
        self.hpy = hpy
        self._handle = handle
        self.er = er      # a _CLASSIFIERS key, or a tuple of them (combined)
        self._fast_row = fast_row
        self._partition = None
        self._more = None
        self._handles = {}

    # -- sizes ---------------------------------------------------------------

    @property
    def count(self):
        """The number of objects in the set."""
        return self._handle.count

    @property
    def size(self):
        """The total size of the objects, in bytes."""
        return self._handle.size

    @property
    def owned(self):
        """Of .size, the bytes the objects own outside themselves (a
        list's items, a dict's keys and values, a set's table, a buffer),
        plus their inline attribute values, which .size leaves out
        (remora's; heapy has no such figure)."""
        return self._handle.owned()

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

    def _partition_handle(self, by):
        """The engine's partition of this set by classifier(s) by (cached)."""
        key = tuple(by) if isinstance(by, (list, tuple)) else by
        handle = self._handles.get(key)
        if handle is None:
            handle = self._handle.partition(by)
            self._handles[key] = handle
        return handle

    def by(self, er):
        """The set, partitioned by er: a name ('Type', 'Type&Size'), or
        an equivalence relation (hp.Type, hp.Type & hp.Size)."""
        if isinstance(er, kinds.EquivalenceRelation):
            names = tuple(_ER_NAMES[p.name] for p in er.parts)
        elif isinstance(er, str):
            names = []
            for part in er.split("&"):
                part = part.strip()
                key = _ER_NAMES.get(part) or (part if part in _CLASSIFIERS else None)
                if key is None:
                    raise ValueError("by(): No such equivalence relation defined in "
                                     "heapy.Use: %r" % (part if part[:1].isupper()
                                                        else "er_" + part,))
                names.append(key)
            names = tuple(dict.fromkeys(names))
        else:
            raise TypeError("by(): Equivalence relation or string expected.")
        if len(names) == 1:
            return IdSet(self.hpy, self._handle, names[0])
        return IdSet(self.hpy, self._handle, names)

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
    def byvia(self):
        """The set, partitioned by the relations its referrers hold it by."""
        return self.by("via")

    @property
    def byrcs(self):
        """The set, partitioned by the kinds of its referrers."""
        return self.by("rcs")

    @property
    def byid(self):
        """The set, object by object, largest first."""
        return self.by("id")

    @property
    def byidset(self):
        """The set, object by object, each row labelled by its brief."""
        return self.by("idset")

    @property
    def bymodule(self):
        """The set, modules by name, everything else as ~module."""
        return self.by("module")

    @property
    def byprod(self):
        """The set, partitioned by the line that allocated each object, as
        tracemalloc recorded it in the process (heapy's byprod)."""
        return IdSet(self.hpy, self._handle, "prod")

    @property
    def partition(self):
        if self._partition is None:
            if self.er == "prod":
                from . import prod  # reads the process or core: gdb only
                self._partition = Partition(self, prod.ProdHandle(self._handle),
                                            self._fast_row)
            elif self.er == "id":
                kind = self._clodo_kind()
                self._partition = views.IdTable(self, self._partition_handle(engine.BY_ID),
                                                kind)
            elif self.er == "idset":
                self._partition = views.IdSetTable(self, self._partition_handle(engine.BY_ID))
            else:
                by = (tuple(_CLASSIFIERS[e] for e in self.er)
                      if isinstance(self.er, tuple) else _CLASSIFIERS[self.er])
                handle = self._partition_handle(by)
                self._partition = Partition(self, handle, self._fast_row)
        return self._partition

    def _clodo_kind(self):
        rows = self._partition_handle(engine.BY_CLODO).rows()
        return rows[0][0] if len(rows) == 1 else "<mixed>"

    def __getitem__(self, index):
        part = self.partition
        if isinstance(index, slice):
            start, stop, step = index.indices(part.numrows)
            if step <= 0:
                raise ValueError("Step must be positive.")
            if self.er == "id":
                handle = part._handle.select(range(start, stop, step))
            else:
                handle = part._handle.select(range(start, stop, step)) \
                    if not part._fast else self._handle
            return IdSet(self.hpy, handle, self.er)
        if not isinstance(index, int):
            raise TypeError("set indices must be integers or slices")
        if index < 0:
            index += part.numrows
        if not 0 <= index < part.numrows:
            raise IndexError("Partition index out of range.")
        if self.er == "id":
            return IdSet(self.hpy, part._handle.row_set(index), "id")
        return part.row_set(index)

    def __iter__(self):
        raise TypeError("iteration over non-sequence")

    # -- objects -------------------------------------------------------------

    @property
    def theone(self):
        """The one object of a one-object set."""
        if self._handle.count != 1:
            raise ValueError("theone requires a singleton set")
        return views.TheOne(self._handle.snapshot, self._handle.ids()[0])

    @property
    def nodes(self):
        """The objects of the set (in address order)."""
        snap = self._handle.snapshot
        return tuple(views.RemoteObject(snap, i) for i in self._handle.ids())

    # -- retention -------------------------------------------------------------

    @property
    def dominos(self):
        """The objects reachable from the roots only through this set
        (the set included): what freeing it would free."""
        return IdSet(self.hpy, self._handle.dominos())

    @property
    def domisize(self):
        """The total size of the dominos, in bytes."""
        return self._handle.dominos().size

    @property
    def imdom(self):
        """The immediate dominators of the set's objects."""
        return IdSet(self.hpy, self._handle.imdom())

    @property
    def byretained(self):
        """The set's objects that retain most (dominator tree), largest
        first, with the size each would free."""
        return views.Retained(self)

    @property
    def sp(self):
        """The shortest paths from the roots to this set's objects."""
        return views.ShortestPaths(self)

    shpaths = sp
    pathsto = sp

    def get_shpaths(self):
        return views.ShortestPaths(self)

    # -- saving and comparing ------------------------------------------------

    def dump(self, path):
        """Save the whole snapshot with this set to path; hp.load(path)
        gives the set back, with its graph, without the target."""
        self._handle.save(path)
        return None

    def export(self, path, format="heapsnapshot"):
        """Write the heap for other tools: "heapsnapshot" (Chrome DevTools'
        Memory panel, memlab), "sqlite" (tables objects, edges, roots,
        types) — both the whole snapshot —, "dot" (Graphviz: the
        shortest paths to this set and its referrers) or "html" (a
        self-contained report of this set: partition, treemap of the
        dominator tree, biggest retainers and their paths, byrcs)."""
        from . import export
        export.write(self, path, format)
        return None

    def diff(self, other):
        """heapy's difference table of this heap (A) against other (B),
        by this set's kinds."""
        if not isinstance(other, IdSet):
            raise TypeError("Can only take difference with other Stat instance.")
        er = self.er if self.er != "id" else "clodo"
        return views.Diff(self.by(er) if er != self.er else self,
                          other.by(er) if er != other.er else other)

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
        kind = kinds.as_kind(self.hpy, other)
        if kind is not None:
            return kind.select(self)
        return self._binary(other, "intersection")

    __rand__ = __and__

    def __xor__(self, other):
        return self._binary(other, "symmetric_difference")

    def __sub__(self, other):
        kind = kinds.as_kind(self.hpy, other)
        if kind is not None:
            return self._binary(kind.select(self), "difference")
        return self._binary(other, "difference")

    def __or__(self, other):
        if isinstance(other, kinds.NothingKind):
            return self
        return self._binary(other, "union")

    __ror__ = __or__

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


class _RootState:
    """hp.Root: heapy's root of the object graph, as paths start from it."""

    is_root_state = True

    def __init__(self, hpy):
        self._hpy = hpy

    def __repr__(self):
        return "RootState"


class Hpy:
    """heapy's session object: `hp = remora.hpy(); h = hp.heap()`."""

    def __init__(self):
        self._relheap = None     # IdSet of setrelheap(), or None
        self._last = None        # the last heap made or loaded
        self.Root = _RootState(self)
        self.Nothing = kinds.NothingKind(self)
        ER = kinds.EquivalenceRelation
        self.Clodo = ER(self, "Clodo", engine.BY_CLODO, kinds.ClodoKind)
        self.Type = ER(self, "Type", engine.BY_TYPE, kinds.TypeKind)
        self.Size = ER(self, "Size", engine.BY_SIZE, kinds.SizeKind)
        self.Via = ER(self, "Via", engine.BY_VIA,
                      lambda hp, *labels: kinds.ViaKind(hp, labels))
        self.Rcs = ER(self, "Rcs", engine.BY_RCS,
                      lambda hp, *kinds_: kinds.RcsKind(hp, kinds_))
        self.Module = ER(self, "Module", engine.BY_MODULE, kinds.ModuleKind)
        self.Unity = ER(self, "Unity", engine.BY_UNITY, None)
        self.Id = ER(self, "Id", engine.BY_ID, None)

    def heap(self, inject=True):
        """Capture the selected inferior's heap; the set of all its objects
        (less those present at setrelheap()).  Injects the agent when that
        is safe, else (or with inject=False) reads the process from
        outside."""
        from . import capture  # needs gdb: imported only when used
        # the last heap goes first (unless the user keeps it): its memory
        # serves this one (a set and its cached table refer to each other:
        # only the cycle collector frees them)
        if self._last is not None:
            self._last = None
            gc.collect()
        path = capture.capture_auto(inject=inject)
        try:
            snapshot = _open(path)
            snapshot.origin = _origin()
        finally:
            # the engine keeps its mapping; the file itself is not needed
            # (and in /dev/shm it would hold memory until reboot)
            capture.discard(path)
        handle = snapshot.all()
        if self._relheap is not None:
            handle = handle.difference(handle.present(self._relheap._handle))
        self._last = IdSet(self, handle)
        return self._last

    def memory(self):
        """Where the process's memory goes (live: /proc/PID/smaps; a
        core: its segments): thread stacks, files, anonymous memory, and
        in it pymalloc's arenas as sys._debugmallocstats() counts them,
        the heap's objects by allocator, mmap.mmap maps, the
        interpreter's structures (its states, frame stacks, code and
        frame objects), the rest.  Uses py-heap's h (captures it if the
        process ran since)."""
        from . import command, memory   # reads the process or core: gdb only
        # py-heap's h: captured since the process last stopped, else now
        heap = command.current_heap()
        snapshot = heap._handle.snapshot
        whole = snapshot.all()
        return memory.report(snapshot, snapshot.python_version, whole.owned())

    def setrelheap(self, reference=None):
        """Later heap()s leave out the objects there are now (or those of
        reference): heapy's relative heap.  An object is the same if its
        address holds an object of the same type."""
        if reference is None:
            saved, self._relheap = self._relheap, None
            try:
                reference = self.heap()
            finally:
                self._relheap = saved
        if not isinstance(reference, IdSet):
            raise TypeError("setrelheap() takes a set of objects (hp.heap())")
        self._relheap = reference

    def load(self, path):
        """The set saved to path by IdSet.dump(), or all the objects of a
        snapshot file; no target is needed."""
        self._last = IdSet(self, _open(path).saved())
        return self._last

    def _heap_for_addresses(self):
        command = sys.modules.get(__package__ + ".command")
        if command is not None and hasattr(command, "current_heap_if_any"):
            heap = command.current_heap_if_any()
            if heap is not None:
                return heap
        if self._last is not None:
            return self._last
        if command is not None:
            return command.current_heap()
        raise RemoraError("remora: no heap yet: run hp.heap() first")

    def idset(self, objects, heap=None):
        """The set of the objects at the given addresses (ints or gdb
        values), in heap (default: the current heap)."""
        heap = heap if heap is not None else self._heap_for_addresses()
        snap = heap._handle.snapshot
        ids = []
        for obj in objects:
            address = _address_of(obj)
            node = snap.find(address)
            if node is None:
                raise ValueError("no object at 0x%x in the heap" % address)
            ids.append(node)
        if not ids:
            return IdSet(self, snap.empty())
        return IdSet(self, snap.from_ids(ids))

    def iso(self, *objects):
        """The set of exactly these objects (addresses or gdb values)."""
        return self.idset(objects)

    def _reprefix(self):
        """'<name>.' if this object is bound to a name in __main__ or in
        py-heap's namespace, else 'hpy().' (heapy's Use.reprefix)."""
        for namespace in _namespaces():
            for name, value in list(namespace.items()):
                if value is self and not name.startswith("_"):
                    return name + "."
        return "hpy()."


def _origin():
    """What the heap being captured comes from (prod.current_origin)."""
    from . import prod
    return prod.current_origin()


def _open(path):
    """The snapshot at path, after a line about it if its sizes were
    absurd."""
    snapshot = engine.Snapshot(path)
    if snapshot.sizes_clamped:
        sys.stdout.write("remora: the objects' sizes add up past 2^64 bytes (absurd sizes: "
                         "damaged memory or a corrupt file); the largest were lowered so "
                         "that no total wraps\n")
    return snapshot


def _address_of(obj):
    """An object's address from an int, a RemoteObject or a gdb.Value."""
    if isinstance(obj, int):
        return obj
    if hasattr(obj, "address") and isinstance(getattr(obj, "address"), int):
        return obj.address
    try:
        return int(obj)
    except (TypeError, ValueError):
        pass
    try:
        import gdb
        if isinstance(obj, gdb.Value):
            if obj.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
                return int(obj)
            return int(obj.address)
    except ImportError:
        pass
    raise TypeError("an object is given by its address (an int) or a gdb value, not %r"
                    % (obj,))


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
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, (list, tuple)) and all(hasattr(v, "to_json") for v in value):
        return {"type": "list", "items": [v.to_json() for v in value]}
    if isinstance(value, (MorePrinter, AllPrinter)):
        return value.partition.to_json()
    return {"type": "value", "repr": repr(value)}
