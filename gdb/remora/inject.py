"""inject.py — gdb's side of the injected capture (src/agent.h draws the
whole protocol; this module drives it).

  1. hold the world still: only the chosen thread ever runs, and gdb
     never resumes it: remora does, by ptrace from gdb's own tracing
     thread (engine.run_thread), so that neither the user's breakpoints
     nor gdb's own (the dynamic linker's _dl_debug_state, for one) are
     in the target while it runs;
  2. write under the chosen thread's stack the frame that takes it home
     by itself (rt_sigreturn: engine.home_frame), then map a scratch area
     in the target with one mmap system call, made by that thread running
     one `syscall` instruction of libc's and stopped as the call returns
     (no function call: no lock, no allocator, no breakpoint of anyone's
     to meet); from there a second frame has it unmap the area first;
  3. write the agent there (rendered and relocated by the engine:
     src/agent_image.c; no dlopen), its control block, the target's
     segments and the thread's registers; make its code read-only and
     executable (mprotect, a second stepped system call);
  4. point the thread at remora_agent_enter with the agent's own stack
     and let it run: gdb's drainer thread copies the stream buffer into
     the snapshot (an in-memory file of gdb's, through process_vm_readv)
     as the agent fills it; the agent stops (SIGURG to itself) when all
     its slots are full and when it is done;
  5. whatever happened: put the thread's registers back (the kernel then
     restarts a system call it was in), unmap the scratch area (a third
     stepped system call), restore the user's breakpoints.

If gdb dies at any moment, nothing of gdb's is in the target (gdb never
resumed it) and the thread goes home by itself: before the agent runs,
through the frames of step 2 (the scratch area unmapped on the way);
after, the agent sees its buffers are no longer drained, stops, and
goes back by its own frame (agent_entry.S).

Only gdb's own commands touch the target; nothing here allocates in it.
"""

import os
import re
import signal as signal_module
import struct
import time

import gdb

from . import elfsyms, engine, paths, progress
from .progress import shown
from .errors import RemoraError

AGENT_ABI = 5
AGENT_STACK = 256 << 10
BUFFER = 4 << 20           # the agent's stream: 4 slots of 1 MiB
PAGE = 4096
# the libc functions the injection looks up (libc_functions)
LIBC_NAMES = ("syscall",)
SEGMENTS_MAX = 1 << 16
SEGMENT_WORDS = 6          # sizeof(struct remora_segment) / 8: the agent
                           # rewrites the list in place, in this much room
SYS_MMAP, SYS_MPROTECT, SYS_MUNMAP = 9, 10, 11
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_PRIVATE_ANON_NORESERVE = 0x02 | 0x20 | 0x4000
MAP_FIXED_NOREPLACE = 0x100000
# the 18 words of a home frame's registers (struct remora_sigframe_regs):
# the engine's register words less orig_rax
GPRS = engine.REGS[:-1]
ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK = 512, 513, 514, 516
SYS_RESTART_SYSCALL = 219

# struct remora_agent_ctl (src/agent.h): the fixed head, the result, then
# the layout descriptor
CTL_HEAD = struct.Struct("<IIII13QIIII4Q")       # ... slot_len[4]
CTL_NODES_WALKED, CTL_DRAINED, CTL_ABORT = 48, 64, 72
CTL_YIELDS = 56
CTL_STATE = 124
STATE_YIELD, STATE_DONE = 1, 2
STOP_SIGNAL = 23           # SIGURG: default action ignore
RESULT = struct.Struct("<ii10QII")
STATUS_TEXT = {
    1: "the agent rejected its arguments (version mismatch?)",
    2: "interrupted",
    4: "the agent could not map memory in the target",
    5: "the layout descriptor is incomplete for this interpreter",
    6: "no interpreter found (_PyRuntime has no interpreters: "
       "not initialized yet, or finalizing)",
    7: "streaming the snapshot failed",
}


AGENT_SYMBOLS = ("remora_agent_enter", "remora_agent_ctl", "remora_agent_saved",
                 "remora_agent_xsave_mode")


_image = {}   # path -> (mtime, Image): the file is read once per build


def image():
    path = paths.agent_library()
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        raise RemoraError("remora: " + paths.missing_hint(path)) from None
    cached = _image.get(path)
    if cached is None or cached[0] != mtime:
        cached = _image[path] = (mtime, engine.AgentImage(path, AGENT_SYMBOLS))
    return cached[1]


