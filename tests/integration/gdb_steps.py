"""gdb_steps.py — sourced first into every gdb the integration tests run
(harness.run_gdb): runs each of the test's commands and remembers which
failed, because a gdb batch run's exit status says only whether its LAST
command failed (a failed `py-heap` followed by `detach` exits 0).

  test-step CMD      runs CMD as if typed; a failure prints gdb's own
                     error line and is remembered, and the run goes on
  test-steps-verdict prints one line, "@@STEPS <json>@@", listing each
                     command that failed; harness.GdbRun reads it, and a
                     run whose output lacks it did not reach its end

Nothing here knows remora: it is test plumbing around gdb's CLI.
"""

import json

import gdb

_failed = []


class _Step(gdb.Command):
    """Run a command; remember it if it fails (tests only)."""

    def __init__(self):
        super().__init__("test-step", gdb.COMMAND_MAINTENANCE)

    def invoke(self, arg, from_tty):
        try:
            gdb.execute(arg, from_tty=from_tty)
        except gdb.error as exc:
            _failed.append({"command": arg, "error": str(exc)})
            gdb.write("%s\n" % exc, gdb.STDERR)


class _Verdict(gdb.Command):
    """Print the commands that failed (tests only)."""

    def __init__(self):
        super().__init__("test-steps-verdict", gdb.COMMAND_MAINTENANCE)

    def invoke(self, arg, from_tty):
        gdb.flush()
        gdb.write("@@STEPS %s@@\n" % json.dumps(_failed))


_Step()
_Verdict()
