"""Where Numba keeps compiled kernels.

Numba's default is a __pycache__ beside the source, which fails on a read-only install and,
because Numba only checks the timestamp of the file that holds the jitted function, can serve a
kernel compiled from older formulas in another module. So the cache goes to a folder named by
a hash of bpbench's own sources: under $NUMBA_CACHE_DIR when that is set, else under the user
cache folder. Folders of other sources unused for 30 days are removed. A lock file per kernel
in the folder lets one process compile a kernel while others that need it wait to load it.
"""
import contextlib
import hashlib
import os
import shutil
import time
from pathlib import Path

import filelock
import numba


def _folder():
    h = hashlib.sha256()
    for src in sorted(Path(__file__).parent.rglob("*.py")):
        h.update(src.read_bytes())
    base = (Path(os.environ["NUMBA_CACHE_DIR"]) if os.environ.get("NUMBA_CACHE_DIR")
            else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"))
    return base / "bpbench" / f"numba-{numba.__version__}-{h.hexdigest()[:16]}"


STALE_DAYS = 30


def prune(folder, days=STALE_DAYS):
    """Mark folder as used now and remove its siblings unused for `days`: every change to
    bpbench's sources (an upgrade) starts a new folder, tens of megabytes once a few
    networks have compiled, and nothing would ever read the old ones again."""
    now = time.time()
    os.utime(folder, (now, now))
    for old in folder.parent.glob("numba-*"):
        if old != folder and old.is_dir() and now - old.stat().st_mtime > days * 86400:
            shutil.rmtree(old, ignore_errors=True)


_locks = {}  # name -> FileLock: one per kernel, so that a thread can take it twice


@contextlib.contextmanager
def compiling(name, wait=600.0):
    """Held while the kernel called name compiles: another process on this machine that needs
    it at the same time (a dask or test worker, a second sweep) waits, then loads it from the
    cache, instead of compiling it beside it on the same cores. The system releases the lock
    of a process that dies; a waiter that has waited `wait` seconds compiles anyway."""
    if lock_folder is None:
        yield
        return
    if name not in _locks:
        _locks[name] = filelock.FileLock(lock_folder / f"{name}.lock")
    lock = _locks[name]
    try:
        lock.acquire(timeout=wait)
    except (filelock.Timeout, OSError):
        yield
        return
    try:
        yield
    finally:
        lock.release()


lock_folder = None
try:
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    numba.config.CACHE_DIR = str(folder)
    prune(folder)
    lock_folder = folder
except OSError:
    pass  # no writable folder: Numba's own fallbacks apply, and no locks