# ------------------------------------------------------------ the thread

def read_registers():
    """The selected thread's general registers and orig_rax, as unsigned
    ints, from the kernel (gdb writes its own changes through at once):
    gdb's frame #0 would cost a fifth of a second on a first attach."""
    return engine.get_regs(gdb.selected_thread().ptid[1])


def write_registers(regs):
    """Sets the selected thread's registers, then has gdb read them
    afresh.  A new rip comes with orig_rax -1 unless regs give it: else a
    thread stopped inside a system call would have the kernel "restart"
    it at rip - 2 of the new code."""
    if "rip" in regs and "orig_rax" not in regs:
        regs = dict(regs, orig_rax=2 ** 64 - 1)
    engine.set_regs(gdb.selected_thread().ptid[1], regs)
    gdb.execute("maint flush register-cache", to_string=True)


def _signed(v):
    return v - 2 ** 64 if v >= 2 ** 63 else v


def resume_context(regs):
    """Where the thread goes on if the agent must put it back itself (gdb
    gone): as the kernel would resume it, restarting a system call it was
    interrupted in (rip back over `syscall`, rax the call again)."""
    rip, rax = regs["rip"], regs["rax"]
    orig = _signed(regs["orig_rax"])
    err = -_signed(rax)
    if orig >= 0 and err in (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND):
        rip, rax = rip - 2, orig
    elif orig >= 0 and err == ERESTART_RESTARTBLOCK:
        rip, rax = rip - 2, SYS_RESTART_SYSCALL
    return rip, rax


# libc's syscall() after its `syscall`: cmp $-4095,%rax; jae <error>; ret.
# The way out (src/agent.h, step 5) needs exactly that: the `ret` takes
# the frame's first word.
SYSCALL_TAIL = bytes.fromhex("0f05483d01f0ffff7301c3")
# glibc's __restore_rt: mov $15,%rax (rt_sigreturn); syscall
RESTORE_RT = bytes.fromhex("48c7c00f0000000f05")


def _libc_text(pid):
    """(start, end, file offset, inode, path) of libc's executable
    mapping in pid, or None."""
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if (len(parts) == 6 and parts[1].startswith("r-x")
                    and os.path.basename(parts[5].strip()).startswith(("libc.so", "libc-"))):
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                return lo, hi, int(parts[2], 16), int(parts[4]), parts[5].strip()
    return None


def _text_bytes(pid, text):
    """The bytes libc's code mapping (text: _libc_text()) maps, read from
    the file itself (/proc/PID/map_files, else its path when the inode is
    the mapping's), or None.  Not from the process: reading a page of
    code it never ran would map that page into it (its resident size
    grows)."""
    lo, hi, offset, inode, path = text
    for name in ("/proc/%d/map_files/%x-%x" % (pid, lo, hi), path):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if os.fstat(fd).st_ino != inode:
                continue
            data = os.pread(fd, hi - lo, offset)
            return data if len(data) == hi - lo else None
        except OSError:
            continue
        finally:
            os.close(fd)
    return None


def _free_range(pid, size):
    """A page-aligned address where size bytes fit between pid's mappings
    with a free page on each side: the highest such below the topmost
    mappings (where the kernel's own top-down choice would go), never
    just below the main stack, which grows down; 0 if none is found."""
    spans = []
    try:
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                fields = line.split()
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                if hi <= 2 ** 47:
                    spans.append((lo, hi, fields[-1] == "[stack]"))
    except (OSError, ValueError, IndexError):
        return 0
    spans.sort()
    need = size + 2 * PAGE
    for below, above in reversed(list(zip(spans, spans[1:]))):
        if above[2] or above[0] - below[1] < need:
            continue
        return (above[0] - PAGE - size) & ~(PAGE - 1)
    return 0


