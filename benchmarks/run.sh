#!/usr/bin/env bash
# Reproduce benchmarks/RESULTS.md on this machine: sweep throughput, bpbench against
# hand-written C, cold compile times, Dask concurrency, then the start-up time of
# `bpbench reproduce` and of a first `bpbench run` from an empty kernel cache and a warm one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bpbench bench --workload W1,W2,W3,LARGE --repeat 3
python "$here/c_limit.py"
python "$here/compile_times.py" post xor
python "$here/compile_cpu.py"
python -c "import distributed" 2>/dev/null && python "$here/dask_concurrency.py" \
  || echo "dask_concurrency.py skipped: pip install '.[dask]'"
cache=$(mktemp -d) out=$(mktemp -d)
trap 'rm -rf "$cache" "$out"' EXIT
for run in cold warm warm; do
  start=$(date +%s.%N)
  XDG_CACHE_HOME="$cache" bpbench reproduce > /dev/null
  echo "bpbench reproduce, $run cache: $(echo "$(date +%s.%N) - $start" | bc) s"
done
for run in cold warm; do
  start=$(date +%s.%N)
  XDG_CACHE_HOME="$cache" bpbench run "$here/../sweeps/rmsprop_around_claim.toml" \
    -o "$out/r.parquet" --force > /dev/null 2>&1
  echo "bpbench run sweeps/rmsprop_around_claim.toml, $run cache: $(echo "$(date +%s.%N) - $start" | bc) s"
done
