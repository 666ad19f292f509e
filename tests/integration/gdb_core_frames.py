"""gdb_core_frames.py — sourced into gdb by test_core_damage.py on the
undamaged core: writes $REMORA_FRAMES_OUT as JSON {"threads": [[frame
address, ...], ...], "previous": offset, "size": bytes}: for each thread state of the
main interpreter, its interpreter frames innermost first (at most 16,
through `previous`), and the offset of `previous` in _PyInterpreterFrame
and its size — what the test needs to link a thread's frames into a
cycle, or to zero one.  Read
through gdb and CPython's debug info, not through remora.
"""

import json
import os

import gdb

out = {"threads": [], "previous": None}
try:
    out["previous"] = int(gdb.parse_and_eval(
        "(unsigned long)&((_PyInterpreterFrame *)0)->previous"))
    out["size"] = int(gdb.parse_and_eval("sizeof(_PyInterpreterFrame)"))
    ts = gdb.parse_and_eval("_PyRuntime.interpreters.head->threads.head")
    while int(ts):
        frames = []
        try:
            f = ts["cframe"]["current_frame"]      # 3.11, 3.12
        except gdb.error:
            f = ts["current_frame"]                # 3.13
        while int(f) and len(frames) < 16:
            frames.append(int(f))
            f = f["previous"]
        out["threads"].append(frames)
        ts = ts["next"]
except gdb.error as exc:
    out["error"] = str(exc)
with open(os.environ["REMORA_FRAMES_OUT"], "w") as fh:
    json.dump(out, fh)
