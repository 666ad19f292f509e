"""kinds.py — heapy's symbolic sets: kinds of objects, named by how a
classifier would label them (hp.Type('dict'), hp.Size(56), hp.Via('.key'),
hp.Rcs('dict of module'), hp.Clodo(dictof='__main__.A'), hp.Module('os')),
their alternatives (.alt('<') ...), complements, combinations, and
hp.Nothing.

A kind selects from a concrete set: `s & hp.Via('.key')` keeps the members
whose classification matches.  Selection asks the engine for the set's
partition by the kind's classifier and keeps the rows whose kind compares
as asked (heapy's NyObjectClassifier_Compare): for Via and Rcs kinds a
row's kind is a set, and '<=' is subset; for Size it is a number; the
others support only equality.  The rows' union comes from the engine.

Names of types follow the target: a string names the target's type by its
display name ('dict', '__main__.package', 'types.CodeType'), a Python
class in gdb's own Python (dict, str) stands for the target's class of
the same name.
"""

import ast
import functools
import itertools
import re

from . import engine

_OPS = ("<", "<=", "==", "!=", ">", ">=")


class KindError(ValueError):
    pass


def type_display(t):
    """The display name a type argument stands for, as bytype labels it."""
    if isinstance(t, type):
        module = getattr(t, "__module__", "builtins")
        name = getattr(t, "__qualname__", t.__name__)
        if module == "builtins":
            return name
        return "%s.%s" % (module, name)
    if isinstance(t, str):
        if t.startswith("builtins."):
            return t[len("builtins."):]
        return t
    raise TypeError("type, class or basestring expected")


# -- relation labels (hp.Via) ---------------------------------------------

_ATTR = re.compile(r"^\.([A-Za-z_][A-Za-z_0-9]*)$")
_INTER = re.compile(r"^->([A-Za-z_][A-Za-z_0-9]*)$")


def via_label(text):
    """heapy's _str2rel: the canonical label of a relation written by a
    user ("['x']", '_["x"]', '.key', '.keys()[3]', ".f_locals['v']",
    '->ob_type', '->f_valuestack[2]', 'list(_)[4]')."""
    if not isinstance(text, str):
        raise TypeError("a relation is written as a string, e.g. '.key' or \"['x']\"")
    s = text.strip()
    if s.startswith("_"):
        s = s[1:]
    try:
        if s.startswith("[") and s.endswith("]"):
            return "[%r]" % (ast.literal_eval(s[1:-1]),)
        if _ATTR.match(s) or _INTER.match(s):
            return s
        for prefix, conv in ((".keys()[", int), (".f_locals[", None),
                             ("->f_valuestack[", int), ("list(_)[", int),
                             (".__dict__.keys()[", int)):
            if s.startswith(prefix) and s.endswith("]"):
                inner = ast.literal_eval(s[len(prefix):-1])
                if conv is int:
                    return "%s%d]" % (prefix, int(inner))
                return "%s%r]" % (prefix, inner)
        if s.startswith(".f_locals [") and s.endswith("]"):
            return ".f_locals [%r]" % (ast.literal_eval(s[len(".f_locals ["):-1]),)
    except (ValueError, SyntaxError):
        pass
    raise SyntaxError("Cant make a relation of %r." % text)


# -- kinds -------------------------------------------------------------------

