"""test_cli.py — the `remora` command (issue 11): attach, core, snapshot,
load and diff from the shell, their output and exit status.

On the first usable interpreter (the command is a thin layer over py-heap,
which every other test runs on every interpreter), with
targets/cli_target.py (Kept instances whose count and sizes it wrote
itself, more of them on SIGUSR2):
1. GIVEN the built ./remora, WHEN it runs with --help (also a command's),
   THEN it exits 0 naming every command; WHEN it runs with no command, an
   unknown one, a PID that is not a number or an unknown option, THEN it
   exits 2 with a usage line on stderr and nothing on stdout.
2. WHEN `remora attach PID` runs, THEN it exits 0 and prints heapy's
   table of h alone on stdout; with --json, its Kept row is exact (count
   and size as the target counted); the target lives on, traced by
   nobody.
3. WHEN `remora attach PID --json EXPR...` runs with a selection, an
   assignment and an expression on the name bound, THEN stdout is one
   JSON line per value (none for the assignment): the Kept set, and the
   bytes its objects refer to (their payloads, as the target summed them).
4. WHEN `remora snapshot PID -o FILE` runs, THEN it exits 0, prints
   nothing on stdout and one line on stderr (how long the process was
   paused, how many objects were saved), and `remora load FILE` gives
   the Kept row exactly, the target gone or not.
5. GIVEN a second snapshot after the target made MORE Kept objects,
   WHEN `remora diff OLD NEW --json` runs, THEN the Kept row of the
   difference is (MORE, the size the target added), and the text form
   is heapy's difference table.
6. GIVEN a core of the target (gcore), WHEN `remora core CORE` runs with
   no --exe (the executable from the core's own notes) and with --exe,
   THEN both give the Kept row exactly (--json).
7. WHEN it attaches to no process, to a process another tracer holds, or
   to one that is not Python, loads a file that is not a snapshot or
   evaluates a bad expression, THEN it exits 3, 3, 1, 1 and 1, each with
   one line on stderr that says why, and nothing on stdout.
8. GIVEN a target of 1.5 million objects, WHEN `remora attach PID --json
   h.count` runs with stderr on a terminal (a pty) and progress asked
   for from the first moment (REMORA_PROGRESS_AFTER=0), THEN the terminal
   shows "remora: capturing: N objects, ..." lines with N never above the
   count, stdout is the one JSON line; with stderr not a terminal, no
   progress is written.  On a core of it (gcore), `remora core` shows
   "remora: capturing from a core: N objects, ..." the same way, and
   `remora core ... --json h.byrcs` shows "remora: h.byrcs: N s" on the
   terminal and nothing of it on stdout.
"""

import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import time

import harness
from harness import Tap, Target

REMORA = os.path.join(harness.TOP_BUILDDIR, "remora")
KEPT = "__main__.Kept"
SELECT = "h & hp.Type('%s')" % KEPT
COMMANDS = ("attach", "core", "snapshot", "load", "diff")


def remora(*args, timeout=300, env=None):
    r = subprocess.run([REMORA] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=dict(harness.gdb_env(), **(env or {})))
    return r


def report(r):
    return lambda: "exit %s\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout[-3000:],
                                                          r.stderr[-3000:])


def kept_row(text):
    return harness.row_figures(text, KEPT)


def json_lines(tap, name, r, n):
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    values = []
    for ln in lines:
        try:
            values.append(json.loads(ln))
        except ValueError:
            values.append(None)
    tap.ok("%s: stdout is %d line(s) of JSON" % (name, n),
           len(lines) == n and None not in values, report(r))
    return values if len(values) == n and None not in values else None


def one_line(tap, name, r, status, pattern):
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    tap.equal("%s: exit status %d" % (name, status), r.returncode, status, report(r))
    tap.ok("%s: one line on stderr saying why" % name,
           len(lines) == 1 and re.search(pattern, lines[0]) is not None, report(r))
    tap.equal("%s: nothing on stdout" % name, r.stdout, "")


def untraced(pid):
    with open("/proc/%d/status" % pid) as f:
        return [ln.split()[1] for ln in f if ln.startswith("TracerPid:")] == ["0"]


