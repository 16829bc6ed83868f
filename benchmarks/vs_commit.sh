#!/usr/bin/env bash
# Throughput of this tree against an earlier commit, side by side on one machine in one run:
#   benchmarks/vs_commit.sh REV [WORKLOADS]     (default W1,W2,W3; kernels compile first)
# Each tree's `bpbench bench` runs twice, alternating, so drift on a shared machine shows up
# as disagreement between the two rounds rather than as a speed difference.
set -euo pipefail
rev=${1:?usage: benchmarks/vs_commit.sh REV [WORKLOADS]}
workloads=${2:-W1,W2,W3}
here=$(cd "$(dirname "$0")/.." && pwd)
old=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"' EXIT
git -C "$here" worktree add --detach "$old" "$rev" >/dev/null
grep -m1 -o -w 'avx512f' /proc/cpuinfo >/dev/null && isa=AVX-512 || isa=AVX2
echo "ISA: $isa   this tree: $(git -C "$here" rev-parse --short HEAD)   against: $rev"
for round in 1 2; do
  for tree in "$old" "$here"; do
    echo "== round $round: $(git -C "$tree" rev-parse --short HEAD) ($tree)"
    (cd "$tree" && PYTHONPATH="$tree" python -m bpbench bench --workload "$workloads" --repeat 5 \
      | grep -E '^(W|R|LARGE|cpu|serial|numpy|backend)')
  done
done
