"""holders_target.py WORKDIR — markers held by one holder each, and the
facts about them, for test_holders.py.

holders_mod.build() makes markers held ONLY by a module global, a class
attribute, a closure cell, a list in a tuple in a dict and a set member; a
worker thread holds one more in a local of its innermost frame (it blocks
in a C lock acquire, so no Python frame is above it); a second one does
the same DEEP calls down a pure-Python recursion (deeper than the 16 bits
remora's snapshot format 3 gave a frame's depth).  holders_mod is
imported here without binding it to a global, so nothing in __main__ (the
f_globals of this thread's frames) leads to it: every path goes through
sys.modules.

For each marker the target writes (facts.json): the marker's id(), its one
holder's id(), the Clodo kind of the holder and the kinds of the holder's
own referrers (from gc.get_referrers), and, for the set member, its
position list(s).index(m); for the thread locals, the thread's ident and
the frame's number counted from the thread's oldest frame (f_back by
f_back).  Every "held
only by" is checked with sys.getrefcount.  Then it creates `ready` and
waits for SIGUSR1, releases the worker and exits 0.
"""

import builtins
import gc
import importlib
import json
import os
import signal
import sys
import sysconfig
import threading
import types


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def all_classes():
    """Every class, by __subclasses__ from object: a free-threaded 3.13
    untracks classes (and modules) once a second thread starts, so gc
    cannot list them as referrers."""
    seen, todo = {}, [object]
    while todo:
        t = todo.pop()
        if id(t) not in seen:
            seen[id(t)] = t
            todo.extend(type.__subclasses__(t))
    return list(seen.values())


def owner_untracked(o):
    """The module or class whose __dict__ o is, where gc does not track
    it (free-threaded builds), or None."""
    for m in list(sys.modules.values()):
        if not gc.is_tracked(m) and getattr(m, "__dict__", None) is o:
            return m
    for t in all_classes():
        if not gc.is_tracked(t) and gc.get_referents(t.__dict__)[0] is o:
            return t
    return None


def kind(o):
    """heapy's Clodo kind: the type, or "dict of <owner's type>"."""
    if type(o) is dict:
        owner = owner_untracked(o)
        if owner is not None:
            return "dict of " + typename(type(owner))
        for r in gc.get_referrers(o):
            if isinstance(r, types.ModuleType):
                owned = vars(r)
            elif isinstance(r, type):
                owned = gc.get_referents(r.__dict__)[0]
            elif isinstance(r, types.FunctionType):
                continue  # its __globals__; getattr would make its __dict__
            else:
                owned = getattr(r, "__dict__", None)
            if owned is o:
                return "dict of " + typename(type(r))
        return "dict (no owner)"
    return typename(type(o))


def typename(t):
    """heapy's name of a type (guppy3 Summary_str.str_type)."""
    if t in (types.FunctionType, types.ModuleType):
        return t.__name__
    if getattr(builtins, t.__name__, None) is t:
        return t.__name__
    aliases = sorted(n for n in dir(types) if getattr(types, n) is t)
    if aliases:
        return "types." + aliases[-1]
    return "%s.%s" % (t.__module__, t.__name__)


# A free-threaded 3.13 untracks modules, classes and functions once a
# second thread starts: gc.get_referrers cannot list those, and what it
# lists there for the holders (a list besides the closure's tuple, a list
# for the module dict's set) is not what the heap holds.
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def referrer_kinds(o):
    """The kinds of o's referrers, or None where gc cannot say them
    (free-threaded builds): not asserted then."""
    if FREE_THREADED:
        return None
    return sorted({kind(r) for r in gc.get_referrers(o)})


def _count_param(x):
    return sys.getrefcount(x)


def held_once_and_passed():
    """sys.getrefcount of an object one holder refers to, read as
    describe() reads it: a caller's local passed as an argument.  4 up
    to 3.13 (holder, local, argument, getrefcount's); 3.14 borrows the
    local's reference for the calls."""
    probe = object()
    holder = [probe]
    n = _count_param(probe)
    del holder
    return n


def held_by_a_local():
    """sys.getrefcount of an object only a local refers to, read as
    worker() reads it: 2 up to 3.13, 1 from 3.14 (a borrowed argument)."""
    probe = object()
    return sys.getrefcount(probe)


def describe(tag, marker, holder, **extra):
    """The facts of one marker; fails if anything but holder refers to it."""
    refs = [r for r in gc.get_referrers(marker)]
    # an untracked holder (free-threaded builds) is not among them: the
    # reference count below still says it is the only one (no list here
    # may hold the holder: it would be one of its referrers below)
    tracked = gc.is_tracked(holder)
    if len(refs) != int(tracked) or (tracked and refs[0] is not holder):
        raise SystemExit("holders_target: %s: referrers %r" % (tag, refs))
    del refs
    # references: holder, and what reading it the same way adds
    if sys.getrefcount(marker) != held_once_and_passed():
        raise SystemExit("holders_target: %s: %d references, not %d" % (
            tag, sys.getrefcount(marker), held_once_and_passed()))
    return dict(extra, address=id(marker), holder=id(holder), holder_kind=kind(holder),
                holder_referrer_kinds=referrer_kinds(holder))


