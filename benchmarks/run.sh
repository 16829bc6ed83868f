#!/usr/bin/env bash
# Reproduce benchmarks/RESULTS.md on this machine: sweep throughput, then start-up time of
# `bpbench reproduce` from an empty kernel cache and from a warm one.
set -euo pipefail
bpbench bench --workload W1,W2,W3,LARGE --repeat 3
cache=$(mktemp -d)
for run in cold warm warm warm; do
  start=$(date +%s.%N)
  XDG_CACHE_HOME="$cache" bpbench reproduce > /dev/null
  echo "bpbench reproduce, $run cache: $(echo "$(date +%s.%N) - $start" | bc) s"
done
rm -rf "$cache"
