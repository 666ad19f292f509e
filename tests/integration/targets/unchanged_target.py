"""unchanged_target.py WORKDIR — a program that can tell whether it was changed.

It builds sample objects (N_PLAIN instances whose __dict__ is never
materialized, so heapy-style materialization would add N_PLAIN blocks),
measures itself — refcounts of sample objects, len(gc.get_objects()) after
gc.collect(), sys.getallocatedblocks(), /proc/self/maps — writes
WORKDIR/before.json, creates WORKDIR/ready and waits for SIGUSR1.
On SIGUSR1 it measures again (same code, same call depth) into
WORKDIR/after.json, then finishes its own work: WORKDIR/result.json holds
a checksum the test can recompute, and the exit code is 0.

The "before" measurement is taken twice and both are written: if they
differ, the measurement itself is not stable and the test says so instead
of blaming remora.
"""

import gc
import json
import os
import signal
import sys
import threading

N_PLAIN = 5000


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


def measure(samples, path):
    """Write everything that remora must not move to PATH.

    Keeps nothing: a kept measurement would itself add objects and blocks
    (and grow the C heap) before the next one is taken.
    """
    gc.collect()
    n_gc = len(gc.get_objects())
    blocks = sys.getallocatedblocks()
    refs = [sys.getrefcount(o) for o in samples]
    with open("/proc/self/maps") as f:
        maps = f.read()
    write_atomically(path, json.dumps({"gc_objects": n_gc, "allocated_blocks": blocks,
                                       "refcounts": refs, "maps": maps}))


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


got_usr1 = False


def on_usr1(signum, frame):
    global got_usr1
    got_usr1 = True


def wait_for_usr1():
    # The handler's frame argument materializes this function's frame
    # object; it dies when this function returns, before "after" is taken.
    while not got_usr1:
        signal.pause()


def idle_worker(stop):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    stop.wait()


def main(wdir):
    signal.signal(signal.SIGUSR1, on_usr1)
    objs, table, text, big = build()
    stop = threading.Event()
    worker = threading.Thread(target=idle_worker, args=(stop,), name="idle")
    worker.start()
    samples = [objs[0], objs[N_PLAIN // 2], Sample, table, text, big, objs]
    measure(samples, os.path.join(wdir, "warmup.json"))  # fills caches, free lists
    measure(samples, os.path.join(wdir, "first.json"))
    measure(samples, os.path.join(wdir, "before.json"))
    write_atomically(os.path.join(wdir, "ready"), "ready\n")
    wait_for_usr1()
    measure(samples, os.path.join(wdir, "after.json"))
    # The program's own work, after the capture: must still be right.
    stop.set()
    worker.join()
    checksum = sum(o.i for o in objs) + sum(table.values()) + len(text) + big % 1000003
    write_atomically(os.path.join(wdir, "result.json"), json.dumps({"checksum": checksum}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
