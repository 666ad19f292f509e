"""gdb_holders.py — sourced into gdb (after remora.py) by test_holders.py.

Captures the stopped holders_target.py (or its core) with
$REMORA_TEST_CAPTURE (default `py-heap h = hp.heap()`), then for each
marker of its facts
($REMORA_TEST_FACTS) asks what a user would: hp.iso(ADDR).count,
.referrers.addresses, .byvia, .byrcs, .referrers.byrcs (-json) and .sp
(text), and once the rows of h.byvia (the whole heap) whose label
names a thread's local_marker.  What each printed, or the error it raised, goes to
$REMORA_TEST_OUT as JSON: {"steps": {"<marker>/<what>": step}} (steps as in
gdb_session.py).
"""

import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdb_session import Session  # noqa: E402

QUERIES = (
    ("count", "value", "hp.iso(%d).count"),
    ("referrers", "value", "sorted(hp.iso(%d).referrers.addresses)"),
    ("byvia", "json", "hp.iso(%d).byvia"),
    ("byrcs", "json", "hp.iso(%d).byrcs"),
    ("referrers.byrcs", "json", "hp.iso(%d).referrers.byrcs"),
    ("sp", "text", "py-heap hp.iso(%d).sp"),
)


def main():
    import gdb
    s = Session(gdb)
    try:
        with open(os.environ["REMORA_TEST_FACTS"]) as f:
            facts = json.load(f)
        markers = facts["markers"]
        s.run("capture", os.environ.get("REMORA_TEST_CAPTURE", "py-heap h = hp.heap()"))
        # the whole heap by via: every root labelled, 70,000 frames' too
        s.value("heap/byvia thread locals",
                "sorted((r.label, r.count) for r in h.byvia.partition.rows "
                "if \".f_locals['local_marker']\" in r.label)")
        # the namespace a module-level frame runs in: how the roots hold it
        s.json("module frame/byvia", "hp.iso(%d).byvia" % facts["module frame"]["address"])
        for tag, m in sorted(markers.items()):
            for what, form, expr in QUERIES:
                key = "%s/%s" % (tag, what)
                if form == "value":
                    s.value(key, expr % m["address"])
                elif form == "json":
                    s.json(key, expr % m["address"])
                else:
                    s.run(key, expr % m["address"])
    except Exception as exc:  # noqa: BLE001 — the test reports it
        s.steps["script"] = {"command": "gdb_holders.py", "ok": False,
                             "error": "%s: %s" % (type(exc).__name__, exc),
                             "traceback": traceback.format_exc()}
    finally:
        out = os.environ["REMORA_TEST_OUT"]
        with open(out + ".tmp", "w") as f:
            json.dump({"steps": s.steps}, f, indent=1)
        os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
