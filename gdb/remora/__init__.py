"""remora — heapy's memory analyses for a CPython process stopped (or
dead) under gdb.

  (gdb) py-heap                      # the heap by kind, as heapy prints it
  (gdb) python import remora; hp = remora.hpy(); h = hp.heap(); print(h.bytype)

Modules: heapy (hpy(), IdSet, partitions), engine (ctypes binding of
libremora), command (the py-heap command), capture/layout (taking a
snapshot of the inferior), paths (where the shared objects are), errors.
Outside gdb (no `gdb` module) the package still imports, without the
command, so snapshot files can be queried from plain Python.
"""

from .errors import RemoraError
from .heapy import IdSet, hpy

__all__ = ["RemoraError", "IdSet", "hpy"]

try:
    import gdb
except ImportError:
    gdb = None
# (a directory named gdb on sys.path imports as an empty namespace package)
if gdb is not None and hasattr(gdb, "Command"):
    from . import command as _command
    _command.register()
