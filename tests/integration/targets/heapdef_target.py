"""heapdef_target.py WORKDIR MODULE_DIR — a program whose objects size and
traverse themselves through heapy's NyHeapDef interface (the module
heapdefmod, built from heapdef_ext.c into MODULE_DIR by test_heapdef.py).

Makes Blobs of distinctive buffer sizes, each holding a list of its own
(left) and a dict of its own (right) that nothing else refers to, and
writes WORKDIR/facts.json:
  {"blobs": [address, ...], "left": [address of each left],
   "right": [address of each right],
   "getsizeof": sum of sys.getsizeof(blob) (its basic size: Blob has no
   __sizeof__), "buffers": sum of the buffers' lengths (what the
   NyHeapDef size adds), "relator_refs": the reference counts of the
   str objects relate names left and right by}
then WORKDIR/ready, and on SIGUSR1 exits 0 if those facts are unchanged.
"""

import json
import os
import signal
import sys

sys.path.insert(0, sys.argv[2])
import heapdefmod  # noqa: E402

BLOBS = [heapdefmod.Blob(10007 * (i + 1), [i, "left"], {"right": i}) for i in range(7)]


def facts():
    return {
        "blobs": [id(b) for b in BLOBS],
        "left": [id(b.held()[0]) for b in BLOBS],
        "right": [id(b.held()[1]) for b in BLOBS],
        "getsizeof": sum(sys.getsizeof(b) for b in BLOBS),
        "buffers": sum(b.buffer_len() for b in BLOBS),
        # relate passes these with a new reference each, which the
        # capture must give back
        "relator_refs": [sys.getrefcount(r) for r in heapdefmod.RELATORS],
    }


def main():
    wdir = sys.argv[1]
    f = facts()
    with open(os.path.join(wdir, "facts.json.tmp"), "w") as fp:
        json.dump(f, fp)
    os.rename(os.path.join(wdir, "facts.json.tmp"), os.path.join(wdir, "facts.json"))
    got = []
    signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
    with open(os.path.join(wdir, "ready.tmp"), "w") as fp:
        fp.write("ready\n")
    os.rename(os.path.join(wdir, "ready.tmp"), os.path.join(wdir, "ready"))
    while not got:
        signal.pause()
    sys.exit(0 if facts() == f else 1)


main()
