"""progress.py — long work shown on stderr while it runs: a capture
(objects walked, megabytes of snapshot, rate, and, when the same process
or core was captured before, how far along and how long still to go) or
a query (what it is, seconds so far).

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
  3. An estimate is the object count of the last capture of the same
     process (its pid and start time) or core file (its path, size and
     time), kept in $XDG_CACHE_HOME/remora/counts (~/.cache by default;
     REMORA_COUNTS=0: neither read nor kept): a count, never an object
     of the heap.  A file that cannot be read or written means no
     estimate, never an error.
"""

import json
import os
import threading
import time

# how many processes and cores the counts file remembers
_COUNTS_KEPT = 64


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


def _counts_path():
    if os.environ.get("REMORA_COUNTS", "1") == "0":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "remora", "counts")


def _counts():
    path = _counts_path()
    try:
        with open(path) as f:
            counts = json.load(f)
        return counts if isinstance(counts, dict) else {}
    except (TypeError, OSError, ValueError):
        return {}


def process_key(pid):
    """The key of a live process's counts: its pid and start time (a pid
    used again is another process); None if /proc does not say."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return "pid %d %s" % (pid, fields[19])      # field 22: starttime
    except (OSError, IndexError):
        return None


def core_key(path):
    """The key of a core file's counts: where it is, its size and time."""
    try:
        st = os.stat(path)
        return "core %s %d %d" % (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    except (OSError, TypeError):
        return None


def expected(key):
    """The object count the last capture of key found, or None."""
    count = _counts().get(key) if key else None
    return count[0] if isinstance(count, list) and count and isinstance(count[0], int) \
        else None


def remember(key, count):
    """Keeps count for key's next capture (the newest _COUNTS_KEPT keys)."""
    path = _counts_path()
    if not key or not path:
        return
    counts = {k: v for k, v in _counts().items()
              if isinstance(v, list) and len(v) == 2 and isinstance(v[1], float)}
    counts[key] = [int(count), time.time()]
    newest = sorted(counts.items(), key=lambda kv: kv[1][1], reverse=True)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = "%s.%d" % (path, os.getpid())
        with open(tmp, "w") as f:
            json.dump(dict(newest[:_COUNTS_KEPT]), f)
        os.replace(tmp, path)
    except OSError:
        pass


def line(what, nodes, size, seconds, total=None):
    """The progress line after `seconds` of work: objects so far (nodes,
    or None), bytes written (size, or None); with total, the objects
    expected, the share done and the time left at the rate so far."""
    parts = []
    if nodes is not None and total:
        parts.append("%d of about %d objects (%d%%)" % (
            nodes, total, min(100 * nodes // total, 99)))
    elif nodes is not None:
        parts.append("%d objects" % nodes)
    if size is not None:
        parts.append("%.1f MB" % (size / 1e6))
    if nodes is not None:
        parts.append("%.0f objects/s" % (nodes / seconds))
    else:
        parts.append("%.0f s" % seconds)
    if nodes and total:
        left = (total - nodes) * seconds / nodes
        parts.append("about %.0f s left" % left if left >= 0.5 else "almost done")
    return "remora: %s: %s" % (what, ", ".join(parts))


class Progress(threading.Thread):
    """Shows what count() (objects so far, or None) and size() (bytes of
    snapshot so far, or None; begin()'s fd instead: the length of the file
    open there) say, every quarter second, as `what`; with total (the
    objects expected), how far along and the seconds left at this rate."""

    def __init__(self, what, count=None, size=None, after=1.0, total=None):
        super().__init__(name="remora-progress", daemon=True)
        self.what, self.count, self.size, self.after = what, count, size, after
        self.total = total
        self._done = threading.Event()
        self._shown = 0

    @classmethod
    def begin(cls, what, count=None, size=None, fd=None, key=None):
        """The running reporter, or None where progress is not shown; key
        (process_key, core_key): the capture whose last count is the
        estimate, read only when progress shows."""
        if not _enabled():
            return None
        if fd is not None:
            size = _file_size(fd)
        reporter = cls(what, count, size, _after(), expected(key))
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
            self._show(line(self.what, nodes, size, seconds, self.total))
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
    """`with shown(what, count, size, fd, key):` — a Progress for the
    block."""

    def __init__(self, what, count=None, size=None, fd=None, key=None):
        self.args = (what, count, size, fd, key)
        self.reporter = None

    def __enter__(self):
        self.reporter = Progress.begin(*self.args)
        return self

    def __exit__(self, *exc):
        if self.reporter:
            self.reporter.stop()
