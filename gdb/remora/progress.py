"""progress.py — long work shown on stderr while it runs: a capture
(objects walked, megabytes of snapshot, rate) or a query (what it is,
seconds so far).

Invariants:
  1. Shown only when stderr is a terminal (REMORA_PROGRESS=1: always,
     =0: never) and the work takes longer than REMORA_PROGRESS_AFTER
     seconds (default 1); rewritten in place and cleared at the end, so
     nothing of it stays in the output, and stdout (tables, -json) never
     carries it.
  2. The reporter is a thread of its own beside the work (a C call that
     released Python's lock): it writes to fd 2 itself, never through
     gdb, and touches nothing but the counters it is given.  Reporters
     nest (a capture inside a query): only the innermost shows.
"""

import os
import threading
import time


def _enabled():
    setting = os.environ.get("REMORA_PROGRESS", "auto")
    return setting == "1" or (setting != "0" and os.isatty(2))


def _after():
    try:
        return float(os.environ.get("REMORA_PROGRESS_AFTER", "1"))
    except ValueError:
        return 1.0


# the reporters running, outermost first: only the innermost shows (a
# capture inside a query says more than the query's seconds)
_running = []
_lock = threading.Lock()


def _file_size(fd):
    """size() for a snapshot being written to fd: its length so far."""
    return lambda: os.fstat(fd).st_size


class Progress(threading.Thread):
    """Shows what count() (objects so far, or None) and size() (bytes of
    snapshot so far, or None; begin()'s fd instead: the length of the file
    open there) say, every quarter second, as `what`."""

    def __init__(self, what, count=None, size=None, after=1.0):
        super().__init__(name="remora-progress", daemon=True)
        self.what, self.count, self.size, self.after = what, count, size, after
        self._done = threading.Event()
        self._shown = 0

    @classmethod
    def begin(cls, what, count=None, size=None, fd=None):
        """The running reporter, or None where progress is not shown."""
        if not _enabled():
            return None
        if fd is not None:
            size = _file_size(fd)
        reporter = cls(what, count, size, _after())
        with _lock:
            _running.append(reporter)
        reporter.start()
        return reporter

    def run(self):
        t0 = time.monotonic()
        if self._done.wait(self.after):
            return
        while not self._done.is_set():
            seconds = max(time.monotonic() - t0, 1e-3)
            with _lock:
                innermost = _running[-1] is self
            if not innermost:
                self._done.wait(0.25)
                continue
            try:
                nodes = self.count() if self.count else None
                size = self.size() if self.size else None
            except (OSError, ValueError):
                break
            parts = []
            if nodes is not None:
                parts.append("%d objects" % nodes)
            if size is not None:
                parts.append("%.1f MB" % (size / 1e6))
            if nodes is not None:
                parts.append("%.0f objects/s" % (nodes / seconds))
            else:
                parts.append("%.0f s" % seconds)
            self._show("remora: %s: %s" % (self.what, ", ".join(parts)))
            self._done.wait(0.25)

    def _show(self, text):
        pad = max(self._shown - len(text), 0)
        os.write(2, ("\r" + text + " " * pad).encode())
        self._shown = len(text)

    def stop(self):
        self._done.set()
        self.join()
        with _lock:
            if self in _running:
                _running.remove(self)
        if self._shown:
            os.write(2, ("\r" + " " * self._shown + "\r").encode())


class shown:
    """`with shown(what, count, size, fd):` — a Progress for the block."""

    def __init__(self, what, count=None, size=None, fd=None):
        self.args = (what, count, size, fd)
        self.reporter = None

    def __enter__(self):
        self.reporter = Progress.begin(*self.args)
        return self

    def __exit__(self, *exc):
        if self.reporter:
            self.reporter.stop()
