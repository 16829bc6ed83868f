#!/usr/bin/env bash
# Every GPU check in one go, for a machine with an NVIDIA GPU and no network (the device
# machines these sessions are lent): versions, the CUDA tests on the real GPU, the PTX test,
# benchmarks/gpu.py, benchmarks/ptxas_nadam.py, and a first `bpbench run` on the cuda backend.
# Logs go to $OUT.
#   bash benchmarks/gpu_check.sh
# Wheels in .whl/ (numba, llvmlite, numba-cuda, as pinned here) stand in if the machine's own
# numba stack cannot run bpbench.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d)}
export TMPD=$(mktemp -d)  # outputs that need not come back
export PYTHONUNBUFFERED=1
step() { echo; echo "== $1 ($(date +%T))"; }
step "machine"
export PYTHONPATH=$PWD
smoke() {  # one cuda sweep against the serial backend
    python3 -c "import bpbench; kw = dict(lr=[0.5, 5.0], max_steps=50)
a = bpbench.sweep('sgd', backend='cuda', **kw); b = bpbench.sweep('sgd', backend='serial', **kw)
assert list(a.steps) == list(b.steps), (a.steps, b.steps); print('cuda smoke test passed')"
}
versions() {
    python3 -c "import sys, numba, llvmlite, numpy, pandas, numba_cuda; from numba import cuda
print(sys.version.split()[0], 'numba', numba.__version__, 'llvmlite', llvmlite.__version__,
      'numba-cuda', numba_cuda.__version__, 'numpy', numpy.__version__, 'pandas',
      pandas.__version__, 'gpu available', cuda.is_available())"
}
versions
# The machine's own numba stack first; else the pinned wheels, with numpy.row_stack (which
# numba-cuda 0.30.4 registers, and numpy 2.5 removed) put back for it.
if ! smoke 2>&1 | tail -3 && compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    echo 'import numpy; numpy.row_stack = getattr(numpy, "row_stack", numpy.vstack)' \
        > /tmp/site/sitecustomize.py
    export PYTHONPATH=$PWD:/tmp/site
    echo "using the carried wheels"; versions; smoke 2>&1 | tail -3
fi

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
grep -m1 "model name" /proc/cpuinfo; nproc

step "CUDA tests on the GPU, and the PTX test"
timeout 240 python3 -m pytest -q -n 8 -p no:cacheprovider tests/test_cuda.py \
    tests/test_cuda_ptx.py 2>&1 | tee "$OUT/tests.log" | tail -25

step "benchmarks/gpu.py"
timeout 300 python3 benchmarks/gpu.py 2>&1 | tee "$OUT/gpu.log"

step "benchmarks/ptxas_nadam.py (is NAdam's persistent kernel still miscompiled?)"
timeout 120 python3 benchmarks/ptxas_nadam.py "$OUT/sass" 2>&1 | tee "$OUT/ptxas_nadam.log"

step "first bpbench run on the cuda backend (one process: kernels compile), then again"
for i in 1 2; do
    /usr/bin/time -f "bpbench run --backend cuda: %e s wall" timeout 120 python3 -m bpbench run \
        sweeps/rmsprop_around_claim.toml --backend cuda -q -o "$TMPD/around_$i.parquet" 2>&1
done
python3 - <<'PY'
import os, pandas as pd, bpbench
keys = ["order", "lr", "beta", "eps"]
gpu = pd.read_parquet(os.environ["TMPD"] + "/around_1.parquet").sort_values(keys, ignore_index=True)
cpu = bpbench.sweep_file("sweeps/rmsprop_around_claim.toml").sort_values(keys, ignore_index=True)
differ = ((gpu.steps != cpu.steps) | (gpu.status.astype(str) != cpu.status.astype(str))).sum()
print(f"cuda table: {len(gpu)} rows, backend {gpu.attrs.get('backend')!r}; differ from cpu "
      f"exact float64 (steps or status): {differ}")
PY
step "done"