class Stepper:
    """System calls made by the selected thread running one `syscall`
    instruction of libc's, stopped as the call returns (run_thread):
    nothing called, nothing locked, nothing printed.  Also finds the two
    pieces of libc the way out of the agent uses (.libc_syscall and
    .restore_rt; 0 if libc is not as expected).

    With them, before the thread is moved at all, the frame that takes it
    home (regs: its registers when the capture began) goes under its
    stack, and each call is made with the stack pointer at .rest: the
    `ret` after the `syscall` takes that frame.  gdb killed at any moment
    leaves a thread that goes home by itself; from map() on, by way of a
    second frame that unmaps the scratch area first.  Between calls the
    thread waits there; the caller puts its registers back when done
    (without the frames, each call does, and runs on the thread's own
    stack)."""

    def __init__(self, pid, tid, regs):
        addr = (elfsyms.libc_functions(pid, LIBC_NAMES) or {}).get("syscall")
        if addr is None:
            raise RemoraError("remora: cannot find libc's syscall() in the process")
        text = _libc_text(pid)
        whole = None
        if text and text[0] <= addr and addr + 64 <= text[1]:
            whole = _text_bytes(pid, text)
        if whole is not None:
            code = whole[addr - text[0]:addr - text[0] + 64]
        else:
            code = bytes(gdb.selected_inferior().read_memory(addr, 64))
        i = code.find(b"\x0f\x05")
        if i < 0:
            raise RemoraError("remora: libc's syscall() has no syscall instruction "
                              "where remora looks")
        self.pid, self.tid, self.regs = pid, tid, regs
        self.insn = addr + i
        self.libc_syscall = self.restore_rt = 0
        if code[i:i + len(SYSCALL_TAIL)] == SYSCALL_TAIL and text:
            if whole is not None:
                at = whole.find(RESTORE_RT)
                self.restore_rt = text[0] + at if at >= 0 else 0
            else:
                self.restore_rt = engine.find_bytes(pid, text[0], text[1], RESTORE_RT) or 0
            self.libc_syscall = self.insn if self.restore_rt else 0
        self.home = self.rest = self._fp = 0
        if self.restore_rt:
            try:
                self.home, self._fp = engine.home_frame(pid, tid, regs["rsp"],
                                                        self._words(), self.restore_rt)
            except RemoraError:
                pass            # a stack that cannot take it: gdb puts it back
            self.rest = self.home

    def _words(self, **changes):
        """The frame's registers: the thread's own, as the kernel would
        resume it (resume_context), with changes."""
        rip, rax = resume_context(self.regs)
        words = dict(self.regs, rip=rip, rax=rax)
        words.update(changes)
        return [words[r] for r in GPRS]

    def call(self, nr, *args):
        regs = dict(zip(("rdi", "rsi", "rdx", "r10", "r8", "r9"), args))
        sp = self.rest or self.regs["rsp"]
        regs.update(rax=nr, rip=self.insn, rsp=sp)
        try:
            write_registers(regs)
            stop = run_thread(((self.insn + 2, sp),))
            if stop.kind != engine.RUN_RETURNED:
                raise RemoraError("remora: the thread making a system call for the capture "
                                  "stopped at 0x%x, not where remora stops it" % stop.rip)
            return _signed(stop.rax)
        finally:
            if not self.rest:
                write_registers(self.regs)

    def map(self, size, prot):
        """mmap of size bytes (anonymous, private, not reserved), made so
        that from the moment the call runs the thread left alone unmaps
        them on its way home: at an address chosen beforehand (a free
        range: every thread is stopped), whose munmap a second frame
        holds.  The address, or -errno."""
        at = _free_range(self.pid, size) if self.home else 0
        if at:
            self._unmapping(at, size)
        r = self.call(SYS_MMAP, at, size, prot,
                      MAP_PRIVATE_ANON_NORESERVE | (MAP_FIXED_NOREPLACE if at else 0),
                      2 ** 64 - 1, 0)
        if r < 0:
            self.rest = self.home
        elif r != at and self.home:
            # elsewhere (a kernel before MAP_FIXED_NOREPLACE takes the
            # address as a hint): unmapped on the way home from now on
            self._unmapping(r, size)
            write_registers({"rsp": self.rest})
        return r

    def _unmapping(self, base, size):
        """.rest becomes a frame that unmaps [base, base + size), then
        takes the thread home."""
        self.rest, _ = engine.home_frame(
            self.pid, self.tid, self.home,
            self._words(rip=self.insn, rax=SYS_MUNMAP, rdi=base, rsi=size, rsp=self.home),
            self.restore_rt, self._fp)

    def unmapped(self):
        """The scratch area is going: home directly."""
        self.rest = self.home


