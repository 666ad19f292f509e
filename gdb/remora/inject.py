"""inject.py — gdb's side of the injected capture (src/agent.h draws the
whole protocol; this module drives it).

  1. hold the world still: scheduler-locking on (only the chosen thread
     ever runs), the user's breakpoints, watchpoints and catchpoints
     disabled;
  2. map a scratch area in the target with one mmap system call, made by
     the chosen thread stepping over a `syscall` instruction of libc's
     (no function call: no lock, no allocator, no breakpoint to meet);
  3. write the agent there (rendered and relocated by the engine:
     src/agent_image.c; no dlopen), its control block, the target's
     segments and the thread's registers; make its code read-only and
     executable (mprotect, a second stepped system call);
  4. point the thread at remora_agent_enter with the agent's own stack,
     hardware breakpoints on remora_agent_yield and remora_agent_done,
     and let it run: at each yield copy the stream buffer out into the
     snapshot (an in-memory file of gdb's, through process_vm_readv) and
     let it go on; at done, read the result;
  5. whatever happened: put the thread's registers back (the kernel then
     restarts a system call it was in), unmap the scratch area (a third
     stepped system call), delete the breakpoints, restore the user's.

Hardware breakpoints live in the thread's debug registers, which the
kernel clears when gdb goes away: if gdb dies mid-walk, the thread meets
no breakpoint, the agent sees its buffers are no longer drained, stops,
and puts the thread back where it was by itself (agent_entry.S).

Only gdb's own commands touch the target; nothing here allocates in it.
"""

import os
import re
import struct
import time

import gdb

from . import elfsyms, engine, paths
from .errors import RemoraError

AGENT_ABI = 3
AGENT_STACK = 256 << 10
BUFFER = 4 << 20
PAGE = 4096
SEGMENTS_MAX = 1 << 16
SEGMENT_WORDS = 6          # sizeof(struct remora_segment) / 8: the agent
                           # rewrites the list in place, in this much room
SYS_MMAP, SYS_MPROTECT, SYS_MUNMAP = 9, 10, 11
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_PRIVATE_ANON_NORESERVE = 0x02 | 0x20 | 0x4000
GPRS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10",
        "r11", "r12", "r13", "r14", "r15", "rip", "eflags")
ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK = 512, 513, 514, 516
SYS_RESTART_SYSCALL = 219

# struct remora_agent_ctl (src/agent.h): the fixed head, the result, then
# the layout descriptor
CTL_HEAD = struct.Struct("<IIII8Q")
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


AGENT_SYMBOLS = ("remora_agent_enter", "remora_agent_done", "remora_agent_yield",
                 "remora_agent_ctl", "remora_agent_saved", "remora_agent_xsave_mode")


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

def _frame():
    return gdb.newest_frame()


def read_registers():
    """The selected thread's general registers and orig_rax, as unsigned ints."""
    f = _frame()
    regs = {r: int(f.read_register(r)) & (2 ** 64 - 1) for r in GPRS}
    regs["orig_rax"] = int(f.read_register("orig_rax")) & (2 ** 64 - 1)
    return regs


def write_registers(regs):
    """Sets the selected thread's registers.  A new rip comes with
    orig_rax -1 unless regs give it: else a thread stopped inside a system
    call would have the kernel "restart" it at rip - 2 of the new code."""
    for r in GPRS:
        if r in regs:
            gdb.execute("set $%s = %d" % (r, regs[r]), to_string=True)
    orig = regs.get("orig_rax", 2 ** 64 - 1 if "rip" in regs else None)
    if orig is not None:
        gdb.execute("set $orig_rax = %d" % _signed(orig), to_string=True)


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


class Stepper:
    """System calls made by the selected thread running one `syscall`
    instruction of libc's, up to a hardware breakpoint just after it:
    nothing called, nothing locked, nothing printed."""

    def __init__(self, pid):
        addr = (elfsyms.libc_functions(pid, ("syscall",)) or {}).get("syscall")
        if addr is None:
            raise RemoraError("remora: cannot find libc's syscall() in the process")
        code = bytes(gdb.selected_inferior().read_memory(addr, 64))
        i = code.find(b"\x0f\x05")
        if i < 0:
            raise RemoraError("remora: libc's syscall() has no syscall instruction "
                              "where remora looks")
        self.insn = addr + i

    def call(self, nr, *args):
        saved = read_registers()
        regs = dict(zip(("rdi", "rsi", "rdx", "r10", "r8", "r9"), args))
        regs.update(rax=nr, rip=self.insn)
        after = silent_hbreak(self.insn + 2)
        try:
            write_registers(regs)
            run_to((self.insn + 2,))
            return _signed(int(_frame().read_register("rax")) & (2 ** 64 - 1))
        finally:
            delete_hbreaks([after])
            write_registers(saved)


def silent_hbreak(addr):
    """An internal hardware breakpoint at addr that prints nothing."""
    b = gdb.Breakpoint("*%d" % addr, type=gdb.BP_HARDWARE_BREAKPOINT, internal=True)
    b.silent = True
    return b


def delete_hbreaks(breakpoints):
    """Deletes them, and clears the selected thread's debug status, where
    the last one hit left its bit (engine.clear_debug_status says why)."""
    for b in breakpoints:
        if b.is_valid():
            b.delete()
    engine.clear_debug_status(gdb.selected_thread().ptid[1])


def run_to(addrs):
    """Lets the selected thread run until it stops at one of addrs (with
    scheduler-locking, no other thread runs); returns that address.  A
    stop anywhere else is an error (the caller puts things back)."""
    gdb.execute("continue", to_string=True)
    pc = int(_frame().pc())
    if pc not in addrs:
        raise RemoraError("remora: the thread running the capture stopped at 0x%x, "
                          "not where remora stops it" % pc)
    return pc


