"""The CUDA kernels (tests in cuda_cases.py): on the GPU where there is one, else on Numba's
CUDA simulator in a process of its own, which this file starts: the simulator has to be chosen
(NUMBA_ENABLE_CUDASIM=1) before numba is imported, and this process has imported it long since.
"""
import os
import subprocess
import sys

import pytest

numba_cuda = pytest.importorskip("numba.cuda")

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or numba_cuda.is_available():
    from cuda_cases import *  # noqa: F401,F403  (collected here)
else:
    def test_cuda_kernels_on_the_simulator():
        # One process on one core; the kernels it compares against are in the on-disk cache
        # that the rest of the suite fills.
        env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            __file__], env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
        assert " passed" in r.stdout and " skipped" not in r.stdout, r.stdout[-2000:]