class Kind:
    """A symbolic set.  Subclasses say which classifier sees it and which
    rows of that classifier's partition it takes."""

    by = None          # engine.BY_*
    op = "=="

    def __init__(self, hpy):
        self.hpy = hpy

    # what a subclass gives
    def row_matches(self, part, row, label):
        raise NotImplementedError

    def brief(self):
        raise NotImplementedError

    def arg_repr(self):
        raise NotImplementedError

    family = ""

    def _prefix(self):
        return self.hpy._reprefix()

    def __repr__(self):
        text = "%s%s(%s)" % (self._prefix(), self.family, self.arg_repr())
        if self.op != "==":
            text += ".alt(%r)" % self.op
        return text

    def __str__(self):
        return self.brief()

    # selection
    def select(self, idset):
        """The members of idset of this kind (a new IdSet, default er)."""
        from .heapy import IdSet
        part = idset._partition_handle(self.by)
        rows = [r for r, (label, _c, _s) in enumerate(part.rows())
                if self.row_matches(part, r, label)]
        return IdSet(idset.hpy, part.select(rows))

    def alt(self, op):
        if op not in _OPS:
            raise ValueError("No such comparison symbol: %r" % (op,))
        if op == "==":
            return self
        if op == "!=":
            return Invert(self)
        if self.op != "==":
            raise ValueError("Can not make alternative kind, non-equality "
                             "comparison on underlying kind.")
        if not self.ordered:
            raise ValueError("This classifier supports only equality selection.")
        k = self._copy()
        k.op = op
        return k

    ordered = False

    def _copy(self):
        k = object.__new__(type(self))
        k.__dict__.update(self.__dict__)
        return k

    # algebra of kinds
    def __invert__(self):
        return Invert(self)

    def __and__(self, other):
        from .heapy import IdSet
        if isinstance(other, IdSet):
            return self.select(other)
        other = as_kind(self.hpy, other)
        if other is None:
            return NotImplemented
        return And(self.hpy, [self, other])

    __rand__ = __and__

    def __or__(self, other):
        other = as_kind(self.hpy, other)
        if other is None:
            return NotImplemented
        return Or(self.hpy, [self, other])

    __ror__ = __or__

    def __len__(self):
        raise TypeError("len() of unsized object")

    def __iter__(self):
        raise TypeError("iteration over non-sequence")


def _compare(op, a, b):
    """a op b for sets (subset order) or numbers."""
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<=":
        return a <= b
    if op == "<":
        return a < b
    if op == ">=":
        return a >= b
    return a > b


_BRIEF_ALT = {"<": "strict subtype of", "<=": "subtype of",
              ">=": "supertype of", ">": "strict supertype of"}


def _mro_names(snap, addresses, address):
    """The display names of the type at address and its bases (its
    __mro__ as the snapshot holds it)."""
    names = [addresses.get(address, "")]
    node = snap.find(address)
    if node is None:
        return names
    mro = snap.field(node, engine.FIELD_MRO)
    if mro is None:
        return names
    for base, _i in snap.edges_of_kind(mro, engine.VIA_INDEX):
        name = addresses.get(snap.node_address(base))
        if name and name not in names:
            names.append(name)
    return names


class TypeKind(Kind):
    by = engine.BY_TYPE
    family = "Type"
    ordered = True

    def __init__(self, hpy, t):
        super().__init__(hpy)
        self.name = type_display(t)

    def select(self, idset):
        if self.op == "==":
            return Kind.select(self, idset)
        # subtypes and supertypes by the types' __mro__ in the snapshot
        from .heapy import IdSet
        snap = idset.snapshot
        table = snap.types()
        by_address = dict(table)
        mine = [a for a, name in table if name == self.name]
        mros = {a: _mro_names(snap, by_address, a) for a in mine}
        by_name = {}
        for address, name in table:
            by_name.setdefault(name, address)
        part = idset._partition_handle(self.by)
        rows = []
        for r, (label, _c, _s) in enumerate(part.rows()):
            if label not in by_name:
                continue
            row_mro = _mro_names(snap, by_address, by_name[label])
            sub = self.name in row_mro                     # row <= kind
            sup = any(label in m for m in mros.values())   # row >= kind
            eq = label == self.name
            if {"<=": sub, "<": sub and not eq, ">=": sup, ">": sup and not eq}[self.op]:
                rows.append(r)
        return IdSet(idset.hpy, part.select(rows))

    def row_matches(self, part, row, label):
        return label == self.name

    def brief(self):
        if self.op != "==":
            return "<%s %s>" % (_BRIEF_ALT[self.op], self.name)
        return self.name

    def arg_repr(self):
        return repr(self.name)


