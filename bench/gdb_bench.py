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
try:
    t0 = time.perf_counter()
    out["text"] = gdb.execute("py-heap", to_string=True)
    out["seconds"] = time.perf_counter() - t0
    out["ok"] = True
except Exception as exc:  # noqa: BLE001 — reported by run.py
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
capture = sys.modules.get("remora.capture")
out["last_result"] = getattr(capture, "last_result", None)
out["gdb_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
path = os.environ["REMORA_BENCH_OUT"]
with open(path + ".tmp", "w") as f:
    json.dump(out, f, indent=1, default=str)
os.rename(path + ".tmp", path)
