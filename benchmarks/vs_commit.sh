#!/usr/bin/env bash
# Throughput of this tree against an earlier commit, side by side on one machine in one run:
#   benchmarks/vs_commit.sh REV [WORKLOADS] [REPEAT]     (default W1,W2,W3 and 7)
# Measures the cpu backend, exact and fast float64, with each tree's own bench.measure (the
# same function in both). Rounds alternate between the trees, so drift on a shared machine
# shows up as disagreement between rounds rather than as a speed difference.
set -euo pipefail
rev=${1:?usage: benchmarks/vs_commit.sh REV [WORKLOADS] [REPEAT]}
workloads=${2:-W1,W2,W3}
repeat=${3:-7}
here=$(cd "$(dirname "$0")/.." && pwd)
old=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"' EXIT
git -C "$here" worktree add --detach "$old" "$rev" >/dev/null 2>&1
grep -q -m1 -w avx512f /proc/cpuinfo && isa=AVX-512 || isa=AVX2
echo "ISA: $isa   cores: $(nproc)   this tree: $(git -C "$here" rev-parse --short HEAD) (+ working" \
     "changes)   against: $(git -C "$old" rev-parse --short HEAD)"
measure='
import sys
from bpbench import bench
for name in sys.argv[2].split(","):
    block, max_steps = bench.WORKLOADS[name][1]()
    for fast in (False, True):
        (passes, *_), wall, comp = bench.measure(block, max_steps, "cpu", fast, "float64",
                                                 int(sys.argv[3]))
        mode = ("exact", "fast")[fast]
        print(f"{sys.argv[1]:<6} {name:<6} {mode:<6} {passes.sum() / wall:10.3g} "
              f"config-steps/s  (median of {sys.argv[3]})")
'
for round in 1 2 3; do
  for tree in "$old" "$here"; do
    label=$([ "$tree" = "$here" ] && echo new || echo old)
    (cd "$tree" && PYTHONPATH="$tree" python -c "$measure" "$label" "$workloads" "$repeat")
  done
done
