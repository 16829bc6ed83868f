#!/usr/bin/env bash
# Reproduce benchmarks/RESULTS.md on this machine.
set -euo pipefail
bpbench bench --workload W1,W2,W3,LARGE --repeat 3
