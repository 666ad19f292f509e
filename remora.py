"""remora.py — load remora into gdb from this tree: (gdb) source <tree>/remora.py

Puts <tree>/gdb first on gdb's sys.path and imports the `remora` package,
which registers the `py-heap` command.  The engine and agent are taken from
<tree>/.libs (see gdb/remora/paths.py), so run `make` first.

An installed remora (auto-loaded from gdb's data directory) is replaced by
this tree's copy: sourcing this file means "use this build".
"""

import os
import sys

import gdb


def _load_from_tree():
    top = os.path.dirname(os.path.abspath(__file__))
    pkg_parent = os.path.join(top, "gdb")
    if not os.path.isfile(os.path.join(pkg_parent, "remora", "__init__.py")):
        gdb.write("remora: %s has no gdb/remora package; source remora.py "
                  "from the top of a remora tree\n" % top, gdb.STDERR)
        return
    loaded = sys.modules.get("remora")
    if loaded is not None:
        origin = os.path.dirname(os.path.abspath(getattr(loaded, "__file__", "") or ""))
        if origin != os.path.join(pkg_parent, "remora"):
            # Another copy (usually the installed one) is loaded: drop it and
            # its submodules so the import below takes this tree's.
            for name in [n for n in sys.modules if n == "remora" or n.startswith("remora.")]:
                del sys.modules[name]
            gdb.write("remora: using %s instead of %s\n" % (pkg_parent, origin))
    if pkg_parent in sys.path:
        sys.path.remove(pkg_parent)
    sys.path.insert(0, pkg_parent)
    import remora  # noqa: F401  (registers py-heap)


_load_from_tree()
del _load_from_tree
