"""busy_target.py WORKDIR MODE [checkpoints] [records=N] — a program that
keeps busy while gdb captures it, and can tell whether every thread kept
going.

MODE sets what its N_WORKERS threads do:
  alloc   allocate 64 KiB bytearrays in a loop (pymalloc hands them to the C
          malloc, so `break malloc` catches one inside malloc);
  sleep   time.sleep(0.005); dict(a=k) in a loop (`break time_sleep` stops
          one of them in the middle of a capture, if anything runs them);
  nap     the same with 2 ms sleeps (at a checkpoint no thread holds the
          GIL, and any thread that ran would take it and allocate);
  drop    the same, but each iteration drops a one-item list (a GC-tracked
          object that dies in every thread, again and again: gdb breaks
          in list_dealloc through PyList_Type's tp_dealloc);
  subinterp  (3.12 and later) the first worker runs a subinterpreter with a
          GIL of its own that replaces dicts and lists among
          100,000 it holds without pause; it counts in a file both interpreters map.
Each worker counts its iterations.  The program keeps N_KEPT objects of a
class of its own and writes their count and total sys.getsizeof to
WORKDIR/facts.json; with records=N it also holds N records of six
objects each (a heap big enough for a capture to take a while).  It counts
the SIGUSR2 and SIGINT signals it receives.  Then it creates
WORKDIR/ready.

With `checkpoints`, until SIGUSR1 comes, it waits 50 ms, calls libc's
sched_get_priority_min(1000 + the checkpoint's number) (gdb breaks there
and reads the number; gdb may miss a call when a signal arrives with the
trap, so the checkpoints go on until told), and checks that every worker
counted further since the last checkpoint (within PROGRESS_WAIT) and that its kept objects are
intact.  Without, it waits for SIGUSR1.  Either way it then checks once
more that every worker goes on, stops the workers and writes
WORKDIR/result.json:
  {"progress_ok": bool, "stalled": [...], "kept_ok": bool,
   "iterations": [...], "signals": n, "sigints": n, "checkpoints": n}
and exits 0.
"""

import json
import mmap
import os
import signal
import struct
import sys
import threading
import time

N_WORKERS = 3
N_KEPT = 1234
CHUNK = 1 << 16


class Kept:
    """Objects whose count and size every capture must give exactly."""
    __slots__ = ("i", "tag")

    def __init__(self, i):
        self.i = i
        self.tag = "kept-%d" % i


# what the subinterpreter runs: count in the shared page's first word
# until the second is set
SUBINTERP_CODE = """
import gc, mmap, struct
gc.disable()    # its objects hold no cycles; a collection would pause it
with open(%r, "r+b") as f:
    page = mmap.mmap(f.fileno(), 16)
keep = [None] * 100000
n = 0
while not struct.unpack_from("q", page, 8)[0]:
    keep[n %% len(keep)] = {"n": n, "l": [n] * 8}
    n += 1
    struct.pack_into("q", page, 0, n)
page.close()
"""


def subinterpreters():
    try:
        import _interpreters            # 3.13
        return _interpreters
    except ImportError:
        import _xxsubinterpreters       # 3.12
        return _xxsubinterpreters


class Workers:
    def __init__(self, mode, wdir):
        self.mode = mode
        self.counts = [0] * N_WORKERS
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), name="worker-%d" % i)
                        for i in range(N_WORKERS)]
        self.page = None
        if mode == "subinterp":
            interpreters = subinterpreters()
            path = os.path.join(wdir, "subinterp.count")
            with open(path, "wb") as f:
                f.write(bytes(16))
            with open(path, "r+b") as f:
                self.page = mmap.mmap(f.fileno(), 16)
            # isolated: the interpreter has a GIL of its own (PEP 684);
            # 3.13 names the module _interpreters, isolated by default
            try:
                self.interp = interpreters.create(isolated=True)
            except TypeError:
                self.interp = interpreters.create("isolated")
            self.threads[0] = threading.Thread(
                target=interpreters.run_string, name="subinterp",
                args=(self.interp, SUBINTERP_CODE % path))

    def run(self, i):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        k = 0
        pause = 0.002 if self.mode == "nap" else 0.005
        while not self.stop.is_set():
            if self.mode == "alloc":
                buf = bytearray(CHUNK)
                buf[-1] = 1
            elif self.mode == "drop":
                time.sleep(pause)
                box = [k]
                k = box[0] + 1
            else:
                time.sleep(pause)
                d = dict(a=k)
                k = d["a"] + 1
            self.counts[i] += 1

    def snapshot(self):
        if self.page is not None:
            # struct.pack_into zeroes its bytes before it writes them: a
            # read can catch the zeros, so the highest of a few reads
            self.counts[0] = max(struct.unpack_from("q", self.page, 0)[0] for _ in range(4))
        return list(self.counts)

    def stalled(self, before):
        return [i for i, (a, b) in enumerate(zip(before, self.snapshot())) if b <= a]

    def finish(self):
        self.stop.set()
        if self.page is not None:
            struct.pack_into("q", self.page, 8, 1)
        for t in self.threads:
            t.join()
        self.snapshot()
        if self.page is not None:
            subinterpreters().destroy(self.interp)


