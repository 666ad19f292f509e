"""facts_target.py WORKDIR — a Python program that knows the truth about its heap.

GIVEN structures of known shape (see the constants), it computes facts about
them itself — with gc.get_objects(), sys.getsizeof and its own data — writes
them to WORKDIR/facts.json, creates WORKDIR/ready, and waits.  The test then
attaches gdb and checks that remora's partitions say exactly the same.
On SIGUSR1 (sent after gdb detached) it releases its thread, computes its
facts again and checks every value of its data (WORKDIR/after.json), and
exits 0.

Distinctive sizes are chosen so that no other object of the same type in a
bare interpreter has them: rows of `h[i].bysize` with that size must count
exactly the objects made here.
"""

import gc
import json
import os
import signal
import sys
import threading

N_PLAIN = 5237          # instances of a plain class (dict never materialized;
                        # more than the walker pushes at once from one list)
N_SLOTTED = 611         # instances of a __slots__ class
N_MAT = 317             # instances whose __dict__ was materialized
N_DSUB = 89             # instances of a dict subclass ...
DSUB_ENTRIES = 13       # ... each with this many entries
N_LIST = 47             # lists of exactly LIST_LEN items
LIST_LEN = 777
N_STR = 1301            # unique UCS-2 strings of STR_LEN characters
STR_LEN = 2345
N_INT = 5103            # unique ints of INT_DIGITS decimal digits (no GC list
                        # holds them: only their long list leads to them)
INT_DIGITS = 1000
THREAD_ONLY_LEN = 77771  # str referenced only by a worker thread's local
MAIN_ONLY_LEN = 66667    # str referenced only by main()'s local


class Plain:
    def __init__(self, i):
        self.a = i
        self.b = None


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, i):
        self.x = i
        self.y = None


class Mat:
    def __init__(self, i):
        self.p = i
        self.q = None


class DSub(dict):
    pass


KEEP = {}


def build():
    KEEP["plain"] = [Plain(i) for i in range(N_PLAIN)]
    KEEP["slotted"] = [Slotted(i) for i in range(N_SLOTTED)]
    mats = [Mat(i) for i in range(N_MAT)]
    for m in mats:
        m.__dict__  # materialize: heapy's "dict of Mat" now exists
    KEEP["mat"] = mats
    KEEP["dsub"] = [DSub((k, i) for k in range(DSUB_ENTRIES)) for i in range(N_DSUB)]
    KEEP["lists"] = [[None] * LIST_LEN for _ in range(N_LIST)]
    KEEP["strs"] = ["\u0394" + ("%0*d" % (STR_LEN - 1, i)) for i in range(N_STR)]
    KEEP["ints"] = [10 ** (INT_DIGITS - 1) + i for i in range(N_INT)]


def same_size(objs, what):
    sizes = {sys.getsizeof(o) for o in objs}
    if len(sizes) != 1:
        raise SystemExit("facts_target: %s do not share one size: %s" % (what, sorted(sizes)))
    return sizes.pop()


def facts():
    """Count and total size per kind, from gc and from our own data; they must agree."""
    gc.collect()
    by_gc = {}
    for o in gc.get_objects():
        t = type(o)
        if t in (Plain, Slotted, Mat, DSub):
            c, s = by_gc.get(t.__name__, (0, 0))
            by_gc[t.__name__] = (c + 1, s + sys.getsizeof(o))
    own = {
        "Plain": KEEP["plain"], "Slotted": KEEP["slotted"],
        "Mat": KEEP["mat"], "DSub": KEEP["dsub"],
    }
    classes = {}
    for name, objs in own.items():
        mine = (len(objs), sum(sys.getsizeof(o) for o in objs))
        if by_gc.get(name) != mine:
            raise SystemExit("facts_target: gc says %r for %s, own data %r"
                             % (by_gc.get(name), name, mine))
        classes[name] = {"count": mine[0], "size": mine[1]}
    dicts = [m.__dict__ for m in KEEP["mat"]]
    return {
        "python": sys.version,
        "hexversion": sys.hexversion,
        "classes": classes,
        "dict_of": {"Mat": {"count": len(dicts), "size": sum(sys.getsizeof(d) for d in dicts)}},
        "bysize": {
            "str": {"size": same_size(KEEP["strs"], "strs"), "count": N_STR},
            "int": {"size": same_size(KEEP["ints"], "ints"), "count": N_INT},
            "list": {"size": same_size(KEEP["lists"], "lists"), "count": N_LIST},
        },
    }


