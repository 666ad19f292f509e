"""bench/target.py WORKDIR [N] — the benchmark's target: ~1.2M objects.

Builds N (default 200,000) instances of Record, each with two unique str
attributes and a one-entry dict {unique str: unique str}: six objects per
record.  Writes WORKDIR/ready and waits.  On SIGUSR1 it runs the in-process
baseline a user would otherwise write (gc.get_objects() + gc.get_referents
closure + sys.getsizeof, counted by type), writes WORKDIR/baseline.json and
exits 0.
"""

import gc
import json
import os
import signal
import sys
import time


class Record:
    def __init__(self, i):
        self.name = "name-%09d" % i
        self.note = "note-%09d" % i
        self.tags = {"tag-%09d" % i: "value-%09d" % i}


def baseline():
    """The heap partition by type, the way one would write it with gc."""
    t0 = time.perf_counter()
    getsizeof, get_referents = sys.getsizeof, gc.get_referents
    objs = gc.get_objects()
    seen = set(map(id, objs))
    counts = {}
    todo = list(objs)
    for o in objs:
        t = type(o)
        c = counts.get(t)
        counts[t] = (c[0] + 1, c[1] + getsizeof(o)) if c else (1, getsizeof(o))
    while todo:
        for r in get_referents(todo.pop()):
            i = id(r)
            if i not in seen:
                seen.add(i)
                todo.append(r)
                t = type(r)
                c = counts.get(t)
                counts[t] = (c[0] + 1, c[1] + getsizeof(r)) if c else (1, getsizeof(r))
    rows = sorted(((v[1], v[0], t.__qualname__) for t, v in counts.items()), reverse=True)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "objects": sum(r[1] for r in rows),
            "size": sum(r[0] for r in rows),
            "top": [{"type": n, "count": c, "size": s} for s, c, n in rows[:10]]}


got_usr1 = False


def on_usr1(signum, frame):
    global got_usr1
    got_usr1 = True


def main(wdir, n):
    signal.signal(signal.SIGUSR1, on_usr1)
    records = [Record(i) for i in range(n)]
    gc.collect()
    with open(os.path.join(wdir, "ready.tmp"), "w") as f:
        json.dump({"pid": os.getpid(), "records": len(records),
                   "gc_objects": len(gc.get_objects())}, f)
    os.rename(os.path.join(wdir, "ready.tmp"), os.path.join(wdir, "ready"))
    while not got_usr1:
        signal.pause()
    result = baseline()
    with open(os.path.join(wdir, "baseline.json.tmp"), "w") as f:
        json.dump(result, f, indent=1)
    os.rename(os.path.join(wdir, "baseline.json.tmp"), os.path.join(wdir, "baseline.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200_000))