# what the program's threads get of a signal that comes while one runs
# for remora: bit sig - 1 set if gdb passes sig to the program (HeldStill
# sets it from gdb's `handle` table; None: not held)
_pass_mask = None
# a Ctrl-C came to gdb while the thread ran (run_thread): taken by
# take_interrupt() where stopping is safe
_interrupted = False


def _signal_number(name):
    m = re.match(r"^SIG(\d+)$", name)
    if m:
        return int(m.group(1))
    try:
        return int(getattr(signal_module, name))
    except (AttributeError, TypeError, ValueError):
        return 0


def run_thread(returns=(), stop_signals=(), abort_addr=0):
    """Lets the selected thread run, it alone and resumed by remora, not
    gdb (engine.run_thread: so gdb's breakpoints are not in the target
    meanwhile), until one of its system calls returns to one of returns
    ((rip, rsp) pairs) or it stops for one of stop_signals (which the
    program never gets); other signals reach the program as gdb's
    `handle` says.  gdb then reads the thread's registers afresh.
    Returns the engine's RunStop; a Ctrl-C meanwhile is kept for
    take_interrupt()."""
    global _interrupted
    thread = gdb.selected_thread()
    stop_mask = 0
    for sig in stop_signals:
        stop_mask |= 1 << (sig - 1)
    passing = _pass_mask if _pass_mask is not None else _passed_signals()
    stop = engine.run_thread(thread.inferior.pid, thread.ptid[1], returns, passing,
                             stop_mask, abort_addr)
    gdb.execute("maint flush register-cache", to_string=True)
    if stop.interrupted:
        _interrupted = True
    if stop.kind == engine.RUN_GONE:
        raise RemoraError("remora: the process died while remora ran its thread "
                          "(signal %d)" % stop.signal)
    if stop.kind == engine.RUN_EVENT:
        raise RemoraError("remora: the thread running the capture stopped for ptrace "
                          "event %d at 0x%x" % (stop.event, stop.rip))
    return stop


def take_interrupt():
    """Whether a Ctrl-C came while remora ran the thread (once)."""
    global _interrupted
    was, _interrupted = _interrupted, False
    return was


def _check_interrupt():
    if take_interrupt():
        raise KeyboardInterrupt()


# ------------------------------------------------------------ holding still

_SIGNAL_ROW = re.compile(r"^(SIG\w+|EXC_\w+|\d+)\s+(Yes|No)\s+(Yes|No)\s+(Yes|No)", re.M)


def _passed_signals():
    """gdb's `handle` table as a mask: bit sig - 1 for each signal gdb
    passes to the program."""
    mask = 0
    for m in _SIGNAL_ROW.finditer(gdb.execute("info signals", to_string=True)):
        name, _stop, _printed, passed = m.groups()
        sig = _signal_number(name)
        if passed == "Yes" and 1 <= sig <= 64:
            mask |= 1 << (sig - 1)
    return mask


def _despite_ctrl_c(command):
    """gdb.execute(command), again if a pending Ctrl-C interrupts it;
    returns whether one did."""
    interrupted = False
    for _attempt in range(3):
        try:
            gdb.execute(command, to_string=True)
            return interrupted
        except KeyboardInterrupt:
            interrupted = True
    return interrupted


class HeldStill:
    """While in effect: only the selected thread runs, and only when
    remora runs it (run_thread); none of the user's breakpoints,
    watchpoints or catchpoints is in effect (they are disabled, and
    enabled again on exit); and a signal the target receives meanwhile
    reaches the program as gdb's `handle` table says (SIGURG, the agent's
    own stop, excepted)."""

    def __enter__(self):
        global _pass_mask
        self._sched = gdb.parameter("scheduler-locking")
        self._limit = gdb.parameter("backtrace limit")
        self._disabled = []
        try:
            gdb.execute("set scheduler-locking on", to_string=True)
            # Should gdb look for the selected frame while the thread is
            # moved (after a register-cache flush), the search would
            # unwind the whole stack, expanding the debug info of every
            # frame's code (a second, on a first capture): one frame is
            # all it needs.
            gdb.execute("set backtrace limit 1", to_string=True)
            for b in gdb.breakpoints():
                if b.is_valid() and b.enabled:
                    b.enabled = False
                    self._disabled.append(b)
            _pass_mask = _passed_signals() & ~(1 << (STOP_SIGNAL - 1))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        """Restores everything, even through a Ctrl-C (gdb raises it at
        its next command): one that comes is raised at the end."""
        global _pass_mask
        _pass_mask = None
        interrupted = False
        for b in self._disabled:
            if b.is_valid():
                b.enabled = True
        interrupted |= _despite_ctrl_c("set backtrace limit %s" % (self._limit or "unlimited"))
        interrupted |= _despite_ctrl_c("set scheduler-locking %s" % self._sched)
        if interrupted and not exc[0]:
            raise KeyboardInterrupt()


