"""Sweeps in chunks: progress, Ctrl-C, and a Parquet dataset on disk that can be resumed.

A sweep's configurations (all blocks, in order) are cut into chunks of a fixed size. With
``-o DIR`` each finished chunk is written to ``DIR/part-NNNNN.parquet`` through a temporary
name, an fsync and a rename (files.py), so a part file is either complete or absent: a chunk
is done exactly when its part file exists. ``DIR/_manifest.json`` (written once, atomically)
records the sweep's specification and the chunk plan; ``--resume`` refuses a directory whose
manifest describes a different sweep, and a lock keeps two runs from writing one directory.
pandas / pyarrow read ``DIR`` whole and skip the ``_`` and ``.`` files.

A dataset grows: ``--resume`` with a sweep that adds seeds to its blocks, or adds blocks,
runs only the configurations it does not hold yet, as an extension with part files of its own
(``DIR/part-g001-NNNNN.parquet``, read after the first ones), listed in the manifest.
"""
import dataclasses
import hashlib
import json
import math
import os

import numpy as np

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
            d["seeds"] = seed_spec(b.seeds)
        if b.sample is not None:
            d["sample"] = b.sample
        if b.schedule is not None:
            d["schedule"] = b.schedule
        for k in ("batch", "shuffle"):  # a block's own, where it has one
            if getattr(b, k) is not None:
                d[k] = getattr(b, k)
        return d
    # The post without seeds, margin and batches is left out, so manifests written before
    # problems existed still match.
    settings = {k: v for k, v in conf.items()
                if not (k == "margin" and v is None or k == "batch" and v == "full"
                        or k == "shuffle" and not v)}
    return {"blocks": [one(b) for b in blocks], "settings": settings, "fast": bool(fast),
            "chunk_size": size}


def seed_spec(seeds):
    """Seeds for a manifest: a run of consecutive seeds as {start, num} (two million seeds
    would be megabytes of JSON as a list), any other set as a list."""
    a = np.asarray(seeds, dtype=np.int64)
    if len(a) and np.all(np.diff(a) == 1):
        return {"start": int(a[0]), "num": int(len(a))}
    return a.tolist()


