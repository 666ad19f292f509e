"""test_hostile.py — the target survives what users do around a capture
(issue 8; DESIGN.md invariants 1 and 2).

For each interpreter, with targets/busy_target.py (worker threads that
count, N_KEPT objects whose count and size it wrote itself):
1. GIVEN a thread stopped inside malloc (`break malloc`, `continue`),
   WHEN  py-heap runs,
   THEN  it captures by injecting (the agent takes no lock: nothing to
         refuse) and gives the Kept row exactly;
2. GIVEN the user's breakpoints on malloc, free, mmap, open64, write and
         dlclose and catchpoints on the openat and mmap system calls, set
         while the process is stopped elsewhere,
   WHEN  py-heap runs,
   THEN  it gives the Kept row exactly, none of them was hit, and all are
         still there and enabled afterwards;
3. GIVEN threads sleeping 5 ms in a loop and `break time_sleep` (libc's
         clock_nanosleep where the interpreter is stripped),
   WHEN  py-heap runs,
   THEN  no other thread ran during the capture (the breakpoint was not
         hit) and the Kept row is exact;
4. GIVEN threads allocating and a storm of SIGUSR2 (one every ~1 ms),
   WHEN  gdb stops the target 30 times at its checkpoints and captures it
         each time,
   THEN  every capture is exact and none is partial; the target saw every
         worker thread make progress after every capture, its objects
         intact, received the signals, and exits 0;
5. GIVEN a target of about a million objects, WHEN gdb is killed (SIGKILL)
         while py-heap captures it, at several moments of the walk (from
         the moment the agent is mapped), and GIVEN a small one, WHEN gdb
         dies (by its own hand) while the capture's thread is away from
         home before the agent runs (the mmap made, about to be, the
         agent not yet entered),
   THEN  the target lives on, traced by nobody, with no mapping, fd or
         file of remora's left in it or on the machine, and no breakpoint
         of gdb's: it dlopens a library at the end (gdb keeps one in the
         dynamic linker's _dl_debug_state while the process runs);
6. GIVEN the same, WHEN gdb gets SIGINT (Ctrl-C) while py-heap captures,
   THEN  py-heap says in one line that the capture was interrupted, the
         next py-heap gives the Kept row exactly, the target never saw a
         SIGINT, and nothing of remora's is left in it;
7. GIVEN a target in a mount namespace of its own whose /dev/shm and /tmp
         are empty read-only file systems (a container's; /tmp left as
         it is when the source tree is under it),
   WHEN  py-heap runs, THEN it gives the Kept row exactly (the snapshot is
         gdb's file: the target writes none);
8. GIVEN a target chrooted into another root (a container's) and gdb
         given its pid only (no sysroot, no debug files),
   WHEN  py-heap runs, THEN it gives the Kept row exactly;
9. GIVEN gdb's non-stop mode with the target's threads running,
   WHEN  py-heap and py-heap -no-inject run, THEN each refuses in one line;
and in 1-3 and 5-9, afterwards every thread makes progress, the kept
objects are intact and the target exits 0.
Once: GIVEN a process that is not Python (/bin/sleep), py-heap says so in
one line and the process goes on.
"""

import os
import re
import shutil
import signal
import subprocess
import threading
import time

import harness
from harness import Tap, Target

NO_TRACEBACK = ("Traceback", "Python Exception", "Error occurred in Python")
STORM_CAPTURES = 30
NAP_CAPTURES = 40       # the count: 4 of 40 were partial before
SUBINTERP_CAPTURES = 12  # 7 of 12 were partial before
BIG_RECORDS = 150000            # about a million objects: a capture takes a while
# moments of the walk: bytes of the snapshot gdb has copied out of the
# agent (its memfd's size; the whole one is ~60 MB), not seconds, which a
# fast walk outruns
KILL_POINTS = (0, 4 << 20, 16 << 20)
USER_BREAKS = ["break malloc", "break free", "break mmap", "break open64", "break write",
               "break dlclose", "catch syscall openat", "catch syscall mmap"]


def kept_row(text):
    return harness.row_figures(text, "Kept")


