#!/usr/bin/env bash
# A/B of two builds of pkgpub on one bench, taking turns in one run, so both meet the same machine.
#   bash bench/ab.sh OLD_CHECKOUT NEW_CHECKOUT BENCH [ROUNDS] -- [BENCH ARGS...]
# BENCH is apt, yum or site; each checkout must have been built (npm run build). Every round runs
# the old build's bench, then the new one's; each prints its own figures and its ratios against the
# reference tools of that same process run, which is what to compare.
set -euo pipefail
old=$1 new=$2 bench=$3 rounds=${4:-3}
shift 3; [ $# -gt 0 ] && [ "$1" != -- ] && shift
[ "${1:-}" = -- ] && shift
for r in $(seq 1 "$rounds"); do
  for side in old new; do
    dir=$old; [ $side = new ] && dir=$new
    echo "== round $r: $side ($dir)"
    (cd "$dir" && node "dist/bench/$bench.js" "$@" 2>/dev/null)
  done
done