def planned(spec):
    """The number of chunks a manifest's spec plans (each block's size from its axes, sampled
    points and seeds, cut into chunk_size pieces)."""
    total = 0
    for b in spec["blocks"]:
        seeds = b.get("seeds")
        n = (math.prod(len(a) for a in b["axes"].values())
             * (b["sample"]["n"] if b.get("sample") else 1)
             * (1 if seeds is None else seeds["num"] if isinstance(seeds, dict) else len(seeds)))
        total += -(-n // spec["chunk_size"])
    return total


def _key(block_spec):
    """What makes two manifest blocks the same block, seeds aside."""
    return json.dumps({k: v for k, v in block_spec.items() if k != "seeds"}, sort_keys=True)


def _seed_values(s):
    """A manifest's seeds as an int64 array (None: a block without seeds)."""
    if s is None:
        return None
    if isinstance(s, dict):
        return np.arange(s["start"], s["start"] + s["num"], dtype=np.int64)
    return np.asarray(s, dtype=np.int64)


def read_manifest(path):
    """A dataset directory's manifest, checked (its digest, and the chunk count against what
    its spec plans: a hand-edited count would pass a partial dataset off as complete); None
    where there is none; ValueError where it is corrupt."""
    manifest = os.path.join(path, MANIFEST)
    if not os.path.exists(manifest):
        return None
    try:
        with open(manifest) as f:
            m = json.load(f)
        ext = m.get("extensions", [])
        ok = (m["format"] == FORMAT and m["spec_sha256"] == _digest(m["spec"])
              and (not ext or m["extensions_sha256"] == _digest(ext))
              and m["chunks"] == sum(planned(s) for s in [m["spec"]] + ext))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise GridError(f"{manifest} is corrupt or not a bpbench manifest (or was edited); "
                        f"refusing to use {path}")
    for b in m["spec"].get("blocks", []):  # written before "seed" was renamed inplace
        b["order"] = ORDER_ALIASES.get(b.get("order"), b.get("order"))
        if isinstance(b.get("seeds"), list):  # written before seeds were stored as ranges
            b["seeds"] = seed_spec(b["seeds"])
    return m


def table_bytes(n):
    """A generous estimate of a table's size in memory: ~80 bytes a row."""
    return 80 * n


def memory():
    """This machine's memory in bytes, or None where it cannot tell."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def too_big(need, fraction=0.25):
    """Where need bytes are more than a quarter of memory: the words that say so, else None."""
    total = memory()
    if total is None or need <= fraction * total:
        return None
    return (f"about {need / 2**30:.1f} GiB, more than a quarter of this machine's "
            f"{total / 2**30:.0f} GiB")


def check_memory(n):
    """Refuse, before any work, a table that would not fit comfortably in memory."""
    said = too_big(table_bytes(n))
    if said:
        raise GridError(f"{n:,} configurations make a table of {said}; write it chunk by "
                        f"chunk to a directory instead: -o DIR/")


class Dataset:
    """A directory of part files plus its manifest. blocks, chunks: every generation's (the
    first sweep, then each extension), chunk i's part file at part(i)."""

    def __init__(self, path, blocks, conf, fast, size=CHUNK, resume=False):
        self.path = os.fspath(path)
        self.size = size
        self.spec = spec(blocks, conf, fast, size)
        self.generations = [list(blocks)]
        manifest = os.path.join(self.path, MANIFEST)
        if not os.path.exists(manifest):
            if os.path.exists(self.path) and not os.path.isdir(self.path):
                raise GridError(f"{self.path} exists and is not a directory")
            folder = os.path.dirname(os.path.abspath(self.path))
            if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
                raise GridError(f"cannot create {self.path}: {folder} is missing or not writable")
            os.makedirs(self.path, exist_ok=True)
        # Every check below is made with the lock held: two runs that both found no manifest
        # would otherwise both write one, and the second would describe the other's rows.
        self._lock()
        try:
            self._start(manifest, resume, blocks, conf, fast)
        except BaseException:
            self._held.close()
            raise
        self._layout()
        for f in os.listdir(self.path):  # temporaries of a killed run (ours: we hold the lock)
            if f.startswith(files.TMP_PREFIX) and f.endswith(files.TMP_SUFFIX):
                os.unlink(os.path.join(self.path, f))

    def _layout(self):
        """Every generation's blocks and chunks, one after the other, and their part names:
        part-NNNNN for the first sweep's (as always), part-gGGG-NNNNN for extension G's. Names
        sort in chunk order (pandas reads DIR in name order) however many there are."""
        self.blocks, self.chunks, self._names = [], [], []
        for g, blocks in enumerate(self.generations):
            chunks = plan(blocks, self.size)
            width = max(5, len(str(len(chunks) - 1)))
            prefix = "part-" if g == 0 else f"part-g{g:03d}-"
            self.chunks += [(b + len(self.blocks), lo, hi) for b, lo, hi in chunks]
            self._names += [f"{prefix}{i:0{width}d}.parquet" for i in range(len(chunks))]
            self.blocks += blocks

    def _start(self, manifest, resume, blocks, conf, fast):
        if os.path.exists(manifest):
            if not resume:
                raise GridError(f"{self.path} already holds a sweep; pass --resume to finish it, "
                                f"or choose a new directory")
            self._resume(blocks, conf, fast)
            return
        if any(f != files.LOCK for f in os.listdir(self.path)):
            raise GridError(f"{self.path} is not empty and holds no bpbench sweep; "
                            f"choose a new or empty directory")
        self._write_manifest({"format": FORMAT, "version": __version__, "spec": self.spec,
                              "spec_sha256": _digest(self.spec)})

    def _write_manifest(self, m):
        m["chunks"] = sum(planned(s) for s in [m["spec"]] + m.get("extensions", []))
        files.write_bytes(os.path.join(self.path, MANIFEST), json.dumps(m, indent=1).encode())

    def _lock(self):
        self._held = files.lock(self.path)
        if self._held is None:
            raise GridError(f"another bpbench run is writing to {self.path}; wait for it to "
                            f"finish, or choose another directory")

    def _resume(self, blocks, conf, fast):
        """Finish the dataset, and extend it by what the sweep asks for that it does not hold:
        seeds added to a block, or blocks added."""
        m = read_manifest(self.path)
        held = [m["spec"]] + m.get("extensions", [])
        if held == [self.spec]:
            return  # the same sweep: finish it
        if any(held[0][k] != self.spec[k] for k in ("settings", "fast", "chunk_size")):
            raise GridError(f"{self.path} holds a different sweep (its settings or chunking "
                            f"differ); resume it with the same settings and options, or choose "
                            f"a new directory")
        asked = {_key(d): b for d, b in zip(self.spec["blocks"], blocks)}
        covered, generations = {}, []
        for g in held:
            generation = []
            for d in g["blocks"]:
                k = _key(d)
                if k not in asked:
                    raise GridError(f"{self.path} holds a different sweep: its {d['optimizer']} "
                                    f"{d['order']} block is not in this one (grid or problem "
                                    f"differ); resume with a sweep that includes everything "
                                    f"the dataset holds, or choose a new directory")
                seeds = _seed_values(d.get("seeds"))
                generation.append(dataclasses.replace(asked[k], seeds=seeds))
                covered.setdefault(k, set()).update(() if seeds is None else seeds.tolist())
            generations.append(generation)
        new = []
        for d, b in zip(self.spec["blocks"], blocks):
            k = _key(d)
            if k not in covered:
                new.append(b)
            elif b.seeds is not None:
                extra = [s for s in b.seeds.tolist() if s not in covered[k]]
                if extra:
                    new.append(dataclasses.replace(b, seeds=np.array(extra, dtype=np.int64)))
        self.generations = generations
        if new:
            self.generations.append(new)
            m["extensions"] = held[1:] + [spec(new, conf, fast, self.size)]
            m["extensions_sha256"] = _digest(m["extensions"])
            self._write_manifest(m)

    def part(self, i):
        return os.path.join(self.path, self._names[i])

    def done(self, i):
        return os.path.exists(self.part(i))

    def write(self, i, df):
        from .results import save
        if self.done(i):  # never overwrite a finished chunk
            raise FileExistsError(self.part(i))
        save(df, self.part(i))


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()

