#!/usr/bin/env bash
# Runs every fuzz target (built by Fuzz/build.sh) for SECONDS each (default 30: the CI
# smoke), from the committed seed corpus in Fuzz/corpus/<target>/ plus what earlier runs
# found (kept in Fuzz/.build/corpus-<target>/). Prints each target's executions and
# coverage; a crash leaves its input in Fuzz/.build/crashes-<target>/ and fails the run.
# Usage: Fuzz/run.sh [SECONDS] [TARGET…]   (targets: safetensors png idx spec manifest onnx)
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
shift || true
targets=("${@:-safetensors png idx spec manifest onnx}")
read -r -a targets <<< "${targets[*]}"
status=0
for target in "${targets[@]}"; do
    work=.build/corpus-$target crashes=.build/crashes-$target
    mkdir -p "$work" "$crashes"
    log=.build/$target.log
    if ! ".build/fuzz-$target" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$work" "corpus/$target" > "$log" 2>&1; then
        echo "$target: CRASH, see $log and $crashes/"
        status=1
    fi
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    echo "$target: $runs executions in ${seconds}s, $cov"
done
exit $status
