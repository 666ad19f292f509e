"""gdb_retained.py — sourced into gdb (after remora.py) by test_retained.py,
attached to targets/retained_target.py.

Captures the heap (`py-heap`), saves it whole (`h.dump(...)` to
$REMORA_TEST_DUMP), picks the objects to ask about — the target's tree
and subtrees ($REMORA_TEST_FACTS), the top rows of `h.byretained`, and a
seeded random sample of the snapshot's objects, most of them with
references — and asks remora, through py-heap as a user would, for each
one's retained size (byretained), dominated set and its size (dominos,
domisize) and immediate dominator (imdom).  Writes $REMORA_TEST_OUT:
  {"ok": bool, "error": ..., "top": [addresses],
   "samples": {address: {"retained", "dominos", "domisize", "imdom"}},
   "named", "named_outside": {address: its byretained name}} (injected,
   then from outside: py-heap -no-inject), "byid": {address: the text of
   py-heap hp.iso(address).byid}
The test computes the same answers by brute force from the dump.
"""

import json
import os
import random
import sys
import traceback

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import snapread  # noqa: E402
from pyheap_json import first_json, literal  # noqa: E402

SEED = 12
N_CONTAINERS = 60
N_ANY = 20


def pyheap_json(expr):
    return first_json(gdb.execute("py-heap -json -- " + expr, to_string=True))


def value(expr):
    return literal(pyheap_json(expr))


def names(facts):
    """{address: the name byretained gives it} of the target's named objects."""
    return {str(a): (pyheap_json("hp.iso(%d).byretained" % a)["rows"] or [{}])[0]
            .get("name") for a, _want in facts["named"]}


def main(out):
    gdb.execute("py-heap", to_string=True)
    dump = os.environ["REMORA_TEST_DUMP"]
    gdb.execute("py-heap h.dump(%r)" % dump, to_string=True)
    with open(os.environ["REMORA_TEST_FACTS"]) as f:
        facts = json.load(f)
    snap = snapread.Snapshot(dump)
    rnd = random.Random(SEED)
    addrs = sorted(snap.nodes)
    containers = [a for a in addrs if snap.edges[a]]
    top = [r["address"] for r in pyheap_json("h.byretained")["rows"]]
    picked = ([facts["tree"]["address"]] + [s["address"] for s in facts["subtrees"]] + top
              + rnd.sample(containers, min(N_CONTAINERS, len(containers)))
              + rnd.sample(addrs, min(N_ANY, len(addrs))))
    out["top"] = top
    samples = out["samples"] = {}
    for a in picked:
        if str(a) in samples:
            continue
        rows = pyheap_json("hp.iso(%d).byretained" % a)["rows"]
        samples[str(a)] = {
            "retained": rows[0]["retained"] if rows else None,
            "dominos": value("hp.iso(%d).dominos.addresses" % a),
            "domisize": value("hp.iso(%d).domisize" % a),
            "imdom": value("hp.iso(%d).imdom.addresses" % a),
        }
    out["named"] = names(facts)
    out["byid"] = {str(a): gdb.execute("py-heap hp.iso(%d).byid" % a, to_string=True)
                   for a, _want in facts["named"]}
    # the names come from what the walker read: the same from outside
    gdb.execute("py-heap -no-inject", to_string=True)
    out["named_outside"] = names(facts)
    out["ok"] = True


result = {"ok": False}
try:
    main(result)
except Exception as exc:  # noqa: BLE001 — reported by the test
    result["error"] = "%s: %s\n%s" % (type(exc).__name__, exc, traceback.format_exc())
with open(os.environ["REMORA_TEST_OUT"] + ".tmp", "w") as f:
    json.dump(result, f)
os.rename(os.environ["REMORA_TEST_OUT"] + ".tmp", os.environ["REMORA_TEST_OUT"])
