"""prod_target.py WORKDIR [off] — a program that knows where its objects
were allocated, as its own tracemalloc says.

With tracemalloc started first (not with `off`), it makes groups of
objects on lines of their own: lists, instances of a slotted class (no
managed dict or weakref, whose pre-header 3.11's get_object_traceback
miscounts), strs, dicts and tuples, and traces some lists' blocks again
in another domain (PyTraceMalloc_Track).  For each object it asks
tracemalloc.get_object_traceback() which line made it (the most recent
frame, as heapy's byprod shows it) and writes WORKDIR/facts.json:
  {"tracing": bool, "ids": [address, ...],
   "want": {"file:line" or "<unknown>": [count, sum of getsizeof]}}
then WORKDIR/ready, and on SIGUSR1 checks its groups and exits 0.
"""

import json
import os
import signal
import sys
import tracemalloc

TRACING = sys.argv[2:] != ["off"]
if TRACING:
    tracemalloc.start()


class Point:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x, self.y = x, y


LISTS = [[i, i + 1] for i in range(3000)]
POINTS = [Point(i, -i) for i in range(2000)]
STRS = ["prod-%06d" % i for i in range(1500)]
DICTS = [{"k%d" % (i % 7): i} for i in range(700)]
TUPLES = [(i, "t", i * 2) for i in range(400)]
GROUPS = (LISTS, POINTS, STRS, DICTS, TUPLES)


def track_in_another_domain():
    """Traces the blocks of some lists again in domain 7, as an extension
    tracking its own memory would (3.8 then keys every trace by pointer
    and domain; 3.9+ keeps domain 7 in a table of its own): byprod must
    still give each block its domain-0 line."""
    import ctypes
    import sysconfig
    track = ctypes.pythonapi.PyTraceMalloc_Track
    track.argtypes = (ctypes.c_uint, ctypes.c_size_t, ctypes.c_size_t)
    gc_header = 0 if sysconfig.get_config_var("Py_GIL_DISABLED") else 16
    for obj in LISTS[:50]:
        track(7, id(obj) - gc_header, 999)


def label(obj):
    tb = tracemalloc.get_object_traceback(obj) if TRACING else None
    if not tb:
        return "<unknown>"
    frame = tb[-1]          # the most recent frame (Traceback is oldest first)
    return "%s:%d" % (frame.filename, frame.lineno)


def main(wdir):
    got_usr1 = bytearray(1)
    signal.signal(signal.SIGUSR1, lambda s, f: got_usr1.__setitem__(0, 1))
    if TRACING:
        track_in_another_domain()
    want, ids = {}, []
    for group in GROUPS:
        for obj in group:
            row = want.setdefault(label(obj), [0, 0])
            row[0] += 1
            row[1] += sys.getsizeof(obj)
            ids.append(id(obj))
    with open(os.path.join(wdir, "facts.json.tmp"), "w") as f:
        json.dump({"tracing": TRACING, "ids": ids, "want": want}, f)
    os.rename(os.path.join(wdir, "facts.json.tmp"), os.path.join(wdir, "facts.json"))
    with open(os.path.join(wdir, "ready"), "w") as f:
        f.write("ready\n")
    while not got_usr1[0]:
        signal.pause()
    ok = [len(g) for g in GROUPS] == [3000, 2000, 1500, 700, 400] and POINTS[5].y == -5
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
