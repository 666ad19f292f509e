#!/usr/bin/env python3
"""test_progress.py — the progress line and its estimate
(gdb/remora/progress.py, plain Python: needs no gdb); a TAP producer.

GIVEN objects walked so far, seconds and an expected total, WHEN the line
is made THEN it shows the share done and the seconds left at the rate so
far (computed here from the same figures), and nothing of an estimate
without a total.  GIVEN a cache directory of the test's own, WHEN a
count is remembered for a process (pid and start time, read here from
/proc/PID/stat) or a core (path, size, time) THEN the next capture of
the same expects it, another process or a changed core expects nothing,
a damaged counts file means no estimate (never an error), REMORA_COUNTS=0
keeps and reads nothing, and only the newest 64 keys stay.
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("REMORA_TOP_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "gdb", "remora"))
import progress  # noqa: E402

n = 0
failed = 0


def check(what, got, want):
    global n, failed
    n += 1
    if got == want:
        print("ok %d - %s" % (n, what))
    else:
        failed += 1
        print("not ok %d - %s\n# want %r\n# got  %r" % (n, what, want, got))


def start_time(pid):
    """Field 22 of /proc/PID/stat, counted past the parenthesized name."""
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split(" ")[19]


def lines():
    # 250 of 1000 in 2 s: 125 objects/s, 750 to go: 6 s
    got = progress.line("capturing", 250, 3_000_000, 2.0, 1000)
    check("the line: share done, megabytes, rate, seconds left",
          got, "remora: capturing: 250 of about 1000 objects (25%%), 3.0 MB, "
               "125 objects/s, about %d s left" % round((1000 - 250) / (250 / 2.0)))
    check("more objects than expected: 99%, almost done",
          progress.line("capturing", 1200, None, 1.0, 1000),
          "remora: capturing: 1200 of about 1000 objects (99%), 1200 objects/s, almost done")
    check("nothing walked yet: no time left is guessed",
          progress.line("capturing", 0, 0, 0.25, 1000),
          "remora: capturing: 0 of about 1000 objects (0%), 0.0 MB, 0 objects/s")
    check("no total: objects and rate only",
          progress.line("capturing", 10, None, 2.0),
          "remora: capturing: 10 objects, 5 objects/s")
    check("a query: its seconds",
          progress.line("h.byrcs", None, None, 3.2), "remora: h.byrcs: 3 s")


def counts(cache):
    os.environ["XDG_CACHE_HOME"] = cache
    me = progress.process_key(os.getpid())
    check("a process's key is its pid and start time",
          me, "pid %d %s" % (os.getpid(), start_time(os.getpid())))
    child = subprocess.Popen(["sleep", "5"])
    other = progress.process_key(child.pid)
    child.kill()
    child.wait()
    check("never captured: no estimate", progress.expected(me), None)
    progress.remember(me, 1234)
    progress.remember(other, 99)
    check("captured before: its count", progress.expected(me), 1234)
    check("another process: its own count", progress.expected(other), 99)
    check("a pid with another start time is another process",
          progress.expected("pid %d 1" % os.getpid()), None)
    check("the counts live under XDG_CACHE_HOME/remora",
          os.path.exists(os.path.join(cache, "remora", "counts")), True)

    core = os.path.join(cache, "a core")
    with open(core, "wb") as f:
        f.write(b"x" * 100)
    key = progress.core_key(core)
    progress.remember(key, 77)
    check("a core read again: its count", progress.expected(progress.core_key(core)), 77)
    with open(core, "ab") as f:
        f.write(b"y")
    check("a core that changed: no estimate", progress.expected(progress.core_key(core)), None)
    check("a core that is not there: no key", progress.core_key(core + ".gone"), None)

    with open(os.path.join(cache, "remora", "counts"), "w") as f:
        f.write("{not json")
    check("a damaged counts file: no estimate", progress.expected(me), None)
    progress.remember(me, 5)
    check("... and the next capture writes it anew", progress.expected(me), 5)

    for i in range(70):
        progress.remember("pid %d 0" % (100000 + i), i)
    check("the newest 64 keys stay", [progress.expected("pid %d 0" % (100000 + i))
                                      for i in (5, 6, 69)], [None, 6, 69])

    os.environ["REMORA_COUNTS"] = "0"
    progress.remember("pid 1 1", 3)
    check("REMORA_COUNTS=0: nothing read", progress.expected("pid %d 0" % 100069), None)
    del os.environ["REMORA_COUNTS"]
    check("REMORA_COUNTS=0: nothing kept", progress.expected("pid 1 1"), None)


def main():
    lines()
    with tempfile.TemporaryDirectory(prefix="remora-progress-") as cache:
        counts(cache)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
