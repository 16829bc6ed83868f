"""The Examples in the public functions' docstrings run, and print what they say."""
import doctest
import importlib
import os

import pytest

import bpbench

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = ["bpbench", "bpbench.api", "bpbench.analysis", "bpbench.plots", "bpbench.studies"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    if name == "bpbench.plots":
        pytest.importorskip("matplotlib")
    monkeypatch.chdir(ROOT)  # examples name sweeps/ files
    module = importlib.import_module(name)
    result = doctest.testmod(module, globs={"bpbench": bpbench},
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_public_functions_are_documented():
    for name in ("sweep", "sweep_file", "trace", "trajectory", "summary", "restarts", "pivot",
                 "plot", "compare"):
        doc = getattr(bpbench, name).__doc__
        assert all(part in doc for part in ("Parameters", "Returns", "Examples")), name
