"""Where Numba keeps compiled kernels.

Numba's default is a __pycache__ beside the source, which fails on a read-only install and,
because Numba only checks the timestamp of the file that holds the jitted function, can serve a
kernel compiled from older formulas in another module. So unless NUMBA_CACHE_DIR is set, the
cache goes to a user cache folder named by a hash of bpbench's own sources.
"""
import hashlib
import os
from pathlib import Path

import numba


def _folder():
    h = hashlib.sha256()
    for src in sorted(Path(__file__).parent.rglob("*.py")):
        h.update(src.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bpbench" / f"numba-{numba.__version__}-{h.hexdigest()[:16]}"


if not os.environ.get("NUMBA_CACHE_DIR"):
    try:
        folder = _folder()
        folder.mkdir(parents=True, exist_ok=True)
        numba.config.CACHE_DIR = str(folder)
    except OSError:
        pass  # no writable home: Numba's own fallbacks apply
