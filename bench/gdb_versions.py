"""gdb_versions.py — sourced into gdb attached to bench/target.py by
bench/run.py's per-version pass: py-heap's work (capture + default
partition + its table) once cold and three times warm, timed with
time.perf_counter inside gdb, to $REMORA_BENCH_OUT as JSON
{"ok", "cold", "warm": [seconds...], "capture": [seconds...], "error"}.
"""

import json
import os
import time

out = {"ok": False}
try:
    import remora
    from remora import capture
    hp = remora.hpy()
    t0 = time.perf_counter()
    str(hp.heap())
    out["cold"] = time.perf_counter() - t0
    out["warm"], out["capture"] = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        str(hp.heap())
        out["warm"].append(time.perf_counter() - t0)
        out["capture"].append(capture.last_result["total_seconds"])
    out["ok"] = True
except Exception as exc:  # noqa: BLE001 — reported by bench/run.py
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
with open(os.environ["REMORA_BENCH_OUT"], "w") as f:
    json.dump(out, f)