def facts(thread_facts):
    mod = importlib.import_module("holders_mod")
    f = {"python": sys.version, "markers": {}}
    m = f["markers"]
    marker = mod.x
    m["global"] = describe("global", marker, vars(mod))
    type_dict = gc.get_referents(mod.Holder.__dict__)[0]
    marker = type_dict["attr"]
    m["class attribute"] = describe("class attribute", marker, type_dict)
    cell = mod.f.__closure__[0]
    marker = cell.cell_contents
    m["closure cell"] = describe("closure cell", marker, cell)
    lst = mod.d["k"][0]
    marker = lst[0]
    m["list in a tuple in a dict"] = describe("list in a tuple in a dict", marker, lst)
    members = [o for o in mod.s if o.tag == "set member"]
    marker = members.pop()
    m["set member"] = describe("set member", marker, mod.s, position=list(mod.s).index(marker))
    m["thread local"] = thread_facts
    return f


DEEP = 70000


def descend(n, gate, started, out, make_marker):
    """DEEP Python frames down (3.11+ makes no C call for a Python one),
    then a worker's innermost frame."""
    if n:
        return descend(n - 1, gate, started, out, make_marker)
    return worker(gate, started, out, make_marker, "deep thread local")


def worker(gate, started, out, make_marker, tag="thread local"):
    local_marker = make_marker(tag)
    me = sys._getframe()  # materialized, as heapy would; alive while it runs
    frameno = 0
    up = me.f_back
    while up is not None:
        frameno += 1
        up = up.f_back
    out.update(address=id(local_marker), holder=id(me), holder_kind=typename(type(me)),
               thread_ident=threading.get_ident(), frameno=frameno,
               # local_marker and getrefcount's argument, nothing else
               refcount=sys.getrefcount(local_marker))
    del me, up
    started.release()
    gate.acquire()  # C: no Python frame above this one while it blocks
    out["released"] = local_marker.tag
    return None


# Run by exec() in a thread with a namespace of its own as globals and
# locals: a module-level frame, whose f_locals is its f_globals.
MODULE_LEVEL = """
import sys, threading
me = sys._getframe()
n = 0
up = me.f_back
while up is not None:
    n += 1
    up = up.f_back
out.update(address=id(me.f_globals), same=me.f_locals is me.f_globals,
           thread_ident=threading.get_ident(), frameno=n)
del me, up, n
started.release()
gate.acquire()
"""


def module_level(gate, started, out):
    exec(compile(MODULE_LEVEL, "<module level>", "exec"),
         {"started": started, "gate": gate, "out": out})


def main(wdir):
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})  # threads inherit it
    importlib.import_module("holders_mod").build()
    sys.setrecursionlimit(DEEP + 1000)
    gate, deep_gate, started = threading.Lock(), threading.Lock(), threading.Lock()
    gate.acquire()
    deep_gate.acquire()
    started.acquire()
    shared, deep = {}, {}
    marker_type = importlib.import_module("holders_mod").Marker
    t = threading.Thread(target=worker, name="holder", args=(
        gate, started, shared, marker_type))
    t.start()
    started.acquire()
    # before 3.11 each Python call is a C call too: the deep thread needs
    # a C stack of some hundred MiB (mapped as it is used)
    if sys.version_info < (3, 11):
        threading.stack_size(512 << 20)
    d = threading.Thread(target=descend, name="deep", args=(
        DEEP, deep_gate, started, deep, marker_type))
    d.start()
    threading.stack_size(0)
    started.acquire()
    module_gate, module = threading.Lock(), {}
    module_gate.acquire()
    mt = threading.Thread(target=module_level, name="module level",
                          args=(module_gate, started, module))
    mt.start()
    started.acquire()
    if not module.get("same"):
        raise SystemExit("holders_target: the module-level frame's f_locals is not "
                         "its f_globals: %r" % module)
    for tag, got in (("thread local", shared), ("deep thread local", deep)):
        if got.get("refcount") != held_by_a_local():
            raise SystemExit("holders_target: %s has %r references, not %d"
                             % (tag, got.get("refcount"), held_by_a_local()))
    if deep["frameno"] < DEEP:
        raise SystemExit("holders_target: the deep thread is %d frames deep"
                         % deep["frameno"])
    f = facts(dict(shared))
    f["markers"]["deep thread local"] = dict(deep)
    f["module frame"] = dict(module)
    write_atomically(os.path.join(wdir, "facts.json"), json.dumps(f, indent=1))
    gc.collect()
    write_atomically(os.path.join(wdir, "ready"), "ready\n")
    signal.sigwait({signal.SIGUSR1})
    gate.release()
    deep_gate.release()
    module_gate.release()
    t.join()
    d.join()
    mt.join()
    ok = (shared.get("released"), deep.get("released")) == ("thread local",
                                                            "deep thread local")
    print("holders_target: done, ok=%s" % ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
