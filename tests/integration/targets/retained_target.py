"""retained_target.py WORKDIR — a program that knows what its objects retain.

It builds a tree (the global TREE) of fresh objects: dicts whose values
are lists, tuples, sets, frozensets, bytes, str, floats, big ints and
instances of a slotted class; the inner dicts hang from `kids` lists, so
every object of the tree is held by exactly one other object of it, and
TREE itself only by this module's globals.  While building it records
the id() of every object it made; then it checks with gc.get_referents
that each subtree's closure, among the objects it made, is exactly the
objects it made for that subtree, and that everything else a subtree
refers to is shared (types, interned keys).  So freeing a subtree's root
would free exactly those objects: what it retains is their
sys.getsizeof sum, computed here.

WORKDIR/facts.json:
  {"tree": {"address", "count", "size", "imdom"},   (imdom: id(globals()))
   "subtrees": [{"address", "count", "size", "imdom"}, ...],
   "named": [[address, name], ...],
   "big_str": {"address", "size", "holder", "holder_size"}}
   (a str over 1 MB, in one dict that nothing else refers to but globals)
   (a subtree's root is an inner dict; its imdom is the `kids` list
   holding it; a `kids` list's imdom is the dict holding it)
then WORKDIR/ready; on SIGUSR1 it checks the tree is intact and exits 0.
"""

import gc
import json
import os
import signal
import sys

from referents import referents  # gc.get_referents, as the references are

DEPTH = 4
FANOUT = 3
LEAVES = 5


class Leaf:
    __slots__ = ("name", "weight", "payload")

    def __init__(self, name, weight, payload):
        self.name, self.weight, self.payload = name, weight, payload


class Builder:
    """Makes the tree and remembers, per subtree root, the ids it made."""

    def __init__(self):
        self.serial = 0
        self.made = {}          # id(subtree root) -> set of ids under it

    def new(self, obj, ids):
        ids.add(id(obj))
        return obj

    def node(self, depth, path):
        ids = set()
        n = self.serial = self.serial + 1
        leaves = self.new([], ids)
        for k in range(LEAVES):
            name = self.new("leaf-%s-%d" % (path, k), ids)
            weight = self.new(float(n * 100 + k) + 0.25, ids)
            # (at least 2 bytes: CPython shares its 1-byte bytes objects)
            payload = self.new(bytes(range(k + 2)) * (n % 7 + 1), ids)
            leaves.append(self.new(Leaf(name, weight, payload), ids))
        tags = self.new(frozenset(self.new("tag-%d-%d" % (n, k), ids) for k in range(3)), ids)
        members = self.new({self.new("member-%d-%d" % (n, k), ids) for k in range(4)}, ids)
        point = self.new((self.new(n + 0.5, ids), self.new(n + 1.5, ids)), ids)
        kids = self.new([], ids)
        for i in range(FANOUT if depth > 0 else 0):
            child = self.node(depth - 1, "%s.%d" % (path, i))
            kids.append(child)
            ids |= self.made[id(child)]
        d = self.new({
            "label": self.new("node-%s" % path, ids),
            "serial": self.new(10 ** 20 + n, ids),
            "leaves": leaves,
            "tags": tags,
            "members": members,
            "point": point,
            "kids": kids,
        }, ids)
        self.made[id(d)] = ids
        return d


def closure(root, allowed):
    """Ids reachable from root through gc.get_referents, staying in
    allowed; and the objects outside allowed met on the way."""
    seen, outside, todo = {id(root)}, {}, [root]
    while todo:
        o = todo.pop()
        for r in referents(o):
            if id(r) in allowed:
                if id(r) not in seen:
                    seen.add(id(r))
                    todo.append(r)
            else:
                outside[id(r)] = r
    return seen, outside


def facts_of(root, ids, imdom):
    seen, outside = closure(root, ids)
    if seen != ids:
        raise SystemExit("retained_target: the closure of %r is not what was made "
                         "(%d vs %d)" % (root.get("label"), len(seen), len(ids)))
    for r in outside.values():
        shared = isinstance(r, type) or (type(r) is str and sys.intern(r) is r)
        if not shared:
            raise SystemExit("retained_target: the tree refers to %r, made elsewhere"
                             % (r,))
    objs = {}
    todo = [root]
    while todo:
        o = todo.pop()
        if id(o) in objs:
            continue
        objs[id(o)] = o
        todo.extend(r for r in referents(o) if id(r) in ids)
    return {"address": id(root), "count": len(objs),
            "size": sum(sys.getsizeof(o) for o in objs.values()), "imdom": imdom}


