"""Sweeps in chunks: progress, Ctrl-C, and a Parquet dataset on disk that can be resumed.

A sweep's configurations (all blocks, in order) are cut into chunks of a fixed size. With
``-o DIR`` each finished chunk is written to ``DIR/part-NNNNN.parquet`` through a temporary
name, an fsync and a rename (files.py), so a part file is either complete or absent: a chunk
is done exactly when its part file exists. ``DIR/_manifest.json`` (written once, atomically)
records the sweep's specification and the chunk plan; ``--resume`` refuses a directory whose
manifest describes a different sweep, and a lock keeps two runs from writing one directory.
pandas / pyarrow read ``DIR`` whole and skip the ``_`` and ``.`` files.
"""
import hashlib
import json
import os

from . import __version__, files, problems
from .grid import GridError
from .network import ORDER_ALIASES

CHUNK = 65536  # configurations per chunk: ~0.1 s or more of work on the cpu backend
MANIFEST = "_manifest.json"
FORMAT = "bpbench-dataset-1"


def plan(blocks, size=CHUNK):
    """[(block index, lo, hi)]: every configuration of every block, in order, in chunks."""
    return [(b, lo, min(lo + size, block.size))
            for b, block in enumerate(blocks) for lo in range(0, block.size, size)]


def spec(blocks, conf, fast, size):
    """What determines the table: the grid, the settings and the chunking (not the backend:
    serial and cpu give the same table; numpy and cuda agree to their documented tolerance)."""
    def one(b):
        d = {"optimizer": b.optimizer, "order": b.order,
             "axes": {h: [float(v) for v in a] for h, a in b.axes.items()}}
        if b.problem.spec != problems.POST.spec:
            d["problem"] = b.problem.spec
        if b.seeds is not None:
            d["seeds"] = [int(s) for s in b.seeds]
        if b.sample is not None:
            d["sample"] = b.sample
        return d
    # The post without seeds and margin is left out, so manifests written before problems
    # existed still match.
    settings = {k: v for k, v in conf.items() if not (k == "margin" and v is None)}
    return {"blocks": [one(b) for b in blocks], "settings": settings, "fast": bool(fast),
            "chunk_size": size}


def table_bytes(n):
    """A generous estimate of a table's size in memory: ~80 bytes a row."""
    return 80 * n


def check_memory(n, fraction=0.25):
    """Refuse, before any work, a table that would not fit comfortably in memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return
    need = table_bytes(n)
    if need > fraction * total:
        raise GridError(f"{n:,} configurations make a table of about {need / 2**30:.1f} GiB, "
                        f"more than a quarter of this machine's {total / 2**30:.0f} GiB; "
                        f"write it chunk by chunk to a directory instead: -o DIR/")


class Dataset:
    """A directory of part files plus its manifest."""

    def __init__(self, path, blocks, conf, fast, size=CHUNK, resume=False):
        self.path = os.fspath(path)
        self.chunks = plan(blocks, size)
        self.spec = spec(blocks, conf, fast, size)
        # Part names sort in chunk order (pandas reads DIR in name order) however many there
        # are; sweeps of up to 100,000 chunks keep the 5 digits they always had.
        self.width = max(5, len(str(len(self.chunks) - 1)))
        manifest = os.path.join(self.path, MANIFEST)
        if os.path.exists(manifest):
            if not resume:
                raise GridError(f"{self.path} already holds a sweep; pass --resume to finish it, "
                                f"or choose a new directory")
            self._check(manifest)
            self._lock()
        else:
            if os.path.isdir(self.path) and any(f != files.LOCK for f in os.listdir(self.path)):
                raise GridError(f"{self.path} is not empty and holds no bpbench sweep; "
                                f"choose a new or empty directory")
            if os.path.exists(self.path) and not os.path.isdir(self.path):
                raise GridError(f"{self.path} exists and is not a directory")
            folder = os.path.dirname(os.path.abspath(self.path))
            if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
                raise GridError(f"cannot create {self.path}: {folder} is missing or not writable")
            os.makedirs(self.path, exist_ok=True)
            self._lock()
            files.write_bytes(manifest, json.dumps(
                {"format": FORMAT, "version": __version__, "spec": self.spec,
                 "spec_sha256": _digest(self.spec), "chunks": len(self.chunks)},
                indent=1).encode())
        for f in os.listdir(self.path):  # temporaries of a killed run (ours: we hold the lock)
            if f.startswith(files.TMP_PREFIX) and f.endswith(files.TMP_SUFFIX):
                os.unlink(os.path.join(self.path, f))

    def _lock(self):
        self._held = files.lock(self.path)
        if self._held is None:
            raise GridError(f"another bpbench run is writing to {self.path}; wait for it to "
                            f"finish, or choose another directory")

    def _check(self, manifest):
        try:
            with open(manifest) as f:
                m = json.load(f)
            ok = (m["format"] == FORMAT and m["spec_sha256"] == _digest(m["spec"]))
        except (OSError, ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise GridError(f"{manifest} is corrupt or not a bpbench manifest; refusing to "
                            f"touch {self.path}")
        for b in m["spec"].get("blocks", []):  # written before "seed" was renamed inplace
            b["order"] = ORDER_ALIASES.get(b.get("order"), b.get("order"))
        if m["spec"] != self.spec:
            raise GridError(f"{self.path} holds a different sweep (grid, settings or chunking "
                            f"differ); resume it with the same sweep file and options, or "
                            f"choose a new directory")

    def part(self, i):
        return os.path.join(self.path, f"part-{i:0{self.width}d}.parquet")

    def done(self, i):
        return os.path.exists(self.part(i))

    def write(self, i, df):
        from .results import save
        if self.done(i):  # never overwrite a finished chunk
            raise FileExistsError(self.part(i))
        save(df, self.part(i))


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()

