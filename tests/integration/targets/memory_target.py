"""memory_target.py WORKDIR — a program that knows how its memory is used,
as its own sys._debugmallocstats() says.

Makes 100,000 small dicts (pymalloc's blocks), a 3 MiB + 28 KiB
anonymous mmap.mmap it writes to (resident, not heap) and two threads
waiting on an Event (stacks of their own, allocating nothing).  Writes
WORKDIR/facts.json {"mmap_bytes": len of the map, "threads": the thread
count}, then WORKDIR/ready; then, with its stderr sent to
WORKDIR/mallocstats.txt, calls sys._debugmallocstats() as its last
step before signal.pause(): nothing is allocated between the two, so
the stats are those of the process a debugger finds paused.  On
SIGUSR1 it exits 0 if its data is as it was built.
"""

import json
import mmap
import os
import signal
import sys
import threading

DICTS = [dict(a=i) for i in range(100000)]
MAP = mmap.mmap(-1, 3 * 1024 * 1024 + 7 * 4096)
MAP[:] = b"m" * len(MAP)
EVENT = threading.Event()
THREADS = [threading.Thread(target=EVENT.wait) for _ in range(2)]


def main():
    wdir = sys.argv[1]
    for t in THREADS:
        t.start()
    facts = {"mmap_bytes": len(MAP), "threads": threading.active_count()}
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
