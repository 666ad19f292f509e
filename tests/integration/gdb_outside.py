"""gdb_outside.py — sourced into gdb by test_outside.py (after remora.py).

Captures the stopped target three ways without letting it run between
them, and copies the snapshots to $REMORA_OUTSIDE_DIR:
  injected.remora   the agent, calling tp_traverse (py-heap's default)
  asoutside.remora  the agent, walking as a reader from outside would
  outside.remora    gdb's process reading /proc/PID/mem (-no-inject)
Writes $REMORA_OUTSIDE_DIR/result.json: {"ok": ..., "error": ...}.
"""

import json
import os
import shutil

from remora import capture

d = os.environ["REMORA_OUTSIDE_DIR"]
out = {"ok": False}
try:
    for name, take in (("injected", lambda: capture.capture()),
                       ("asoutside", lambda: capture.capture(options=capture.AS_OUTSIDE)),
                       ("outside", lambda: capture.capture_outside())):
        path = take()
        shutil.copy(path, os.path.join(d, name + ".remora"))
        capture.discard(path)
        out[name] = capture.last_result.get("nodes")
    out["ok"] = True
except Exception as exc:  # noqa: BLE001 — reported by the test
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
with open(os.path.join(d, "result.json"), "w") as f:
    json.dump(out, f)
