"""Files that are either complete or absent, with the permissions the user expects.

``atomic_write`` writes through a temporary name in the same folder, fsyncs it, gives it the
umask's permissions (or the mode of the file it replaces), renames it into place and fsyncs
the folder, so neither an interrupt nor a power loss leaves a partial file under the real
name. ``lock`` holds an exclusive lock on a dataset directory for the life of the process.
"""
import fcntl
import os
import tempfile

TMP_PREFIX, TMP_SUFFIX = ".bpbench-", ".tmp"
LOCK = ".bpbench.lock"


def _umask_mode():
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_dir(folder):
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, write):
    """write(tmp_path) fills a temporary file, which then replaces path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TMP_PREFIX, suffix=TMP_SUFFIX)
    os.close(fd)
    try:
        write(tmp)
        mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else _umask_mode()
        os.chmod(tmp, mode)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(folder)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_bytes(path, data):
    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)
    atomic_write(path, write)


def lock(folder):
    """An exclusive lock on folder (an open file; keep it), or None if another process holds
    it."""
    f = open(os.path.join(folder, LOCK), "a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        return None
    return f
