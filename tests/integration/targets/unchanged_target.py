"""unchanged_target.py WORKDIR — a program that can tell whether it was changed.

It builds sample objects (N_PLAIN instances whose __dict__ is never
materialized, so heapy-style materialization would add N_PLAIN blocks),
takes a census of its heap (every object gc lists and the untracked
objects they refer to, bar the shared ones: the population), starts
N_WORKERS threads that count in a loop, and measures itself (measure())
into WORKDIR/warmup.json, m1.json, m2.json, m3.json and before.json,
creates WORKDIR/ready and waits for SIGUSR1.  On SIGUSR1 it measures
again (same code, same call depth, the workers parked at the same line)
into WORKDIR/after.json, then checks that every thread goes on making
progress (WORKDIR/progress.json), and finishes its own work:
WORKDIR/result.json holds a checksum the test can recompute, and the
exit code is 0.

Nothing is collected before a measurement: a garbage collection remora
caused, or cyclic garbage it left, must show (gc.get_stats(), the counts
of gc.get_count(), the number of tracked objects).  Measuring allocates
and frees the same objects each time, but free lists fill slowly, so
gc.get_count()[0] and sys.getallocatedblocks() drift by a few per
measurement: the measurements in a row before the attach tell the test
by how much.
"""

import array
import ctypes
import gc
import json
import os
import signal
import sys
import threading
import time

N_PLAIN = 5000
N_WORKERS = 3
PROGRESS_STEPS = 20        # each thread must count this far after detach
PROGRESS_TIMEOUT = 30.0


class Sample:
    def __init__(self, i):
        self.i = i
        self.s = "s%d" % i


def build():
    objs = [Sample(i) for i in range(N_PLAIN)]
    table = {"k%d" % i: i for i in range(257)}
    text = "unchanged-" * 50
    big = 10 ** 200 + 7
    return objs, table, text, big


STATIC_REFCNT = 999999999   # 3.11's deep-frozen objects start here, 3.12's
                            # immortal ones are above it


def shared(o):
    """Objects every piece of running code refers to in passing (None, the
    small ints, static and immortal objects): their counts move with what
    any thread's stack holds at the instant, so they say nothing."""
    return (o is None or o is True or o is False or o is Ellipsis
            or o is NotImplemented or (type(o) is int and -5 <= o <= 256)
            or sys.getrefcount(o) >= STATIC_REFCNT)


def interned(o):
    """Whether o is an interned str (an attribute or variable name): code
    that merely runs refers to those in passing too.  (sys.intern interns
    a str nobody interned yet: harmless here, before any measurement.)"""
    return type(o) is str and sys.intern(o) is o


def census():
    """Every object gc lists and every untracked object one of them refers
    to (str, int, bytes, ...), but the shared ones: the objects whose
    refcounts are compared."""
    tracked = gc.get_objects()
    seen = {id(o) for o in tracked}
    untracked = []
    for o in tracked:
        for r in gc.get_referents(o):
            if id(r) not in seen:
                seen.add(id(r))
                untracked.append(r)
    return [o for o in tracked + untracked if not shared(o) and not interned(o)]


class Workers:
    """N_WORKERS threads counting in a loop with short sleeps; park() stops
    them all at the same line (waiting on an Event), so that a
    measurement sees the same frames and references each time."""

    def __init__(self):
        self.counts = [0] * N_WORKERS
        self.gate = threading.Event()
        self.gate.set()
        self.stop = False
        self.threads = [threading.Thread(target=self.run, args=(i,), name="worker-%d" % i)
                        for i in range(N_WORKERS)]

    def run(self, i):
        # SIGUSR1 must reach the main thread, which waits for it in pause().
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        while not self.stop:
            self.gate.wait()
            self.counts[i] += 1
            time.sleep(0.002)

    def start(self):
        for t in self.threads:
            t.start()

    def park(self):
        self.gate.clear()
        # every thread blocked in gate.wait(): one waiter each on its condition
        while len(self.gate._cond._waiters) < N_WORKERS:
            time.sleep(0.001)

    def release(self):
        self.gate.set()

    def progress(self):
        """Whether every thread counts PROGRESS_STEPS further, and how far."""
        start = list(self.counts)
        deadline = time.monotonic() + PROGRESS_TIMEOUT
        while time.monotonic() < deadline:
            moved = [c - s for c, s in zip(self.counts, start)]
            if min(moved) >= PROGRESS_STEPS:
                return True, moved
            time.sleep(0.01)
        return False, [c - s for c, s in zip(self.counts, start)]

    def join(self):
        self.stop = True
        self.release()
        for t in self.threads:
            t.join()


