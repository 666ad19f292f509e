"""gdb_census.py — sourced into gdb by test_census.py (after remora.py).

Captures the stopped target, then looks up every object of the target's
own census ($REMORA_CENSUS: [address, type, sys.getsizeof]) in the
snapshot, and writes what it found to $REMORA_CENSUS_OUT as JSON:
  found, missing: [[address, type]...], mismatched: [[type, want, got]...],
  partial: the snapshot's partial flag.
"""

import json
import os

import remora

out = {"ok": False}
try:
    with open(os.environ["REMORA_CENSUS"]) as f:
        census = json.load(f)["objects"]
    h = remora.hpy().heap()
    snap = h._handle.snapshot
    found, missing, mismatched = 0, [], []
    for address, tname, size, *_ in census:
        node = snap.find(address)
        if node is None:
            missing.append([address, tname])
            continue
        found += 1
        got = snap.node_size(node)
        if got != size:
            mismatched.append([tname, size, got])
    out.update(ok=True, found=found, missing=missing, mismatched=mismatched,
               partial=bool(snap.partial), nodes=h.count)
except Exception as exc:  # noqa: BLE001 — reported by the test
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
with open(os.environ["REMORA_CENSUS_OUT"], "w") as f:
    json.dump(out, f)
