"""memory_target.py WORKDIR — a program that knows how its memory is used,
as its own sys._debugmallocstats() says.

Makes 100,000 small dicts (pymalloc's blocks), lists, dicts, sets,
bytearrays, arrays, deques and a BytesIO whose items or buffers live
outside them, a 3 MiB + 28 KiB
anonymous mmap.mmap it writes to (resident, not heap) and three threads
waiting on an Event, one of them DEPTH Python calls deep (stacks of
their own, allocating nothing: the stats wait until all sit in the
futex system call).  Writes WORKDIR/facts.json {"mmap_bytes": len of
the map, "threads": the thread count, "depth": DEPTH, "owners": those
containers' addresses, "owned": the bytes they own outside themselves
(getsizeof less __basicsize__ and the GC header), "code_objects",
"code_bytes": the code objects it can find and their getsizeof sum},
then WORKDIR/ready; then, with its stderr sent to
WORKDIR/mallocstats.txt, calls sys._debugmallocstats() as its last
step before signal.pause(): nothing is allocated between the two, so
the stats are those of the process a debugger finds paused.  On
SIGUSR1 it exits 0 if its data is as it was built.
"""

import array
import collections
import gc
import io
import json
import mmap
import os
import signal
import sys
import sysconfig
import threading
import time
import types

DICTS = [dict(a=i) for i in range(100000)]
MAP = mmap.mmap(-1, 3 * 1024 * 1024 + 7 * 4096)
MAP[:] = b"m" * len(MAP)
# containers whose items or buffers live outside the object
OWNERS = ([list(range(n)) for n in (0, 1, 7, 1000, 33333)]
          + [{i: i for i in range(n)} for n in (0, 5, 900)]
          + [set(range(n)) for n in (3, 100, 5000)]
          + [bytearray(n) for n in (0, 10, 100000)]
          + [array.array("d", range(n)) for n in (0, 4096)]
          + [collections.deque(range(n)) for n in (0, 10000)]
          + [io.BytesIO(b"b" * 70000)])
HAVE_GC = 1 << 14


def owned(o):
    """What the object owns outside itself, as getsizeof counts it: its
    size less its type's basic size and the GC header before it (these
    types keep no variable part inside their objects)."""
    t = type(o)
    gil = not sysconfig.get_config_var("Py_GIL_DISABLED")
    pre = 16 if t.__flags__ & HAVE_GC and gil else 0
    return sys.getsizeof(o) - t.__basicsize__ - pre


EVENT = threading.Event()
DEPTH = 2000             # the deep thread's Python frames, waiting at the bottom


def deep(n):
    if n > 1:
        return deep(n - 1)
    return EVENT.wait()


THREADS = [threading.Thread(target=EVENT.wait) for _ in range(2)]
THREADS.append(threading.Thread(target=deep, args=(DEPTH,)))


def code_objects():
    """The code objects the program can find: referred to by what the
    collector tracks, run by its threads' frames, and their constants."""
    found, todo = {}, []
    for o in gc.get_objects():
        todo.extend(r for r in gc.get_referents(o) if type(r) is types.CodeType)
    for f in sys._current_frames().values():
        while f is not None:
            todo.append(f.f_code)
            f = f.f_back
    while todo:
        c = todo.pop()
        if id(c) not in found:
            found[id(c)] = c
            todo.extend(k for k in c.co_consts if type(k) is types.CodeType)
    return found.values()


def main():
    wdir = sys.argv[1]
    sys.setrecursionlimit(DEPTH + 1000)
    for t in THREADS:
        t.start()
    # each thread blocked in the Event's lock (futex) before the stats:
    # one still starting would allocate after them.  Its waiter counted
    # first: a thread in futex before that may be waiting for the GIL
    # on its way down (the deep one), and allocates once it has it
    while len(EVENT._cond._waiters) < len(THREADS):
        time.sleep(0.001)
    for t in THREADS:
        while True:
            with open("/proc/self/task/%d/syscall" % t.native_id) as f:
                if f.read().split()[:1] == ["202"]:
                    break
    codes = code_objects()
    facts = {"mmap_bytes": len(MAP), "threads": threading.active_count(),
             "depth": DEPTH, "code_objects": len(codes),
             "code_bytes": sum(sys.getsizeof(c) for c in codes),
             "owners": [id(o) for o in OWNERS], "owned": sum(owned(o) for o in OWNERS)}
    with open(os.path.join(wdir, "facts.json.tmp"), "w") as f:
        json.dump(facts, f)
    os.rename(os.path.join(wdir, "facts.json.tmp"), os.path.join(wdir, "facts.json"))
    got = []
    signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
    fd = os.open(os.path.join(wdir, "mallocstats.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 2)
    with open(os.path.join(wdir, "ready"), "w") as f:
        f.write("ready\n")
    sys._debugmallocstats()
    signal.pause()
    while not got:
        signal.pause()
    EVENT.set()
    ok = len(DICTS) == 100000 and DICTS[77]["a"] == 77 and MAP[:4] == b"mmmm"
    sys.exit(0 if ok else 1)


main()