def usage(tap):
    r = remora("--help")
    tap.ok("--help: exit 0, names every command",
           r.returncode == 0 and all(c in r.stdout for c in COMMANDS), report(r))
    r = remora("attach", "--help")
    tap.ok("attach --help: exit 0", r.returncode == 0 and "PID" in r.stdout, report(r))
    for args in ((), ("frobnicate",), ("attach", "notapid"), ("attach", "1", "--bogus"),
                 ("snapshot", "1")):
        r = remora(*args)
        tap.ok("remora %s: exit 2, usage on stderr, nothing on stdout" % " ".join(args),
               r.returncode == 2 and "usage:" in r.stderr and r.stdout == "", report(r))


class Tracer:
    """Another tracer holding pid (PTRACE_SEIZE from a process of its own)."""

    SCRIPT = ("import ctypes, sys, time\n"
              "libc = ctypes.CDLL(None, use_errno=True)\n"
              "ok = libc.ptrace(0x4206, int(sys.argv[1]), 0, 0) == 0\n"
              "print('seized' if ok else 'failed', flush=True)\n"
              "time.sleep(60)\n")

    def __init__(self, pid):
        self.proc = subprocess.Popen([sys.executable, "-c", self.SCRIPT, str(pid)],
                                     stdout=subprocess.PIPE, text=True)
        self.ok = self.proc.stdout.readline().strip() == "seized"

    def close(self):
        self.proc.kill()
        self.proc.wait()


def errors(tap, it, target):
    r = remora("attach", "999999")
    one_line(tap, "attach to no process", r, 3, r"^remora: no process 999999$")
    sleep = shutil.which("sleep") or "/bin/sleep"
    other = subprocess.Popen([sleep, "60"])
    try:
        tracer = Tracer(other.pid)
        try:
            if tracer.ok:
                r = remora("attach", str(other.pid))
                one_line(tap, "attach to a traced process", r, 3,
                         r"^remora: cannot attach to process %d .*traced already"
                         % other.pid)
            else:
                tap.skip("attach to a traced process", "PTRACE_SEIZE refused here")
        finally:
            tracer.close()
        r = remora("attach", str(other.pid))
        one_line(tap, "attach to a process that is not Python", r, 1,
                 r"^remora: this process is not running CPython")
    finally:
        other.kill()
        other.wait()
    r = remora("load", os.path.join(target.wdir, "facts.json"))
    one_line(tap, "load a file that is not a snapshot", r, 1,
             r"^remora: .*not a remora snapshot")
    r = remora("attach", str(target.pid), "h.nosuch")
    one_line(tap, "a bad expression", r, 1, r"^remora: h\.nosuch: AttributeError")


BIG = ("import os, sys, time\n"
       "x = [str(i) * 3 for i in range(1500000)]\n"
       "open(os.path.join(sys.argv[1], 'ready'), 'w').write('ready')\n"
       "while True: time.sleep(0.2)\n")
PROGRESS = re.compile(r"remora: capturing: (\d+) objects, \d+\.\d MB, \d+ objects/s")
CORE_PROGRESS = re.compile(r"remora: capturing from a core: (\d+) objects, \d+\.\d MB, "
                           r"\d+ objects/s")
QUERY_PROGRESS = re.compile(r"remora: h\.byrcs: \d+ s")
# a capture of a process or core captured before: the last count as the
# estimate, how far along (the time left: tests/python/test_progress.py)
ESTIMATE = re.compile(r"remora: capturing(?: from a core)?: (\d+) of about (\d+) objects "
                      r"\((\d+)%\), \d+\.\d MB, \d+ objects/s")


