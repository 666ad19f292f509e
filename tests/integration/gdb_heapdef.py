"""gdb_heapdef.py — sourced into gdb (after remora.py) by test_heapdef.py,
on targets/heapdef_target.py live or on its core.

Captures the heap (py-heap, or py-heap -no-inject when
$REMORA_TEST_OUTSIDE is 1), then asks as a user would for the target's
Blobs (`hp.iso(ids)`, its table and -json) and for what they hold
(`hp.iso(left and right ids).byvia`, -json).  Writes $REMORA_TEST_OUT:
  {"ok": bool, "error": ..., "blobs": partition JSON, "table": its text,
   "held": byvia JSON or None, "held_error": why not}
"""

import json
import os
import sys

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyheap_json import first_json, report_to_out  # noqa: E402


def main(out):
    outside = os.environ.get("REMORA_TEST_OUTSIDE") == "1"
    gdb.execute("py-heap -no-inject" if outside else "py-heap", to_string=True)
    with open(os.environ["REMORA_TEST_FACTS"]) as f:
        facts = json.load(f)
    blobs = ",".join(str(a) for a in facts["blobs"])
    out["blobs"] = first_json(gdb.execute("py-heap -json -- hp.iso(%s)" % blobs,
                                          to_string=True))
    out["table"] = gdb.execute("py-heap hp.iso(%s)" % blobs, to_string=True)
    held = ",".join(str(a) for a in facts["left"] + facts["right"])
    try:
        out["held"] = first_json(gdb.execute("py-heap -json -- hp.iso(%s).byvia" % held,
                                             to_string=True))
    except gdb.error as exc:
        out["held_error"] = str(exc)
    out["ok"] = True


report_to_out(main)