def finish(tap, name, target):
    """THEN after detach: every thread goes on, the data is intact, exit 0."""
    target.send(signal.SIGUSR1)
    rc = target.wait_exit(60)
    tap.equal("%s: target exits 0 after detach" % name, rc, 0, target.output)
    if rc != 0:
        return None
    res = target.json("result.json")
    # a breakpoint gdb left in the dynamic linker would have killed it
    tap.ok("%s: after detach the target dlopened a library (%s)" % (name, res["dlopened"]),
           res["dlopened"] is not None, str(res))
    tap.ok("%s: every thread makes progress after detach (iterations %s)"
           % (name, res["iterations"]), res["progress_ok"], str(res))
    tap.ok("%s: the target's objects are intact" % name, res["kept_ok"], str(res))
    return res


def one_case(tap, it, label, mode, commands, check, start=None, after=()):
    name = "%s %s" % (label, it.name)
    wdir = harness.workdir("hostile-" + label.replace(" ", "-"), it.name)
    target = (start or Target.python)(it, "busy_target.py", wdir, mode)
    with target:
        if not harness.target_started(tap, name, target):
            return
        facts = target.json("facts.json")
        cmds = (list(commands) + harness.marked("py-heap", "py-heap -json -- h.bytype")
                + harness.marked("breaks", "info breakpoints") + list(after) + ["detach"])
        g = harness.run_gdb(cmds, pid=target.pid)
        tap.ok("%s: every gdb command succeeded (%.1fs)" % (name, g.seconds), g.ok(), g.report)
        tap.ok("%s: no Python traceback" % name,
               not any(s in g.out for s in NO_TRACEBACK), g.report)
        text = g.section("py-heap") or ""
        notes = [ln for ln in text.splitlines() if ln.startswith("remora:")]
        tap.equal("%s: py-heap injects: no refusal, no partial snapshot" % name, notes, [])
        tap.equal("%s: the Kept row is exact" % name, kept_row(text),
                  (facts["kept_count"], facts["kept_size"]), g.report)
        check(tap, name, g, (facts["kept_count"], facts["kept_size"]))
        finish(tap, name, target)


def no_check(tap, name, g, kept):
    pass


# the target's own mount namespace, where /dev/shm and /tmp are empty
# read-only file systems of its own (a container's)
PRIVATE_MOUNTS = ("mount --make-rprivate / && mount -t tmpfs -o ro remora-test /dev/shm"
                  " && %s exec \"$0\" \"$@\"")
# /tmp too, unless the trees (the target's script and work directory) are
# there, as in a CI clone under /tmp
TREES_IN_TMP = any(os.path.realpath(d).startswith("/tmp/")
                   for d in (harness.TOP_SRCDIR, harness.TOP_BUILDDIR))
PRIVATE_MOUNTS %= "" if TREES_IN_TMP else "mount -t tmpfs -o ro remora-test /tmp &&"


def in_own_mounts(it, script, wdir, *args):
    return Target([shutil.which("unshare"), "--mount", "sh", "-c", PRIVATE_MOUNTS, it.path,
                   os.path.join(harness.TARGETS, script), wdir] + list(args), wdir,
                  it.env)


def own_mounts_work():
    """Whether this machine lets the tests make a mount namespace."""
    unshare = shutil.which("unshare")
    if not unshare:
        return "no unshare(1)"
    r = subprocess.run([unshare, "--mount", "sh", "-c", PRIVATE_MOUNTS, "true"],
                       capture_output=True, text=True)
    return None if r.returncode == 0 else "unshare --mount failed: %s" % r.stderr.strip()


def own_mounts_case(tap, it):
    started = []

    def start(*args):
        started.append(in_own_mounts(*args))
        return started[-1]

    def check(tap, name, g, kept):
        ns = [os.readlink("/proc/%s/ns/mnt" % pid) for pid in ("self", started[0].pid)]
        tap.ok("%s: the target had a mount namespace of its own" % name, ns[0] != ns[1],
               str(ns))

    one_case(tap, it, "own mount namespace", "sleep", [], check, start)


