"""referents.py — the targets' gc.get_referents(), as the references are.

CPython 3.13 before gh-130327 (3.13.0 here; the fix went into later 3.13
patch releases and into distributions' own builds, Debian's 3.13.5 among
them) traverses an instance whose attributes are still inline but whose
__dict__ was made by visiting the attribute values and not the dict, and
the dict then visits none of them.  The references are object -> dict ->
values: 3.14 and the fixed 3.13s report them so, and remora reads them so
on every 3.13, since a process cannot tell which traverse it was built
with.  referents(o) is gc.get_referents(o), corrected where this
interpreter's traverse is the old one (found by trying it, at import).
"""

import gc
import sys

# Py_TPFLAGS_INLINE_VALUES (3.13+)
INLINE_VALUES = 1 << 2


def _traverse_visits_made_dicts():
    class Probe:
        pass
    p = Probe()
    p.x = []
    d = p.__dict__
    return any(r is d for r in gc.get_referents(p))


OLD_TRAVERSE = sys.version_info[:2] == (3, 13) and not _traverse_visits_made_dicts()

if OLD_TRAVERSE:
    import ctypes


def made_dict(o):
    """The __dict__ made over o's inline attributes, or None; never makes
    one (3.13: the pointer to it is the third word before the object)."""
    if not type(o).__flags__ & INLINE_VALUES or isinstance(o, type):
        return None
    addr = ctypes.c_void_p.from_address(id(o) - 3 * ctypes.sizeof(ctypes.c_void_p)).value
    return ctypes.cast(addr, ctypes.py_object).value if addr else None


def referents(o):
    """gc.get_referents(o), with object -> dict -> values where the old
    3.13 traverse has object -> values and an empty dict."""
    r = gc.get_referents(o)
    if not OLD_TRAVERSE:
        return r
    if type(o) is dict:
        # a dict visits its values unless they are embedded in an object:
        # a dict with items and no referents holds embedded values
        return list(o.values()) if o and not r else r
    d = made_dict(o)
    if d is None or any(x is d for x in r):
        return r   # no dict, or one owning its values: visited already
    # the traverse visited each value once: those visits are the dict's
    out = list(r)
    for v in d.values():
        for i, x in enumerate(out):
            if x is v:
                del out[i]
                break
    out.append(d)
    return out
