"""Result arrays -> tidy pandas tables, saved atomically as Parquet (or CSV) with metadata.

One row per configuration. ``steps`` is the post's count (the forward pass whose loss first
fell below tol) and is NA unless the run converged; ``status`` says why not. ``problem`` names
the network and data, ``seed`` the restart (NA for a problem with explicit initial weights).
"""
import json
import os

import numpy as np
import pandas as pd

from .errors import BpbenchError
from .files import atomic_write
from .network import ORDER_ALIASES, ORDERS
from .axes import SCHEDULE_PARAMETERS, SCHEDULES
from .optimizers import HYPERPARAMETERS, OPTIMIZERS
from .training import CONVERGED, STATUSES

COLUMNS = ("problem", "optimizer", "order") + HYPERPARAMETERS + (
    "seed", "steps", "status", "final_loss", "final_output")
OPTIMIZER_T = pd.CategoricalDtype(list(OPTIMIZERS))
ORDER_T = pd.CategoricalDtype(list(ORDERS))
STATUS_T = pd.CategoricalDtype(list(STATUSES))
SCHEDULE_T = pd.CategoricalDtype(list(SCHEDULES))  # only in tables with a schedule


def frame(block, passes, status, loss, output, attrs, lo=0, options=("full", False)):
    """The table for configurations lo.. of a run block, from its backend's result arrays;
    options: the (batch, shuffle) it ran with (columns where not full batch in order)."""
    n = passes.size
    # The grid's own values, not the run dtype's rounding of them.
    values = block.values(lo, lo + n)
    cols = {"problem": _repeat(pd.CategoricalDtype([block.problem.name]), block.problem.name,
                               n),
            "optimizer": _repeat(OPTIMIZER_T, block.optimizer, n),
            "order": _repeat(ORDER_T, block.order, n)}
    for h in HYPERPARAMETERS:
        cols[h] = values.get(h, np.full(n, np.nan))
    if options != ("full", False):  # per-pattern or mini-batch updates, shuffled or not
        cols["batch"] = _repeat(pd.CategoricalDtype([str(options[0])]), str(options[0]), n)
        cols["shuffle"] = np.full(n, bool(options[1]))
    if block.schedule:  # a learning-rate schedule: its kind, and its parameters
        cols["schedule"] = _repeat(SCHEDULE_T, block.schedule, n)
        for h in SCHEDULE_PARAMETERS:
            cols[h] = values.get(h, np.full(n, np.nan))
    seeds = block.seed_values(lo, lo + n)
    cols["seed"] = pd.arrays.IntegerArray(np.zeros(n, np.int64) if seeds is None else seeds,
                                          mask=np.full(n, seeds is None))
    cols["steps"] = pd.arrays.IntegerArray(passes.astype(np.int64), mask=status != CONVERGED)
    cols["status"] = pd.Categorical.from_codes(status.astype(np.int8), dtype=STATUS_T)
    cols["final_loss"] = loss.astype(np.float64)
    cols["final_output"] = output.astype(np.float64)
    df = pd.DataFrame(cols)
    df.attrs.update(attrs)
    return df


def _full_batch(df):
    """df with the batch columns of full-batch, unshuffled updates."""
    at = df.columns.get_loc("schedule" if "schedule" in df else "seed")
    df = df.copy()
    df.insert(at, "batch", _repeat(pd.CategoricalDtype(["full"]), "full", len(df)))
    df.insert(at + 1, "shuffle", np.zeros(len(df), bool))
    return df


def _constant_lr(df):
    """df with the schedule columns of a constant learning rate."""
    at = df.columns.get_loc("seed")
    df = df.copy()
    df.insert(at, "schedule", _repeat(SCHEDULE_T, "constant", len(df)))
    for k, h in enumerate(SCHEDULE_PARAMETERS, 1):
        df.insert(at + k, h, np.full(len(df), np.nan))
    return df


def _repeat(dtype, value, n):
    return pd.Categorical.from_codes(np.full(n, dtype.categories.get_loc(value), np.int8),
                                     dtype=dtype)


def concat(frames, attrs):
    if any("schedule" in f for f in frames):  # blocks without one: a constant lr
        frames = [f if "schedule" in f else _constant_lr(f) for f in frames]
    if any("batch" in f for f in frames):  # blocks without the columns: full batch, in order
        frames = [f if "batch" in f else _full_batch(f) for f in frames]
    if len(frames) > 1:
        # Blocks of different problems: union the problem categories so the column stays
        # categorical (pandas would fall back to object).
        for col in ("problem", "batch"):
            if col in frames[0]:
                names = list(dict.fromkeys(c for f in frames for c in f[col].cat.categories))
                frames = [f.assign(**{col: f[col].cat.set_categories(names)}) for f in frames]
        df = pd.concat(frames, ignore_index=True)
    else:
        df = frames[0]
    df.attrs = dict(attrs)
    return df