def breaks_kept(tap, name, g, kept):
    """Every user breakpoint and catchpoint is still there, enabled, unhit."""
    info = g.section("breaks") or ""
    rows = [ln for ln in info.splitlines() if re.match(r"^\d+\s+(hw )?\w+", ln)]
    tap.equal("%s: the user's %d breakpoints and catchpoints are all still there"
              % (name, len(USER_BREAKS)), len(rows), len(USER_BREAKS), info)
    tap.ok("%s: all enabled" % name, rows and all(re.match(r"^\d+\s+\S+( \S+)?\s+\S+\s+y", ln)
                                                     for ln in rows), info)
    tap.ok("%s: none was hit by the capture" % name, "already hit" not in info, info)


def sleep_function(it):
    """Where another thread sleeping in time.sleep passes: the module's
    function, or, where the interpreter has no symbols for its statics,
    libc's."""
    return "time_sleep" if it.debug_info else "clock_nanosleep"


def thread_break_kept(fn):
    def check(tap, name, g, kept):
        info = g.section("breaks") or ""
        tap.ok("%s: no other thread ran: %s's breakpoint was not hit" % (name, fn),
               fn in info and "already hit" not in info, info)
    return check


# where a list dies: list_dealloc, found through PyList_Type's tp_dealloc
# (offset 48 on every version, 64 after a free-threaded build's longer
# header: no debug info needed), entered with the list's reference count
# at zero and the list still on its GC list
LIST_DEALLOC = "*(*(void **)((char *)&PyList_Type + %d))"
IN_SNAPSHOT = ("python import gdb, remora.command as c; print('in snapshot: %s %s' % tuple("
               "c.current_heap()._handle.snapshot.find(int(gdb.parse_and_eval(e))) is not "
               "None for e in ('$dying', '(long) &PyList_Type')))")


def dying_case(tap, it):
    """GIVEN a thread stopped in list_dealloc (a breakpoint there: a
    thread of an interpreter with a GIL of its own may stop there
    whenever gdb stops the process), WHEN py-heap and py-heap -no-inject
    capture, THEN the dying list (reference count 0, still on its GC
    list) is not in the heap, and neither snapshot is partial."""
    after = (harness.marked("in-injected", IN_SNAPSHOT)
             + harness.marked("outside", "py-heap -no-inject -json -- h.bytype")
             + harness.marked("mode", "python import remora.capture as k; "
                              "print(k.last_result['mode'])")
             + harness.marked("in-outside", IN_SNAPSHOT))

    def check(tap, name, g, kept):
        tap.equal("%s: the stopped thread's list has reference count 0 (the target's "
                  "own word)" % name, (g.section("dying") or "").split(), ["0", "1"],
                  g.report)
        for section in ("in-injected", "in-outside"):
            tap.equal("%s: %s: the dying list is not in the snapshot; list's type is"
                      % (name, section), (g.section(section) or "").split(),
                      ["in", "snapshot:", "False", "True"], g.report)
        tap.equal("%s: py-heap -no-inject -json -- EXPR captured anew, from outside"
                  % name, (g.section("mode") or "").split(), ["outside"], g.report)
        text = g.section("outside") or ""
        tap.equal("%s: py-heap -no-inject: no partial snapshot" % name,
                  [ln for ln in text.splitlines() if ln.startswith("remora:")], [], text)
        tap.equal("%s: py-heap -no-inject: the Kept row is exact" % name, kept_row(text),
                  kept, g.report)

    commands = ["break " + LIST_DEALLOC % (64 if it.free_threaded else 48), "continue",
                "delete", "set $dying = $rdi"]
    if it.free_threaded:
        # the header: thread id, flags, the owner's count (32 bits at 12),
        # the others' (shifted by 2, at 16), then the type (at 24)
        count = ("*(unsigned int *)((char *)$dying + 12) + "
                 "(*(long *)((char *)$dying + 16) >> 2)")
        typed = "((void **)$dying)[3] == (void *)&PyList_Type"
    else:
        count, typed = "*(long *)$dying", "((void **)$dying)[1] == (void *)&PyList_Type"
    commands += harness.marked("dying", 'printf "%%ld %%d\\n", %s, %s' % (count, typed))
    one_case(tap, it, "inside a deallocator", "drop", commands, check, after=after)


def frame_line(text):
    """The "#N ..." line gdb printed for a frame, or None."""
    return next((ln.strip() for ln in (text or "").splitlines() if ln.startswith("#")), None)


