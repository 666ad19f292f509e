/* capture.h — a capture from outside the target: the walker runs in this
 * process (gdb's) over a reader of the target (a stopped process through
 * /proc/PID/mem, or a core file) and writes a snapshot file.
 *
 * Invariants: the target is only read, never written (DESIGN.md 1); a
 * wild pointer is a failed read (the reader), never a fault; the snapshot
 * is complete or flagged partial.  The public entry points are in
 * include/remora/remora.h (remora_capture_*).
 */
#ifndef REMORA_CAPTURE_H
#define REMORA_CAPTURE_H

#include "reader.h"
#include "remora/remora.h"

/* remora_capture_reader() and remora_capture_proc() are declared in
 * include/remora/remora.h: the layout is the descriptor gdb's Python
 * builds (struct remora_layout bytes, gdb/remora/layout.py). */

#endif
