"""gdb_storm.py — sourced into gdb (after remora.py) by test_hostile.py,
attached to targets/busy_target.py with checkpoints, while the test sends
the target a storm of SIGUSR2.

At each of $REMORA_TEST_CAPTURES stops at libc's sched_get_priority_min
(the target's checkpoints: its argument is 1000 + the checkpoint's
number), captures the heap with `py-heap -json -- h.bytype` and
records the row of the target's Kept objects and whether the snapshot was
partial; then deletes its breakpoint (gdb detaches after).  Writes
$REMORA_TEST_OUT:
  {"captures": [{"kept": [count, size] | null, "partial": bool, "why": str,
                 "error": str | null, "checkpoint": n,
                 "threads": gdb's `info threads` (partial captures only)}]}
"""

import json
import os
import sys

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyheap_json import find_row, parse_partition  # noqa: E402

out = {"captures": []}
try:
    gdb.execute("handle SIGUSR2 nostop noprint pass", to_string=True)
    # the target's main thread (gdb's thread 1) makes the checkpoints
    gdb.execute("break sched_get_priority_min thread 1", to_string=True)
    from remora import capture, engine
    for _ in range(int(os.environ["REMORA_TEST_CAPTURES"])):
        gdb.execute("continue", to_string=True)
        rec = {"kept": None, "partial": None, "error": None,
               "checkpoint": int(gdb.parse_and_eval("$rdi")) - 1000}
        try:
            part = parse_partition(gdb.execute("py-heap -json -- h.bytype", to_string=True))
            row = find_row(part, "Kept")
            rec["kept"] = row and [row["count"], row["size"]]
            r = capture.last_result
            rec["partial"] = bool(r["flags"] & 1)
            if rec["partial"]:
                rec["why"] = "%s; %d addresses were not objects, %d reads failed (%s)" % (
                    engine.partial_text(r.get("partial_why", 0)), r["bad_objects"],
                    r["read_faults"], r.get("mode"))
                # where each thread was: what a partial capture met
                rec["threads"] = gdb.execute("info threads", to_string=True)
        except Exception as exc:  # noqa: BLE001 — reported by the test
            rec["error"] = "%s: %s" % (type(exc).__name__, exc)
        out["captures"].append(rec)
    gdb.execute("delete", to_string=True)
except Exception as exc:  # noqa: BLE001 — reported by the test
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
with open(os.environ["REMORA_TEST_OUT"], "w") as f:
    json.dump(out, f)
