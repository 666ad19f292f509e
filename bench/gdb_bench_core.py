"""bench/gdb_bench_core.py — sourced into gdb on the bench target's core
(after remora.py) by bench/run.py: times capturing the core (first, then
best of 2 more) and writes {"first": s, "best": s, "nodes": n} to
$REMORA_BENCH_OUT.
"""

import json
import os
import time

from remora import capture

out = {"ok": False}
try:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        path = capture.capture_core()
        times.append(time.perf_counter() - t0)
        capture.discard(path)
    out.update(ok=True, first=times[0], best=min(times[1:]),
               nodes=capture.last_result["nodes"])
except Exception as exc:  # noqa: BLE001 — reported by run.py
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
with open(os.environ["REMORA_BENCH_OUT"], "w") as f:
    json.dump(out, f)
