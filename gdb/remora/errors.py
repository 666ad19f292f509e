"""errors.py — remora's one Python exception.

Everything the package raises on purpose is a RemoraError whose message is
one readable line; `py-heap` prints it as gdb's error (no traceback).
engine.py turns the C library's error objects into it, keeping the C
error's code, errno, path and address when there are any.
"""


class RemoraError(Exception):
    """A remora failure, described in one line (str(error))."""

    def __init__(self, message, code=None, errno=None, path=None, address=None):
        super().__init__(message)
        self.code = code
        self.errno = errno
        self.path = path
        self.address = address