# ------------------------------------------------------------ holding still

_SIGNAL_ROW = re.compile(r"^(SIG\w+|EXC_\w+|\d+)\s+(Yes|No)\s+(Yes|No)\s+(Yes|No)", re.M)


class HeldStill:
    """While in effect: only the selected thread runs, when gdb lets it;
    none of the user's breakpoints, watchpoints or catchpoints can stop it
    (they are disabled, and enabled again on exit); and a signal the
    target receives is passed to it as gdb's `handle` says, without
    stopping gdb or printing (stop and print are restored on exit)."""

    def __enter__(self):
        self._sched = gdb.parameter("scheduler-locking")
        self._limit = gdb.parameter("backtrace limit")
        self._disabled = []
        self._signals = []
        try:
            gdb.execute("set scheduler-locking on", to_string=True)
            # Each register write makes gdb look for the selected frame
            # again; with the thread moved, that search would unwind the
            # whole stack, expanding the debug info of every frame's code
            # (a second, on a first capture): one frame is all it needs.
            gdb.execute("set backtrace limit 1", to_string=True)
            for b in gdb.breakpoints():
                if b.is_valid() and b.enabled:
                    b.enabled = False
                    self._disabled.append(b)
            for m in _SIGNAL_ROW.finditer(gdb.execute("info signals", to_string=True)):
                name, stop, printed = m.group(1), m.group(2), m.group(3)
                if name in ("SIGINT", "SIGTRAP") or (stop, printed) == ("No", "No"):
                    continue
                gdb.execute("handle %s nostop noprint" % name, to_string=True)
                self._signals.append((name, stop == "Yes", printed == "Yes"))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for name, stop, printed in self._signals:
            gdb.execute("handle %s %s %s" % (name, "print" if printed else "noprint",
                                             "stop" if stop else "nostop"), to_string=True)
        for b in self._disabled:
            if b.is_valid():
                b.enabled = True
        gdb.execute("set backtrace limit %s" % (self._limit or "unlimited"), to_string=True)
        gdb.execute("set scheduler-locking %s" % self._sched, to_string=True)


# ------------------------------------------------------------ the capture

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
        self.breakpoints = []
        self.yields = 0
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
        stepper = Stepper(pid)
        self.seconds["prepare"] = time.perf_counter() - t0
        try:
            base = stepper.call(SYS_MMAP, 0, self.total, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE_ANON_NORESERVE, 2 ** 64 - 1, 0)
            if base < 0:
                raise RemoraError("remora: the target could not map %d bytes for the "
                                  "capture (%s)" % (self.total, os.strerror(-base)))
            self.scratch = base
            self._write(base, regs, seg_words, nsegs, segs_off, buf_off)
            r = stepper.call(SYS_MPROTECT, base, img.text_size, PROT_READ | PROT_EXEC)
            if r < 0:
                raise RemoraError("remora: the target could not make the agent's code "
                                  "executable (%s)" % os.strerror(-r))
            self.seconds["inject"] = time.perf_counter() - t0
            result = self._walk(base, buf_off)
            self.seconds["walk"] = time.perf_counter() - t0 - self.seconds["inject"]
            return result
        finally:
            try:
                self.thread.switch()
                delete_hbreaks(self.breakpoints)
                write_registers(regs)
                if self.scratch:
                    stepper.call(SYS_MUNMAP, self.scratch, self.total)
                    self.scratch = 0
            finally:
                write_registers(regs)

    def _write(self, base, regs, seg_words, nsegs, segs_off, buf_off):
        img, inf = self.img, self.inf
        inf.write_memory(base, img.render(base))
        ctl = base + img.sym["remora_agent_ctl"]
        head = CTL_HEAD.pack(AGENT_ABI, CTL_HEAD.size + RESULT.size + len(self.descriptor),
                             self.options, 0, base + segs_off, nsegs, base + buf_off,
                             BUFFER, 0, 0, 0, 0)
        inf.write_memory(ctl, head + bytes(RESULT.size) + self.descriptor)
        inf.write_memory(base + segs_off, bytes(seg_words)[:nsegs * 16])
        rip, rax = resume_context(regs)
        saved = [regs[r] for r in GPRS[:16]]
        saved[0] = rax
        inf.write_memory(base + img.sym["remora_agent_saved"],
                         struct.pack("<18Q", *saved, rip, regs["eflags"]))
        inf.write_memory(base + img.sym["remora_agent_xsave_mode"],
                         struct.pack("<I", _xsave_mode()))

    def _walk(self, base, buf_off):
        img, inf = self.img, self.inf
        ctl = base + img.sym["remora_agent_ctl"]
        yield_at = base + img.sym["remora_agent_yield"]
        done_at = base + img.sym["remora_agent_done"]
        self.breakpoints += [silent_hbreak(yield_at), silent_hbreak(done_at)]
        top = (base + img.size + AGENT_STACK) & ~15
        write_registers({"rip": base + img.sym["remora_agent_enter"], "rsp": top,
                         "rdi": ctl})
        while True:
            pc = run_to((yield_at, done_at))
            if pc == yield_at:
                (length, yields) = struct.unpack(
                    "<QQ", bytes(inf.read_memory(ctl + 48, 16)))
                engine.drain(inf.pid, base + buf_off, length, self.fd)
                self.yields = yields
                inf.write_memory(ctl + 64, struct.pack("<Q", yields))
            else:
                break
        raw = bytes(inf.read_memory(ctl + CTL_HEAD.size, RESULT.size))
        return RESULT.unpack(raw)
