"""A problem's patterns from a file: CSV, NumPy's .npz, or the FANN training-data format.

    data = "xor.csv"     inputs = ["a", "b"]   targets = ["y"]   # the CSV's columns
    data = "xor.npz"                                             # arrays inputs, targets
    data = "xor.data"                                            # FANN (any other name)

A FANN file, the format the classic benchmark sets (PROBEN1 and others) are distributed in,
is a header line ``patterns inputs outputs``, then each pattern's inputs and its outputs,
whitespace-separated. A relative path is taken from the folder of the file that names it.
The file's SHA-256 goes into the problem's spec, and so into a dataset's manifest.
"""
import hashlib
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Data:
    inputs: list  # [pattern][input]
    targets: list  # [pattern][output]
    file: str  # the path as given
    sha256: str


def read(where, path, inputs, targets, base, error):
    """Data from the file at path (relative to the folder base); inputs and targets name a
    CSV's columns. error: the exception class for a one-line message."""
    if not isinstance(path, str) or not path:
        raise error(f"{where}: data must be a file name, got {path!r}")
    full = path if os.path.isabs(path) else os.path.join(base or "", path)
    try:
        with open(full, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise error(f"{where}: data file {full} not found") from None
    except OSError as e:
        raise error(f"{where}: cannot read data file {full}: {e.strerror}") from None
    kind = os.path.splitext(path)[1].lower()
    if kind != ".csv" and (inputs is not None or targets is not None):
        raise error(f"{where}: inputs and targets name a CSV's columns; {path} brings its own")
    try:
        if kind == ".csv":
            x, t = _csv(full, inputs, targets, where, error)
        elif kind == ".npz":
            x, t = _npz(full, where, error)
        else:
            x, t = _fann(raw, where, path, error)
    except (ValueError, UnicodeDecodeError) as e:
        raise error(f"{where}: cannot read data file {path}: {str(e).splitlines()[0]}") from None
    return Data(x, t, path, hashlib.sha256(raw).hexdigest())


def _csv(path, inputs, targets, where, error):
    import pandas as pd
    for key, names in (("inputs", inputs), ("targets", targets)):
        if (not isinstance(names, list) or not names
                or not all(isinstance(c, str) for c in names)):
            raise error(f"{where}: with a CSV, {key} lists its column names, e.g. "
                        f"{key} = [\"x1\", \"x2\"]; got {names!r}")
    df = pd.read_csv(path)
    missing = [c for c in inputs + targets if c not in df.columns]
    if missing:
        raise error(f"{where}: {os.path.basename(path)} has no column {missing[0]!r}; it has "
                    f"{', '.join(map(str, df.columns))}")
    try:
        return (df[inputs].to_numpy(float).tolist(), df[targets].to_numpy(float).tolist())
    except ValueError:
        raise error(f"{where}: {os.path.basename(path)}: the columns {', '.join(inputs + targets)} "
                    f"must hold numbers") from None


def _npz(path, where, error):
    import numpy as np
    with np.load(path, allow_pickle=False) as z:
        missing = {"inputs", "targets"} - set(z.files)
        if missing:
            raise error(f"{where}: {os.path.basename(path)} has no array "
                        f"{sorted(missing)[0]!r}; it needs inputs and targets")
        out = []
        for key in ("inputs", "targets"):
            a = np.asarray(z[key], dtype=float)
            if a.ndim == 1:
                a = a[:, None]
            if a.ndim != 2:
                raise error(f"{where}: {key} in {os.path.basename(path)} must be 2-D "
                            f"[pattern, unit], got shape {a.shape}")
            out.append(a.tolist())
    return out


def _fann(raw, where, path, error):
    words = raw.decode("utf-8").split()
    if len(words) < 3:
        raise error(f"{where}: {path} is not a FANN training file (no 'patterns inputs "
                    f"outputs' header)")
    try:
        P, I, O = (int(w) for w in words[:3])
    except ValueError:
        raise error(f"{where}: {path}: a FANN file starts with three integers, patterns inputs "
                    f"outputs; got {' '.join(words[:3])!r}") from None
    values = [float(w) for w in words[3:]]
    if len(values) != P * (I + O) or min(P, I, O) < 1:
        raise error(f"{where}: {path}: the header says {P} patterns of {I} inputs and {O} "
                    f"outputs ({P * (I + O)} numbers), the file has {len(values)}")
    rows = [values[p * (I + O):(p + 1) * (I + O)] for p in range(P)]
    return [r[:I] for r in rows], [r[I:] for r in rows]
