"""cli_target.py WORKDIR — a program whose heap the `remora` command tests
read: it keeps Kept instances, each holding a bytes payload, and writes
WORKDIR/facts.json with their count and sizes as sys.getsizeof sees them;
then it creates WORKDIR/ready.  On SIGUSR2 it makes MORE more of them,
rewrites the facts (facts2.json) and creates WORKDIR/ready2; on SIGUSR1
it checks its objects and exits 0 (1 if they changed).
"""

import json
import os
import signal
import sys
import time

N_KEPT = 1234
MORE = 321


class Kept:
    __slots__ = ("payload",)

    def __init__(self, i):
        self.payload = b"k" * (100 + i % 50)


def facts(kept):
    return {"kept_count": len(kept),
            "kept_size": sum(sys.getsizeof(k) for k in kept),
            "payload_size": sum(sys.getsizeof(k.payload) for k in kept)}


def write(wdir, name, data):
    tmp = os.path.join(wdir, name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.rename(tmp, os.path.join(wdir, name))


def main(wdir):
    got = {}
    signal.signal(signal.SIGUSR1, lambda *a: got.setdefault("usr1", True))
    signal.signal(signal.SIGUSR2, lambda *a: got.setdefault("usr2", True))
    kept = [Kept(i) for i in range(N_KEPT)]
    write(wdir, "facts.json", facts(kept))
    write(wdir, "ready", "ready\n")
    grown = False
    while "usr1" not in got:
        if "usr2" in got and not grown:
            kept += [Kept(i) for i in range(MORE)]
            grown = True
            write(wdir, "facts2.json", facts(kept))
            write(wdir, "ready2", "ready\n")
        time.sleep(0.05)
    ok = len(kept) == N_KEPT + (MORE if grown else 0) and all(
        len(k.payload) == 100 + i % 50 for i, k in enumerate(kept[:N_KEPT]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
