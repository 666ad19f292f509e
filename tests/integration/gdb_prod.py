"""gdb_prod.py — sourced into gdb (after remora.py) by test_prod.py, on
targets/prod_target.py live or on its core.

Captures the heap (py-heap), then asks, as a user would, for the
producers of the target's own objects (`hp.iso(ids).byprod`, -json) and
of the whole heap (`h.byprod`).  Writes $REMORA_TEST_OUT:
  {"ok": bool, "error": ..., "set": partition JSON, "heap": partition
   JSON, "message": the one line py-heap said instead, if it refused}
"""

import json
import os
import sys

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyheap_json import first_json, report_to_out  # noqa: E402


def main(out):
    gdb.execute("py-heap", to_string=True)
    with open(os.environ["REMORA_TEST_FACTS"]) as f:
        facts = json.load(f)
    ids = ",".join(str(a) for a in facts["ids"])
    try:
        out["set"] = first_json(gdb.execute("py-heap -json -- hp.iso(%s).byprod" % ids,
                                            to_string=True))
        out["heap"] = first_json(gdb.execute("py-heap -json -- h.byprod", to_string=True))
        out["table"] = gdb.execute("py-heap h.byprod", to_string=True)
    except gdb.error as exc:
        out["message"] = str(exc)
    out["ok"] = True


report_to_out(main)
