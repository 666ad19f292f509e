"""nodwarf.py — the descriptor's symbol addresses for a CPython without
debug info, when its ELF symbols do not give them all.

A stripped interpreter (`strip --strip-all`, a distribution's package
without its -dbg one) keeps only its dynamic symbols: the exported types
and variables (PyType_Type, _PySet_Dummy...).  A few fields name static
functions, found here through objects that hold them, read with the
offsets the layout table already gave:

- subtype_dealloc: the tp_dealloc of any class a `class` statement made;
  _frozen_importlib (interp->importlib) always holds several;
- structseq_traverse: the tp_traverse of sys.flags's type;
- deque_traverse: the tp_traverse of _collections.deque, if _collections
  was imported (if not, there is no deque to recognise);
- 3.13's method-wrapper type (no longer exported): types.MethodWrapperType,
  if the types module was imported.

Reads go through gdb (live process or core); nothing runs in the target.
"""

import struct

import gdb

HEAPTYPE = 1 << 9
TYPE_SUBCLASS = 1 << 31


class Reader:
    """Target memory read with the descriptor values known so far
    (a dict from field name to value)."""

    def __init__(self, values):
        self.v = values
        self.inf = gdb.selected_inferior()

    def u(self, addr, size=8):
        raw = bytes(self.inf.read_memory(addr, size))
        return int.from_bytes(raw, "little")

    def ptr(self, obj, field):
        return self.u(obj + self.v[field])

    def type_of(self, obj):
        return self.ptr(obj, "RL_OB_TYPE")

    def is_type(self, obj):
        t = self.type_of(obj)
        return t and (self.ptr(t, "RL_TP_FLAGS") & TYPE_SUBCLASS) != 0

    def ascii(self, obj, limit=64):
        """The text of a compact ASCII str, or None."""
        if not obj or self.type_of(obj) != self.v.get("RL_TYPE_STR"):
            return None
        n = self.u(obj + self.v["RL_STR_LENGTH"])
        if n > limit:
            return None
        raw = bytes(self.inf.read_memory(obj + self.v["RL_SIZEOF_ASCII"], n)) if n else b""
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            return None

    def dict_items(self, d):
        """(key, value) of a combined dict (module and sys dicts are)."""
        if not d or self.ptr(d, "RL_DICT_VALUES"):
            return
        keys = self.ptr(d, "RL_DICT_KEYS")
        n = self.u(keys + self.v["RL_DK_NENTRIES"])
        if self.v.get("RL_DK_SIZE", -1) >= 0:
            # 3.8-3.10: the keys hold their size; indices of 1 to 8
            # bytes by it; general entries only
            slots = self.u(keys + self.v["RL_DK_SIZE"])
            kind = 0
            ix = 1 if slots <= 0xff else 2 if slots <= 0xffff else 4 if slots <= 0xffffffff else 8
            index_bytes = slots * ix
        else:
            kind = self.u(keys + self.v["RL_DK_KIND"], 1)
            log2_index = self.u(keys + self.v["RL_DK_LOG2_INDEX_BYTES"], 1)
            index_bytes = 1 << log2_index if log2_index <= 40 else 0
        if not index_bytes or index_bytes > 1 << 40 or n > 1 << 20:
            return
        entries = keys + self.v["RL_DK_INDICES"] + index_bytes
        if kind == 0:       # general: hash, key, value
            size, key_off = self.v["RL_SIZEOF_DICTKEYENTRY"], 8
        else:               # unicode: key, value
            size, key_off = self.v["RL_SIZEOF_DICTUNICODEENTRY"], 0
        raw = bytes(self.inf.read_memory(entries, size * n)) if n else b""
        for i in range(n):
            key, value = struct.unpack_from("<QQ", raw, i * size + key_off)
            if key and value:
                yield key, value

    def lookup(self, d, name):
        for key, value in self.dict_items(d):
            if self.ascii(key) == name:
                return value
        return None


def _interp(r):
    return r.u(r.v["RL_RUNTIME_ADDR"] + r.v["RL_RUNTIME_INTERP_HEAD"])


def subtype_dealloc(r):
    importlib = r.ptr(_interp(r), "RL_INTERP_IMPORTLIB")
    if not importlib:
        return None
    for _key, value in r.dict_items(r.ptr(importlib, "RL_MODULE_DICT")):
        if r.is_type(value) and r.ptr(value, "RL_TP_FLAGS") & HEAPTYPE:
            return r.ptr(value, "RL_TP_DEALLOC")
    return None


def structseq_traverse(r):
    flags = r.lookup(r.ptr(_interp(r), "RL_INTERP_SYSDICT"), "flags")
    return r.ptr(r.type_of(flags), "RL_TP_TRAVERSE") if flags else None


def deque_traverse(r):
    interp = _interp(r)
    modules = r.ptr(interp, "RL_INTERP_MODULES")
    mod = r.lookup(modules, "_collections")
    deque = mod and r.lookup(r.ptr(mod, "RL_MODULE_DICT"), "deque")
    return r.ptr(deque, "RL_TP_TRAVERSE") if deque and r.is_type(deque) else None


def method_wrapper_type(r):
    """types.MethodWrapperType, if the types module was imported (3.13
    no longer exports _PyMethodWrapper_Type)."""
    modules = r.ptr(_interp(r), "RL_INTERP_MODULES")
    mod = r.lookup(modules, "types")
    t = mod and r.lookup(r.ptr(mod, "RL_MODULE_DICT"), "MethodWrapperType")
    return t if t and r.is_type(t) else None


# field name -> how to find it; tried after the ELF symbols fail
FINDERS = {
    "RL_SUBTYPE_DEALLOC": subtype_dealloc,
    "RL_STRUCTSEQ_TRAVERSE": structseq_traverse,
    "RL_DEQUE_TRAVERSE": deque_traverse,
    "RL_TYPE_METHODWRAPPER": method_wrapper_type,
}


def find(name, values):
    """The value of field `name` found through memory, or None."""
    finder = FINDERS.get(name)
    if finder is None:
        return None
    try:
        return finder(Reader(values)) or None
    except (gdb.error, gdb.MemoryError, KeyError, struct.error, TypeError):
        return None
