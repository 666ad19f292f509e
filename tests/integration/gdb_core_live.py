"""gdb_core_live.py — sourced into gdb (after remora.py) by test_core.py,
attached to the live target: captures it injected and from outside, then
dumps a core of the same stopped state with gcore.  Files go to
$REMORA_CORE_DIR: injected.remora, outside.remora, target.core, live.json
({"ok": ..., "error": ...}).  The injected capture tells the test which
objects only C state holds (what no reader from outside can see).
"""

import json
import os
import shutil

import gdb

from remora import capture

d = os.environ["REMORA_CORE_DIR"]
out = {"ok": False}
try:
    path = capture.capture()
    shutil.copy(path, os.path.join(d, "injected.remora"))
    capture.discard(path)
    path = capture.capture_outside()
    shutil.copy(path, os.path.join(d, "outside.remora"))
    capture.discard(path)
    gdb.execute("gcore %s" % os.path.join(d, "target.core"), to_string=True)
    out["ok"] = True
except Exception as exc:  # noqa: BLE001 — reported by the test
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
with open(os.path.join(d, "live.json"), "w") as f:
    json.dump(out, f)
