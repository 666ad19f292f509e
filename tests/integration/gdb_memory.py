"""gdb_memory.py — sourced into gdb (after remora.py) by test_memory.py,
on targets/memory_target.py live or on its core.

Captures the heap (py-heap), then asks for hp.memory() as a user would,
as a table and twice as -json (the second after the first has read the
process: what the test compares with the process's own resident size
once gdb has let it go).  Writes $REMORA_TEST_OUT:
  {"ok": bool, "error": ..., "table": text, "first": JSON, "json": JSON,
   "heap_count": objects in the heap}
"""

import json
import os
import sys
import traceback

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyheap_json import first_json  # noqa: E402


def main(out):
    gdb.execute("py-heap", to_string=True)
    out["heap_count"] = first_json(gdb.execute("py-heap -json -- h", to_string=True))["count"]
    out["table"] = gdb.execute("py-heap hp.memory()", to_string=True)
    out["first"] = first_json(gdb.execute("py-heap -json -- hp.memory()", to_string=True))
    out["json"] = first_json(gdb.execute("py-heap -json -- hp.memory()", to_string=True))
    out["ok"] = True


result = {"ok": False}
try:
    main(result)
except Exception as exc:  # noqa: BLE001 — reported by the test
    result["error"] = "%s: %s\n%s" % (type(exc).__name__, exc, traceback.format_exc())
with open(os.environ["REMORA_TEST_OUT"] + ".tmp", "w") as f:
    json.dump(result, f)
os.rename(os.environ["REMORA_TEST_OUT"] + ".tmp", os.environ["REMORA_TEST_OUT"])