def upgrade(df):
    """A table saved by an older bpbench in today's schema: the post's problem, no seed, the
    order once called "seed" renamed inplace, and the hyperparameters added since (weight
    decay 0, as those runs had, where the optimizer now takes it; NaN elsewhere)."""
    if not {"order", "steps"} <= set(df):
        return df  # not a bpbench table: the caller says what is missing
    if "problem" not in df:
        df.insert(0, "problem", pd.Categorical(["post"] * len(df)))
    if "seed" not in df:
        df.insert(df.columns.get_loc("steps"), "seed", pd.array([pd.NA] * len(df), "Int64"))
    for h in HYPERPARAMETERS:  # hyperparameters added since: what those runs had in effect
        if h not in df:
            uses = df["optimizer"].astype(str).map(
                lambda o: h in OPTIMIZERS[o].hyper if o in OPTIMIZERS else False)
            had = 0.0 if h == "weight_decay" else np.nan
            df.insert(df.columns.get_loc("seed"), h, np.where(uses, had, np.nan))
    order = df["order"].astype("category")
    old = {k: v for k, v in ORDER_ALIASES.items() if k in order.cat.categories}
    df["order"] = order.cat.rename_categories(old).astype(ORDER_T)
    df["problem"] = df["problem"].astype("category")
    return df


def check_folder(path):
    """Fail before any work if no file could be written at path (raises ValueError)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise BpbenchError(f"{path} is a directory")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BpbenchError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise BpbenchError(f"cannot write {path}: folder {folder} is not writable")


def check_writable(path, force=False):
    """Fail before any work if the table could not be saved there (raises ValueError)."""
    path = os.fspath(path)
    check_folder(path)
    if os.path.exists(path) and not force:
        raise BpbenchError(f"{path} exists; pass --force to overwrite it")
    if not path.endswith((".parquet", ".pq", ".csv")):
        raise BpbenchError(f"{path}: output must end in .parquet or .csv")


def save(df, path):
    """Write df to path (.csv or Parquet) via a temporary file and a rename, so an interrupted
    or failed write never leaves a partial file."""
    path = os.fspath(path)

    def write(tmp):
        if path.endswith(".csv"):
            df.to_csv(tmp, index=False)
        else:
            # pandas keeps df.attrs in the Parquet metadata; the bpbench key makes the run
            # settings readable by any Parquet tool.
            import pyarrow as pa
            import pyarrow.parquet as pq
            table = pa.Table.from_pandas(df, preserve_index=False)
            meta = dict(table.schema.metadata or {})
            meta[b"bpbench"] = json.dumps(df.attrs, default=str).encode()
            pq.write_table(table.replace_schema_metadata(meta), tmp)
    atomic_write(path, write)


def load(path):
    """A saved table, with its run settings in df.attrs."""
    path = os.fspath(path)
    if path.endswith(".csv"):
        df = pd.read_csv(path)
        for col, t in (("optimizer", OPTIMIZER_T), ("status", STATUS_T)):
            df[col] = df[col].astype(t)
        for col in ("steps", "seed"):
            if col in df:
                df[col] = df[col].astype("Int64")
        return upgrade(df)
    import pyarrow.parquet as pq
    df = pd.read_parquet(path)
    meta = pq.read_schema(path).metadata or {}
    if b"bpbench" in meta:
        df.attrs.update(json.loads(meta[b"bpbench"]))
    return upgrade(df)


class IncompleteDataset(BpbenchError):
    """A dataset directory whose sweep has not finished."""


def load_dataset(path, partial=False):
    """A chunked dataset directory as one table (pandas reads the part files in order), with
    the run settings of its first part. An unfinished sweep (fewer parts than its manifest
    plans) is refused unless partial, which reads what is there and records "k of n" in
    attrs["chunks"]."""
    import glob

    from .dataset import read_manifest
    path = os.fspath(path)
    # escaped: a dataset called run[1] or r? must not read run1/ or merge r1/ and r2/
    parts = sorted(glob.glob(os.path.join(glob.escape(path), "part-*.parquet")))
    if not parts:
        raise BpbenchError(f"{path}: no part files, so not a bpbench dataset")
    manifest = read_manifest(path)
    planned = None if manifest is None else manifest["chunks"]
    if planned is not None and len(parts) > planned:
        raise BpbenchError(f"{path} holds {len(parts)} part files, more than the {planned} "
                         f"chunks its manifest plans; not reading a mixed directory")
    if planned is not None and len(parts) < planned and not partial:
        raise IncompleteDataset(f"{path} holds {len(parts)} of the sweep's {planned} chunks: "
                                f"finish it with bpbench run ... -o {path} --resume, or pass "
                                f"--partial to read what is there")
    frames = [load(p) for p in parts]
    df = concat(frames, frames[0].attrs)
    if planned is not None:
        df.attrs["chunks"] = f"{len(parts)} of {planned}"
    return df
