"""gdb_core_damage.py — sourced into gdb (after remora.py) by
test_core_damage.py, on a (maybe damaged) core file: captures it with
capture.capture_core() and writes $REMORA_DAMAGE_OUT as JSON:
  {"ok": true, "flags": ..., "nodes": ..., "bad_objects": ...,
   "read_faults": ..., "edges": ...}   and the snapshot at
  $REMORA_DAMAGE_OUT.remora; or {"ok": false, "error": "Type: message"}.
The error's type says whether it was remora's own (RemoraError) or a
leak of something else.
"""

import json
import os
import shutil

from remora import capture

out_path = os.environ["REMORA_DAMAGE_OUT"]
out = {"ok": False}
try:
    path = capture.capture_core()
    shutil.copy(path, out_path + ".remora")
    capture.discard(path)
    r = capture.last_result
    out.update(ok=True, flags=r["flags"], nodes=r["nodes"], edges=r["edges"],
               bad_objects=r["bad_objects"], read_faults=r["read_faults"])
except Exception as exc:  # noqa: BLE001 — reported by the test
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
with open(out_path, "w") as f:
    json.dump(out, f)