def worker(started, release, out):
    # SIGUSR1 must reach the main thread, which waits for it in pause().
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    only_here = "".join(["\u0398"] * THREAD_ONLY_LEN)  # built at run time, never interned
    out["thread_only"] = {"type": "str", "size": sys.getsizeof(only_here)}
    started.set()
    release.wait()
    out["worker_intact"] = only_here == "\u0398" * THREAD_ONLY_LEN


def damaged(main_only, shared):
    """What of the data build() made (and the locals) no longer holds what
    it was built with: a list of descriptions, empty when all is intact."""
    bad = []
    for i, o in enumerate(KEEP["plain"]):
        if (o.a, o.b) != (i, None):
            bad.append("Plain %d" % i)
    for i, o in enumerate(KEEP["slotted"]):
        if (o.x, o.y) != (i, None):
            bad.append("Slotted %d" % i)
    for i, o in enumerate(KEEP["mat"]):
        if o.__dict__ != {"p": i, "q": None}:
            bad.append("Mat %d" % i)
    for i, d in enumerate(KEEP["dsub"]):
        if dict(d) != {k: i for k in range(DSUB_ENTRIES)}:
            bad.append("DSub %d" % i)
    for i, lst in enumerate(KEEP["lists"]):
        if lst != [None] * LIST_LEN:
            bad.append("list %d" % i)
    for i, s in enumerate(KEEP["strs"]):
        if s != "\u0394" + ("%0*d" % (STR_LEN - 1, i)):
            bad.append("str %d" % i)
    for i, n in enumerate(KEEP["ints"]):
        if n != 10 ** (INT_DIGITS - 1) + i:
            bad.append("int %d" % i)
    if main_only != "\u0399" * MAIN_ONLY_LEN:
        bad.append("main()'s local str")
    if not shared.get("worker_intact"):
        bad.append("the worker's local str")
    return bad


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


got_usr1 = False


def on_usr1(signum, frame):
    global got_usr1
    got_usr1 = True


def wait_for_usr1():
    while not got_usr1:
        signal.pause()


def main(wdir):
    signal.signal(signal.SIGUSR1, on_usr1)
    build()
    shared = {}
    started, release = threading.Event(), threading.Event()
    t = threading.Thread(target=worker, args=(started, release, shared), name="holder")
    t.start()
    started.wait()
    main_only = "".join(["\u0399"] * MAIN_ONLY_LEN)
    f = facts()
    f["thread_only"] = shared["thread_only"]
    f["main_only"] = {"type": "str", "size": sys.getsizeof(main_only)}
    f["pid"] = os.getpid()
    write_atomically(os.path.join(wdir, "facts.json"), json.dumps(f, indent=1))
    del f
    gc.collect()
    write_atomically(os.path.join(wdir, "ready"), "ready\n")
    wait_for_usr1()
    release.set()
    t.join()
    after = {"facts": facts(), "damaged": damaged(main_only, shared)}
    after["facts"].update(thread_only=shared["thread_only"], pid=os.getpid(),
                          main_only={"type": "str", "size": sys.getsizeof(main_only)})
    write_atomically(os.path.join(wdir, "after.json"), json.dumps(after, indent=1))
    print("facts_target: done, damaged=%r" % after["damaged"][:10])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
