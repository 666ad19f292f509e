"""gdb_core_frames.py — sourced into gdb by test_core_damage.py on the
undamaged core: writes $REMORA_FRAMES_OUT as JSON {"threads": [[frame
address, ...], ...], "previous": offset, "code": offset, "size": bytes,
"objects": bool}: for each thread state of the main interpreter, its
frames innermost first (at most 16) — interpreter frames through
`previous` (3.11+), or frame objects through f_back (3.8-3.10:
"objects" true) — the offsets of the link to the older frame and of the
code object, and the frame struct's size: what the test needs to link a
thread's frames into a cycle, to zero one or to take its code away.
Read through gdb and CPython's debug info, not through remora.
"""

import json
import os

import gdb

out = {"threads": [], "previous": None}
try:
    try:
        gdb.lookup_type("_PyInterpreterFrame")
        objects, struct, link, code = False, "_PyInterpreterFrame", "previous", "f_code"
    except gdb.error:
        objects, struct, link, code = True, "PyFrameObject", "f_back", "f_code"
    out["objects"] = objects
    out["previous"] = int(gdb.parse_and_eval("(unsigned long)&((%s *)0)->%s" % (struct, link)))
    try:
        out["code"] = int(gdb.parse_and_eval("(unsigned long)&((%s *)0)->%s" % (struct, code)))
    except gdb.error:
        out["code"] = None                         # 3.13+: f_executable
    out["size"] = int(gdb.parse_and_eval("sizeof(%s)" % struct))
    ts = gdb.parse_and_eval("_PyRuntime.interpreters.head->tstate_head" if objects else
                            "_PyRuntime.interpreters.head->threads.head")
    while int(ts):
        frames = []
        if objects:
            f = ts["frame"]                        # 3.8-3.10
        else:
            try:
                f = ts["cframe"]["current_frame"]  # 3.11, 3.12
            except gdb.error:
                f = ts["current_frame"]            # 3.13
        while int(f) and len(frames) < 16:
            frames.append(int(f))
            f = f[link]
        out["threads"].append(frames)
        ts = ts["next"]
except gdb.error as exc:
    out["error"] = str(exc)
with open(os.environ["REMORA_FRAMES_OUT"], "w") as fh:
    json.dump(out, fh)