class ClodoKind(Kind):
    by = engine.BY_CLODO
    family = "Clodo"

    def __init__(self, hpy, t=None, dictof=None):
        super().__init__(hpy)
        if (t is None) == (dictof is None):
            raise TypeError("Argument should be either\n    <type except dict>\n"
                            "    dictof=<type>\n    dictof=()")
        if t is not None:
            name = type_display(t)
            if name == "dict":
                raise TypeError("Argument should be either\n    <type except dict>\n"
                                "    dictof=<type>\n    dictof=()")
            self.label = name
            self._arg = repr(name)
        elif dictof == ():
            self.label = "dict (no owner)"
            self._arg = "dictof=()"
        else:
            self.label = "dict of %s" % type_display(dictof)
            self._arg = "dictof=%r" % type_display(dictof)

    def row_matches(self, part, row, label):
        return label == self.label

    def brief(self):
        return self.label

    def arg_repr(self):
        return self._arg


class SizeKind(Kind):
    by = engine.BY_SIZE
    family = "Size"
    ordered = True

    def __init__(self, hpy, size):
        super().__init__(hpy)
        self.size = int(size)

    def row_matches(self, part, row, label):
        return _compare(self.op, int(label), self.size)

    def brief(self):
        return "<size %s %d>" % ("=" if self.op == "==" else self.op, self.size)

    def arg_repr(self):
        return str(self.size)


class _SetKind(Kind):
    """A kind whose classification is a set (byvia, byrcs): selected in
    the engine by comparing each row's set with the kind's."""

    def select(self, idset):
        from .heapy import IdSet
        part = idset._partition_handle(self.by)
        return IdSet(idset.hpy, part.select_kind(sorted(self.atoms()), self.op))


def _spellings(label):
    """The labels an instance attribute goes by: "['x']" (kept in a dict:
    before 3.11, or a __dict__ made) and ".x" (3.11+'s inline values)."""
    m = _ATTR.match(label)
    if m:
        return (label, "[%r]" % m.group(1))
    if label.startswith("['") and label.endswith("']"):
        name = ast.literal_eval(label[1:-1])
        if isinstance(name, str) and name.isidentifier():
            return (label, "." + name)
    return (label,)


class ViaKind(_SetKind):
    """hp.Via: the objects referred to by exactly (or, with alt, at most,
    at least...) these relations.  An attribute matches either spelling,
    so that hp.Via("['data']") finds what 3.11+ labels .data."""
    by = engine.BY_VIA
    family = "Via"
    ordered = True

    def __init__(self, hpy, labels):
        super().__init__(hpy)
        self.labels = frozenset(via_label(x) for x in labels)

    def atoms(self):
        return self.labels

    def select(self, idset):
        spellings = [_spellings(x) for x in sorted(self.labels)]
        if all(len(sp) == 1 for sp in spellings):
            return super().select(idset)
        part = idset._partition_handle(self.by)

        def sel(atoms, op):
            from .heapy import IdSet
            return IdSet(idset.hpy, part.select_kind(sorted(set(atoms)), op))

        # every way of writing the set, one spelling per relation; and
        # every spelling of every relation
        choices = [set(c) for c in itertools.product(*spellings)]
        every = set(a for sp in spellings for a in sp)
        if self.op == "==":
            return functools.reduce(lambda a, b: a | b, (sel(c, "==") for c in choices))
        covers = functools.reduce(lambda a, b: a | b, (sel(c, ">=") for c in choices))
        within = sel(every, "<=")
        return {">=": covers, "<=": within, "<": within - covers,
                ">": covers - within}[self.op]

    def _rendering(self):
        return ", ".join(sorted(repr(x) for x in self.labels))

    def brief(self):
        text = "<via %s>" % self._rendering()
        return text if self.op == "==" else "[%s %s]" % (self.op, text)

    def arg_repr(self):
        return self._rendering()


class RcsKind(_SetKind):
    by = engine.BY_RCS
    family = "Rcs"
    ordered = True
    _BRIEFS = {"==": "referred by", "<": "referred by less than",
               "<=": "referred by at most", ">=": "referred by at least",
               ">": "referred by more than"}

    def __init__(self, hpy, kinds):
        super().__init__(hpy)
        names = set()
        for k in kinds:
            if isinstance(k, (TypeKind, ClodoKind)):
                names.add(k.brief())
            elif getattr(k, "is_root_state", False):
                names.add("RootState")
            else:
                names.add(type_display(k))
        self.kinds = frozenset(names)

    def atoms(self):
        return self.kinds

    def brief(self):
        return "<%s: %s>" % (self._BRIEFS.get(self.op, "referred by"),
                             ", ".join(sorted(self.kinds)))

    def arg_repr(self):
        return ", ".join(repr(k) for k in sorted(self.kinds))


