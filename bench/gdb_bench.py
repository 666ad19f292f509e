"""bench/gdb_bench.py — sourced into gdb (after remora.py) by bench/run.py.

Times `py-heap` (capture + default partition + its table), the way a user
runs it, with time.perf_counter inside gdb; writes the time, the table,
remora.capture.last_result (the agent's own figures) and gdb's peak RSS
to $REMORA_BENCH_OUT as JSON.
"""

import json
import os
import resource
import sys
import time

import gdb

out = {"ok": False}
# gdb's peak before: what the first py-heap adds is new memory it touches
out["gdb_maxrss_before_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    t0 = time.perf_counter()
    out["text"] = gdb.execute("py-heap", to_string=True)
    out["seconds"] = time.perf_counter() - t0
    out["ok"] = True
except Exception as exc:  # noqa: BLE001 — reported by run.py
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
capture = sys.modules.get("remora.capture")
out["last_result"] = getattr(capture, "last_result", None)
# gdb's peak after the first py-heap (attach, debug info, capture, load,
# partition), and after the warm ones
out["gdb_maxrss_first_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

# Warm runs: what every py-heap after the first costs (gdb has read the
# debug info it needs; the layout is cached).  Each is a fresh capture,
# load and default partition with its table.
if out["ok"]:
    import remora
    hp = remora.hpy()
    warm = []
    for _ in range(3):
        t0 = time.perf_counter()
        h = hp.heap()
        t1 = time.perf_counter()
        text = str(h)
        t2 = time.perf_counter()
        lr = capture.last_result
        warm.append({"seconds": t2 - t0, "capture": lr["total_seconds"],
                     "walk": lr["walk_seconds"], "stops": lr.get("stops"),
                     "load": t1 - t0 - lr["total_seconds"],
                     "partition": t2 - t1})
        del h
    out["warm"] = warm
    out["gdb_maxrss_warm_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # The reference-graph queries of issue 4 on a fresh heap, each timed
    # alone, first (cold) use included: the referrer index is built by the
    # first query that needs it (byrcs), the dominator tree by its own.
    h = hp.heap()
    graph = {}

    def timed(name, fn):
        t0 = time.perf_counter()
        value = fn()
        graph[name] = time.perf_counter() - t0
        return value

    timed("default", lambda: str(h))
    timed("byrcs", lambda: str(h.byrcs))
    timed("byvia", lambda: str(h.byvia))
    timed("domisize", lambda: h[0].domisize)
    timed("dominator_tree", lambda: h._handle.snapshot.dominators())
    timed("byretained", lambda: str(h.byretained))
    one = h.byid[0]
    timed("sp", lambda: str(one.sp))
    out["graph"] = graph
    del h, one

    # What the size models cost (issue 9: at most 10% of the walk): the
    # agent's walk with them and without (every object sized as a plain
    # one of its kind), alternately, best of 3 each.
    walks = {"with": [], "without": []}
    for _ in range(3):
        for key, options in (("with", 0), ("without", capture.NO_SIZE_MODELS)):
            capture.discard(capture.capture(options=options))
            walks[key].append(capture.last_result["walk_seconds"])
    out["size_models"] = {k: min(v) for k, v in walks.items()}

    # The same stopped state read from outside (/proc/PID/mem), best of 3,
    # then a core of it for bench/run.py to capture in a second gdb.
    outside = []
    for _ in range(3):
        t0 = time.perf_counter()
        path = capture.capture_outside()
        outside.append(time.perf_counter() - t0)
        capture.discard(path)
    out["outside"] = min(outside)
    core = os.environ.get("REMORA_BENCH_CORE")
    if core:
        gdb.execute("gcore %s" % core, to_string=True)
out["gdb_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
path = os.environ["REMORA_BENCH_OUT"]
with open(path + ".tmp", "w") as f:
    json.dump(out, f, indent=1, default=str)
os.rename(path + ".tmp", path)
