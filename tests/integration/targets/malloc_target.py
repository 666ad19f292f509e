"""malloc_target.py WORKDIR — a program with a thread that is always in malloc.

A worker thread allocates 64 KiB bytearrays in a loop (pymalloc hands
requests above 512 bytes to the C malloc), so `break malloc` + `continue`
in gdb stops the process with that thread inside malloc: the state in which
remora must refuse to inject its agent, and read the process from outside
instead.  It also keeps N_KEPT objects of a class of its own and writes
their count and total getsizeof to WORKDIR/facts.json.  The main thread waits for SIGUSR1,
then stops the worker, writes WORKDIR/result.json and exits 0.
"""

import json
import os
import signal
import sys
import threading

CHUNK = 1 << 16
count = 0
stop = threading.Event()


def allocate():
    global count
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    while not stop.is_set():
        buf = bytearray(CHUNK)
        buf[-1] = 1
        count += 1


got_usr1 = False


def on_usr1(signum, frame):
    global got_usr1
    got_usr1 = True


class Kept:
    """Objects whose count and size the test checks in the capture made
    from outside (py-heap's fallback when a thread is inside malloc)."""
    __slots__ = ("i", "tag")

    def __init__(self, i):
        self.i = i
        self.tag = "kept-%d" % i


N_KEPT = 1234


def main(wdir):
    kept = [Kept(i) for i in range(N_KEPT)]
    with open(os.path.join(wdir, "facts.json"), "w") as f:
        json.dump({"kept_count": len(kept),
                   "kept_size": sum(sys.getsizeof(k) for k in kept)}, f)
    signal.signal(signal.SIGUSR1, on_usr1)
    worker = threading.Thread(target=allocate, name="allocator")
    worker.start()
    with open(os.path.join(wdir, "ready.tmp"), "w") as f:
        f.write("ready\n")
    os.rename(os.path.join(wdir, "ready.tmp"), os.path.join(wdir, "ready"))
    while not got_usr1:
        signal.pause()
    stop.set()
    worker.join()
    with open(os.path.join(wdir, "result.json"), "w") as f:
        json.dump({"allocations": count, "kept": len(kept)}, f)
    print("malloc_target: done, %d allocations" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