class ModuleKind(Kind):
    by = engine.BY_MODULE
    family = "Module"

    def __init__(self, hpy, name=None):
        super().__init__(hpy)
        self.name = name

    def row_matches(self, part, row, label):
        if self.name is None:
            return label == "~module"
        return label == self.name

    def brief(self):
        return "~module" if self.name is None else self.name

    def arg_repr(self):
        return "" if self.name is None else repr(self.name)


class Invert(Kind):
    def __init__(self, kind):
        super().__init__(kind.hpy)
        self.kind = kind

    def select(self, idset):
        return idset - self.kind.select(idset)

    def brief(self):
        b = self.kind.brief()
        if " " in b and not b.startswith(("(", "<")):
            b = "(%s)" % b
        return "~" + b

    def __repr__(self):
        return "~" + repr(self.kind)

    def __invert__(self):
        return self.kind


class And(Kind):
    def __init__(self, hpy, kinds):
        super().__init__(hpy)
        self.kinds = kinds

    def select(self, idset):
        for k in self.kinds:
            idset = k.select(idset)
        return idset

    def brief(self):
        return "(%s)" % " & ".join(k.brief() for k in self.kinds)

    def __repr__(self):
        return "(%s)" % " & ".join(repr(k) for k in self.kinds)


class Or(Kind):
    def __init__(self, hpy, kinds):
        super().__init__(hpy)
        self.kinds = kinds

    def select(self, idset):
        out = None
        for k in self.kinds:
            s = k.select(idset)
            out = s if out is None else out | s
        return out

    def brief(self):
        return "(%s)" % " | ".join(sorted(k.brief() for k in self.kinds))

    def __repr__(self):
        return "(%s)" % " | ".join(sorted(repr(k) for k in self.kinds))


class NothingKind(Kind):
    """hp.Nothing: the empty set, symbolic."""

    def select(self, idset):
        return idset - idset

    def brief(self):
        return "<Nothing>"

    def __repr__(self):
        return self._prefix() + "Nothing"

    def __bool__(self):
        return False

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())

    def __eq__(self, other):
        from .heapy import IdSet
        if isinstance(other, IdSet):
            return not other
        return isinstance(other, NothingKind)

    def __hash__(self):
        return 0


def as_kind(hpy, x):
    """x as a kind: kinds as they are, Python classes and type-name
    strings as Type kinds; None if x is neither."""
    if isinstance(x, Kind):
        return x
    if isinstance(x, (type, str)):
        return TypeKind(hpy, x)
    return None


# -- equivalence relations ----------------------------------------------------

class EquivalenceRelation:
    """hp.Type, hp.Size, ...: a classifier, usable with .by(), combinable
    with &, and callable to make a kind of it."""

    def __init__(self, hpy, name, by, make):
        self.hpy = hpy
        self.name = name
        self.parts = (self,)
        self.by = by
        self._make = make

    def __call__(self, *args, **kwargs):
        if self._make is None:
            raise ValueError("Not callable set")
        return self._make(self.hpy, *args, **kwargs)

    def __and__(self, other):
        if isinstance(other, EquivalenceRelation):
            return AndRelation(self.hpy, self.parts + other.parts)
        return NotImplemented

    def __repr__(self):
        return "%s%s" % (self.hpy._reprefix(), self.name)

    @property
    def classifiers(self):
        return tuple(p.by for p in self.parts)


class AndRelation(EquivalenceRelation):
    def __init__(self, hpy, parts):
        seen = []
        for p in parts:
            if p.name not in [q.name for q in seen]:
                seen.append(p)
        self.hpy = hpy
        self.parts = tuple(seen)
        self.name = " & ".join(p.name for p in self.parts)
        self.by = None
        self._make = None

    def __repr__(self):
        return "(%s)" % " & ".join(repr(p) for p in self.parts)