def users_frame_case(tap, it):
    """GIVEN a user who selected frame 2 of the thread gdb stopped in WHEN
    py-heap captures (the agent runs on that thread, its registers moved
    and put back) THEN frame 2 is selected again, with the registers it
    had."""
    def check(tap, name, g, kept):
        before = frame_line(g.section("frame-before"))
        tap.ok("%s: gdb showed frame 2 before the capture" % name,
               before is not None and before.startswith("#2"), g.report)
        tap.equal("%s: frame 2 is selected again after it" % name,
                  frame_line(g.section("frame-after")), before, g.report)
        tap.equal("%s: with the same registers" % name,
                  (g.section("regs-after") or "").split(),
                  (g.section("regs-before") or "").split(), g.report)

    regs = "info registers rip rsp rbp"
    commands = (harness.marked("frame-before", "frame 2") + harness.marked("regs-before", regs))
    after = harness.marked("frame-after", "frame") + harness.marked("regs-after", regs)
    one_case(tap, it, "the user's frame", "sleep", commands, check, after=after)


# the youngest generation's list head, through the interpreter's debug info
def gen0_expr(it):
    if it.version < (3, 9):
        return "_PyRuntime.gc.generation0"
    return "_PyRuntime.interpreters.main->gc.generation0"


IN_SNAPSHOT_TRACKED = ("python import gdb, remora.command as c; print('in snapshot: %s' % ("
                       "c.current_heap()._handle.snapshot.find(int(gdb.parse_and_eval("
                       "'$tracked'))) is not None))")


def tracking_case(tap, it):
    """GIVEN a thread stopped inside _PyObject_GC_TRACK, the youngest
    generation's list cut (its old tail's next already the new object,
    whose next is still 0; a thread of an interpreter with a GIL of its
    own may stop there whenever gdb stops the process) WHEN py-heap and
    py-heap -no-inject capture THEN neither is partial, and the new object
    is in both."""
    if it.free_threaded:
        tap.skip("inside GC tracking %s" % it.name, "a free-threaded build keeps no GC lists")
        return
    if not it.debug_info:
        tap.skip("inside GC tracking %s" % it.name, "finding the GC list's head takes the "
                 "interpreter's debug info")
        return
    after = (harness.marked("in-injected", IN_SNAPSHOT_TRACKED)
             + harness.marked("outside", "py-heap -no-inject -json -- h.bytype")
             + harness.marked("in-outside", IN_SNAPSHOT_TRACKED))

    def check(tap, name, g, kept):
        tap.equal("%s: a thread stopped with the list cut" % name,
                  ((g.section("cut") or "").strip().splitlines() or [""])[-1],
                  "cut: tail->next=new new->next=0 head->prev=tail", g.report)
        for section in ("in-injected", "in-outside"):
            tap.equal("%s: %s: the object being tracked is in the snapshot" % (name, section),
                      (g.section(section) or "").strip(), "in snapshot: True", g.report)
        text = g.section("outside") or ""
        tap.equal("%s: py-heap -no-inject: no partial snapshot" % name,
                  [ln for ln in text.splitlines() if ln.startswith("remora:")], [], text)
        tap.equal("%s: py-heap -no-inject: the Kept row is exact" % name, kept_row(text),
                  kept, g.report)

    commands = (["source " + os.path.join(harness.HERE, "gdb_tracking.py")]
                + harness.marked("cut", "python tracking_stop(%r)" % gen0_expr(it)))
    one_case(tap, it, "inside GC tracking", "drop", commands, check, after=after)


def storm(tap, it):
    repeated(tap, it, "signal storm", "alloc", STORM_CAPTURES, signals=True)


