"""finalizing_target.py WORKDIR — a program that stops inside Py_Finalize.

A module-global object's __del__ runs while the interpreter clears
modules at exit; it creates WORKDIR/ready and sleeps, so a test can dump
a core (or attach) while the interpreter is finalizing.  SIGTERM ends it.
"""

import os
import sys
import time

WORKDIR = sys.argv[1]


class Lingers:
    # builtins and modules may be gone when this runs: bind what it needs
    def __del__(self, _open=open, _join=os.path.join, _str=str,
                _getpid=os.getpid, _sleep=time.sleep, _dir=WORKDIR):
        with _open(_join(_dir, "ready"), "w") as f:
            f.write(_str(_getpid()))
        _sleep(600)


keep = [Lingers()]
data = {"k%d" % i: [i] * 3 for i in range(1000)}