TREE = None
# a str over 1 MB and the one dict that holds it (test_export's SQL query)
BIG_HOLDER = {"big": "".join(["big-str ", "x" * (1 << 20), " end"])}
# a bound method, for the names byretained gives objects
BOUND = Builder().new


def _frame_here():
    return sys._getframe()


def _counting():
    yield 1
    n = 2
    yield n


# frames: one whose function returned, one of a generator stopped at its
# second yield, one of a generator not started (and main's, running)
DONE_FRAME = _frame_here()
STOPPED = _counting()
next(STOPPED)
next(STOPPED)
UNSTARTED = _counting()


def marked_line(mark):
    """The line of this file that ends with the comment # mark."""
    with open(__file__) as f:
        for number, text in enumerate(f, 1):
            if text.rstrip().endswith("# " + mark):
                return number
    raise SystemExit("retained_target: no line marked %r" % mark)


def frame_name(frame, line):
    """What byretained calls a frame: its code's name (qualified, 3.11+),
    the last 60 characters of its file, the line it is at."""
    code = frame.f_code
    where = code.co_filename
    if len(where) > 60:
        where = "..." + where[-60:]
    return "types.FrameType: %s in %s:%d" % (
        getattr(code, "co_qualname", code.co_name), where, line)


def named():
    """[(address, the name byretained must give it)], from the objects
    themselves: this module's dict, a function, a class, a bound method."""
    main = sys.modules[__name__]
    return [(id(vars(main)), "dict of module %s" % __name__),
            (id(facts_of), "function: %s.%s" % (facts_of.__module__, facts_of.__qualname__)),
            (id(Builder), "type: %s.%s" % (Builder.__module__, Builder.__qualname__)),
            (id(BOUND), "method: %s.%s of 0x%x" % (BOUND.__func__.__module__,
                                                   BOUND.__func__.__qualname__,
                                                   id(BOUND.__self__))),
            (id(DONE_FRAME), frame_name(DONE_FRAME, DONE_FRAME.f_lineno)),
            (id(STOPPED.gi_frame), frame_name(STOPPED.gi_frame, STOPPED.gi_frame.f_lineno)),
            (id(UNSTARTED.gi_frame), frame_name(UNSTARTED.gi_frame,
                                                UNSTARTED.gi_frame.f_lineno))]


def build():
    """The tree and its facts; nothing of it stays in this frame (a local
    would be a second holder)."""
    b = Builder()
    tree = b.node(DEPTH, "r")
    facts = {"tree": facts_of(tree, b.made[id(tree)], id(globals())), "subtrees": []}
    # the inner dicts along the first and last branches, and their lists
    for branch in (0, -1):
        d = tree
        while d["kids"]:
            kids = d["kids"]
            child = kids[branch]
            facts["subtrees"].append(facts_of(child, b.made[id(child)], id(kids)))
            facts["subtrees"].append({"address": id(kids), "imdom": id(d)})
            d = child
    return tree, facts


def main(wdir):
    global TREE
    got_usr1 = bytearray(1)
    signal.signal(signal.SIGUSR1, lambda s, f: got_usr1.__setitem__(0, 1))
    TREE, facts = build()
    facts["named"] = named()
    # this frame, while it waits in signal.pause() (the marked line)
    here = sys._getframe()
    facts["named"].append((id(here), frame_name(here, marked_line("waits-here"))))
    big = BIG_HOLDER["big"]
    facts["big_str"] = {"address": id(big), "size": sys.getsizeof(big),
                        "holder": id(BIG_HOLDER), "holder_size": sys.getsizeof(BIG_HOLDER)}
    del big
    gc.collect()
    with open(os.path.join(wdir, "facts.json.tmp"), "w") as f:
        json.dump(facts, f)
    os.rename(os.path.join(wdir, "facts.json.tmp"), os.path.join(wdir, "facts.json"))
    with open(os.path.join(wdir, "ready"), "w") as f:
        f.write("ready\n")
    while not got_usr1[0]:
        signal.pause()  # waits-here
    # the program's own work: the tree still holds what it was built with
    n, d = 0, TREE
    while d["kids"]:
        n += len(d["leaves"])
        d = d["kids"][0]
    ok = n == LEAVES * DEPTH and d["label"] == "node-r" + ".0" * DEPTH
    print("retained_target: done, ok=%s" % ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
