"""paths.py — where remora's two shared objects live.

Two layouts, decided once at import:
  build tree   <top>/gdb/remora/paths.py   → <top>/.libs/libremora.so,
                                              <top>/.libs/remora-agent.so
  installed    $(gdbpythondir)/remora/paths.py, with _PKGLIBDIR below
               rewritten by `make install` to $(pkglibdir).
REMORA_LIBDIR in the environment overrides both (for VPATH builds and
tests).

Invariant: every function returns an absolute path; none checks that the
file exists (the loaders do, and say what to build).
"""

import os

# `make install` rewrites the next line (see "install rules" in Makefile.am).
# In the build tree it stays None.
_PKGLIBDIR = None

ENGINE_NAME = "libremora.so"
AGENT_NAME = "remora-agent.so"


def _top_of_tree():
    """The build tree's top: two levels above the directory of this file."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(os.path.dirname(here))


def library_dir():
    """Directory holding libremora.so and remora-agent.so."""
    override = os.environ.get("REMORA_LIBDIR")
    if override:
        return os.path.abspath(override)
    if _PKGLIBDIR is not None:
        return _PKGLIBDIR
    return os.path.join(_top_of_tree(), ".libs")


def is_installed():
    """True when this copy of the package was installed by `make install`."""
    return _PKGLIBDIR is not None


def engine_library():
    """Absolute path of libremora.so (the query engine, loaded into gdb)."""
    return os.path.join(library_dir(), ENGINE_NAME)


def agent_library():
    """Absolute path of remora-agent.so (loaded into a live target)."""
    return os.path.join(library_dir(), AGENT_NAME)


def missing_hint(path):
    """One line telling the user how to get PATH, for loaders' errors."""
    if is_installed():
        return "%s is missing: reinstall remora (make install)" % path
    return "%s is missing: build remora first (make in %s)" % (path, _top_of_tree())