# ------------------------------------------------------------ the capture

def _agent_count(pid, address):
    """A count of objects walked, as the agent keeps it at address in
    the target (read through /proc/PID/mem)."""
    def count():
        with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
            mem.seek(address)
            data = mem.read(8)
        if len(data) != 8:
            raise OSError("short read")
        return struct.unpack("<Q", data)[0]
    return count


def _xsave_mode():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return 1 if "xsave" in line.split() else 0
    except OSError:
        pass
    return 0


class Capture:
    """One injected capture of the selected inferior into the snapshot
    file fd (an in-memory file: engine.sink_create())."""

    def __init__(self, inf, thread, descriptor, fd, options):
        self.inf, self.thread, self.descriptor = inf, thread, descriptor
        self.fd, self.options = fd, options
        self.img = image()
        self.scratch = 0
        self.total = 0
        self.yields = 0            # slots the agent filled
        self.stops = 0             # times it stopped for gdb (all slots full)
        self.last_state = None
        self.seconds = {}

    def run(self):
        t0 = time.perf_counter()
        pid = self.inf.pid
        seg_words, nsegs = engine.process_segments(pid, SEGMENTS_MAX)
        img = self.img
        stack_off = img.size
        segs_off = stack_off + AGENT_STACK
        buf_off = (segs_off + nsegs * 16 + nsegs * SEGMENT_WORDS * 8 + PAGE - 1) & ~(PAGE - 1)
        self.total = buf_off + BUFFER
        self.thread.switch()
        regs = read_registers()
        stepper = Stepper(pid, self.thread.ptid[1], regs)
        self.seconds["prepare"] = time.perf_counter() - t0
        entered = home = False
        try:
            # writable and executable at first, so that the agent's entry
            # makes its code read-only itself: one system call from gdb
            # rather than two; where W+X is refused, two
            base = stepper.map(self.total, PROT_READ | PROT_WRITE | PROT_EXEC)
            text_size = img.text_size
            if base < 0:
                text_size = 0
                base = stepper.map(self.total, PROT_READ | PROT_WRITE)
            if base < 0:
                raise RemoraError("remora: the target could not map %d bytes for the "
                                  "capture (%s)" % (self.total, os.strerror(-base)))
            self.scratch = base
            _check_interrupt()
            self._write(base, regs, seg_words, nsegs, segs_off, buf_off, stepper, text_size)
            if not text_size:
                r = stepper.call(SYS_MPROTECT, base, img.text_size, PROT_READ | PROT_EXEC)
                if r < 0:
                    raise RemoraError("remora: the target could not make the agent's code "
                                      "executable (%s)" % os.strerror(-r))
            self.seconds["inject"] = time.perf_counter() - t0
            entered = True
            result = self._walk(base, buf_off)
            self.seconds["walk"] = time.perf_counter() - t0 - self.seconds["inject"]
            if stepper.libc_syscall:
                # step 5: the thread unmaps the area and sigreturns home
                self._leave(regs)
                entered, home = False, True
            return result
        finally:
            try:
                self.thread.switch()
                if entered:
                    # an error (or Ctrl-C) mid-walk: the agent stops at its
                    # next yield, and the thread goes home as usual
                    home = self._abort(regs, stepper.libc_syscall)
                if self.scratch:
                    stepper.unmapped()
                    stepper.call(SYS_MUNMAP, self.scratch, self.total)
                    self.scratch = 0
            finally:
                if not home:
                    write_registers(regs)

    def _write(self, base, regs, seg_words, nsegs, segs_off, buf_off, stepper, text_size):
        img, inf = self.img, self.inf
        inf.write_memory(base, img.render(base))
        ctl = base + img.sym["remora_agent_ctl"]
        head = CTL_HEAD.pack(AGENT_ABI, CTL_HEAD.size + RESULT.size + len(self.descriptor),
                             self.options, 0, base + segs_off, nsegs, base + buf_off,
                             BUFFER, 0, 0, 0, 0, base, self.total, stepper.libc_syscall,
                             stepper.restore_rt, text_size, STOP_SIGNAL, 0, 0, 0,
                             0, 0, 0, 0)
        inf.write_memory(ctl, head + bytes(RESULT.size) + self.descriptor)
        inf.write_memory(base + segs_off, bytes(seg_words)[:nsegs * 16])
        rip, rax = resume_context(regs)
        saved = [regs[r] for r in GPRS[:16]]
        saved[0] = rax
        inf.write_memory(base + img.sym["remora_agent_saved"],
                         struct.pack("<18Q", *saved, rip, regs["eflags"]))
        inf.write_memory(base + img.sym["remora_agent_xsave_mode"],
                         struct.pack("<I", _xsave_mode()))

    def _ctl(self, off, fmt):
        ctl = self.scratch + self.img.sym["remora_agent_ctl"]
        return struct.unpack(fmt, bytes(self.inf.read_memory(ctl + off, struct.calcsize(fmt))))

    def _set_ctl(self, off, fmt, *values):
        ctl = self.scratch + self.img.sym["remora_agent_ctl"]
        self.inf.write_memory(ctl + off, struct.pack(fmt, *values))

    def _next_stop(self, interruptible=True):
        """Lets the thread run to the agent's next stop; its state.  A
        Ctrl-C meanwhile has the agent stop its walk (CTL_ABORT), and is
        raised here once it has."""
        ctl = self.scratch + self.img.sym["remora_agent_ctl"]
        stop = run_thread((), (STOP_SIGNAL,), ctl + CTL_ABORT)
        (state,) = self._ctl(CTL_STATE, "<I")
        if stop.kind != engine.RUN_SIGNAL or state not in (STATE_YIELD, STATE_DONE):
            raise RemoraError("remora: the thread running the capture stopped at 0x%x "
                              "(signal %d), not where the agent stops"
                              % (stop.rip, stop.signal))
        self._set_ctl(CTL_STATE, "<I", 0)
        self.last_state = state
        if interruptible:
            _check_interrupt()
        return state

    def _walk(self, base, buf_off):
        img, inf = self.img, self.inf
        top = (base + img.size + AGENT_STACK) & ~15
        write_registers({"rip": base + img.sym["remora_agent_enter"], "rsp": top,
                         "rdi": base + img.sym["remora_agent_ctl"]})
        # gdb's drainer thread copies the slots as the agent fills them;
        # at a stop (every slot full, or the walk done) the rest
        ctl = base + img.sym["remora_agent_ctl"]
        drainer = engine.Drainer(inf.pid, ctl, self.fd)
        try:
            with shown("capturing", _agent_count(inf.pid, ctl + CTL_NODES_WALKED),
                       fd=self.fd, key=progress.process_key(inf.pid)):
                while self._next_stop() == STATE_YIELD:
                    self.stops += 1
                    self.yields = drainer.sync()
                self.yields = drainer.sync()
        finally:
            drainer.stop()
        return self._ctl(CTL_HEAD.size, RESULT.format)

    def _leave(self, regs):
        """Step 5, from the DONE stop: the thread unmaps the scratch area
        and sigreturns to where it was, where remora stops it as that
        rt_sigreturn returns."""
        home = resume_context(regs)[0]
        stop = run_thread(((home, regs["rsp"]),))
        self.scratch = 0
        if stop.kind != engine.RUN_RETURNED:
            raise RemoraError("remora: the thread going home from the capture stopped "
                              "at 0x%x, not at 0x%x" % (stop.rip, home))

    def _abort(self, regs, leaves):
        """The walk must stop: ask the agent to (it stops at its next
        yield), let it reach its DONE stop, then go home (if it leaves by
        itself: whether it did)."""
        self._set_ctl(CTL_ABORT, "<Q", 1)
        while (self.last_state != STATE_DONE
               and self._next_stop(interruptible=False) == STATE_YIELD):
            (yields,) = self._ctl(CTL_YIELDS, "<Q")
            self._set_ctl(CTL_DRAINED, "<Q", yields)
        if leaves:
            self._leave(regs)
        return bool(leaves)
