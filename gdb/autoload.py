"""remora's gdb start-up hook, installed as $(gdbpythondir)/gdb/command/remora.py.

gdb imports every gdb/command/*.py under its Python directory at start-up
(also with -nx); this one imports the installed `remora` package, which
registers `py-heap`.  A failure here must not stop gdb from starting, so it
is reported in one line and swallowed.
"""

import gdb

try:
    import remora  # noqa: F401  (registers py-heap)
except Exception as exc:  # noqa: BLE001 — never break gdb's start-up
    gdb.write("remora: not loaded: %s\n" % (exc,), gdb.STDERR)
