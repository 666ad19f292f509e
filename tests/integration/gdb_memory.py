"""gdb_memory.py — sourced into gdb (after remora.py) by test_memory.py,
on targets/memory_target.py live or on its core.

Captures the heap (py-heap), then asks for hp.memory() as a user would,
as a table and twice as -json (the second after the first has read the
process: what the test compares with the process's own resident size
once gdb has let it go).  Writes $REMORA_TEST_OUT:
  {"ok": bool, "error": ..., "table": text, "first": JSON, "json": JSON,
   "heap_count": objects in the heap, "owned": hp.iso(the owners).owned,
   "dwarf": the interpreter structures as gdb reads them from the debug
   info, or "dwarf_error": why it could not}
"""

import json
import os
import sys

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyheap_json import first_json, report_to_out  # noqa: E402


def states_by_dwarf():
    """The interpreter and thread states and frame stacks, as gdb reads
    them with the debug info (not remora's layout): the sizes of the
    states as allocated, which are inside _PyRuntime (3.11+'s main
    interpreter) or inside their interpreter (its first thread), the
    frame stacks' chunks (3.11+)."""
    v = gdb.parse_and_eval
    size_interp = int(v("sizeof(PyInterpreterState)"))
    try:
        size_ts = int(v("sizeof(_PyThreadStateImpl)"))
    except gdb.error:
        size_ts = int(v("sizeof(PyThreadState)"))
    try:
        main_interp = int(v("(long)&_PyRuntime._main_interpreter"))
    except gdb.error:
        main_interp = None
    n = dict(interps=0, static=0, threads=0, embedded=0, chunks=0, chunk_bytes=0)
    frame_stacks = False
    interp = v("_PyRuntime.interpreters.head")
    while int(interp):
        n["interps"] += 1
        n["static"] += int(interp) == main_interp
        try:
            ts = interp["threads"]["head"]
        except gdb.error:
            ts = interp["tstate_head"]
        try:
            initial = int(interp["_initial_thread"].address)
        except gdb.error:
            initial = None
        while int(ts):
            n["threads"] += 1
            n["embedded"] += int(ts) == initial
            try:
                chunk = ts["datastack_chunk"]
                frame_stacks = True
            except gdb.error:
                chunk = 0
            while int(chunk):
                n["chunks"] += 1
                n["chunk_bytes"] += int(chunk["size"])
                chunk = chunk["previous"]
            ts = ts["next"]
        interp = interp["next"]
    return {
        "interpreters": n["interps"], "static_interpreters": n["static"],
        "interpreter_states": (n["interps"] - n["static"]) * size_interp,
        "static_interpreter_bytes": n["static"] * size_interp,
        "threads": n["threads"], "embedded_threads": n["embedded"],
        "thread_states": (n["threads"] - n["embedded"]) * size_ts,
        "frame_stack_chunks": n["chunks"] if frame_stacks else None,
        "frame_stacks": n["chunk_bytes"] if frame_stacks else None,
    }


def main(out):
    gdb.execute("py-heap", to_string=True)
    out["heap_count"] = first_json(gdb.execute("py-heap -json -- h", to_string=True))["count"]
    out["table"] = gdb.execute("py-heap hp.memory()", to_string=True)
    out["first"] = first_json(gdb.execute("py-heap -json -- hp.memory()", to_string=True))
    out["json"] = first_json(gdb.execute("py-heap -json -- hp.memory()", to_string=True))
    with open(os.environ["REMORA_TEST_FACTS"]) as f:
        owners = ",".join(str(a) for a in json.load(f)["owners"])
    out["owned"] = first_json(gdb.execute("py-heap -json -- hp.iso(%s).owned" % owners,
                                          to_string=True))
    try:
        out["dwarf"] = states_by_dwarf()
    except gdb.error as exc:
        out["dwarf_error"] = str(exc)
    out["ok"] = True


report_to_out(main)