def repeated(tap, it, label, mode, n, signals):
    """N captures at the target's checkpoints (gdb_storm.py), with a storm
    of SIGUSR2 if SIGNALS."""
    name = "%s %s" % (label, it.name)
    wdir = harness.workdir("hostile-" + label.replace(" ", "-"), it.name)
    with Target.python(it, "busy_target.py", wdir, mode, "checkpoints") as target:
        if not harness.target_started(tap, name, target):
            return
        facts = target.json("facts.json")
        stop = threading.Event()
        sent = [0]

        def storm_thread():
            while signals and not stop.is_set() and target.alive():
                try:
                    os.kill(target.pid, signal.SIGUSR2)
                    sent[0] += 1
                except OSError:
                    break
                time.sleep(0.001)
        t = threading.Thread(target=storm_thread, daemon=True)
        t.start()
        out = os.path.join(wdir, "storm.json")
        try:
            g = harness.run_gdb(["source " + os.path.join(harness.HERE, "gdb_storm.py"),
                                 "detach"], pid=target.pid,
                                env={"REMORA_TEST_OUT": out,
                                     "REMORA_TEST_CAPTURES": str(n)})
        finally:
            # stopped before the target finalizes: finalization puts the
            # SIGUSR2 handler back to terminating the process
            stop.set()
            t.join()
        target.send(signal.SIGUSR1)
        rc = target.wait_exit(60)
        res = harness.load_json(out)
        tap.ok("%s: every gdb command succeeded (%.1fs%s)"
               % (name, g.seconds, ", %d signals sent" % sent[0] if signals else ""), g.ok() and "error" not in res,
               lambda: "%s\n%s" % (res.get("error"), g.report()))
        caps = res.get("captures", [])
        want = [facts["kept_count"], facts["kept_size"]]
        bad = [(i, c) for i, c in enumerate(caps) if c["kept"] != want or c["error"]]
        tap.ok("%s: %d captures, each with the Kept row exact" % (name, n),
               len(caps) == n and not bad, "want %r; wrong: %r" % (want, bad[:5]))
        partial = [(i, c.get("why")) for i, c in enumerate(caps) if c["partial"]]
        where = [c["threads"] for c in caps if c.get("threads")][:2]
        tap.equal("%s: no capture is partial" % name, partial, [],
                  "the threads at the first partial captures:\n" + "\n".join(where))
        tap.equal("%s: target exits 0" % name, rc, 0, target.output)
        if rc != 0:
            return
        r = target.json("result.json")
        # gdb may report one stop twice (a signal delivered as it steps
        # over its breakpoint): a capture at the checkpoint of the one
        # before; what matters is that the target went on after each
        nums = [c.get("checkpoint") for c in caps]
        tap.ok("%s: every capture was at a checkpoint no earlier than the one before (%d "
               "distinct of %d; repeats are gdb reporting a stop twice)"
               % (name, len(set(nums)), len(nums)),
               all(isinstance(x, int) and x >= 0 for x in nums)
               and all(b >= a for a, b in zip(nums, nums[1:])), str(nums))
        tap.ok("%s: the target made %d checkpoints, past every one captured (last %s)"
               % (name, r["checkpoints"], nums[-1] if nums else None),
               bool(nums) and isinstance(nums[-1], int) and r["checkpoints"] > nums[-1],
               str(r))
        tap.ok("%s: every worker made progress after every capture" % name,
               r["progress_ok"], "stalled (checkpoint, worker): %r" % r["stalled"])
        tap.ok("%s: its objects stayed intact" % name, r["kept_ok"], str(r))
        if signals:
            tap.ok("%s: it received the storm's signals (%d of %d sent; signals coalesce)"
                   % (name, r["signals"], sent[0]), r["signals"] > 0, str(r))


# scratch files other tests running beside this one make and remove
# (every tests/ and scripts/ mkdtemp prefix: unit.c, run-fuzz, make-seeds,
# gen-layouts and test_layout_tables, test_heapy, test_elfsyms, test_progress)
OTHER_TESTS = ("remora-unit-", "remora-fuzz-", "remora-seeds-", "remora-gen-layouts-",
               "remora-heapy-", "remora-elfsyms-", "remora-progress-")


def remora_files():
    """What a capture could leave on the machine: /dev/shm and /tmp entries
    named remora*, but other tests' scratch."""
    out = []
    for d in ("/dev/shm", "/tmp"):
        try:
            out += [os.path.join(d, n) for n in os.listdir(d)
                    if n.startswith("remora") and not n.startswith(OTHER_TESTS)]
        except OSError:
            pass
    return sorted(out)


def remora_traces(pid):
    """Anonymous executable mappings (the agent's code would be one) and
    the bytes of anonymous read-write ones (its stack and buffer)."""
    execs, anon = [], 0
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 5:      # no path: anonymous
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                if "x" in parts[1]:
                    execs.append("%s %s" % (parts[0], parts[1][:3]))
                elif parts[1].startswith("rw"):
                    anon += hi - lo
    return execs, anon