signals = 0
sigints = 0
got_usr1 = False


def on_usr2(signum, frame):
    global signals
    signals += 1


def on_int(signum, frame):
    global sigints
    sigints += 1


def on_usr1(signum, frame):
    global got_usr1
    got_usr1 = True


CHECKPOINT_BASE = 1000
# How long a thread may take to show progress after a checkpoint: a
# machine running two integration tests on its two cores (CI's make -j2)
# once left an own-GIL subinterpreter's thread unscheduled for over a
# second after a capture, and it counted on at the next checkpoint; a
# thread the capture broke never counts again.
PROGRESS_WAIT = 3.0


def checkpoint(n):
    """Calls libc's sched_get_priority_min(CHECKPOINT_BASE + n), where gdb
    breaks: the argument (an invalid policy: EINVAL) tells gdb which
    checkpoint it stopped at."""
    try:
        os.sched_get_priority_min(CHECKPOINT_BASE + n)
    except OSError:
        pass


def intact(kept):
    return all(k.i == i and k.tag == "kept-%d" % i for i, k in enumerate(kept))


class Record:
    def __init__(self, i):
        self.name = "name-%09d" % i
        self.note = "note-%09d" % i
        self.tags = {"tag-%09d" % i: "value-%09d" % i}


# stdlib extension modules with no side effects, one of which this
# program has not imported and its interpreter builds as a shared library
LIBRARY_MODULES = ("_lsprof", "_zoneinfo", "_queue", "_statistics", "cmath", "_json",
                   "_contextvars", "_md5", "_bisect", "_heapq")


def load_a_library():
    """After the captures, dlopen a library the process has not loaded
    (the dynamic linker then calls _dl_debug_state, where gdb keeps a
    breakpoint of its own while it runs the process): its module name, or
    None if every candidate is built in or imported already."""
    import importlib
    import importlib.util
    for name in LIBRARY_MODULES:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is not None and (spec.origin or "").endswith(".so"):
            importlib.import_module(name)
            return name
    return None


def main(wdir, mode, checkpoints, records):
    kept = [Kept(i) for i in range(N_KEPT)]
    bulk = [Record(i) for i in range(records)]
    with open(os.path.join(wdir, "facts.json"), "w") as f:
        json.dump({"kept_count": len(kept),
                   "kept_size": sum(sys.getsizeof(k) for k in kept)}, f)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.signal(signal.SIGINT, on_int)
    workers = Workers(mode, wdir)
    for t in workers.threads:
        t.start()
    with open(os.path.join(wdir, "ready.tmp"), "w") as f:
        f.write("ready\n")
    os.rename(os.path.join(wdir, "ready.tmp"), os.path.join(wdir, "ready"))
    stalled, kept_ok, done = [], True, 0
    if checkpoints:
        last = workers.snapshot()
        while not got_usr1:
            time.sleep(0.05)
            checkpoint(done)            # gdb stops here and captures
            # then every thread must go on, within PROGRESS_WAIT
            deadline = time.monotonic() + PROGRESS_WAIT
            time.sleep(0.05)
            while workers.stalled(last) and time.monotonic() < deadline:
                time.sleep(0.01)
            stalled += [(done, i) for i in workers.stalled(last)]
            kept_ok = kept_ok and intact(kept)
            last = workers.snapshot()
            done += 1
    while not got_usr1:
        signal.pause()
    last = workers.snapshot()
    time.sleep(0.2)
    deadline = time.monotonic() + PROGRESS_WAIT
    while workers.stalled(last) and time.monotonic() < deadline:
        time.sleep(0.01)
    stalled += workers.stalled(last)
    kept_ok = kept_ok and intact(kept)
    workers.finish()
    dlopened = load_a_library()
    # the storm may still be blowing: finalization puts SIGUSR2 back to its
    # default action (terminate), so from here on it stays pending
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
    with open(os.path.join(wdir, "result.json"), "w") as f:
        json.dump({"progress_ok": not stalled, "stalled": stalled, "kept_ok": kept_ok,
                   "iterations": workers.counts, "signals": signals, "sigints": sigints,
                   "bulk": len(bulk), "dlopened": dlopened,
                   "checkpoints": done}, f)
    return 0


if __name__ == "__main__":
    opts = sys.argv[3:]
    records = [int(o.split("=", 1)[1]) for o in opts if o.startswith("records=")]
    sys.exit(main(sys.argv[1], sys.argv[2], "checkpoints" in opts, records[0] if records else 0))
