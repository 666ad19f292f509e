"""seed_target.py READY_FILE — the small Python program whose heap the fuzz
seeds are cut from (tests/fuzz/make-seeds).

Run with -S -I so that its heap stays small.  It builds one or a few of
every kind of object the walker lays out itself (dicts split and
combined, a class instance with managed attributes, slots, lists, tuples,
sets, strs of each width, ints of each sign, bytes, a bytearray, closures,
a suspended generator, a caught exception with its traceback, a deque, an
OrderedDict, a bound method, a property), leaves a second thread waiting
inside a function with locals, creates READY_FILE and sleeps until it is
killed.
"""

import collections
import sys
import threading
import time


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    @property
    def norm(self):
        return abs(self.x) + abs(self.y)


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b


def counter(n):
    total = 0
    for i in range(n):
        total += i
        yield total


def make_adder(k):
    def add(v):
        return v + k
    return add


def held(event, items):
    local_list = [items, "held by a thread's frame"]
    event.wait()
    return local_list


try:
    {}["missing"]
except KeyError as exc:
    caught = exc

points = [Point(i, -i) for i in range(3)]
data = {
    "ascii": "plain",
    "latin1": "caf\xe9",
    "ucs2": "\u65e5\u672c",
    "ucs4": "\U0001f41f remora",
    "ints": (0, 1, -7, 2 ** 70, -(2 ** 65)),
    "floats": [1.5, -0.0],
    "bytes": b"\x00\xffbytes",
    "buffer": bytearray(b"grow me"),
    "set": {1, "two", (3,)},
    "frozen": frozenset({"a", "b"}),
    "slots": Slotted([1], {"k": "v"}),
    "deque": collections.deque(range(5), maxlen=8),
    "ordered": collections.OrderedDict(a=1, b=[2]),
    "adder": make_adder(10),
    "method": points[0].__init__,
    "norm": Point.norm,
}
gen = counter(10)
next(gen)
data["gen"] = gen

stop = threading.Event()
worker = threading.Thread(target=held, args=(stop, points), daemon=True)
worker.start()
with open(sys.argv[1], "w") as f:
    f.write("ready\n")
while True:
    time.sleep(3600)