def snapshot_bytes(gdb_pid):
    """The size of gdb's in-memory snapshot file (memfd "remora-snapshot"),
    or 0 while it has none."""
    d = "/proc/%d/fd" % gdb_pid
    try:
        for fd in os.listdir(d):
            try:
                if os.readlink(os.path.join(d, fd)).startswith("/memfd:remora-snapshot"):
                    return os.stat(os.path.join(d, fd)).st_size
            except OSError:
                continue
    except OSError:
        pass
    return 0


def interrupted(tap, it, how, point):
    """gdb gets SIGKILL or SIGINT once point bytes of py-heap's snapshot
    are out of the agent (0: as soon as the agent runs)."""
    name = "gdb %s mid-capture %s (%d MiB in)" % (how, it.name, point >> 20)
    wdir = harness.workdir("hostile-" + how, it.name)
    with Target.python(it, "busy_target.py", wdir, "sleep",
                       "records=%d" % BIG_RECORDS) as target:
        if not harness.target_started(tap, name, target, timeout=180):
            return
        facts = target.json("facts.json")
        files, execs = remora_files(), remora_traces(target.pid)
        fds = sorted(os.listdir("/proc/%d/fd" % target.pid))
        # the layout and gdb's first frame, slow once, made beforehand
        cmds = (["python import gdb, remora.layout as l; l.build(); gdb.selected_frame()",
                 "echo CAPTURING\\n"]
                + harness.marked("py-heap", "py-heap")
                + harness.marked("again", "py-heap -json -- h.bytype") + ["detach"])
        g = harness.start_gdb(cmds, pid=target.pid)
        out = b""
        while b"CAPTURING" not in out:
            chunk = g.stdout.read1(4096)
            if not chunk:
                break
            out += chunk
        # the walk has begun when the agent, entered, has made its code
        # read-only (r-x; gdb maps it rwx).  README says why the few
        # milliseconds before, while gdb maps and writes it, are not safe.
        deadline = time.monotonic() + 30
        while (not any(m.endswith("r-x") for m in remora_traces(target.pid)[0])
               and time.monotonic() < deadline):
            time.sleep(0.0005)
        while point and snapshot_bytes(g.pid) < point and time.monotonic() < deadline:
            time.sleep(0.0005)
        g.send_signal(signal.SIGKILL if how == "killed" else signal.SIGINT)
        try:
            out += g.communicate(timeout=120)[0]
        except subprocess.TimeoutExpired:
            g.kill()
            out += g.communicate()[0]
        harness._live_gdbs.discard(g)
        text = out.decode("utf-8", "replace")
        run = harness.GdbRun(g.args, g.returncode, text, "", 0, False)
        if how == "killed":
            tap.ok("%s: gdb died during the capture (no partition printed)" % name,
                   "Partition of a set" not in text, text[-3000:])
        else:
            lines = [ln for ln in (run.section("py-heap") or "").splitlines() if ln.strip()]
            tap.equal("%s: py-heap says in one line that it stopped the agent" % name, lines,
                      ["remora: capture interrupted; the agent stopped and the process "
                       "is as it was"], run.report)
            tap.equal("%s: the next py-heap gives the Kept row exactly" % name,
                      kept_row(run.section("again") or ""),
                      (facts["kept_count"], facts["kept_size"]), run.report)
            tap.ok("%s: gdb ran to its end; only the interrupted py-heap failed" % name,
                   run.ok(may_fail=("py-heap",)), run.report)
        left_nothing(tap, name, target, files, execs, fds)
        res = finish(tap, name, target)
        if res is not None and how == "interrupted":
            tap.equal("%s: the target never saw the SIGINT" % name, res["sigints"], 0)


