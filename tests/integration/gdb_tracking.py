"""gdb_tracking.py — sourced into gdb by test_hostile.py's tracking case.

tracking_stop(GEN0) lets the target run until one of its threads stops
inside _PyObject_GC_TRACK with the youngest generation's list cut: the
list's tail already names the new object as its next, the new object's
next is still 0, and the head still names the old tail.  It finds that
moment with a watchpoint on the tail's _gc_next (the first store the
tracking makes: gdb stops right after it), tried again while what wrote
there was something else.  The watchpoint is gdb's software one: a
virtual machine may not give gdb the debug registers (this one's
hardware watchpoints never fire), and single-stepping is quick here,
the threads sleeping between their allocations.  GEN0 is a gdb expression for the
list's head (needs the interpreter's debug info).  Sets $tracked to the
new object (its PyObject address) and prints one line:
  "cut: tail->next=new new->next=0 head->prev=tail" when it got there,
  else "cut: not reached"."""

import struct

import gdb


def _word(addr):
    return struct.unpack("<Q", bytes(gdb.selected_inferior().read_memory(addr, 8)))[0]


def tracking_stop(gen0, tries=200):
    head = int(gdb.parse_and_eval("(unsigned long)(%s)" % gen0))
    gdb.execute("set can-use-hw-watchpoints 0", to_string=True)
    for _ in range(tries):
        tail = _word(head + 8) & ~3
        wp = gdb.Breakpoint("*(long *)%d" % tail, gdb.BP_WATCHPOINT, gdb.WP_WRITE,
                            internal=True)
        try:
            gdb.execute("continue", to_string=True)
        finally:
            wp.delete()
        new = _word(tail) & ~3
        if (new and new != head and _word(new) == 0 and _word(head + 8) & ~3 == tail):
            gdb.set_convenience_variable("tracked", new + 16)
            print("cut: tail->next=new new->next=0 head->prev=tail")
            return
    print("cut: not reached")
