"""gdb_facts.py — sourced into gdb (after remora.py) by test_facts.py.

Runs the py-heap commands a user would type against the attached target and
writes what each printed (or the error it raised) to $REMORA_TEST_OUT as
JSON.  The `h[i].bysize` commands need the row index of str/int/list in
h's default partition (by clodo), so they are chosen here, from the
`h.byclodo` output.
"""

import json
import os
import sys
import time
import traceback

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyheap_json import find_row, parse_partition  # noqa: E402

OUT = os.environ["REMORA_TEST_OUT"]
results = {}


def run(key, command):
    t0 = time.perf_counter()
    step = {"command": command}
    try:
        step["text"] = gdb.execute(command, to_string=True)
        step["ok"] = True
    except gdb.error as exc:
        step.update(ok=False, error=str(exc))
    except Exception as exc:  # noqa: BLE001 — reported, not raised
        step.update(ok=False, error="%s: %s" % (type(exc).__name__, exc),
                    traceback=traceback.format_exc())
    step["seconds"] = time.perf_counter() - t0
    results[key] = step
    return step


def main():
    run("default", "py-heap")
    run("bytype", "py-heap -json -- h.bytype")
    byclodo = run("byclodo", "py-heap -json -- h.byclodo")
    # h[i] is row i of h's default partition (by clodo), as in heapy.
    if byclodo["ok"]:
        try:
            part = parse_partition(byclodo["text"])
        except ValueError as exc:
            results["byclodo"]["parse_error"] = str(exc)
            return
        for name in ("str", "int", "list"):
            row = find_row(part, name)
            if row is None:
                results["bysize_" + name] = {"ok": False, "command": "h[?].bysize",
                                             "error": "no %r row in h.byclodo" % name}
                continue
            run("bysize_" + name, "py-heap -json -- h[%d].bysize" % row["index"])


try:
    main()
finally:
    with open(OUT + ".tmp", "w") as f:
        json.dump(results, f, indent=1)
    os.rename(OUT + ".tmp", OUT)