def left_nothing(tap, name, target, files, execs, fds):
    """THEN the target lives on, traced by nobody, with no mapping, fd or
    file of remora's (execs: remora_traces() and fds before gdb came)."""
    time.sleep(0.3)
    if not tap.ok("%s: the target lives on" % name, target.alive(), target.output):
        return
    with open("/proc/%d/status" % target.pid) as f:
        tracer = [ln.split()[1] for ln in f if ln.startswith("TracerPid:")]
    tap.equal("%s: nobody traces it any more" % name, tracer, ["0"])
    now_execs, now_anon = remora_traces(target.pid)
    tap.equal("%s: no executable anonymous mapping of remora's stays" % name,
              now_execs, execs[0], lambda: harness.thread_states(target.pid))
    tap.ok("%s: the anonymous read-write mappings did not grow by the agent's "
           "(%+d bytes)" % (name, now_anon - execs[1]),
           now_anon - execs[1] < (1 << 20))
    tap.equal("%s: the target's fd table is unchanged" % name,
              sorted(os.listdir("/proc/%d/fd" % target.pid)), fds)
    tap.equal("%s: no file of remora's on the machine" % name, remora_files(), files)


# gdb killed by its own hand at the n-th time remora lets the capture's
# thread run (inject.run_thread), before that run or once it stopped:
# moments a signal from outside cannot hit, while the thread is moved
# away from home (its registers point at a system call of libc's).
STEP_KILLS = (("before the mmap runs", 1, "before"),
              ("as the mmap returned", 1, "after"),
              ("before the agent is entered", 2, "before"))
DIE_AT = """
import os, signal, remora.inject as inj
_run, _n = inj.run_thread, [0]
def _dying(*a, **k):
    _n[0] += 1
    if _n[0] == %d and %r == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    r = _run(*a, **k)
    if _n[0] == %d and %r == "after":
        os.kill(os.getpid(), signal.SIGKILL)
    return r
inj.run_thread = _dying
"""


def killed_stepping(tap, it, label, n, when):
    """GIVEN a target, WHEN gdb dies while remora has the capture's thread
    away from home before the agent runs, THEN the thread goes home by
    itself: the target lives on with nothing of remora's left."""
    name = "gdb killed %s %s" % (label, it.name)
    wdir = harness.workdir("hostile-stepkill", it.name)
    with Target.python(it, "busy_target.py", wdir, "sleep") as target:
        if not harness.target_started(tap, name, target):
            return
        files, execs = remora_files(), remora_traces(target.pid)
        fds = sorted(os.listdir("/proc/%d/fd" % target.pid))
        cmds = (["python exec(%r)" % (DIE_AT % (n, when, n, when))]
                + harness.marked("py-heap", "py-heap") + ["detach"])
        g = harness.run_gdb(cmds, pid=target.pid)
        tap.ok("%s: gdb died there (no partition printed)" % name,
               g.rc == -signal.SIGKILL and "Partition of a set" not in g.out, g.report)
        left_nothing(tap, name, target, files, execs, fds)
        finish(tap, name, target)


def non_stop(tap, it):
    """GIVEN gdb in non-stop mode with the target's threads running
    (`continue -a &`), WHEN py-heap and py-heap -no-inject run, THEN each
    refuses in one line (a batch gdb cannot wait for `interrupt -a`'s
    stops, so no capture follows here)."""
    name = "non-stop %s" % it.name
    wdir = harness.workdir("hostile-nonstop", it.name)
    with Target.python(it, "busy_target.py", wdir, "sleep") as target:
        if not harness.target_started(tap, name, target):
            return
        cmds = (["continue -a &", "shell sleep 0.3"]
                + harness.marked("outside", "py-heap -no-inject")
                + harness.marked("inject", "py-heap") + ["detach"])
        g = harness.run_gdb(cmds, pid=target.pid, args=["-iex", "set non-stop on"])
        want = re.compile(r"^remora: \d+ of the process's threads are running \(gdb's "
                          r"non-stop mode\): stop them all first \(interrupt -a\)$")
        for section in ("outside", "inject"):
            lines = [ln for ln in (g.section(section) or "").splitlines() if ln.strip()]
            tap.ok("%s: %s refuses in one line while threads run" % (
                name, "py-heap -no-inject" if section == "outside" else "py-heap"),
                len(lines) == 1 and want.match(lines[0]), g.report)
        tap.ok("%s: gdb ran to its end; only the two refusals failed" % name,
               g.ok(may_fail=("py-heap -no-inject", "py-heap")), g.report)
        # a batch gdb in non-stop mode detaches running threads leaving the
        # process group-stopped (so does gdb without remora): wake it, as
        # long as a thread of it still shows stopped (under load a thread
        # can stop after the first SIGCONT: once in 22 CI cases)
        deadline = time.monotonic() + 20
        while True:
            target.send(signal.SIGCONT)
            if not stopped_threads(target.pid) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        finish(tap, name, target)


