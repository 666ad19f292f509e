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

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyheap_json import first_json, report_to_out  # noqa: E402


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
    out["ok"] = True


report_to_out(main)
