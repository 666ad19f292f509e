"""gdb_core_dead.py — sourced into gdb (after remora.py) by test_core.py,
on a core file: captures it into $REMORA_CORE_DIR/core.remora and writes
$REMORA_CORE_DIR/dead.json ({"ok": ..., "error": ...}).
"""

import json
import os
import shutil

from remora import capture

d = os.environ["REMORA_CORE_DIR"]
out = {"ok": False}
try:
    path = capture.capture_core()
    shutil.copy(path, os.path.join(d, "core.remora"))
    capture.discard(path)
    out["ok"] = True
    out["flags"] = capture.last_result["flags"]
except Exception as exc:  # noqa: BLE001 — reported by the test
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
with open(os.path.join(d, "dead.json"), "w") as f:
    json.dump(out, f)
