"""gdb_core_frames.py — sourced into gdb by test_core_damage.py on the
undamaged core: writes $REMORA_FRAMES_OUT as JSON {"threads": [[frame
address, ...], ...], "previous": offset, "code": offset, "size": bytes,
"objects": bool}: for each thread state of the main interpreter, its
frames innermost first (at most 16) — interpreter frames through
`previous` (3.11+), or frame objects through f_back (3.8-3.10:
"objects" true) — the offsets of the link to the older frame and of the
code object, and the frame struct's size: what the test needs to link a
thread's frames into a cycle, to zero one or to take its code away; for
a free-threaded build, "pages": two pages of a GC heap's page queue (the
first and its next, which has a next too) and "page_next", the offset of
a page's link.
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

# A free-threaded build: a page queue of a thread's GC heaps with three
# pages or more (its first two pages' addresses), and the offset of a
# page's `next`: what the test needs to link two pages into a cycle.
try:
    gdb.lookup_type("_PyThreadStateImpl").fields()
    heaps = [f for f in gdb.lookup_type("_PyThreadStateImpl").fields() if f.name == "mimalloc"]
    if heaps:
        out["page_next"] = int(gdb.parse_and_eval("(unsigned long)&((mi_page_t *)0)->next"))
        ts = gdb.parse_and_eval("_PyRuntime.interpreters.head->threads.head")
        while int(ts) and "pages" not in out:
            impl = ts.cast(gdb.lookup_type("_PyThreadStateImpl").pointer())
            for h in (2, 3):                       # the GC heaps
                heap = impl["mimalloc"]["heaps"][h]
                for q in range(heap["pages"].type.range()[1] + 1):
                    p1 = heap["pages"][q]["first"]
                    if int(p1) and int(p1["next"]) and int(p1["next"]["next"]):
                        out["pages"] = [int(p1), int(p1["next"])]
                        break
                if "pages" in out:
                    break
            ts = ts["next"]
except gdb.error:
    pass
with open(os.environ["REMORA_FRAMES_OUT"], "w") as fh:
    json.dump(out, fh)