def signals():
    """Every thread's signal masks (blocked, ignored, caught, pending) and
    the Python-level handler of every signal."""
    tasks = {}
    for tid in sorted(os.listdir("/proc/self/task"), key=int):
        with open("/proc/self/task/%s/status" % tid) as f:
            fields = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
        # by position, not tid: the tids are the same before and after
        # (not SigQ: it counts the signals queued to every process of the user)
        tasks[len(tasks)] = {k: fields[k].strip()
                             for k in ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")}
    handlers = {}
    for s in sorted(signal.valid_signals()):
        try:
            h = signal.getsignal(s)
        except (ValueError, OSError):
            continue
        handlers[int(s)] = h if isinstance(h, int) else getattr(h, "__qualname__", repr(h))
    return {"tasks": tasks, "handlers": handlers}


def fds():
    """The fd table: each fd and what it points to.  (Listing it opens one
    fd of its own, the same one each time.)"""
    out = {}
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            out[fd] = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            pass   # the listing's own directory fd, closed by now
    return out


class MallInfo2(ctypes.Structure):
    """glibc's struct mallinfo2 (2.33+)."""
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


try:
    _mallinfo2 = ctypes.CDLL(None).mallinfo2
    _mallinfo2.restype = MallInfo2
    _mallinfo2.argtypes = []
except (AttributeError, OSError):
    _mallinfo2 = None


def malloc_figures():
    """C malloc's bytes in use and its heap's size (dlopen in the target
    would move them); None where glibc has no mallinfo2."""
    if _mallinfo2 is None:
        return None
    m = _mallinfo2()
    return {"in_use": m.uordblks, "heap": m.arena, "mmapped": m.hblkhd}


def measure(population, workers, path):
    """Write everything that remora must not move to PATH.

    Keeps nothing: a kept measurement would itself add objects and blocks
    (and grow the C heap) before the next one is taken.  No collection:
    gc's own figures are part of what is compared.
    """
    workers.park()
    # the maps first: later steps map and unmap big buffers (the list of
    # refcounts), each time at one of two addresses
    with open("/proc/self/maps") as f:
        maps = f.read()
    sig = signals()
    fdt = fds()
    counts = gc.get_count()
    stats = gc.get_stats()
    blocks = sys.getallocatedblocks()
    mall = malloc_figures()
    n_gc = len(gc.get_objects())
    garbage = len(gc.garbage)
    # an array, not a list: each count's int is freed at once, so the
    # measurement does not map a new pymalloc arena for them
    refs = array.array("q", (sys.getrefcount(o) for o in population))
    workers.release()
    write_atomically(path, json.dumps({
        "gc_count": counts, "gc_stats": stats, "gc_objects": n_gc, "gc_garbage": garbage,
        "allocated_blocks": blocks, "refcounts": refs.tolist(), "maps": maps,
        "malloc": mall,
        "signals": sig, "fds": fdt}))


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


got_usr1 = bytearray(1)   # a flag whose setting moves no reference count


def on_usr1(signum, frame):
    got_usr1[0] = 1


def wait_for_usr1():
    # The handler's frame argument materializes this function's frame
    # object; it dies when this function returns, before "after" is taken.
    while not got_usr1[0]:
        signal.pause()


def warm_up_usr1():
    """Run the handler and the wait once before measuring.  Before 3.11 a
    function's first call leaves its frame object behind on its code, for
    the next call: without this, the two first calls after the capture
    add their frames to the blocks and gc.get_count() of "after"."""
    os.kill(os.getpid(), signal.SIGUSR1)
    while not got_usr1[0]:
        time.sleep(0.001)
    wait_for_usr1()
    got_usr1[0] = 0


def main(wdir):
    signal.signal(signal.SIGUSR1, on_usr1)
    objs, table, text, big = build()
    workers = Workers()
    population = census()
    workers.start()
    warm_up_usr1()
    # warmup fills caches; then measurements in a row show the test how
    # much measuring alone moves the figures that free lists fill slowly
    measure(population, workers, os.path.join(wdir, "warmup.json"))
    measure(population, workers, os.path.join(wdir, "m1.json"))
    measure(population, workers, os.path.join(wdir, "m2.json"))
    measure(population, workers, os.path.join(wdir, "m3.json"))
    measure(population, workers, os.path.join(wdir, "before.json"))
    write_atomically(os.path.join(wdir, "ready"), "ready\n")
    wait_for_usr1()
    measure(population, workers, os.path.join(wdir, "after.json"))
    moved, steps = workers.progress()
    write_atomically(os.path.join(wdir, "progress.json"),
                     json.dumps({"moved": moved, "steps": steps}))
    # The program's own work, after the capture: must still be right.
    workers.join()
    checksum = sum(o.i for o in objs) + sum(table.values()) + len(text) + big % 1000003
    write_atomically(os.path.join(wdir, "result.json"), json.dumps({"checksum": checksum}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