def stopped_threads(pid):
    """The threads of pid in the stopped state (T), by tid."""
    out = []
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state == "T":
            out.append(int(tid))
    return out


def not_python(tap):
    name = "non-Python process"
    sleep = shutil.which("sleep") or "/bin/sleep"
    wdir = harness.workdir("hostile-nonpython", "sleep")
    with Target([sleep, "600"], wdir) as target:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.realpath(
                "/proc/%d/exe" % target.pid) != os.path.realpath(sleep):
            time.sleep(0.05)
        g = harness.run_gdb(harness.marked("py-heap", "py-heap") + ["detach"], pid=target.pid)
        tap.ok("%s: gdb ran to its end; only py-heap failed (%.1fs)" % (name, g.seconds),
               g.ok(may_fail=("py-heap",)) and [f["command"] for f in g.failed] == ["py-heap"],
               g.report)
        lines = [ln for ln in (g.section("py-heap") or "").splitlines() if ln.strip()]
        tap.equal("%s: py-heap says in one line that it is not CPython" % name, lines,
                  ["remora: this process is not running CPython (no _PyRuntime symbol)"],
                  g.report)
        tap.ok("%s: no Python traceback" % name,
               not any(s in g.out for s in NO_TRACEBACK), g.report)
        tap.ok("%s: the process goes on" % name, target.alive())


def run(tap, it):
    if not it.free_threaded:
        one_case(tap, it, "inside malloc", "alloc", ["break malloc", "continue", "delete"],
                 no_check)
    elif it.debug_info:
        # a free-threaded build allocates objects with mimalloc, not
        # malloc: a thread stopped where mimalloc takes a new page for
        # them, its heap's page queues mid-change
        one_case(tap, it, "inside mimalloc", "alloc",
                 ["break _mi_malloc_generic", "continue", "delete"], no_check)
    else:
        tap.skip("inside mimalloc %s" % it.name, "a stripped libpython hides mimalloc's "
                 "allocator (_mi_malloc_generic is a local symbol)")
    one_case(tap, it, "user breakpoints", "sleep", USER_BREAKS, breaks_kept)
    dying_case(tap, it)
    tracking_case(tap, it)
    users_frame_case(tap, it)
    fn = sleep_function(it)
    one_case(tap, it, "another thread's breakpoint", "sleep", ["break " + fn],
             thread_break_kept(fn))
    if it.root:
        # a user attaching to a container's process: gdb given the pid
        # only, so it knows neither the root's libraries nor its -dbg files
        bare = harness.Interp(it.name, it.path, root=it.root, debug_info=False)
        saved, harness.current_interp = harness.current_interp, bare
        try:
            one_case(tap, it, "attached with the pid only", "sleep", [], no_check)
        finally:
            harness.current_interp = saved
    why = own_mounts_work()
    if it.root:
        tap.skip("mount namespace %s" % it.name, "its targets run in a mount namespace "
                 "and a root of their own already")
    elif why:
        tap.skip("mount namespace %s" % it.name, why)
    else:
        own_mounts_case(tap, it)
    storm(tap, it)
    repeated(tap, it, "no GIL holder", "nap", NAP_CAPTURES, signals=False)
    if it.version >= (3, 12):
        repeated(tap, it, "own-GIL subinterpreter", "subinterp", SUBINTERP_CAPTURES,
                 signals=False)
    else:
        tap.skip("own-GIL subinterpreter %s" % it.name, "subinterpreters have their own "
                 "GIL from 3.12")
    non_stop(tap, it)
    for label, n, when in STEP_KILLS:
        killed_stepping(tap, it, label, n, when)
    for point in KILL_POINTS:
        interrupted(tap, it, "killed", point)
    interrupted(tap, it, "interrupted", KILL_POINTS[1])


def main():
    tap = Tap("test_hostile")
    interps = harness.interpreters()
    harness.report_interpreters(tap, interps)
    harness.each_interpreter(tap, interps, "hostile", run)
    harness.guarded(tap, "non-Python process", not_python, tap)
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