def on_terminal(argv, env):
    """argv run with stderr on a pty: (exit status, stdout, what the
    terminal showed)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    out = p.communicate(timeout=300)[0].decode()
    return p.returncode, out, seen.decode("utf-8", "replace")


def one_json(out):
    values = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    return values[0] if len(values) == 1 else None


def progress(tap, it):
    wdir = harness.workdir("cli-progress", it.name)
    argv = [it.path, "-c", BIG, wdir]
    core = os.path.join(wdir, "big.core")
    with Target(harness.in_root(it.root, argv) if it.root else argv, wdir, it.env) as target:
        if not harness.target_started(tap, "progress " + it.name, target):
            return
        # the counts remora keeps for estimates: the test's own
        env = dict(harness.gdb_env(), REMORA_PROGRESS_AFTER="0",
                   XDG_CACHE_HOME=os.path.join(wdir, "cache"))
        rc, out, text = on_terminal([REMORA, "attach", str(target.pid), "--json", "h.count"],
                                    env)
        counts = [int(n) for n in PROGRESS.findall(text)]
        value = one_json(out)
        total = int(value["repr"]) if value else None
        tap.equal("progress: exit 0, stdout one JSON line", (rc, value is not None), (0, True),
                  out + text[-2000:])
        tap.ok("progress: the terminal shows objects walked, never more than the count "
               "(%s of %s)" % (counts[-1:] or "none", total),
               counts and total is not None and max(counts) <= total, repr(text[-2000:]))
        tap.ok("progress: no estimate for a process never captured",
               "of about" not in text, repr(text[-2000:]))
        rc, out, text = on_terminal([REMORA, "attach", str(target.pid), "--json", "h.count"],
                                    env)
        seen = [tuple(int(x) for x in m) for m in ESTIMATE.findall(text)]
        tap.ok("progress: captured again, the estimate is the last capture's count (%s), "
               "and the share walked of it" % total,
               rc == 0 and seen and all(about == total and done == min(100 * n // about, 99)
                                        for n, about, done in seen), repr(text[-2000:]))
        r = subprocess.run([REMORA, "attach", str(target.pid), "--json", "h.count"],
                           capture_output=True, text=True, timeout=300, env=env)
        tap.ok("progress: none with stderr not a terminal",
               r.returncode == 0 and "capturing" not in r.stderr, report(r))
        g = harness.run_gdb(["gcore " + core, "detach"], pid=target.pid, load_remora=False)
        if not os.path.exists(core):
            tap.fail("progress: gcore made a core of the target", g.report())
            return
    exe = os.path.join(it.root, it.path.lstrip("/")) if it.root else it.path
    rc, out, text = on_terminal([REMORA, "core", core, "--exe", exe, "--json", "h.count"], env)
    counts = [int(n) for n in CORE_PROGRESS.findall(text)]
    value = one_json(out)
    tap.ok("progress: a core's capture shows objects walked, never more than the count "
           "(%s of %s), stdout one JSON line" % (counts[-1:] or "none", total),
           rc == 0 and value is not None and counts and max(counts) <= int(value["repr"]),
           lambda: out + repr(text[-2000:]))
    core_total = int(value["repr"]) if value else None
    rc, out, text = on_terminal([REMORA, "core", core, "--exe", exe,
                                 "--json", "h.byrcs"], env)
    tap.ok("progress: a query shows what it computes and for how long; stdout one JSON line",
           rc == 0 and one_json(out) is not None and QUERY_PROGRESS.search(text) is not None
           and "h.byrcs" not in out, lambda: out[-500:] + repr(text[-2000:]))
    seen = [tuple(int(x) for x in m) for m in ESTIMATE.findall(text)]
    tap.ok("progress: a core read again: the estimate is its last count (%s)" % core_total,
           seen and all(about == core_total for _n, about, _done in seen),
           lambda: repr(text[-2000:]))
    os.unlink(core)


def run(tap, it):
    usage(tap)
    progress(tap, it)
    wdir = harness.workdir("cli", it.name)
    with Target.python(it, "cli_target.py", wdir) as target:
        if not harness.target_started(tap, "cli " + it.name, target):
            return
        facts = target.json("facts.json")
        want = (facts["kept_count"], facts["kept_size"])

        r = remora("attach", str(target.pid))
        tap.equal("attach: exit 0", r.returncode, 0, report(r))
        tap.ok("attach: stdout is heapy's table alone (h)",
               r.stdout.startswith("Partition of a set of ") and "<" in r.stdout, report(r))
        r = remora("attach", str(target.pid), "--json")
        tap.equal("attach --json (h): the Kept row is exact", kept_row(r.stdout), want,
                  report(r))
        tap.ok("attach: the target lives on, traced by nobody",
               target.alive() and untraced(target.pid))

        r = remora("attach", str(target.pid), "--json", SELECT, "k = " + SELECT,
                   "k.referents.bytype")
        tap.equal("attach --json: exit 0", r.returncode, 0, report(r))
        values = json_lines(tap, "attach --json", r, 2)
        if values:
            tap.equal("attach --json: the Kept set", (values[0]["count"], values[0]["size"]),
                      want)
            rows = {row["label"]: (row["count"], row["size"]) for row in values[1]["rows"]}
            tap.equal("attach --json: the bytes the Kept objects refer to", rows.get("bytes"),
                      (facts["kept_count"], facts["payload_size"]), str(rows))

        first = os.path.join(wdir, "first.remora")
        # gdb's index of each file's debug info kept under remora's cache
        # (XDG_CACHE_HOME's, here with a space in its path)
        cache_home = os.path.join(wdir, "cache home")
        shutil.rmtree(cache_home, ignore_errors=True)
        r = remora("snapshot", str(target.pid), "-o", first,
                   env={"XDG_CACHE_HOME": cache_home})
        index_dir = os.path.join(cache_home, "remora", "gdb-index")
        indexes = [f for f in (os.listdir(index_dir) if os.path.isdir(index_dir) else [])
                   if f.endswith(".gdb-index")]
        if it.debug_info:
            tap.ok("snapshot: gdb kept its index of the debug info in %s" % index_dir,
                   indexes, report(r))
        else:
            tap.skip("snapshot: gdb's index cache %s" % it.name, "no debug info to index")
        tap.equal("snapshot: exit 0", r.returncode, 0, report(r))
        tap.equal("snapshot: nothing on stdout", r.stdout, "")
        tap.ok("snapshot: one line on stderr with the pause and the objects saved",
               re.match(r"^remora: process %d paused \d+\.\d+ s; \d+ objects saved to %s\n$"
                        % (target.pid, re.escape(first)), r.stderr)
               is not None, report(r))
        tap.ok("snapshot: the target lives on, traced by nobody",
               target.alive() and untraced(target.pid))
        r = remora("load", first, "--json", SELECT)
        values = json_lines(tap, "load", r, 1)
        if values:
            tap.equal("load: the Kept set of the snapshot", (values[0]["count"],
                                                             values[0]["size"]), want)

        # paths with spaces, as a user's may be: gdb's `file` splits its
        # argument where `core-file` does not
        spaced = os.path.join(wdir, "a core's dir")
        os.makedirs(spaced, exist_ok=True)
        core = os.path.join(spaced, "core")
        exe = os.path.join(spaced, "the python")
        os.symlink(it.path, exe)
        g = subprocess.run(["gcore", "-o", core, str(target.pid)], capture_output=True,
                           text=True, timeout=300)
        core = "%s.%d" % (core, target.pid)
        if g.returncode != 0 or not os.path.exists(core):
            tap.fail("gcore makes a core of the target", g.stdout + g.stderr)
        else:
            r = remora("core", core, "--json")
            tap.equal("core (executable from the core): exit 0", r.returncode, 0, report(r))
            tap.equal("core (executable from the core): the Kept row is exact",
                      kept_row(r.stdout), want, report(r))
            r = remora("core", core, "--exe", exe, "--json")
            tap.equal("core --exe (paths with spaces): the Kept row is exact",
                      kept_row(r.stdout), want, report(r))
            os.unlink(core)

        target.send(signal.SIGUSR2)
        deadline = time.monotonic() + 60
        while not os.path.exists(target.path("ready2")) and time.monotonic() < deadline:
            time.sleep(0.05)
        facts2 = target.json("facts2.json")
        second = os.path.join(wdir, "second.remora")
        r = remora("snapshot", str(target.pid), "-o", second)
        tap.equal("second snapshot: exit 0", r.returncode, 0, report(r))
        r = remora("diff", first, second, "--json")
        values = json_lines(tap, "diff --json", r, 1)
        if values:
            rows = {row["label"]: (row["count"], row["size"]) for row in values[0]["rows"]}
            tap.equal("diff: the Kept row is what the target added", rows.get(KEPT),
                      (facts2["kept_count"] - facts["kept_count"],
                       facts2["kept_size"] - facts["kept_size"]), str(rows))
        r = remora("diff", first, second)
        tap.ok("diff: heapy's difference table",
               r.returncode == 0 and r.stdout.startswith("Summary of difference operation "
                                                         "(A-B).") and KEPT in r.stdout,
               report(r))

        errors(tap, it, target)
        target.send(signal.SIGUSR1)
        tap.equal("the target exits 0, its objects intact", target.wait_exit(60), 0,
                  target.output)


def main():
    tap = Tap("test_cli")
    if not os.access(REMORA, os.X_OK):
        tap.fail("./remora is built", "no %s: run make" % REMORA)
        return tap.finish()
    interps = harness.interpreters()
    harness.report_interpreters(tap, interps)
    first = next((it for it in interps if not it.skip), None)
    if first is None:
        tap.skip("remora command", "no usable interpreter")
    else:
        tap.diag("the command runs on %s only (py-heap's tests run every interpreter)"
                 % first.name)
        harness.guarded(tap, "cli", run, tap, first)
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
