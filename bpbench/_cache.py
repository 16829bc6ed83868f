"""Where Numba keeps bpbench's compiled kernels.

Numba's default is a __pycache__ beside the source, which fails on a read-only install and,
because Numba only checks the timestamp of the file that holds the jitted function, can serve a
kernel compiled from older formulas in another module. So bpbench's kernels go to a folder
named by a hash of bpbench's own sources: under $NUMBA_CACHE_DIR when that is set, else under
the user cache folder. Folders of other sources unused for 30 days are removed. A lock file per
kernel in the folder lets one process compile a kernel while others that need it wait to load
it.

Only bpbench's own kernels are pointed there (``cached``): numba.config.CACHE_DIR, and so the
caches of a user's own ``@njit(cache=True)`` functions, stay as the user set them.
"""
import contextlib
import hashlib
import os
import shutil
import time
from pathlib import Path

import filelock
import numba
from numba.core import caching


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
        _locks[name] = filelock.FileLock(os.path.join(lock_folder, f"{name}.lock"))
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


class _Locator(caching.UserProvidedCacheLocator):
    """numba's locator for a user-given cache folder, given bpbench's folder instead of
    numba.config.CACHE_DIR."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(lock_folder, self.get_suitable_cache_subpath(py_file))

    @classmethod
    def from_function(cls, py_func, py_file):
        if lock_folder is None:
            return None
        return super(caching.UserProvidedCacheLocator, cls).from_function(py_func, py_file)


class _Impl(caching.CompileResultCacheImpl):
    # bpbench's folder first, then numba's usual places (beside the source, the user's)
    _locator_classes = [_Locator] + caching.CompileResultCacheImpl._locator_classes[1:]


class _FunctionCache(caching.FunctionCache):
    _impl_class = _Impl


def cached(dispatcher):
    """dispatcher (an njit without cache=True) with its compiled code kept in bpbench's
    folder, as @njit(cache=True) keeps it in numba.config.CACHE_DIR."""
    dispatcher._cache = _FunctionCache(dispatcher.py_func)
    return dispatcher


lock_folder = None
try:
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    prune(folder)
    lock_folder = str(folder)
except OSError:
    pass  # no writable folder: Numba's own fallbacks apply, and no locks
