"""holders_mod.py — imported by holders_target.py (never run directly).

build() makes one Marker for each kind of holder, each held ONLY by it:
  x                     a module global (this module's __dict__)
  Holder.attr           a class attribute (the class's __dict__)
  f                     a closure cell (f.__closure__[0].cell_contents)
  d['k'][0][0]          a list in a tuple in a dict
  s                     a set member (with FILLERS other members)
The module lives in sys.modules only, so each marker's shortest path from
the roots starts at hp.Root.i0_modules['holders_mod'].
"""

FILLERS = 6


class Marker:
    __slots__ = ("tag",)

    def __init__(self, tag):
        self.tag = tag


class Holder:
    pass


def _closure_over(tag):
    marker = Marker(tag)

    def f():
        return marker
    return f


def build():
    global x, f, d, s
    x = Marker("global")
    Holder.attr = Marker("class attribute")
    f = _closure_over("closure cell")
    d = {"k": ([Marker("list in a tuple in a dict")],)}
    s = {Marker("filler") for _ in range(FILLERS)}
    s.add(Marker("set member"))
